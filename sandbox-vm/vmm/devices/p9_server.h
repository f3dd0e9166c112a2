/* A 9P2000.L file server exporting one host directory, independent of any transport so that it
 * can be unit-tested and fuzzed without KVM (virtio_9p.c is its only transport).
 *
 * Every request is hostile: sizes, strings, fids and offsets are checked against the message and
 * the negotiated msize; a malformed request gets an Rlerror. Names are resolved one component at a
 * time with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from O_PATH descriptors, so no request
 * can reach a file outside the exported directory or follow a host symlink.
 *
 * The server runs with the VMM's credentials (root) and applies the uid/gid the guest asks for on
 * create, like QEMU's "passthrough" security model. Not thread-safe: one caller at a time. */
#ifndef HYRUN_P9_SERVER_H
#define HYRUN_P9_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

#define P9_MSIZE_MAX (1u << 20)  /* largest msize the server agrees to */
#define P9_MSIZE_MIN 4096u       /* smaller client msizes are refused */
#define P9_HEADER_SIZE 7u        /* size[4] type[1] tag[2] */
#define P9_RLERROR_SIZE 11u      /* the smallest buffer a response may need */

struct p9_server_config {
	const char *root;       /* exported directory */
	bool readonly;          /* every modifying request fails with EROFS */
	uint32_t max_fids;      /* 0 = default (P9_DEFAULT_MAX_FIDS) */
	uint64_t max_creates;   /* 0 = unlimited; else creations beyond it fail with ENOSPC */
	uint64_t max_file_size; /* 0 = unlimited; else writes/truncates beyond it fail with EFBIG */
};

#define P9_DEFAULT_MAX_FIDS 32768u

struct p9_server;

int p9_server_create(const struct p9_server_config *cfg, struct p9_server **out,
		     struct hy_error *err);
void p9_server_destroy(struct p9_server *s);

/* Handles one T-message and writes the R-message (an Rlerror when the request fails or is
 * malformed) into resp. Returns 0 with *resp_len set, or -ENOBUFS when resp_cap cannot hold even
 * an Rlerror (nothing is written then). */
int p9_server_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *resp,
		     size_t resp_cap, size_t *resp_len);

/* Forgets the session (every fid, the msize), as a transport reset does. */
void p9_server_reset(struct p9_server *s);

/* The msize agreed in the last Tversion (0 before one); transports size their buffers with it. */
uint32_t p9_server_msize(const struct p9_server *s);

#endif
