/* cgroups: the container's cgroup on legacy v1, hybrid and unified v2 hosts.
 * Knows nothing of OCI files or state: the runtime hands it a path and a struct hy_resources
 * (cgroups/resources.h). */
#ifndef HYRUN_CGROUPS_H
#define HYRUN_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/error.h"

struct hy_resources;
struct hy_cgroup; /* opaque */

enum cgroup_layout { CGROUP_LAYOUT_V1, CGROUP_LAYOUT_HYBRID, CGROUP_LAYOUT_V2 };

int cgroup_detect_layout(enum cgroup_layout *out, struct hy_error *err);

struct cgroup_spec {
	const char *id;           /* container id, for the default path /hyrun/<id> */
	const char *cgroups_path; /* linux.cgroupsPath or NULL; relative = under hyrun's own cgroup */
	bool systemd;             /* --systemd-cgroup: "slice:prefix:name" paths */
	bool allow_existing;      /* join an existing cgroup rather than failing */
};

/* Creates the cgroup (every hierarchy on v1/hybrid). On error nothing created stays behind. */
int cgroup_create(const struct cgroup_spec *spec, struct hy_cgroup **out, struct hy_error *err);

/* The string saved in the container state, from which cgroup_open() finds the cgroup again. */
const char *cgroup_state_path(const struct hy_cgroup *cg);
int cgroup_open(const char *state_path, struct hy_cgroup **out, struct hy_error *err);

int cgroup_apply_resources(struct hy_cgroup *cg, const struct hy_resources *res,
			   struct hy_error *err);
/* Moves pid (and on v1 every hierarchy) into the cgroup. */
int cgroup_add_pid(struct hy_cgroup *cg, pid_t pid, struct hy_error *err);

/* Joining a new process without writing its pid to cgroup.procs, which takes the global
 * threadgroup lock and waits for an RCU grace period (10-20 ms on these machines, more than a
 * whole short-lived container). Instead the process starts inside the cgroup2 leaf (clone3
 * CLONE_INTO_CGROUP with unified_fd) and, single-threaded, moves itself into each v1 hierarchy
 * by writing "0" to its "tasks" file, which takes no such lock. The parent prepares the fds
 * before the clone; they are close-on-exec and numbered from min_fd up. */
#define CGROUP_JOIN_MAX 32
struct cgroup_join {
	int unified_fd; /* cgroup2 leaf directory, or -1 */
	size_t n;
	int tasks_fd[CGROUP_JOIN_MAX];         /* v1 "tasks" files opened for writing */
	const char *tasks_dir[CGROUP_JOIN_MAX]; /* for errors; owned by the hy_cgroup */
};
int cgroup_join_prepare(struct hy_cgroup *cg, int min_fd, struct cgroup_join *j,
			struct hy_error *err);
/* clone3 (flags, SIGCHLD) of a child born in j's cgroup2 leaf. When the kernel refuses
 * CLONE_INTO_CGROUP (before 5.7, no permission) the child is cloned where we are and
 * *unified_by_parent says the parent must move it: cgroup_join_unified_pid. Returns clone3's. */
long cgroup_join_clone(unsigned long long flags, struct cgroup_join *j, bool *unified_by_parent);
int cgroup_join_unified_pid(struct hy_cgroup *cg, pid_t pid, struct hy_error *err);
/* In the new process, once the limits are written; closes the fds. */
int cgroup_join_self(struct cgroup_join *j, struct hy_error *err);
void cgroup_join_close(struct cgroup_join *j);

int cgroup_freeze(struct hy_cgroup *cg, bool frozen, struct hy_error *err);
int cgroup_is_frozen(struct hy_cgroup *cg, bool *frozen, struct hy_error *err);
int cgroup_kill_all(struct hy_cgroup *cg, int sig, struct hy_error *err);
int cgroup_pids(struct hy_cgroup *cg, pid_t **pids, size_t *n, struct hy_error *err);
/* runc's stats JSON object ("cpu", "memory", "pids", "blkio", "hugetlb"). Caller frees. */
int cgroup_stats_json(struct hy_cgroup *cg, char **json, struct hy_error *err);
/* An fd that becomes readable on OOM events (v1 eventfd / v2 memory.events inotify). */
int cgroup_oom_event_fd(struct hy_cgroup *cg, int *fd, struct hy_error *err);
int cgroup_oom_count(struct hy_cgroup *cg, unsigned long long *count, struct hy_error *err);

/* Removes the cgroup directories (waiting briefly for exiting processes). */
int cgroup_destroy(struct hy_cgroup *cg, struct hy_error *err);
void hy_cgroup_free(struct hy_cgroup *cg);

#endif
