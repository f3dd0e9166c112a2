/* The kernel loaders (PVH ELF and bzImage) on valid and malformed files, the MP table, and the
 * guest memory range checks. Runs without KVM: guest memory is a plain anonymous mapping. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/memory.h"
#include "sandbox-vm/vmm/vm.h"
#include "unit.h"

#define MIB (1024ULL * 1024ULL)
#define LOAD 0x100000ULL

static char tmpdir[] = "/tmp/hyrun-boot-test.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[4][256];
	static int slot;
	char *p = path[slot++ % 4];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return p;
}

/* A minimal PVH kernel: one PT_LOAD of `code` at paddr (memsz may be larger) and the Xen note. */
struct elf_opts {
	uint64_t paddr, memsz;
	int with_note;
	int bad_note;
	uint16_t phnum_override;
	uint64_t load_offset_override;
};

static size_t make_elf(uint8_t *buf, size_t cap, const struct elf_opts *o)
{
	static const uint8_t code[] = {0xb0, 0x2a, 0xe6, 0xf4, 0xf4}; /* mov al,42; out 0xf4,al; hlt */
	memset(buf, 0, cap);
	Elf64_Ehdr *eh = (void *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = o->phnum_override ? o->phnum_override : 2;
	Elf64_Phdr *ph = (void *)(buf + sizeof(*eh));
	size_t note_off = sizeof(*eh) + 2 * sizeof(Elf64_Phdr);
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 4, .n_type = 18};
	if (o->bad_note)
		nh.n_namesz = 0xfffffff0u;
	memcpy(buf + note_off, &nh, sizeof(nh));
	memcpy(buf + note_off + sizeof(nh), "Xen", 4);
	uint32_t entry = (uint32_t)o->paddr;
	memcpy(buf + note_off + sizeof(nh) + 4, &entry, 4);
	size_t note_len = sizeof(nh) + 8;
	size_t code_off = 0x100;
	memcpy(buf + code_off, code, sizeof(code));
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = 7,
			     .p_offset = o->load_offset_override ? o->load_offset_override : code_off,
			     .p_vaddr = o->paddr, .p_paddr = o->paddr, .p_filesz = sizeof(code),
			     .p_memsz = o->memsz ? o->memsz : sizeof(code), .p_align = 16};
	ph[1] = (Elf64_Phdr){.p_type = o->with_note ? PT_NOTE : PT_NULL, .p_offset = note_off,
			     .p_filesz = note_len, .p_memsz = note_len, .p_align = 4};
	return code_off + sizeof(code);
}

static int load_pvh(struct guest_mem *mem, const char *path, const char *initrd,
		    struct boot_entry *e, struct hy_error *err)
{
	hy_error_clear(err);
	return boot_load_kernel(mem, path, initrd, "console=ttyS0 -- echo hi", e, err);
}

