/* kill: a signal to the init (through a pidfd, so a reused pid is never hit), or with --all to
 * every process of the container's cgroup. */
#include <errno.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "runtime/container_internal.h"


static int kill_cgroup(const struct hy_state *st, int sig, struct hy_error *err)
{
	struct hy_cgroup *cg = NULL;
	int rc = cgroup_open(st->cgroup_path, &cg, err);
	if (rc < 0)
		return rc;
	rc = cgroup_kill_all(cg, sig, err);
	hy_cgroup_free(cg);
	return rc;
}

int container_kill(const struct hy_runtime *rt, const char *id, int sig, bool all,
		   struct hy_error *err)
{
	struct hy_state *st = NULL;
	int rc = state_read(rt->root, id, &st, err);
	if (rc < 0)
		return rc;
	if (st->status == HY_STATUS_STOPPED) {
		rc = hy_error_set(err, ESRCH, "container '%s' is not running", id);
		goto out;
	}
	if (all && st->cgroup_path) {
		rc = kill_cgroup(st, sig, err);
		goto out;
	}
	int fd = pidfd_open(st->pid, 0);
	if (fd < 0) {
		rc = errno == ESRCH ? hy_error_set(err, ESRCH, "container '%s' is not running", id)
				    : hy_error_errno(err, errno, "container '%s': pidfd_open %d", id,
						     (int)st->pid);
		goto out;
	}
	/* The start time was checked by state_read; the pidfd pins that process from here on. */
	if (proc_start_time(st->pid) != st->pid_start_time && st->pid_start_time)
		rc = hy_error_set(err, ESRCH, "container '%s' is not running", id);
	else if (pidfd_send_signal(fd, sig, NULL, 0) < 0)
		rc = hy_error_errno(err, errno, "container '%s': send signal %d", id, sig);
	close(fd);
out:
	state_free(st);
	return rc;
}
