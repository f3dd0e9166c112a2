/* Guest CPUID: what KVM supports (including its 0x40000000 hypervisor leaves, so the guest finds
 * kvmclock and PV features), with per-vCPU APIC ids and a flat topology of n single-thread cores. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "sandbox-vm/vmm/vcpu.h"
#include "sandbox-vm/vmm/vm.h"

#define CPUID_HYPERVISOR_BIT (1u << 31) /* leaf 1 ECX */
#define CPUID_HTT_BIT (1u << 28)        /* leaf 1 EDX */
#define CPUID_TSC_DEADLINE_BIT (1u << 24) /* leaf 1 ECX */

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

static void patch_entry(struct kvm_cpuid_entry2 *e, unsigned apic_id, unsigned n_cpus,
			bool tsc_deadline)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffffu) | (apic_id << 24) | ((n_cpus & 0xffu) << 16);
		e->ecx |= CPUID_HYPERVISOR_BIT;
		/* KVM emulates the TSC-deadline LAPIC timer but does not list it as supported; with
		 * it the guest skips calibrating the LAPIC timer against the PIT, which is slow and,
		 * under nested virtualization, fails ("APIC timer disabled"). */
		if (tsc_deadline)
			e->ecx |= CPUID_TSC_DEADLINE_BIT;
		if (n_cpus > 1)
			e->edx |= CPUID_HTT_BIT;
		else
			e->edx &= ~CPUID_HTT_BIT;
		break;
	case 4: /* Intel cache topology: cores sharing the package in EAX[31:26] */
		e->eax = (e->eax & 0x03ffffffu) | (((n_cpus - 1) & 0x3fu) << 26);
		break;
	case 0xb:
	case 0x1f:
		/* Level 0 = SMT (one thread per core), level 1 = core (n_cpus per package). */
		e->edx = apic_id;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | e->index;
		} else if (e->index == 1) {
			e->eax = bits_for(n_cpus);
			e->ebx = n_cpus;
			e->ecx = (2u << 8) | e->index;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000008: /* AMD: number of cores - 1 and APIC id size */
		e->ecx = (e->ecx & ~0xf0ffu) | (bits_for(n_cpus) << 12) | ((n_cpus - 1) & 0xffu);
		break;
	default:
		break;
	}
}

int vcpu_setup_cpuid(struct vcpu *v, struct hy_error *err)
{
	const struct kvm_cpuid2 *sup = v->vm->kvm.supported_cpuid;
	size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	if (!c)
		return hy_error_set(err, ENOMEM, "out of memory for CPUID");
	memcpy(c, sup, bytes);
	bool tsc_deadline =
		ioctl(v->vm->kvm.sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	for (uint32_t i = 0; i < c->nent; i++)
		patch_entry(&c->entries[i], v->id, v->vm->n_vcpus, tsc_deadline);
	int rc = 0;
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		rc = hy_error_errno(err, errno, "KVM_SET_CPUID2");
	free(c);
	return rc;
}
