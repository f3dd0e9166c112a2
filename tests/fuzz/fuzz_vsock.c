/* libFuzzer target: a hostile guest (random tx packets, odd rx buffers) and a busy host side
 * (CONNECT lines, data, closes, timer ticks, resets) driving one virtio-vsock device through the
 * in-memory queues of tests/unit/fake_virtq.h. No KVM needed.
 *
 * Input: a list of commands, each one selector byte followed by its arguments. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/vsock.h"
#include "tests/unit/fake_virtq.h"

#define GUEST_CID 3
#define MAX_HOST_FDS 16
#define RX_BUF 4096

static char uds[108], listen_path[128];
static int listener = -1;
static struct fake_io f;
static uint8_t rxmem[FQ_MAX][RX_BUF + 64];
static uint8_t txmem[FQ_MAX][VSOCK_HDR_SIZE + 512];
static unsigned rx_slot, tx_slot;

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static void setup_once(void)
{
	if (listener >= 0)
		return;
	char dir[] = "/tmp/hyrun-fuzz-vsock.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(listen_path, sizeof(listen_path), "%s_1234", uds);
	/* a host service on port 1234 so guest REQUESTs can succeed */
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, listen_path, strlen(listen_path) + 1);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bind(listener, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(listener, 128) < 0)
		abort();
}

static int host_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, uds, strlen(uds) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void guest_packet(struct virtio_dev *dev, struct input *in)
{
	uint8_t *b = txmem[tx_slot++ % FQ_MAX];
	size_t want = byte(in) | (size_t)(byte(in) & 1) << 8;
	want = want > sizeof(txmem[0]) ? sizeof(txmem[0]) : want;
	size_t n = want < in->n ? want : in->n;
	memset(b, 0, sizeof(txmem[0]));
	memcpy(b, in->p, n);
	in->p += n;
	in->n -= n;
	uint8_t fix = byte(in);
	if (n >= VSOCK_HDR_SIZE && (fix & 1)) {
		/* mostly-valid header so the state machine gets past the CID/type checks */
		struct vsock_hdr h;
		struct iovec v = {b, VSOCK_HDR_SIZE};
		vsock_hdr_decode(&v, 1, VSOCK_HDR_SIZE, &h);
		h.src_cid = GUEST_CID;
		h.dst_cid = VSOCK_HOST_CID;
		h.type = VSOCK_TYPE_STREAM;
		h.op %= 9;
		h.src_port %= 4;
		h.dst_port = (fix & 2) ? 1234 : VSOCK_LOCAL_PORT_FIRST + h.dst_port % 4;
		if (fix & 4)
			h.len = (uint32_t)(n - VSOCK_HDR_SIZE);
		vsock_hdr_encode(&h, b);
	}
	struct virtq_chain *c = fake_chain(&f, VSOCK_TXQ);
	/* split the packet over up to 4 segments at fuzzer-chosen points */
	size_t off = 0;
	for (int i = 0; i < 3 && off < n; i++) {
		size_t cut = byte(in) % (n - off + 1);
		if (cut) {
			chain_out(c, b + off, cut);
			off += cut;
		}
	}
	if (off < n)
		chain_out(c, b + off, n - off);
	dev->ops->queue_notify(dev, VSOCK_TXQ);
}

static void post_rx(struct virtio_dev *dev, struct input *in)
{
	unsigned count = byte(in) % 8 + 1;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *b = rxmem[rx_slot++ % FQ_MAX];
		size_t len = (byte(in) & 1) ? RX_BUF + VSOCK_HDR_SIZE : (size_t)byte(in);
		struct virtq_chain *c = fake_chain(&f, VSOCK_RXQ);
		size_t first = len < VSOCK_HDR_SIZE ? len : VSOCK_HDR_SIZE;
		if (first)
			chain_in(c, b, first);
		if (len > first)
			chain_in(c, b + first, len - first);
	}
	dev->ops->queue_notify(dev, VSOCK_RXQ);
}

