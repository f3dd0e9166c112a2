/* virtio-vsock internals (vsock*.c) and the hooks its unit test and fuzzer use.
 *
 * Hybrid design (as Firecracker's): the guest's AF_VSOCK stream sockets are bridged to host
 * AF_UNIX stream sockets.
 *  - host-initiated: a host program connects to uds_path and writes "CONNECT <port>\n"; the device
 *    sends OP_REQUEST to the guest's port and, when the guest answers OP_RESPONSE, writes
 *    "OK <local port>\n" back and the Unix stream becomes the connection. OP_RST closes it.
 *  - guest-initiated: OP_REQUEST to host port P connects to "<uds_path>_<P>"; a host program must be
 *    listening there, otherwise the guest gets OP_RST.
 * A connection is keyed by (local port = host side, peer port = guest side). Flow control is the
 * virtio-vsock credit scheme: each side advertises buf_alloc and fwd_cnt in every header; we never
 * send the guest more than it has room for and reset a guest that overruns the room we offered. */
#ifndef HYRUN_DEVICES_VSOCK_H
#define HYRUN_DEVICES_VSOCK_H

#include <pthread.h>
#include <stdint.h>
#include <sys/un.h>

#include "sandbox-vm/vmm/devices/dev_io.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

#define VSOCK_HOST_CID 2
#define VSOCK_HDR_SIZE 44
#define VSOCK_TYPE_STREAM 1

#define VSOCK_OP_INVALID 0
#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7

#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u

#define VSOCK_EVENT_TRANSPORT_RESET 0

#define VSOCK_MAX_PKT (64u * 1024)      /* payload bytes in one packet, either direction */
#define VSOCK_BUF_ALLOC (256u * 1024)   /* per-connection guest-to-host buffer we advertise */
#define VSOCK_MAX_CONNS 1024
#define VSOCK_MAX_PENDING 32            /* host clients that have not finished "CONNECT n\n" */
#define VSOCK_RST_RING 256
#define VSOCK_LINE_MAX 32
#define VSOCK_LOCAL_PORT_FIRST (1u << 30)
#define VSOCK_CONNECT_TIMEOUT_MS 2000   /* guest must answer a delivered REQUEST in this time */
#define VSOCK_LINE_TIMEOUT_MS 10000     /* host client must send its CONNECT line in this time */
#define VSOCK_TICK_MS 250
/* "<uds_path>_<port>" must fit sun_path. */
#define VSOCK_UDS_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 12)

/* A decoded header, host byte order. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum vsock_hdr_status {
	VSOCK_HDR_OK = 0,
	VSOCK_HDR_SHORT,     /* fewer than 44 readable bytes: nothing to answer to */
	VSOCK_HDR_BAD_LEN,   /* len != payload bytes present, or len > VSOCK_MAX_PKT */
};

/* vsock_pkt.c: pure parsing, no state. */
enum vsock_hdr_status vsock_hdr_decode(const struct iovec *out, unsigned n_out, size_t out_len,
				       struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t buf[VSOCK_HDR_SIZE]);
/* Parses exactly "CONNECT <decimal u32>\n" (line includes the newline). 0 or -EINVAL. */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

enum vsock_conn_state {
	CONN_FREE = 0,
	CONN_LOCAL_INIT,  /* host-initiated, waiting for the guest's RESPONSE */
	CONN_ESTABLISHED,
	CONN_CLOSING,     /* guest shut both directions: flush what we hold, then RST */
};

struct vsock;

struct vsock_conn {
	struct vsock *vs;
	enum vsock_conn_state state;
	int fd;
	uint32_t local_port, peer_port;
	struct vsock_conn *hash_next;
	struct vsock_conn *rx_prev, *rx_next; /* in vs->rx list: has something for the guest */
	bool in_rx_list;
	bool watched, hup;
	uint32_t watched_events;

	/* control packets owed to the guest */
	bool want_request, want_response, want_credit_update, want_credit_request;
	uint32_t want_shutdown; /* SHUTDOWN flags still to send */
	bool credit_requested;  /* a CREDIT_REQUEST is outstanding */
	uint64_t deadline_ms;   /* LOCAL_INIT: RST if no RESPONSE by then (0 = not yet sent) */

	/* host to guest */
	bool fd_readable; /* the host socket has data (or EOF) we have not read yet */
	bool host_eof;
	bool peer_shut_rcv, peer_shut_send;
	uint32_t tx_cnt;  /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;

