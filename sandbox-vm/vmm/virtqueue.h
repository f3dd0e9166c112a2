/* Split virtqueues (virtio 1.2 section 2.7): the device side. virtq_pop/push/notify_guest are
 * declared in virtio.h; this header is for the transport and for tests. */
#ifndef HYRUN_VMM_VIRTQUEUE_H
#define HYRUN_VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"
#include "sandbox-vm/vmm/virtio.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_MAX_INDIRECT 1024 /* descriptors in one indirect table */
#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	struct guest_mem *mem;
	unsigned index;
	uint16_t max_size;
	/* Set by the driver through the transport while the queue is not ready. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	bool broken;
	bool indirect_ok; /* VIRTIO_F_INDIRECT_DESC negotiated */
	/* Device-side ring state. */
	uint16_t last_avail;
	uint16_t used_idx;
	struct virtq_desc *desc;
	uint16_t *avail; /* flags, idx, ring[size], used_event */
	uint8_t *used;   /* flags, idx, ring[size] of {id, len}, avail_event */
	/* Transport hooks. */
	void (*interrupt)(void *opaque, struct virtq *vq);
	void (*on_broken)(void *opaque, const char *why);
	void *opaque;
};

void virtq_init(struct virtq *vq, struct guest_mem *mem, unsigned index, uint16_t max_size);
/* QueueReady = 1: checks size (power of two <= max) and that the three areas are aligned and
 * inside guest memory; then the queue can be used. */
int virtq_enable(struct virtq *vq, struct hy_error *err);
/* Back to the power-on state (size = max, addresses 0, not ready). */
void virtq_reset(struct virtq *vq);

#endif
