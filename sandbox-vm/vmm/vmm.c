/* vmm_run: builds a VM from struct vmm_config, runs it until the guest exits, tears it down.
 *
 * Order: KVM + irqchip, guest memory, legacy devices (serial, i8042, exit port), virtio devices
 * (which add themselves to the kernel command line), MP table, kernel, vCPUs, event loop. The
 * calling thread then only waits for a stop request (exit port, reset, vCPU failure). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox-vm/vmm/control.h"
#include "sandbox-vm/vmm/devices/balloon.h"
#include "sandbox-vm/vmm/devices/net.h"
#include "sandbox-vm/vmm/event_loop.h"
#include "sandbox-vm/vmm/vcpu.h"
#include "sandbox-vm/vmm/virtio_mmio.h"
#include "sandbox-vm/vmm/vm.h"

#define MIB (1024ULL * 1024ULL)
#define VMM_MIN_MEMORY_MIB 16
#define CMDLINE_BUF 4096

/* Device constructors are weak so the VMM links while a device is still being written. */
#pragma weak virtio_blk_create
#pragma weak virtio_console_create
#pragma weak virtio_rng_create
#pragma weak virtio_vsock_create
#pragma weak virtio_9p_create
#pragma weak virtio_net_create

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int exit_code, const char *msg)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->stop_reason == VM_RUNNING) {
		vm->stop_reason = why;
		vm->exit_code = exit_code;
		if (msg)
			hy_error_set(&vm->stop_err, EIO, "%s", msg);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	vm_kick_vcpus(vm);
}

void vm_kick_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i])
			vcpu_kick(vm->vcpus[i]);
}

/* "-" means the VMM's stderr (serial) or stdout (console); other paths are files, truncated. */
static int open_output(const char *path, int dash_fd, const char *what, int *out,
		       struct hy_error *err)
{
	*out = -1;
	if (!path)
		return 0;
	int fd;
	if (!strcmp(path, "-"))
		fd = fcntl(dash_fd, F_DUPFD_CLOEXEC, 3);
	else if (!strcmp(path, "/dev/stdout"))
		fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	else if (!strcmp(path, "/dev/stderr"))
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return hy_error_errno(err, errno, "%s output %s", what, path);
	*out = fd;
	return 0;
}

/* Serial input: "-" = stdin, a Unix socket (we connect to it), or anything open() can read that
 * epoll accepts (FIFO, tty). */
static int open_input(const char *path, int *out, struct hy_error *err)
{
	int fd;
	struct stat st;
	if (!strcmp(path, "-")) {
		fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
	} else if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(path) >= sizeof(sa.sun_path))
			return hy_error_set(err, ENAMETOOLONG, "serial input %s: path too long", path);
		strcpy(sa.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			close(fd);
			return hy_error_errno(err, e, "serial input %s: connect", path);
		}
	} else {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0)
		return hy_error_errno(err, errno, "serial input %s", path);
	*out = fd;
	return 0;
}

static int add_virtio(struct vm *vm, struct virtio_dev *dev, char *cmdline, struct hy_error *err)
{
	if (vm->n_virtio == VM_MAX_VIRTIO) {
		if (dev->ops->destroy)
			dev->ops->destroy(dev);
		return hy_error_set(err, ENOSPC, "too many virtio devices (max %d)", VM_MAX_VIRTIO);
	}
	unsigned i = vm->n_virtio;
	uint64_t base = VM_VIRTIO_MMIO_BASE + i * VM_VIRTIO_MMIO_SIZE;
	uint32_t irq = VM_VIRTIO_IRQ_BASE + i;
	if (irq >= VM_IOAPIC_PINS) {
		if (dev->ops->destroy)
			dev->ops->destroy(dev);
		return hy_error_set(err, ENOSPC, "no IRQ left for virtio device %s", dev->ops->name);
	}
	int rc = virtio_mmio_create(vm, dev, base, irq, cmdline, CMDLINE_BUF, &vm->virtio[i], err);
	if (rc == 0)
		vm->n_virtio++;
	return rc;
}

#define MISSING(fn, what)                                                                          \
	(!(fn) ? hy_error_set(err, ENOTSUP, "%s is not built into this hyrun", what) : 0)

