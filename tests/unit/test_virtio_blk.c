/* virtio-blk request handling against a real image file, with hand-built descriptor chains. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "sandbox-vm/vmm/devices/blk.h"
#include "unit.h"

#define IMG_SECTORS 64

static char img[64];

struct req_hdr {
	uint32_t type, ioprio;
	uint64_t sector;
};

static struct req_hdr hdr(uint32_t type, uint64_t sector)
{
	return (struct req_hdr){htole32(type), 0, htole64(sector)};
}

static void make_image(void)
{
	snprintf(img, sizeof(img), "/tmp/hyrun-blk-test.XXXXXX");
	int fd = mkstemp(img);
	uint8_t buf[512];
	for (int s = 0; s < IMG_SECTORS; s++) {
		memset(buf, 'A' + s % 26, sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), (off_t)s * 512) != (ssize_t)sizeof(buf))
			abort();
	}
	close(fd);
}

static struct virtio_dev *open_dev(bool ro, const char *serial)
{
	struct virtio_blk_params p = {img, ro, serial};
	struct virtio_dev *dev = NULL;
	struct hy_error err = {0};
	int r = virtio_blk_create(&p, &dev, &err);
	if (r < 0)
		fprintf(stderr, "create: %s\n", err.msg);
	return dev;
}

/* IN/OUT request with one data segment; returns status, sets *written. */
static uint8_t rw(struct virtio_dev *dev, uint32_t type, uint64_t sector, void *data, size_t len,
		  uint32_t *written)
{
	struct virtq_chain c = {0};
	struct req_hdr h = hdr(type, sector);
	uint8_t status = 0xff;
	chain_out(&c, &h, sizeof(h));
	if (type == BLK_T_OUT)
		chain_out(&c, data, len);
	else
		chain_in(&c, data, len);
	chain_in(&c, &status, 1);
	*written = virtio_blk_handle(dev, &c);
	return status;
}

static void file_sector(int s, uint8_t *buf)
{
	int fd = open(img, O_RDONLY);
	if (pread(fd, buf, 512, (off_t)s * 512) != 512)
		memset(buf, 0xee, 512);
	close(fd);
}

static void test_read_write(void)
{
	struct virtio_dev *dev = open_dev(false, "disk0");
	CHECK(dev != NULL);
	if (!dev)
		return;
	CHECK(virtio_blk_capacity(dev) == IMG_SECTORS);
	uint8_t buf[1024], expect[512];
	uint32_t w;
	CHECK(rw(dev, BLK_T_IN, 3, buf, 1024, &w) == BLK_S_OK);
	CHECK(w == 1025);
	memset(expect, 'D', 512);
	CHECK(memcmp(buf, expect, 512) == 0);
	memset(expect, 'E', 512);
	CHECK(memcmp(buf + 512, expect, 512) == 0);

	memset(buf, 0x5a, 512);
	CHECK(rw(dev, BLK_T_OUT, 10, buf, 512, &w) == BLK_S_OK);
	CHECK(w == 1);
	file_sector(10, expect);
	CHECK(memcmp(buf, expect, 512) == 0);

	/* the last sector is fine, one past it is not */
	CHECK(rw(dev, BLK_T_IN, IMG_SECTORS - 1, buf, 512, &w) == BLK_S_OK);
	CHECK(rw(dev, BLK_T_IN, IMG_SECTORS, buf, 512, &w) == BLK_S_IOERR);
	CHECK(w == 1);
	CHECK(rw(dev, BLK_T_IN, IMG_SECTORS - 1, buf, 1024, &w) == BLK_S_IOERR);
	CHECK(rw(dev, BLK_T_OUT, IMG_SECTORS - 1, buf, 1024, &w) == BLK_S_IOERR);
	/* sector * 512 overflows 64 bits; sector + n wraps */
	CHECK(rw(dev, BLK_T_IN, UINT64_MAX / 512 + 1, buf, 512, &w) == BLK_S_IOERR);
	CHECK(rw(dev, BLK_T_OUT, UINT64_MAX, buf, 512, &w) == BLK_S_IOERR);
	CHECK(rw(dev, BLK_T_IN, UINT64_MAX - 1, buf, 1024, &w) == BLK_S_IOERR);
	/* partial sectors */
	CHECK(rw(dev, BLK_T_IN, 0, buf, 100, &w) == BLK_S_IOERR);
	CHECK(rw(dev, BLK_T_OUT, 0, buf, 513, &w) == BLK_S_IOERR);
	file_sector(0, expect);
	CHECK(expect[0] == 'A');

	/* data and status in one writable segment, and data split over segments */
	struct virtq_chain c = {0};
	struct req_hdr h = hdr(BLK_T_IN, 1);
	uint8_t both[513];
	memset(both, 0, sizeof(both));
	both[512] = 0xff;
	chain_out(&c, &h, sizeof(h));
	chain_in(&c, both, sizeof(both));
	CHECK(virtio_blk_handle(dev, &c) == 513);
	CHECK(both[512] == BLK_S_OK && both[0] == 'B' && both[511] == 'B');

	uint8_t a[100], b[412], st = 0xff;
	memset(&c, 0, sizeof(c));
	h = hdr(BLK_T_IN, 2);
	chain_out(&c, &h, sizeof(h));
	chain_in(&c, a, sizeof(a));
	chain_in(&c, b, sizeof(b));
	chain_in(&c, &st, 1);
	CHECK(virtio_blk_handle(dev, &c) == 513);
	CHECK(st == BLK_S_OK && a[0] == 'C' && b[411] == 'C');
	dev->ops->destroy(dev);
}

