/* Loading a guest kernel: PVH ELF vmlinux (boot_pvh.c) or bzImage (boot_bzimage.c). Both treat the
 * kernel and initrd files as hostile: every header field is range-checked before use. */
#ifndef HYRUN_VMM_BOOT_H
#define HYRUN_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

struct guest_mem;

/* Low-memory layout shared by both loaders (all below the EBDA at 0x9fc00). */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_START_INFO_ADDR 0x6000ULL /* PVH hvm_start_info, module list, memory map */
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL  /* Linux boot_params */
#define BOOT_PML4_ADDR 0x9000ULL       /* identity page tables for the 64-bit entry */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 2048          /* x86 COMMAND_LINE_SIZE, NUL included */
#define BOOT_EBDA_START 0x9fc00ULL     /* the MP table lives here */
#define BOOT_HIMEM_START 0x100000ULL   /* 1 MiB: kernels load at or above it */

/* GDT selectors (both entry paths): flat code at 0x10, flat data at 0x18, TSS at 0x20. */
#define BOOT_GDT_CODE 0x10
#define BOOT_GDT_DATA 0x18
#define BOOT_GDT_TSS 0x20

enum boot_mode {
	BOOT_MODE_PVH32,   /* 32-bit protected mode, paging off, EBX = hvm_start_info */
	BOOT_MODE_LINUX64, /* long mode with identity paging, RSI = boot_params */
};

/* Where and how the boot vCPU starts. */
struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t arg; /* EBX (PVH) or RSI (Linux 64-bit) */
	uint64_t kernel_end;
};

enum boot_format { BOOT_FORMAT_UNKNOWN, BOOT_FORMAT_ELF, BOOT_FORMAT_BZIMAGE };

/* Looks at the kernel file's magic numbers (ELF or the Linux "HdrS" setup header). */
int boot_detect_format(const char *kernel_path, enum boot_format *format, struct hy_error *err);

/* Loads kernel (+ initrd) into guest memory and writes the boot structures. cmdline must fit in
 * BOOT_CMDLINE_MAX. The error names the file and the field that is wrong. */
int boot_load_pvh(struct guest_mem *mem, const char *kernel_path, const char *initrd_path,
		  const char *cmdline, struct boot_entry *entry, struct hy_error *err);
int boot_load_bzimage(struct guest_mem *mem, const char *kernel_path, const char *initrd_path,
		      const char *cmdline, struct boot_entry *entry, struct hy_error *err);
/* Detects the format and calls the matching loader. */
int boot_load_kernel(struct guest_mem *mem, const char *kernel_path, const char *initrd_path,
		     const char *cmdline, struct boot_entry *entry, struct hy_error *err);

/* boot_common.c helpers shared by the loaders. */
int boot_read_at(int fd, void *buf, size_t len, uint64_t off, const char *path, const char *what,
		 struct hy_error *err);
int boot_write_cmdline(struct guest_mem *mem, const char *cmdline, size_t max, struct hy_error *err);
/* Loads the initrd at the top of low memory, above `lowest`, ending at or below `highest`. */
int boot_load_initrd(struct guest_mem *mem, const char *path, uint64_t lowest, uint64_t highest,
		     uint64_t *gpa, uint64_t *size, struct hy_error *err);
/* The guest's RAM map (same for e820 and the PVH memmap). type 1 = RAM, 2 = reserved. */
struct boot_memmap_entry {
	uint64_t addr, size;
	uint32_t type;
};
#define BOOT_MEMMAP_MAX 4
unsigned boot_memmap(const struct guest_mem *mem, struct boot_memmap_entry *out);
/* The flat GDT (null, null, code32/64, data, tss) at BOOT_GDT_ADDR. */
int boot_write_gdt(struct guest_mem *mem, int long_mode, struct hy_error *err);

#endif
