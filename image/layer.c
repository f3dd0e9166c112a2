/* Layer application. Every entry path is cleaned (no absolute path, no ".."), its parent directory
 * is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from the rootfs fd, and the entry is
 * created with *at() calls on that fd. So a symlink planted by a layer is never followed, a hard link
 * can only name a file inside the rootfs, and a whiteout can only remove inside it. Parents that
 * are symlinks are refused rather than resolved: a layer that writes through a symlink is exactly
 * the attack we cannot tell from an unusual image, and docker-produced layers never do it. */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/archive_lib.h"
#include "image/layer.h"
#include "image/store.h"
#include "image/path.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

void layer_ctx_init(struct layer_ctx *c, int rootfd, const struct image_limits *lim)
{
	memset(c, 0, sizeof(*c));
	c->rootfd = rootfd;
	c->cached_fd = -1;
	if (lim)
		c->limits = *lim;
	if (!c->limits.max_bytes)
		c->limits.max_bytes = IMAGE_DEFAULT_MAX_BYTES;
	if (!c->limits.max_entries)
		c->limits.max_entries = IMAGE_DEFAULT_MAX_ENTRIES;
}

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static void seen_clear(struct layer_ctx *c)
{
	for (size_t i = 0; i < c->cap_seen; i++)
		free(c->seen[i]);
	free(c->seen);
	c->seen = NULL;
	c->n_seen = c->cap_seen = 0;
}

static bool seen_has(const struct layer_ctx *c, const char *p, size_t n)
{
	if (!c->cap_seen)
		return false;
	for (size_t i = fnv(p, n) & (c->cap_seen - 1);; i = (i + 1) & (c->cap_seen - 1)) {
		if (!c->seen[i])
			return false;
		if (strncmp(c->seen[i], p, n) == 0 && c->seen[i][n] == '\0')
			return true;
	}
}

static int seen_put(struct layer_ctx *c, const char *p, size_t n)
{
	if (2 * (c->n_seen + 1) > c->cap_seen) {
		size_t cap = c->cap_seen ? c->cap_seen * 2 : 1024;
		char **v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < c->cap_seen; i++) {
			if (!c->seen[i])
				continue;
			size_t j = fnv(c->seen[i], strlen(c->seen[i])) & (cap - 1);
			while (v[j])
				j = (j + 1) & (cap - 1);
			v[j] = c->seen[i];
		}
		free(c->seen);
		c->seen = v;
		c->cap_seen = cap;
	}
	size_t i = fnv(p, n) & (c->cap_seen - 1);
	while (c->seen[i])
		i = (i + 1) & (c->cap_seen - 1);
	if (!(c->seen[i] = strndup(p, n)))
		return -ENOMEM;
	c->n_seen++;
	return 0;
}

/* Records path and its ancestors, stopping at the first ancestor already known. */
static int seen_add(struct layer_ctx *c, const char *path)
{
	size_t n = strlen(path);
	while (n > 0) {
		if (seen_has(c, path, n))
			return 0;
		if (seen_put(c, path, n))
			return -ENOMEM;
		while (n > 0 && path[n - 1] != '/')
			n--;
		if (n > 0)
			n--; /* drop the '/' */
	}
	return 0;
}

/* Removes what lower layers put under dirfd (whose path is prefix); keeps this layer's entries. */
static int clear_opaque(struct layer_ctx *c, int dirfd, const char *prefix)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	struct dirent *e;
	/* On the heap: a hostile layer can nest directories deep enough to exhaust the stack. */
	char *path = malloc(PATH_MAX);
	if (!path) {
		closedir(d);
		return -ENOMEM;
	}
	while ((e = readdir(d)) && !rc) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int n = snprintf(path, PATH_MAX, "%s%s%s", prefix, prefix[0] ? "/" : "", e->d_name);
		if (n < 0 || n >= PATH_MAX)
			continue;
		if (!seen_has(c, path, (size_t)n)) {
			rc = image_rmtree_at(dirfd, e->d_name);
			continue;
		}
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			rc = clear_opaque(c, sub, path);
			close(sub);
		}
	}
	free(path);
	closedir(d);
	return rc;
}

