/* virtio-balloon with in-memory queues (fake_virtq.h) over real guest RAM mappings: inflated PFNs
 * release exactly their host pages, anything outside RAM (the MMIO hole, past the end, a partial
 * PFN) is counted and skipped, deflate only validates, stats are kept and their buffer handed
 * back on request, the target and "actual" go through the config space. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fake_virtq.h"
#include "sandbox-vm/vmm/devices/balloon.h"
#include "sandbox-vm/vmm/memory.h"
#include "unit.h"

#define MIB  (1024u * 1024u)
#define PAGE BALLOON_PAGE_SIZE

static struct fake_io io;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put_stat(uint8_t *p, uint16_t tag, uint64_t val)
{
	memcpy(p, &tag, 2);
	memcpy(p + 2, &val, 8);
}

int main(void)
{
	struct hy_error err = {0};
	struct guest_mem mem;
	CHECK(guest_mem_create(&mem, 32 * MIB, &err) == 0);
	uint8_t *ram = mem.regions[0].host;
	memset(ram, 0xab, 16 * PAGE);

	struct virtio_dev *dev;
	CHECK(virtio_balloon_create(&mem, &dev, &err) == 0);
	dev_io_set(dev, &fake_io_ops, &io);
	CHECK(dev->ops->device_id == VIRTIO_ID_BALLOON);
	CHECK(dev->ops->num_queues == 3);
	CHECK(dev->ops->features & VIRTIO_BALLOON_F_STATS_VQ);

	/* Inflate: 1,2,3 (one run), 5, the hole, past the end, 7; a PFN split across the two
	 * segments (3) and 2 trailing bytes that are no PFN. */
	uint8_t a[10], b[20];
	put32(a, 1);
	put32(a + 4, 2);
	uint8_t pfn3[4];
	put32(pfn3, 3);
	memcpy(a + 8, pfn3, 2);
	memcpy(b, pfn3 + 2, 2);
	put32(b + 2, 5);
	put32(b + 6, (uint32_t)(MEM_HOLE_START >> 12));
	put32(b + 10, 0x10000000u);
	put32(b + 14, 7);
	b[18] = 0xff;
	b[19] = 0xff;
	struct virtq_chain *c = fake_chain(&io, BALLOON_Q_INFLATE);
	chain_out(c, a, sizeof(a));
	chain_out(c, b, sizeof(b));
	dev->ops->queue_notify(dev, BALLOON_Q_INFLATE);
	CHECK(io.q[BALLOON_Q_INFLATE].n_used == 1);
	CHECK(io.q[BALLOON_Q_INFLATE].notifies == 1);
	struct balloon_info bi;
	virtio_balloon_info(dev, &bi);
	CHECK(bi.released_pages == 5);
	CHECK(bi.rejected_pfns == 2);
	/* Released pages read back as zero, their neighbours keep their data. */
	CHECK(ram[1 * PAGE] == 0 && ram[3 * PAGE + PAGE - 1] == 0 && ram[5 * PAGE] == 0 &&
	      ram[7 * PAGE] == 0);
	CHECK(ram[0] == 0xab && ram[4 * PAGE] == 0xab && ram[6 * PAGE] == 0xab &&
	      ram[8 * PAGE] == 0xab);

	/* Deflate: validated and returned, nothing released. */
	uint8_t d[8];
	put32(d, 9);
	put32(d + 4, 0xffffffffu);
	c = fake_chain(&io, BALLOON_Q_DEFLATE);
	chain_out(c, d, sizeof(d));
	dev->ops->queue_notify(dev, BALLOON_Q_DEFLATE);
	CHECK(io.q[BALLOON_Q_DEFLATE].n_used == 1);
	virtio_balloon_info(dev, &bi);
	CHECK(bi.released_pages == 5);
	CHECK(bi.rejected_pfns == 3);
	CHECK(ram[9 * PAGE] == 0xab);

	/* Stats: kept (not returned) until asked for; unknown tags and a partial entry ignored. */
	uint8_t s[33];
	put_stat(s, BALLOON_S_MEMFREE, 1000);
	put_stat(s + 10, BALLOON_S_MEMTOT, 2000);
	put_stat(s + 20, 99, 5);
	c = fake_chain(&io, BALLOON_Q_STATS);
	chain_out(c, s, sizeof(s));
	uint16_t stats_head = c->head;
	dev->ops->queue_notify(dev, BALLOON_Q_STATS);
	CHECK(io.q[BALLOON_Q_STATS].n_used == 0);
	virtio_balloon_info(dev, &bi);
	CHECK(bi.has_stats);
	CHECK(bi.stat_valid[BALLOON_S_MEMFREE] && bi.stats[BALLOON_S_MEMFREE] == 1000);
	CHECK(bi.stat_valid[BALLOON_S_MEMTOT] && bi.stats[BALLOON_S_MEMTOT] == 2000);
	CHECK(!bi.stat_valid[BALLOON_S_SWAP_IN]);
	/* ... and the info request handed the buffer back for fresh numbers, once. */
	CHECK(io.q[BALLOON_Q_STATS].n_used == 1 &&
	      io.q[BALLOON_Q_STATS].used[0].head == stats_head);
	virtio_balloon_info(dev, &bi);
	CHECK(io.q[BALLOON_Q_STATS].n_used == 1);

	/* Target: in the config space; the guest keeps at least BALLOON_MIN_GUEST_MIB. */
	CHECK(virtio_balloon_set_target(dev, 16 * MIB / PAGE, &err) == 0);
	CHECK(virtio_balloon_set_target(dev, 16 * MIB / PAGE + 1, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "keeps at least");
	uint32_t v = 0;
	dev->ops->config_read(dev, 0, &v, 4);
	CHECK(v == 16 * MIB / PAGE);
	/* The driver writes only "actual"; a write over num_pages is ignored. */
	uint32_t w = 123;
	dev->ops->config_write(dev, 0, &w, 4);
	dev->ops->config_write(dev, 4, &w, 4);
	virtio_balloon_info(dev, &bi);
	CHECK(bi.target_pages == 16 * MIB / PAGE);
	CHECK(bi.actual_pages == 123);
	dev->ops->reset(dev);
	virtio_balloon_info(dev, &bi);
	CHECK(bi.actual_pages == 0 && bi.target_pages == 16 * MIB / PAGE);

	CHECK(io.broken == 0);
	dev->ops->destroy(dev);
	guest_mem_destroy(&mem);
	return UNIT_DONE();
}
