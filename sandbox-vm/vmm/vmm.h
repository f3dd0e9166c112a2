/* The hyrun VMM: boots a guest kernel on /dev/kvm with virtio-mmio devices. Knows nothing of OCI. */
#ifndef HYRUN_VMM_H
#define HYRUN_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

#define VMM_MAX_DISKS 8
#define VMM_MAX_SHARES 8
#define VMM_MAX_NETS 4

struct vmm_disk {
	const char *path;
	bool readonly;
	const char *serial; /* virtio-blk serial id (<= 20 bytes), NULL = derived from index */
};

struct vmm_share {
	const char *tag; /* 9p mount tag */
	const char *path;
	bool readonly;
};

/* virtio-net backed by a tap device (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) that already exists in
 * the VMM's network namespace; the VMM attaches to it by name. */
struct vmm_net {
	const char *tap; /* tap interface name */
	uint8_t mac[6];  /* the guest side's MAC address */
	unsigned mtu;    /* 0 = 1500 */
};

struct vmm_config {
	const char *kernel;       /* PVH ELF vmlinux or bzImage */
	const char *initrd;       /* NULL = none */
	const char *cmdline;      /* appended after the VMM's own arguments (devices, console) */
	unsigned vcpus;           /* >= 1 */
	uint64_t memory_mib;
	struct vmm_disk disks[VMM_MAX_DISKS];
	size_t n_disks;
	struct vmm_share shares[VMM_MAX_SHARES];
	size_t n_shares;
	struct vmm_net nets[VMM_MAX_NETS];
	size_t n_nets;
	bool balloon; /* virtio-balloon; its target is set over the control socket ("balloon <MiB>") */
	const char *vsock_path;   /* hybrid vsock host socket; NULL = no vsock */
	uint32_t guest_cid;       /* default 3 */
	const char *console_path; /* virtio-console output: "-" = stdout/stdin, path = file, NULL = none */
	const char *serial_path;  /* 8250 output (kernel log): "-" = stderr, path = file, NULL = discard */
	const char *control_socket; /* pause/resume requests; NULL = none */
	bool debug;
	/* 8250 input: "-" = stdin, a Unix socket path (connected to) or a FIFO/tty path; NULL = none */
	const char *serial_input;
};

/* Boots the VM and runs it until the guest powers off or resets. *exit_code is what the guest
 * agent wrote to the exit port (0xf4), or 0 for a plain reboot/poweroff. */
int vmm_run(const struct vmm_config *cfg, int *exit_code, struct hy_error *err);

/* Checks that /dev/kvm exists, has the needed capabilities and can run a guest kernel (a hardware
 * KVM, not a page-table-only one like kvm_pvm). The error says what is missing and points at
 * tests/vmhost. */
int vmm_probe_kvm(struct hy_error *err);

/* Control-socket client for `hyrun vm pause|resume`: sends "pause" or "resume". */
int vmm_control_request(const char *socket_path, const char *request, struct hy_error *err);

#define VMM_EXIT_PORT 0xf4 /* the agent writes its exit code here (same port as QEMU isa-debug-exit) */

#endif
