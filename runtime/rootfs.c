#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/mounts.h"

int rootfs_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd;
	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : (int)fd;
}

void rootfs_fd_path(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* Creates the last component of path in its (created) parent; depth bounds hostile nesting. */
static int create_in_root(int rootfd, const char *path, bool dir, int depth, struct hy_error *err)
{
	if (depth > 64)
		return hy_error_set(err, ELOOP, "%s: too deeply nested", path);
	char *copy = strdup(path);
	if (!copy)
		return hy_error_set(err, ENOMEM, "out of memory");
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	const char *last = slash ? slash + 1 : copy;
	const char *parent = "/";
	if (slash && slash != copy) {
		*slash = '\0';
		parent = copy;
	}
	int rc = 0;
	if (!strcmp(last, "..") || !strcmp(last, ".") || !*last) {
		rc = hy_error_set(err, EINVAL, "%s: cannot create", path);
		goto out;
	}
	int pfd = rootfs_open(rootfd, parent, O_PATH | O_DIRECTORY);
	if (pfd == -ENOENT) {
		rc = create_in_root(rootfd, parent, true, depth + 1, err);
		if (rc < 0)
			goto out;
		pfd = rootfs_open(rootfd, parent, O_PATH | O_DIRECTORY);
	}
	if (pfd < 0) {
		rc = hy_error_errno(err, -pfd, "%s: open inside the rootfs", parent);
		goto out;
	}
	if (dir) {
		if (mkdirat(pfd, last, 0755) < 0 && errno != EEXIST)
			rc = hy_error_errno(err, errno, "%s: mkdir", path);
	} else {
		int fd = openat(pfd, last, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
				0644);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST)
			rc = hy_error_errno(err, errno, "%s: create", path);
	}
	close(pfd);
out:
	free(copy);
	return rc;
}

int rootfs_open_or_create(int rootfd, const char *path, bool dir, struct hy_error *err)
{
	int fd = rootfs_open(rootfd, path, O_PATH);
	if (fd == -ENOENT) {
		int rc = create_in_root(rootfd, path, dir, 0, err);
		if (rc < 0)
			return rc;
		fd = rootfs_open(rootfd, path, O_PATH);
	}
	if (fd == -EXDEV || fd == -ELOOP)
		return hy_error_errno(err, -fd, "%s: refusing a path that leaves the rootfs", path);
	if (fd < 0)
		return hy_error_errno(err, -fd, "%s: open inside the rootfs", path);
	return fd;
}

/* The mount point holding path: the last directory upwards whose parent is another mount. */
static int parent_mount_point(const char *path, char *out, size_t size)
{
	struct statx sx;
	if (strlen(path) >= size)
		return -ENAMETOOLONG;
	strcpy(out, path);
	if (statx(AT_FDCWD, out, 0, STATX_MNT_ID, &sx) < 0)
		return -errno;
	uint64_t id = sx.stx_mnt_id;
	for (;;) {
		char *slash = strrchr(out, '/');
		if (!slash || slash == out)
			break;
		*slash = '\0';
		if (statx(AT_FDCWD, out, 0, STATX_MNT_ID, &sx) < 0)
			return -errno;
		if (sx.stx_mnt_id != id) {
			*slash = '/';
			/* out is the deepest path on mount `id`: its mount point is the dir
			 * where the id first appeared going down, which is what we restored. */
			return 0;
		}
	}
	if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &sx) == 0 && sx.stx_mnt_id == id)
		strcpy(out, "/");
	return 0;
}

static unsigned long root_propagation(const struct hy_config *cfg, struct hy_error *err)
{
	const char *p = cfg->has_linux ? cfg->linux_.rootfs_propagation : NULL;
	if (!p)
		return MS_SLAVE | MS_REC;
	unsigned long f = mount_propagation_flag(p);
	if (!f)
		hy_error_set(err, EINVAL, "linux.rootfsPropagation: unknown value '%s'", p);
	return f;
}

