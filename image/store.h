/* The image store's internals, shared by the files of image/ (not by other parts). */
#ifndef HYRUN_IMAGE_STORE_H
#define HYRUN_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "image/image.h"
#include "runtime/error.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANNOT_REF_NAME "org.opencontainers.image.ref.name"

/* Manifests, indexes and configs are small; anything larger is refused before parsing. */
#define IMAGE_JSON_MAX (4u << 20)
/* Copy buffer for blob I/O: on the heap, never thread-local, so VMM threads stay small. */
#define IMAGE_IO_CHUNK (1u << 17)

/* --- digest.c --- */
/* "sha256:<64 lowercase hex>" only; hex_out (65 bytes) gets the hex part. */
int digest_parse(const char *digest, char hex_out[65], struct hy_error *err);
/* sha256 of a buffer as "sha256:<hex>" (72 bytes incl. NUL). -1 (out "") when libcrypto cannot
 * be loaded: crypto_lib_load(err) (image/archive_lib.h) then says why. */
int digest_of_buf(const void *buf, size_t len, char out[72]);
/* Incremental sha256: begin, add any number of times, then end (result, releases) or discard
 * (error paths; also harmless after end). */
struct digest_stream {
	void *ctx; /* libcrypto's EVP_MD_CTX */
};
int digest_stream_begin(struct digest_stream *s, struct hy_error *err);
void digest_stream_add(struct digest_stream *s, const void *buf, size_t len);
void digest_stream_end(struct digest_stream *s, char out[72]);
void digest_stream_discard(struct digest_stream *s);
/* Reads fd from its current offset to EOF: returns the digest and byte count. */
int digest_of_fd(int fd, char out[72], uint64_t *size, struct hy_error *err);

/* --- store.c --- */
struct image_store {
	char *root;
	int rootfd;
	int blobsfd; /* blobs/sha256 */
	int lockfd;
};
/* Creates the layout on first use. exclusive: writer lock, else shared. */
int store_open(const char *root, bool exclusive, struct image_store *s, struct hy_error *err);
void store_close(struct image_store *s);

bool store_has_blob(struct image_store *s, const char *digest);
/* Copies fd (from its offset, to EOF) into the store. When want_digest is non-NULL the content must
 * hash to it and have want_size bytes (want_size < 0: any); else *got (72 bytes) gets the digest.
 * *added is set when the blob was not in the store before. */
int store_put_fd(struct image_store *s, int fd, const char *want_digest, int64_t want_size,
		 char *got, bool *added, struct hy_error *err);
int store_put_buf(struct image_store *s, const void *buf, size_t len, char out[72], bool *added,
		  struct hy_error *err);
/* Opens a blob after verifying its size and digest (the fd is rewound to 0). */
int store_open_blob(struct image_store *s, const char *digest, uint64_t size, int *fd_out,
		    struct hy_error *err);
/* Opens without hashing (size still checked); the caller hashes while it reads. */
int store_open_blob_unverified(struct image_store *s, const char *digest, uint64_t size,
			       int *fd_out, struct hy_error *err);
/* Reads a small verified blob (at most IMAGE_JSON_MAX) into a NUL-terminated buffer. */
int store_read_blob(struct image_store *s, const char *digest, uint64_t size, char **buf,
		    size_t *len, struct hy_error *err);
int store_unlink_blob(struct image_store *s, const char *digest);

struct store_ref {
	char *name;
	char digest[72];
	uint64_t size;
	char *media_type;
};
struct store_index {
	struct store_ref *refs;
	size_t n;
};
int store_index_load(struct image_store *s, struct store_index *idx, struct hy_error *err);
int store_index_save(struct image_store *s, const struct store_index *idx, struct hy_error *err);
void store_index_free(struct store_index *idx);
/* NAME, NAME:TAG, sha256:<hex> or a unique hex prefix (>= 6 digits) of a manifest digest. */
struct store_ref *store_index_find(struct store_index *idx, const char *name);
/* Adds or replaces NAME -> digest. */
int store_index_set(struct store_index *idx, const char *name, const char *digest, uint64_t size,
		    const char *media_type, struct hy_error *err);
/* Removes every blob not reachable from the index. */
int store_gc(struct image_store *s, const struct store_index *idx, struct hy_error *err);
/* "busybox" -> "busybox:latest" (heap). NULL on a bad name. */
char *store_normalize_name(const char *name, struct hy_error *err);

/* Writes data to dirfd/name atomically (temp, fsync, rename, fsync dir). */
int write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
		      struct hy_error *err);

/* --- manifest.c --- */
struct image_desc {
	char *media_type;
	char digest[72];
	uint64_t size;
};
struct image_manifest {
	struct image_desc config;
	struct image_desc *layers;
	size_t n_layers;
};
int manifest_parse(const char *buf, size_t len, const char *name, struct image_manifest *m,
		   struct hy_error *err);
void manifest_free(struct image_manifest *m);
int desc_parse(yajl_val v, const char *file, const char *path, struct image_desc *d,
	       struct hy_error *err);
/* Loads NAME's manifest (verified). ref_out may be NULL. */
int store_load_manifest(struct image_store *s, const char *name, struct store_ref *ref_out,
			struct image_manifest *m, struct hy_error *err);

/* --- bundle.c --- */
int image_unpack_rootfs(struct image_store *s, const struct image_manifest *m, int rootfd,
			const struct image_limits *lim, struct hy_error *err);

#endif
