/* The OCI layout store: blobs, the lock, and atomic writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive_lib.h"
#include "image/store.h"

static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static int mkdir_p(const char *path, struct hy_error *err)
{
	char *p = strdup(path);
	if (!p)
		return hy_error_set(err, ENOMEM, "out of memory");
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			int rc = hy_error_errno(err, errno, "mkdir %s", p);
			free(p);
			return rc;
		}
		*c = '/';
	}
	int rc = 0;
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = hy_error_errno(err, errno, "mkdir %s", p);
	free(p);
	return rc;
}

int write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
		      struct hy_error *err)
{
	char tmp[300];
	static unsigned counter;
	snprintf(tmp, sizeof(tmp), ".tmp-%d-%u-%s", getpid(), counter++, name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return hy_error_errno(err, errno, "create %s", tmp);
	const char *p = data;
	size_t off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hy_error_errno(err, errno, "write %s", name);
			break;
		}
		off += (size_t)n;
	}
	if (!rc && fsync(fd) < 0)
		rc = hy_error_errno(err, errno, "fsync %s", name);
	if (close(fd) < 0 && !rc)
		rc = hy_error_errno(err, errno, "close %s", name);
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = hy_error_errno(err, errno, "rename %s", name);
	if (rc)
		unlinkat(dirfd, tmp, 0);
	else
		fsync(dirfd);
	return rc;
}

/* A crashed writer leaves .tmp-* files; only a writer (exclusive lock) may remove them. */
static void remove_stale_temps(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, ".tmp-", 5) == 0)
			unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}

