/* The contract between the virtio-mmio transport (virtio_mmio.c, virtqueue.c) and the devices
 * (devices/<name>.c). A device is an ops table plus private state; the transport owns feature
 * negotiation, queue set-up, notifications (ioeventfd) and interrupts (irqfd).
 * Everything the guest puts in a queue is hostile: virtq_pop() validates every descriptor
 * (index, length, address against guest memory, loops, chain length) before a device sees it. */
#ifndef HYRUN_VIRTIO_H
#define HYRUN_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "runtime/error.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_9P 9
#define VIRTIO_ID_VSOCK 19

#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define VIRTQ_MAX_SEGS 256

struct guest_mem;  /* sandbox-vm/vmm/memory.h */
struct event_loop; /* sandbox-vm/vmm/event_loop.h */
struct virtq;
struct virtio_dev;

/* Translates [gpa, gpa+len) to a host pointer; NULL when any byte is outside guest RAM. */
void *guest_mem_ptr(struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* One validated descriptor chain: device-readable segments first (out), then device-writable (in). */
struct virtq_chain {
	uint16_t head;
	unsigned n_out, n_in;
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
	size_t out_len, in_len; /* byte totals */
};

/* 1 = a chain was taken, 0 = queue empty, <0 = malformed queue (err says why; the transport then
 * marks the device DEVICE_NEEDS_RESET). */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain, struct hy_error *err);
/* Returns the chain to the guest with `written` bytes written into its in-segments. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);
/* Raises the queue's interrupt if the guest wants one (honours VIRTQ_AVAIL_F_NO_INTERRUPT). */
void virtq_notify_guest(struct virtq *vq);
bool virtq_is_ready(const struct virtq *vq);

/* Helpers for devices reading/writing a chain's segments as one byte stream. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len);

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features;     /* offered device features (VERSION_1 is added by the transport) */
	unsigned num_queues;
	uint16_t queue_max_size;
	uint32_t config_size;
	/* Device config space; offsets/lengths are already range-checked against config_size. */
	void (*config_read)(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(struct virtio_dev *dev, uint32_t offset, const void *data, uint32_t len);
	/* DRIVER_OK: queues are set up; start background I/O (fds into the event loop). */
	int (*activate)(struct virtio_dev *dev, struct hy_error *err);
	/* The guest kicked queue q. Runs on the event-loop thread, never on a vCPU thread. */
	void (*queue_notify)(struct virtio_dev *dev, unsigned q);
	/* Driver reset: drop in-flight state; queues are reset by the transport. */
	void (*reset)(struct virtio_dev *dev);
	void (*destroy)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;
	struct guest_mem *mem;
	struct event_loop *loop;
	struct virtq **vqs; /* num_queues entries, owned by the transport */
	uint64_t driver_features;
	void *transport; /* the virtio-mmio state */
};

/* Event loop (one epoll thread for all devices). Callbacks run on that thread. */
typedef void (*event_cb)(void *opaque, uint32_t epoll_events);
int event_loop_add(struct event_loop *loop, int fd, uint32_t epoll_events, event_cb cb,
		   void *opaque, struct hy_error *err);
int event_loop_mod(struct event_loop *loop, int fd, uint32_t epoll_events, struct hy_error *err);
void event_loop_del(struct event_loop *loop, int fd);

/* Marks the device broken (DEVICE_NEEDS_RESET + config interrupt) after a malformed request. */
void virtio_dev_set_broken(struct virtio_dev *dev, const char *why);
/* The device changed its config space (e.g. the balloon target): config-change interrupt once the
 * driver is running. No-op without a transport (unit tests). */
void virtio_dev_config_changed(struct virtio_dev *dev);

/* Device constructors (devices/<name>.c). Each fills *out; the VMM then registers it on the bus. */
struct virtio_blk_params { const char *path; bool readonly; const char *serial; };
int virtio_blk_create(const struct virtio_blk_params *p, struct virtio_dev **out, struct hy_error *err);
/* in_fd < 0: no input; out_fd receives what the guest writes to hvc0. */
int virtio_console_create(int in_fd, int out_fd, struct virtio_dev **out, struct hy_error *err);
int virtio_rng_create(struct virtio_dev **out, struct hy_error *err);
int virtio_vsock_create(uint64_t guest_cid, const char *uds_path, struct virtio_dev **out,
			struct hy_error *err);
int virtio_9p_create(const char *tag, const char *dir, bool readonly, struct virtio_dev **out,
		     struct hy_error *err);

#endif