static void test_malformed(void)
{
	struct virtio_dev *dev = open_dev(false, NULL);
	if (!dev) {
		CHECK(0);
		return;
	}
	/* short header: IOERR, nothing else touched */
	struct virtq_chain c = {0};
	uint8_t half[8] = {0}, st = 0xff;
	chain_out(&c, half, sizeof(half));
	chain_in(&c, &st, 1);
	CHECK(virtio_blk_handle(dev, &c) == 1);
	CHECK(st == BLK_S_IOERR);

	/* header split across two segments is still a header */
	struct req_hdr h = hdr(BLK_T_IN, 4);
	uint8_t data[512];
	memset(&c, 0, sizeof(c));
	chain_out(&c, &h, 5);
	chain_out(&c, (uint8_t *)&h + 5, sizeof(h) - 5);
	chain_in(&c, data, sizeof(data));
	chain_in(&c, &st, 1);
	CHECK(virtio_blk_handle(dev, &c) == 513);
	CHECK(st == BLK_S_OK && data[0] == 'E');

	/* no writable byte for the status: nothing can be reported */
	memset(&c, 0, sizeof(c));
	chain_out(&c, &h, sizeof(h));
	CHECK(virtio_blk_handle(dev, &c) == 0);

	/* unknown request type */
	memset(&c, 0, sizeof(c));
	h = hdr(77, 0);
	st = 0xff;
	chain_out(&c, &h, sizeof(h));
	chain_in(&c, &st, 1);
	CHECK(virtio_blk_handle(dev, &c) == 1);
	CHECK(st == BLK_S_UNSUPP);

	/* flush */
	memset(&c, 0, sizeof(c));
	h = hdr(BLK_T_FLUSH, 0);
	chain_out(&c, &h, sizeof(h));
	chain_in(&c, &st, 1);
	virtio_blk_handle(dev, &c);
	CHECK(st == BLK_S_OK);
	dev->ops->destroy(dev);
}

static uint8_t discard(struct virtio_dev *dev, uint32_t type, uint64_t sector, uint32_t n,
		       uint32_t flags, size_t seg_bytes)
{
	struct virtq_chain c = {0};
	struct req_hdr h = hdr(type, 0);
	struct {
		uint64_t sector;
		uint32_t num, flags;
	} r = {htole64(sector), htole32(n), htole32(flags)};
	uint8_t st = 0xff;
	chain_out(&c, &h, sizeof(h));
	chain_out(&c, &r, seg_bytes);
	chain_in(&c, &st, 1);
	virtio_blk_handle(dev, &c);
	return st;
}

static void test_discard(void)
{
	struct virtio_dev *dev = open_dev(false, NULL);
	if (!dev) {
		CHECK(0);
		return;
	}
	CHECK(dev->ops->features & BLK_F_DISCARD);
	CHECK(dev->ops->features & BLK_F_WRITE_ZEROES);
	uint8_t buf[512], zero[512] = {0};
	CHECK(discard(dev, BLK_T_WRITE_ZEROES, 20, 2, 0, 16) == BLK_S_OK);
	file_sector(20, buf);
	CHECK(memcmp(buf, zero, 512) == 0);
	file_sector(21, buf);
	CHECK(memcmp(buf, zero, 512) == 0);
	file_sector(22, buf);
	CHECK(buf[0] == 'A' + 22 % 26);
	CHECK(discard(dev, BLK_T_WRITE_ZEROES, 30, 1, 1 /* unmap */, 16) == BLK_S_OK);
	file_sector(30, buf);
	CHECK(memcmp(buf, zero, 512) == 0);
	CHECK(discard(dev, BLK_T_DISCARD, 40, 8, 0, 16) == BLK_S_OK);
	/* the unmap flag is not allowed on discard, reserved flags nowhere */
	CHECK(discard(dev, BLK_T_DISCARD, 40, 8, 1, 16) == BLK_S_UNSUPP);
	CHECK(discard(dev, BLK_T_WRITE_ZEROES, 40, 8, 4, 16) == BLK_S_UNSUPP);
	/* out of range, and a truncated segment */
	CHECK(discard(dev, BLK_T_DISCARD, IMG_SECTORS - 1, 2, 0, 16) == BLK_S_IOERR);
	CHECK(discard(dev, BLK_T_WRITE_ZEROES, UINT64_MAX, 1, 0, 16) == BLK_S_IOERR);
	CHECK(discard(dev, BLK_T_DISCARD, 0, 1, 0, 12) == BLK_S_IOERR);
	file_sector(0, buf);
	CHECK(buf[0] == 'A');
	dev->ops->destroy(dev);
}

