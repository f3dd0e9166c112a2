/* virtio-net over a datagram socketpair standing in for the tap (one frame per read/write, the
 * 12-byte header in front): config space, tx gather and the header the tap gets, malformed tx
 * chains, rx into posted chains, rx-buffer exhaustion (polling stops, then resumes on the guest's
 * kick), the `--net` spec parser and a missing tap. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "sandbox-vm/vmm/devices/net.h"
#include "sandbox-vm/vmm/vmm.h"
#include "unit.h"

static struct fake_io f;

static struct virtio_dev *make_dev(int *peer, unsigned mtu)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct virtio_net_params p = {.tap = "test0", .mac = {0x52, 0x54, 0, 1, 2, 3}, .mtu = mtu};
	struct virtio_dev *dev = NULL;
	struct hy_error err = {0};
	CHECK(virtio_net_create_fd(sv[0], &p, &dev, &err) == 0);
	if (!dev)
		abort();
	memset(&f, 0, sizeof(f));
	dev_io_set(dev, &fake_io_ops, &f);
	CHECK(dev->ops->activate(dev, &err) == 0);
	*peer = sv[1];
	return dev;
}

static void test_config(void)
{
	int peer;
	struct virtio_dev *dev = make_dev(&peer, 9000);
	uint8_t cfg[NET_CONFIG_SIZE];
	CHECK(dev->ops->config_size == NET_CONFIG_SIZE);
	dev->ops->config_read(dev, 0, cfg, sizeof(cfg));
	static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
	CHECK(memcmp(cfg, mac, 6) == 0);
	CHECK(cfg[6] == NET_S_LINK_UP && cfg[7] == 0);		 /* status */
	CHECK(cfg[8] == 1 && cfg[9] == 0);			 /* max_virtqueue_pairs */
	CHECK(cfg[10] == (9000 & 0xff) && cfg[11] == 9000 >> 8); /* mtu */
	CHECK((dev->ops->features & (NET_F_MAC | NET_F_STATUS | NET_F_MTU | NET_F_OFFLOADS)) ==
	      (NET_F_MAC | NET_F_STATUS | NET_F_MTU | NET_F_OFFLOADS));
	CHECK(dev->ops->num_queues == 2);
	dev->ops->destroy(dev);
	close(peer);

	/* no mtu: not offered; no mac: random, unicast, locally administered */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	struct virtio_net_params p = {.tap = "test1"};
	struct hy_error err = {0};
	CHECK(virtio_net_create_fd(sv[0], &p, &dev, &err) == 0);
	CHECK(!(dev->ops->features & NET_F_MTU));
	dev->ops->config_read(dev, 0, cfg, 6);
	CHECK((cfg[0] & 3) == 2);
	dev->ops->destroy(dev);
	close(sv[1]);

	/* an mtu the guest could not use is refused (and the fd is not leaked: ASan-clean) */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	p.mtu = 40;
	CHECK(virtio_net_create_fd(sv[0], &p, &dev, &err) < 0 && dev == NULL);
	CHECK_STR_CONTAINS(err.msg, "mtu 40");
	close(sv[1]);
}

