/* virtio-9p device glue driven through in-memory queues (fake_virtq.h): config space, messages
 * split across segments, the Linux driver's zero-copy layouts, chains too small to answer, and
 * reset. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "sandbox-vm/vmm/devices/virtio_9p.h"
#include "unit.h"

static char dir[64];

struct buf {
	uint8_t b[8192];
	size_t n;
};

static void b_begin(struct buf *m, uint8_t type)
{
	memset(m->b, 0, 7);
	m->b[4] = type;
	m->n = 7;
}
static void b_u8(struct buf *m, uint8_t v) { m->b[m->n++] = v; }
static void b_u16(struct buf *m, uint16_t v) { b_u8(m, (uint8_t)v); b_u8(m, (uint8_t)(v >> 8)); }
static void b_u32(struct buf *m, uint32_t v) { b_u16(m, (uint16_t)v); b_u16(m, (uint16_t)(v >> 16)); }
static void b_u64(struct buf *m, uint64_t v) { b_u32(m, (uint32_t)v); b_u32(m, (uint32_t)(v >> 32)); }
static void b_str(struct buf *m, const char *s)
{
	b_u16(m, (uint16_t)strlen(s));
	memcpy(m->b + m->n, s, strlen(s));
	m->n += strlen(s);
}
/* size = header + body + extra payload that travels in separate segments */
static void b_end(struct buf *m, size_t extra)
{
	uint32_t n = (uint32_t)(m->n + extra);
	memcpy(m->b, &n, 4);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct fake_io f;

/* Queues one chain (request in one segment, response into one buffer), runs the device,
 * returns bytes written. */
static uint32_t roundtrip(struct virtio_dev *dev, struct buf *req, uint8_t *resp, size_t cap)
{
	b_end(req, 0);
	struct virtq_chain *c = fake_chain(&f, 0);
	chain_out(c, req->b, req->n);
	chain_in(c, resp, cap);
	unsigned before = f.q[0].n_used;
	dev->ops->queue_notify(dev, 0);
	if (f.q[0].n_used != before + 1)
		return 0xffffffff;
	return f.q[0].used[before].written;
}

static void test_config(void)
{
	struct virtio_dev *dev;
	struct hy_error err;
	CHECK(virtio_9p_create("hyroot", dir, false, &dev, &err) == 0);
	CHECK(dev->ops->device_id == VIRTIO_ID_9P && (dev->ops->features & 1) &&
	      dev->ops->num_queues == 1 && dev->ops->config_size == 8);
	uint8_t cfg[8] = { 0 };
	dev->ops->config_read(dev, 0, cfg, 8);
	CHECK(cfg[0] == 6 && cfg[1] == 0 && !memcmp(cfg + 2, "hyroot", 6));
	uint8_t part[3] = { 0 };
	dev->ops->config_read(dev, 3, part, 3);
	CHECK(!memcmp(part, "yro", 3));
	dev->ops->destroy(dev);

	CHECK(virtio_9p_create("", dir, false, &dev, &err) == -EINVAL && dev == NULL);
	char long_tag[300];
	memset(long_tag, 'a', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = 0;
	CHECK(virtio_9p_create(long_tag, dir, false, &dev, &err) == -EINVAL);
	CHECK(virtio_9p_create("t", "/nonexistent/share", false, &dev, &err) < 0 && dev == NULL);
	CHECK_STR_CONTAINS(err.msg, "/nonexistent/share");
}

static void test_requests(void)
{
	struct virtio_dev *dev;
	struct hy_error err;
	CHECK(virtio_9p_create("hyroot", dir, false, &dev, &err) == 0);
	memset(&f, 0, sizeof(f));
	dev_io_set(dev, &fake_io_ops, &f);
	static uint8_t resp[300000];

	/* Tversion split in the middle of its fields, answered into two segments */
	struct buf m;
	b_begin(&m, 100);
	b_u32(&m, 262144);
	b_str(&m, "9P2000.L");
	b_end(&m, 0);
	struct virtq_chain *c = fake_chain(&f, 0);
	chain_out(c, m.b, 3);
	chain_out(c, m.b + 3, 6);
	chain_out(c, m.b + 9, m.n - 9);
	chain_in(c, resp, 5);
	chain_in(c, resp + 5, 100);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].n_used == 1 && f.q[0].used[0].written == 21 && f.q[0].notifies == 1);
	CHECK(resp[4] == 101 && le32(resp + 7) == 262144 && !memcmp(resp + 13, "9P2000.L", 8));

	/* attach, create a file, write it with the zero-copy layout (header, then payload) */
	b_begin(&m, 104);
	b_u32(&m, 0);
	b_u32(&m, 0xffffffff);
	b_str(&m, "");
	b_str(&m, "");
	b_u32(&m, 0);
	CHECK(roundtrip(dev, &m, resp, 4096) == 20 && resp[4] == 105);
	b_begin(&m, 110);
	b_u32(&m, 0);
	b_u32(&m, 1);
	b_u16(&m, 0);
	CHECK(roundtrip(dev, &m, resp, 4096) == 9 && resp[4] == 111);
	b_begin(&m, 14);
	b_u32(&m, 1);
	b_str(&m, "f");
	b_u32(&m, 2);
	b_u32(&m, 0644);
	b_u32(&m, 0);
	CHECK(roundtrip(dev, &m, resp, 4096) == 24 && resp[4] == 15);
	static uint8_t payload[200000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	b_begin(&m, 118);
	b_u32(&m, 1);
	b_u64(&m, 0);
	b_u32(&m, sizeof(payload));
	b_end(&m, sizeof(payload));
	c = fake_chain(&f, 0);
	chain_out(c, m.b, m.n);
	chain_out(c, payload, 100000);
	chain_out(c, payload + 100000, 100000);
	chain_in(c, resp, 11);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].used[f.q[0].n_used - 1].written == 11 && resp[4] == 119 &&
	      le32(resp + 7) == sizeof(payload));
	char path[128];
	snprintf(path, sizeof(path), "%s/f", dir);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)sizeof(payload));

	/* zero-copy read: an 11-byte header segment, then the data pages */
	b_begin(&m, 116);
	b_u32(&m, 1);
	b_u64(&m, 0);
	b_u32(&m, sizeof(payload));
	b_end(&m, 0);
	static uint8_t data[200000];
	c = fake_chain(&f, 0);
	chain_out(c, m.b, m.n);
	chain_in(c, resp, 11);
	chain_in(c, data, 4096);
	chain_in(c, data + 4096, sizeof(data) - 4096);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].used[f.q[0].n_used - 1].written == 11 + sizeof(payload) && resp[4] == 117 &&
	      le32(resp + 7) == sizeof(payload) && !memcmp(data, payload, sizeof(payload)));

	/* responses never exceed msize, whatever the chain offers */
	b_begin(&m, 116);
	b_u32(&m, 1);
	b_u64(&m, 0);
	b_u32(&m, 0xffffffff);
	uint32_t w = roundtrip(dev, &m, resp, sizeof(resp));
	CHECK(w == sizeof(payload) + 11);

	/* a chain with no room for even an Rlerror goes back empty; the next one still works */
	b_begin(&m, 120);
	b_u32(&m, 1);
	CHECK(roundtrip(dev, &m, resp, 10) == 0);
	CHECK(roundtrip(dev, &m, resp, 100) == 7 && resp[4] == 121);
	/* a request larger than msize, and an empty chain */
	static uint8_t huge[300000];
	memset(huge, 0, sizeof(huge));
	uint32_t hs = sizeof(huge);
	memcpy(huge, &hs, 4);
	huge[4] = 118;
	c = fake_chain(&f, 0);
	chain_out(c, huge, sizeof(huge));
	chain_in(c, resp, 100);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].used[f.q[0].n_used - 1].written == 11 && resp[4] == 7);
	c = fake_chain(&f, 0);
	chain_in(c, resp, 100);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].used[f.q[0].n_used - 1].written == 11 && resp[4] == 7);
	CHECK(f.broken == 0);

	/* reset forgets the session: fid 0 is gone and a new Tversion is needed */
	dev->ops->reset(dev);
	b_begin(&m, 120);
	b_u32(&m, 0);
	CHECK(roundtrip(dev, &m, resp, 100) == 11 && resp[4] == 7);
	dev->ops->destroy(dev);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_virtio_9p.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_config();
	test_requests();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return UNIT_DONE();
}
