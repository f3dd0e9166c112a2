/* virtio-vsock: header validation, the CONNECT handshake state machine, guest- and host-initiated
 * connections over real Unix sockets, credit flow control, and hostile packets. The guest is
 * played by hand-built tx chains; the device's rx packets are read back from the fake rx queue. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "sandbox-vm/vmm/devices/vsock.h"
#include "unit.h"

#define CID 3
#define RXBUF (VSOCK_HDR_SIZE + 4096)

static struct fake_io f;
static char dir[64], uds[128];
static uint8_t rxbufs[FQ_MAX][RXBUF];
static unsigned rx_posted;
static uint8_t txbufs[FQ_MAX][VSOCK_HDR_SIZE];
static unsigned tx_next;
static unsigned rx_seen; /* used rx entries already examined */

struct pkt {
	struct vsock_hdr h;
	uint8_t *data;
};

static struct virtio_dev *make_dev(void)
{
	struct virtio_dev *dev = NULL;
	struct hy_error err = {0};
	if (virtio_vsock_create(CID, uds, &dev, &err) < 0) {
		fprintf(stderr, "vsock create: %s\n", err.msg);
		return NULL;
	}
	memset(&f, 0, sizeof(f));
	rx_posted = tx_next = rx_seen = 0;
	dev_io_set(dev, &fake_io_ops, &f);
	if (dev->ops->activate(dev, &err) < 0) {
		fprintf(stderr, "vsock activate: %s\n", err.msg);
		dev->ops->destroy(dev);
		return NULL;
	}
	return dev;
}

static void post_rx(struct virtio_dev *dev, unsigned n)
{
	for (unsigned i = 0; i < n && rx_posted < FQ_MAX; i++) {
		struct virtq_chain *c = fake_chain(&f, VSOCK_RXQ);
		uint8_t *b = rxbufs[rx_posted++];
		/* header and data in separate descriptors, as Linux 6.1 posts them */
		chain_in(c, b, VSOCK_HDR_SIZE);
		chain_in(c, b + VSOCK_HDR_SIZE, RXBUF - VSOCK_HDR_SIZE);
	}
	dev->ops->queue_notify(dev, VSOCK_RXQ);
}

static void guest_send_raw(struct virtio_dev *dev, const struct vsock_hdr *h, const void *data,
			   size_t len, size_t hdr_bytes)
{
	uint8_t *b = txbufs[tx_next++ % FQ_MAX];
	vsock_hdr_encode(h, b);
	struct virtq_chain *c = fake_chain(&f, VSOCK_TXQ);
	chain_out(c, b, hdr_bytes);
	if (len)
		chain_out(c, data, len);
	dev->ops->queue_notify(dev, VSOCK_TXQ);
}

static struct vsock_hdr ghdr(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct vsock_hdr){.src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
				  .dst_port = dst_port, .type = VSOCK_TYPE_STREAM, .op = op,
				  .buf_alloc = 1 << 20};
}

static void guest_send(struct virtio_dev *dev, uint16_t op, uint32_t src_port, uint32_t dst_port,
		       const void *data, size_t len)
{
	struct vsock_hdr h = ghdr(op, src_port, dst_port);
	h.len = (uint32_t)len;
	guest_send_raw(dev, &h, data, len, VSOCK_HDR_SIZE);
}

/* The next packet the device put in the rx queue, if any. */
static bool next_pkt(struct pkt *p)
{
	if (rx_seen >= f.q[VSOCK_RXQ].n_used)
		return false;
	uint16_t head = f.q[VSOCK_RXQ].used[rx_seen].head;
	uint32_t written = f.q[VSOCK_RXQ].used[rx_seen].written;
	rx_seen++;
	uint8_t *b = rxbufs[head]; /* fake_chain heads of queue 0 are 0, 1, 2, ... */
	struct iovec iov = {b, written};
	enum vsock_hdr_status st = vsock_hdr_decode(&iov, 1, written, &p->h);
	p->data = b + VSOCK_HDR_SIZE;
	return st == VSOCK_HDR_OK;
}

static bool have_pkt(void *arg)
{
	return rx_seen < f.q[VSOCK_RXQ].n_used;
}

