/* delete: refuses a running container without --force; otherwise kills what is left, removes
 * the cgroup, runs poststop hooks and removes the state dir. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/container_internal.h"

#include "runtime/json.h"

/* SIGKILL to the init (a pid namespace dies with it) and to the whole cgroup. */
static void kill_everything(const struct hy_state *st, struct hy_cgroup *cg)
{
	struct hy_error ignored;
	if (st->status != HY_STATUS_STOPPED && st->pid > 0)
		kill(st->pid, SIGKILL);
	if (cg) {
		cgroup_kill_all(cg, SIGKILL, &ignored);
		/* Frozen processes only die once thawed. */
		if (st->status == HY_STATUS_PAUSED)
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
	if (st->cgroup_path && cgroup_open(st->cgroup_path, &cg, &ignored) < 0)
		cg = NULL;
	kill_everything(st, cg);
	int rc = 0;
	if (cg) {
		rc = cgroup_destroy(cg, err);
		hy_cgroup_free(cg);
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

/* delete --force of a container whose state.json is unreadable or invalid: whatever of it can
 * still be read (the init pid, guarded by its start time, and the cgroup) is killed and
 * removed, then the state dir. Without a start time to check the pid against, it is left alone:
 * it may belong to someone else by now. */
static int destroy_broken(const char *root, const char *id, struct hy_error *err)
{
	struct hy_state st = {.id = (char *)id, .status = HY_STATUS_RUNNING};
	struct hy_error ignored;
	char *path = state_file_path(root, id, "state.json");
	yajl_val tree = NULL;
	if (path && json_parse_file(path, "state.json", &tree, &ignored) == 0 &&
	    YAJL_IS_OBJECT(tree)) {
		yajl_val priv = json_get(tree, "hyrun");
		yajl_val pid = priv && YAJL_IS_OBJECT(priv) ? json_get(priv, "pid") : NULL;
		yajl_val start = priv && YAJL_IS_OBJECT(priv) ? json_get(priv, "pidStartTime") : NULL;
		yajl_val cgp = priv && YAJL_IS_OBJECT(priv) ? json_get(priv, "cgroupPath") : NULL;
		if (pid && YAJL_IS_INTEGER(pid) && start && YAJL_IS_INTEGER(start) &&
		    YAJL_GET_INTEGER(pid) > 0 && YAJL_GET_INTEGER(pid) <= INT32_MAX) {
			pid_t p = (pid_t)YAJL_GET_INTEGER(pid);
			uint64_t t = proc_start_time(p);
			if (t && t == (uint64_t)YAJL_GET_INTEGER(start))
				st.pid = p;
		}
		const char *cgs = cgp ? YAJL_GET_STRING(cgp) : NULL;
		if (cgs)
			st.cgroup_path = strdup(cgs);
	}
	yajl_tree_free(tree);
	free(path);
	struct hy_cgroup *cg = NULL;
	if (st.cgroup_path && cgroup_open(st.cgroup_path, &cg, &ignored) < 0)
		cg = NULL;
	if (!st.pid)
		st.status = HY_STATUS_STOPPED;
	kill_everything(&st, cg);
	if (cg) {
		cgroup_destroy(cg, &ignored);
		hy_cgroup_free(cg);
	}
	free(st.cgroup_path);
	return state_remove(root, id, err);
}

int container_delete(const struct hy_runtime *rt, const char *id, bool force, struct hy_error *err)
{
	int lock_fd;
	int rc = state_lock(rt->root, id, &lock_fd, err);
	if (rc < 0)
		return rc;
	struct hy_state *st = NULL;
	if ((rc = state_read(rt->root, id, &st, err)) < 0) {
		/* Broken state (not a missing container): --force still gets rid of it. */
		if (force && rc != -ENOENT)
			rc = destroy_broken(rt->root, id, err);
		goto out;
	}
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
