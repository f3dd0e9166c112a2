/* Guest RAM as anonymous mappings, split around the 32-bit MMIO hole. */
#include "sandbox-vm/vmm/memory.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define MIB (1024ULL * 1024ULL)

static int map_region(struct guest_mem *mem, uint64_t gpa, uint64_t size, struct hy_error *err)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return hy_error_errno(err, errno, "cannot map %llu MiB of guest memory",
				      (unsigned long long)(size / MIB));
	/* Huge pages: one nested-paging fault per 2 MiB instead of 512, which is most of the cost
	 * of a guest's first touch of its memory under nested virtualization. */
	madvise(p, size, MADV_HUGEPAGE);
	mem->regions[mem->n_regions++] = (struct guest_mem_region){gpa, size, p};
	mem->total += size;
	return 0;
}

int guest_mem_create(struct guest_mem *mem, uint64_t size, struct hy_error *err)
{
	memset(mem, 0, sizeof(*mem));
	if (size < MIB || size % 4096)
		return hy_error_set(err, EINVAL,
				    "guest memory size %llu bytes: must be a multiple of 4 KiB and >= 1 MiB",
				    (unsigned long long)size);
	if (size > (1ULL << 46))
		return hy_error_set(err, EINVAL, "guest memory size %llu MiB is too large",
				    (unsigned long long)(size / MIB));
	uint64_t low = size < MEM_HOLE_START ? size : MEM_HOLE_START;
	int rc = map_region(mem, 0, low, err);
	if (rc == 0 && size > low)
		rc = map_region(mem, MEM_HOLE_END, size - low, err);
	if (rc < 0)
		guest_mem_destroy(mem);
	return rc;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->n_regions; i++)
		munmap(mem->regions[i].host, mem->regions[i].size);
	memset(mem, 0, sizeof(*mem));
}

int guest_mem_register(struct guest_mem *mem, int vm_fd, struct hy_error *err)
{
	for (unsigned i = 0; i < mem->n_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = mem->regions[i].gpa,
			.memory_size = mem->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->regions[i].host,
		};
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return hy_error_errno(err, errno,
					      "KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB at 0x%llx)", i,
					      (unsigned long long)(r.memory_size / MIB),
					      (unsigned long long)r.guest_phys_addr);
	}
	return 0;
}

void *guest_mem_ptr(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!mem)
		return NULL;
	for (unsigned i = 0; i < mem->n_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		/* Written as subtractions so that no sum can wrap around 2^64. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		if (len > r->size - off)
			return NULL;
		return r->host + off;
	}
	return NULL;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->n_regions ? mem->regions[0].gpa + mem->regions[0].size : 0;
}
