/* One thread per vCPU: KVM_RUN, then dispatch the exit to the PIO/MMIO bus or end the VM.
 * Pause and stop requests reach a running vCPU through immediate_exit plus a signal. */
#include "sandbox-vm/vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox-vm/vmm/vm.h"

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN with EINTR */
}

void vcpu_install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = kick_handler}; /* no SA_RESTART: KVM_RUN must return */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out, struct hy_error *err)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	if (!v)
		return hy_error_set(err, ENOMEM, "out of memory for vCPU %u", id);
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	int rc;
	if (v->fd < 0) {
		rc = hy_error_errno(err, errno, "KVM_CREATE_VCPU %u", id);
		free(v);
		return rc;
	}
	v->run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		      0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		rc = hy_error_errno(err, errno, "mmap of vCPU %u's run area", id);
		goto fail;
	}
	rc = vcpu_setup_cpuid(v, err);
	if (rc == 0)
		rc = vcpu_setup_msrs(v, err);
	if (rc == 0)
		rc = vcpu_setup_lapic(v, err);
	/* Application processors wait in the in-kernel LAPIC for INIT/SIPI from the guest. */
	if (rc == 0 && id == 0)
		rc = vcpu_setup_boot_regs(v, &vm->boot, err);
	if (rc < 0) {
		hy_error_prefix(err, "vCPU %u", id);
		goto fail;
	}
	*out = v;
	return 0;
fail:
	vcpu_destroy(v);
	return rc;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm.vcpu_mmap_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

void vcpu_kick(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;
	/* data_offset/size/count come from KVM, not the guest, but stay inside the run page. */
	if (size == 0 || size > 4 || run->io.data_offset + (uint64_t)size * run->io.count >
					     (uint64_t)v->vm->kvm.vcpu_mmap_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&v->vm->pio, run->io.port, data, size);
		else
			bus_read(&v->vm->pio, run->io.port, data, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;
	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static void fail(struct vcpu *v, const char *what)
{
	char msg[512];
	if (kvm_is_pvm())
		snprintf(msg, sizeof(msg), "vCPU %u: %s: %s", v->id, what, kvm_pvm_hint);
	else
		snprintf(msg, sizeof(msg), "vCPU %u: %s", v->id, what);
	vm_request_stop(v->vm, VM_STOP_ERROR, 0, msg);
}

/* Handles one KVM exit; returns false when this vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[160];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* only without an in-kernel LAPIC, which we always have */
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault. The guest reboots through the i8042 (reboot=k), which always
		 * works here, so this is a crash (e.g. before the kernel set up its IDT). */
		fail(v, "the guest triple-faulted (its kernel crashed before it could reboot)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vm_request_stop(v->vm, VM_STOP_RESET, 0, NULL);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error (suberror %u%s)",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ", emulation failure"
										  : "");
		fail(v, what);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "KVM entry failure (reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fail(v, what);
		return false;
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit reason %u", run->exit_reason);
		fail(v, what);
		return false;
	}
}

/* Waits while a pause is requested; returns false when the VM is stopping. */
static bool check_run_state(struct vcpu *v)
{
	struct vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_requested && vm->stop_reason == VM_RUNNING) {
		vm->n_paused++;
		pthread_cond_broadcast(&vm->cond);
		while (vm->pause_requested && vm->stop_reason == VM_RUNNING)
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->n_paused--;
	}
	bool running = vm->stop_reason == VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return running;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (check_run_state(v)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int e = errno;
			if (e == EINTR || e == EAGAIN) {
				/* Cleared before re-checking the run state, so no kick is lost. */
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			char what[96];
			snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(e));
			fail(v, what);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v, struct hy_error *err)
{
	/* Default stack: a smaller one must still hold the binary's static TLS, whose size other
	 * parts of hyrun decide; untouched stack pages cost no memory anyway. */
	int rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (rc)
		return hy_error_errno(err, rc, "cannot start vCPU %u's thread", v->id);
	v->started = true;
	return 0;
}

void vcpu_join(struct vcpu *v)
{
	if (v && v->started) {
		pthread_join(v->thread, NULL);
		v->started = false;
	}
}
