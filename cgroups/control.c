/* Freezing, listing and signalling the processes of a container's cgroup. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroups/cgroup_internal.h"

#define FREEZE_TIMEOUT_MS 5000

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int v1_freeze(const char *dir, bool frozen, struct hy_error *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	char buf[32];
	for (int waited = 0;; waited++) {
		/* Writing FROZEN again nudges a FREEZING cgroup whose new tasks raced the freeze. */
		if (waited % 10 == 0) {
			int r = cg_write(dir, "freezer.state", want, err);
			if (r < 0)
				return r;
		}
		int r = cg_read(dir, "freezer.state", buf, sizeof buf, err);
		if (r < 0)
			return r;
		if (!strncmp(buf, want, strlen(want)))
			return 0;
		if (waited >= FREEZE_TIMEOUT_MS)
			break;
		sleep_ms(1);
	}
	if (frozen) {
		struct hy_error ignored = {0};
		cg_write(dir, "freezer.state", "THAWED", &ignored);
	}
	return hy_error_set(err, ETIMEDOUT, "%s/freezer.state: still '%.*s' after %d ms", dir,
			    (int)strcspn(buf, "\n"), buf, FREEZE_TIMEOUT_MS);
}

static int v2_is_frozen(const char *dir, bool *frozen, struct hy_error *err)
{
	char *events = NULL;
	int r = cg_read_all(dir, "cgroup.events", &events, err);
	if (r < 0)
		return r;
	uint64_t v = 0;
	r = cg_keyed_u64(events, "frozen", &v);
	free(events);
	if (r < 0)
		return hy_error_set(err, ENOTSUP, "%s/cgroup.events: no 'frozen' key (kernel < 5.2)",
				    dir);
	*frozen = v == 1;
	return 0;
}

static int v2_freeze(const char *dir, bool frozen, struct hy_error *err)
{
	int r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err);
	if (r < 0)
		return r;
	for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited++) {
		bool now = false;
		if ((r = v2_is_frozen(dir, &now, err)) < 0)
			return r;
		if (now == frozen)
			return 0;
		sleep_ms(1);
	}
	if (frozen) {
		struct hy_error ignored = {0};
		cg_write(dir, "cgroup.freeze", "0", &ignored);
	}
	return hy_error_set(err, ETIMEDOUT, "%s/cgroup.events: not %s after %d ms", dir,
			    frozen ? "frozen" : "thawed", FREEZE_TIMEOUT_MS);
}

int cgroup_freeze(struct hy_cgroup *cg, bool frozen, struct hy_error *err)
{
	struct cg_hier *h = cg_hier_for(cg, CG_FREEZER);
	if (!h)
		return hy_error_set(err, ENOTSUP, "no freezer cgroup controller on this host");
	return h->v2 ? v2_freeze(h->dir, frozen, err) : v1_freeze(h->dir, frozen, err);
}

int cgroup_is_frozen(struct hy_cgroup *cg, bool *frozen, struct hy_error *err)
{
	struct cg_hier *h = cg_hier_for(cg, CG_FREEZER);
	*frozen = false;
	if (!h)
		return hy_error_set(err, ENOTSUP, "no freezer cgroup controller on this host");
	if (h->v2)
		return v2_is_frozen(h->dir, frozen, err);
	char buf[32];
	int r = cg_read(h->dir, "freezer.state", buf, sizeof buf, err);
	if (r < 0)
		return r;
	*frozen = !strncmp(buf, "FROZEN", 6);
	return 0;
}

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

