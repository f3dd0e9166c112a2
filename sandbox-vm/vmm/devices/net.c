/* virtio-net over a tap (see net.h). Both directions run on the event-loop thread and never block:
 * - tx: each chain the guest queues is one frame, written to the tap with one writev; its header
 *   is checked against the negotiated offloads first (the tap's kernel side validates the rest);
 *   chains that cannot be a frame are returned unsent and counted.
 * - rx: when the tap is readable, one frame is read straight into the next rx chain. With no rx
 *   buffer posted, the tap leaves the poll set until the guest posts some (its rx kick), so frames
 *   wait in the tap's queue (which drops, and counts, past txqueuelen) instead of spinning here.
 * One mutex serialises the event-loop callbacks with activate/reset, which arrive on a vCPU. */
#include "sandbox-vm/vmm/devices/net.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#define ETH_HEADER 14u

struct net {
	struct dev_io io; /* first: see dev_io.h */
	struct virtio_dev *dev;
	int fd;
	bool active;
	bool watched;  /* fd is in the event loop */
	bool polling;  /* ... with EPOLLIN (off while the guest has no rx buffer) */
	bool tap_gone; /* the tap failed for good (deleted): stop polling it */
	bool rx_held;  /* rx holds a popped chain not yet filled */
	bool debug;
	struct virtq_chain rx;
	struct virtio_net_stats stats;
	char name[IFNAMSIZ];
	uint8_t config[NET_CONFIG_SIZE];
	struct virtio_dev_ops ops;
	pthread_mutex_t lock;
};

static void tap_ready(void *opaque, uint32_t events);

static void set_polling(struct net *n, bool on)
{
	if (!n->watched || n->polling == on)
		return;
	struct hy_error err;
	if (n->io.ops->rewatch(n->io.ctx, n->dev, n->fd, on ? EPOLLIN : 0, &err) == 0)
		n->polling = on;
}

static void unwatch(struct net *n)
{
	if (n->watched)
		n->io.ops->unwatch(n->io.ctx, n->dev, n->fd);
	n->watched = n->polling = false;
}

static void tap_failed(struct net *n, int e)
{
	if (!n->tap_gone)
		fprintf(stderr,
			"hyrun: virtio-net %s: tap read failed (%s); guest receive stopped\n",
			n->name, strerror(e));
	n->tap_gone = true;
	unwatch(n);
}

/* Reads frames into posted rx chains until the tap is empty, the guest has no buffer left, or
 * the budget is spent (level-triggered polling brings us back). */
static void rx_process(struct net *n)
{
	struct hy_error err;
	bool pushed = false;
	for (unsigned budget = NET_RX_BUDGET; budget > 0 && !n->tap_gone; budget--) {
		if (!n->rx_held) {
			int r = n->io.ops->pop(n->io.ctx, n->dev, NET_RXQ, &n->rx, &err);
			if (r < 0) {
				n->io.ops->set_broken(n->io.ctx, n->dev, err.msg);
				break;
			}
			if (r == 0) {
				if (n->polling)
					n->stats.rx_stalls++;
				set_polling(n, false); /* back on at the guest's next rx kick */
				break;
			}
			if (n->rx.in_len < NET_HDR_SIZE) {
				/* No room for even the header: give it back empty. */
				n->io.ops->push(n->io.ctx, n->dev, NET_RXQ, n->rx.head, 0);
				n->stats.rx_errors++;
				pushed = true;
				continue;
			}
			n->rx_held = true;
		}
		set_polling(n, true);
		ssize_t r = readv(n->fd, n->rx.in, (int)n->rx.n_in);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0 && errno != EFAULT && errno != EINVAL && errno != EMSGSIZE) {
			tap_failed(n, errno);
			break;
		}
		/* A tap reports a frame longer than the buffer with its full length after
		 * copying what fit (or fails with EFAULT); either way the frame is lost, and so
		 * is a runt. The chain stays ours for the next frame. */
		if (r < (ssize_t)(NET_HDR_SIZE + ETH_HEADER) || (size_t)r > n->rx.in_len) {
			n->stats.rx_errors++;
			continue;
		}
		/* The tap leaves num_buffers alone; without MRG_RXBUF it must read 1. */
		uint16_t one = htole16(1);
		iov_from_buf(n->rx.in, n->rx.n_in, NET_HDR_NUM_BUFFERS_OFF, &one, sizeof(one));
		n->io.ops->push(n->io.ctx, n->dev, NET_RXQ, n->rx.head, (uint32_t)r);
		n->rx_held = false;
		n->stats.rx_frames++;
		n->stats.rx_bytes += (uint64_t)r - NET_HDR_SIZE;
		pushed = true;
	}
	if (pushed)
		n->io.ops->notify(n->io.ctx, n->dev, NET_RXQ);
}

