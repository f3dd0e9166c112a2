/* image: hyrun's OCI image store and the bundle maker (the part's public interface).
 *
 * The store is an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>) whose index.json
 * names each image with the annotation org.opencontainers.image.ref.name = "NAME:TAG". Every blob
 * is checked against its digest and size when it enters the store and again when it is used, because
 * every byte of an image is treated as hostile. Writers hold an exclusive flock on <root>/.lock,
 * readers a shared one, so concurrent hyrun invocations see whole images only. */
#ifndef HYRUN_IMAGE_H
#define HYRUN_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

#define IMAGE_DEFAULT_ROOT "/var/lib/hyrun/images"

/* Limits against decompression bombs; 0 means the default. The CLI reads them from
 * HYRUN_IMAGE_MAX_BYTES / HYRUN_IMAGE_MAX_ENTRIES. */
#define IMAGE_DEFAULT_MAX_BYTES (64ULL << 30)
#define IMAGE_DEFAULT_MAX_ENTRIES (4ULL << 20)

struct image_limits {
	uint64_t max_bytes;   /* total uncompressed bytes over all layers */
	uint64_t max_entries; /* total tar entries over all layers */
	bool no_devices;      /* refuse character and block device nodes */
};

struct image_import_opts {
	const char *name;     /* NAME[:TAG]; NULL = the name the source carries */
	const char *platform; /* "os/arch[/variant]"; NULL = linux/amd64 */
	struct image_limits limits; /* for archives */
};

/* Imports an OCI layout directory, an OCI archive or a docker-archive. *ref_out (may be NULL)
 * receives "NAME:TAG@sha256:..." (free it). */
int image_import(const char *root, const char *path, const struct image_import_opts *o,
		 char **ref_out, struct hy_error *err);

struct image_info {
	char *name;   /* NAME:TAG */
	char *digest; /* manifest digest */
	uint64_t size; /* manifest + config + layers, as stored */
	char *created; /* from the image config, may be NULL */
	char *platform; /* os/arch */
};
int image_list(const char *root, struct image_info **out, size_t *n, struct hy_error *err);
void image_info_free(struct image_info *v, size_t n);

/* {"name":..., "digest":..., "manifest":{...}, "config":{...}} */
int image_inspect(const char *root, const char *name, char **json_out, struct hy_error *err);
/* Removes the name, then every blob no name references any more. */
int image_remove(const char *root, const char *name, struct hy_error *err);
/* Writes an OCI archive (tar of an image layout holding just this image). */
int image_export(const char *root, const char *name, const char *path, struct hy_error *err);

struct image_unpack_opts {
	const char *isolation; /* NULL, "container" or "vm" (sets org.hyrun.isolation) */
	struct image_limits limits;
	/* A root filesystem image from image_disk: copied into the bundle as rootfs.<kind> and
	 * named by the annotation org.hyrun.vm.root_disk. NULL = none. */
	const char *root_disk;
};
/* Makes BUNDLE (created if absent, must not hold rootfs/ or config.json yet): rootfs/ from the
 * layers and config.json from the image config over the default spec. Used by `image unpack`
 * and by `run --image`. */
int image_unpack_to_bundle(const char *root, const char *name, const char *bundle,
			   const struct image_unpack_opts *o, struct hy_error *err);

/* For `run --image`: the bundle directory kept for container ID, <root>/bundles/<id> (the
 * directory is not created; image_unpack_to_bundle does that). *out: free it. */
int image_bundle_path(const char *root, const char *id, char **out, struct hy_error *err);
/* Removes that bundle (after the container is deleted). 0 or -errno; a missing one is fine. */
int image_bundle_remove(const char *root, const char *id);

/* Builds (or finds in the cache <root>/disks/) a root filesystem image of kind "erofs" or "ext4"
 * for NAME, keyed by the manifest digest. *path_out is the image file (free it). */
int image_disk(const char *root, const char *name, const char *kind,
	       const struct image_limits *limits, char **path_out, struct hy_error *err);

#endif
