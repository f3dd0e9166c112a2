/* The Intel MultiProcessor Specification 1.4 table: how a guest without ACPI learns its CPUs, its
 * IOAPIC and how ISA IRQs (serial, virtio-mmio) reach the IOAPIC pins. Linux finds the floating
 * pointer by scanning the last KiB of base memory, where we put it (the EBDA at 0x9fc00). */
#include <errno.h>
#include <string.h>

#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/memory.h"
#include "sandbox-vm/vmm/vm.h"

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc { /* also the layout of local interrupt (type 4) entries */
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf layout");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc header layout");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc cpu layout");

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_EXTINT = 3 };
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define ISA_BUS_ID 0

static uint8_t checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + ((const uint8_t *)p)[i]);
	return (uint8_t)-sum;
}

int mptable_write(struct guest_mem *mem, unsigned n_vcpus, struct hy_error *err)
{
	if (n_vcpus == 0 || n_vcpus > VM_MAX_VCPUS)
		return hy_error_set(err, EINVAL, "%u vCPUs: the MP table supports 1..%u", n_vcpus,
				    VM_MAX_VCPUS);
	size_t table_len = sizeof(struct mpc_table) + n_vcpus * sizeof(struct mpc_cpu) +
			   sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
			   VM_IOAPIC_PINS * sizeof(struct mpc_intsrc) + 2 * sizeof(struct mpc_intsrc);
	size_t total = sizeof(struct mpf_intel) + table_len;
	uint8_t *base = guest_mem_ptr(mem, BOOT_EBDA_START, total);
	if (!base || BOOT_EBDA_START + total > BOOT_HIMEM_START)
		return hy_error_set(err, ENOMEM, "guest memory too small for the MP table");
	memset(base, 0, total);

	struct mpf_intel *mpf = (void *)base;
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(BOOT_EBDA_START + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));

	uint8_t *table = base + sizeof(*mpf);
	struct mpc_table *hdr = (void *)table;
	uint8_t *p = table + sizeof(*hdr);
	uint8_t ioapic_id = (uint8_t)(n_vcpus + 1);
	for (unsigned i = 0; i < n_vcpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = APIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = 0x600, /* family 6: only informational */
			.featureflag = (1u << 0) | (1u << 9), /* FPU, APIC */
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}
	struct mpc_bus bus = {.type = MP_BUS, .busid = ISA_BUS_ID};
	memcpy(bus.bustype, "ISA   ", 6);
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	struct mpc_ioapic ioapic = {.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = IOAPIC_VERSION,
				    .flags = 1, .apicaddr = (uint32_t)VM_IOAPIC_ADDR};
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	/* ISA IRQ n -> IOAPIC pin n, as KVM's default GSI routing does; edge, active high. */
	for (unsigned pin = 0; pin < VM_IOAPIC_PINS; pin++) {
		struct mpc_intsrc src = {.type = MP_INTSRC, .irqtype = MP_IRQ_INT, .srcbus = ISA_BUS_ID,
					 .srcbusirq = (uint8_t)pin, .dstapic = ioapic_id,
					 .dstirq = (uint8_t)pin};
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}
	struct mpc_intsrc lint0 = {.type = MP_LINTSRC, .irqtype = MP_IRQ_EXTINT, .srcbus = ISA_BUS_ID,
				   .dstapic = 0xff, .dstirq = 0};
	struct mpc_intsrc lint1 = {.type = MP_LINTSRC, .irqtype = MP_IRQ_NMI, .srcbus = ISA_BUS_ID,
				   .dstapic = 0xff, .dstirq = 1};
	memcpy(p, &lint0, sizeof(lint0));
	p += sizeof(lint0);
	memcpy(p, &lint1, sizeof(lint1));
	p += sizeof(lint1);

	memcpy(hdr->signature, "PCMP", 4);
	hdr->length = (uint16_t)(p - table);
	hdr->spec = 4;
	memcpy(hdr->oem, "HYRUN   ", 8);
	memcpy(hdr->productid, "MICROVM     ", 12);
	hdr->lapic = (uint32_t)VM_LAPIC_ADDR;
	hdr->checksum = checksum(table, hdr->length);
	return 0;
}
