/* Unit tests for the image part: digest parsing and verification, path sanitising, the store's
 * verified writes and reads, user resolution, and hostile layers applied in-process. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer.h"
#include "image/path.h"
#include "image/store.h"
#include "image/user.h"
#include "unit.h"

static const char empty_sha[] =
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void test_digest(void)
{
	struct hy_error err = {0};
	char hex[65], d[72];
	CHECK(digest_parse(empty_sha, hex, &err) == 0);
	CHECK(strcmp(hex, empty_sha + 7) == 0);
	CHECK(digest_parse("sha512:abcd", hex, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "only sha256");
	CHECK(digest_parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
			   hex, &err) == -EINVAL);
	CHECK(digest_parse("sha256:e3b0", hex, &err) == -EINVAL);
	CHECK(digest_parse("sha256:../../../../etc/passwd00000000000000000000000000000000000000000000"
			   "00000",
			   hex, &err) == -EINVAL);
	CHECK(digest_parse(NULL, hex, &err) == -EINVAL);
	digest_of_buf("", 0, d);
	CHECK(strcmp(d, empty_sha) == 0);
	digest_of_buf("abc", 3, d);
	CHECK(strcmp(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ==
	      0);
}

static void test_path_clean(void)
{
	char out[64];
	CHECK(image_path_clean("./a//b/./c/", out, sizeof(out)) == 0 && strcmp(out, "a/b/c") == 0);
	CHECK(image_path_clean("./", out, sizeof(out)) == 0 && strcmp(out, "") == 0);
	CHECK(image_path_clean("a/..b/c..", out, sizeof(out)) == 0 &&
	      strcmp(out, "a/..b/c..") == 0);
	CHECK(image_path_clean("../x", out, sizeof(out)) == -EINVAL);
	CHECK(image_path_clean("a/../../x", out, sizeof(out)) == -EINVAL);
	CHECK(image_path_clean("a/..", out, sizeof(out)) == -EINVAL);
	CHECK(image_path_clean("/etc/passwd", out, sizeof(out)) == -EINVAL);
	CHECK(image_path_clean("a\nb", out, sizeof(out)) == -EINVAL);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CHECK(image_path_clean(longp, out, sizeof(out)) == -ENAMETOOLONG);
	char sp[32] = "usr/lib/x.so";
	const char *parent, *base;
	image_path_split(sp, &parent, &base);
	CHECK(strcmp(parent, "usr/lib") == 0 && strcmp(base, "x.so") == 0);
	char sp2[8] = "top";
	image_path_split(sp2, &parent, &base);
	CHECK(strcmp(parent, "") == 0 && strcmp(base, "top") == 0);
}

static int count_files(const char *dir)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "find %s -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void test_store(const char *tmp)
{
	struct hy_error err = {0};
	char root[512], d[72];
	snprintf(root, sizeof(root), "%s/store", tmp);
	struct image_store s;
	CHECK(store_open(root, true, &s, &err) == 0);
	bool added;
	CHECK(store_put_buf(&s, "hello", 5, d, &added, &err) == 0 && added);
	CHECK(store_put_buf(&s, "hello", 5, d, &added, &err) == 0 && !added);
	char *buf;
	size_t len;
	CHECK(store_read_blob(&s, d, 5, &buf, &len, &err) == 0 && len == 5 &&
	      memcmp(buf, "hello", 5) == 0);
	free(buf);
	CHECK(store_read_blob(&s, d, 6, &buf, &len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "size mismatch");

	/* A source whose content does not match the announced digest leaves nothing behind. */
	char src[512];
	snprintf(src, sizeof(src), "%s/src", tmp);
	int fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "tampered", 8) == 8);
	lseek(fd, 0, SEEK_SET);
	CHECK(store_put_fd(&s, fd, empty_sha, 8, NULL, &added, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, empty_sha);
	CHECK_STR_CONTAINS(err.msg, "digest mismatch");
	lseek(fd, 0, SEEK_SET);
	CHECK(store_put_fd(&s, fd, empty_sha, 0, NULL, &added, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "size mismatch");
	close(fd);
	char blobs[600];
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", root);
	CHECK(count_files(blobs) == 1);

	/* A blob altered in the store after it was written is caught on use. */
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", blobs, d + 7);
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "J", 1, 0) == 1);
	close(fd);
	int bfd;
	CHECK(store_open_blob(&s, d, 5, &bfd, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, d);

	/* Names. */
	char *n = store_normalize_name("busybox", &err);
	CHECK(n && strcmp(n, "busybox:latest") == 0);
	free(n);
	n = store_normalize_name("docker.io/library/busybox:1.36", &err);
	CHECK(n && strcmp(n, "busybox:1.36") == 0);
	free(n);
	n = store_normalize_name("localhost:5000/app", &err);
	CHECK(n && strcmp(n, "localhost:5000/app:latest") == 0);
	free(n);
	CHECK(store_normalize_name("bad name", &err) == NULL);
	store_close(&s);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_user(const char *tmp)
{
	char dir[512], p[600];
	snprintf(dir, sizeof(dir), "%s/uroot", tmp);
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/etc", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	write_file(p, "root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/:/bin/sh\n");
	snprintf(p, sizeof(p), "%s/etc/group", dir);
	write_file(p, "root:x:0:\napp:x:1002:\nwheel:x:10:app,other\naudio:x:29:other\n");
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct image_user u;
	struct hy_error err = {0};
	CHECK(image_resolve_user(rootfd, "app", &u, &err) == 0 && u.uid == 1001 && u.gid == 1002 &&
	      u.n_additional == 1 && u.additional[0] == 10);
	CHECK(image_resolve_user(rootfd, "app:wheel", &u, &err) == 0 && u.uid == 1001 &&
	      u.gid == 10);
	CHECK(image_resolve_user(rootfd, "1001", &u, &err) == 0 && u.gid == 1002);
	CHECK(image_resolve_user(rootfd, "5000", &u, &err) == 0 && u.uid == 5000 && u.gid == 0);
	CHECK(image_resolve_user(rootfd, "5000:6000", &u, &err) == 0 && u.gid == 6000);
	CHECK(image_resolve_user(rootfd, "", &u, &err) == 0 && u.uid == 0 && u.gid == 0);
	CHECK(image_resolve_user(rootfd, "ghost", &u, &err) == -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "ghost");
	CHECK(image_resolve_user(rootfd, "app:nogroup", &u, &err) == -ENOENT);
	/* An /etc/passwd symlink to the host's stays inside the rootfs (and so finds nothing). */
	unlink(p);
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	unlink(p);
	CHECK(symlink("/etc/passwd", p) == 0);
	CHECK(image_resolve_user(rootfd, "root", &u, &err) == -ENOENT);
	close(rootfd);
}

/* Builds an in-memory tar with libarchive: entries "type:path[:target]". */
static size_t make_tar(char *buf, size_t cap, const char *const *entries)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	size_t used = 0;
	archive_write_open_memory(a, buf, cap, &used);
	for (; *entries; entries++) {
		char spec[256];
		snprintf(spec, sizeof(spec), "%s", *entries);
		char *type = spec, *path = strchr(spec, ':');
		*path++ = '\0';
		char *target = strchr(path, ':');
		if (target)
			*target++ = '\0';
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, path);
		archive_entry_set_perm(e, 0644);
		if (strcmp(type, "f") == 0) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, 3);
		} else if (strcmp(type, "d") == 0) {
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
		} else if (strcmp(type, "l") == 0) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, target);
		} else if (strcmp(type, "h") == 0) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, target);
		}
		archive_write_header(a, e);
		if (strcmp(type, "f") == 0)
			archive_write_data(a, "hi\n", 3);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

