/* virtio-console (pipes on both sides, back-pressure, EOF, a vanished reader) and virtio-rng. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "sandbox-vm/vmm/devices/console.h"
#include "sandbox-vm/vmm/devices/rng.h"
#include "unit.h"

static struct fake_io f;

static bool pushed_rx(void *arg)
{
	return f.q[CONSOLE_RXQ].n_used >= *(unsigned *)arg;
}

static bool pushed_tx(void *arg)
{
	return f.q[CONSOLE_TXQ].n_used >= *(unsigned *)arg;
}

static void test_console(void)
{
	int in[2], out[2];
	if (pipe(in) < 0 || pipe(out) < 0)
		abort();
	struct virtio_dev *dev = NULL;
	struct hy_error err = {0};
	CHECK(virtio_console_create(in[0], out[1], &dev, &err) == 0);
	if (!dev)
		return;
	memset(&f, 0, sizeof(f));
	dev_io_set(dev, &fake_io_ops, &f);
	CHECK(dev->ops->activate(dev, &err) == 0);

	/* guest output, gathered from two segments */
	struct virtq_chain *c = fake_chain(&f, CONSOLE_TXQ);
	chain_out(c, "hello ", 6);
	chain_out(c, "world\n", 6);
	dev->ops->queue_notify(dev, CONSOLE_TXQ);
	char buf[256] = {0};
	CHECK(read(out[0], buf, sizeof(buf)) == 12);
	CHECK(memcmp(buf, "hello world\n", 12) == 0);
	CHECK(f.q[CONSOLE_TXQ].n_used == 1 && f.q[CONSOLE_TXQ].notifies == 1);

	/* input typed before the guest posted a buffer waits in the pipe */
	CHECK(write(in[1], "abc", 3) == 3);
	char rx1[16] = {0}, rx2[16] = {0};
	c = fake_chain(&f, CONSOLE_RXQ);
	chain_in(c, rx1, sizeof(rx1));
	dev->ops->queue_notify(dev, CONSOLE_RXQ);
	CHECK(f.q[CONSOLE_RXQ].n_used == 1);
	CHECK(f.q[CONSOLE_RXQ].used[0].written == 3 && memcmp(rx1, "abc", 3) == 0);

	/* a posted buffer is filled when input arrives (through the event loop) */
	c = fake_chain(&f, CONSOLE_RXQ);
	chain_in(c, rx2, sizeof(rx2));
	dev->ops->queue_notify(dev, CONSOLE_RXQ);
	CHECK(f.q[CONSOLE_RXQ].n_used == 1);
	CHECK(write(in[1], "xyz!", 4) == 4);
	unsigned want = 2;
	CHECK(fake_loop_until(&f, pushed_rx, &want, 2000));
	CHECK(f.q[CONSOLE_RXQ].used[1].written == 4 && memcmp(rx2, "xyz!", 4) == 0);

	/* back-pressure: a full out pipe keeps the chain until it drains */
	fcntl(out[1], F_SETFL, O_NONBLOCK);
	static char fill[4096];
	size_t filled = 0;
	ssize_t w;
	while ((w = write(out[1], fill, sizeof(fill))) > 0)
		filled += (size_t)w;
	c = fake_chain(&f, CONSOLE_TXQ);
	chain_out(c, "late", 4);
	dev->ops->queue_notify(dev, CONSOLE_TXQ);
	CHECK(f.q[CONSOLE_TXQ].n_used == 1); /* held, not returned */
	static char drain[1 << 16];
	while (filled > 0) {
		ssize_t r = read(out[0], drain, filled < sizeof(drain) ? filled : sizeof(drain));
		if (r <= 0)
			break;
		filled -= (size_t)r;
	}
	want = 2;
	CHECK(fake_loop_until(&f, pushed_tx, &want, 2000));
	CHECK(read(out[0], buf, sizeof(buf)) == 4 && memcmp(buf, "late", 4) == 0);

	/* EOF on input: the held buffer stays with us, nothing is pushed */
	c = fake_chain(&f, CONSOLE_RXQ);
	chain_in(c, rx1, sizeof(rx1));
	dev->ops->queue_notify(dev, CONSOLE_RXQ);
	close(in[1]);
	for (int i = 0; i < 5; i++)
		fake_loop_once(&f, 10);
	CHECK(f.q[CONSOLE_RXQ].n_used == 2);

	/* the reader of the output went away: output is dropped, the VMM survives */
	close(out[0]);
	c = fake_chain(&f, CONSOLE_TXQ);
	chain_out(c, "lost", 4);
	dev->ops->queue_notify(dev, CONSOLE_TXQ);
	CHECK(f.q[CONSOLE_TXQ].n_used == 3);
	CHECK(f.broken == 0);

	dev->ops->reset(dev);
	dev->ops->destroy(dev);
	/* the device owned in[0] and out[1]: both are closed now */
	CHECK(fcntl(in[0], F_GETFD) < 0 && errno == EBADF);
	CHECK(fcntl(out[1], F_GETFD) < 0 && errno == EBADF);
}