/* Waits (running the stand-in event loop) for the next rx packet. */
static bool wait_pkt(struct pkt *p)
{
	fake_loop_until(&f, have_pkt, NULL, 2000);
	return next_pkt(p);
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		abort();
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0)
		abort();
	return fd;
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		abort();
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* read with a timeout; -2 on timeout */
static ssize_t read_timeout(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return -2;
	return read(fd, buf, len);
}

static void test_header_parse(void)
{
	uint8_t b[VSOCK_HDR_SIZE + 8];
	struct vsock_hdr h = ghdr(VSOCK_OP_RW, 1, 2), d;
	h.len = 8;
	vsock_hdr_encode(&h, b);
	memcpy(b + VSOCK_HDR_SIZE, "payload!", 8);
	struct iovec one = {b, sizeof(b)};
	CHECK(vsock_hdr_decode(&one, 1, sizeof(b), &d) == VSOCK_HDR_OK);
	CHECK(d.src_cid == CID && d.dst_port == 2 && d.len == 8 && d.op == VSOCK_OP_RW &&
	      d.buf_alloc == 1 << 20);
	/* split anywhere, even inside a field */
	struct iovec split[3] = {{b, 5}, {b + 5, 30}, {b + 35, sizeof(b) - 35}};
	CHECK(vsock_hdr_decode(split, 3, sizeof(b), &d) == VSOCK_HDR_OK && d.fwd_cnt == 0 && d.len == 8);
	struct iovec shrt = {b, VSOCK_HDR_SIZE - 1};
	CHECK(vsock_hdr_decode(&shrt, 1, VSOCK_HDR_SIZE - 1, &d) == VSOCK_HDR_SHORT);
	/* len must equal the bytes present */
	struct iovec less = {b, sizeof(b) - 1};
	CHECK(vsock_hdr_decode(&less, 1, sizeof(b) - 1, &d) == VSOCK_HDR_BAD_LEN);
	h.len = 0xffffffffu;
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_decode(&one, 1, sizeof(b), &d) == VSOCK_HDR_BAD_LEN);
	h.len = VSOCK_MAX_PKT + 1;
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_decode(&one, 1, sizeof(b), &d) == VSOCK_HDR_BAD_LEN);
}