static int collect(const char *dir, struct pid_list *l, int depth, struct hy_error *err)
{
	char *procs = NULL;
	int r = cg_read_all(dir, "cgroup.procs", &procs, err);
	if (r < 0)
		return r;
	for (char *line = procs; *line;) {
		char *end;
		long pid = strtol(line, &end, 10);
		if (end == line)
			break;
		if (pid > 0) {
			if (l->n == l->cap) {
				size_t cap = l->cap ? l->cap * 2 : 64;
				pid_t *nv = realloc(l->v, cap * sizeof(*nv));
				if (!nv) {
					free(procs);
					return hy_error_set(err, ENOMEM, "cgroups: out of memory");
				}
				l->v = nv;
				l->cap = cap;
			}
			l->v[l->n++] = (pid_t)pid;
		}
		line = end + strspn(end, "\n");
	}
	free(procs);
	/* Nested cgroups the container made for itself (systemd inside) belong to it too. */
	if (depth >= 32)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[4096];
		int n = snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof sub)
			continue;
		if ((r = collect(sub, l, depth + 1, err)) < 0 && r != -ENOENT) {
			closedir(d);
			return r;
		}
	}
	closedir(d);
	return 0;
}

/* The hierarchy that lists the container's processes: the one freeze uses. */
static struct cg_hier *procs_hier(struct hy_cgroup *cg)
{
	struct cg_hier *h = cg_hier_for(cg, CG_FREEZER);
	return h ? h : (cg->n ? &cg->h[0] : NULL);
}

int cgroup_pids(struct hy_cgroup *cg, pid_t **pids, size_t *n, struct hy_error *err)
{
	struct pid_list l = {0};
	*pids = NULL;
	*n = 0;
	struct cg_hier *h = procs_hier(cg);
	if (!h)
		return hy_error_set(err, ENOENT, "cgroups: no hierarchy");
	int r = collect(h->dir, &l, 0, err);
	if (r < 0) {
		free(l.v);
		return r;
	}
	*pids = l.v;
	*n = l.n;
	return 0;
}

int cgroup_kill_all(struct hy_cgroup *cg, int sig, struct hy_error *err)
{
	/* An empty cgroup stays empty (only a write to cgroup.procs can fill it): delete after the
	 * container exited then costs no freezer round trip. */
	pid_t *pids = NULL;
	size_t n = 0;
	struct hy_error lerr = {0};
	if (cgroup_pids(cg, &pids, &n, &lerr) == 0 && n == 0) {
		free(pids);
		return 0;
	}
	free(pids);
	pids = NULL;
	n = 0;
	struct cg_hier *u = cg_unified(cg);
	/* cgroup.kill (5.14+) kills the whole subtree atomically, with no fork race. On hybrid
	 * hosts the unified hierarchy holds the container's processes as well; when it holds none
	 * (a container created before the unified mount existed), the per-pid path below does. */
	if (sig == SIGKILL && u && cg_file_exists(u->dir, "cgroup.kill")) {
		struct pid_list l = {0};
		struct hy_error ignored = {0};
		bool populated = collect(u->dir, &l, 0, &ignored) == 0 && l.n > 0;
		free(l.v);
		if (populated) {
			int r = cg_write(u->dir, "cgroup.kill", "1", err);
			/* A v1-frozen (paused) task only dies once thawed; v2 lets SIGKILL through. */
			bool frozen = false;
			struct cg_hier *fz = cg_hier_for(cg, CG_FREEZER);
			if (r == 0 && fz && !fz->v2 && cgroup_is_frozen(cg, &frozen, &ignored) == 0 &&
			    frozen)
				r = cgroup_freeze(cg, false, err);
			return r;
		}
	}
	/* Freeze so that nothing forks between the listing and the signals; a paused container
	 * stays paused. */
	struct hy_error ferr = {0};
	bool was_frozen = false, froze = false;
	if (cgroup_is_frozen(cg, &was_frozen, &ferr) == 0 && !was_frozen)
		froze = cgroup_freeze(cg, true, &ferr) == 0;
	int r = cgroup_pids(cg, &pids, &n, err);
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			if (kill(pids[i], sig) < 0 && errno != ESRCH && r == 0)
				r = hy_error_errno(err, errno, "kill(%d, %d)", (int)pids[i], sig);
	}
	free(pids);
	/* SIGKILLed processes of a frozen cgroup only die once thawed. */
	if (froze || (was_frozen && sig == SIGKILL)) {
		struct hy_error terr = {0};
		int t = cgroup_freeze(cg, false, &terr);
		if (t < 0 && r == 0) {
			*err = terr;
			r = t;
		}
	}
	return r;
}
