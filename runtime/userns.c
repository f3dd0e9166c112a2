/* linux.uidMappings / gidMappings: writing a child's user namespace maps, and checking that a
 * rootfs is usable by the container's root under them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/security.h"

/* The kernel accepts at most 340 lines and one page per map write. */
#define MAP_LINES_MAX 340
#define MAP_TEXT_MAX  4096

static int check_mappings(const struct hy_id_mapping *m, size_t n, const char *owner,
			  const char *what, struct hy_error *err)
{
	if (n == 0)
		return hy_error_set(err, EINVAL, "%s.%s: required with a user namespace", owner,
				    what);
	if (n > MAP_LINES_MAX)
		return hy_error_set(err, EINVAL, "%s.%s: %zu entries, the kernel allows %d", owner,
				    what, n, MAP_LINES_MAX);
	for (size_t i = 0; i < n; i++) {
		uint64_t size = m[i].size;
		if (size == 0)
			return hy_error_set(err, EINVAL, "%s.%s[%zu].size: must not be 0", owner,
					    what, i);
		if ((uint64_t)m[i].container_id + size > UINT32_MAX ||
		    (uint64_t)m[i].host_id + size > UINT32_MAX)
			return hy_error_set(err, EINVAL,
					    "%s.%s[%zu]: range goes beyond the last id 4294967294",
					    owner, what, i);
	}
	return 0;
}

static int format_map(const struct hy_id_mapping *m, size_t n, char *buf, size_t size,
		      const char *owner, const char *what, struct hy_error *err)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, size - off, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= size - off)
			return hy_error_set(err, E2BIG,
					    "%s.%s: more text than the kernel accepts in one map",
					    owner, what);
		off += (size_t)w;
	}
	return 0;
}

static int write_file(pid_t pid, const char *name, const char *text, const char *what,
		      struct hy_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "%s: opening %s", what, path);
	size_t len = strlen(text);
	/* A map must be written in one write(2); a short write is a failure. */
	ssize_t w = write(fd, text, len);
	int e = errno;
	close(fd);
	if (w < 0)
		return hy_error_errno(err, e, "%s: writing %s", what, path);
	if ((size_t)w != len)
		return hy_error_set(err, EIO, "%s: short write to %s", what, path);
	return 0;
}

/* newuidmap PID CID HID SIZE...: setuid helpers that check /etc/subuid for the caller. */
static int run_helper(const char *helper, pid_t pid, const struct hy_id_mapping *m, size_t n,
		      const char *what, struct hy_error *err)
{
	size_t argc = 2 + 3 * n + 1;
	char **argv = calloc(argc, sizeof(char *));
	char *nums = calloc(1 + 3 * n, 12);
	if (!argv || !nums) {
		free(argv);
		free(nums);
		return hy_error_set(err, ENOMEM, "%s: out of memory", what);
	}
	argv[0] = (char *)helper;
	snprintf(nums, 12, "%d", (int)pid);
	argv[1] = nums;
	for (size_t i = 0; i < n; i++) {
		uint32_t v[3] = {m[i].container_id, m[i].host_id, m[i].size};
		for (size_t j = 0; j < 3; j++) {
			char *slot = nums + 12 * (1 + 3 * i + j);
			snprintf(slot, 12, "%u", v[j]);
			argv[2 + 3 * i + j] = slot;
		}
	}
	int rc = 0;
	pid_t child = fork();
	if (child < 0) {
		rc = hy_error_errno(err, errno, "%s: fork for %s", what, helper);
	} else if (child == 0) {
		execvp(helper, argv);
		_exit(errno == ENOENT ? 127 : 126);
	} else {
		int st = 0;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			rc = hy_error_set(err, ENOENT,
					  "%s: mapping ids other than your own needs root or "
					  "%s (Debian package uidmap) with entries in /etc/sub%cid",
					  what, helper, helper[3] == 'u' ? 'u' : 'g');
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = hy_error_set(err, EPERM,
					  "%s: %s failed (are the host ids delegated to you in "
					  "/etc/sub%cid?)",
					  what, helper, helper[3] == 'u' ? 'u' : 'g');
	}
	free(argv);
	free(nums);
	return rc;
}

