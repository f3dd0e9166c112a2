/* The devices' only path to the transport and the event loop. Every device calls the virtqueue
 * and event-loop functions through one of these tables so that unit tests and fuzzers can drive a
 * device with in-memory queues and no KVM, while the VMM uses dev_io_default (virtio.h). */
#ifndef HYRUN_DEV_IO_H
#define HYRUN_DEV_IO_H

#include "sandbox-vm/vmm/virtio.h"

struct dev_io_ops {
	int (*pop)(void *ctx, struct virtio_dev *dev, unsigned q, struct virtq_chain *chain,
		   struct hy_error *err);
	void (*push)(void *ctx, struct virtio_dev *dev, unsigned q, uint16_t head, uint32_t written);
	void (*notify)(void *ctx, struct virtio_dev *dev, unsigned q);
	int (*watch)(void *ctx, struct virtio_dev *dev, int fd, uint32_t events, event_cb cb,
		     void *opaque, struct hy_error *err);
	int (*rewatch)(void *ctx, struct virtio_dev *dev, int fd, uint32_t events,
		       struct hy_error *err);
	void (*unwatch)(void *ctx, struct virtio_dev *dev, int fd);
	void (*set_broken)(void *ctx, struct virtio_dev *dev, const char *why);
};

/* virtq_*() on dev->vqs[q], event_loop_*() on dev->loop, virtio_dev_set_broken(). */
extern const struct dev_io_ops dev_io_default;

/* Every device's priv struct starts with a struct dev_io (see each devices/ file), so that tests can swap the
 * table of any device with dev_io_set() before activating it. */
struct dev_io {
	const struct dev_io_ops *ops;
	void *ctx;
};

static inline struct dev_io *dev_io_of(struct virtio_dev *dev)
{
	return (struct dev_io *)dev->priv;
}

static inline void dev_io_set(struct virtio_dev *dev, const struct dev_io_ops *ops, void *ctx)
{
	dev_io_of(dev)->ops = ops;
	dev_io_of(dev)->ctx = ctx;
}

/* Fills out[] with the segments covering bytes [offset, offset+len) of iov[0..n); returns how many
 * segments were written (at most max). Shorter when iov holds fewer bytes. */
unsigned dev_iov_slice(const struct iovec *iov, unsigned n, size_t offset, size_t len,
		       struct iovec *out, unsigned max);

/* Total bytes described by a slice made by dev_iov_slice. */
size_t dev_iov_len(const struct iovec *iov, unsigned n);

#endif
