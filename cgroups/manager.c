/* Creating, finding again, joining and removing the container's cgroup in every hierarchy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"

static void free_hiers(struct hy_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->h[i].key);
		free(cg->h[i].mount);
		free(cg->h[i].path);
		free(cg->h[i].dir);
		free(cg->h[i].created_top);
	}
	free(cg->h);
	cg->h = NULL;
	cg->n = 0;
}

void hy_cgroup_free(struct hy_cgroup *cg)
{
	if (!cg)
		return;
	free_hiers(cg);
	free(cg->state_path);
	free(cg);
}

const char *cgroup_state_path(const struct hy_cgroup *cg)
{
	return cg ? cg->state_path : NULL;
}

static int set_hier_path(struct cg_hier *h, const char *path, struct hy_error *err)
{
	free(h->path);
	free(h->dir);
	h->dir = NULL;
	h->path = strdup(path);
	if (!h->path || asprintf(&h->dir, "%s%s", h->mount, path) < 0) {
		h->dir = NULL;
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	}
	return 0;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems (no task may join it): inherit the
 * parent's, as cgroup.clone_children would. */
static int cpuset_inherit(const char *dir, struct hy_error *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char parent[4096], buf[4096];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	for (size_t i = 0; i < 2; i++) {
		int r = cg_read(dir, files[i], buf, sizeof buf, err);
		if (r < 0)
			return r;
		if (buf[0] != '\n' && buf[0] != '\0')
			continue;
		if ((r = cg_read(parent, files[i], buf, sizeof buf, err)) < 0)
			return r;
		buf[strcspn(buf, "\n")] = '\0';
		if ((r = cg_write(dir, files[i], buf, err)) < 0)
			return r;
	}
	return 0;
}

/* Lets the children of dir use the controllers of h (cgroup2's subtree_control). A cgroup that
 * holds processes itself refuses (no internal processes): those controllers stay off. */
