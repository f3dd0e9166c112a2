/* The container lifecycle: what the CLI calls. One function per OCI operation; each takes the
 * runtime's global settings and fills a struct hy_error on failure. A failed create leaves nothing
 * behind (state dir, cgroup, mounts, processes). */
#ifndef HYRUN_CONTAINER_H
#define HYRUN_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"
#include "runtime/state.h"

struct hy_resources;

/* Global settings from the CLI (no global mutable state in the library). */
struct hy_runtime {
	const char *root;         /* --root, default /run/hyrun */
	bool systemd_cgroup;      /* --systemd-cgroup */
	bool debug;
	enum hy_isolation isolation; /* --isolation; HY_ISOLATION_UNSET = from config */
	const char *image_root;   /* --image-root */
};

struct hy_create_opts {
	const char *id;
	const char *bundle;         /* default "." */
	const char *console_socket; /* NULL = none */
	const char *pid_file;
	bool no_pivot;
	bool no_new_keyring;
	unsigned preserve_fds;      /* fds 3..3+n-1 passed on, after LISTEN_FDS ones */
};

int container_create(const struct hy_runtime *rt, const struct hy_create_opts *opts,
		     struct hy_error *err);
int container_start(const struct hy_runtime *rt, const char *id, struct hy_error *err);

/* create + start, then (unless detach) wait and forward signals; *exit_status gets the exit code
 * or 128+signal. Without keep, the container is deleted after it exits. */
int container_run(const struct hy_runtime *rt, const struct hy_create_opts *opts, bool detach,
		  bool keep, int *exit_status, struct hy_error *err);

int container_kill(const struct hy_runtime *rt, const char *id, int sig, bool all,
		   struct hy_error *err);
int container_delete(const struct hy_runtime *rt, const char *id, bool force, struct hy_error *err);

struct hy_exec_opts {
	const char *id;
	struct hy_process *process; /* complete process (from --process or built from flags) */
	const char *console_socket;
	const char *pid_file;
	bool detach;
	unsigned preserve_fds;
};
int container_exec(const struct hy_runtime *rt, const struct hy_exec_opts *opts, int *exit_status,
		   struct hy_error *err);

/* PIDs (host view) of every process in the container's cgroup. */
int container_ps(const struct hy_runtime *rt, const char *id, pid_t **pids, size_t *n,
		 struct hy_error *err);
/* A VM container's processes as the guest sees them: "PID PPID UID CMD" lines (caller frees
 * *text). Returns 1 (nothing set) when id is not a VM container; then container_ps applies.
 * For a VM container container_ps gives these guest pids. */
int container_ps_guest(const struct hy_runtime *rt, const char *id, char **text,
		       struct hy_error *err);

int container_pause(const struct hy_runtime *rt, const char *id, struct hy_error *err);
int container_resume(const struct hy_runtime *rt, const char *id, struct hy_error *err);
int container_update(const struct hy_runtime *rt, const char *id, const struct hy_resources *res,
		     struct hy_error *err);
/* runc's `events --stats` JSON object for one container. Caller frees *json. */
int container_stats_json(const struct hy_runtime *rt, const char *id, char **json,
			 struct hy_error *err);

#endif
