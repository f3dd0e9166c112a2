/* OOM notifications: v1 through cgroup.event_control + memory.oom_control (an eventfd the kernel
 * signals), v2 through inotify on memory.events (modified on every oom/oom_kill). The count of
 * OOM kills tells real kills from other wakeups (v1 also signals the eventfd on rmdir). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"

int cgroup_oom_event_fd(struct hy_cgroup *cg, int *fd, struct hy_error *err)
{
	*fd = -1;
	struct cg_hier *h = cg_hier_for(cg, CG_MEMORY);
	if (!h)
		return hy_error_set(err, ENOTSUP, "no memory cgroup controller on this host");
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", h->dir, h->v2 ? "memory.events" : "memory.oom_control");
	if (h->v2) {
		int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in < 0)
			return hy_error_errno(err, errno, "inotify_init1");
		if (inotify_add_watch(in, path, IN_MODIFY) < 0) {
			int saved = errno;
			close(in);
			return hy_error_errno(err, saved, "inotify on %s", path);
		}
		*fd = in;
		return 0;
	}
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return hy_error_errno(err, errno, "eventfd");
	int ofd = open(path, O_RDONLY | O_CLOEXEC);
	if (ofd < 0) {
		int saved = errno;
		close(efd);
		return hy_error_errno(err, saved, "%s", path);
	}
	/* The registration lives as long as the eventfd; the oom_control fd may go. */
	int r = cg_writef(h->dir, "cgroup.event_control", err, "%d %d", efd, ofd);
	close(ofd);
	if (r < 0) {
		close(efd);
		return r;
	}
	*fd = efd;
	return 0;
}

int cgroup_oom_count(struct hy_cgroup *cg, unsigned long long *count, struct hy_error *err)
{
	*count = 0;
	struct cg_hier *h = cg_hier_for(cg, CG_MEMORY);
	if (!h)
		return hy_error_set(err, ENOTSUP, "no memory cgroup controller on this host");
	const char *file = h->v2 ? "memory.events" : "memory.oom_control";
	char *text = NULL;
	int r = cg_read_all(h->dir, file, &text, err);
	if (r < 0)
		return r;
	uint64_t v = 0;
	r = cg_keyed_u64(text, "oom_kill", &v);
	free(text);
	if (r < 0)
		return hy_error_set(err, ENOTSUP, "%s/%s: no oom_kill counter (kernel < 4.13)",
				    h->dir, file);
	*count = v;
	return 0;
}
