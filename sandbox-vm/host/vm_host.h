/* VM isolation, host side: the one backend interface runtime/ calls for a container whose
 * isolation is "vm" (DESIGN.md "One process model"). The container init is hyrun's VMM: create
 * sets up namespaces and the cgroup as for a container, then the init, instead of switching to
 * the rootfs and exec'ing the user's program, boots a microVM whose guest agent runs that program
 * (sandbox-vm/proto/agent_proto.h). Knows OCI (hy_config); sandbox-vm/vmm does not.
 *
 * Files: vm_init.c (the init: VMM + agent conversation), vm_container.c (hy_config -> vmm_config,
 * 9p shares, container parts of the CREATE spec), vm_process.c (hy_process -> agent_process),
 * agent_client.c (connect, request, relay), vm_exec.c (exec / ps through the agent),
 * vm_assets.c (guest kernel and initramfs lookup). */
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

#endif