static void v2_enable_subtree(struct cg_hier *h, const char *dir)
{
	char avail[512], on[512];
	struct hy_error ignored = {0};
	if (cg_read(dir, "cgroup.controllers", avail, sizeof avail, &ignored) < 0 ||
	    cg_read(dir, "cgroup.subtree_control", on, sizeof on, &ignored) < 0)
		return;
	for (char *save = NULL, *tok = strtok_r(avail, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		int c = cg_ctrl_from_name(tok);
		if (c < 0 || !(h->ctrls & CG_BIT(c)))
			continue;
		char needle[64];
		snprintf(needle, sizeof needle, " %s ", tok);
		char padded[520];
		snprintf(padded, sizeof padded, " %.510s ", on);
		for (char *p = padded; *p; p++)
			if (*p == '\n')
				*p = ' ';
		if (strstr(padded, needle))
			continue;
		cg_writef(dir, "cgroup.subtree_control", &ignored, "+%s", tok);
	}
}

/* What the leaf cgroup really offers on cgroup2 (enabling may have been refused above). */
static void v2_refresh_ctrls(struct cg_hier *h)
{
	char buf[512];
	struct hy_error ignored = {0};
	if (cg_read(h->dir, "cgroup.controllers", buf, sizeof buf, &ignored) < 0)
		return;
	uint32_t have = CG_BIT(CG_FREEZER);
	for (char *save = NULL, *tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		int c = cg_ctrl_from_name(tok);
		if (c >= 0)
			have |= CG_BIT(c);
	}
	h->ctrls &= have;
}

static int mkdir_path(struct cg_hier *h, bool allow_existing, struct hy_error *err)
{
	char dir[4096];
	size_t mlen = strlen(h->mount);
	if (mlen + strlen(h->path) >= sizeof dir)
		return hy_error_set(err, ENAMETOOLONG, "cgroup path %s%s too long", h->mount,
				    h->path);
	memcpy(dir, h->mount, mlen + 1);
	const char *p = h->path; /* normalized: "/a/b" */
	while (*p) {
		size_t n = strcspn(p + 1, "/") + 1;
		if (h->v2)
			v2_enable_subtree(h, dir); /* on the parent, before its child exists */
		size_t len = strlen(dir);
		memcpy(dir + len, p, n);
		dir[len + n] = '\0';
		p += n;
		bool leaf = *p == '\0';
		if (mkdir(dir, 0755) == 0) {
			if (!h->created_top && !(h->created_top = strdup(dir)))
				return hy_error_set(err, ENOMEM, "cgroups: out of memory");
			if (!h->v2 && (h->ctrls & CG_BIT(CG_CPUSET))) {
				int r = cpuset_inherit(dir, err);
				if (r < 0)
					return hy_error_prefix(err, "creating cgroup %s", dir);
			}
			continue;
		}
		if (errno != EEXIST)
			return hy_error_errno(err, errno, "creating cgroup %s", dir);
		if (leaf && !allow_existing)
			return hy_error_set(err, EEXIST, "cgroup %s already exists", dir);
	}
	return 0;
}

/* Removes dir and its parents up to and including top (what one create made). */
static void remove_created(struct cg_hier *h)
{
	if (!h->created_top || !h->dir)
		return;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", h->dir);
	size_t top = strlen(h->created_top);
	while (strlen(dir) >= top) {
		if (rmdir(dir) < 0 && errno != ENOENT)
			break;
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
}

static bool valid_id_component(const char *id)
{
	return id && *id && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

int cgroup_create(const struct cgroup_spec *spec, struct hy_cgroup **out, struct hy_error *err)
{
	*out = NULL;
	struct hy_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	char *base = NULL;
	bool relative = false;
	int r = cg_discover(cg, true, err);
	if (r < 0)
		goto fail;
	if (spec->systemd) {
		r = cg_systemd_path(spec->cgroups_path, spec->id, &base, err);
	} else if (!spec->cgroups_path || !*spec->cgroups_path) {
		if (!valid_id_component(spec->id)) {
			r = hy_error_set(err, EINVAL, "cgroups: invalid container id for a cgroup");
			goto fail;
		}
		char def[4200];
		snprintf(def, sizeof def, "/hyrun/%s", spec->id);
		r = cg_normalize_path(def, &base, err);
	} else {
		relative = spec->cgroups_path[0] != '/';
		r = cg_normalize_path(spec->cgroups_path, &base, err);
	}
	if (r < 0)
		goto fail;
	if (!*base) {
		r = hy_error_set(err, EINVAL, "cgroupsPath '%s': the root cgroup cannot be a "
				 "container's cgroup", spec->cgroups_path ? spec->cgroups_path : "");
		goto fail;
	}
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_hier *h = &cg->h[i];
		char *own = NULL, *full = NULL;
		if (relative) {
			if ((r = cg_own_path(h, &own, err)) < 0)
				goto fail;
			/* own is "/" at the top: avoid "//x" */
			r = asprintf(&full, "%s%s", strcmp(own, "/") ? own : "", base);
			free(own);
			if (r < 0) {
				r = hy_error_set(err, ENOMEM, "cgroups: out of memory");
				goto fail;
			}
			r = set_hier_path(h, full, err);
			free(full);
		} else {
			r = set_hier_path(h, base, err);
		}
		if (r < 0 || (r = mkdir_path(h, spec->allow_existing, err)) < 0)
			goto fail;
		if (h->v2)
			v2_refresh_ctrls(h);
	}
	if ((r = cg_state_path_encode(cg, err)) < 0)
		goto fail;
	free(base);
	*out = cg;
	return 0;
fail:
	for (size_t i = 0; i < cg->n; i++)
		remove_created(&cg->h[i]);
	free(base);
	hy_cgroup_free(cg);
	return r;
}

int cgroup_open(const char *state_path, struct hy_cgroup **out, struct hy_error *err)
{
	*out = NULL;
	if (!state_path || !*state_path)
		return hy_error_set(err, EINVAL, "cgroups: empty cgroup path in the container state");
	struct hy_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	int r = cg_discover(cg, false, err);
	if (r < 0 || (r = cg_state_path_decode(cg, state_path, err)) < 0)
		goto fail;
	/* Drop hierarchies the state does not mention (mounted after create). */
	size_t kept = 0;
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->h[i].dir && cg->h[i].path && *cg->h[i].path) {
			cg->h[kept++] = cg->h[i];
			continue;
		}
		free(cg->h[i].key);
		free(cg->h[i].mount);
		free(cg->h[i].path);
		free(cg->h[i].dir);
	}
	cg->n = kept;
	if (!kept) {
		r = hy_error_set(err, EINVAL, "cgroups: state path '%s' names no hierarchy",
				 state_path);
		goto fail;
	}
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2)
			v2_refresh_ctrls(&cg->h[i]);
	if (!(cg->state_path = strdup(state_path))) {
		r = hy_error_set(err, ENOMEM, "cgroups: out of memory");
		goto fail;
	}
	*out = cg;
	return 0;
fail:
	hy_cgroup_free(cg);
	return r;
}

int cgroup_add_pid(struct hy_cgroup *cg, pid_t pid, struct hy_error *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		int r = cg_writef(cg->h[i].dir, "cgroup.procs", err, "%d", (int)pid);
		if (r < 0)
			return hy_error_prefix(err, "adding pid %d to the container's cgroup",
					       (int)pid);
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* rmdir of a cgroup fails with EBUSY while exiting processes are still accounted to it. */
static int rmdir_retry(const char *dir, struct hy_error *err)
{
	for (int attempt = 0;; attempt++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || attempt >= 200)
			return hy_error_errno(err, errno, "removing cgroup %s", dir);
		if (attempt == 20) {
			/* A frozen cgroup keeps killed processes alive: thaw it. */
			struct hy_error ignored = {0};
			if (cg_file_exists(dir, "freezer.state"))
				cg_write(dir, "freezer.state", "THAWED", &ignored);
			if (cg_file_exists(dir, "cgroup.freeze"))
				cg_write(dir, "cgroup.freeze", "0", &ignored);
		}
		sleep_ms(attempt < 20 ? 1 : 10);
	}
}

int cgroup_destroy(struct hy_cgroup *cg, struct hy_error *err)
{
	int first = 0;
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_hier *h = &cg->h[i];
		struct hy_error e = {0};
		int r = rmdir_retry(h->dir, &e);
		if (r < 0 && !first) {
			first = r;
			*err = e;
			continue;
		}
		/* Parents this process created (a create being undone) go too. Otherwise parents
		 * stay, hyrun's own /hyrun included: removing and re-making it in every hierarchy
		 * on each run doubled the cgroup work of a short-lived container. */
		if (r == 0 && h->created_top)
			remove_created(h);
	}
	return first;
}
