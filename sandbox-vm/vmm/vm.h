/* The state of one running VM, shared by the VMM's files (not part of the public vmm.h). */
#ifndef HYRUN_VMM_VM_H
#define HYRUN_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"
#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/bus.h"
#include "sandbox-vm/vmm/kvm.h"
#include "sandbox-vm/vmm/memory.h"
#include "sandbox-vm/vmm/vmm.h"

#define VM_MAX_VCPUS 64
#define VM_MAX_VIRTIO 24

/* virtio-mmio windows, one page each, in the MMIO hole; their IRQs follow the serial's. */
#define VM_VIRTIO_MMIO_BASE 0xd0000000ULL
#define VM_VIRTIO_MMIO_SIZE 0x1000ULL
#define VM_VIRTIO_IRQ_BASE 5
#define VM_SERIAL_IRQ 4
#define VM_IOAPIC_ADDR 0xfec00000ULL
#define VM_LAPIC_ADDR 0xfee00000ULL
#define VM_IOAPIC_PINS 24

struct vcpu;
struct serial;
struct event_loop;
struct virtio_mmio;
struct virtio_dev;
struct control;

enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_EXIT_PORT, /* the agent wrote its exit code */
	VM_STOP_RESET,     /* i8042 reset, triple fault, KVM system event */
	VM_STOP_ERROR,     /* a vCPU failed; stop_err says why */
};

struct vm {
	const struct vmm_config *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct boot_entry boot;
	struct event_loop *loop;
	struct serial *serial;
	struct virtio_mmio *virtio[VM_MAX_VIRTIO];
	unsigned n_virtio;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	unsigned n_vcpus;
	struct control *control;
	struct virtio_dev *balloon; /* cfg->balloon: owned by its transport; the control socket sets it */

	/* Run state, guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vm_stop_reason stop_reason;
	int exit_code;
	struct hy_error stop_err;
	bool pause_requested;
	unsigned n_paused;
};

/* Ends the VM (from any thread); the first reason wins. msg is used for VM_STOP_ERROR. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int exit_code, const char *msg);
/* Asks every vCPU to leave KVM_RUN now (signal + immediate_exit). */
void vm_kick_vcpus(struct vm *vm);
/* control.c: pause/resume all vCPUs; return once they are (un)paused. */
int vm_pause(struct vm *vm, struct hy_error *err);
void vm_resume(struct vm *vm);

/* Legacy devices (serial.c, i8042.c, exit_port.c). */
int serial_create(struct vm *vm, int out_fd, int in_fd, struct hy_error *err);
void serial_destroy(struct serial *s);
int i8042_create(struct vm *vm, struct hy_error *err);
int exit_port_create(struct vm *vm, struct hy_error *err);

/* mptable.c: the MP floating pointer + configuration table at the EBDA, for n_vcpus CPUs. */
int mptable_write(struct guest_mem *mem, unsigned n_vcpus, struct hy_error *err);

#endif
