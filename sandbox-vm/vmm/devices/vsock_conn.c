/* vsock connection table, per-connection credit accounting and the guest-to-host data path. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/vsock.h"

static unsigned bucket(uint32_t local_port, uint32_t peer_port)
{
	uint32_t h = local_port * 2654435761u ^ peer_port * 40503u;
	return (h >> 8) & 255;
}

struct vsock_conn *vsock_conn_lookup(struct vsock *vs, uint32_t local_port, uint32_t peer_port)
{
	for (struct vsock_conn *c = vs->hash[bucket(local_port, peer_port)]; c; c = c->hash_next)
		if (c->local_port == local_port && c->peer_port == peer_port)
			return c;
	return NULL;
}

static void conn_ready(void *opaque, uint32_t events);

struct vsock_conn *vsock_conn_new(struct vsock *vs, int fd, uint32_t local_port, uint32_t peer_port,
				  enum vsock_conn_state state)
{
	if (vs->n_conns >= VSOCK_MAX_CONNS)
		return NULL;
	struct vsock_conn *c = NULL;
	for (size_t i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (vs->conns[i].state == CONN_FREE) {
			c = &vs->conns[i];
			break;
		}
	}
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->vs = vs;
	c->state = state;
	c->fd = fd;
	c->local_port = local_port;
	c->peer_port = peer_port;
	unsigned b = bucket(local_port, peer_port);
	c->hash_next = vs->hash[b];
	vs->hash[b] = c;
	vs->n_conns++;
	return c;
}

void vsock_rx_list_remove(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	if (!c->in_rx_list)
		return;
	if (c->rx_prev)
		c->rx_prev->rx_next = c->rx_next;
	else
		vs->rx_head = c->rx_next;
	if (c->rx_next)
		c->rx_next->rx_prev = c->rx_prev;
	else
		vs->rx_tail = c->rx_prev;
	c->rx_prev = c->rx_next = NULL;
	c->in_rx_list = false;
}

static void rx_list_append(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	if (c->in_rx_list)
		return;
	c->rx_prev = vs->rx_tail;
	c->rx_next = NULL;
	if (vs->rx_tail)
		vs->rx_tail->rx_next = c;
	else
		vs->rx_head = c;
	vs->rx_tail = c;
	c->in_rx_list = true;
}

void vsock_conn_free(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	if (c->state == CONN_FREE)
		return;
	vsock_rx_list_remove(c);
	struct vsock_conn **pp = &vs->hash[bucket(c->local_port, c->peer_port)];
	while (*pp && *pp != c)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = c->hash_next;
	if (c->watched)
		vs->io.ops->unwatch(vs->io.ctx, vs->dev, c->fd);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->vs = vs; /* stale event-loop callbacks still read it */
	c->fd = -1;
	c->state = CONN_FREE;
	vs->n_conns--;
}

void vsock_send_rst(struct vsock *vs, uint32_t local_port, uint32_t peer_port)
{
	struct vsock_conn *c = vsock_conn_lookup(vs, local_port, peer_port);
	if (c)
		vsock_conn_free(c);
	/* A full ring drops the RST: the guest's connect or close then times out on its own. */
	if (vs->rst_count < VSOCK_RST_RING) {
		unsigned i = (vs->rst_head + vs->rst_count) % VSOCK_RST_RING;
		vs->rst[i].local_port = local_port;
		vs->rst[i].peer_port = peer_port;
		vs->rst_count++;
	}
}

void vsock_conn_reset(struct vsock_conn *c)
{
	vsock_send_rst(c->vs, c->local_port, c->peer_port);
}

