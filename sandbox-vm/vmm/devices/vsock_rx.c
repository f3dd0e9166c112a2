/* vsock device-to-guest path: turns what each connection owes the guest (control packets, host
 * socket data within the guest's credit) into packets in the guest's rx buffers, round-robin over
 * connections. Host data is read straight into guest memory. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "sandbox-vm/vmm/devices/vsock.h"

static void base_hdr(struct vsock *vs, struct vsock_hdr *h, uint32_t local, uint32_t peer,
		     uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = vs->guest_cid;
	h->src_port = local;
	h->dst_port = peer;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
}

/* Every packet carries our credit, so the guest learns of progress from any of them. */
static void conn_hdr(struct vsock_conn *c, struct vsock_hdr *h, uint16_t op)
{
	base_hdr(c->vs, h, c->local_port, c->peer_port, op);
	h->buf_alloc = VSOCK_BUF_ALLOC;
	h->fwd_cnt = c->fwd_cnt;
	c->last_fwd_sent = c->fwd_cnt;
	c->want_credit_update = false;
}

static ssize_t recv_iov(int fd, const struct iovec *iov, unsigned n)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
	ssize_t r;
	do
		r = recvmsg(fd, &m, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* One packet for c written into ch; returns its size, or 0 when c had nothing after all (its
 * state changed instead, or it was reset). */
static uint32_t conn_packet(struct vsock_conn *c, const struct virtq_chain *ch, struct vsock_hdr *h)
{
	if (c->want_request) {
		c->want_request = false;
		c->deadline_ms = vsock_now_ms() + VSOCK_CONNECT_TIMEOUT_MS;
		c->vs->want_timer = true;
		conn_hdr(c, h, VSOCK_OP_REQUEST);
		return VSOCK_HDR_SIZE;
	}
	if (c->want_response) {
		c->want_response = false;
		conn_hdr(c, h, VSOCK_OP_RESPONSE);
		return VSOCK_HDR_SIZE;
	}
	if (c->state == CONN_ESTABLISHED && c->fd_readable && !c->host_eof && !c->peer_shut_rcv) {
		uint32_t room = vsock_conn_peer_free(c);
		if (room == 0 && !c->credit_requested) {
			c->credit_requested = true;
			conn_hdr(c, h, VSOCK_OP_CREDIT_REQUEST);
			return VSOCK_HDR_SIZE;
		}
		if (room > 0) {
			size_t max = ch->in_len - VSOCK_HDR_SIZE;
			if (max > room)
				max = room;
			if (max > VSOCK_MAX_PKT)
				max = VSOCK_MAX_PKT;
			struct iovec seg[VIRTQ_MAX_SEGS];
			unsigned n = dev_iov_slice(ch->in, ch->n_in, VSOCK_HDR_SIZE, max, seg,
						   VIRTQ_MAX_SEGS);
			ssize_t r = recv_iov(c->fd, seg, n);
			if (r > 0) {
				conn_hdr(c, h, VSOCK_OP_RW);
				h->len = (uint32_t)r;
				c->tx_cnt += (uint32_t)r;
				return VSOCK_HDR_SIZE + (uint32_t)r;
			}
			c->fd_readable = false;
			if (r == 0) {
				/* Host EOF: we send no more; a host socket gone entirely (HUP)
				 * cannot take the guest's data either. */
				c->host_eof = true;
				c->want_shutdown |= VSOCK_SHUTDOWN_SEND | (c->hup ? VSOCK_SHUTDOWN_RCV : 0);
			} else if (r != -EAGAIN) {
				vsock_conn_reset(c);
				return 0;
			}
		}
	}
	if (c->want_credit_update) {
		conn_hdr(c, h, VSOCK_OP_CREDIT_UPDATE);
		return VSOCK_HDR_SIZE;
	}
	if (c->want_credit_request) {
		c->want_credit_request = false;
		conn_hdr(c, h, VSOCK_OP_CREDIT_REQUEST);
		return VSOCK_HDR_SIZE;
	}
	if (c->want_shutdown && c->state == CONN_ESTABLISHED) {
		conn_hdr(c, h, VSOCK_OP_SHUTDOWN);
		h->flags = c->want_shutdown;
		c->want_shutdown = 0;
		return VSOCK_HDR_SIZE;
	}
	return 0;
}

void vsock_rx_process(struct vsock *vs)
{
	struct hy_error err;
	bool pushed = false;
	unsigned idle = 0;
	if (!vs->active)
		return;
	while ((vs->rst_count || vs->rx_head) && idle < 4 * VSOCK_MAX_CONNS) {
		if (!vs->rx_held) {
			int r = vs->io.ops->pop(vs->io.ctx, vs->dev, VSOCK_RXQ, &vs->rx_chain, &err);
			if (r < 0) {
				vs->io.ops->set_broken(vs->io.ctx, vs->dev, err.msg);
				break;
			}
			if (r == 0)
				break; /* resumed by the guest's next rx kick */
			if (vs->rx_chain.in_len <= VSOCK_HDR_SIZE) {
				vs->io.ops->push(vs->io.ctx, vs->dev, VSOCK_RXQ, vs->rx_chain.head, 0);
				vs->io.ops->set_broken(vs->io.ctx, vs->dev,
						       "vsock: rx buffer too small for a packet");
				pushed = true;
				break;
			}
			vs->rx_held = true;
		}
		struct vsock_hdr h;
		uint32_t written = 0;
		if (vs->rst_count) {
			base_hdr(vs, &h, vs->rst[vs->rst_head].local_port, vs->rst[vs->rst_head].peer_port,
				 VSOCK_OP_RST);
			vs->rst_head = (vs->rst_head + 1) % VSOCK_RST_RING;
			vs->rst_count--;
			written = VSOCK_HDR_SIZE;
		} else {
			struct vsock_conn *c = vs->rx_head;
			vsock_rx_list_remove(c); /* re-queued at the tail: round-robin */
			written = conn_packet(c, &vs->rx_chain, &h);
			if (c->state != CONN_FREE)
				vsock_conn_schedule(c);
		}
		if (!written) {
			idle++;
			continue;
		}
		uint8_t b[VSOCK_HDR_SIZE];
		vsock_hdr_encode(&h, b);
		iov_from_buf(vs->rx_chain.in, vs->rx_chain.n_in, 0, b, sizeof(b));
		vs->io.ops->push(vs->io.ctx, vs->dev, VSOCK_RXQ, vs->rx_chain.head, written);
		vs->rx_held = false;
		pushed = true;
		idle = 0;
	}
	if (pushed)
		vs->io.ops->notify(vs->io.ctx, vs->dev, VSOCK_RXQ);
}

void vsock_evq_process(struct vsock *vs)
{
	struct virtq_chain ev;
	struct hy_error err;
	if (!vs->active || !vs->evq_reset_pending)
		return;
	int r = vs->io.ops->pop(vs->io.ctx, vs->dev, VSOCK_EVQ, &ev, &err);
	if (r < 0) {
		vs->io.ops->set_broken(vs->io.ctx, vs->dev, err.msg);
		return;
	}
	if (r == 0)
		return; /* sent when the guest posts an event buffer */
	uint32_t id = htole32(VSOCK_EVENT_TRANSPORT_RESET);
	uint32_t written = 0;
	if (ev.in_len >= sizeof(id)) {
		iov_from_buf(ev.in, ev.n_in, 0, &id, sizeof(id));
		written = sizeof(id);
		vs->evq_reset_pending = false;
	}
	vs->io.ops->push(vs->io.ctx, vs->dev, VSOCK_EVQ, ev.head, written);
	vs->io.ops->notify(vs->io.ctx, vs->dev, VSOCK_EVQ);
}