static void test_connect_line(void)
{
	uint32_t port = 0;
#define LINE(s) s, sizeof(s) - 1
	CHECK(vsock_parse_connect(LINE("CONNECT 52\n"), &port) == 0 && port == 52);
	CHECK(vsock_parse_connect(LINE("CONNECT 4294967295\n"), &port) == 0 && port == UINT32_MAX);
	CHECK(vsock_parse_connect(LINE("CONNECT 0\n"), &port) == 0 && port == 0);
	CHECK(vsock_parse_connect(LINE("CONNECT 4294967296\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT 12345678901\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT \n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT 5x\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT -5\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("connect 5\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT 5"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT  5\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("CONNECT 5\r\n"), &port) == -EINVAL);
	CHECK(vsock_parse_connect(LINE("\n"), &port) == -EINVAL);
#undef LINE
}

static void test_guest_initiated(void)
{
	char lpath[160];
	snprintf(lpath, sizeof(lpath), "%s_1234", uds);
	int lfd = listen_at(lpath);
	struct virtio_dev *dev = make_dev();
	if (!dev) {
		CHECK(0);
		return;
	}
	post_rx(dev, 32);
	guest_send(dev, VSOCK_OP_REQUEST, 5000, 1234, NULL, 0);
	struct pkt p;
	CHECK(wait_pkt(&p));
	CHECK(p.h.op == VSOCK_OP_RESPONSE && p.h.src_cid == VSOCK_HOST_CID && p.h.dst_cid == CID);
	CHECK(p.h.src_port == 1234 && p.h.dst_port == 5000 && p.h.buf_alloc == VSOCK_BUF_ALLOC);
	int hfd = accept(lfd, NULL, NULL);
	CHECK(hfd >= 0);

	guest_send(dev, VSOCK_OP_RW, 5000, 1234, "ping", 4);
	char buf[64] = {0};
	CHECK(read_timeout(hfd, buf, sizeof(buf), 1000) == 4 && memcmp(buf, "ping", 4) == 0);

	CHECK(write(hfd, "pong", 4) == 4);
	CHECK(wait_pkt(&p));
	CHECK(p.h.op == VSOCK_OP_RW && p.h.len == 4 && memcmp(p.data, "pong", 4) == 0);
	CHECK(p.h.src_port == 1234 && p.h.dst_port == 5000);

	/* the guest asks for our credit */
	guest_send(dev, VSOCK_OP_CREDIT_REQUEST, 5000, 1234, NULL, 0);
	CHECK(wait_pkt(&p));
	CHECK(p.h.op == VSOCK_OP_CREDIT_UPDATE && p.h.fwd_cnt == 4 && p.h.buf_alloc == VSOCK_BUF_ALLOC);

	/* a second REQUEST on a live connection is a protocol error */
	guest_send(dev, VSOCK_OP_REQUEST, 5001, 1234, NULL, 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RESPONSE && p.h.dst_port == 5001);
	int hfd2 = accept(lfd, NULL, NULL);
	CHECK(vsock_of(dev)->n_conns == 2);
	guest_send(dev, VSOCK_OP_REQUEST, 5001, 1234, NULL, 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 5001);
	CHECK(vsock_of(dev)->n_conns == 1);
	CHECK(read_timeout(hfd2, buf, sizeof(buf), 1000) == 0);
	close(hfd2);

	/* half close from the guest: host sees EOF and can still answer */
	guest_send(dev, VSOCK_OP_SHUTDOWN, 5000, 1234, NULL, 0);
	struct vsock_hdr sh = ghdr(VSOCK_OP_SHUTDOWN, 5000, 1234);
	sh.flags = VSOCK_SHUTDOWN_SEND;
	guest_send_raw(dev, &sh, NULL, 0, VSOCK_HDR_SIZE);
	CHECK(read_timeout(hfd, buf, sizeof(buf), 1000) == 0);
	CHECK(write(hfd, "bye", 3) == 3);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RW && p.h.len == 3);
	/* host closes: the guest gets SHUTDOWN; its full shutdown gets our RST */
	close(hfd);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_SHUTDOWN && (p.h.flags & VSOCK_SHUTDOWN_SEND));
	sh.flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
	guest_send_raw(dev, &sh, NULL, 0, VSOCK_HDR_SIZE);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.src_port == 1234 && p.h.dst_port == 5000);
	CHECK(vsock_of(dev)->n_conns == 0);

	/* no listener on that port */
	guest_send(dev, VSOCK_OP_REQUEST, 5002, 4321, NULL, 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.src_port == 4321 && p.h.dst_port == 5002);
	CHECK(f.broken == 0);
	dev->ops->destroy(dev);
	close(lfd);
	unlink(lpath);
}

