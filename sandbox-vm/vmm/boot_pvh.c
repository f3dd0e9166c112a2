/* PVH boot of an uncompressed ELF64 vmlinux: the kernel advertises a 32-bit entry point in a Xen
 * ELF note (XEN_ELFNOTE_PHYS32_ENTRY); we load its PT_LOAD segments at their physical addresses
 * and hand it an hvm_start_info (command line, memory map, initrd as the first module) in EBX.
 * No decompression, no real-mode setup code: the fastest way into a Linux guest. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/memory.h"

#define MIB (1024ULL * 1024ULL)
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAX_PHDRS 64
#define PVH_MAX_NOTE_BYTES (64 * 1024)

/* The PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h), version 1. */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

#define START_INFO_MODLIST (BOOT_START_INFO_ADDR + 0x40)
#define START_INFO_MEMMAP (BOOT_START_INFO_ADDR + 0x80)

/* Searches one PT_NOTE segment for the Xen PHYS32_ENTRY note. 1 = found. */
static int find_pvh_note(const uint8_t *notes, size_t len, uint64_t *entry)
{
	size_t off = 0;
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, notes + off, sizeof(nh));
		off += sizeof(nh);
		uint64_t namesz = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		uint64_t descsz = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		if (namesz > len - off || descsz > len - off - namesz)
			return 0; /* malformed note: stop looking, never read past the buffer */
		const uint8_t *name = notes + off;
		const uint8_t *desc = notes + off + namesz;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 && !memcmp(name, "Xen", 4)) {
			if (nh.n_descsz == 4) {
				uint32_t e;
				memcpy(&e, desc, 4);
				*entry = e;
				return 1;
			}
			if (nh.n_descsz == 8) {
				memcpy(entry, desc, 8);
				return 1;
			}
			return 0;
		}
		off += namesz + descsz;
	}
	return 0;
}