static int create_devices(struct vm *vm, char *cmdline, struct hy_error *err)
{
	const struct vmm_config *cfg = vm->cfg;
	struct virtio_dev *dev;
	int rc;
	if (cfg->console_path) {
		if ((rc = MISSING(virtio_console_create, "virtio-console")) < 0)
			return rc;
		int out_fd, in_fd = -1;
		if ((rc = open_output(cfg->console_path, 1, "console", &out_fd, err)) < 0)
			return rc;
		if (!strcmp(cfg->console_path, "-"))
			in_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
		rc = virtio_console_create(in_fd, out_fd, &dev, err);
		if (rc < 0) {
			close(out_fd);
			if (in_fd >= 0)
				close(in_fd);
			return hy_error_prefix(err, "--console %s", cfg->console_path);
		}
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
	}
	for (size_t i = 0; i < cfg->n_disks && i < VMM_MAX_DISKS; i++) {
		if ((rc = MISSING(virtio_blk_create, "virtio-blk")) < 0)
			return rc;
		struct virtio_blk_params p = {cfg->disks[i].path, cfg->disks[i].readonly,
					      cfg->disks[i].serial};
		if ((rc = virtio_blk_create(&p, &dev, err)) < 0)
			return hy_error_prefix(err, "--disk %s", cfg->disks[i].path);
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
	}
	for (size_t i = 0; i < cfg->n_nets && i < VMM_MAX_NETS; i++) {
		if ((rc = MISSING(virtio_net_create, "virtio-net")) < 0)
			return rc;
		const struct vmm_net *nc = &cfg->nets[i];
		struct virtio_net_params p = {.tap = nc->tap, .mtu = nc->mtu, .debug = cfg->debug};
		memcpy(p.mac, nc->mac, sizeof(p.mac));
		if ((rc = virtio_net_create(&p, &dev, err)) < 0)
			return hy_error_prefix(err, "--net %s", nc->tap ? nc->tap : "");
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
	}
	for (size_t i = 0; i < cfg->n_shares && i < VMM_MAX_SHARES; i++) {
		if ((rc = MISSING(virtio_9p_create, "virtio-9p")) < 0)
			return rc;
		const struct vmm_share *s = &cfg->shares[i];
		if ((rc = virtio_9p_create(s->tag, s->path, s->readonly, &dev, err)) < 0)
			return hy_error_prefix(err, "--share %s", s->path);
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
	}
	if (cfg->vsock_path) {
		if ((rc = MISSING(virtio_vsock_create, "virtio-vsock")) < 0)
			return rc;
		uint32_t cid = cfg->guest_cid ? cfg->guest_cid : 3;
		if ((rc = virtio_vsock_create(cid, cfg->vsock_path, &dev, err)) < 0)
			return hy_error_prefix(err, "--vsock %s", cfg->vsock_path);
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
	}
	if (cfg->balloon) {
		if ((rc = virtio_balloon_create(&vm->mem, &dev, err)) < 0)
			return rc;
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
		vm->balloon = dev; /* for the control socket's "balloon" requests */
	}
	/* The guest's entropy source, when built: saves the guest waiting for the CRNG at boot. */
	if (virtio_rng_create && virtio_rng_create(&dev, err) == 0) {
		if ((rc = add_virtio(vm, dev, cmdline, err)) < 0)
			return rc;
	}
	hy_error_clear(err);
	return 0;
}