	/* guest to host: bytes the host socket could not take yet, in a ring of VSOCK_BUF_ALLOC */
	uint8_t *buf;
	size_t buf_head, buf_len;
	uint32_t rx_cnt;        /* payload bytes received from the guest */
	uint32_t fwd_cnt;       /* of which forwarded to the host socket */
	uint32_t last_fwd_sent; /* fwd_cnt as last told to the guest */
};

struct vsock_pending {
	struct vsock *vs;
	int fd; /* -1 = free slot */
	size_t len;
	uint64_t deadline_ms;
	char line[VSOCK_LINE_MAX];
};

struct vsock {
	struct dev_io io; /* first: see dev_io.h */
	struct virtio_dev *dev;
	struct virtio_dev_ops ops;
	pthread_mutex_t lock;
	uint64_t guest_cid;
	uint8_t config[8];
	char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, timer_fd;
	bool active, listen_watched, timer_watched, timer_armed;

	struct vsock_conn conns[VSOCK_MAX_CONNS]; /* slots stay put: event-loop opaques point here */
	struct vsock_conn *hash[256];
	size_t n_conns;
	struct vsock_conn *rx_head, *rx_tail;
	uint32_t next_local_port;

	struct vsock_pending pending[VSOCK_MAX_PENDING];
	size_t n_pending;

	struct { uint32_t local_port, peer_port; } rst[VSOCK_RST_RING];
	unsigned rst_head, rst_count;

	bool rx_held;
	struct virtq_chain rx_chain; /* popped rx buffer with nothing to put in it yet */
	bool evq_reset_pending;
	bool want_timer; /* some REQUEST awaits its deadline */
};

/* vsock_conn.c */
struct vsock_conn *vsock_conn_lookup(struct vsock *vs, uint32_t local_port, uint32_t peer_port);
struct vsock_conn *vsock_conn_new(struct vsock *vs, int fd, uint32_t local_port, uint32_t peer_port,
				  enum vsock_conn_state state);
void vsock_conn_free(struct vsock_conn *c);
/* Queues an RST for (local, peer) and frees the connection if there is one. */
void vsock_send_rst(struct vsock *vs, uint32_t local_port, uint32_t peer_port);
void vsock_conn_reset(struct vsock_conn *c);
void vsock_rx_list_remove(struct vsock_conn *c);
void vsock_conn_schedule(struct vsock_conn *c); /* recompute rx-list membership and fd watch */
bool vsock_conn_has_rx_work(const struct vsock_conn *c);
uint32_t vsock_conn_peer_free(const struct vsock_conn *c);
/* Guest payload to the host socket (buffering what does not fit). -1 = connection reset. */
int vsock_conn_write(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t len);
void vsock_conn_flush(struct vsock_conn *c);
void vsock_conn_maybe_credit_update(struct vsock_conn *c);
void vsock_conn_close_all(struct vsock *vs);

/* vsock_host.c */
int vsock_listen(struct vsock *vs, const char *uds_path, struct hy_error *err);
int vsock_host_start(struct vsock *vs, struct hy_error *err);
void vsock_host_stop(struct vsock *vs);
void vsock_connect_guest_request(struct vsock *vs, const struct vsock_hdr *h);
void vsock_timer_update(struct vsock *vs);
uint64_t vsock_now_ms(void);
/* Expires CONNECT lines and unanswered REQUESTs older than their deadline. */
void vsock_tick(struct vsock *vs, uint64_t now_ms);

/* vsock_tx.c: one guest packet (a popped tx chain). */
void vsock_handle_tx(struct vsock *vs, const struct virtq_chain *chain);

/* vsock_rx.c: fills rx buffers with whatever is owed to the guest. */
void vsock_rx_process(struct vsock *vs);
void vsock_evq_process(struct vsock *vs);

/* vsock.c */
static inline struct vsock *vsock_of(struct virtio_dev *dev)
{
	return dev->priv;
}
/* Tells the guest to drop every connection (after a snapshot restore or a host-side reset). */
void virtio_vsock_transport_reset(struct virtio_dev *dev);
/* Runs fn with the device lock held (tests and fuzzers calling internals directly). */
void vsock_lock(struct vsock *vs);
void vsock_unlock(struct vsock *vs);

#endif