uint32_t vsock_conn_peer_free(const struct vsock_conn *c)
{
	/* Wrapping u32 counters as in the spec; a guest lying about fwd_cnt gets 0, not 4 GiB. */
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	if (in_flight > c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

bool vsock_conn_has_rx_work(const struct vsock_conn *c)
{
	if (c->state == CONN_FREE)
		return false;
	if (c->want_request || c->want_response || c->want_credit_update || c->want_credit_request)
		return true;
	if (c->state != CONN_ESTABLISHED)
		return false;
	if (c->fd_readable && !c->host_eof && !c->peer_shut_rcv) {
		if (vsock_conn_peer_free(c) > 0)
			return true;
		if (!c->credit_requested)
			return true; /* will send a CREDIT_REQUEST */
	}
	return c->want_shutdown != 0;
}

static uint32_t wanted_events(const struct vsock_conn *c)
{
	uint32_t ev = 0;
	if (c->state == CONN_ESTABLISHED && !c->fd_readable && !c->host_eof && !c->peer_shut_rcv)
		ev |= EPOLLIN;
	if (c->buf_len > 0)
		ev |= EPOLLOUT;
	return ev; /* 0 still reports EPOLLHUP: a LOCAL_INIT client that goes away */
}

void vsock_conn_schedule(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	if (c->state == CONN_FREE)
		return;
	if (vsock_conn_has_rx_work(c))
		rx_list_append(c);
	else
		vsock_rx_list_remove(c);
	if (c->hup || !vs->active)
		return;
	uint32_t ev = wanted_events(c);
	struct hy_error err;
	if (!c->watched) {
		if (vs->io.ops->watch(vs->io.ctx, vs->dev, c->fd, ev, conn_ready, c, &err) < 0) {
			vsock_conn_reset(c);
			return;
		}
		c->watched = true;
		c->watched_events = ev;
	} else if (ev != c->watched_events) {
		if (vs->io.ops->rewatch(vs->io.ctx, vs->dev, c->fd, ev, &err) < 0) {
			vsock_conn_reset(c);
			return;
		}
		c->watched_events = ev;
	}
}

void vsock_conn_maybe_credit_update(struct vsock_conn *c)
{
	/* What the guest believes we can still take; once under half, tell it about progress. */
	uint32_t believed_used = c->rx_cnt - c->last_fwd_sent;
	if (c->fwd_cnt != c->last_fwd_sent && believed_used > VSOCK_BUF_ALLOC / 2)
		c->want_credit_update = true;
}

static ssize_t send_iov(int fd, const struct iovec *iov, unsigned n)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
	ssize_t r;
	do
		r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* Host socket done with our writes and the guest said it sends no more: pass the EOF on. */
static void maybe_finish_send(struct vsock_conn *c)
{
	if (c->buf_len > 0)
		return;
	if (c->state == CONN_CLOSING) {
		vsock_conn_reset(c); /* the RST completes the guest's clean close */
		return;
	}
	if (c->peer_shut_send)
		shutdown(c->fd, SHUT_WR);
}

int vsock_conn_write(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t len)
{
	if (len == 0)
		return 0;
	if (c->buf_len + len > VSOCK_BUF_ALLOC) {
		vsock_conn_reset(c); /* the guest sent more than the credit we gave it */
		return -1;
	}
	c->rx_cnt += (uint32_t)len;
	size_t done = 0;
	if (c->buf_len == 0) {
		ssize_t w = send_iov(c->fd, iov, n);
		if (w < 0 && w != -EAGAIN) {
			vsock_conn_reset(c);
			return -1;
		}
		if (w > 0)
			done = (size_t)w;
		c->fwd_cnt += (uint32_t)done;
	}
	if (done < len) {
		if (!c->buf) {
			c->buf = malloc(VSOCK_BUF_ALLOC);
			if (!c->buf) {
				vsock_conn_reset(c);
				return -1;
			}
		}
		struct iovec rest[VIRTQ_MAX_SEGS];
		unsigned k = dev_iov_slice(iov, n, done, len - done, rest, VIRTQ_MAX_SEGS);
		for (unsigned i = 0; i < k; i++) {
			const uint8_t *src = rest[i].iov_base;
			size_t left = rest[i].iov_len;
			while (left > 0) {
				size_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
				size_t room = VSOCK_BUF_ALLOC - tail;
				size_t take = left < room ? left : room;
				memcpy(c->buf + tail, src, take);
				c->buf_len += take;
				src += take;
				left -= take;
			}
		}
	}
	vsock_conn_maybe_credit_update(c);
	maybe_finish_send(c);
	return 0;
}

void vsock_conn_flush(struct vsock_conn *c)
{
	while (c->buf_len > 0) {
		struct iovec iov[2];
		unsigned n = 1;
		size_t first = VSOCK_BUF_ALLOC - c->buf_head;
		iov[0].iov_base = c->buf + c->buf_head;
		iov[0].iov_len = c->buf_len < first ? c->buf_len : first;
		if (c->buf_len > first) {
			iov[1].iov_base = c->buf;
			iov[1].iov_len = c->buf_len - first;
			n = 2;
		}
		ssize_t w = send_iov(c->fd, iov, n);
		if (w == -EAGAIN)
			break;
		if (w <= 0) {
			vsock_conn_reset(c);
			return;
		}
		c->buf_head = (c->buf_head + (size_t)w) % VSOCK_BUF_ALLOC;
		c->buf_len -= (size_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	vsock_conn_maybe_credit_update(c);
	maybe_finish_send(c);
}

/* The event loop may hand us a stale event for a slot that was freed and reused in the same
 * batch, so the readiness we act on is re-read from the fd itself. */
static void conn_ready(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock *vs = c->vs;
	vsock_lock(vs);
	if (c->state == CONN_FREE || !vs->active || c->fd < 0) {
		vsock_unlock(vs);
		return;
	}
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLOUT};
	if (poll(&p, 1, 0) <= 0) {
		vsock_unlock(vs);
		return;
	}
	if (c->state == CONN_LOCAL_INIT) {
		char ch;
		/* Data before "OK" stays queued; only a closed client matters here. */
		if (p.revents & (POLLHUP | POLLERR) ||
		    ((p.revents & POLLIN) && recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0))
			vsock_conn_reset(c);
		goto out;
	}
	if (p.revents & (POLLHUP | POLLERR)) {
		/* Nothing will change on this fd any more: stop polling it (it would report HUP
		 * forever) and let the guest's packets drive what is left (reading to EOF). */
		c->hup = true;
		if (c->watched) {
			vs->io.ops->unwatch(vs->io.ctx, vs->dev, c->fd);
			c->watched = false;
		}
		c->fd_readable = true;
	}
	if (p.revents & POLLIN)
		c->fd_readable = true;
	if ((p.revents & (POLLOUT | POLLHUP | POLLERR)) && c->buf_len > 0)
		vsock_conn_flush(c);
	if (c->state != CONN_FREE)
		vsock_conn_schedule(c);
	vsock_rx_process(vs);
out:
	vsock_timer_update(vs);
	vsock_unlock(vs);
}

void vsock_conn_close_all(struct vsock *vs)
{
	for (size_t i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i].state != CONN_FREE)
			vsock_conn_free(&vs->conns[i]);
	vs->rx_head = vs->rx_tail = NULL;
	vs->rst_count = 0;
	vs->rst_head = 0;
}