void layer_ctx_free(struct layer_ctx *c)
{
	seen_clear(c);
	if (c->cached_fd >= 0)
		close(c->cached_fd);
	free(c->cached_parent);
	for (size_t i = 0; i < c->n_dirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	memset(c, 0, sizeof(*c));
	c->cached_fd = -1;
}

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Drops the cached parent when an entry at path may replace it or one of its ancestors. */
static void cache_invalidate(struct layer_ctx *c, const char *path)
{
	if (!c->cached_parent)
		return;
	size_t n = strlen(path);
	if (n == 0 || (strncmp(c->cached_parent, path, n) == 0 &&
		       (c->cached_parent[n] == '/' || c->cached_parent[n] == '\0'))) {
		close(c->cached_fd);
		free(c->cached_parent);
		c->cached_parent = NULL;
		c->cached_fd = -1;
	}
}

/* Returns a borrowed O_PATH fd for the directory parent (cleaned), creating missing ones. */
static int open_parent(struct layer_ctx *c, const char *parent, bool create, int *fd_out)
{
	if (!parent[0]) {
		*fd_out = c->rootfd;
		return 0;
	}
	if (c->cached_parent && strcmp(c->cached_parent, parent) == 0) {
		*fd_out = c->cached_fd;
		return 0;
	}
	int fd = openat2_beneath(c->rootfd, parent, O_PATH | O_DIRECTORY);
	if (fd == -ENOENT && create) {
		/* Layers may omit directory entries; create the missing ones one by one. */
		char buf[4096];
		snprintf(buf, sizeof(buf), "%s", parent);
		int cur = dup(c->rootfd);
		if (cur < 0)
			return -errno;
		char *p = buf;
		fd = 0;
		while (p && *p) {
			char *slash = strchr(p, '/');
			if (slash)
				*slash = '\0';
			if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST) {
				fd = -errno;
				break;
			}
			int next = openat2_beneath(cur, p, O_PATH | O_DIRECTORY);
			close(cur);
			cur = next;
			if (cur < 0) {
				fd = cur;
				break;
			}
			p = slash ? slash + 1 : NULL;
		}
		if (fd == 0)
			fd = cur;
		else if (cur >= 0)
			close(cur);
	}
	if (fd < 0)
		return fd;
	if (c->cached_fd >= 0)
		close(c->cached_fd);
	free(c->cached_parent);
	c->cached_parent = strdup(parent);
	c->cached_fd = fd;
	if (!c->cached_parent) {
		close(fd);
		c->cached_fd = -1;
		return -ENOMEM;
	}
	*fd_out = fd;
	return 0;
}

static const char *parent_error(int rc)
{
	switch (-rc) {
	case ELOOP:
		return "a parent directory is a symlink (refusing to write through it)";
	case EXDEV:
		return "the path escapes the rootfs";
	case ENOTDIR:
		return "a parent is not a directory";
	default:
		return strerror(-rc);
	}
}

/* Makes room for a new entry: anything at the name goes, except a directory that stays one. */
static int clear_slot(int pfd, const char *name, bool keep_dir)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (keep_dir && S_ISDIR(st.st_mode))
		return 1;
	return image_rmtree_at(pfd, name);
}

static bool xattr_allowed(const char *name)
{
	/* trusted.* and security.selinux would steer overlayfs or the LSM on the host. */
	return strncmp(name, "user.", 5) == 0 || strcmp(name, "security.capability") == 0;
}

static void apply_xattrs(int fd, struct archive_entry *e)
{
	const char *name;
	const void *val;
	size_t size;
	libarchive.entry_xattr_reset(e);
	while (libarchive.entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK)
		if (name && xattr_allowed(name))
			fsetxattr(fd, name, val, size, 0);
}

static int set_owner_mode(int fd, struct archive_entry *e)
{
	int64_t uid = libarchive.entry_uid(e), gid = libarchive.entry_gid(e);
	if (uid < 0 || uid > UINT32_MAX - 1 || gid < 0 || gid > UINT32_MAX - 1)
		return -ERANGE;
	if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0 && geteuid() == 0)
		return -errno;
	/* After chown, which clears set-id bits. */
	if (fchmod(fd, libarchive.entry_perm(e) & 07777) < 0)
		return -errno;
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = libarchive.entry_mtime(e);
	ts[1].tv_nsec = libarchive.entry_mtime_nsec(e);
	if (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999)
		ts[1].tv_nsec = 0;
	ts[0] = ts[1];
}

static int write_data(struct archive *a, int fd, int64_t size)
{
	const void *buf;
	size_t len;
	la_int64_t off, end = 0;
	int r;
	while ((r = libarchive.read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		if (off + (la_int64_t)len > end)
			end = off + (la_int64_t)len;
		while (len > 0) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			p += n;
			off += n;
			len -= (size_t)n;
		}
	}
	if (r != ARCHIVE_EOF)
		return -EIO;
	/* A sparse file's tail hole. */
	if (end < size && ftruncate(fd, size) < 0)
		return -errno;
	return 0;
}

