/* delete: refuses a running container without --force; otherwise kills what is left, removes
 * the cgroup, runs poststop hooks and removes the state dir. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/container_internal.h"

#pragma weak cgroup_open
#pragma weak cgroup_kill_all
#pragma weak cgroup_freeze
#pragma weak cgroup_destroy
#pragma weak cgroup_free

/* SIGKILL to the init (a pid namespace dies with it) and to the whole cgroup. */
static void kill_everything(const struct hy_state *st, struct hy_cgroup *cg)
{
	struct hy_error ignored;
	if (st->status != HY_STATUS_STOPPED && st->pid > 0)
		kill(st->pid, SIGKILL);
	if (cg && cgroup_kill_all) {
		cgroup_kill_all(cg, SIGKILL, &ignored);
		/* Frozen processes only die once thawed. */
		if (st->status == HY_STATUS_PAUSED && cgroup_freeze)
			cgroup_freeze(cg, false, &ignored);
	}
	if (st->status != HY_STATUS_STOPPED && st->pid > 0)
		wait_pid_gone(st->pid, 10000);
}

int container_destroy(const char *root, struct hy_state *st, const struct hy_config *cfg,
		      struct hy_error *err)
{
	struct hy_cgroup *cg = NULL;
	struct hy_error ignored;
	if (st->cgroup_path && cgroup_open && cgroup_open(st->cgroup_path, &cg, &ignored) < 0)
		cg = NULL;
	kill_everything(st, cg);
	int rc = 0;
	if (cg) {
		rc = cgroup_destroy ? cgroup_destroy(cg, err) : 0;
		cgroup_free(cg);
		if (rc < 0)
			return hy_error_prefix(err, "delete '%s'", st->id);
	}
	/* Poststop failures are warnings in the spec: they never stop the delete. */
	struct hy_config *loaded = NULL;
	if (!cfg && container_load_config(st, &loaded, &ignored) == 0)
		cfg = loaded;
	st->status = HY_STATUS_STOPPED;
	container_run_hooks(cfg, HY_HOOK_POSTSTOP, st, &ignored);
	config_free(loaded);
	return state_remove(root, st->id, err);
}

int container_delete(const struct hy_runtime *rt, const char *id, bool force, struct hy_error *err)
{
	int lock_fd;
	int rc = state_lock(rt->root, id, &lock_fd, err);
	if (rc < 0)
		return rc;
	struct hy_state *st = NULL;
	if ((rc = state_read(rt->root, id, &st, err)) < 0)
		goto out;
	/* A created container has not run anything yet: deleting it is safe (runc does too). */
	if (!force && (st->status == HY_STATUS_RUNNING || st->status == HY_STATUS_PAUSED)) {
		rc = hy_error_set(err, EBUSY,
				  "cannot delete container '%s' that is not stopped (status: %s); "
				  "use --force",
				  id, state_status_name(st->status));
		goto out;
	}
	rc = container_destroy(rt->root, st, NULL, err);
out:
	state_free(st);
	state_unlock(lock_fd);
	return rc;
}
