/* Boot-time MSRs and LAPIC set-up: the few values firmware would have left that Linux relies on. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "sandbox-vm/vmm/vcpu.h"
#include "sandbox-vm/vmm/vm.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 1ULL
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WRBACK 6ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

int vcpu_setup_msrs(struct vcpu *v, struct hy_error *err)
{
	/* kvm_msrs ends in a flexible array: a union gives it room without a struct member after it. */
	union {
		struct kvm_msrs hdr;
		unsigned char room[sizeof(struct kvm_msrs) + 2 * sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof(m));
	struct kvm_msr_entry *e = m.hdr.entries;
	/* Fast string operations, and all memory write-back: without an enabled MTRR default type
	 * the guest would map its RAM uncached. */
	e[0] = (struct kvm_msr_entry){.index = MSR_IA32_MISC_ENABLE,
					.data = MSR_IA32_MISC_ENABLE_FAST_STRING};
	e[1] = (struct kvm_msr_entry){.index = MSR_MTRR_DEF_TYPE,
					.data = MTRR_ENABLE | MTRR_TYPE_WRBACK};
	m.hdr.nmsrs = 2;
	int n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return hy_error_errno(err, errno, "KVM_SET_MSRS");
	if (n != 2)
		return hy_error_set(err, EINVAL, "KVM_SET_MSRS: KVM rejected MSR 0x%x", e[n].index);
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

int vcpu_setup_lapic(struct vcpu *v, struct hy_error *err)
{
	/* LINT0 carries the PIC's ExtINT, LINT1 the NMI, as on a PC after firmware. */
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return hy_error_errno(err, errno, "KVM_GET_LAPIC");
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
		return hy_error_errno(err, errno, "KVM_SET_LAPIC");
	return 0;
}
