/* image unpack: an OCI bundle (rootfs/ + config.json) from a stored image. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer.h"
#include "image/path.h"
#include "image/spec.h"
#include "image/store.h"

/* Unpacks the layers of m into rootfd (an empty directory); blobs are verified as they stream. */
int image_unpack_rootfs(struct image_store *s, const struct image_manifest *m, int rootfd,
			const struct image_limits *lim, struct hy_error *err)
{
	struct layer_ctx c;
	layer_ctx_init(&c, rootfd, lim);
	int rc = 0;
	for (size_t i = 0; i < m->n_layers && !rc; i++) {
		int fd;
		rc = store_open_blob_unverified(s, m->layers[i].digest, m->layers[i].size, &fd, err);
		if (rc)
			break;
		rc = layer_apply(&c, fd, m->layers[i].digest, m->layers[i].size, err);
		close(fd);
	}
	if (!rc)
		layer_finish(&c);
	layer_ctx_free(&c);
	return rc;
}

/* Copies the store's cached disk image src into the bundle as rootfs.<kind> (name gets it): the
 * container may write to an ext4 root, which must not change the cache other bundles copy.
 * Holes stay holes (an ext4 image is mostly free space). */
static int copy_root_disk(int bfd, const char *src, char *name, size_t name_size,
			  struct hy_error *err)
{
	const char *dot = strrchr(src, '.');
	if (!dot || (strcmp(dot, ".ext4") != 0 && strcmp(dot, ".erofs") != 0))
		return hy_error_set(err, EINVAL, "%s: not an .ext4 or .erofs disk image", src);
	snprintf(name, name_size, "rootfs%s", dot);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return hy_error_errno(err, errno, "%s", src);
	int out = openat(bfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		name[0] = '\0'; /* not ours to remove */
		return hy_error_errno(err, e, "create %s", e == EEXIST ? "rootfs disk (exists)" : src);
	}
	enum { BUF_SIZE = 1 << 20 };
	char *buf = malloc(BUF_SIZE);
	struct stat st;
	int rc = !buf		      ? hy_error_set(err, ENOMEM, "out of memory")
		 : fstat(in, &st) < 0 ? hy_error_errno(err, errno, "%s", src)
				      : 0;
	for (off_t data = 0; !rc && data < st.st_size;) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: only a hole is left */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		while (!rc && data < hole) {
			size_t want = (size_t)(hole - data) < BUF_SIZE ? (size_t)(hole - data)
								      : BUF_SIZE;
			ssize_t n = pread(in, buf, want, data);
			if (n <= 0)
				rc = hy_error_errno(err, n < 0 ? errno : EIO, "read %s", src);
			else if (pwrite(out, buf, (size_t)n, data) != n)
				rc = hy_error_errno(err, errno, "write %s", name);
			else
				data += n;
		}
	}
	if (!rc && (ftruncate(out, st.st_size) < 0 || fsync(out) < 0))
		rc = hy_error_errno(err, errno, "write %s", name);
	free(buf);
	close(in);
	close(out);
	return rc;
}