static bool host_readable(void *arg)
{
	struct pollfd p = {.fd = *(int *)arg, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

static void test_host_initiated(void)
{
	struct virtio_dev *dev = make_dev();
	if (!dev) {
		CHECK(0);
		return;
	}
	post_rx(dev, 32);
	int c = connect_to(uds);
	CHECK(c >= 0);
	/* the line and the first data in one write: the data must not be eaten */
	const char hello[] = "CONNECT 52\nearly";
	CHECK(write(c, hello, sizeof(hello) - 1) == (ssize_t)sizeof(hello) - 1);
	struct pkt p;
	CHECK(wait_pkt(&p));
	CHECK(p.h.op == VSOCK_OP_REQUEST && p.h.dst_port == 52 && p.h.src_port >= VSOCK_LOCAL_PORT_FIRST);
	uint32_t local = p.h.src_port;
	/* nothing reaches the client before the guest accepts */
	char buf[64] = {0};
	CHECK(read_timeout(c, buf, sizeof(buf), 50) == -2);
	guest_send(dev, VSOCK_OP_RESPONSE, 52, local, NULL, 0);
	char expect[32];
	int n = snprintf(expect, sizeof(expect), "OK %u\n", local);
	CHECK(fake_loop_until(&f, host_readable, &c, 1000));
	CHECK(read_timeout(c, buf, sizeof(buf), 1000) == n && memcmp(buf, expect, (size_t)n) == 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RW && p.h.len == 5 && memcmp(p.data, "early", 5) == 0);
	guest_send(dev, VSOCK_OP_RW, 52, local, "from guest", 10);
	CHECK(read_timeout(c, buf, sizeof(buf), 1000) == 10 && memcmp(buf, "from guest", 10) == 0);
	/* RST from the guest closes the client */
	guest_send(dev, VSOCK_OP_RST, 52, local, NULL, 0);
	CHECK(read_timeout(c, buf, sizeof(buf), 1000) == 0);
	close(c);
	CHECK(vsock_of(dev)->n_conns == 0);

	/* guest refuses */
	c = connect_to(uds);
	CHECK(write(c, "CONNECT 53\n", 11) == 11);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_REQUEST && p.h.dst_port == 53);
	guest_send(dev, VSOCK_OP_RST, 53, p.h.src_port, NULL, 0);
	CHECK(read_timeout(c, buf, sizeof(buf), 1000) == 0);
	close(c);

	/* guest never answers: the timer resets it */
	c = connect_to(uds);
	CHECK(write(c, "CONNECT 54\n", 11) == 11);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_REQUEST && p.h.dst_port == 54);
	struct vsock *vs = vsock_of(dev);
	vsock_lock(vs);
	vsock_tick(vs, vsock_now_ms() + 1000); /* not yet */
	vsock_unlock(vs);
	CHECK(vs->n_conns == 1);
	vsock_lock(vs);
	vsock_tick(vs, vsock_now_ms() + VSOCK_CONNECT_TIMEOUT_MS + 10);
	vsock_unlock(vs);
	CHECK(vs->n_conns == 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 54);
	CHECK(read_timeout(c, buf, sizeof(buf), 1000) == 0);
	close(c);

	/* client gives up while its REQUEST is pending */
	c = connect_to(uds);
	CHECK(write(c, "CONNECT 55\n", 11) == 11);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_REQUEST && p.h.dst_port == 55);
	close(c);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 55);
	CHECK(vs->n_conns == 0);

	/* RESPONSE for a connection nobody asked for */
	guest_send(dev, VSOCK_OP_RESPONSE, 60, 70, NULL, 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.src_port == 70 && p.h.dst_port == 60);
	CHECK(f.broken == 0);
	dev->ops->destroy(dev);
}

static void test_bad_lines(void)
{
	struct virtio_dev *dev = make_dev();
	if (!dev) {
		CHECK(0);
		return;
	}
	const char *bad[] = {"HELLO 5\n", "CONNECT five\n", "CONNECT 99999999999999999999999999999\n"};
	char buf[16];
	for (size_t i = 0; i < 3; i++) {
		int c = connect_to(uds);
		CHECK(write(c, bad[i], strlen(bad[i])) == (ssize_t)strlen(bad[i]));
		for (int k = 0; k < 10 && !host_readable(&c); k++)
			fake_loop_once(&f, 20);
		ssize_t r = read_timeout(c, buf, sizeof(buf), 100);
		CHECK(r == 0 || (r == -1 && errno == ECONNRESET)); /* closed, unread bytes or not */
		close(c);
	}
	/* a silent client is dropped after the line timeout */
	int c = connect_to(uds);
	fake_loop_once(&f, 50);
	struct vsock *vs = vsock_of(dev);
	CHECK(vs->n_pending == 1);
	vsock_lock(vs);
	vsock_tick(vs, vsock_now_ms() + VSOCK_LINE_TIMEOUT_MS + 10);
	vsock_unlock(vs);
	CHECK(vs->n_pending == 0);
	CHECK(read_timeout(c, buf, sizeof(buf), 100) == 0);
	close(c);
	CHECK(vs->n_conns == 0);
	dev->ops->destroy(dev);
}

/* Sets up one established guest-initiated connection (guest port 6000 -> host port 7000). */
static int establish(struct virtio_dev *dev, int *lfd, uint32_t guest_buf_alloc)
{
	char lpath[160];
	snprintf(lpath, sizeof(lpath), "%s_7000", uds);
	*lfd = listen_at(lpath);
	struct vsock_hdr h = ghdr(VSOCK_OP_REQUEST, 6000, 7000);
	h.buf_alloc = guest_buf_alloc;
	guest_send_raw(dev, &h, NULL, 0, VSOCK_HDR_SIZE);
	struct pkt p;
	if (!wait_pkt(&p) || p.h.op != VSOCK_OP_RESPONSE)
		return -1;
	return accept(*lfd, NULL, NULL);
}