static void test_pvh(struct guest_mem *mem)
{
	uint8_t buf[4096];
	struct boot_entry e;
	struct hy_error err = {0};

	size_t n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1});
	const char *ok = write_file("ok.elf", buf, n);
	CHECK(load_pvh(mem, ok, NULL, &e, &err) == 0);
	CHECK(e.mode == BOOT_MODE_PVH32 && e.rip == LOAD && e.arg == BOOT_START_INFO_ADDR);
	uint32_t *magic = guest_mem_ptr(mem, BOOT_START_INFO_ADDR, 4);
	CHECK(magic && *magic == 0x336ec578u);
	const uint8_t *code = guest_mem_ptr(mem, LOAD, 5);
	CHECK(code && code[0] == 0xb0 && code[1] == 0x2a);
	CHECK_STR_CONTAINS((const char *)guest_mem_ptr(mem, BOOT_CMDLINE_ADDR, 32), "-- echo hi");

	/* With an initrd: loaded page-aligned at the top of memory, listed as module 0. */
	const char *initrd = write_file("initrd", "initrd-bytes", 12);
	CHECK(load_pvh(mem, ok, initrd, &e, &err) == 0);
	uint64_t *mod = guest_mem_ptr(mem, BOOT_START_INFO_ADDR + 0x40, 16);
	CHECK(mod && mod[1] == 12 && mod[0] % 4096 == 0);
	CHECK(mod && !memcmp(guest_mem_ptr(mem, mod[0], 12), "initrd-bytes", 12));

	/* Truncated: the ELF header itself is cut. */
	const char *trunc = write_file("trunc.elf", buf, 30);
	CHECK(load_pvh(mem, trunc, NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "truncated");

	/* Truncated: the segment's bytes lie past the end of the file. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1,
							   .load_offset_override = 0x10000});
	CHECK(load_pvh(mem, write_file("short.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "truncated");

	/* Neither ELF nor bzImage. */
	memset(buf, 0x5a, sizeof(buf));
	CHECK(load_pvh(mem, write_file("junk", buf, sizeof(buf)), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "neither an ELF vmlinux nor a bzImage");
	CHECK(load_pvh(mem, write_file("empty", buf, 0), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "neither an ELF vmlinux nor a bzImage");

	/* Missing file. */
	CHECK(load_pvh(mem, "/nonexistent/vmlinux", NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "/nonexistent/vmlinux");

	/* A segment outside guest memory (in the MMIO hole). */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = 0xd0000000, .with_note = 1});
	CHECK(load_pvh(mem, write_file("far.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "outside guest memory");

	/* Memory smaller than the kernel: the segment's memsz exceeds the 64 MiB guest. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .memsz = 128 * MIB,
							   .with_note = 1});
	CHECK(load_pvh(mem, write_file("big.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "smaller than the kernel");

	/* A segment that wraps around 2^64. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = UINT64_MAX - 2, .with_note = 1});
	CHECK(load_pvh(mem, write_file("wrap.elf", buf, n), NULL, &e, &err) < 0);

	/* Below 1 MiB would overwrite the boot structures. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = 0x6000, .with_note = 1});
	CHECK(load_pvh(mem, write_file("low.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "below 1 MiB");

	/* No PVH note, and a note whose sizes point past its segment. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD});
	CHECK(load_pvh(mem, write_file("nonote.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "no PVH entry point");
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1,
							   .bad_note = 1});
	CHECK(load_pvh(mem, write_file("badnote.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "no PVH entry point");

	/* A program header table larger than the file / absurd entry count. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1,
							   .phnum_override = 60});
	CHECK(load_pvh(mem, write_file("phnum.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "truncated");
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1,
							   .phnum_override = 0xffff});
	CHECK(load_pvh(mem, write_file("phnum2.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "program header table");

	/* Not x86-64. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1});
	((Elf64_Ehdr *)buf)->e_machine = EM_AARCH64;
	CHECK(load_pvh(mem, write_file("arm.elf", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "x86-64");

	/* An initrd that cannot fit, and a command line that is too long. */
	n = make_elf(buf, sizeof(buf), &(struct elf_opts){.paddr = LOAD, .with_note = 1});
	ok = write_file("ok.elf", buf, n);
	char big_initrd[256];
	snprintf(big_initrd, sizeof(big_initrd), "%s/big-initrd", tmpdir);
	int fd = open(big_initrd, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)(100 * MIB)) == 0);
	close(fd);
	CHECK(load_pvh(mem, ok, big_initrd, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "does not fit");
	char *longcmd = malloc(4000);
	memset(longcmd, 'a', 3999);
	longcmd[3999] = 0;
	hy_error_clear(&err);
	CHECK(boot_load_pvh(mem, ok, NULL, longcmd, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "command line");
	free(longcmd);
}

static size_t make_bzimage(uint8_t *buf, size_t cap, uint16_t version, uint32_t init_size,
			   uint8_t setup_sects)
{
	memset(buf, 0, cap);
	buf[0x1f1] = setup_sects;
	buf[0x1fe] = 0x55;
	buf[0x1ff] = 0xaa;
	buf[0x201] = 0x6a; /* jump offset: header ends at 0x26c */
	memcpy(buf + 0x202, "HdrS", 4);
	memcpy(buf + 0x206, &version, 2);
	buf[0x211] = 0x01;                        /* loadflags: LOADED_HIGH */
	uint32_t initrd_max = 0x7fffffff;
	memcpy(buf + 0x22c, &initrd_max, 4);
	buf[0x236] = 0x01;                        /* xloadflags: XLF_KERNEL_64 */
	uint32_t cmdline_size = 2047;
	memcpy(buf + 0x238, &cmdline_size, 4);
	memcpy(buf + 0x260, &init_size, 4);
	size_t setup = ((size_t)setup_sects + 1) * 512;
	memcpy(buf + setup, "KERNEL", 6);
	return setup + 4096;
}

static void test_bzimage(struct guest_mem *mem)
{
	static uint8_t buf[16384];
	struct boot_entry e;
	struct hy_error err = {0};
	size_t n = make_bzimage(buf, sizeof(buf), 0x020f, 1 * MIB, 4);
	const char *ok = write_file("bz", buf, n);
	CHECK(load_pvh(mem, ok, NULL, &e, &err) == 0);
	CHECK(e.mode == BOOT_MODE_LINUX64 && e.rip == LOAD + 0x200 && e.arg == BOOT_ZERO_PAGE_ADDR);
	CHECK(!memcmp(guest_mem_ptr(mem, LOAD, 6), "KERNEL", 6));
	const uint8_t *zp = guest_mem_ptr(mem, BOOT_ZERO_PAGE_ADDR, 4096);
	CHECK(zp && zp[0x1e8] >= 3);              /* e820 entries */
	CHECK(zp && !memcmp(zp + 0x202, "HdrS", 4)); /* setup header copied */
	uint32_t cmd;
	memcpy(&cmd, zp + 0x228, 4);
	CHECK(cmd == BOOT_CMDLINE_ADDR);
	uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4_ADDR, 8);
	CHECK(pml4 && (*pml4 & 1));

	CHECK(load_pvh(mem, write_file("bz-trunc", buf, 600), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "truncated");

	n = make_bzimage(buf, sizeof(buf), 0x0201, 1 * MIB, 4);
	CHECK(load_pvh(mem, write_file("bz-old", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "too old");

	n = make_bzimage(buf, sizeof(buf), 0x020f, 512 * MIB, 4);
	CHECK(load_pvh(mem, write_file("bz-huge", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "smaller than the kernel");

	/* setup_sects claims more setup code than the file holds. */
	n = make_bzimage(buf, sizeof(buf), 0x020f, 1 * MIB, 4);
	buf[0x1f1] = 200;
	CHECK(load_pvh(mem, write_file("bz-sects", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "truncated");

	/* No 64-bit entry. */
	n = make_bzimage(buf, sizeof(buf), 0x020f, 1 * MIB, 4);
	buf[0x236] = 0;
	CHECK(load_pvh(mem, write_file("bz-32", buf, n), NULL, &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "64-bit");

	/* Bad boot flag with a valid-looking HdrS. */
	n = make_bzimage(buf, sizeof(buf), 0x020f, 1 * MIB, 4);
	buf[0x1fe] = 0;
	CHECK(boot_load_bzimage(mem, write_file("bz-flag", buf, n), NULL, "", &e, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not a bzImage");
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void test_mptable(struct guest_mem *mem)
{
	struct hy_error err = {0};
	CHECK(mptable_write(mem, 2, &err) == 0);
	const uint8_t *mpf = guest_mem_ptr(mem, BOOT_EBDA_START, 16);
	CHECK(mpf && !memcmp(mpf, "_MP_", 4) && sum(mpf, 16) == 0);
	uint32_t table;
	memcpy(&table, mpf + 4, 4);
	const uint8_t *t = guest_mem_ptr(mem, table, 44);
	CHECK(t && !memcmp(t, "PCMP", 4));
	uint16_t len;
	memcpy(&len, t + 4, 2);
	CHECK(sum(t, len) == 0);
	/* Two processor entries (type 0), the second not the boot CPU. */
	CHECK(t[44] == 0 && t[44 + 1] == 0 && (t[44 + 3] & 2));
	CHECK(t[64] == 0 && t[64 + 1] == 1 && !(t[64 + 3] & 2));
	CHECK(mptable_write(mem, 0, &err) < 0);
	CHECK(mptable_write(mem, VM_MAX_VCPUS + 1, &err) < 0);
}

static void test_guest_mem(void)
{
	struct guest_mem mem;
	struct hy_error err = {0};
	CHECK(guest_mem_create(&mem, 8 * MIB, &err) == 0);
	CHECK(guest_mem_ptr(&mem, 0, 8 * MIB) != NULL);
	CHECK(guest_mem_ptr(&mem, 0, 8 * MIB + 1) == NULL);
	CHECK(guest_mem_ptr(&mem, 8 * MIB - 1, 1) != NULL);
	CHECK(guest_mem_ptr(&mem, 8 * MIB, 1) == NULL);
	CHECK(guest_mem_ptr(&mem, 4096, UINT64_MAX) == NULL);
	CHECK(guest_mem_ptr(&mem, UINT64_MAX, 2) == NULL);
	CHECK(guest_mem_ptr(NULL, 0, 1) == NULL);
	guest_mem_destroy(&mem);
	CHECK(guest_mem_create(&mem, 1000, &err) < 0);
	/* Memory above the hole: 3 GiB + 16 MiB is split around [3 GiB, 4 GiB). Only address
	 * space is reserved, nothing is touched. */
	CHECK(guest_mem_create(&mem, MEM_HOLE_START + 16 * MIB, &err) == 0);
	CHECK(mem.n_regions == 2);
	CHECK(guest_mem_ptr(&mem, MEM_HOLE_START - 4096, 4096) != NULL);
	CHECK(guest_mem_ptr(&mem, MEM_HOLE_START - 4096, 8192) == NULL); /* runs into the hole */
	CHECK(guest_mem_ptr(&mem, 0xd0000000, 4) == NULL);
	CHECK(guest_mem_ptr(&mem, MEM_HOLE_END, 16 * MIB) != NULL);
	CHECK(guest_mem_ptr(&mem, MEM_HOLE_END + 16 * MIB, 1) == NULL);
	guest_mem_destroy(&mem);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	struct guest_mem mem;
	struct hy_error err = {0};
	CHECK(guest_mem_create(&mem, 64 * MIB, &err) == 0);
	test_pvh(&mem);
	test_bzimage(&mem);
	test_mptable(&mem);
	guest_mem_destroy(&mem);
	test_guest_mem();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return UNIT_DONE();
}