int image_unpack_to_bundle(const char *root, const char *name, const char *bundle,
			   const struct image_unpack_opts *o, struct hy_error *err)
{
	struct image_unpack_opts defo = {0};
	if (!o)
		o = &defo;
	if (o->isolation && strcmp(o->isolation, "container") != 0 &&
	    strcmp(o->isolation, "vm") != 0)
		return hy_error_set(err, EINVAL, "isolation '%s': expected container or vm",
				    o->isolation);
	struct image_store s;
	int rc = store_open(root, false, &s, err);
	if (rc)
		return rc;
	struct image_manifest m = {0};
	char *cfg = NULL, *json = NULL;
	size_t cfg_len = 0;
	int bfd = -1, rootfd = -1;
	bool made_bundle = false, made_rootfs = false;
	char disk_name[32] = ""; /* the bundle's copy of o->root_disk */
	if ((rc = store_load_manifest(&s, name, NULL, &m, err)))
		goto out;
	if ((rc = store_read_blob(&s, m.config.digest, m.config.size, &cfg, &cfg_len, err))) {
		hy_error_prefix(err, "image %s: config", name);
		goto out;
	}
	if (mkdir(bundle, 0755) == 0)
		made_bundle = true;
	else if (errno != EEXIST) {
		rc = hy_error_errno(err, errno, "bundle %s", bundle);
		goto out;
	}
	bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0) {
		rc = hy_error_errno(err, errno, "bundle %s", bundle);
		goto out;
	}
	if (faccessat(bfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = hy_error_set(err, EEXIST, "bundle %s: config.json already exists", bundle);
		goto out;
	}
	if (mkdirat(bfd, "rootfs", 0755) < 0) {
		rc = errno == EEXIST ? hy_error_set(err, EEXIST,
						    "bundle %s: rootfs already exists; use an empty "
						    "bundle directory",
						    bundle)
				     : hy_error_errno(err, errno, "bundle %s: mkdir rootfs", bundle);
		goto out;
	}
	made_rootfs = true;
	rootfd = openat(bfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		rc = hy_error_errno(err, errno, "bundle %s: open rootfs", bundle);
		goto out;
	}
	fchmod(rootfd, 0755);
	if ((rc = image_unpack_rootfs(&s, &m, rootfd, &o->limits, err))) {
		hy_error_prefix(err, "unpack %s", name);
		goto out;
	}
	if (o->root_disk && (rc = copy_root_disk(bfd, o->root_disk, disk_name, sizeof(disk_name),
						 err)) < 0) {
		hy_error_prefix(err, "bundle %s", bundle);
		goto out;
	}
	if ((rc = image_spec_generate(cfg, cfg_len, m.config.digest, rootfd, o->isolation,
				      disk_name[0] ? disk_name : NULL, &json, err))) {
		hy_error_prefix(err, "unpack %s", name);
		goto out;
	}
	rc = write_file_atomic(bfd, "config.json", json, strlen(json), err);
out:
	if (rc && made_rootfs && bfd >= 0)
		image_rmtree_at(bfd, "rootfs"); /* no half-made bundle */
	if (rc && disk_name[0] && bfd >= 0)
		unlinkat(bfd, disk_name, 0);
	if (rootfd >= 0)
		close(rootfd);
	if (bfd >= 0)
		close(bfd);
	if (rc && made_bundle)
		rmdir(bundle);
	free(json);
	free(cfg);
	manifest_free(&m);
	store_close(&s);
	return rc;
}

static bool id_ok(const char *id)
{
	return id && id[0] && strlen(id) < 256 && !strchr(id, '/') && strcmp(id, ".") != 0 &&
	       strcmp(id, "..") != 0;
}

int image_bundle_path(const char *root, const char *id, char **out, struct hy_error *err)
{
	if (!id_ok(id))
		return hy_error_set(err, EINVAL, "container id '%s': not usable as a bundle name",
				    id ? id : "");
	if (!root)
		root = IMAGE_DEFAULT_ROOT;
	char *dir = NULL;
	if (asprintf(&dir, "%s/bundles", root) < 0)
		return hy_error_set(err, ENOMEM, "out of memory");
	/* The store itself may not exist yet. */
	struct image_store s;
	int rc = store_open(root, false, &s, err);
	if (!rc) {
		store_close(&s);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			rc = hy_error_errno(err, errno, "mkdir %s", dir);
	}
	if (!rc && asprintf(out, "%s/%s", dir, id) < 0)
		rc = hy_error_set(err, ENOMEM, "out of memory");
	free(dir);
	return rc;
}

int image_bundle_remove(const char *root, const char *id)
{
	if (!id_ok(id))
		return -EINVAL;
	char *dir = NULL;
	if (asprintf(&dir, "%s/bundles", root ? root : IMAGE_DEFAULT_ROOT) < 0)
		return -ENOMEM;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	int rc = image_rmtree_at(fd, id);
	close(fd);
	return rc;
}