static void test_credit(void)
{
	struct virtio_dev *dev = make_dev();
	if (!dev) {
		CHECK(0);
		return;
	}
	post_rx(dev, 40);
	int lfd, h = establish(dev, &lfd, 1000);
	CHECK(h >= 0);
	static char big[3000];
	memset(big, 'q', sizeof(big));
	CHECK(write(h, big, sizeof(big)) == (ssize_t)sizeof(big));
	/* exactly the guest's 1000 bytes of room, then a CREDIT_REQUEST, then silence */
	uint32_t got = 0;
	struct pkt p;
	while (got < 1000 && wait_pkt(&p) && p.h.op == VSOCK_OP_RW)
		got += p.h.len;
	CHECK(got == 1000);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_CREDIT_REQUEST);
	for (int i = 0; i < 5; i++)
		fake_loop_once(&f, 10);
	CHECK(!next_pkt(&p));
	/* the guest consumed 1000: another 1000 flow */
	struct vsock_hdr u = ghdr(VSOCK_OP_CREDIT_UPDATE, 6000, 7000);
	u.buf_alloc = 1000;
	u.fwd_cnt = 1000;
	guest_send_raw(dev, &u, NULL, 0, VSOCK_HDR_SIZE);
	got = 0;
	while (got < 1000 && wait_pkt(&p) && p.h.op == VSOCK_OP_RW)
		got += p.h.len;
	CHECK(got == 1000);
	/* a lying fwd_cnt (ahead of what we sent) gives no extra room */
	u.fwd_cnt = 50000;
	guest_send_raw(dev, &u, NULL, 0, VSOCK_HDR_SIZE);
	struct vsock_conn *c = vsock_conn_lookup(vsock_of(dev), 7000, 6000);
	CHECK(c && vsock_conn_peer_free(c) == 0);
	close(h);
	close(lfd);
	dev->ops->destroy(dev);
}

static void test_overrun_and_malformed(void)
{
	struct virtio_dev *dev = make_dev();
	if (!dev) {
		CHECK(0);
		return;
	}
	post_rx(dev, 40);
	int lfd, h = establish(dev, &lfd, 1 << 20);
	CHECK(h >= 0);
	/* the guest ignores our credit: the host never reads, we reset */
	static char chunk[VSOCK_MAX_PKT];
	struct pkt p;
	bool reset = false;
	for (int i = 0; i < 200 && !reset; i++) {
		guest_send(dev, VSOCK_OP_RW, 6000, 7000, chunk, sizeof(chunk));
		while (next_pkt(&p))
			reset |= p.h.op == VSOCK_OP_RST;
	}
	CHECK(reset);
	CHECK(vsock_of(dev)->n_conns == 0);
	close(h);

	/* header says more than the chain holds, or more than a packet may carry */
	h = establish(dev, &lfd, 1 << 20);
	struct vsock_hdr bad = ghdr(VSOCK_OP_RW, 6000, 7000);
	bad.len = 100;
	guest_send_raw(dev, &bad, "tiny", 4, VSOCK_HDR_SIZE);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 6000);
	CHECK(vsock_of(dev)->n_conns == 0);
	close(h);

	/* wrong CIDs and types are refused, RSTs are never answered, short headers are dropped */
	bad = ghdr(VSOCK_OP_REQUEST, 6001, 7000);
	bad.dst_cid = 77;
	guest_send_raw(dev, &bad, NULL, 0, VSOCK_HDR_SIZE);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 6001);
	bad = ghdr(VSOCK_OP_REQUEST, 6002, 7000);
	bad.src_cid = 99;
	guest_send_raw(dev, &bad, NULL, 0, VSOCK_HDR_SIZE);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 6002);
	bad = ghdr(VSOCK_OP_REQUEST, 6003, 7000);
	bad.type = 2; /* SEQPACKET, not offered */
	guest_send_raw(dev, &bad, NULL, 0, VSOCK_HDR_SIZE);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 6003);
	guest_send(dev, VSOCK_OP_RW, 6004, 7000, "x", 1); /* unknown connection */
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 6004);
	guest_send(dev, 99, 6005, 7000, NULL, 0); /* unknown op, unknown connection */
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 6005);
	guest_send(dev, VSOCK_OP_RST, 6006, 7000, NULL, 0);
	bad = ghdr(VSOCK_OP_REQUEST, 6007, 7000);
	guest_send_raw(dev, &bad, NULL, 0, VSOCK_HDR_SIZE - 1);
	fake_loop_once(&f, 10);
	CHECK(!next_pkt(&p));
	CHECK(vsock_of(dev)->n_conns == 0 && !host_readable(&lfd)); /* no connection attempted */

	/* an unknown op on a live connection resets it */
	h = establish(dev, &lfd, 1 << 20);
	guest_send(dev, 42, 6000, 7000, NULL, 0);
	CHECK(wait_pkt(&p) && p.h.op == VSOCK_OP_RST);
	CHECK(vsock_of(dev)->n_conns == 0);
	close(h);
	CHECK(f.broken == 0);

	/* an rx buffer too small for a header breaks the device, not the VMM */
	static uint8_t small[VSOCK_HDR_SIZE];
	memset(&f.q[VSOCK_RXQ], 0, sizeof(f.q[VSOCK_RXQ]));
	rx_seen = 0;
	guest_send(dev, VSOCK_OP_RW, 6008, 7000, "x", 1); /* an RST is now owed */
	struct virtq_chain *c = fake_chain(&f, VSOCK_RXQ);
	chain_in(c, small, sizeof(small));
	dev->ops->queue_notify(dev, VSOCK_RXQ);
	CHECK(f.broken == 1);
	close(lfd);
	dev->ops->destroy(dev);
}