static int build_vm(struct vm *vm, struct hy_error *err)
{
	const struct vmm_config *cfg = vm->cfg;
	int rc = kvm_open(&vm->kvm, err);
	if (rc < 0)
		return rc;
	if (cfg->vcpus > (unsigned)vm->kvm.max_vcpus)
		return hy_error_set(err, EINVAL, "--cpus %u: this KVM supports at most %d vCPUs",
				    cfg->vcpus, vm->kvm.max_vcpus);
	if ((rc = kvm_setup_irqchip(&vm->kvm, err)) < 0)
		return rc;
	if ((rc = guest_mem_create(&vm->mem, cfg->memory_mib * MIB, err)) < 0)
		return rc;
	if ((rc = guest_mem_register(&vm->mem, vm->kvm.vm_fd, err)) < 0)
		return rc;
	if ((rc = event_loop_create(&vm->loop, err)) < 0)
		return rc;

	int serial_fd, serial_in = -1;
	if ((rc = open_output(cfg->serial_path, 2, "serial", &serial_fd, err)) < 0)
		return rc;
	if (cfg->serial_input && (rc = open_input(cfg->serial_input, &serial_in, err)) < 0) {
		if (serial_fd >= 0)
			close(serial_fd);
		return rc;
	}
	if ((rc = serial_create(vm, serial_fd, serial_in, err)) < 0) {
		if (serial_fd >= 0)
			close(serial_fd);
		if (serial_in >= 0)
			close(serial_in);
		return rc;
	}
	if ((rc = i8042_create(vm, err)) < 0 || (rc = exit_port_create(vm, err)) < 0)
		return rc;

	char *cmdline = calloc(1, CMDLINE_BUF);
	if (!cmdline)
		return hy_error_set(err, ENOMEM, "out of memory");
	/* reboot=k: the guest resets through the i8042, which ends the VM; panic=-1 turns a guest
	 * panic into that reset instead of a hang. no_timer_check: our MP table wires the PIT to
	 * IOAPIC pin 0, which is known to work; the kernel's test of it counts ticks against a
	 * busy loop and, on a loaded (nested) host, fails and panics ("IO-APIC + timer doesn't
	 * work!"), as observed in the test host. */
	snprintf(cmdline, CMDLINE_BUF,
		 "console=ttyS0 reboot=k panic=-1 8250.nr_uarts=1 no_timer_check");
	rc = create_devices(vm, cmdline, err);
	if (rc == 0 && cfg->cmdline && *cfg->cmdline) {
		size_t used = strlen(cmdline);
		int n = snprintf(cmdline + used, CMDLINE_BUF - used, " %s", cfg->cmdline);
		if (n < 0 || (size_t)n >= CMDLINE_BUF - used)
			rc = hy_error_set(err, E2BIG, "kernel command line too long");
	}
	if (rc == 0)
		rc = mptable_write(&vm->mem, vm->n_vcpus, err);
	if (rc == 0)
		rc = boot_load_kernel(&vm->mem, cfg->kernel, cfg->initrd, cmdline, &vm->boot, err);
	free(cmdline);
	if (rc < 0)
		return rc;

	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if ((rc = vcpu_create(vm, i, &vm->vcpus[i], err)) < 0)
			return rc;
	if (cfg->control_socket && (rc = control_start(vm, cfg->control_socket, err)) < 0)
		return rc;
	return 0;
}

static void teardown(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	if (vm->loop)
		event_loop_stop(vm->loop);
	control_stop(vm);
	for (unsigned i = 0; i < vm->n_virtio; i++)
		virtio_mmio_destroy(vm->virtio[i]);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	serial_destroy(vm->serial);
	event_loop_destroy(vm->loop);
	guest_mem_destroy(&vm->mem);
	kvm_close(&vm->kvm);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

int vmm_run(const struct vmm_config *cfg, int *exit_code, struct hy_error *err)
{
	*exit_code = 0;
	if (!cfg->kernel)
		return hy_error_set(err, EINVAL, "no guest kernel given");
	if (cfg->vcpus < 1 || cfg->vcpus > VM_MAX_VCPUS)
		return hy_error_set(err, EINVAL, "%u vCPUs: must be 1..%d", cfg->vcpus, VM_MAX_VCPUS);
	if (cfg->memory_mib < VMM_MIN_MEMORY_MIB || cfg->memory_mib > (1ULL << 26))
		return hy_error_set(err, EINVAL, "guest memory %llu MiB: must be at least %d MiB",
				    (unsigned long long)cfg->memory_mib, VMM_MIN_MEMORY_MIB);
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return hy_error_set(err, ENOMEM, "out of memory");
	vm->cfg = cfg;
	vm->n_vcpus = cfg->vcpus;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	bus_init(&vm->pio, "PIO", 0x10000);
	bus_init(&vm->mmio, "MMIO", 1ULL << 52);
	vcpu_install_kick_handler();

	int rc = build_vm(vm, err);
	if (rc == 0)
		rc = event_loop_start(vm->loop, err);
	for (unsigned i = 0; rc == 0 && i < vm->n_vcpus; i++)
		rc = vcpu_start(vm->vcpus[i], err);
	if (rc < 0) {
		vm_request_stop(vm, VM_STOP_ERROR, 0, NULL);
		teardown(vm);
		return rc;
	}

	pthread_mutex_lock(&vm->lock);
	while (vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	vm_kick_vcpus(vm);

	enum vm_stop_reason why = vm->stop_reason;
	*exit_code = why == VM_STOP_EXIT_PORT ? vm->exit_code : 0;
	if (why == VM_STOP_ERROR) {
		rc = hy_error_set(err, vm->stop_err.code ? vm->stop_err.code : EIO, "%s",
				  vm->stop_err.msg);
	}
	teardown(vm);
	return rc;
}
