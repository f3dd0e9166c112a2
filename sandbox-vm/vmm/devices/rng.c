/* virtio-rng (virtio 1.2 section 5.4): every device-writable buffer is filled from getrandom(). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

#include "sandbox-vm/vmm/devices/dev_io.h"
#include "sandbox-vm/vmm/devices/rng.h"

struct rng {
	struct dev_io io; /* first: see dev_io.h */
	struct virtio_dev_ops ops;
	pthread_mutex_t lock;
};

uint32_t virtio_rng_fill(const struct virtq_chain *c)
{
	/* Cap each request: the guest asks again, and a huge buffer must not stall the loop. */
	size_t want = c->in_len < RNG_MAX_PER_REQUEST ? c->in_len : RNG_MAX_PER_REQUEST;
	size_t done = 0;
	for (unsigned i = 0; i < c->n_in && done < want; i++) {
		size_t len = c->in[i].iov_len;
		if (len > want - done)
			len = want - done;
		size_t off = 0;
		while (off < len) {
			ssize_t r = getrandom((char *)c->in[i].iov_base + off, len - off, GRND_NONBLOCK);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return (uint32_t)done; /* pool not ready: give what we have */
			}
			off += (size_t)r;
			done += (size_t)r;
		}
	}
	return (uint32_t)done;
}

static void rng_notify(struct virtio_dev *dev, unsigned q)
{
	struct rng *g = dev->priv;
	struct virtq_chain chain;
	struct hy_error err;
	bool pushed = false;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		int r = g->io.ops->pop(g->io.ctx, dev, q, &chain, &err);
		if (r < 0) {
			g->io.ops->set_broken(g->io.ctx, dev, err.msg);
			break;
		}
		if (r == 0)
			break;
		g->io.ops->push(g->io.ctx, dev, q, chain.head, virtio_rng_fill(&chain));
		pushed = true;
	}
	if (pushed)
		g->io.ops->notify(g->io.ctx, dev, q);
	pthread_mutex_unlock(&g->lock);
}

static void rng_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
}

static void rng_config_write(struct virtio_dev *dev, uint32_t offset, const void *data, uint32_t len)
{
}

static int rng_activate(struct virtio_dev *dev, struct hy_error *err)
{
	return 0;
}

static void rng_reset(struct virtio_dev *dev)
{
}

static void rng_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct rng *g = dev->priv;
	if (g) {
		pthread_mutex_destroy(&g->lock);
		free(g);
	}
	free(dev);
}

int virtio_rng_create(struct virtio_dev **out, struct hy_error *err)
{
	*out = NULL;
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct rng *g = calloc(1, sizeof(*g));
	if (!dev || !g) {
		free(dev);
		free(g);
		return hy_error_set(err, ENOMEM, "virtio-rng: out of memory");
	}
	g->io.ops = &dev_io_default;
	pthread_mutex_init(&g->lock, NULL);
	g->ops = (struct virtio_dev_ops){
		.name = "virtio-rng",
		.device_id = VIRTIO_ID_RNG,
		.num_queues = 1,
		.queue_max_size = 256,
		.config_size = 0,
		.config_read = rng_config_read,
		.config_write = rng_config_write,
		.activate = rng_activate,
		.queue_notify = rng_notify,
		.reset = rng_reset,
		.destroy = rng_destroy,
	};
	dev->priv = g;
	dev->ops = &g->ops;
	*out = dev;
	return 0;
}