int store_open(const char *root, bool exclusive, struct image_store *s, struct hy_error *err)
{
	memset(s, 0, sizeof(*s));
	s->rootfd = s->blobsfd = s->lockfd = -1;
	if (!root)
		root = IMAGE_DEFAULT_ROOT;
	int rc = mkdir_p(root, err);
	if (rc)
		return hy_error_prefix(err, "image store %s", root);
	s->root = strdup(root);
	s->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!s->root || s->rootfd < 0) {
		rc = hy_error_errno(err, errno, "image store %s: open", root);
		goto fail;
	}
	s->lockfd = openat(s->rootfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		rc = hy_error_errno(err, errno, "image store %s: open .lock", root);
		goto fail;
	}
	while (flock(s->lockfd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			rc = hy_error_errno(err, errno, "image store %s: lock", root);
			goto fail;
		}
	}
	if ((mkdirat(s->rootfd, "blobs", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(s->rootfd, "blobs/sha256", 0755) < 0 && errno != EEXIST)) {
		rc = hy_error_errno(err, errno, "image store %s: mkdir blobs/sha256", root);
		goto fail;
	}
	s->blobsfd = openat(s->rootfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
							       O_NOFOLLOW);
	if (s->blobsfd < 0) {
		rc = hy_error_errno(err, errno, "image store %s: open blobs/sha256", root);
		goto fail;
	}
	if (faccessat(s->rootfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		int dfd = openat(s->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			rc = hy_error_errno(err, errno, "image store %s", root);
			goto fail;
		}
		rc = write_file_atomic(dfd, "oci-layout", oci_layout, strlen(oci_layout), err);
		if (!rc && faccessat(dfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			static const char empty[] =
				"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
				"\",\"manifests\":[]}";
			rc = write_file_atomic(dfd, "index.json", empty, strlen(empty), err);
		}
		close(dfd);
		if (rc) {
			hy_error_prefix(err, "image store %s", root);
			goto fail;
		}
	}
	if (exclusive) {
		remove_stale_temps(s->blobsfd);
		int dfd = openat(s->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			remove_stale_temps(dfd);
			close(dfd);
		}
	}
	return 0;
fail:
	store_close(s);
	return rc;
}

void store_close(struct image_store *s)
{
	if (s->blobsfd >= 0)
		close(s->blobsfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->root);
	memset(s, 0, sizeof(*s));
	s->rootfd = s->blobsfd = s->lockfd = -1;
}

bool store_has_blob(struct image_store *s, const char *digest)
{
	char hex[65];
	struct hy_error e;
	if (digest_parse(digest, hex, &e))
		return false;
	return faccessat(s->blobsfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_put_fd(struct image_store *s, int fd, const char *want_digest, int64_t want_size,
		 char *got, bool *added, struct hy_error *err)
{
	char hex[65], tmp[64];
	static unsigned counter;
	*added = false;
	if (want_digest && digest_parse(want_digest, hex, err))
		return -err->code;
	snprintf(tmp, sizeof(tmp), ".tmp-%d-%u", getpid(), counter++);
	int out = openat(s->blobsfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			 0644);
	if (out < 0)
		return hy_error_errno(err, errno, "image store: create blob");
	struct digest_stream hash;
	int rc = digest_stream_begin(&hash, err);
	unsigned char *buf = rc ? NULL : malloc(IMAGE_IO_CHUNK);
	if (!buf) {
		digest_stream_discard(&hash);
		close(out);
		unlinkat(s->blobsfd, tmp, 0);
		return rc ? rc : hy_error_set(err, ENOMEM, "image store: out of memory");
	}
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, IMAGE_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hy_error_errno(err, errno, "read");
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		/* Stop copying a blob that is already longer than announced. */
		if (want_size >= 0 && total > (uint64_t)want_size) {
			rc = hy_error_set(err, EINVAL,
					  "blob %s: size mismatch: more than the %lld bytes announced",
					  want_digest, (long long)want_size);
			break;
		}
		digest_stream_add(&hash, buf, (size_t)n);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = hy_error_errno(err, errno, "image store: write blob");
				break;
			}
			off += w;
		}
		if (rc)
			break;
	}
	free(buf);
	char digest[72];
	digest_stream_end(&hash, digest);
	if (!rc) {
		if (want_size >= 0 && total != (uint64_t)want_size)
			rc = hy_error_set(err, EINVAL,
					  "blob %s: size mismatch: announced %lld bytes, got %llu",
					  want_digest, (long long)want_size,
					  (unsigned long long)total);
		else if (want_digest && strcmp(digest, want_digest) != 0)
			rc = hy_error_set(err, EINVAL, "blob %s: digest mismatch: content is %s",
					  want_digest, digest);
	}
	if (!rc && fsync(out) < 0)
		rc = hy_error_errno(err, errno, "image store: fsync blob");
	if (close(out) < 0 && !rc)
		rc = hy_error_errno(err, errno, "image store: write blob");
	if (!rc) {
		memcpy(hex, digest + 7, 65);
		if (got)
			memcpy(got, digest, 72);
		if (faccessat(s->blobsfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			unlinkat(s->blobsfd, tmp, 0);
			return 0;
		}
		if (renameat(s->blobsfd, tmp, s->blobsfd, hex) < 0)
			rc = hy_error_errno(err, errno, "image store: rename blob %s", digest);
		else {
			fsync(s->blobsfd);
			*added = true;
		}
	}
	if (rc)
		unlinkat(s->blobsfd, tmp, 0);
	return rc;
}

int store_put_buf(struct image_store *s, const void *buf, size_t len, char out[72], bool *added,
		  struct hy_error *err)
{
	*added = false;
	if (digest_of_buf(buf, len, out))
		return crypto_lib_load(err);
	if (store_has_blob(s, out))
		return 0;
	int rc = write_file_atomic(s->blobsfd, out + 7, buf, len, err);
	if (!rc)
		*added = true;
	return rc;
}

int store_open_blob_unverified(struct image_store *s, const char *digest, uint64_t size,
			       int *fd_out, struct hy_error *err)
{
	char hex[65];
	if (digest_parse(digest, hex, err))
		return -err->code;
	int fd = openat(s->blobsfd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hy_error_errno(err, errno, "blob %s", digest);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		close(fd);
		return hy_error_set(err, EINVAL, "blob %s: size mismatch: expected %llu bytes", digest,
				    (unsigned long long)size);
	}
	*fd_out = fd;
	return 0;
}

int store_open_blob(struct image_store *s, const char *digest, uint64_t size, int *fd_out,
		    struct hy_error *err)
{
	int fd, rc = store_open_blob_unverified(s, digest, size, &fd, err);
	if (rc)
		return rc;
	char got[72];
	uint64_t n;
	rc = digest_of_fd(fd, got, &n, err);
	if (rc) {
		close(fd);
		return hy_error_prefix(err, "blob %s", digest);
	}
	if (n != size || strcmp(got, digest) != 0) {
		close(fd);
		return hy_error_set(err, EINVAL, "blob %s: digest mismatch: content is %s", digest,
				    got);
	}
	lseek(fd, 0, SEEK_SET);
	*fd_out = fd;
	return 0;
}

int store_read_blob(struct image_store *s, const char *digest, uint64_t size, char **buf,
		    size_t *len, struct hy_error *err)
{
	if (size > IMAGE_JSON_MAX)
		return hy_error_set(err, EFBIG, "blob %s: %llu bytes is too large for JSON", digest,
				    (unsigned long long)size);
	int fd, rc = store_open_blob_unverified(s, digest, size, &fd, err);
	if (rc)
		return rc;
	char *b = malloc(size + 1);
	if (!b) {
		close(fd);
		return hy_error_set(err, ENOMEM, "out of memory");
	}
	size_t off = 0;
	while (off < size) {
		ssize_t n = read(fd, b + off, size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = hy_error_errno(err, n < 0 ? errno : EIO, "blob %s: read", digest);
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	if (!rc) {
		char got[72];
		if (digest_of_buf(b, size, got))
			rc = crypto_lib_load(err);
		else if (strcmp(got, digest) != 0)
			rc = hy_error_set(err, EINVAL, "blob %s: digest mismatch: content is %s",
					  digest, got);
	}
	if (rc) {
		free(b);
		return rc;
	}
	b[size] = '\0';
	*buf = b;
	*len = size;
	return 0;
}

int store_unlink_blob(struct image_store *s, const char *digest)
{
	char hex[65];
	struct hy_error e;
	if (digest_parse(digest, hex, &e))
		return -EINVAL;
	return unlinkat(s->blobsfd, hex, 0) < 0 ? -errno : 0;
}
