/* ps: the host pids of every process in the container's cgroup. */
#include <errno.h>

#include "runtime/container_internal.h"


int container_ps(const struct hy_runtime *rt, const char *id, pid_t **pids, size_t *n,
		 struct hy_error *err)
{
	*pids = NULL;
	*n = 0;
	struct hy_state *st = NULL;
	int rc = state_read(rt->root, id, &st, err);
	if (rc < 0)
		return rc;
	struct hy_cgroup *cg = NULL;
	if (!st->cgroup_path) {
		rc = hy_error_set(err, ENOENT, "container '%s' has no cgroup", id);
		goto out;
	}
	if ((rc = cgroup_open(st->cgroup_path, &cg, err)) < 0)
		goto out;
	rc = cgroup_pids(cg, pids, n, err);
	hy_cgroup_free(cg);
out:
	state_free(st);
	return rc;
}