static void test_transport_reset_and_config(void)
{
	struct virtio_dev *dev = make_dev();
	if (!dev) {
		CHECK(0);
		return;
	}
	uint64_t cid = 0;
	dev->ops->config_read(dev, 0, &cid, 8);
	CHECK(cid == CID && dev->ops->num_queues == 3 && dev->ops->device_id == VIRTIO_ID_VSOCK);
	post_rx(dev, 8);
	int lfd, h = establish(dev, &lfd, 1 << 20);
	CHECK(vsock_of(dev)->n_conns == 1);
	uint32_t ev = 0xffffffff;
	struct virtq_chain *c = fake_chain(&f, VSOCK_EVQ);
	chain_in(c, &ev, sizeof(ev));
	virtio_vsock_transport_reset(dev);
	CHECK(f.q[VSOCK_EVQ].n_used == 1 && f.q[VSOCK_EVQ].used[0].written == 4 && ev == 0);
	CHECK(vsock_of(dev)->n_conns == 0);
	char buf[8];
	CHECK(read_timeout(h, buf, sizeof(buf), 1000) == 0);
	close(h);
	close(lfd);
	/* driver reset then re-activation works */
	dev->ops->reset(dev);
	struct hy_error err = {0};
	CHECK(dev->ops->activate(dev, &err) == 0);
	dev->ops->destroy(dev);
	struct stat st;
	CHECK(stat(uds, &st) < 0 && errno == ENOENT); /* destroy removed the socket */

	/* creation errors */
	struct virtio_dev *d = NULL;
	CHECK(virtio_vsock_create(2, uds, &d, &err) == -EINVAL && !d);
	CHECK(virtio_vsock_create(UINT32_MAX, uds, &d, &err) == -EINVAL);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	CHECK(virtio_vsock_create(3, longp, &d, &err) == -ENAMETOOLONG);
	/* a live listener's path is refused, a stale socket file is reused */
	int live = listen_at(uds);
	CHECK(virtio_vsock_create(3, uds, &d, &err) == -EADDRINUSE);
	CHECK(stat(uds, &st) == 0);
	close(live);
	CHECK(virtio_vsock_create(3, uds, &d, &err) == 0 && d);
	if (d)
		d->ops->destroy(d);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hyrun-vsock.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	test_header_parse();
	test_connect_line();
	test_guest_initiated();
	test_host_initiated();
	test_bad_lines();
	test_credit();
	test_overrun_and_malformed();
	test_transport_reset_and_config();
	rmdir(dir);
	return UNIT_DONE();
}