/* Applies one tar to a fresh rootfs; returns layer_apply's result, err filled. */
static int apply(const char *tmp, const char *const *entries, struct hy_error *err)
{
	static char buf[1 << 16];
	size_t n = make_tar(buf, sizeof(buf), entries);
	char d[72];
	digest_of_buf(buf, n, d);
	char dir[512], cmd[600];
	snprintf(dir, sizeof(dir), "%s/rootfs", tmp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return -EIO;
	mkdir(dir, 0755);
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	char blob[512];
	snprintf(blob, sizeof(blob), "%s/layer.tar", tmp);
	int fd = open(blob, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (write(fd, buf, n) != (ssize_t)n)
		return -EIO;
	lseek(fd, 0, SEEK_SET);
	struct layer_ctx c;
	layer_ctx_init(&c, rootfd, NULL);
	int rc = layer_apply(&c, fd, d, n, err);
	if (!rc)
		layer_finish(&c);
	layer_ctx_free(&c);
	close(fd);
	close(rootfd);
	return rc;
}

static void test_layers(const char *tmp)
{
	struct hy_error err = {0};
	char outside[512], p[600];
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	mkdir(outside, 0755);
	char t1[600], t2[600];
	snprintf(t1, sizeof(t1), "l:esc:%s", outside);
	snprintf(t2, sizeof(t2), "f:%s/evil", outside);

	const char *ok[] = {"d:a", "f:a/x", "l:a/ln:/etc/passwd", "h:a/hl:a/x", "f:b/deep/y", NULL};
	CHECK(apply(tmp, ok, &err) == 0);
	snprintf(p, sizeof(p), "%s/rootfs/b/deep/y", tmp);
	CHECK(access(p, F_OK) == 0);

	const char *dotdot[] = {"f:../evil", NULL};
	CHECK(apply(tmp, dotdot, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "escapes the rootfs");
	const char *abs[] = {t2, NULL};
	CHECK(apply(tmp, abs, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "absolute path refused");
	const char *through[] = {t1, "f:esc/evil", NULL};
	CHECK(apply(tmp, through, &err) == -ELOOP);
	CHECK_STR_CONTAINS(err.msg, "symlink");
	const char *hl[] = {"h:hl:../../etc/passwd", NULL};
	CHECK(apply(tmp, hl, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "target outside the rootfs");
	const char *wh[] = {t1, "f:esc/.wh.keep", NULL};
	CHECK(apply(tmp, wh, &err) < 0);
	snprintf(p, sizeof(p), "%s/evil", outside);
	CHECK(access(p, F_OK) != 0);

	/* The digest is checked over the whole blob. */
	static char buf[1 << 16];
	const char *one[] = {"f:x", NULL};
	size_t n = make_tar(buf, sizeof(buf), one);
	char blob[512];
	snprintf(blob, sizeof(blob), "%s/layer2.tar", tmp);
	int fd = open(blob, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, buf, n) == (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/rootfs2", tmp);
	mkdir(dir, 0755);
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct layer_ctx c;
	layer_ctx_init(&c, rootfd, NULL);
	CHECK(layer_apply(&c, fd, empty_sha, n, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "digest mismatch");
	layer_ctx_free(&c);
	close(rootfd);
	close(fd);
}

static void test_bundle_path(const char *tmp)
{
	struct hy_error err = {0};
	char root[512], *path = NULL;
	snprintf(root, sizeof(root), "%s/bstore", tmp);
	CHECK(image_bundle_path(root, "../evil", &path, &err) == -EINVAL);
	CHECK(image_bundle_path(root, "..", &path, &err) == -EINVAL);
	CHECK(image_bundle_path(root, "", &path, &err) == -EINVAL);
	CHECK(image_bundle_path(root, "c1", &path, &err) == 0);
	char want[600];
	snprintf(want, sizeof(want), "%s/bundles/c1", root);
	CHECK(path && strcmp(path, want) == 0);
	mkdir(path, 0755);
	char f[700];
	snprintf(f, sizeof(f), "%s/rootfs", path);
	mkdir(f, 0755);
	CHECK(image_bundle_remove(root, "c1") == 0);
	CHECK(access(path, F_OK) != 0);
	CHECK(image_bundle_remove(root, "c1") == 0);
	CHECK(image_bundle_remove(root, "a/b") == -EINVAL);
	free(path);
}

int main(void)
{
	char tmp[] = "/tmp/test_image.XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	test_digest();
	test_path_clean();
	test_store(tmp);
	test_user(tmp);
	test_layers(tmp);
	test_bundle_path(tmp);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return UNIT_DONE();
}