/* The guest's header may only ask for the work it negotiated: checksum completion with CSUM,
 * segmentation with HOST_TSO4/6 (no ECN, no UDP). Without CSUM the header is zeroed, whatever
 * it said. The copy in hdr is what the tap gets: the guest cannot change it after the check. */
static bool tx_header_ok(uint64_t features, uint8_t hdr[NET_HDR_SIZE])
{
	hdr[NET_HDR_NUM_BUFFERS_OFF] = hdr[NET_HDR_NUM_BUFFERS_OFF + 1] = 0; /* rx only */
	if (!(features & NET_F_CSUM)) {
		memset(hdr, 0, NET_HDR_SIZE);
		return true;
	}
	uint8_t flags = hdr[0], gso = hdr[1];
	if (flags & ~NET_HDR_F_NEEDS_CSUM)
		return false;
	switch (gso) {
	case NET_HDR_GSO_NONE:
		return true;
	case NET_HDR_GSO_TCPV4:
		return (features & NET_F_HOST_TSO4) && (flags & NET_HDR_F_NEEDS_CSUM);
	case NET_HDR_GSO_TCPV6:
		return (features & NET_F_HOST_TSO6) && (flags & NET_HDR_F_NEEDS_CSUM);
	default:
		return false;
	}
}

/* One tx chain = one frame. Only its device-readable part counts; anything writable is ignored. */
static void tx_frame(struct net *n, const struct virtq_chain *c)
{
	if (c->out_len < NET_HDR_SIZE + ETH_HEADER || c->out_len > NET_MAX_CHAIN) {
		n->stats.tx_dropped++;
		return;
	}
	uint8_t hdr[NET_HDR_SIZE];
	iov_to_buf(c->out, c->n_out, 0, hdr, sizeof(hdr));
	if (!tx_header_ok(n->dev->driver_features, hdr)) {
		n->stats.tx_dropped++;
		return;
	}
	struct iovec iov[VIRTQ_MAX_SEGS + 1];
	iov[0] = (struct iovec){hdr, NET_HDR_SIZE};
	size_t frame = c->out_len - NET_HDR_SIZE;
	unsigned k = dev_iov_slice(c->out, c->n_out, NET_HDR_SIZE, frame, iov + 1, VIRTQ_MAX_SEGS);
	ssize_t r;
	do
		r = writev(n->fd, iov, (int)k + 1);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		/* EAGAIN: the tap's socket buffer is full; EIO: the tap is down. Either way the
		 * frame is lost, as on a real wire. */
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			n->stats.tx_dropped++;
		else
			n->stats.tx_errors++;
		return;
	}
	n->stats.tx_frames++;
	n->stats.tx_bytes += frame;
}

static void tx_process(struct net *n)
{
	struct virtq_chain chain;
	struct hy_error err;
	bool pushed = false;
	for (;;) {
		int r = n->io.ops->pop(n->io.ctx, n->dev, NET_TXQ, &chain, &err);
		if (r < 0) {
			n->io.ops->set_broken(n->io.ctx, n->dev, err.msg);
			break;
		}
		if (r == 0)
			break;
		tx_frame(n, &chain);
		n->io.ops->push(n->io.ctx, n->dev, NET_TXQ, chain.head, 0);
		pushed = true;
	}
	if (pushed)
		n->io.ops->notify(n->io.ctx, n->dev, NET_TXQ);
}

static void tap_ready(void *opaque, uint32_t events)
{
	struct net *n = opaque;
	pthread_mutex_lock(&n->lock);
	if (n->active) {
		/* ERR/HUP are reported even with EPOLLIN off: the tap was deleted under us. */
		if (events & (EPOLLERR | EPOLLHUP))
			tap_failed(n, ENODEV);
		else if (n->polling)
			rx_process(n);
	}
	pthread_mutex_unlock(&n->lock);
}

static void net_notify(struct virtio_dev *dev, unsigned q)
{
	struct net *n = dev->priv;
	pthread_mutex_lock(&n->lock);
	if (n->active) {
		if (q == NET_TXQ)
			tx_process(n);
		else if (q == NET_RXQ)
			rx_process(n); /* new buffers: fill them, and poll the tap again */
	}
	pthread_mutex_unlock(&n->lock);
}

static int net_activate(struct virtio_dev *dev, struct hy_error *err)
{
	struct net *n = dev->priv;
	int rc = 0;
	pthread_mutex_lock(&n->lock);
	if (!n->tap_gone && !n->watched) {
		rc = n->io.ops->watch(n->io.ctx, dev, n->fd, EPOLLIN, tap_ready, n, err);
		n->watched = n->polling = rc == 0;
	}
	if (rc == 0)
		net_tap_set_offload(n->fd, dev->driver_features);
	n->active = rc == 0;
	pthread_mutex_unlock(&n->lock);
	return rc < 0 ? hy_error_prefix(err, "virtio-net %s", n->name) : 0;
}

