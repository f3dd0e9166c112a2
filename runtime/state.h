/* The state store: <root>/<id>/state.json (written atomically: temp file + rename) and
 * <root>/<id>/lock (flock, taken by every command that changes the container). */
#ifndef HYRUN_STATE_H
#define HYRUN_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"

enum hy_status {
	HY_STATUS_CREATING,
	HY_STATUS_CREATED,
	HY_STATUS_RUNNING,
	HY_STATUS_PAUSED,
	HY_STATUS_STOPPED
};

struct hy_state {
	char *oci_version;
	char *id;
	enum hy_status status;
	pid_t pid;                /* container init (the VMM for vm isolation) */
	uint64_t pid_start_time;  /* /proc/<pid>/stat field 22, guards against pid reuse */
	char *bundle;
	char *rootfs;
	char *created;            /* RFC 3339 with nanoseconds, UTC */
	uid_t owner;
	struct hy_kv *annotations;
	size_t n_annotations;
	enum hy_isolation isolation;
	char *cgroup_path;        /* what cgroup_open() needs to find the container's cgroup again */
	bool systemd_cgroup;
	bool use_terminal;
	char *vm_socket;          /* vm isolation: the VMM/agent control socket */
	bool has_pidns;           /* whether `kill` may rely on pid-namespace teardown */
};

const char *state_status_name(enum hy_status s);

/* Validates an id (non-empty, [A-Za-z0-9_.+-], no leading dot, <= 1024 bytes). */
int state_validate_id(const char *id, struct hy_error *err);

/* Creates <root>/<id>/ exclusively and takes its lock. "container 'x' already exists" on EEXIST. */
int state_create_dir(const char *root, const char *id, int *lock_fd, struct hy_error *err);

/* Takes the container's lock (blocking). "container 'x' does not exist" when missing. */
int state_lock(const char *root, const char *id, int *lock_fd, struct hy_error *err);
void state_unlock(int lock_fd);

/* Path helpers: <root>/<id>[/name]; caller frees. */
char *state_dir_path(const char *root, const char *id);
char *state_file_path(const char *root, const char *id, const char *name);

int state_write(const char *root, const struct hy_state *st, struct hy_error *err);

/* Reads state.json and refreshes status from the process (running/stopped). */
int state_read(const char *root, const char *id, struct hy_state **out, struct hy_error *err);

/* Removes <root>/<id>/ and everything in it. */
int state_remove(const char *root, const char *id, struct hy_error *err);

/* Lists the ids under root (sorted). */
int state_list_ids(const char *root, char ***ids, size_t *n, struct hy_error *err);

/* The OCI state JSON (what `state` prints and hooks read on stdin). Caller frees. */
char *state_to_json(const struct hy_state *st, bool pretty);

/* Recomputes st->status from the process: gone or reused pid -> stopped; frozen cgroup -> paused. */
void state_refresh_status(struct hy_state *st);

void state_free(struct hy_state *st);

/* Reads field 22 of /proc/<pid>/stat; 0 when the process is gone. */
uint64_t proc_start_time(pid_t pid);

/* The current time as the state's "created" wants it (RFC 3339, nanoseconds, UTC). Caller frees. */
char *state_now_rfc3339(void);

/* The owner's user name as state/list print it ("#uid" when unknown). Caller frees. */
char *state_owner_name(uid_t uid);

#endif