static int record_dir(struct layer_ctx *c, const char *path, struct archive_entry *e)
{
	if (c->n_dirs == c->cap_dirs) {
		size_t cap = c->cap_dirs ? c->cap_dirs * 2 : 256;
		void *v = realloc(c->dirs, cap * sizeof(*c->dirs));
		if (!v)
			return -ENOMEM;
		c->dirs = v;
		c->cap_dirs = cap;
	}
	struct timespec ts[2];
	entry_times(e, ts);
	c->dirs[c->n_dirs].path = strdup(path);
	c->dirs[c->n_dirs].mtime = ts[1];
	if (!c->dirs[c->n_dirs].path)
		return -ENOMEM;
	c->n_dirs++;
	return 0;
}

void layer_finish(struct layer_ctx *c)
{
	for (size_t i = 0; i < c->n_dirs; i++) {
		char buf[4096];
		snprintf(buf, sizeof(buf), "%s", c->dirs[i].path);
		const char *parent, *base;
		image_path_split(buf, &parent, &base);
		int pfd;
		if (open_parent(c, parent, false, &pfd))
			continue;
		struct timespec ts[2] = {c->dirs[i].mtime, c->dirs[i].mtime};
		utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	}
}

#define FAIL(code, ...)                                                                            \
	do {                                                                                       \
		rc = hy_error_set(err, (code), __VA_ARGS__);                                       \
		goto out;                                                                          \
	} while (0)

