/* VM isolation, host side: the one backend interface runtime/ calls for a container whose
 * isolation is "vm" (DESIGN.md "One process model"). The container init is hyrun's VMM: create
 * sets up namespaces and the cgroup as for a container, then the init, instead of switching to
 * the rootfs and exec'ing the user's program, boots a microVM whose guest agent runs that program
 * (sandbox-vm/proto/agent_proto.h). Knows OCI (hy_config); sandbox-vm/vmm does not.
 *
 * Files: vm_init.c (the init: VMM + agent conversation), vm_container.c (hy_config -> vmm_config,
 * 9p shares, container parts of the CREATE spec), vm_process.c (hy_process -> agent_process),
 * agent_client.c (connect, request, relay), vm_exec.c (exec / ps through the agent),
 * vm_assets.c (guest kernel and initramfs lookup), vm_net.c (the netns's interfaces handed to
 * the guest through taps and bridges), vm_disk.c (a disk-image root), vm_memory.c (update of
 * memory through the balloon; its own header). */
#ifndef HYRUN_VM_HOST_H
#define HYRUN_VM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"
#include "sandbox-vm/proto/agent_proto.h"

/* The VMM's hybrid vsock socket and kernel log, inside the container's state dir. */
#define VM_SOCKET_NAME "vm.sock"
#define VM_LOG_NAME "vm.log"
/* 9p tag of the container root; bind-mount sources get "hyrun0".."hyrunN". */
#define VM_ROOT_TAG "rootfs"

/* ---- vm_assets.c ---- */
/* Finds a guest asset by file names (first match wins) in: $HYRUN_GUEST_DIR, <dir of the hyrun
 * binary>/guest, HYRUN_PREFIX/lib/hyrun. Returns buf, or NULL when none exists. */
const char *vm_find_asset(const char *const names[], char *buf, size_t size);

/* ---- vm_process.c ---- */
/* The process part of a spec for the agent: args, env, cwd, user, umask, terminal (+ size),
 * rlimits, capabilities (names -> bits), noNewPrivileges, oomScoreAdj, and the container's
 * seccomp filter compiled to BPF when cfg has one (it applies to every process, as runc does). */
int vm_process_spec(const struct hy_config *cfg, const struct hy_process *p,
		    struct agent_process *out, struct hy_error *err);

/* ---- agent_client.c ---- */
/* Connects to the VMM's hybrid vsock socket and the agent's port. While the guest boots the agent
 * is not listening yet: retries until timeout_ms, or until still_booting(arg) returns false (the
 * VMM died). Returns the connected fd (close-on-exec) or -errno. */
int agent_client_connect(const char *vsock_path, int timeout_ms, bool (*still_booting)(void *),
			 void *arg, struct hy_error *err);

/* Sends CREATE or EXEC with the spec and waits for READY / STARTED (*guest_pid) or ERROR (whose
 * text becomes the error message). */
int agent_client_request(int conn, uint32_t type, const struct agent_process *p,
			 uint32_t *guest_pid, struct hy_error *err);

/* Stdio and signals of one guest process until its EXIT. in_fd -> STDIN (EOF -> STDIN_EOF; -1 =
 * nothing to send: STDIN_EOF at once), STDOUT -> out_fd, STDERR -> err_fd, signals read from
 * sig_fd (a signalfd; -1 = none) -> SIGNAL, SIGWINCH -> RESIZE with the size of winsize_fd (a
 * tty; -1 = none). *wait_status gets the guest's wait status (WIFEXITED/WIFSIGNALED). Output is
 * drained before it returns. */
struct agent_relay {
	int conn, in_fd, out_fd, err_fd, sig_fd, winsize_fd;
};
int agent_client_relay(const struct agent_relay *r, int *wait_status, struct hy_error *err);
/* The relay of a process whose stdio is the pty slave tty (all three streams, and its size) or,
 * with tty -1, the caller's fds 0-2. */
struct agent_relay agent_relay_stdio(int conn, int tty, int sig_fd);

/* ---- vm_container.c ---- */
struct vm_launch {
	struct vmm_config_owned *vmm; /* opaque: vm_launch_free releases it */
	struct agent_process spec;    /* CREATE: the init process + container parts */
};
/* Everything the init needs from the config: the VMM configuration (kernel/initrd from
 * annotations or vm_find_asset, vCPUs and memory from org.hyrun.vm.* or linux.resources, the
 * rootfs and bind-mount sources as 9p shares, hybrid vsock at <state_dir>/vm.sock, kernel log at
 * <state_dir>/vm.log) and the CREATE spec. Errors name the config field. */
int vm_launch_prepare(const struct hy_config *cfg, const char *state_dir, struct vm_launch *out,
		      struct hy_error *err);
void vm_launch_free(struct vm_launch *l);
/* The VMM configuration of a prepared launch (owned by l). */
struct vmm_config;
const struct vmm_config *vm_launch_vmm_config(const struct vm_launch *l);
/* Memory sizing from linux.resources.memory.limit: the guest gets the limit minus what the VMM
 * process itself needs next to guest RAM in the same cgroup (its code, heap, vCPU stacks, device
 * buffers: about 20 MiB measured, rounded up), and at least VM_MIN_GUEST_MIB. */
#define VM_VMM_OVERHEAD_MIB 32
#define VM_MIN_GUEST_MIB 64
#define VM_DEFAULT_MEMORY_MIB 256

