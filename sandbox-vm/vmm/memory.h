/* Guest physical memory: one or two anonymous host mappings placed around the 32-bit MMIO hole.
 * Every guest-physical address the guest hands us is translated through guest_mem_ptr(), which
 * refuses any range that is not wholly inside one RAM region. */
#ifndef HYRUN_VMM_MEMORY_H
#define HYRUN_VMM_MEMORY_H

#include <stdint.h>

#include "runtime/error.h"

/* Devices (virtio-mmio, IOAPIC, LAPIC, TSS) live in [MEM_HOLE_START, 4 GiB). */
#define MEM_HOLE_START 0xc0000000ULL
#define MEM_HOLE_END 0x100000000ULL
#define MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_mem_region regions[MEM_MAX_REGIONS];
	unsigned n_regions;
	uint64_t total;
};

/* Maps `size` bytes of guest RAM (page-aligned, >= 1 MiB): below the hole first, the rest from
 * 4 GiB. Pages are not touched, so unused guest memory costs nothing. */
int guest_mem_create(struct guest_mem *mem, uint64_t size, struct hy_error *err);
void guest_mem_destroy(struct guest_mem *mem);
/* Hands the regions to KVM (memory slots 0 and 1). */
int guest_mem_register(struct guest_mem *mem, int vm_fd, struct hy_error *err);

/* Declared in virtio.h too (the devices' contract): NULL when [gpa, gpa+len) is not wholly RAM. */
void *guest_mem_ptr(struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* The end of the RAM region below the hole (the highest address a 32-bit loader can use). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
