/* The container init's set-up, run in the process create clones, and the protocol it speaks with
 * the parent (runtime/container_sync.h):
 *
 *   child                                   parent
 *   join/unshare namespaces
 *   (born in the cgroup2 leaf: clone3 CLONE_INTO_CGROUP)
 *   [SYNC_SETUP(needs uid/gid maps)] ->     write maps, apply resources (at once after a
 *                                    <-     SYNC_ACK(host pid)       one-clone spawn)
 *   joins the v1 hierarchies itself (cgroups.h, "Joining a new process")
 *   (waits for the ack first with a user namespace or a second fork, else just before it needs
 *   the cgroup: a cgroup mount, or the end of the mounts)
 *   unshare cgroup/time ns; fork again when the pid ns needs it (SYNC_PID, CLONE_PARENT)
 *   hostname, rlimits, rootfs + mounts + devices
 *   SYNC_HOOKS (only with such hooks) ->    prestart, createRuntime hooks
 *                                    <-     SYNC_ACK
 *   createContainer hooks, pivot_root, pty (SYNC_PTY), sysctl, masked/readonly paths,
 *   user, caps, seccomp
 *   SYNC_READY                       ->     state.json "created", pid file; create exits
 *   blocks opening exec.fifo for writing until `start` opens it, startContainer hooks, execve.
 *
 * Isolation vm (DESIGN.md "One process model"): the same namespaces, cgroup and hooks, but no
 * rootfs, user, caps or seccomp for the init itself (the guest agent applies them to the guest
 * process). The init stays root with the host's view of the filesystem, makes a host pty when
 * process.terminal (SYNC_PTY as above), boots the VM (sandbox-vm/host/vm_host.h) and sends
 * SYNC_READY only once the guest agent accepted the container; it then waits for start the same
 * way and ends with the guest process's exit status.
 */
#ifndef HYRUN_LINUX_CHILD_H
#define HYRUN_LINUX_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"
#include "runtime/config.h"
#include "runtime/namespaces.h"
#include "runtime/state.h"

struct linux_child {
	const struct hy_config *cfg;
	const struct hy_state *st; /* for the hooks' state JSON (pid filled in by the child) */
	int sync;                  /* the child's end of the socketpair */
	int lock_fd;               /* the state lock: must not outlive create in the init */
	int fifo_fd;               /* O_PATH of <state dir>/exec.fifo; -1: run, exec at once */
	int ns_fds[HY_NS__COUNT];  /* namespaces joined by path (-1 for others) */
	int *idmap_fds;            /* NULL, or per mount: user ns fd of an idmapped mount, or -1 */
	size_t n_idmap_fds;
	int unshare_flags;         /* new namespaces not created by clone itself */
	bool vm;                   /* isolation vm: the init is the VMM */
	const char *state_dir;     /* <root>/<id>: vm.sock and vm.log go there */
	bool no_pivot;
	bool no_new_keyring;
	unsigned keep_fds;         /* LISTEN_FDS + --preserve-fds */
	unsigned listen_fds;
	bool userns;               /* the container has a user namespace (new or joined) */
	bool new_userns;
	bool fork_for_pid;         /* pid ns joined by path or unshared: the init is a second fork */
	bool announce_setup;       /* namespaces unshared by the child: it asks for maps + cgroup;
				    * otherwise the parent does both right after the clone */
	struct cgroup_join *cg_join; /* NULL, or v1 hierarchies to join itself after the ack */
	/* the child's own progress */
	bool setup_pending;
	pid_t host_pid;
};

/* Runs in the cloned child; never returns (execve or _exit). */
__attribute__((noreturn)) void linux_child_run(struct linux_child *c);

#endif
