/* vsock guest-to-device path: one packet from the tx queue through the connection state machine.
 * The guest is hostile: a packet that does not fit the protocol resets its connection (RST) and
 * never touches another one. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sandbox-vm/vmm/devices/vsock.h"

static void on_response(struct vsock *vs, struct vsock_conn *c)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	/* A fresh stream socket has room for a dozen bytes; anything short of that is an error. */
	if (send(c->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
		vsock_conn_reset(c);
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->deadline_ms = 0;
	c->fd_readable = true; /* the client may have written ahead of the OK */
	vsock_conn_schedule(c);
}

static void on_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (flags & VSOCK_SHUTDOWN_RCV)
		c->peer_shut_rcv = true;
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->peer_shut_send = true;
	if (c->peer_shut_rcv && c->peer_shut_send) {
		/* Clean close: the guest waits for our RST, sent once its last bytes are out. */
		c->state = CONN_CLOSING;
		c->want_shutdown = 0;
		c->want_credit_update = c->want_credit_request = false;
	}
	vsock_conn_flush(c); /* with nothing buffered this passes the EOF on (or RSTs) now */
	if (c->state != CONN_FREE)
		vsock_conn_schedule(c);
}

void vsock_handle_tx(struct vsock *vs, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	enum vsock_hdr_status st = vsock_hdr_decode(ch->out, ch->n_out, ch->out_len, &h);
	if (st == VSOCK_HDR_SHORT)
		return; /* no ports to answer to */
	if (h.op == VSOCK_OP_RST && st == VSOCK_HDR_OK) {
		struct vsock_conn *c = vsock_conn_lookup(vs, h.dst_port, h.src_port);
		if (c)
			vsock_conn_free(c); /* never answer an RST with an RST */
		return;
	}
	if (st != VSOCK_HDR_OK || h.type != VSOCK_TYPE_STREAM || h.src_cid != vs->guest_cid ||
	    h.dst_cid != VSOCK_HOST_CID) {
		vsock_send_rst(vs, h.dst_port, h.src_port);
		return;
	}
	struct vsock_conn *c = vsock_conn_lookup(vs, h.dst_port, h.src_port);
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			vsock_connect_guest_request(vs, &h);
		else
			vsock_send_rst(vs, h.dst_port, h.src_port);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	if (vsock_conn_peer_free(c) > 0)
		c->credit_requested = false;
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_LOCAL_INIT) {
			vsock_conn_reset(c);
			return;
		}
		on_response(vs, c);
		return;
	case VSOCK_OP_SHUTDOWN:
		if (c->state == CONN_LOCAL_INIT) {
			vsock_conn_reset(c);
			return;
		}
		on_shutdown(c, h.flags);
		return;
	case VSOCK_OP_RW:
		if (c->state != CONN_ESTABLISHED || c->peer_shut_send) {
			vsock_conn_reset(c);
			return;
		}
		if (h.len > 0) {
			struct iovec seg[VIRTQ_MAX_SEGS];
			unsigned n = dev_iov_slice(ch->out, ch->n_out, VSOCK_HDR_SIZE, h.len, seg,
						   VIRTQ_MAX_SEGS);
			if (vsock_conn_write(c, seg, n, h.len) < 0)
				return;
		}
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->want_credit_update = true;
		break;
	default: /* REQUEST on a live connection, INVALID, unknown ops */
		vsock_conn_reset(c);
		return;
	}
	if (c->state != CONN_FREE)
		vsock_conn_schedule(c);
}
