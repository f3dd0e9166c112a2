/* Test double for the devices' dev_io table (sandbox-vm/vmm/devices/dev_io.h): in-memory queues
 * of descriptor chains the test builds from its own buffers, a record of what the device pushed,
 * and a tiny poll() loop standing in for the VMM's epoll event loop. Header-only, for
 * tests/unit/test_virtio_*.c and test_vsock.c. */
#ifndef HYRUN_TEST_FAKE_VIRTQ_H
#define HYRUN_TEST_FAKE_VIRTQ_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sandbox-vm/vmm/devices/dev_io.h"

#define FQ_MAX 64
#define FW_MAX 64

struct fake_queue {
	struct virtq_chain chains[FQ_MAX];
	unsigned n, next;
	struct {
		uint16_t head;
		uint32_t written;
	} used[FQ_MAX * 4];
	unsigned n_used;
	unsigned notifies;
};

struct fake_watch {
	bool live;
	int fd;
	uint32_t events;
	event_cb cb;
	void *opaque;
};

struct fake_io {
	struct fake_queue q[3];
	struct fake_watch w[FW_MAX];
	int broken;
	char why[256];
};

static inline int fake_pop(void *ctx, struct virtio_dev *dev, unsigned q, struct virtq_chain *c,
		    struct hy_error *err)
{
	struct fake_io *f = ctx;
	if (q >= 3 || f->q[q].next >= f->q[q].n)
		return 0;
	*c = f->q[q].chains[f->q[q].next++];
	return 1;
}

static inline void fake_push(void *ctx, struct virtio_dev *dev, unsigned q, uint16_t head, uint32_t written)
{
	struct fake_io *f = ctx;
	struct fake_queue *fq = &f->q[q];
	if (fq->n_used < sizeof(fq->used) / sizeof(fq->used[0])) {
		fq->used[fq->n_used].head = head;
		fq->used[fq->n_used].written = written;
		fq->n_used++;
	}
}

static inline void fake_notify(void *ctx, struct virtio_dev *dev, unsigned q)
{
	((struct fake_io *)ctx)->q[q].notifies++;
}

static inline struct fake_watch *fake_find(struct fake_io *f, int fd)
{
	for (int i = 0; i < FW_MAX; i++)
		if (f->w[i].live && f->w[i].fd == fd)
			return &f->w[i];
	return NULL;
}

static inline int fake_watch(void *ctx, struct virtio_dev *dev, int fd, uint32_t events, event_cb cb,
		      void *opaque, struct hy_error *err)
{
	struct fake_io *f = ctx;
	if (fake_find(f, fd))
		return hy_error_set(err, EEXIST, "fd %d watched twice", fd);
	for (int i = 0; i < FW_MAX; i++) {
		if (!f->w[i].live) {
			f->w[i] = (struct fake_watch){true, fd, events, cb, opaque};
			return 0;
		}
	}
	return hy_error_set(err, ENOSPC, "fake event loop full");
}

static inline int fake_rewatch(void *ctx, struct virtio_dev *dev, int fd, uint32_t events,
			struct hy_error *err)
{
	struct fake_watch *w = fake_find(ctx, fd);
	if (!w)
		return hy_error_set(err, ENOENT, "fd %d not watched", fd);
	w->events = events;
	return 0;
}

static inline void fake_unwatch(void *ctx, struct virtio_dev *dev, int fd)
{
	struct fake_watch *w = fake_find(ctx, fd);
	if (w)
		w->live = false;
}

static inline void fake_set_broken(void *ctx, struct virtio_dev *dev, const char *why)
{
	struct fake_io *f = ctx;
	f->broken++;
	snprintf(f->why, sizeof(f->why), "%s", why);
}

static const struct dev_io_ops fake_io_ops __attribute__((unused)) = {
	.pop = fake_pop,
	.push = fake_push,
	.notify = fake_notify,
	.watch = fake_watch,
	.rewatch = fake_rewatch,
	.unwatch = fake_unwatch,
	.set_broken = fake_set_broken,
};

/* Appends a chain; segments are (pointer, length, writable) triples. */
static inline struct virtq_chain *fake_chain(struct fake_io *f, unsigned q)
{
	struct fake_queue *fq = &f->q[q];
	if (fq->n == FQ_MAX) { /* recycle the consumed prefix */
		memmove(fq->chains, fq->chains + fq->next, (fq->n - fq->next) * sizeof(fq->chains[0]));
		fq->n -= fq->next;
		fq->next = 0;
	}
	struct virtq_chain *c = &fq->chains[fq->n];
	memset(c, 0, sizeof(*c));
	c->head = (uint16_t)(fq->n + 100 * q);
	fq->n++;
	return c;
}

static inline void chain_out(struct virtq_chain *c, const void *p, size_t len)
{
	c->out[c->n_out].iov_base = (void *)p;
	c->out[c->n_out].iov_len = len;
	c->n_out++;
	c->out_len += len;
}

static inline void chain_in(struct virtq_chain *c, void *p, size_t len)
{
	c->in[c->n_in].iov_base = p;
	c->in[c->n_in].iov_len = len;
	c->n_in++;
	c->in_len += len;
}

/* One round of the stand-in event loop: polls every watched fd for up to timeout_ms and runs the
 * callbacks of ready ones. Returns how many callbacks ran. */
static inline int fake_loop_once(struct fake_io *f, int timeout_ms)
{
	struct pollfd p[FW_MAX];
	int idx[FW_MAX], n = 0;
	for (int i = 0; i < FW_MAX; i++) {
		if (!f->w[i].live)
			continue;
		p[n].fd = f->w[i].fd;
		p[n].events = (short)((f->w[i].events & EPOLLIN ? POLLIN : 0) |
				      (f->w[i].events & EPOLLOUT ? POLLOUT : 0));
		p[n].revents = 0;
		idx[n++] = i;
	}
	if (poll(p, (nfds_t)n, timeout_ms) <= 0)
		return 0;
	int ran = 0;
	for (int k = 0; k < n; k++) {
		struct fake_watch *w = &f->w[idx[k]];
		if (!p[k].revents || !w->live || w->fd != p[k].fd)
			continue;
		uint32_t ev = (p[k].revents & POLLIN ? EPOLLIN : 0) | (p[k].revents & POLLOUT ? EPOLLOUT : 0) |
			      (p[k].revents & POLLHUP ? EPOLLHUP : 0) | (p[k].revents & POLLERR ? EPOLLERR : 0);
		w->cb(w->opaque, ev);
		ran++;
	}
	return ran;
}

/* Runs the loop until cond(arg) holds or timeout_ms passes; returns cond's final value. */
static inline bool fake_loop_until(struct fake_io *f, bool (*cond)(void *), void *arg, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 10) {
		if (cond(arg))
			return true;
		fake_loop_once(f, 10);
	}
	return cond(arg);
}

#endif