static void test_tx(void)
{
	int peer;
	struct virtio_dev *dev = make_dev(&peer, 0);
	struct virtio_net_stats st;

	/* header (with offload bits the guest never negotiated) + a frame in two segments */
	uint8_t hdr[NET_HDR_SIZE];
	memset(hdr, 0xab, sizeof(hdr));
	uint8_t a[20], b[44];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	struct virtq_chain *c = fake_chain(&f, NET_TXQ);
	chain_out(c, hdr, sizeof(hdr));
	chain_out(c, a, sizeof(a));
	chain_out(c, b, sizeof(b));
	dev->ops->queue_notify(dev, NET_TXQ);
	uint8_t got[256];
	ssize_t r = recv(peer, got, sizeof(got), MSG_DONTWAIT);
	CHECK(r == (ssize_t)(NET_HDR_SIZE + 64));
	static const uint8_t zero[NET_HDR_SIZE];
	CHECK(memcmp(got, zero, NET_HDR_SIZE) == 0); /* a plain header, not the guest's */
	CHECK(memcmp(got + NET_HDR_SIZE, a, 20) == 0 &&
	      memcmp(got + NET_HDR_SIZE + 20, b, 44) == 0);
	CHECK(f.q[NET_TXQ].n_used == 1 && f.q[NET_TXQ].used[0].written == 0);
	CHECK(f.q[NET_TXQ].notifies == 1);

	/* malformed: no room for header + Ethernet header; longer than any frame; no readable part
	 */
	c = fake_chain(&f, NET_TXQ);
	chain_out(c, hdr, sizeof(hdr));
	chain_out(c, a, 10);
	size_t big_len = NET_MAX_CHAIN + 1;
	uint8_t *big = calloc(1, big_len);
	c = fake_chain(&f, NET_TXQ);
	chain_out(c, big, big_len);
	c = fake_chain(&f, NET_TXQ);
	chain_in(c, a, sizeof(a));
	/* and the largest frame allowed still goes through */
	c = fake_chain(&f, NET_TXQ);
	chain_out(c, big, NET_MAX_CHAIN);
	dev->ops->queue_notify(dev, NET_TXQ);
	CHECK(f.q[NET_TXQ].n_used == 5); /* every chain is returned */
	virtio_net_get_stats(dev, &st);
	CHECK(st.tx_dropped == 3);
	CHECK(st.tx_frames + st.tx_errors ==
	      2); /* the socket may refuse 64 KiB: counted either way */
	CHECK(f.broken == 0);
	free(big);
	while (recv(peer, got, sizeof(got), MSG_DONTWAIT) > 0)
		;

	/* with CSUM + HOST_TSO4 negotiated, a TSO header goes to the tap as the guest wrote it
	 * (num_buffers aside); work it did not negotiate is refused */
	dev->driver_features = NET_F_CSUM | NET_F_HOST_TSO4;
	static const struct {
		uint8_t flags, gso;
		bool sent;
	} cases[] = {
	    {1, NET_HDR_GSO_TCPV4, true},
	    {1, NET_HDR_GSO_NONE, true},
	    {0, NET_HDR_GSO_NONE, true},
	    {0, NET_HDR_GSO_TCPV4, false}, /* TSO needs csum */
	    {1, NET_HDR_GSO_TCPV6, false},
	    {1, 3 /* UDP */, false},
	    {1, NET_HDR_GSO_TCPV4 | 0x80 /* ECN */, false},
	    {2 /* DATA_VALID */, 0, false},
	};
	virtio_net_get_stats(dev, &st);
	uint64_t dropped = st.tx_dropped;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[NET_HDR_SIZE] = {
		    cases[i].flags, cases[i].gso, 54, 0, 0xa8, 5, 34, 0, 16, 0, 9, 9};
		c = fake_chain(&f, NET_TXQ);
		chain_out(c, h, sizeof(h));
		chain_out(c, b, sizeof(b));
		dev->ops->queue_notify(dev, NET_TXQ);
		r = recv(peer, got, sizeof(got), MSG_DONTWAIT);
		CHECK((r > 0) == cases[i].sent);
		if (r > 0) {
			CHECK(r == (ssize_t)(NET_HDR_SIZE + sizeof(b)));
			CHECK(memcmp(got, h, 10) == 0 && got[10] == 0 && got[11] == 0);
		} else {
			dropped++;
		}
	}
	virtio_net_get_stats(dev, &st);
	CHECK(st.tx_dropped == dropped);
	dev->ops->destroy(dev);
	close(peer);
}

static bool rx_used(void *arg)
{
	return f.q[NET_RXQ].n_used >= *(unsigned *)arg;
}

static void send_frame(int peer, uint8_t fill, size_t frame_len)
{
	uint8_t pkt[2048];
	memset(pkt, 0xee, NET_HDR_SIZE); /* the tap's header bytes; num_buffers must be fixed up */
	memset(pkt + NET_HDR_SIZE, fill, frame_len);
	if (send(peer, pkt, NET_HDR_SIZE + frame_len, 0) != (ssize_t)(NET_HDR_SIZE + frame_len))
		abort();
}

