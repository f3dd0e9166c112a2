/* ps: the pids of every process in the container. For a container, the host pids in its
 * cgroup; for a VM container, the guest's processes as its agent lists them (the cgroup there
 * holds only the VMM). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/container_internal.h"
#include "sandbox-vm/host/vm_host.h"


static int guest_text(const struct hy_runtime *rt, const struct hy_state *st, char **text,
		      struct hy_error *err)
{
	char *dir = state_dir_path(rt->root, st->id);
	if (!dir)
		return hy_error_set(err, ENOMEM, "out of memory");
	int rc = vm_ps(dir, text, err);
	free(dir);
	return rc < 0 ? hy_error_prefix(err, "container '%s'", st->id) : 0;
}

/* The first column of every line after the header. */
static int guest_pids(const char *text, pid_t **pids, size_t *n, struct hy_error *err)
{
	size_t cap = 0;
	const char *line = strchr(text, '\n');
	while (line && *++line) {
		char *end;
		long pid = strtol(line, &end, 10);
		if (end != line && pid > 0 && pid <= INT_MAX) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				pid_t *np = realloc(*pids, cap * sizeof(pid_t));
				if (!np) {
					free(*pids);
					*pids = NULL;
					*n = 0;
					return hy_error_set(err, ENOMEM, "out of memory");
				}
				*pids = np;
			}
			(*pids)[(*n)++] = (pid_t)pid;
		}
		line = strchr(line, '\n');
	}
	return 0;
}

int container_ps_guest(const struct hy_runtime *rt, const char *id, char **text,
		       struct hy_error *err)
{
	*text = NULL;
	struct hy_state *st = NULL;
	int rc = state_read(rt->root, id, &st, err);
	if (rc < 0)
		return rc;
	if (st->isolation != HY_ISOLATION_VM)
		rc = 1;
	else if (st->status == HY_STATUS_STOPPED)
		rc = hy_error_set(err, EINVAL, "container '%s' is stopped", id);
	else
		rc = guest_text(rt, st, text, err);
	state_free(st);
	return rc;
}

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
	if (st->isolation == HY_ISOLATION_VM) {
		char *text = NULL;
		if (st->status == HY_STATUS_STOPPED)
			rc = hy_error_set(err, EINVAL, "container '%s' is stopped", id);
		else if ((rc = guest_text(rt, st, &text, err)) == 0)
			rc = guest_pids(text, pids, n, err);
		free(text);
		goto out;
	}
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
