/* /dev/kvm: the system and VM file descriptors, capability checks and the in-kernel irqchip/PIT. */
#ifndef HYRUN_VMM_KVM_H
#define HYRUN_VMM_KVM_H

#include <stdint.h>

#include "runtime/error.h"

/* Fixed guest-physical addresses KVM needs for its real-mode helpers (inside the MMIO hole). */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR 0xfffbd000ULL

struct kvm_cpuid2;

struct kvm {
	int sys_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int max_vcpus;
	struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID, owned */
};

/* Opens /dev/kvm, checks the API version and every capability the VMM relies on, creates the VM. */
int kvm_open(struct kvm *kvm, struct hy_error *err);
/* TSS and identity-map addresses, the in-kernel PIC/IOAPIC/LAPIC and the PIT. */
int kvm_setup_irqchip(struct kvm *kvm, struct hy_error *err);
/* Drives an in-kernel irqchip input (GSI) to `level`. */
int kvm_irq_line(struct kvm *kvm, uint32_t gsi, int level);
void kvm_close(struct kvm *kvm);

/* kvm_probe.c: true when /dev/kvm is a page-table-only KVM (kvm_pvm) that cannot run a guest
 * kernel; the hint is the message users see in that case. */
int kvm_is_pvm(void);
extern const char kvm_pvm_hint[];

#endif
