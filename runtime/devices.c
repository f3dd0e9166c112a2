#include "runtime/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/rootfs.h"

static const struct hy_device default_devices[] = {
	{.path = "/dev/null", .type = 'c', .major = 1, .minor = 3},
	{.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5},
	{.path = "/dev/full", .type = 'c', .major = 1, .minor = 7},
	{.path = "/dev/random", .type = 'c', .major = 1, .minor = 8},
	{.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9},
	{.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0},
};

static const struct {
	const char *target, *path;
} default_links[] = {
	{"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
	{"pts/ptmx", "/dev/ptmx"},
};

/* Opens the parent of path inside the root (created when missing); *name is the last part. */
static int open_parent(int rootfd, const char *path, const char **name, struct hy_error *err)
{
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	if (!**name || !strcmp(*name, ".") || !strcmp(*name, ".."))
		return hy_error_set(err, EINVAL, "%s: not a file path", path);
	char parent[4096];
	size_t len = slash ? (size_t)(slash - path) : 0;
	if (len >= sizeof(parent))
		return hy_error_set(err, ENAMETOOLONG, "%s: path too long", path);
	memcpy(parent, path, len);
	parent[len] = '\0';
	return rootfs_open_or_create(rootfd, len ? parent : "/", true, err);
}

static int bind_host_node(int pfd, const char *name, const struct hy_device *d, const char *what,
			  struct hy_error *err)
{
	int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hy_error_errno(err, errno, "%s: create %s", what, d->path);
	close(fd);
	int tfd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return hy_error_errno(err, errno, "%s: open %s", what, d->path);
	char target[32];
	rootfs_fd_path(tfd, target);
	int rc = 0;
	if (mount(d->path, target, NULL, MS_BIND, NULL) < 0)
		rc = hy_error_errno(err, errno, "%s: bind host %s", what, d->path);
	close(tfd);
	return rc;
}

static int create_device(int rootfd, const struct hy_device *d, bool in_userns, const char *what,
			 struct hy_error *err)
{
	const char *name;
	int pfd = open_parent(rootfd, d->path, &name, err);
	if (pfd < 0)
		return hy_error_prefix(err, "%s", what);
	int rc = 0;
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t mode = d->has_file_mode ? (d->file_mode & 07777) : 0666;
	/* An existing node (e.g. from the image) is replaced, never followed. */
	if (unlinkat(pfd, name, 0) < 0 && errno != ENOENT) {
		rc = hy_error_errno(err, errno, "%s: remove existing %s", what, d->path);
		goto out;
	}
	if (in_userns && type != S_IFIFO) {
		/* mknod is refused in a user namespace: bind the host's node instead. */
		rc = bind_host_node(pfd, name, d, what, err);
		goto out;
	}
	if (mknodat(pfd, name, type | mode, makedev((unsigned)d->major, (unsigned)d->minor)) < 0) {
		if (errno == EPERM)
			rc = hy_error_set(err, EPERM,
					  "%s: mknod needs root (%s; in a user namespace devices "
					  "are bind-mounted from the host instead)",
					  what, d->path);
		else
			rc = hy_error_errno(err, errno, "%s: mknod %s", what, d->path);
		goto out;
	}
	/* mknod applies the umask; the spec's fileMode is exact. */
	if (fchmodat(pfd, name, mode, 0) < 0) {
		rc = hy_error_errno(err, errno, "%s: chmod %s", what, d->path);
		goto out;
	}
	if ((d->has_uid || d->has_gid) &&
	    fchownat(pfd, name, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		rc = hy_error_errno(err, errno, "%s: chown %s", what, d->path);
out:
	close(pfd);
	return rc;
}

static bool listed(const struct hy_config *cfg, const char *path)
{
	for (size_t i = 0; cfg->has_linux && i < cfg->linux_.n_devices; i++)
		if (!strcmp(cfg->linux_.devices[i].path, path))
			return true;
	return false;
}

static int create_default_links(int rootfd, struct hy_error *err)
{
	int dev = rootfs_open(rootfd, "/dev", O_PATH | O_DIRECTORY);
	if (dev < 0)
		return hy_error_errno(err, -dev, "open /dev in the rootfs");
	for (size_t i = 0; i < sizeof(default_links) / sizeof(default_links[0]); i++) {
		const char *name = default_links[i].path + 5;
		if (symlinkat(default_links[i].target, dev, name) < 0 && errno != EEXIST) {
			int e = errno;
			close(dev);
			return hy_error_errno(err, e, "symlink %s", default_links[i].path);
		}
	}
	if (access("/proc/kcore", F_OK) == 0)
		(void)symlinkat("/proc/kcore", dev, "core");
	close(dev);
	return 0;
}

int devices_create(const struct hy_config *cfg, int rootfd, bool default_devs, bool in_userns,
		   struct hy_error *err)
{
	char what[64];
	if (default_devs) {
		for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
			if (listed(cfg, default_devices[i].path))
				continue;
			snprintf(what, sizeof(what), "default device %s", default_devices[i].path);
			int rc = create_device(rootfd, &default_devices[i], in_userns, what, err);
			if (rc < 0)
				return rc;
		}
		int rc = create_default_links(rootfd, err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; cfg->has_linux && i < cfg->linux_.n_devices; i++) {
		const struct hy_device *d = &cfg->linux_.devices[i];
		if (d->type != 'c' && d->type != 'b' && d->type != 'u' && d->type != 'p')
			return hy_error_set(err, EINVAL,
					    "linux.devices[%zu].type: '%c' is not c, b, u or p", i,
					    d->type);
		snprintf(what, sizeof(what), "linux.devices[%zu]", i);
		int rc = create_device(rootfd, d, in_userns, what, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
