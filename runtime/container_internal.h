/* Shared between the container_*.c lifecycle files only (not a public contract). */
#ifndef HYRUN_CONTAINER_INTERNAL_H
#define HYRUN_CONTAINER_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"
#include "runtime/config.h"
#include "runtime/container.h"
#include "runtime/error.h"
#include "runtime/state.h"


/* A created container whose init is our own child (create and run share this). */
struct hy_created {
	struct hy_config *cfg;
	struct hy_state st;       /* borrows strings from cfg; freed by created_free */
	struct hy_cgroup *cg;
	pid_t pid;                /* host pid of the container init */
	int lock_fd;
	int pty_master;           /* terminal without console socket (run in the foreground) */
	char *fifo_path;          /* NULL for run: the init does not wait for start */
	int sync;                 /* run: the sync socket, open until the init executes */
	bool join_unified_by_parent; /* no CLONE_INTO_CGROUP: write the pid to cgroup.procs */
};

/* Creates the container; on error nothing is left. With keep_master, a terminal's pty master is
 * kept in c->pty_master instead of needing --console-socket. With for_run, the "created" state
 * is not written: run starts at once and writes "running" (one state write, not two). */
int container_create_internal(const struct hy_runtime *rt, const struct hy_create_opts *opts,
			      bool keep_master, bool for_run, struct hy_created *c,
			      struct hy_error *err);
void created_free(struct hy_created *c);

/* run: waits until the init executed the process (sync socket EOF) or failed to. */
int container_wait_exec(struct hy_created *c, struct hy_error *err);

/* Releases the init blocked on exec.fifo; pid guards against a dead init. */
int container_release_init(const char *fifo_path, pid_t pid, struct hy_error *err);

/* Poststart hooks and the status change to running (state lock held by the caller). */
int container_mark_running(const char *root, struct hy_state *st, const struct hy_config *cfg,
			   struct hy_error *err);

/* Kills every process, removes the cgroup, runs poststop hooks (cfg: the container's config, or
 * NULL to load it from the bundle) and removes the state dir. */
int container_destroy(const char *root, struct hy_state *st, const struct hy_config *cfg,
		      struct hy_error *err);

/* Runs one kind of hook with the state on stdin (no-op when there is none). */
int container_run_hooks(const struct hy_config *cfg, enum hy_hook_kind kind,
			const struct hy_state *st, struct hy_error *err);

/* Loads <bundle>/config.json of a created container (for hooks after create). */
int container_load_config(const struct hy_state *st, struct hy_config **cfg, struct hy_error *err);

/* Blocks SIGCHLD and the signals a foreground run/exec forwards (set: for signalfd). */
void container_block_signals(sigset_t *set, sigset_t *old);

/* Waits for our child pid, forwarding signals and relaying pty_master (-1: none);
 * *exit_status = exit code or 128+signal. */
int container_wait_foreground(pid_t pid, int pty_master, const sigset_t *set, int *exit_status,
			      struct hy_error *err);

/* Writes "pid" to path atomically (temp + rename), as runc does. */
int pidfile_write(const char *path, pid_t pid, struct hy_error *err);

/* A wait status as a shell reports it: the exit code, or 128 + the signal. */
int container_exit_code(int wait_status);

/* Waits for a process that is not our child to exit (pidfd). */
int wait_pid_gone(pid_t pid, int timeout_ms);

#endif
