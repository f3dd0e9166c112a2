/* linux.maskedPaths and linux.readonlyPaths, applied inside the pivoted container root.
 *
 * Each path is opened with O_PATH and the mount targets /proc/self/fd/N, so the
 * mount lands on exactly the object that was checked (a process in the container cannot swap
 * in a symlink between the check and the mount), and /proc is verified to be a real procfs
 * first because that trick, and most masked paths, rely on it (crun and runc do the same). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/security.h"

static int check_path(const char *what, size_t i, const char *p, struct hy_error *err)
{
	if (!p || p[0] != '/')
		return hy_error_set(err, EINVAL, "linux.%s[%zu]: '%s' is not an absolute path",
				    what, i, p ? p : "");
	if (strlen(p) >= 4096)
		return hy_error_set(err, ENAMETOOLONG, "linux.%s[%zu]: path too long", what, i);
	return 0;
}

static int verify_procfs(const char *what, struct hy_error *err)
{
	struct statfs sfs;
	if (statfs("/proc", &sfs) < 0)
		return hy_error_errno(err, errno, "linux.%s: /proc in the container", what);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return hy_error_set(err, EINVAL,
				    "linux.%s: /proc in the container is not procfs (mount proc "
				    "before masking paths)",
				    what);
	return 0;
}

/* Opens the path (symlinks resolve inside the container: we are pivoted already); -ENOENT
 * when missing, which callers ignore: a path absent in this container has nothing to hide. */
static int open_target(const char *what, size_t i, const char *p, struct stat *st,
		       struct hy_error *err)
{
	int fd = open(p, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return -ENOENT;
		return hy_error_errno(err, errno, "linux.%s[%zu]: %s", what, i, p);
	}
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return hy_error_errno(err, e, "linux.%s[%zu]: fstat %s", what, i, p);
	}
	return fd;
}

static int mask_one(size_t i, const char *p, struct hy_error *err)
{
	struct stat st;
	int fd = open_target("maskedPaths", i, p, &st, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	char target[64];
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	int rc;
	if (S_ISDIR(st.st_mode))
		rc = mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			   "size=4k,nr_inodes=1,mode=0555");
	else
		rc = mount("/dev/null", target, NULL, MS_BIND, NULL);
	int e = errno;
	close(fd);
	if (rc < 0) {
		if (!S_ISDIR(st.st_mode) && e == ENOENT)
			return hy_error_set(
			    err, ENOENT,
			    "linux.maskedPaths[%zu]: %s: /dev/null is missing in the "
			    "container",
			    i, p);
		return hy_error_errno(err, e, "linux.maskedPaths[%zu]: masking %s", i, p);
	}
	return 0;
}

int security_apply_masked_paths(const struct hy_strv *paths, struct hy_error *err)
{
	if (!paths || paths->n == 0)
		return 0;
	int rc = verify_procfs("maskedPaths", err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < paths->n; i++) {
		if ((rc = check_path("maskedPaths", i, paths->v[i], err)) < 0 ||
		    (rc = mask_one(i, paths->v[i], err)) < 0)
			return rc;
	}
	return 0;
}

/* Mount flags that a remount must repeat: in a user namespace the kernel refuses to clear
 * the locked ones (nosuid, nodev, noexec, atime) of a mount inherited from the host. */
static unsigned long kept_flags(unsigned long f)
{
	unsigned long out = 0;
	static const struct {
		unsigned long st, ms;
	} map[] = {{ST_NOSUID, MS_NOSUID},	   {ST_NODEV, MS_NODEV},
		   {ST_NOEXEC, MS_NOEXEC},	   {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
		   {ST_MANDLOCK, MS_MANDLOCK},	   {ST_NOATIME, MS_NOATIME},
		   {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (f & map[i].st)
			out |= map[i].ms;
	return out;
}

static int readonly_one(size_t i, const char *p, struct hy_error *err)
{
	struct stat st;
	int fd = open_target("readonlyPaths", i, p, &st, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	char target[64];
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	int rc = 0;
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
		rc = hy_error_errno(err, errno, "linux.readonlyPaths[%zu]: bind-mounting %s", i, p);
		close(fd);
		return rc;
	}
	close(fd);
	/* Reopen: the old fd points below the new bind mount, not at it. */
	fd = open(p, O_PATH | O_CLOEXEC);
	struct statvfs sv;
	if (fd < 0 || fstatvfs(fd, &sv) < 0) {
		rc = hy_error_errno(err, errno, "linux.readonlyPaths[%zu]: %s", i, p);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
			      kept_flags(sv.f_flag);
	if (mount(NULL, target, NULL, flags, NULL) < 0)
		rc = hy_error_errno(err, errno, "linux.readonlyPaths[%zu]: remounting %s read-only",
				    i, p);
	close(fd);
	return rc;
}

int security_apply_readonly_paths(const struct hy_strv *paths, struct hy_error *err)
{
	if (!paths || paths->n == 0)
		return 0;
	int rc = verify_procfs("readonlyPaths", err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < paths->n; i++) {
		if ((rc = check_path("readonlyPaths", i, paths->v[i], err)) < 0 ||
		    (rc = readonly_one(i, paths->v[i], err)) < 0)
			return rc;
	}
	return 0;
}
