/* bzImage boot through the Linux x86 boot protocol's 64-bit entry (protocol >= 2.12 with
 * XLF_KERNEL_64): the protected-mode kernel is loaded at 1 MiB, a zero page (boot_params) carries
 * the setup header, e820 map, command line and initrd, and the vCPU starts in long mode at
 * load address + 0x200 with identity-mapped page tables and a flat GDT (selectors 0x10/0x18). */
#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/memory.h"

#define MIB (1024ULL * 1024ULL)
#define BZ_LOAD_ADDR BOOT_HIMEM_START
#define BZ_MIN_PROTOCOL 0x020c
#define SETUP_HDR_OFFSET 0x1f1
#define IDENTITY_MAP_GIB 4 /* covers everything below the MMIO hole */

/* PML4 -> one PDPT -> IDENTITY_MAP_GIB page directories of 2 MiB pages. */
static int write_identity_page_tables(struct guest_mem *mem, struct hy_error *err)
{
	uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, BOOT_PML4_ADDR + 0x1000, 4096);
	uint64_t *pd = guest_mem_ptr(mem, BOOT_PML4_ADDR + 0x2000, 4096 * IDENTITY_MAP_GIB);
	if (!pml4 || !pdpt || !pd)
		return hy_error_set(err, ENOMEM, "guest memory too small for the boot page tables");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = (BOOT_PML4_ADDR + 0x1000) | 0x3; /* present, writable */
	for (uint64_t g = 0; g < IDENTITY_MAP_GIB; g++)
		pdpt[g] = (BOOT_PML4_ADDR + 0x2000 + g * 0x1000) | 0x3;
	for (uint64_t i = 0; i < 512 * IDENTITY_MAP_GIB; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

int boot_load_bzimage(struct guest_mem *mem, const char *path, const char *initrd_path,
		      const char *cmdline, struct boot_entry *entry, struct hy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "kernel %s", path);
	int rc;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = hy_error_errno(err, errno, "kernel %s: fstat", path);
		goto out;
	}
	uint64_t file_size = (uint64_t)st.st_size;
	/* The first 1 KiB holds the boot sector and the whole setup header. */
	uint8_t head[1024];
	if (file_size < sizeof(head)) {
		rc = hy_error_set(err, EINVAL, "kernel %s: truncated file (%llu bytes, no setup header)",
				  path, (unsigned long long)file_size);
		goto out;
	}
	rc = boot_read_at(fd, head, sizeof(head), 0, path, "the setup header", err);
	if (rc < 0)
		goto out;
	struct setup_header hdr;
	memcpy(&hdr, head + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.boot_flag != 0xaa55 || hdr.header != 0x53726448 /* "HdrS" */) {
		rc = hy_error_set(err, EINVAL, "kernel %s: not a bzImage (bad boot flag or \"HdrS\" magic)",
				  path);
		goto out;
	}
	if (hdr.version < BZ_MIN_PROTOCOL) {
		rc = hy_error_set(err, EINVAL,
				  "kernel %s: boot protocol %u.%02u is too old (need 2.12 for the 64-bit "
				  "entry)",
				  path, hdr.version >> 8, hdr.version & 0xff);
		goto out;
	}
	if (!(hdr.xloadflags & XLF_KERNEL_64) || !(hdr.loadflags & LOADED_HIGH)) {
		rc = hy_error_set(err, EINVAL, "kernel %s: not a 64-bit kernel (no XLF_KERNEL_64)", path);
		goto out;
	}
	uint64_t setup_bytes = ((uint64_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_bytes >= file_size) {
		rc = hy_error_set(err, EINVAL,
				  "kernel %s: truncated file (setup code of %llu bytes, file of %llu)",
				  path, (unsigned long long)setup_bytes, (unsigned long long)file_size);
		goto out;
	}
	if (hdr.syssize && (uint64_t)hdr.syssize * 16 > file_size - setup_bytes) {
		rc = hy_error_set(err, EINVAL,
				  "kernel %s: truncated file (header says %llu bytes of kernel, file has %llu)",
				  path, (unsigned long long)hdr.syssize * 16,
				  (unsigned long long)(file_size - setup_bytes));
		goto out;
	}
	uint64_t kernel_bytes = file_size - setup_bytes;
	/* The kernel decompresses in place: it needs init_size bytes from its load address. */
	uint64_t need = hdr.init_size > kernel_bytes ? hdr.init_size : kernel_bytes;
	if (!guest_mem_ptr(mem, BZ_LOAD_ADDR, need) || BZ_LOAD_ADDR + need > guest_mem_low_end(mem)) {
		rc = hy_error_set(err, ENOMEM,
				  "kernel %s needs %llu MiB from 1 MiB up, guest memory is %llu MiB: the "
				  "guest memory is smaller than the kernel",
				  path, (unsigned long long)((need + MIB - 1) / MIB),
				  (unsigned long long)(mem->total / MIB));
		goto out;
	}
	rc = boot_read_at(fd, guest_mem_ptr(mem, BZ_LOAD_ADDR, kernel_bytes), kernel_bytes,
			  setup_bytes, path, "the kernel", err);
	if (rc < 0)
		goto out;

	uint64_t kernel_end = BZ_LOAD_ADDR + need;
	uint64_t initrd_gpa = 0, initrd_size = 0;
	if (initrd_path) {
		uint64_t highest = (uint64_t)hdr.initrd_addr_max + 1;
		rc = boot_load_initrd(mem, initrd_path, (kernel_end + 0xfff) & ~0xfffULL, highest,
				      &initrd_gpa, &initrd_size, err);
		if (rc < 0)
			goto out;
	}
	size_t cmdline_max = hdr.cmdline_size ? (size_t)hdr.cmdline_size + 1 : 256;
	if (cmdline_max > BOOT_CMDLINE_MAX)
		cmdline_max = BOOT_CMDLINE_MAX;
	rc = boot_write_cmdline(mem, cmdline, cmdline_max, err);
	if (rc < 0)
		goto out;

	struct boot_params *zp = guest_mem_ptr(mem, BOOT_ZERO_PAGE_ADDR, sizeof(*zp));
	if (!zp) {
		rc = hy_error_set(err, ENOMEM, "guest memory too small for the zero page");
		goto out;
	}
	memset(zp, 0, sizeof(*zp));
	/* The setup header runs from 0x1f1 to 0x202 + the byte at 0x201 (the jump's offset). */
	size_t hdr_end = 0x202 + head[0x201];
	if (hdr_end > sizeof(head))
		hdr_end = sizeof(head);
	if (hdr_end > SETUP_HDR_OFFSET + sizeof(zp->hdr))
		hdr_end = SETUP_HDR_OFFSET + sizeof(zp->hdr);
	memcpy(&zp->hdr, head + SETUP_HDR_OFFSET, hdr_end - SETUP_HDR_OFFSET);
	zp->hdr.type_of_loader = 0xff;
	zp->hdr.code32_start = (uint32_t)BZ_LOAD_ADDR;
	zp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	zp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	zp->hdr.ramdisk_size = (uint32_t)initrd_size;
	struct boot_memmap_entry map[BOOT_MEMMAP_MAX];
	unsigned n_map = boot_memmap(mem, map);
	for (unsigned i = 0; i < n_map; i++)
		zp->e820_table[i] = (struct boot_e820_entry){map[i].addr, map[i].size, map[i].type};
	zp->e820_entries = (uint8_t)n_map;

	rc = write_identity_page_tables(mem, err);
	if (rc == 0)
		rc = boot_write_gdt(mem, 1, err);
	if (rc < 0)
		goto out;
	*entry = (struct boot_entry){
		.mode = BOOT_MODE_LINUX64,
		.rip = BZ_LOAD_ADDR + 0x200,
		.arg = BOOT_ZERO_PAGE_ADDR,
		.kernel_end = kernel_end,
	};
out:
	close(fd);
	return rc;
}
