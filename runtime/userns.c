/* linux.uidMappings / gidMappings: writing a child's user namespace maps, and checking that a
 * rootfs is usable by the container's root under them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/security.h"

/* The kernel accepts at most 340 lines and one page per map write. */
#define MAP_LINES_MAX 340
#define MAP_TEXT_MAX 4096

static int check_mappings(const struct hy_id_mapping *m, size_t n, const char *what,
			  struct hy_error *err)
{
	if (n == 0)
		return hy_error_set(err, EINVAL,
				    "linux.%s: required when the config creates a user namespace",
				    what);
	if (n > MAP_LINES_MAX)
		return hy_error_set(err, EINVAL, "linux.%s: %zu entries, the kernel allows %d", what,
				    n, MAP_LINES_MAX);
	for (size_t i = 0; i < n; i++) {
		uint64_t size = m[i].size;
		if (size == 0)
			return hy_error_set(err, EINVAL, "linux.%s[%zu].size: must not be 0", what, i);
		if ((uint64_t)m[i].container_id + size > UINT32_MAX ||
		    (uint64_t)m[i].host_id + size > UINT32_MAX)
			return hy_error_set(err, EINVAL,
					    "linux.%s[%zu]: range goes beyond the last id 4294967294",
					    what, i);
	}
	return 0;
}

static int format_map(const struct hy_id_mapping *m, size_t n, char *buf, size_t size,
		      const char *what, struct hy_error *err)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, size - off, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= size - off)
			return hy_error_set(err, E2BIG,
					    "linux.%s: more text than the kernel accepts in one map",
					    what);
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
		return hy_error_set(err, ENOMEM, "linux.%s: out of memory", what);
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
		rc = hy_error_errno(err, errno, "linux.%s: fork for %s", what, helper);
	} else if (child == 0) {
		execvp(helper, argv);
		_exit(errno == ENOENT ? 127 : 126);
	} else {
		int st = 0;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			rc = hy_error_set(err, ENOENT,
					  "linux.%s: mapping ids other than your own needs root or "
					  "%s (Debian package uidmap) with entries in /etc/sub%cid",
					  what, helper, helper[3] == 'u' ? 'u' : 'g');
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = hy_error_set(err, EPERM,
					  "linux.%s: %s failed (are the host ids delegated to you in "
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
			 struct hy_error *err)
{
	const char *what = uid ? "uidMappings" : "gidMappings";
	int rc = check_mappings(m, n, what, err);
	if (rc < 0)
		return rc;
	char text[MAP_TEXT_MAX];
	if ((rc = format_map(m, n, text, sizeof(text), what, err)) < 0)
		return rc;
	char ctx[32];
	snprintf(ctx, sizeof(ctx), "linux.%s", what);
	if (geteuid() == 0)
		return write_file(pid, uid ? "uid_map" : "gid_map", text, ctx, err);
	if (is_own_single(m, n, uid ? (uint32_t)geteuid() : (uint32_t)getegid())) {
		/* Without CAP_SETGID in the parent namespace the kernel only takes gid_map after
		 * setgroups is denied (so dropping groups cannot grant access). */
		if (!uid && (rc = write_file(pid, "setgroups", "deny", ctx, err)) < 0)
			return rc;
		return write_file(pid, uid ? "uid_map" : "gid_map", text, ctx, err);
	}
	return run_helper(uid ? "newuidmap" : "newgidmap", pid, m, n, what, err);
}

int userns_write_mappings(pid_t pid, const struct hy_linux *lnx, struct hy_error *err)
{
	if (pid <= 0 || !lnx)
		return hy_error_set(err, EINVAL, "user namespace: invalid process");
	int rc = write_one_map(pid, lnx->uid_mappings, lnx->n_uid_mappings, true, err);
	if (rc < 0)
		return rc;
	return write_one_map(pid, lnx->gid_mappings, lnx->n_gid_mappings, false, err);
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
		if (host_id >= m[i].host_id && (uint64_t)host_id < (uint64_t)m[i].host_id + m[i].size)
			return true;
	return false;
}

int userns_check_rootfs_owner(const char *rootfs, const struct hy_linux *lnx, struct hy_error *err)
{
	if (!lnx || !lnx->namespaces[HY_NS_USER].present || lnx->namespaces[HY_NS_USER].path)
		return 0;
	struct stat st;
	if (stat(rootfs, &st) < 0)
		return hy_error_errno(err, errno, "root.path: %s", rootfs);
	bool uid_ok = host_id_mapped(lnx->uid_mappings, lnx->n_uid_mappings, st.st_uid);
	bool gid_ok = host_id_mapped(lnx->gid_mappings, lnx->n_gid_mappings, st.st_gid);
	/* An unmapped owner is fine as long as "other" may search the directory; otherwise
	 * pivot_root fails later with a bare EACCES, so say what is wrong now. */
	bool searchable = (st.st_mode & S_IXOTH) || (uid_ok && (st.st_mode & S_IXUSR)) ||
			  (gid_ok && (st.st_mode & S_IXGRP));
	if (searchable)
		return 0;
	uint32_t root_uid = 0, root_gid = 0;
	bool has_root =
		userns_map_id(lnx->uid_mappings, lnx->n_uid_mappings, 0, &root_uid) &&
		userns_map_id(lnx->gid_mappings, lnx->n_gid_mappings, 0, &root_gid);
	if (has_root)
		return hy_error_set(err, EACCES,
				    "root.path: %s is owned by host uid %u gid %u (mode %04o), which "
				    "linux.uidMappings/gidMappings do not map, so the container "
				    "cannot enter it; chown it to %u:%u (container root) or make it "
				    "searchable by others",
				    rootfs, (unsigned)st.st_uid, (unsigned)st.st_gid,
				    (unsigned)(st.st_mode & 07777), root_uid, root_gid);
	return hy_error_set(err, EACCES,
			    "root.path: %s is owned by host uid %u gid %u (mode %04o), which "
			    "linux.uidMappings/gidMappings do not map, so the container cannot "
			    "enter it",
			    rootfs, (unsigned)st.st_uid, (unsigned)st.st_gid,
			    (unsigned)(st.st_mode & 07777));
}
