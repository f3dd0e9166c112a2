/* Applying one layer tar (plain, gzip or zstd) onto a rootfs directory, as a hostile input. */
#ifndef HYRUN_IMAGE_LAYER_H
#define HYRUN_IMAGE_LAYER_H

#include <stdint.h>
#include <time.h>

#include "image/image.h"
#include "runtime/error.h"

struct layer_dir_time {
	char *path;
	struct timespec mtime;
};

struct layer_ctx {
	int rootfd;                       /* the rootfs directory */
	struct image_limits limits;       /* 0 fields = defaults */
	uint64_t bytes, entries;          /* running totals over all layers */
	/* The last parent directory opened: entries come grouped by directory. */
	char *cached_parent;
	int cached_fd;
	/* Paths (and their ancestors) this layer created: an opaque whiteout removes the rest. */
	char **seen;
	size_t n_seen, cap_seen;
	/* Directory mtimes are set after the last layer, when no more children change them. */
	struct layer_dir_time *dirs;
	size_t n_dirs, cap_dirs;
};

void layer_ctx_init(struct layer_ctx *c, int rootfd, const struct image_limits *lim);
/* Reads the whole blob from fd, applying entries, and checks that the bytes read hash to
 * digest and number size (the blob is verified while it is unpacked, in one pass). */
int layer_apply(struct layer_ctx *c, int fd, const char *digest, uint64_t size,
		struct hy_error *err);
/* Sets the deferred directory mtimes. */
void layer_finish(struct layer_ctx *c);
void layer_ctx_free(struct layer_ctx *c);

#endif