int rootfs_prepare(const struct hy_config *cfg, struct hy_error *err)
{
	unsigned long prop = root_propagation(cfg, err);
	if (!prop)
		return -EINVAL;
	/* pivot_root refuses shared mounts: shared is applied only after the switch. */
	unsigned long first = (prop & MS_SHARED) ? (MS_SLAVE | MS_REC) : prop;
	if (mount(NULL, "/", NULL, first, NULL) < 0)
		return hy_error_errno(err, errno, "make / %s", cfg->linux_.rootfs_propagation ?
							     cfg->linux_.rootfs_propagation : "rslave");
	if (!(first & MS_REC)) {
		/* Only / changed: the mount holding the rootfs may still be shared. */
		char mp[4096];
		int rc = parent_mount_point(cfg->root_path, mp, sizeof(mp));
		if (rc < 0)
			return hy_error_errno(err, -rc, "%s: find its mount point", cfg->root_path);
		if (mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
			return hy_error_errno(err, errno, "make %s private", mp);
	}
	if (mount(cfg->root_path, cfg->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hy_error_errno(err, errno, "bind mount rootfs %s", cfg->root_path);
	return 0;
}

int rootfs_switch(const struct hy_config *cfg, bool no_pivot, struct hy_error *err)
{
	if (no_pivot) {
		if (chdir(cfg->root_path) < 0)
			return hy_error_errno(err, errno, "chdir %s", cfg->root_path);
		if (mount(cfg->root_path, "/", NULL, MS_MOVE, NULL) < 0)
			return hy_error_errno(err, errno, "move rootfs %s to /", cfg->root_path);
		if (chroot(".") < 0)
			return hy_error_errno(err, errno, "chroot %s", cfg->root_path);
		if (chdir("/") < 0)
			return hy_error_errno(err, errno, "chdir / after chroot");
		return 0;
	}
	int rc = 0;
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(cfg->root_path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0) {
		rc = hy_error_errno(err, errno, "open %s", oldroot < 0 ? "/" : cfg->root_path);
		goto out;
	}
	/* pivot_root(".", ".") stacks the old root on the new one; detaching it from inside
	 * needs no temporary directory in the rootfs. */
	if (fchdir(newroot) < 0) {
		rc = hy_error_errno(err, errno, "chdir %s", cfg->root_path);
		goto out;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		rc = hy_error_errno(err, errno, "pivot_root %s", cfg->root_path);
		goto out;
	}
	if (fchdir(oldroot) < 0) {
		rc = hy_error_errno(err, errno, "chdir to the old root");
		goto out;
	}
	/* The old root must not propagate its unmount to the host. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		rc = hy_error_errno(err, errno, "make the old root rslave");
		goto out;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		rc = hy_error_errno(err, errno, "unmount the old root");
		goto out;
	}
	if (chdir("/") < 0)
		rc = hy_error_errno(err, errno, "chdir /");
out:
	if (oldroot >= 0)
		close(oldroot);
	if (newroot >= 0)
		close(newroot);
	return rc;
}

int rootfs_finalize(const struct hy_config *cfg, struct hy_error *err)
{
	if (cfg->has_linux && cfg->linux_.rootfs_propagation) {
		unsigned long prop = root_propagation(cfg, err);
		if (!prop)
			return -EINVAL;
		if (mount(NULL, "/", NULL, prop, NULL) < 0)
			return hy_error_errno(err, errno, "linux.rootfsPropagation %s: mount /",
					      cfg->linux_.rootfs_propagation);
	}
	if (cfg->root_readonly) {
		struct statvfs sv;
		unsigned long keep = 0;
		if (statvfs("/", &sv) == 0) {
			/* Flags locked by a user namespace must be repeated on remount. */
			if (sv.f_flag & ST_NOSUID)
				keep |= MS_NOSUID;
			if (sv.f_flag & ST_NODEV)
				keep |= MS_NODEV;
			if (sv.f_flag & ST_NOEXEC)
				keep |= MS_NOEXEC;
		}
		if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
			return hy_error_errno(err, errno, "root.readonly: remount / read-only");
	}
	return 0;
}
