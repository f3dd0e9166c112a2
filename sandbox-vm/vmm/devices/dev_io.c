#include "sandbox-vm/vmm/devices/dev_io.h"

static int def_pop(void *ctx, struct virtio_dev *dev, unsigned q, struct virtq_chain *chain,
		   struct hy_error *err)
{
	if (q >= dev->ops->num_queues || !dev->vqs || !dev->vqs[q] || !virtq_is_ready(dev->vqs[q]))
		return 0;
	return virtq_pop(dev->vqs[q], chain, err);
}

static void def_push(void *ctx, struct virtio_dev *dev, unsigned q, uint16_t head, uint32_t written)
{
	virtq_push(dev->vqs[q], head, written);
}

static void def_notify(void *ctx, struct virtio_dev *dev, unsigned q)
{
	virtq_notify_guest(dev->vqs[q]);
}

static int def_watch(void *ctx, struct virtio_dev *dev, int fd, uint32_t events, event_cb cb,
		     void *opaque, struct hy_error *err)
{
	return event_loop_add(dev->loop, fd, events, cb, opaque, err);
}

static int def_rewatch(void *ctx, struct virtio_dev *dev, int fd, uint32_t events,
		       struct hy_error *err)
{
	return event_loop_mod(dev->loop, fd, events, err);
}

static void def_unwatch(void *ctx, struct virtio_dev *dev, int fd)
{
	event_loop_del(dev->loop, fd);
}

static void def_set_broken(void *ctx, struct virtio_dev *dev, const char *why)
{
	virtio_dev_set_broken(dev, why);
}

const struct dev_io_ops dev_io_default = {
	.pop = def_pop,
	.push = def_push,
	.notify = def_notify,
	.watch = def_watch,
	.rewatch = def_rewatch,
	.unwatch = def_unwatch,
	.set_broken = def_set_broken,
};

unsigned dev_iov_slice(const struct iovec *iov, unsigned n, size_t offset, size_t len,
		       struct iovec *out, unsigned max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len > 0 && k < max; i++) {
		size_t seg = iov[i].iov_len;
		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		size_t take = seg - offset;
		if (take > len)
			take = len;
		out[k].iov_base = (char *)iov[i].iov_base + offset;
		out[k].iov_len = take;
		k++;
		len -= take;
		offset = 0;
	}
	return k;
}

size_t dev_iov_len(const struct iovec *iov, unsigned n)
{
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}
