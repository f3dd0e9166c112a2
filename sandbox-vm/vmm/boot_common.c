/* Pieces both kernel loaders share: file reads that refuse short files, the command line, the
 * initrd, the RAM map and the boot GDT. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/memory.h"

#define MIB (1024ULL * 1024ULL)

int boot_read_at(int fd, void *buf, size_t len, uint64_t off, const char *path, const char *what,
		 struct hy_error *err)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hy_error_errno(err, errno, "%s: reading %s", path, what);
		if (n == 0)
			return hy_error_set(err, EINVAL, "%s: truncated file (%s ends past the end of the file)",
					    path, what);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int boot_write_cmdline(struct guest_mem *mem, const char *cmdline, size_t max, struct hy_error *err)
{
	size_t len = strlen(cmdline ? cmdline : "");
	if (len + 1 > max)
		return hy_error_set(err, E2BIG, "kernel command line is %zu bytes, the kernel accepts %zu",
				    len, max - 1);
	char *dst = guest_mem_ptr(mem, BOOT_CMDLINE_ADDR, len + 1);
	if (!dst)
		return hy_error_set(err, ENOMEM, "guest memory too small for the command line");
	memcpy(dst, cmdline ? cmdline : "", len + 1);
	return 0;
}

int boot_load_initrd(struct guest_mem *mem, const char *path, uint64_t lowest, uint64_t highest,
		     uint64_t *gpa, uint64_t *size, struct hy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "initrd %s", path);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = hy_error_errno(err, errno, "initrd %s: fstat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		rc = hy_error_set(err, EINVAL, "initrd %s: not a regular non-empty file", path);
		goto out;
	}
	uint64_t len = (uint64_t)st.st_size;
	uint64_t top = guest_mem_low_end(mem);
	if (highest < top)
		top = highest;
	/* Page-aligned, as high as possible, and strictly above the kernel. */
	if (len > top || ((top - len) & ~0xfffULL) < lowest) {
		rc = hy_error_set(err, ENOMEM,
				  "initrd %s (%llu MiB) does not fit in guest memory above the kernel "
				  "(%llu MiB free below %llu MiB): give the VM more memory",
				  path, (unsigned long long)(len / MIB),
				  (unsigned long long)(top > lowest ? (top - lowest) / MIB : 0),
				  (unsigned long long)(top / MIB));
		goto out;
	}
	uint64_t at = (top - len) & ~0xfffULL;
	void *dst = guest_mem_ptr(mem, at, len);
	if (!dst) {
		rc = hy_error_set(err, ENOMEM, "initrd %s: no guest memory at 0x%llx", path,
				  (unsigned long long)at);
		goto out;
	}
	rc = boot_read_at(fd, dst, len, 0, path, "the initrd", err);
	*gpa = at;
	*size = len;
out:
	close(fd);
	return rc;
}

unsigned boot_memmap(const struct guest_mem *mem, struct boot_memmap_entry *out)
{
	unsigned n = 0;
	/* Base memory up to the EBDA (which holds the MP table), then the BIOS area as reserved. */
	out[n++] = (struct boot_memmap_entry){0, BOOT_EBDA_START, 1};
	out[n++] = (struct boot_memmap_entry){BOOT_EBDA_START, BOOT_HIMEM_START - BOOT_EBDA_START, 2};
	for (unsigned i = 0; i < mem->n_regions && n < BOOT_MEMMAP_MAX; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t start = r->gpa < BOOT_HIMEM_START ? BOOT_HIMEM_START : r->gpa;
		if (r->gpa + r->size > start)
			out[n++] = (struct boot_memmap_entry){start, r->gpa + r->size - start, 1};
	}
	return n;
}

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0xf0000u) << 32) | ((uint64_t)(base & 0xffffffu) << 16) |
	       (uint64_t)(limit & 0xffffu);
}

int boot_write_gdt(struct guest_mem *mem, int long_mode, struct hy_error *err)
{
	uint64_t *gdt = guest_mem_ptr(mem, BOOT_GDT_ADDR, 5 * sizeof(uint64_t));
	if (!gdt)
		return hy_error_set(err, ENOMEM, "guest memory too small for the boot GDT");
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_GDT_CODE / 8] = gdt_entry(long_mode ? 0xa09b : 0xc09b, 0, 0xfffff);
	gdt[BOOT_GDT_DATA / 8] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[BOOT_GDT_TSS / 8] = gdt_entry(0x008b, 0, 0x67);
	return 0;
}

int boot_detect_format(const char *kernel_path, enum boot_format *format, struct hy_error *err)
{
	*format = BOOT_FORMAT_UNKNOWN;
	int fd = open(kernel_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "kernel %s", kernel_path);
	uint8_t head[0x210];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	int e = errno;
	close(fd);
	if (n < 0)
		return hy_error_errno(err, e, "kernel %s: read", kernel_path);
	if (n >= 4 && !memcmp(head, "\x7f" "ELF", 4))
		*format = BOOT_FORMAT_ELF;
	else if (n >= 0x206 && !memcmp(head + 0x202, "HdrS", 4))
		*format = BOOT_FORMAT_BZIMAGE;
	else
		return hy_error_set(err, EINVAL,
				    "kernel %s: neither an ELF vmlinux nor a bzImage (no ELF magic, no "
				    "\"HdrS\" setup header)%s",
				    kernel_path, n < 0x206 ? "; the file is too short" : "");
	return 0;
}

int boot_load_kernel(struct guest_mem *mem, const char *kernel_path, const char *initrd_path,
		     const char *cmdline, struct boot_entry *entry, struct hy_error *err)
{
	enum boot_format format;
	int rc = boot_detect_format(kernel_path, &format, err);
	if (rc < 0)
		return rc;
	if (format == BOOT_FORMAT_ELF)
		return boot_load_pvh(mem, kernel_path, initrd_path, cmdline, entry, err);
	return boot_load_bzimage(mem, kernel_path, initrd_path, cmdline, entry, err);
}