static void test_readonly(void)
{
	struct virtio_dev *dev = open_dev(true, NULL);
	if (!dev) {
		CHECK(0);
		return;
	}
	CHECK(dev->ops->features & BLK_F_RO);
	CHECK(!(dev->ops->features & BLK_F_DISCARD));
	uint8_t buf[512], now[512];
	uint32_t w;
	memset(buf, 0x11, sizeof(buf));
	CHECK(rw(dev, BLK_T_OUT, 5, buf, 512, &w) == BLK_S_IOERR);
	file_sector(5, now);
	CHECK(now[0] == 'F');
	CHECK(rw(dev, BLK_T_IN, 5, buf, 512, &w) == BLK_S_OK);
	CHECK(buf[0] == 'F');
	CHECK(discard(dev, BLK_T_WRITE_ZEROES, 5, 1, 0, 16) == BLK_S_IOERR);
	file_sector(5, now);
	CHECK(now[0] == 'F');
	dev->ops->destroy(dev);
}

static void test_get_id_and_config(void)
{
	struct virtio_dev *dev = open_dev(true, "hyrun-serial-12");
	if (!dev) {
		CHECK(0);
		return;
	}
	struct virtq_chain c = {0};
	struct req_hdr h = hdr(BLK_T_GET_ID, 0);
	uint8_t id[BLK_ID_BYTES], st = 0xff;
	memset(id, 0x77, sizeof(id));
	chain_out(&c, &h, sizeof(h));
	chain_in(&c, id, sizeof(id));
	chain_in(&c, &st, 1);
	CHECK(virtio_blk_handle(dev, &c) == BLK_ID_BYTES + 1);
	CHECK(st == BLK_S_OK);
	CHECK(memcmp(id, "hyrun-serial-12", 15) == 0);
	CHECK(id[15] == 0 && id[19] == 0);

	uint64_t cap = 0;
	uint32_t seg_max = 0;
	dev->ops->config_read(dev, 0, &cap, 8);
	dev->ops->config_read(dev, 12, &seg_max, 4);
	CHECK(le64toh(cap) == IMG_SECTORS);
	CHECK(le32toh(seg_max) == BLK_SEG_MAX);
	CHECK(dev->ops->device_id == VIRTIO_ID_BLOCK);
	dev->ops->destroy(dev);

	/* serial longer than 20 bytes, missing file, second writer */
	struct virtio_blk_params p = {img, false, "0123456789012345678901"};
	struct hy_error err = {0};
	struct virtio_dev *d2 = NULL;
	CHECK(virtio_blk_create(&p, &d2, &err) == -EINVAL && d2 == NULL);
	p = (struct virtio_blk_params){"/nonexistent/disk.img", false, NULL};
	CHECK(virtio_blk_create(&p, &d2, &err) == -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "/nonexistent/disk.img");
	struct virtio_dev *w1 = open_dev(false, NULL);
	p = (struct virtio_blk_params){img, false, NULL};
	CHECK(w1 != NULL);
	CHECK(virtio_blk_create(&p, &d2, &err) == -EBUSY);
	CHECK_STR_CONTAINS(err.msg, "in use");
	if (w1)
		w1->ops->destroy(w1);
}

static void test_queue_notify(void)
{
	struct virtio_dev *dev = open_dev(false, NULL);
	if (!dev) {
		CHECK(0);
		return;
	}
	static struct fake_io f;
	memset(&f, 0, sizeof(f));
	dev_io_set(dev, &fake_io_ops, &f);
	struct req_hdr h1 = hdr(BLK_T_IN, 0), h2 = hdr(BLK_T_IN, IMG_SECTORS + 5);
	uint8_t d1[512], s1 = 0xff, d2[512], s2 = 0xff;
	struct virtq_chain *c = fake_chain(&f, 0);
	chain_out(c, &h1, sizeof(h1));
	chain_in(c, d1, sizeof(d1));
	chain_in(c, &s1, 1);
	c = fake_chain(&f, 0);
	chain_out(c, &h2, sizeof(h2));
	chain_in(c, d2, sizeof(d2));
	chain_in(c, &s2, 1);
	dev->ops->queue_notify(dev, 0);
	CHECK(f.q[0].n_used == 2);
	CHECK(f.q[0].used[0].written == 513 && f.q[0].used[1].written == 1);
	CHECK(f.q[0].notifies == 1);
	CHECK(s1 == BLK_S_OK && s2 == BLK_S_IOERR && d1[0] == 'A');
	CHECK(f.broken == 0);
	dev->ops->destroy(dev);
}

int main(void)
{
	make_image();
	test_read_write();
	test_malformed();
	test_discard();
	test_readonly();
	test_get_id_and_config();
	test_queue_notify();
	unlink(img);
	return UNIT_DONE();
}