/* ---- vm_init.c ---- */
/* Runs in the container init after the namespaces are joined (no pivot: the VMM needs /dev/kvm
 * and the guest assets from the host's view). Boots the VM, sends CREATE, and calls ready(arg)
 * once the agent answered READY (the init then tells create it is ready). Then waits for start
 * (start_fifo_fd: O_PATH of exec.fifo, opened for writing as the container init does; -1 = run:
 * at once), sends START and relays fds 0-2 (or the pty slave tty_fd when process.terminal;
 * -1 otherwise) with the guest process, forwarding signals sent to the init. Returns the guest
 * process's wait status; the caller (runtime/linux_child.c) ends the init with the same status
 * (exit code, or the same signal) — vm_exit_like() does that. */
int vm_init_run(const struct hy_config *cfg, const char *state_dir, int start_fifo_fd, int tty_fd,
		int (*ready)(void *arg, struct hy_error *err), void *arg, int *wait_status,
		struct hy_error *err);
/* Ends the calling process the way the guest process ended. Never returns. */
__attribute__((noreturn)) void vm_exit_like(int wait_status);

/* ---- vm_exec.c ---- */
struct vm_exec_opts {
	const char *state_dir;
	const struct hy_config *cfg;
	const struct hy_process *process;
	const char *console_socket; /* terminal: the pty master goes there */
	const char *pid_file;       /* detached: the pid of the host relay process */
	bool detach;
};
/* exec for a VM container: a new process inside the guest through the agent. Attached: relays
 * stdio and returns its shell-style status in *exit_status (code, or 128 + signal). Detached:
 * forks a host relay process that lives as long as the guest process (its pid goes to pid_file
 * and is what podman's conmon waits for) and returns once the agent answered STARTED. */
int vm_exec(const struct vm_exec_opts *o, int *exit_status, struct hy_error *err);

/* ps for a VM container: the guest's process table as text ("PID PPID UID CMD" lines). */
int vm_ps(const char *state_dir, char **text, struct hy_error *err);

/* ---- vm_disk.c ---- */
/* The container root on the first virtio-blk disk (vda) instead of the 9p share: the annotation
 * org.hyrun.vm.root_disk names an ext4 or erofs image (relative = to the bundle directory, and
 * it may not leave it). The type comes from the image's superblock; erofs is always attached
 * read-only (a writable root gets a tmpfs overlay in the guest), ext4 read-only when
 * root.readonly. */
enum vm_root_fs { VM_ROOT_FS_NONE = 0, VM_ROOT_FS_EXT4, VM_ROOT_FS_EROFS };
struct vm_root_disk {
	enum vm_root_fs fs; /* NONE: no annotation, the root is the 9p share */
	bool readonly;      /* attach the disk read-only */
	char path[4096];    /* PATH_MAX */
};
/* The filesystem of an image from its first bytes (at least 2048 for a match). */
enum vm_root_fs vm_root_fs_detect(const unsigned char *buf, size_t len);
const char *vm_root_fs_name(enum vm_root_fs fs);
/* Resolves and checks cfg's root disk (missing, a directory, unknown format, ".." out of the
 * bundle, not writable: errors name annotations.org.hyrun.vm.root_disk and the file). Without
 * the annotation: 0 and out->fs == VM_ROOT_FS_NONE. */
int vm_root_disk_resolve(const struct hy_config *cfg, struct vm_root_disk *out,
			 struct hy_error *err);

/* ---- vm_net.c ---- */
/* The network of the container's network namespace, handed to the guest (as Kata does): for
 * each interface that is up, not loopback and has IPv4 addresses, a tap (hyrun-tapN) and a
 * bridge (hyrun-brN) holding the interface and the tap; the interface's IPv4 addresses move to
 * the guest with its ORIGINAL MAC, its MTU and the default route's gateway, and the interface
 * gets a new locally administered MAC. */
#define VM_NET_MAX	 4 /* interfaces per VM (<= VMM_MAX_NETS) */
#define VM_NET_MAX_ADDRS 8 /* IPv4 addresses per interface */
struct vm_net;
/* What the guest applies to one interface (addresses in network byte order). */
struct vm_net_guest {
	uint8_t mac[6];
	uint32_t addr[VM_NET_MAX_ADDRS];
	uint8_t prefix[VM_NET_MAX_ADDRS];
	size_t n_addrs;
	uint32_t gateway;
	bool has_gateway;
	unsigned mtu; /* 0 = the guest's default */
};
/* In the init, in the container's netns, before the VMM starts. *net is NULL when there is
 * nothing to hand over (only lo: no virtio-net at all). On failure nothing is left changed;
 * errors name the interface and the step ("network: eth0: bridge hyrun-br0: create: ..."). */
int vm_net_setup(struct vm_net **net, struct hy_error *err);
/* After the VM (or when create fails): removes tap and bridge and gives the interface back its
 * MAC, addresses and routes (NULL: nothing to do). Tries every step; err = the first failure.
 * A VMM still attached to the tap only sees it vanish. */
int vm_net_teardown(struct vm_net *net, struct hy_error *err);
/* Frees net once no VMM uses its tap names any more. */
void vm_net_free(struct vm_net *net);
size_t vm_net_count(const struct vm_net *net);
const char *vm_net_tap(const struct vm_net *net, size_t i);
int vm_net_guest(const struct vm_net *net, size_t i, struct vm_net_guest *g);
/* The guest's kernel parameter for one interface:
 *   hyrun.net=<mac>,<addr>/<prefix>[,<addr>/<prefix>...][,gw=<ip>][,mtu=<n>]
 * (parsed by sandbox-vm/guest/agent/net.c). Length written, or -EINVAL / -E2BIG. */
int vm_net_format_param(const struct vm_net_guest *g, char *buf, size_t size);
/* vm_container.c: the VMM's virtio-net devices (taps, guest MACs, MTUs) and the hyrun.net=
 * parameters for a prepared launch (l keeps pointers into net: net must outlive the VM). */
int vm_launch_add_nets(struct vm_launch *l, const struct vm_net *net, struct hy_error *err);

#endif
