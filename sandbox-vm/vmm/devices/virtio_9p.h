/* virtio-9p internals shared with its unit test (the constructor is in virtio.h). */
#ifndef HYRUN_DEVICES_VIRTIO_9P_H
#define HYRUN_DEVICES_VIRTIO_9P_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox-vm/vmm/devices/dev_io.h"

#define VIRTIO_9P_TAG_MAX 255

struct p9_server;

/* Serves one chain: the T-message gathered from its readable segments (at most buf_size bytes
 * into req), the R-message built in resp and scattered into its writable segments. Returns the
 * bytes written to the chain. */
uint32_t virtio_9p_handle_chain(struct p9_server *server, const struct virtq_chain *chain,
				uint8_t *req, uint8_t *resp, size_t buf_size);

#endif