static void net_reset(struct virtio_dev *dev)
{
	struct net *n = dev->priv;
	pthread_mutex_lock(&n->lock);
	n->active = false;
	unwatch(n);
	net_tap_set_offload(n->fd, 0);
	n->rx_held = false; /* the transport resets the queue it came from */
	pthread_mutex_unlock(&n->lock);
}

static void net_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct net *n = dev->priv;
	memcpy(data, n->config + offset, len);
}

static void net_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len)
{
	/* The MAC is the host's choice (no legacy MAC writes, no control queue): read-only. */
}

static void net_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct net *n = dev->priv;
	if (n) {
		if (n->active)
			net_reset(dev);
		if (n->debug) {
			const struct virtio_net_stats *st = &n->stats;
			fprintf(
			    stderr,
			    "hyrun: virtio-net %s: rx %llu frames %llu bytes, %llu errors, %llu "
			    "stalls (no rx buffer); tx %llu frames %llu bytes, %llu dropped, %llu "
			    "errors\n",
			    n->name, (unsigned long long)st->rx_frames,
			    (unsigned long long)st->rx_bytes, (unsigned long long)st->rx_errors,
			    (unsigned long long)st->rx_stalls, (unsigned long long)st->tx_frames,
			    (unsigned long long)st->tx_bytes, (unsigned long long)st->tx_dropped,
			    (unsigned long long)st->tx_errors);
		}
		if (n->fd >= 0)
			close(n->fd);
		pthread_mutex_destroy(&n->lock);
		free(n);
	}
	free(dev);
}

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out)
{
	struct net *n = dev->priv;
	pthread_mutex_lock(&n->lock);
	*out = n->stats;
	pthread_mutex_unlock(&n->lock);
}

static void build_config(struct net *n, const struct virtio_net_params *p)
{
	static const uint8_t zero[6];
	memcpy(n->config, p->mac, 6);
	if (!memcmp(p->mac, zero, 6)) {
		if (getrandom(n->config, 6, GRND_NONBLOCK) != 6)
			memcpy(n->config + 1, &n, 5); /* entropy not ready: anything unique-ish */
		n->config[0] = (uint8_t)((n->config[0] & 0xfe) | 0x02); /* unicast, local */
	}
	uint16_t status = htole16(NET_S_LINK_UP), pairs = htole16(1), mtu = htole16(p->mtu);
	memcpy(n->config + 6, &status, 2);
	memcpy(n->config + 8, &pairs, 2);
	memcpy(n->config + 10, &mtu, 2);
}

int virtio_net_create_fd(int fd, const struct virtio_net_params *p, struct virtio_dev **out,
			 struct hy_error *err)
{
	*out = NULL;
	const char *name = p && p->tap ? p->tap : "";
	if (p && p->mtu && (p->mtu < NET_MIN_MTU || p->mtu > NET_MAX_MTU)) {
		close(fd);
		return hy_error_set(err, EINVAL, "virtio-net %s: mtu %u is outside %u..%u", name,
				    p->mtu, NET_MIN_MTU, NET_MAX_MTU);
	}
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct net *n = calloc(1, sizeof(*n));
	if (!p || !dev || !n) {
		free(dev);
		free(n);
		close(fd);
		return hy_error_set(err, p ? ENOMEM : EINVAL, "virtio-net: %s",
				    p ? "out of memory" : "no parameters");
	}
	n->io.ops = &dev_io_default;
	n->dev = dev;
	n->fd = fd;
	n->debug = p->debug;
	snprintf(n->name, sizeof(n->name), "%s", name);
	pthread_mutex_init(&n->lock, NULL);
	build_config(n, p);
	n->ops = (struct virtio_dev_ops){
	    .name = "virtio-net",
	    .device_id = VIRTIO_ID_NET,
	    .features = NET_F_MAC | NET_F_STATUS | NET_F_OFFLOADS | (p->mtu ? NET_F_MTU : 0),
	    .num_queues = 2,
	    .queue_max_size = 256,
	    .config_size = NET_CONFIG_SIZE,
	    .config_read = net_config_read,
	    .config_write = net_config_write,
	    .activate = net_activate,
	    .queue_notify = net_notify,
	    .reset = net_reset,
	    .destroy = net_destroy,
	};
	dev->priv = n;
	dev->ops = &n->ops;
	*out = dev;
	return 0;
}

int virtio_net_create(const struct virtio_net_params *p, struct virtio_dev **out,
		      struct hy_error *err)
{
	*out = NULL;
	int fd;
	if (!p)
		return hy_error_set(err, EINVAL, "virtio-net: no parameters");
	int rc = net_tap_open(p->tap, &fd, err);
	if (rc < 0)
		return rc;
	return virtio_net_create_fd(fd, p, out, err);
}
