/* virtio-balloon: inflate releases host pages, deflate only validates, stats are kept for
 * "balloon-info" (balloon.h). Queue callbacks run on the event-loop thread; the config space is
 * read and written from vCPU threads, and the target is set from the control socket: lock. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sandbox-vm/vmm/devices/balloon.h"
#include "sandbox-vm/vmm/memory.h"

#define PFN_BATCH   256 /* PFNs read from a buffer at a time (the Linux driver sends at most 256) */
#define CONFIG_SIZE 8	/* num_pages, actual: the optional fields need features we do not offer */
#define STAT_SIZE   10	/* le16 tag + le64 value, packed */
#define MIB_PAGES   ((1024u * 1024u) / BALLOON_PAGE_SIZE)

struct balloon {
	struct dev_io io; /* first: see dev_io.h */
	struct virtio_dev_ops ops;
	struct guest_mem *mem;
	pthread_mutex_t lock;
	uint8_t
	    config[CONFIG_SIZE]; /* le32 num_pages at 0 (ours), le32 actual at 4 (the guest's) */
	uint64_t released, rejected;
	bool stats_held; /* the guest's stats buffer is ours until we hand it back */
	uint16_t stats_head;
	bool has_stats;
	bool stat_valid[BALLOON_S_NR];
	uint64_t stats[BALLOON_S_NR];
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Releases [start, start+len) of host memory; returns the pages released. */
static uint64_t release_run(uint8_t *start, size_t len, uint64_t *rejected)
{
	if (!len)
		return 0;
	if (madvise(start, len, MADV_DONTNEED) < 0) {
		*rejected += len / BALLOON_PAGE_SIZE;
		return 0;
	}
	return len / BALLOON_PAGE_SIZE;
}

void balloon_release_pfns(struct guest_mem *mem, const struct iovec *iov, unsigned n,
			  uint64_t *released, uint64_t *rejected)
{
	uint8_t buf[PFN_BATCH * 4];
	size_t off = 0;
	/* Adjacent pages (the driver's allocations mostly are) go to one madvise call. */
	uint8_t *run = NULL;
	size_t run_len = 0;
	for (;;) {
		size_t got = iov_to_buf(iov, n, off, buf, sizeof(buf));
		size_t whole = got - got % 4; /* a trailing partial PFN is ignored */
		if (!whole)
			break;
		off += whole;
		for (size_t i = 0; i < whole; i += 4) {
			uint64_t gpa = (uint64_t)get_le32(buf + i) << BALLOON_PAGE_SHIFT;
			/* guest_mem_ptr refuses anything not wholly in RAM: the MMIO hole, past the
			 * end. */
			uint8_t *p = guest_mem_ptr(mem, gpa, BALLOON_PAGE_SIZE);
			if (!p) {
				(*rejected)++;
				continue;
			}
			if (run && p == run + run_len) {
				run_len += BALLOON_PAGE_SIZE;
				continue;
			}
			*released += release_run(run, run_len, rejected);
			run = p;
			run_len = BALLOON_PAGE_SIZE;
		}
		if (got < sizeof(buf))
			break;
	}
	*released += release_run(run, run_len, rejected);
}

/* Deflate: the pages fault back in when touched; only count what was not guest RAM. */
static void count_bad_pfns(struct guest_mem *mem, const struct iovec *iov, unsigned n,
			   uint64_t *rejected)
{
	uint8_t buf[PFN_BATCH * 4];
	size_t off = 0, got;
	while ((got = iov_to_buf(iov, n, off, buf, sizeof(buf))) >= 4) {
		size_t whole = got - got % 4;
		off += whole;
		for (size_t i = 0; i < whole; i += 4) {
			uint64_t gpa = (uint64_t)get_le32(buf + i) << BALLOON_PAGE_SHIFT;
			if (!guest_mem_ptr(mem, gpa, BALLOON_PAGE_SIZE))
				(*rejected)++;
		}
		if (got < sizeof(buf))
			break;
	}
}

static void read_stats(struct balloon *b, const struct virtq_chain *c)
{
	uint8_t ent[STAT_SIZE];
	/* The buffer holds whole entries; anything after the last whole one is ignored. */
	for (size_t off = 0; off + STAT_SIZE <= c->out_len; off += STAT_SIZE) {
		if (iov_to_buf(c->out, c->n_out, off, ent, STAT_SIZE) != STAT_SIZE)
			break;
		uint16_t tag = (uint16_t)(ent[0] | ent[1] << 8);
		uint64_t val = (uint64_t)get_le32(ent + 2) | (uint64_t)get_le32(ent + 6) << 32;
		if (tag < BALLOON_S_NR) { /* tags a newer guest knows and we do not: skipped */
			b->stats[tag] = val;
			b->stat_valid[tag] = true;
		}
	}
	b->has_stats = true;
}

static void balloon_notify(struct virtio_dev *dev, unsigned q)
{
	struct balloon *b = dev->priv;
	struct guest_mem *mem = dev->mem ? dev->mem : b->mem;
	struct virtq_chain chain;
	struct hy_error err;
	bool pushed = false;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		int r = b->io.ops->pop(b->io.ctx, dev, q, &chain, &err);
		if (r < 0) {
			b->io.ops->set_broken(b->io.ctx, dev, err.msg);
			break;
		}
		if (r == 0)
			break;
		if (q == BALLOON_Q_STATS) {
			/* One buffer circulates; a second one means the old one is given back
			 * first. */
			if (b->stats_held) {
				b->io.ops->push(b->io.ctx, dev, q, b->stats_head, 0);
				pushed = true;
			}
			read_stats(b, &chain);
			b->stats_held = true;
			b->stats_head = chain.head;
			continue;
		}
		if (q == BALLOON_Q_INFLATE)
			balloon_release_pfns(mem, chain.out, chain.n_out, &b->released,
					     &b->rejected);
		else
			count_bad_pfns(mem, chain.out, chain.n_out, &b->rejected);
		b->io.ops->push(b->io.ctx, dev, q, chain.head, 0);
		pushed = true;
	}
	if (pushed)
		b->io.ops->notify(b->io.ctx, dev, q);
	pthread_mutex_unlock(&b->lock);
}

