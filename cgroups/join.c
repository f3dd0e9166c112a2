/* A new process joins the container's cgroup without the global threadgroup lock: see
 * cgroups.h ("Joining a new process ..."). The kernel skips that lock for a thread moving itself
 * (pid 0) through a v1 "tasks" file, and CLONE_INTO_CGROUP only takes its read side. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"
#include "cgroups/cgroups.h"

static int open_at_least(const char *dir, const char *name, int flags, int min_fd)
{
	char path[4200];
	int n = snprintf(path, sizeof path, "%s%s%s", dir, name ? "/" : "", name ? name : "");
	if (n < 0 || (size_t)n >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0 || fd >= min_fd)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return high;
}

int cgroup_join_prepare(struct hy_cgroup *cg, int min_fd, struct cgroup_join *j,
			struct hy_error *err)
{
	memset(j, 0, sizeof(*j));
	j->unified_fd = -1;
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_hier *h = &cg->h[i];
		if (h->v2) {
			j->unified_fd = open_at_least(h->dir, NULL, O_RDONLY | O_DIRECTORY, min_fd);
			if (j->unified_fd < 0) {
				int e = errno;
				cgroup_join_close(j);
				return hy_error_errno(err, e, "open cgroup %s", h->dir);
			}
			continue;
		}
		if (j->n == CGROUP_JOIN_MAX) {
			cgroup_join_close(j);
			return hy_error_set(err, E2BIG, "cgroups: more than %d hierarchies",
					    CGROUP_JOIN_MAX);
		}
		int fd = open_at_least(h->dir, "tasks", O_WRONLY, min_fd);
		if (fd < 0) {
			int e = errno;
			cgroup_join_close(j);
			return hy_error_errno(err, e, "open %s/tasks", h->dir);
		}
		j->tasks_fd[j->n] = fd;
		j->tasks_dir[j->n++] = h->dir;
	}
	return 0;
}

static void drop_unified_fd(struct cgroup_join *j)
{
	if (j->unified_fd >= 0)
		close(j->unified_fd);
	j->unified_fd = -1;
}

static long clone3_into(unsigned long long flags, int cgroup_fd)
{
	struct clone_args ca = {.flags = flags, .exit_signal = SIGCHLD};
	if (cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (unsigned long long)cgroup_fd;
	}
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

long cgroup_join_clone(unsigned long long flags, struct cgroup_join *j, bool *unified_by_parent)
{
	*unified_by_parent = false;
	long pid = clone3_into(flags, j->unified_fd);
	if (pid < 0 && j->unified_fd >= 0 && errno != ENOMEM && errno != EAGAIN) {
		/* Kernel before 5.7, or not allowed: the parent moves the child instead. */
		drop_unified_fd(j);
		*unified_by_parent = true;
		pid = clone3_into(flags, -1);
	}
	return pid;
}

int cgroup_join_unified_pid(struct hy_cgroup *cg, pid_t pid, struct hy_error *err)
{
	struct cg_hier *u = cg_unified(cg);
	if (!u)
		return 0;
	int r = cg_writef(u->dir, "cgroup.procs", err, "%d", (int)pid);
	return r < 0 ? hy_error_prefix(err, "adding pid %d to the container's cgroup", (int)pid)
		     : 0;
}

int cgroup_join_self(struct cgroup_join *j, struct hy_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < j->n && rc == 0; i++) {
		ssize_t w;
		do
			w = write(j->tasks_fd[i], "0", 1);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			rc = hy_error_errno(err, errno, "joining cgroup %s", j->tasks_dir[i]);
	}
	cgroup_join_close(j);
	return rc;
}

void cgroup_join_close(struct cgroup_join *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->tasks_fd[i] >= 0)
			close(j->tasks_fd[i]);
	j->n = 0;
	drop_unified_fd(j);
}
