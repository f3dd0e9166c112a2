/* virtio-console with one port and no multiport (virtio 1.2 section 5.3): receiveq 0 carries
 * in_fd's bytes to the guest's hvc0, transmitq 1 carries hvc0's output to out_fd.
 * Neither direction blocks the event loop: a transmit buffer the host cannot take yet stays
 * un-returned (so the guest waits) until out_fd polls writable; input is read only into buffers
 * the guest has posted, and in_fd leaves the loop while there are none. */
#include "sandbox-vm/vmm/devices/console.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/hostfd.h"

struct console {
	struct dev_io io; /* first: see dev_io.h */
	struct virtio_dev *dev;
	struct hostfd in, out;
	bool in_watched, in_eof;
	bool out_watched, out_dead;
	bool active;
	/* A transmit chain partly written to out_fd. */
	bool tx_held;
	size_t tx_off;
	struct virtq_chain tx;
	/* A receive chain popped while in_fd had nothing to read yet. */
	bool rx_held;
	struct virtq_chain rx;
	uint8_t config[CONSOLE_CONFIG_SIZE];
	struct virtio_dev_ops ops;
	pthread_mutex_t lock;
};

static void in_ready(void *opaque, uint32_t events);
static void out_ready(void *opaque, uint32_t events);

static void set_in_watch(struct console *c, bool on)
{
	if (c->in_watched == on || !hostfd_pollable(&c->in))
		return;
	struct hy_error err;
	if (on) {
		if (c->io.ops->watch(c->io.ctx, c->dev, c->in.fd, EPOLLIN, in_ready, c, &err) < 0)
			return; /* input stays off; output is unaffected */
	} else {
		c->io.ops->unwatch(c->io.ctx, c->dev, c->in.fd);
	}
	c->in_watched = on;
}

static void set_out_watch(struct console *c, bool on)
{
	if (c->out_watched == on || !hostfd_pollable(&c->out))
		return;
	struct hy_error err;
	if (on) {
		if (c->io.ops->watch(c->io.ctx, c->dev, c->out.fd, EPOLLOUT, out_ready, c, &err) < 0) {
			c->out_dead = true; /* cannot wait for it: drop output rather than spin */
			return;
		}
	} else {
		c->io.ops->unwatch(c->io.ctx, c->dev, c->out.fd);
	}
	c->out_watched = on;
}

/* Moves guest output to out_fd until the queue is empty or out_fd is full. */
static void tx_process(struct console *c)
{
	struct hy_error err;
	bool pushed = false;
	for (;;) {
		if (!c->tx_held) {
			int r = c->io.ops->pop(c->io.ctx, c->dev, CONSOLE_TXQ, &c->tx, &err);
			if (r < 0) {
				c->io.ops->set_broken(c->io.ctx, c->dev, err.msg);
				break;
			}
			if (r == 0)
				break;
			c->tx_held = true;
			c->tx_off = 0;
		}
		while (!c->out_dead && c->out.fd >= 0 && c->tx_off < c->tx.out_len) {
			struct iovec seg[VIRTQ_MAX_SEGS];
			unsigned n = dev_iov_slice(c->tx.out, c->tx.n_out, c->tx_off,
						   c->tx.out_len - c->tx_off, seg, VIRTQ_MAX_SEGS);
			ssize_t w = hostfd_writev(&c->out, seg, n);
			if (w == -EAGAIN) {
				set_out_watch(c, true);
				goto out;
			}
			if (w <= 0) {
				c->out_dead = true; /* reader gone: the guest's output goes nowhere */
				break;
			}
			c->tx_off += (size_t)w;
		}
		c->io.ops->push(c->io.ctx, c->dev, CONSOLE_TXQ, c->tx.head, 0);
		c->tx_held = false;
		pushed = true;
	}
	set_out_watch(c, false);
out:
	if (pushed)
		c->io.ops->notify(c->io.ctx, c->dev, CONSOLE_TXQ);
}