static void test_console_file_output(void)
{
	char path[] = "/tmp/hyrun-console-test.XXXXXX";
	int fd = mkstemp(path);
	struct virtio_dev *dev = NULL;
	struct hy_error err = {0};
	CHECK(virtio_console_create(-1, fd, &dev, &err) == 0);
	if (!dev)
		return;
	memset(&f, 0, sizeof(f));
	dev_io_set(dev, &fake_io_ops, &f);
	CHECK(dev->ops->activate(dev, &err) == 0);
	struct virtq_chain *c = fake_chain(&f, CONSOLE_TXQ);
	chain_out(c, "to a file", 9);
	/* receive buffers are never filled without input */
	char rx[8];
	c = fake_chain(&f, CONSOLE_RXQ);
	chain_in(c, rx, sizeof(rx));
	dev->ops->queue_notify(dev, CONSOLE_TXQ);
	dev->ops->queue_notify(dev, CONSOLE_RXQ);
	CHECK(f.q[CONSOLE_TXQ].n_used == 1 && f.q[CONSOLE_RXQ].n_used == 0);
	dev->ops->destroy(dev);
	char buf[32] = {0};
	int r = open(path, O_RDONLY);
	CHECK(read(r, buf, sizeof(buf)) == 9 && strcmp(buf, "to a file") == 0);
	close(r);
	unlink(path);
}

static void test_rng(void)
{
	uint8_t a[32], b[40];
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	struct virtq_chain c = {0};
	chain_in(&c, a, sizeof(a));
	chain_in(&c, b, sizeof(b));
	CHECK(virtio_rng_fill(&c) == 72);
	int nz = 0;
	for (size_t i = 0; i < sizeof(b); i++)
		nz += b[i] != 0;
	CHECK(nz > 20); /* 40 random bytes with fewer than 20 non-zero: p ~ 0 */

	/* huge buffers are capped per request; buffers with no writable part get 0 */
	static uint8_t big[RNG_MAX_PER_REQUEST * 2];
	memset(&c, 0, sizeof(c));
	chain_in(&c, big, sizeof(big));
	CHECK(virtio_rng_fill(&c) == RNG_MAX_PER_REQUEST);
	memset(&c, 0, sizeof(c));
	chain_out(&c, a, sizeof(a));
	CHECK(virtio_rng_fill(&c) == 0);

	struct virtio_dev *dev = NULL;
	struct hy_error err = {0};
	CHECK(virtio_rng_create(&dev, &err) == 0);
	if (!dev)
		return;
	CHECK(dev->ops->device_id == VIRTIO_ID_RNG && dev->ops->num_queues == 1);
	memset(&f, 0, sizeof(f));
	dev_io_set(dev, &fake_io_ops, &f);
	struct virtq_chain *q = fake_chain(&f, 0);
	chain_in(q, a, 16);
	q = fake_chain(&f, 0);
	chain_in(q, b, 8);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].n_used == 2 && f.q[0].used[0].written == 16 && f.q[0].used[1].written == 8);
	CHECK(f.q[0].notifies == 1);
	dev->ops->destroy(dev);
}

int main(void)
{
	test_console();
	test_console_file_output();
	test_rng();
	return UNIT_DONE();
}