static void test_rx(void)
{
	int peer;
	struct virtio_dev *dev = make_dev(&peer, 0);
	struct virtio_net_stats st;
	struct fake_watch *w = &f.w[0];
	CHECK(w->live && (w->events & EPOLLIN));

	/* a frame before any rx buffer: polling stops instead of spinning, nothing is lost */
	send_frame(peer, 'x', 60);
	fake_loop_once(&f, 100);
	virtio_net_get_stats(dev, &st);
	CHECK(st.rx_stalls == 1 && st.rx_frames == 0);
	CHECK(w->live && w->events == 0);
	CHECK(fake_loop_once(&f, 50) == 0); /* not polled while the guest has no buffer */

	/* the guest posts a buffer (scattered: the header straddles two segments) */
	uint8_t s1[8], s2[200];
	memset(s1, 0, sizeof(s1));
	memset(s2, 0, sizeof(s2));
	struct virtq_chain *c = fake_chain(&f, NET_RXQ);
	chain_in(c, s1, sizeof(s1));
	chain_in(c, s2, sizeof(s2));
	dev->ops->queue_notify(dev, NET_RXQ);
	CHECK(f.q[NET_RXQ].n_used == 1);
	CHECK(f.q[NET_RXQ].used[0].written == NET_HDR_SIZE + 60);
	CHECK(s2[2] == 1 && s2[3] == 0); /* num_buffers (header bytes 10..11) = 1 */
	CHECK(s2[4] == 'x' && s2[4 + 59] == 'x');
	CHECK(f.q[NET_RXQ].notifies == 1);
	/* the queue ran dry again; the next buffer turns polling back on */
	CHECK(w->events == 0);

	uint8_t bufs[4][128];
	for (int i = 0; i < 4; i++) {
		c = fake_chain(&f, NET_RXQ);
		chain_in(c, bufs[i], sizeof(bufs[i]));
	}
	dev->ops->queue_notify(dev, NET_RXQ);
	CHECK(w->events & EPOLLIN);
	/* two frames through the event loop */
	send_frame(peer, '1', 40);
	send_frame(peer, '2', 100);
	unsigned want = 3;
	CHECK(fake_loop_until(&f, rx_used, &want, 2000));
	CHECK(f.q[NET_RXQ].used[1].written == NET_HDR_SIZE + 40 && bufs[0][NET_HDR_SIZE] == '1');
	CHECK(f.q[NET_RXQ].used[2].written == NET_HDR_SIZE + 100 && bufs[1][NET_HDR_SIZE] == '2');
	virtio_net_get_stats(dev, &st);
	CHECK(st.rx_frames == 3 && st.rx_errors == 0 && st.rx_bytes == 200);

	/* runts are counted and do not use up the chain */
	uint8_t runt[NET_HDR_SIZE + 4] = {0};
	CHECK(send(peer, runt, sizeof(runt), 0) == (ssize_t)sizeof(runt));
	send_frame(peer, '3', 50);
	want = 4;
	CHECK(fake_loop_until(&f, rx_used, &want, 2000));
	CHECK(f.q[NET_RXQ].used[3].written == NET_HDR_SIZE + 50 && bufs[2][NET_HDR_SIZE] == '3');
	virtio_net_get_stats(dev, &st);
	CHECK(st.rx_errors == 1);

	/* reset: the tap leaves the loop; after re-activation it is back */
	dev->ops->reset(dev);
	CHECK(!fake_find(&f, w->fd));
	struct hy_error err = {0};
	CHECK(dev->ops->activate(dev, &err) == 0);
	CHECK(fake_find(&f, w->fd) != NULL);
	CHECK(f.broken == 0);
	dev->ops->destroy(dev);
	close(peer);
}

static void test_spec(void)
{
	struct vmm_net n;
	char name[IFNAMSIZ];
	struct hy_error err = {0};
	CHECK(net_spec_parse("tap0", &n, name, &err) == 0);
	CHECK(!strcmp(n.tap, "tap0") && n.mtu == 0 && n.mac[0] == 0);
	CHECK(net_spec_parse("hytap0,mac=02:AA:bb:00:11:ff,mtu=9000", &n, name, &err) == 0);
	CHECK(!strcmp(n.tap, "hytap0") && n.mtu == 9000);
	CHECK(n.mac[0] == 2 && n.mac[1] == 0xaa && n.mac[2] == 0xbb && n.mac[5] == 0xff);
	CHECK(net_spec_parse("t,mtu=1400,mac=52:54:00:00:00:01", &n, name, &err) == 0 &&
	      n.mtu == 1400);

	static const char *const bad[] = {
	    "",
	    ",mtu=1500",
	    "averyveryverylongtapname",
	    "tap0,mtu=67",
	    "tap0,mtu=65536",
	    "tap0,mtu=-1",
	    "tap0,mtu=15x",
	    "tap0,mtu=",
	    "tap0,mac=01:00:5e:00:00:01",
	    "tap0,mac=00:00:00:00:00:00",
	    "tap0,mac=52:54:00:00:00",
	    "tap0,mac=52:54:00:00:00:0g",
	    "tap0,mac=52-54-00-00-00-01",
	    "tap0,speed=10",
	    "tap0,",
	    "a/b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = net_spec_parse(bad[i], &n, name, &err);
		CHECK(rc < 0);
		if (rc == 0)
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
	}
	CHECK(net_spec_parse("tap0,speed=10", &n, name, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "unknown option 'speed=10'");
}

static void test_missing_tap(void)
{
	int fd = 123;
	struct hy_error err = {0};
	CHECK(net_tap_open("hy-no-such9", &fd, &err) == -ENODEV);
	CHECK(fd == -1);
	CHECK_STR_CONTAINS(err.msg, "no such tap device");
	CHECK_STR_CONTAINS(err.msg, "hy-no-such9");
	struct virtio_net_params p = {.tap = "hy-no-such9"};
	struct virtio_dev *dev = (struct virtio_dev *)&p;
	CHECK(virtio_net_create(&p, &dev, &err) < 0 && dev == NULL);
}

int main(void)
{
	test_config();
	test_tx();
	test_rx();
	test_spec();
	test_missing_tap();
	return UNIT_DONE();
}
