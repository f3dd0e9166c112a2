/* virtio-9p (virtio 1.2 section 5.10 is silent on it; the Linux 9pnet_virtio driver and QEMU
 * define it): config space = tag_len[2 LE] + tag, feature bit 0 = MOUNT_TAG, one request queue.
 * Each chain carries one T-message in its device-readable segments and room for the R-message
 * in its writable ones; both are treated as byte streams, which also covers the Linux driver's
 * zero-copy layout (header buffer followed by user pages). Requests run on the event-loop
 * thread, one at a time. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox-vm/vmm/devices/dev_io.h"
#include "sandbox-vm/vmm/devices/p9_server.h"
#include "sandbox-vm/vmm/devices/virtio_9p.h"

#define VIRTIO_9P_MOUNT_TAG (1ULL << 0)

struct v9p {
	struct dev_io io; /* first: see dev_io.h */
	struct virtio_dev_ops ops;
	pthread_mutex_t lock;
	struct p9_server *server;
	uint8_t config[2 + VIRTIO_9P_TAG_MAX];
	uint32_t config_size;
	uint8_t *req, *resp; /* sized to the negotiated msize, grown on demand */
	size_t buf_size;
};

static size_t gather(const struct iovec *iov, unsigned n, uint8_t *buf, size_t cap)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < cap; i++) {
		size_t len = iov[i].iov_len < cap - done ? iov[i].iov_len : cap - done;
		memcpy(buf + done, iov[i].iov_base, len);
		done += len;
	}
	return done;
}

static size_t scatter(const struct iovec *iov, unsigned n, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		size_t take = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy(iov[i].iov_base, buf + done, take);
		done += take;
	}
	return done;
}

/* After Tversion the buffers follow msize, so that a small session costs little memory. */
static void fit_buffers(struct v9p *v)
{
	size_t want = p9_server_msize(v->server);
	if (want < P9_MSIZE_MIN)
		want = P9_MSIZE_MIN;
	if (want <= v->buf_size)
		return;
	uint8_t *req = malloc(want), *resp = malloc(want);
	if (!req || !resp) {
		free(req);
		free(resp);
		return; /* keep the old ones: larger requests then fail with an Rlerror */
	}
	free(v->req);
	free(v->resp);
	v->req = req;
	v->resp = resp;
	v->buf_size = want;
}

uint32_t virtio_9p_handle_chain(struct p9_server *server, const struct virtq_chain *c,
				uint8_t *req, uint8_t *resp, size_t buf_size)
{
	size_t req_len = gather(c->out, c->n_out, req, buf_size);
	size_t cap = c->in_len < buf_size ? c->in_len : buf_size;
	size_t resp_len;
	if (p9_server_handle(server, req, req_len, resp, cap, &resp_len) < 0)
		return 0; /* no room for even an Rlerror: the chain goes back empty */
	return (uint32_t)scatter(c->in, c->n_in, resp, resp_len);
}

static void v9p_notify(struct virtio_dev *dev, unsigned q)
{
	struct v9p *v = dev->priv;
	struct virtq_chain chain;
	struct hy_error err;
	bool pushed = false;
	pthread_mutex_lock(&v->lock);
	for (;;) {
		int r = v->io.ops->pop(v->io.ctx, dev, q, &chain, &err);
		if (r < 0) {
			v->io.ops->set_broken(v->io.ctx, dev, err.msg);
			break;
		}
		if (r == 0)
			break;
		uint32_t written = virtio_9p_handle_chain(v->server, &chain, v->req, v->resp,
							  v->buf_size);
		v->io.ops->push(v->io.ctx, dev, q, chain.head, written);
		pushed = true;
		fit_buffers(v);
	}
	if (pushed)
		v->io.ops->notify(v->io.ctx, dev, q);
	pthread_mutex_unlock(&v->lock);
}

static void v9p_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct v9p *v = dev->priv;
	/* The transport checked the range against config_size; checked again, cheaply. */
	if (offset <= v->config_size && len <= v->config_size - offset)
		memcpy(data, v->config + offset, len);
}

static void v9p_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len)
{
	/* read-only config */
}

static int v9p_activate(struct virtio_dev *dev, struct hy_error *err)
{
	return 0;
}

static void v9p_reset(struct virtio_dev *dev)
{
	struct v9p *v = dev->priv;
	pthread_mutex_lock(&v->lock);
	p9_server_reset(v->server);
	pthread_mutex_unlock(&v->lock);
}

static void v9p_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct v9p *v = dev->priv;
	if (v) {
		p9_server_destroy(v->server);
		free(v->req);
		free(v->resp);
		pthread_mutex_destroy(&v->lock);
		free(v);
	}
	free(dev);
}

int virtio_9p_create(const char *tag, const char *dir, bool readonly, struct virtio_dev **out,
		     struct hy_error *err)
{
	*out = NULL;
	size_t tag_len = tag ? strlen(tag) : 0;
	if (tag_len == 0 || tag_len > VIRTIO_9P_TAG_MAX)
		return hy_error_set(err, EINVAL, "virtio-9p: mount tag must be 1 to %d bytes",
				    VIRTIO_9P_TAG_MAX);
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct v9p *v = calloc(1, sizeof(*v));
	if (!dev || !v) {
		free(dev);
		free(v);
		return hy_error_set(err, ENOMEM, "virtio-9p: out of memory");
	}
	struct p9_server_config cfg = { .root = dir, .readonly = readonly };
	int rc = p9_server_create(&cfg, &v->server, err);
	if (rc == 0) {
		v->buf_size = P9_MSIZE_MIN;
		v->req = malloc(v->buf_size);
		v->resp = malloc(v->buf_size);
		if (!v->req || !v->resp)
			rc = hy_error_set(err, ENOMEM, "virtio-9p: out of memory");
	}
	if (rc < 0) {
		p9_server_destroy(v->server);
		free(v->req);
		free(v->resp);
		free(v);
		free(dev);
		return rc;
	}
	v->config[0] = (uint8_t)tag_len;
	v->config[1] = (uint8_t)(tag_len >> 8);
	memcpy(v->config + 2, tag, tag_len);
	v->config_size = (uint32_t)(2 + tag_len);
	v->io.ops = &dev_io_default;
	pthread_mutex_init(&v->lock, NULL);
	v->ops = (struct virtio_dev_ops){
		.name = "virtio-9p",
		.device_id = VIRTIO_ID_9P,
		.features = VIRTIO_9P_MOUNT_TAG,
		.num_queues = 1,
		.queue_max_size = 256,
		.config_size = v->config_size,
		.config_read = v9p_config_read,
		.config_write = v9p_config_write,
		.activate = v9p_activate,
		.queue_notify = v9p_notify,
		.reset = v9p_reset,
		.destroy = v9p_destroy,
	};
	dev->priv = v;
	dev->ops = &v->ops;
	*out = dev;
	return 0;
}