/* Unprivileged users may write one line mapping their own id without any helper. */
static bool is_own_single(const struct hy_id_mapping *m, size_t n, uint32_t own)
{
	return n == 1 && m[0].size == 1 && m[0].host_id == own;
}

static int write_one_map(pid_t pid, const struct hy_id_mapping *m, size_t n, bool uid,
			 const char *owner, struct hy_error *err)
{
	const char *what = uid ? "uidMappings" : "gidMappings";
	int rc = check_mappings(m, n, owner, what, err);
	if (rc < 0)
		return rc;
	char text[MAP_TEXT_MAX];
	if ((rc = format_map(m, n, text, sizeof(text), owner, what, err)) < 0)
		return rc;
	char ctx[96];
	snprintf(ctx, sizeof(ctx), "%s.%s", owner, what);
	if (geteuid() == 0)
		return write_file(pid, uid ? "uid_map" : "gid_map", text, ctx, err);
	if (is_own_single(m, n, uid ? (uint32_t)geteuid() : (uint32_t)getegid())) {
		/* Without CAP_SETGID in the parent namespace the kernel only takes gid_map after
		 * setgroups is denied (so dropping groups cannot grant access). */
		if (!uid && (rc = write_file(pid, "setgroups", "deny", ctx, err)) < 0)
			return rc;
		return write_file(pid, uid ? "uid_map" : "gid_map", text, ctx, err);
	}
	return run_helper(uid ? "newuidmap" : "newgidmap", pid, m, n, ctx, err);
}

int userns_write_mappings(pid_t pid, const struct hy_linux *lnx, struct hy_error *err)
{
	if (pid <= 0 || !lnx)
		return hy_error_set(err, EINVAL, "user namespace: invalid process");
	int rc = write_one_map(pid, lnx->uid_mappings, lnx->n_uid_mappings, true, "linux", err);
	if (rc < 0)
		return rc;
	return write_one_map(pid, lnx->gid_mappings, lnx->n_gid_mappings, false, "linux", err);
}

int userns_create_mapped_fd(const struct hy_id_mapping *uid, size_t n_uid,
			    const struct hy_id_mapping *gid, size_t n_gid, const char *what,
			    int *userns_fd, struct hy_error *err)
{
	*userns_fd = -1;
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return hy_error_errno(err, errno, "%s: pipe", what);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(ready[0]), close(ready[1]);
		return hy_error_errno(err, e, "%s: fork", what);
	}
	if (pid == 0) {
		/* Only holds the namespace while the parent writes its maps and opens it. */
		close(ready[0]);
		char ok = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1 || ok != 'y')
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char ok = 0;
	ssize_t r;
	do
		r = read(ready[0], &ok, 1);
	while (r < 0 && errno == EINTR);
	close(ready[0]);
	int rc = 0;
	if (r != 1 || ok != 'y')
		rc = hy_error_set(err, EPERM, "%s: cannot create a user namespace for the mapping",
				  what);
	if (rc == 0)
		rc = write_one_map(pid, uid, n_uid, true, what, err);
	if (rc == 0)
		rc = write_one_map(pid, gid, n_gid, false, what, err);
	if (rc == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		*userns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*userns_fd < 0)
			rc = hy_error_errno(err, errno, "%s: opening %s", what, path);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

int userns_idmap_mount(int tree_fd, int userns_fd, bool recursive, const char *what,
		       struct hy_error *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
	if (syscall(SYS_mount_setattr, tree_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
		    &attr, sizeof(attr)) < 0) {
		int e = errno;
		if (e == EINVAL || e == ENOSYS || e == EOPNOTSUPP)
			return hy_error_errno(err, e,
					      "%s: idmapped mount not supported here (kernel 5.12+ "
					      "and a filesystem that supports it are needed)",
					      what);
		return hy_error_errno(err, e, "%s: mount_setattr(MOUNT_ATTR_IDMAP)", what);
	}
	return 0;
}