static int apply_entry(struct layer_ctx *c, struct archive *a, struct archive_entry *e,
		       const char *digest, struct hy_error *err)
{
	const char *raw = libarchive.entry_pathname(e);
	char path[4096];
	int rc = 0, fd = -1;
	if (!raw)
		return hy_error_set(err, EINVAL, "layer %s: entry without a name", digest);
	if (++c->entries > c->limits.max_entries)
		return hy_error_set(err, EFBIG,
				    "layer %s: more than %llu entries in the image (the limit; "
				    "HYRUN_IMAGE_MAX_ENTRIES raises it)",
				    digest, (unsigned long long)c->limits.max_entries);
	int cl = image_path_clean(raw, path, sizeof(path));
	if (cl)
		return hy_error_set(err, cl == -ENAMETOOLONG ? ENAMETOOLONG : EINVAL,
				    "layer %s: entry '%.200s': %s", digest, raw,
				    raw[0] == '/' ? "absolute path refused"
						  : "path escapes the rootfs ('..') or is invalid");
	if (!path[0])
		return 0; /* the root itself: keep the rootfs's own mode */
	mode_t type = libarchive.entry_filetype(e);
	int64_t size = libarchive.entry_size_is_set(e) ? libarchive.entry_size(e) : 0;
	if (type == AE_IFREG && size > 0) {
		c->bytes += (uint64_t)size;
		if (c->bytes > c->limits.max_bytes)
			return hy_error_set(err, EFBIG,
					    "layer %s: entry '%.200s': the image unpacks to more than "
					    "%llu bytes (the limit; HYRUN_IMAGE_MAX_BYTES raises it)",
					    digest, path, (unsigned long long)c->limits.max_bytes);
	}
	cache_invalidate(c, path);
	char split[4096];
	memcpy(split, path, sizeof(split));
	const char *parent, *base;
	image_path_split(split, &parent, &base);
	int pfd;

	if (strncmp(base, WH_PREFIX, 4) == 0) {
		if ((rc = open_parent(c, parent, false, &pfd)) == -ENOENT)
			return 0; /* whiting out inside a directory that does not exist */
		if (rc)
			FAIL(-rc, "layer %s: whiteout '%.200s': %s", digest, path, parent_error(rc));
		if (strcmp(base, WH_OPAQUE) == 0) {
			/* Entries of this layer may come before the marker in the tar: keep those. */
			rc = clear_opaque(c, pfd, parent);
			if (rc)
				FAIL(-rc, "layer %s: opaque whiteout '%.200s': %s", digest, path,
				     strerror(-rc));
			return 0;
		}
		const char *victim = base + 4;
		if (strncmp(victim, WH_PREFIX, 4) == 0)
			return 0; /* other aufs metadata (.wh..wh.plnk etc.): nothing to do */
		if (!victim[0] || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
			FAIL(EINVAL, "layer %s: whiteout '%.200s' names no file", digest, path);
		rc = image_rmtree_at(pfd, victim);
		if (rc)
			FAIL(-rc, "layer %s: whiteout '%.200s': %s", digest, path, strerror(-rc));
		return 0;
	}

	if ((rc = open_parent(c, parent, true, &pfd)))
		FAIL(-rc, "layer %s: entry '%.200s': %s", digest, path, parent_error(rc));
	if (seen_add(c, path))
		FAIL(ENOMEM, "out of memory");
	struct timespec ts[2];
	entry_times(e, ts);
	const char *hardlink = libarchive.entry_hardlink(e);
	if (hardlink) {
		char target[4096];
		if (image_path_clean(hardlink, target, sizeof(target)) || !target[0])
			FAIL(EINVAL, "layer %s: hard link '%.200s' -> '%.200s': target outside the rootfs",
			     digest, path, hardlink);
		char tsplit[4096];
		memcpy(tsplit, target, sizeof(tsplit));
		const char *tparent, *tbase;
		image_path_split(tsplit, &tparent, &tbase);
		int tpfd = -1;
		if (tparent[0]) {
			tpfd = openat2_beneath(c->rootfd, tparent, O_PATH | O_DIRECTORY);
			if (tpfd < 0)
				FAIL(-tpfd, "layer %s: hard link '%.200s' -> '%.200s': %s", digest, path,
				     target, parent_error(tpfd));
		}
		if ((rc = clear_slot(pfd, base, false)) < 0) {
			if (tpfd >= 0)
				close(tpfd);
			FAIL(-rc, "layer %s: entry '%.200s': %s", digest, path, strerror(-rc));
		}
		/* No AT_SYMLINK_FOLLOW: a symlink target is linked as the symlink itself. */
		rc = linkat(tpfd >= 0 ? tpfd : c->rootfd, tbase, pfd, base, 0) < 0 ? -errno : 0;
		if (tpfd >= 0)
			close(tpfd);
		if (rc)
			FAIL(-rc, "layer %s: hard link '%.200s' -> '%.200s': %s", digest, path, target,
			     strerror(-rc));
		return 0;
	}
	switch (type) {
	case AE_IFDIR: {
		rc = clear_slot(pfd, base, true);
		if (rc < 0)
			FAIL(-rc, "layer %s: entry '%.200s': %s", digest, path, strerror(-rc));
		if (rc == 0 && mkdirat(pfd, base, 0700) < 0)
			FAIL(errno, "layer %s: mkdir '%.200s': %s", digest, path, strerror(errno));
		rc = 0;
		fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			FAIL(errno, "layer %s: open '%.200s': %s", digest, path, strerror(errno));
		if ((rc = set_owner_mode(fd, e)))
			FAIL(-rc, "layer %s: '%.200s': chown/chmod: %s", digest, path, strerror(-rc));
		apply_xattrs(fd, e);
		if ((rc = record_dir(c, path, e)))
			FAIL(ENOMEM, "out of memory");
		break;
	}
	case AE_IFREG:
		/* Most entries are new: try first, clear the slot only when something is there. */
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST) {
			if ((rc = clear_slot(pfd, base, false)) < 0)
				FAIL(-rc, "layer %s: entry '%.200s': %s", digest, path,
				     strerror(-rc));
			fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    0600);
		}
		if (fd < 0)
			FAIL(errno, "layer %s: create '%.200s': %s", digest, path, strerror(errno));
		if ((rc = write_data(a, fd, size)))
			FAIL(rc == -EIO ? EINVAL : -rc, "layer %s: '%.200s': %s", digest, path,
			     rc == -EIO ? libarchive.error_string(a) : strerror(-rc));
		if ((rc = set_owner_mode(fd, e)))
			FAIL(-rc, "layer %s: '%.200s': chown/chmod: %s", digest, path, strerror(-rc));
		apply_xattrs(fd, e);
		futimens(fd, ts);
		break;
	case AE_IFLNK: {
		const char *target = libarchive.entry_symlink(e);
		if (!target)
			FAIL(EINVAL, "layer %s: symlink '%.200s' without a target", digest, path);
		/* Any target is fine: nothing here ever follows it. */
		int made = symlinkat(target, pfd, base);
		if (made < 0 && errno == EEXIST) {
			if ((rc = clear_slot(pfd, base, false)) < 0)
				FAIL(-rc, "layer %s: entry '%.200s': %s", digest, path,
				     strerror(-rc));
			made = symlinkat(target, pfd, base);
		}
		if (made < 0)
			FAIL(errno, "layer %s: symlink '%.200s': %s", digest, path, strerror(errno));
		int64_t uid = libarchive.entry_uid(e), gid = libarchive.entry_gid(e);
		if (uid >= 0 && uid < UINT32_MAX && gid >= 0 && gid < UINT32_MAX)
			fchownat(pfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
		utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		rc = 0;
		break;
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: {
		if (type != AE_IFIFO && c->limits.no_devices)
			FAIL(EPERM, "layer %s: device node '%.200s' refused", digest, path);
		if ((rc = clear_slot(pfd, base, false)) < 0)
			FAIL(-rc, "layer %s: entry '%.200s': %s", digest, path, strerror(-rc));
		mode_t m = (type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO) |
			   (libarchive.entry_perm(e) & 0777);
		dev_t dev = type == AE_IFIFO ? 0 : libarchive.entry_rdev(e);
		if (mknodat(pfd, base, m, dev) < 0)
			FAIL(errno, "layer %s: mknod '%.200s': %s", digest, path, strerror(errno));
		int64_t uid = libarchive.entry_uid(e), gid = libarchive.entry_gid(e);
		if (uid >= 0 && uid < UINT32_MAX && gid >= 0 && gid < UINT32_MAX)
			fchownat(pfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
		/* fchmodat may follow; the node is ours and was just made, so set mode via mknod. */
		utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		rc = 0;
		break;
	}
	default:
		return 0; /* sockets and unknown types are not part of an image */
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

struct hashing_reader {
	int fd;
	struct digest_stream hash;
	uint64_t n;
	unsigned char buf[1 << 17];
};

static la_ssize_t hr_read(struct archive *a, void *p, const void **out)
{
	struct hashing_reader *h = p;
	for (;;) {
		ssize_t n = read(h->fd, h->buf, sizeof(h->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			libarchive.set_error(a, errno, "read: %s", strerror(errno));
			return -1;
		}
		digest_stream_add(&h->hash, h->buf, (size_t)n);
		h->n += (uint64_t)n;
		*out = h->buf;
		return n;
	}
}

int layer_apply(struct layer_ctx *c, int fd, const char *digest, uint64_t size,
		struct hy_error *err)
{
	int rc = archive_lib_load(err);
	if (rc)
		return rc;
	struct hashing_reader *h = malloc(sizeof(*h));
	if (!h)
		return hy_error_set(err, ENOMEM, "out of memory");
	h->fd = fd;
	h->n = 0;
	if ((rc = digest_stream_begin(&h->hash, err))) {
		free(h);
		return rc;
	}
	struct archive *a = libarchive.read_new();
	if (!a) {
		digest_stream_discard(&h->hash);
		free(h);
		return hy_error_set(err, ENOMEM, "layer %s: out of memory", digest);
	}
	libarchive.read_support_format_tar(a);
	libarchive.read_support_filter_gzip(a);
	libarchive.read_support_filter_zstd(a);
	libarchive.read_support_filter_none(a);
	if (libarchive.read_open(a, h, NULL, hr_read, NULL) != ARCHIVE_OK) {
		/* An empty layer (zero bytes) is not a tar; anything else unreadable is an error. */
		if (size != 0)
			rc = hy_error_set(err, EINVAL, "layer %s: %s", digest,
					  libarchive.error_string(a));
	} else {
		struct archive_entry *e;
		for (;;) {
			int r = libarchive.read_next_header(a, &e);
			if (r == ARCHIVE_EOF)
				break;
			if (r < ARCHIVE_WARN) {
				rc = hy_error_set(err, EINVAL, "layer %s: %s", digest,
						  libarchive.error_string(a));
				break;
			}
			if ((rc = apply_entry(c, a, e, digest, err)))
				break;
		}
	}
	if (!rc) {
		/* The rest of the blob (compression trailer, padding) counts for the digest too. */
		const void *dummy;
		while (hr_read(a, h, &dummy) > 0)
			;
		char got[72];
		digest_stream_end(&h->hash, got);
		if (h->n != size)
			rc = hy_error_set(err, EINVAL, "blob %s: size mismatch: expected %llu, got %llu",
					  digest, (unsigned long long)size, (unsigned long long)h->n);
		else if (strcmp(got, digest) != 0)
			rc = hy_error_set(err, EINVAL, "blob %s: digest mismatch: content is %s",
					  digest, got);
	}
	libarchive.read_free(a);
	seen_clear(c);
	digest_stream_discard(&h->hash);
	free(h);
	return rc;
}