int boot_load_pvh(struct guest_mem *mem, const char *path, const char *initrd_path,
		  const char *cmdline, struct boot_entry *entry, struct hy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "kernel %s", path);
	Elf64_Phdr *ph = NULL;
	uint8_t *notes = NULL;
	int rc;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = hy_error_errno(err, errno, "kernel %s: fstat", path);
		goto out;
	}
	uint64_t file_size = (uint64_t)st.st_size;

	Elf64_Ehdr eh;
	rc = boot_read_at(fd, &eh, sizeof(eh), 0, path, "the ELF header", err);
	if (rc < 0)
		goto out;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		rc = hy_error_set(err, EINVAL, "kernel %s: not an ELF file (bad magic)", path);
		goto out;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		rc = hy_error_set(err, EINVAL, "kernel %s: not a 64-bit little-endian x86-64 ELF", path);
		goto out;
	}
	if (eh.e_type != ET_EXEC) {
		rc = hy_error_set(err, EINVAL, "kernel %s: ELF type %u is not an executable", path,
				  eh.e_type);
		goto out;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > PVH_MAX_PHDRS) {
		rc = hy_error_set(err, EINVAL,
				  "kernel %s: bad program header table (%u entries of %u bytes)", path,
				  eh.e_phnum, eh.e_phentsize);
		goto out;
	}
	size_t ph_bytes = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	ph = malloc(ph_bytes);
	if (!ph) {
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = boot_read_at(fd, ph, ph_bytes, eh.e_phoff, path, "the program headers", err);
	if (rc < 0)
		goto out;

	/* Validate everything before writing a byte to guest memory. */
	uint64_t pvh_entry = 0, kernel_end = 0;
	int have_entry = 0, n_load = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_offset > file_size || p->p_filesz > file_size - p->p_offset) {
			rc = hy_error_set(err, EINVAL,
					  "kernel %s: truncated file (segment %u needs bytes up to %llu, "
					  "the file has %llu)",
					  path, i, (unsigned long long)(p->p_offset + p->p_filesz),
					  (unsigned long long)file_size);
			goto out;
		}
		if (p->p_type == PT_NOTE && !have_entry && p->p_filesz) {
			if (p->p_filesz > PVH_MAX_NOTE_BYTES)
				continue;
			free(notes);
			notes = malloc(p->p_filesz);
			if (!notes) {
				rc = hy_error_set(err, ENOMEM, "out of memory");
				goto out;
			}
			rc = boot_read_at(fd, notes, p->p_filesz, p->p_offset, path, "an ELF note", err);
			if (rc < 0)
				goto out;
			have_entry = find_pvh_note(notes, p->p_filesz, &pvh_entry);
			continue;
		}
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz) {
			rc = hy_error_set(err, EINVAL, "kernel %s: segment %u has file size > memory size",
					  path, i);
			goto out;
		}
		if (p->p_paddr < BOOT_HIMEM_START) {
			rc = hy_error_set(err, EINVAL,
					  "kernel %s: segment %u at 0x%llx would overwrite the boot "
					  "structures below 1 MiB",
					  path, i, (unsigned long long)p->p_paddr);
			goto out;
		}
		if (!guest_mem_ptr(mem, p->p_paddr, p->p_memsz) ||
		    p->p_paddr + p->p_memsz > guest_mem_low_end(mem)) {
			rc = hy_error_set(err, ENOMEM,
					  "kernel %s: segment %u [0x%llx, +%llu MiB) is outside guest memory "
					  "(%llu MiB): the guest memory is smaller than the kernel",
					  path, i, (unsigned long long)p->p_paddr,
					  (unsigned long long)(p->p_memsz / MIB),
					  (unsigned long long)(mem->total / MIB));
			goto out;
		}
		if (p->p_paddr + p->p_memsz > kernel_end)
			kernel_end = p->p_paddr + p->p_memsz;
		n_load++;
	}
	if (!n_load) {
		rc = hy_error_set(err, EINVAL, "kernel %s: no loadable segment", path);
		goto out;
	}
	if (!have_entry) {
		rc = hy_error_set(err, EINVAL,
				  "kernel %s: no PVH entry point (Xen ELF note PHYS32_ENTRY); build the "
				  "kernel with CONFIG_PVH=y or pass a bzImage",
				  path);
		goto out;
	}
	if (pvh_entry >= 0x100000000ULL || !guest_mem_ptr(mem, pvh_entry, 1)) {
		rc = hy_error_set(err, EINVAL, "kernel %s: PVH entry point 0x%llx is outside guest memory",
				  path, (unsigned long long)pvh_entry);
		goto out;
	}

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		/* The BSS needs no clearing: guest memory is a fresh anonymous mapping. */
		uint8_t *dst = guest_mem_ptr(mem, p->p_paddr, p->p_memsz);
		rc = boot_read_at(fd, dst, p->p_filesz, p->p_offset, path, "a kernel segment", err);
		if (rc < 0)
			goto out;
	}

	uint64_t initrd_gpa = 0, initrd_size = 0;
	if (initrd_path) {
		rc = boot_load_initrd(mem, initrd_path, (kernel_end + 0xfff) & ~0xfffULL, UINT64_MAX,
				      &initrd_gpa, &initrd_size, err);
		if (rc < 0)
			goto out;
	}
	rc = boot_write_cmdline(mem, cmdline, BOOT_CMDLINE_MAX, err);
	if (rc < 0)
		goto out;

	struct hvm_start_info *si = guest_mem_ptr(mem, BOOT_START_INFO_ADDR, 0x1000);
	if (!si) {
		rc = hy_error_set(err, ENOMEM, "guest memory too small for hvm_start_info");
		goto out;
	}
	struct boot_memmap_entry map[BOOT_MEMMAP_MAX];
	unsigned n_map = boot_memmap(mem, map);
	struct hvm_memmap_table_entry *mm =
		(void *)((uint8_t *)si + (START_INFO_MEMMAP - BOOT_START_INFO_ADDR));
	for (unsigned i = 0; i < n_map; i++)
		mm[i] = (struct hvm_memmap_table_entry){map[i].addr, map[i].size, map[i].type, 0};
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = BOOT_CMDLINE_ADDR,
		.memmap_paddr = START_INFO_MEMMAP,
		.memmap_entries = n_map,
	};
	if (initrd_size) {
		struct hvm_modlist_entry *mod =
			(void *)((uint8_t *)si + (START_INFO_MODLIST - BOOT_START_INFO_ADDR));
		*mod = (struct hvm_modlist_entry){.paddr = initrd_gpa, .size = initrd_size};
		si->nr_modules = 1;
		si->modlist_paddr = START_INFO_MODLIST;
	}
	rc = boot_write_gdt(mem, 0, err);
	if (rc < 0)
		goto out;
	*entry = (struct boot_entry){
		.mode = BOOT_MODE_PVH32,
		.rip = pvh_entry,
		.arg = BOOT_START_INFO_ADDR,
		.kernel_end = kernel_end,
	};
out:
	free(ph);
	free(notes);
	close(fd);
	return rc;
}
