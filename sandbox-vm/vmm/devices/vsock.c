/* virtio-vsock device (virtio 1.2 section 5.10): queues rx 0, tx 1, event 2; config = guest_cid.
 * The protocol lives in vsock_tx.c / vsock_rx.c, connections in vsock_conn.c, the host Unix
 * sockets in vsock_host.c. One mutex per device serialises the event-loop callbacks with the
 * transport's activate/reset, which may arrive on a vCPU thread. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/vsock.h"

void vsock_lock(struct vsock *vs)
{
	pthread_mutex_lock(&vs->lock);
}

void vsock_unlock(struct vsock *vs)
{
	pthread_mutex_unlock(&vs->lock);
}

static void tx_process(struct vsock *vs)
{
	struct virtq_chain chain;
	struct hy_error err;
	bool pushed = false;
	for (;;) {
		int r = vs->io.ops->pop(vs->io.ctx, vs->dev, VSOCK_TXQ, &chain, &err);
		if (r < 0) {
			vs->io.ops->set_broken(vs->io.ctx, vs->dev, err.msg);
			break;
		}
		if (r == 0)
			break;
		vsock_handle_tx(vs, &chain);
		vs->io.ops->push(vs->io.ctx, vs->dev, VSOCK_TXQ, chain.head, 0);
		pushed = true;
	}
	if (pushed)
		vs->io.ops->notify(vs->io.ctx, vs->dev, VSOCK_TXQ);
}

static void vsock_notify(struct virtio_dev *dev, unsigned q)
{
	struct vsock *vs = vsock_of(dev);
	vsock_lock(vs);
	if (vs->active) {
		if (q == VSOCK_TXQ)
			tx_process(vs);
		if (q == VSOCK_EVQ)
			vsock_evq_process(vs);
		/* replies to tx packets, or new rx buffers for what was waiting */
		vsock_rx_process(vs);
		vsock_timer_update(vs);
	}
	vsock_unlock(vs);
}

static int vsock_activate(struct virtio_dev *dev, struct hy_error *err)
{
	struct vsock *vs = vsock_of(dev);
	vsock_lock(vs);
	vs->active = true;
	int r = vsock_host_start(vs, err);
	if (r < 0) {
		vs->active = false;
		vsock_host_stop(vs);
	}
	vsock_unlock(vs);
	return r < 0 ? hy_error_prefix(err, "virtio-vsock") : 0;
}

static void stop_locked(struct vsock *vs)
{
	vs->active = false;
	vsock_host_stop(vs);
	vsock_conn_close_all(vs);
	vs->rx_held = false; /* the transport resets the queue it came from */
	vs->evq_reset_pending = false;
}

static void vsock_reset(struct virtio_dev *dev)
{
	struct vsock *vs = vsock_of(dev);
	vsock_lock(vs);
	stop_locked(vs);
	vsock_unlock(vs);
}

void virtio_vsock_transport_reset(struct virtio_dev *dev)
{
	struct vsock *vs = vsock_of(dev);
	vsock_lock(vs);
	if (vs->active) {
		vsock_conn_close_all(vs);
		vs->evq_reset_pending = true;
		vsock_evq_process(vs);
	}
	vsock_unlock(vs);
}

static void vsock_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	memcpy(data, vsock_of(dev)->config + offset, len);
}

static void vsock_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			       uint32_t len)
{
	/* guest_cid is the host's choice */
}

static void vsock_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct vsock *vs = vsock_of(dev);
	if (vs) {
		vsock_lock(vs);
		stop_locked(vs);
		vsock_unlock(vs);
		if (vs->listen_fd >= 0) {
			close(vs->listen_fd);
			unlink(vs->uds_path);
		}
		if (vs->timer_fd >= 0)
			close(vs->timer_fd);
		pthread_mutex_destroy(&vs->lock);
		free(vs);
	}
	free(dev);
}

int virtio_vsock_create(uint64_t guest_cid, const char *uds_path, struct virtio_dev **out,
			struct hy_error *err)
{
	*out = NULL;
	/* 0-2 are reserved (hypervisor, local, host); the top of the u32 range is VMADDR_CID_ANY. */
	if (guest_cid < 3 || guest_cid >= UINT32_MAX)
		return hy_error_set(err, EINVAL, "virtio-vsock: guest CID %llu is out of range 3..%u",
				    (unsigned long long)guest_cid, UINT32_MAX - 1);
	if (!uds_path || !*uds_path)
		return hy_error_set(err, EINVAL, "virtio-vsock: no host socket path");
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct vsock *vs = calloc(1, sizeof(*vs));
	if (!dev || !vs) {
		free(dev);
		free(vs);
		return hy_error_set(err, ENOMEM, "virtio-vsock: out of memory");
	}
	vs->io.ops = &dev_io_default;
	vs->dev = dev;
	vs->guest_cid = guest_cid;
	vs->listen_fd = vs->timer_fd = -1;
	vs->next_local_port = VSOCK_LOCAL_PORT_FIRST;
	pthread_mutex_init(&vs->lock, NULL);
	for (size_t i = 0; i < VSOCK_MAX_CONNS; i++) {
		vs->conns[i].vs = vs;
		vs->conns[i].fd = -1;
	}
	for (size_t i = 0; i < VSOCK_MAX_PENDING; i++) {
		vs->pending[i].vs = vs;
		vs->pending[i].fd = -1;
	}
	uint64_t cid = htole64(guest_cid);
	memcpy(vs->config, &cid, sizeof(cid));
	dev->priv = vs;
	int r = vsock_listen(vs, uds_path, err);
	if (r < 0) {
		if (vs->listen_fd >= 0) {
			close(vs->listen_fd);
			vs->listen_fd = -1; /* the path may be someone else's: do not unlink it */
		}
		vsock_destroy(dev);
		return hy_error_prefix(err, "virtio-vsock");
	}
	vs->ops = (struct virtio_dev_ops){
		.name = "virtio-vsock",
		.device_id = VIRTIO_ID_VSOCK,
		.features = 0, /* stream sockets only: no F_SEQPACKET */
		.num_queues = 3,
		.queue_max_size = 256,
		.config_size = sizeof(vs->config),
		.config_read = vsock_config_read,
		.config_write = vsock_config_write,
		.activate = vsock_activate,
		.queue_notify = vsock_notify,
		.reset = vsock_reset,
		.destroy = vsock_destroy,
	};
	dev->ops = &vs->ops;
	*out = dev;
	return 0;
}