static void host_action(struct virtio_dev *dev, struct input *in, int *fds)
{
	uint8_t op = byte(in), k = byte(in) % MAX_HOST_FDS;
	char line[48];
	switch (op % 6) {
	case 0: /* new client with a CONNECT line (sometimes malformed) */
		if (fds[k] >= 0)
			close(fds[k]);
		fds[k] = host_connect();
		if (fds[k] >= 0) {
			int n = (op & 8) ? snprintf(line, sizeof(line), "CONNECT %u\n", byte(in) % 4)
					 : snprintf(line, sizeof(line), "CONNECT %u%c", byte(in), byte(in));
			(void)!send(fds[k], line, (size_t)n, MSG_NOSIGNAL);
		}
		break;
	case 1: /* accept a guest-initiated connection */
		if (fds[k] >= 0)
			close(fds[k]);
		fds[k] = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case 2: { /* data from the host */
		static char data[8192];
		size_t n = (size_t)byte(in) * 32;
		if (fds[k] >= 0)
			(void)!send(fds[k], data, n, MSG_NOSIGNAL);
		break;
	}
	case 3: { /* the host reads */
		static char sink[65536];
		if (fds[k] >= 0)
			(void)!read(fds[k], sink, sizeof(sink));
		break;
	}
	case 4:
		if (fds[k] >= 0)
			shutdown(fds[k], (op & 8) ? SHUT_WR : SHUT_RDWR);
		break;
	default:
		if (fds[k] >= 0)
			close(fds[k]);
		fds[k] = -1;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	struct input in = {data, size};
	/* the pure parsers on the raw input too */
	struct vsock_hdr h;
	struct iovec v = {(void *)data, size};
	vsock_hdr_decode(&v, 1, size, &h);
	uint32_t port;
	vsock_parse_connect((const char *)data, size < 64 ? size : 64, &port);

	struct virtio_dev *dev = NULL;
	struct hy_error err;
	if (virtio_vsock_create(GUEST_CID, uds, &dev, &err) < 0)
		abort();
	memset(&f, 0, sizeof(f));
	rx_slot = tx_slot = 0;
	dev_io_set(dev, &fake_io_ops, &f);
	if (dev->ops->activate(dev, &err) < 0)
		abort();
	struct vsock *vs = vsock_of(dev);
	int fds[MAX_HOST_FDS];
	for (int i = 0; i < MAX_HOST_FDS; i++)
		fds[i] = -1;
	for (int steps = 0; in.n > 0 && steps < 256; steps++) {
		switch (byte(&in) % 8) {
		case 0:
		case 1:
			guest_packet(dev, &in);
			break;
		case 2:
			post_rx(dev, &in);
			break;
		case 3:
			host_action(dev, &in, fds);
			break;
		case 4:
		case 5:
			fake_loop_once(&f, 0);
			break;
		case 6:
			vsock_lock(vs);
			vsock_tick(vs, vsock_now_ms() + (uint64_t)byte(&in) * 100);
			vsock_unlock(vs);
			break;
		default:
			if (byte(&in) & 1) {
				virtio_vsock_transport_reset(dev);
			} else {
				dev->ops->reset(dev);
				memset(&f, 0, sizeof(f));
				if (dev->ops->activate(dev, &err) < 0)
					abort();
			}
			break;
		}
		/* invariants that must hold whatever the guest did */
		if (vs->n_conns > VSOCK_MAX_CONNS || vs->n_pending > VSOCK_MAX_PENDING ||
		    vs->rst_count > VSOCK_RST_RING)
			abort();
		for (size_t i = 0; i < VSOCK_MAX_CONNS; i++)
			if (vs->conns[i].state != CONN_FREE && vs->conns[i].buf_len > VSOCK_BUF_ALLOC)
				abort();
	}
	dev->ops->destroy(dev);
	for (int i = 0; i < MAX_HOST_FDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* drain guest-initiated connections nobody accepted */
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	return 0;
}