/* Moves in_fd's bytes into posted receive buffers until either runs out. */
static void rx_process(struct console *c)
{
	struct hy_error err;
	bool pushed = false;
	while (!c->in_eof && c->in.fd >= 0) {
		if (!c->rx_held) {
			int r = c->io.ops->pop(c->io.ctx, c->dev, CONSOLE_RXQ, &c->rx, &err);
			if (r < 0) {
				c->io.ops->set_broken(c->io.ctx, c->dev, err.msg);
				break;
			}
			if (r == 0) {
				set_in_watch(c, false); /* back when the guest posts buffers */
				break;
			}
			c->rx_held = true;
		}
		if (c->rx.in_len == 0) {
			c->io.ops->push(c->io.ctx, c->dev, CONSOLE_RXQ, c->rx.head, 0);
			c->rx_held = false;
			pushed = true;
			continue;
		}
		ssize_t n = hostfd_readv(&c->in, c->rx.in, c->rx.n_in);
		if (n == -EAGAIN) {
			set_in_watch(c, true);
			break;
		}
		if (n <= 0) {
			c->in_eof = true; /* keep the held buffer: there is nothing more to put in it */
			set_in_watch(c, false);
			break;
		}
		c->io.ops->push(c->io.ctx, c->dev, CONSOLE_RXQ, c->rx.head, (uint32_t)n);
		c->rx_held = false;
		pushed = true;
		if (!hostfd_pollable(&c->in))
			continue;
		set_in_watch(c, true);
		break; /* one read per readiness event keeps a blocking fallback fd from blocking */
	}
	if (pushed)
		c->io.ops->notify(c->io.ctx, c->dev, CONSOLE_RXQ);
}

static void in_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	pthread_mutex_lock(&c->lock);
	if (c->active)
		rx_process(c);
	pthread_mutex_unlock(&c->lock);
}

static void out_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	pthread_mutex_lock(&c->lock);
	if (c->active)
		tx_process(c);
	pthread_mutex_unlock(&c->lock);
}

static void console_notify(struct virtio_dev *dev, unsigned q)
{
	struct console *c = dev->priv;
	pthread_mutex_lock(&c->lock);
	if (c->active) {
		if (q == CONSOLE_RXQ)
			rx_process(c);
		else if (q == CONSOLE_TXQ)
			tx_process(c);
	}
	pthread_mutex_unlock(&c->lock);
}

static int console_activate(struct virtio_dev *dev, struct hy_error *err)
{
	struct console *c = dev->priv;
	pthread_mutex_lock(&c->lock);
	c->active = true;
	rx_process(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void console_reset(struct virtio_dev *dev)
{
	struct console *c = dev->priv;
	pthread_mutex_lock(&c->lock);
	c->active = false;
	set_in_watch(c, false);
	set_out_watch(c, false);
	c->tx_held = c->rx_held = false; /* the transport resets the queues they came from */
	pthread_mutex_unlock(&c->lock);
}

static void console_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct console *c = dev->priv;
	memcpy(data, c->config + offset, len);
}

static void console_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
				 uint32_t len)
{
	/* emerg_wr is not offered; cols/rows/max_nr_ports are read-only. */
}

static void console_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct console *c = dev->priv;
	if (c) {
		if (c->active)
			console_reset(dev);
		hostfd_close(&c->in);
		hostfd_close(&c->out);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	free(dev);
}

int virtio_console_create(int in_fd, int out_fd, struct virtio_dev **out, struct hy_error *err)
{
	*out = NULL;
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct console *c = calloc(1, sizeof(*c));
	if (!dev || !c) {
		free(dev);
		free(c);
		return hy_error_set(err, ENOMEM, "virtio-console: out of memory");
	}
	c->io.ops = &dev_io_default;
	c->dev = dev;
	c->in.fd = c->out.fd = c->in.orig = c->out.orig = -1;
	pthread_mutex_init(&c->lock, NULL);
	dev->priv = c;
	uint64_t features = 0;
	if ((in_fd >= 0 && hostfd_open(&c->in, in_fd, false, err) < 0) ||
	    (out_fd >= 0 && hostfd_open(&c->out, out_fd, true, err) < 0)) {
		console_destroy(dev);
		return hy_error_prefix(err, "virtio-console");
	}
	struct winsize ws;
	if (out_fd >= 0 && isatty(out_fd) && ioctl(out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
		uint16_t cols = htole16(ws.ws_col), rows = htole16(ws.ws_row);
		memcpy(c->config + 0, &cols, 2);
		memcpy(c->config + 2, &rows, 2);
		features |= CONSOLE_F_SIZE;
	}
	c->ops = (struct virtio_dev_ops){
		.name = "virtio-console",
		.device_id = VIRTIO_ID_CONSOLE,
		.features = features,
		.num_queues = 2,
		.queue_max_size = 256,
		.config_size = CONSOLE_CONFIG_SIZE,
		.config_read = console_config_read,
		.config_write = console_config_write,
		.activate = console_activate,
		.queue_notify = console_notify,
		.reset = console_reset,
		.destroy = console_destroy,
	};
	dev->ops = &c->ops;
	/* Success: in_fd and out_fd are ours now (the VMM hands over its dups); closed on destroy. */
	c->in.orig = in_fd;
	c->out.orig = out_fd == in_fd ? -1 : out_fd;
	*out = dev;
	return 0;
}
