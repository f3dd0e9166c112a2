/* vCPUs: one thread each running KVM_RUN and dispatching PIO/MMIO exits to the VM's buses. */
#ifndef HYRUN_VMM_VCPU_H
#define HYRUN_VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"

struct vm;
struct kvm_run;
struct boot_entry;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

/* Creates the vCPU and sets its CPUID, MSRs and LAPIC; vCPU 0 also gets the boot registers. */
int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out, struct hy_error *err);
int vcpu_start(struct vcpu *vcpu, struct hy_error *err);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* Makes the vCPU leave KVM_RUN soon (immediate_exit + signal). */
void vcpu_kick(struct vcpu *vcpu);
/* The signal used for kicks; installed once by vmm_run. A real-time one: as the init of a VM
 * container the VMM forwards SIGUSR1/SIGUSR2 & co. to the guest process, and a vCPU thread with
 * the kick signal unblocked must not swallow a user's `hyrun kill ID USR2`. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)
void vcpu_install_kick_handler(void);

/* cpuid.c, msrs.c, regs.c */
int vcpu_setup_cpuid(struct vcpu *vcpu, struct hy_error *err);
int vcpu_setup_msrs(struct vcpu *vcpu, struct hy_error *err);
int vcpu_setup_lapic(struct vcpu *vcpu, struct hy_error *err);
int vcpu_setup_boot_regs(struct vcpu *vcpu, const struct boot_entry *boot, struct hy_error *err);

#endif
