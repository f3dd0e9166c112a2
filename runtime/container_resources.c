/* pause, resume, update and stats: the operations that act on a live container's cgroup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/cgroups.h"
#include "cgroups/resources.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "sandbox-vm/host/vm_memory.h"

/* Locks and reads the container, opens its cgroup. On success the caller owns all three. */
static int open_container(const struct hy_runtime *rt, const char *id, bool lock, int *lock_fd,
			  struct hy_state **st, struct hy_cgroup **cg, struct hy_error *err)
{
	*lock_fd = -1;
	*st = NULL;
	*cg = NULL;
	int r;
	if (lock && (r = state_lock(rt->root, id, lock_fd, err)) < 0)
		return r;
	if ((r = state_read(rt->root, id, st, err)) < 0)
		goto fail;
	if (!(*st)->cgroup_path) {
		r = hy_error_set(err, ENOENT, "container '%s' has no cgroup", id);
		goto fail;
	}
	if ((r = cgroup_open((*st)->cgroup_path, cg, err)) < 0) {
		hy_error_prefix(err, "container '%s'", id);
		goto fail;
	}
	return 0;
fail:
	state_free(*st);
	*st = NULL;
	if (*lock_fd >= 0)
		state_unlock(*lock_fd);
	*lock_fd = -1;
	return r;
}

static void close_container(int lock_fd, struct hy_state *st, struct hy_cgroup *cg)
{
	hy_cgroup_free(cg);
	state_free(st);
	if (lock_fd >= 0)
		state_unlock(lock_fd);
}

static int set_frozen(const struct hy_runtime *rt, const char *id, bool frozen,
		      struct hy_error *err)
{
	int lock_fd;
	struct hy_state *st;
	struct hy_cgroup *cg;
	int r = open_container(rt, id, true, &lock_fd, &st, &cg, err);
	if (r < 0)
		return r;
	enum hy_status need = frozen ? HY_STATUS_RUNNING : HY_STATUS_PAUSED;
	if (st->status != need) {
		r = hy_error_set(err, EINVAL, "container '%s' is %s, not %s", id,
				 state_status_name(st->status), state_status_name(need));
		goto out;
	}
	if ((r = cgroup_freeze(cg, frozen, err)) < 0) {
		hy_error_prefix(err, "%s container '%s'", frozen ? "pausing" : "resuming", id);
		goto out;
	}
	st->status = frozen ? HY_STATUS_PAUSED : HY_STATUS_RUNNING;
	if ((r = state_write(rt->root, st, err)) < 0) {
		/* Leave the cgroup as the state file still describes it. */
		struct hy_error ignored = {0};
		cgroup_freeze(cg, !frozen, &ignored);
	}
out:
	close_container(lock_fd, st, cg);
	return r;
}

int container_pause(const struct hy_runtime *rt, const char *id, struct hy_error *err)
{
	return set_frozen(rt, id, true, err);
}

int container_resume(const struct hy_runtime *rt, const char *id, struct hy_error *err)
{
	return set_frozen(rt, id, false, err);
}

/* A VM container's memory: the cgroup around the VMM bounds guest RAM + the VMM, so a new limit
 * goes through the guest's balloon (vm_memory.c), which also orders it against the cgroup write.
 * memory.* keys in unified would bypass that. */
static bool unified_vm_memory(const struct hy_resources *res)
{
	for (size_t i = 0; i < res->n_unified; i++)
		if (res->unified[i].key && !strncmp(res->unified[i].key, "memory.", 7))
			return true;
	return false;
}

struct cgroup_apply {
	struct hy_cgroup *cg;
	const struct hy_resources *res;
	const char *id;
};

static int apply_resources(void *arg, struct hy_error *err)
{
	struct cgroup_apply *a = arg;
	int r = cgroup_apply_resources(a->cg, a->res, err);
	if (r < 0)
		hy_error_prefix(err, "updating container '%s'", a->id);
	return r;
}

static int update_vm(const struct hy_runtime *rt, const char *id, const struct hy_state *st,
		     struct cgroup_apply *a, struct hy_error *err)
{
	const struct hy_resources *res = a->res;
	if (unified_vm_memory(res))
		return hy_error_set(err, EOPNOTSUPP,
				    "update: linux.resources.unified: memory.* keys cannot change a VM "
				    "container's memory (use memory.limit / --memory: the guest's "
				    "balloon follows it)");
	if (!(res->has_memory && res->memory.has_limit && res->memory.limit != 0))
		return apply_resources(a, err);
	if (st->status == HY_STATUS_PAUSED)
		return hy_error_set(err, EINVAL,
				    "update --memory: container '%s' is paused; resume it first (the "
				    "guest must run to give memory back or take it)",
				    id);
	char *dir = state_dir_path(rt->root, id);
	if (!dir)
		return hy_error_set(err, ENOMEM, "out of memory");
	int r = vm_update_memory(dir, st->pid, res->memory.limit, apply_resources, a, err);
	free(dir);
	return r;
}

int container_update(const struct hy_runtime *rt, const char *id, const struct hy_resources *res,
		     struct hy_error *err)
{
	int lock_fd;
	struct hy_state *st;
	struct hy_cgroup *cg;
	int r = open_container(rt, id, true, &lock_fd, &st, &cg, err);
	if (r < 0)
		return r;
	struct cgroup_apply a = {.cg = cg, .res = res, .id = id};
	if (st->status == HY_STATUS_STOPPED)
		r = hy_error_set(err, EINVAL, "container '%s' is stopped", id);
	else if (st->isolation == HY_ISOLATION_VM)
		r = update_vm(rt, id, st, &a, err);
	else
		r = apply_resources(&a, err);
	close_container(lock_fd, st, cg);
	return r;
}

int container_stats_json(const struct hy_runtime *rt, const char *id, char **json,
			 struct hy_error *err)
{
	int lock_fd;
	struct hy_state *st;
	struct hy_cgroup *cg;
	*json = NULL;
	/* Read-only: no lock, so that `events` never holds up lifecycle commands. */
	int r = open_container(rt, id, false, &lock_fd, &st, &cg, err);
	if (r < 0)
		return r;
	if (st->status == HY_STATUS_STOPPED)
		r = hy_error_set(err, EINVAL, "container '%s' is stopped", id);
	else if ((r = cgroup_stats_json(cg, json, err)) < 0)
		hy_error_prefix(err, "container '%s'", id);
	close_container(lock_fd, st, cg);
	return r;
}