static void balloon_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct balloon *b = dev->priv;
	pthread_mutex_lock(&b->lock);
	memcpy(data, b->config + offset, len); /* range-checked by the transport */
	pthread_mutex_unlock(&b->lock);
}

static void balloon_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
				 uint32_t len)
{
	struct balloon *b = dev->priv;
	/* Only "actual" is the driver's to write. */
	if (offset < 4 || offset > CONFIG_SIZE || len > CONFIG_SIZE - offset)
		return;
	pthread_mutex_lock(&b->lock);
	memcpy(b->config + offset, data, len);
	pthread_mutex_unlock(&b->lock);
}

static void balloon_notify(struct virtio_dev *dev, unsigned q);

static int balloon_activate(struct virtio_dev *dev, struct hy_error *err)
{
	/* The driver queues its first stats buffer before DRIVER_OK, and the transport drops kicks
	 * until then: take it now, or no statistics would ever arrive. */
	balloon_notify(dev, BALLOON_Q_STATS);
	return 0;
}

static void balloon_reset(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;
	pthread_mutex_lock(&b->lock);
	/* A new driver starts with an empty balloon; the target stays. */
	put_le32(b->config + 4, 0);
	b->stats_held = false;
	pthread_mutex_unlock(&b->lock);
}

static void balloon_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct balloon *b = dev->priv;
	if (b) {
		pthread_mutex_destroy(&b->lock);
		free(b);
	}
	free(dev);
}

int virtio_balloon_set_target(struct virtio_dev *dev, uint32_t pages, struct hy_error *err)
{
	struct balloon *b = dev->priv;
	struct guest_mem *mem = dev->mem ? dev->mem : b->mem;
	uint64_t total = mem ? mem->total / BALLOON_PAGE_SIZE : 0;
	uint64_t min_left = (uint64_t)BALLOON_MIN_GUEST_MIB * MIB_PAGES;
	if (total < min_left || pages > total - min_left)
		return hy_error_set(
		    err, EINVAL, "balloon of %u MiB: the guest has %llu MiB and keeps at least %d",
		    pages / MIB_PAGES, (unsigned long long)(total / MIB_PAGES),
		    BALLOON_MIN_GUEST_MIB);
	pthread_mutex_lock(&b->lock);
	put_le32(b->config, pages);
	pthread_mutex_unlock(&b->lock);
	virtio_dev_config_changed(dev);
	return 0;
}

void virtio_balloon_info(struct virtio_dev *dev, struct balloon_info *out)
{
	struct balloon *b = dev->priv;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&b->lock);
	out->target_pages = get_le32(b->config);
	out->actual_pages = get_le32(b->config + 4);
	out->released_pages = b->released;
	out->rejected_pfns = b->rejected;
	out->has_stats = b->has_stats;
	memcpy(out->stat_valid, b->stat_valid, sizeof(out->stat_valid));
	memcpy(out->stats, b->stats, sizeof(out->stats));
	/* Handing the buffer back makes the driver refill it with current numbers. */
	bool give_back = b->stats_held;
	if (give_back) {
		b->io.ops->push(b->io.ctx, dev, BALLOON_Q_STATS, b->stats_head, 0);
		b->stats_held = false;
	}
	pthread_mutex_unlock(&b->lock);
	if (give_back)
		b->io.ops->notify(b->io.ctx, dev, BALLOON_Q_STATS);
}

int virtio_balloon_create(struct guest_mem *mem, struct virtio_dev **out, struct hy_error *err)
{
	*out = NULL;
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct balloon *b = calloc(1, sizeof(*b));
	if (!dev || !b) {
		free(dev);
		free(b);
		return hy_error_set(err, ENOMEM, "virtio-balloon: out of memory");
	}
	b->io.ops = &dev_io_default;
	b->mem = mem;
	pthread_mutex_init(&b->lock, NULL);
	b->ops = (struct virtio_dev_ops){
	    .name = "virtio-balloon",
	    .device_id = VIRTIO_ID_BALLOON,
	    .features = VIRTIO_BALLOON_F_STATS_VQ,
	    .num_queues = 3,
	    .queue_max_size = 256,
	    .config_size = CONFIG_SIZE,
	    .config_read = balloon_config_read,
	    .config_write = balloon_config_write,
	    .activate = balloon_activate,
	    .queue_notify = balloon_notify,
	    .reset = balloon_reset,
	    .destroy = balloon_destroy,
	};
	dev->priv = b;
	dev->ops = &b->ops;
	*out = dev;
	return 0;
}