bool userns_map_id(const struct hy_id_mapping *m, size_t n, uint32_t container_id,
		   uint32_t *host_id)
{
	if (n == 0) {
		*host_id = container_id;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (container_id >= m[i].container_id &&
		    (uint64_t)container_id < (uint64_t)m[i].container_id + m[i].size) {
			*host_id = m[i].host_id + (container_id - m[i].container_id);
			return true;
		}
	}
	return false;
}

/* Whether a host id is visible inside the namespace (some container id maps to it). */
static bool host_id_mapped(const struct hy_id_mapping *m, size_t n, uint32_t host_id)
{
	for (size_t i = 0; i < n; i++)
		if (host_id >= m[i].host_id &&
		    (uint64_t)host_id < (uint64_t)m[i].host_id + m[i].size)
			return true;
	return false;
}

/* Whether the container's root (host ids root_uid/root_gid) may search directory st. Inside
 * its namespace it also has CAP_DAC_READ_SEARCH, but only over inodes whose owner and group
 * are both mapped. */
static bool searchable_by_root(const struct stat *st, const struct hy_linux *lnx, uint32_t root_uid,
			       uint32_t root_gid)
{
	if (st->st_mode & S_IXOTH)
		return true;
	if (st->st_uid == root_uid && (st->st_mode & S_IXUSR))
		return true;
	if (st->st_gid == root_gid && (st->st_mode & S_IXGRP))
		return true;
	return host_id_mapped(lnx->uid_mappings, lnx->n_uid_mappings, st->st_uid) &&
	       host_id_mapped(lnx->gid_mappings, lnx->n_gid_mappings, st->st_gid);
}

int userns_check_rootfs_owner(const char *rootfs, const struct hy_linux *lnx, struct hy_error *err)
{
	if (!lnx || !lnx->namespaces[HY_NS_USER].present || lnx->namespaces[HY_NS_USER].path)
		return 0;
	uint32_t root_uid = 0, root_gid = 0;
	if (!userns_map_id(lnx->uid_mappings, lnx->n_uid_mappings, 0, &root_uid) ||
	    !userns_map_id(lnx->gid_mappings, lnx->n_gid_mappings, 0, &root_gid))
		return 0; /* no container root to speak for: nothing we can predict */
	char path[4096];
	if (!rootfs || rootfs[0] != '/' || strlen(rootfs) >= sizeof(path))
		return hy_error_set(err, EINVAL, "root.path: expected an absolute path");
	memcpy(path, rootfs, strlen(rootfs) + 1);
	/* The rootfs and every directory above it: the container's root walks all of them, and
	 * without this check the failure is a bare EACCES from deep inside the set-up. */
	for (;;) {
		struct stat st;
		if (stat(path, &st) < 0)
			return hy_error_errno(err, errno, "root.path: %s", path);
		if (!searchable_by_root(&st, lnx, root_uid, root_gid))
			return hy_error_set(
			    err, EACCES,
			    "root.path: %s is owned by host uid %u gid %u (mode %04o), which the "
			    "container's root (host uid %u gid %u under "
			    "linux.uidMappings/gidMappings) "
			    "cannot enter; chown it to %u:%u or let others search it (chmod o+x)",
			    path, (unsigned)st.st_uid, (unsigned)st.st_gid,
			    (unsigned)(st.st_mode & 07777), root_uid, root_gid, root_uid, root_gid);
		char *slash = strrchr(path, '/');
		if (!slash || slash == path) {
			if (path[1] == '\0')
				break;
			path[1] = '\0'; /* then check "/" itself */
			continue;
		}
		*slash = '\0';
	}
	return 0;
}
