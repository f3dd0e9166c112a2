/* virtio-balloon (virtio 1.2 section 5.5): the host asks the guest to give back memory.
 *
 * The target (config num_pages, 4 KiB pages) is set over the control socket ("balloon <MiB>");
 * a config-change interrupt tells the driver. The driver then allocates that many pages and
 * sends their frame numbers on the inflate queue; each one is checked against guest RAM and its
 * host page released with MADV_DONTNEED, so the VMM's RSS (and its cgroup's memory) really drop.
 * Deflated pages need nothing: they fault back in when the guest touches them. The driver writes
 * how many pages it holds to config "actual"; a guest may never do so, which is why the host
 * reports actual next to target and decides nothing on the target alone. With
 * VIRTIO_BALLOON_F_STATS_VQ the driver leaves one buffer of memory statistics in the stats queue;
 * returning it asks for fresh ones. */
#ifndef HYRUN_DEVICES_BALLOON_H
#define HYRUN_DEVICES_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"
#include "sandbox-vm/vmm/devices/dev_io.h"

#define VIRTIO_BALLOON_F_STATS_VQ (1ULL << 1)
#define BALLOON_PAGE_SHIFT                                                                         \
	12 /* the PFNs are always of 4 KiB pages, whatever the guest's page size */
#define BALLOON_PAGE_SIZE (1u << BALLOON_PAGE_SHIFT)
#define BALLOON_Q_INFLATE 0
#define BALLOON_Q_DEFLATE 1
#define BALLOON_Q_STATS	  2

/* Statistics tags (virtio 1.2 5.5.6.3); the array in balloon_info is indexed by tag. */
enum {
	BALLOON_S_SWAP_IN,
	BALLOON_S_SWAP_OUT,
	BALLOON_S_MAJFLT,
	BALLOON_S_MINFLT,
	BALLOON_S_MEMFREE,
	BALLOON_S_MEMTOT,
	BALLOON_S_AVAIL,
	BALLOON_S_CACHES,
	BALLOON_S_HTLB_PGALLOC,
	BALLOON_S_HTLB_PGFAIL,
	BALLOON_S_NR
};

struct balloon_info {
	uint32_t target_pages;	 /* what the host asked for */
	uint32_t actual_pages;	 /* what the driver says it holds (guest-written) */
	uint64_t released_pages; /* inflated pages the host released (madvise) */
	uint64_t rejected_pfns;	 /* PFNs outside guest RAM (or not releasable), ignored */
	bool has_stats;		 /* the guest sent statistics at least once */
	bool stat_valid[BALLOON_S_NR];
	uint64_t stats[BALLOON_S_NR];
};

/* mem: the guest RAM the PFNs refer to (the device also has dev->mem once on the transport; this
 * one is used before that, e.g. by unit tests). */
int virtio_balloon_create(struct guest_mem *mem, struct virtio_dev **out, struct hy_error *err);
/* Sets the target (pages the guest should give back) and raises a config-change interrupt. Fails
 * when it would leave the guest less than BALLOON_MIN_GUEST_MIB. */
#define BALLOON_MIN_GUEST_MIB 16
int virtio_balloon_set_target(struct virtio_dev *dev, uint32_t pages, struct hy_error *err);
/* A snapshot of target, actual, counters and the last statistics. Also hands the stats buffer
 * back to the guest so that the next call sees fresh numbers. */
void virtio_balloon_info(struct virtio_dev *dev, struct balloon_info *out);

/* Releases the host pages behind the PFNs in an inflate buffer (le32 each, possibly split across
 * segments); counts released pages and rejected PFNs. Exposed for the unit test. */
void balloon_release_pfns(struct guest_mem *mem, const struct iovec *iov, unsigned n,
			  uint64_t *released, uint64_t *rejected);

#endif
