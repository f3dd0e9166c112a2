/* Which cgroup hierarchies this host has. The v1 controller mounts come from libcgroup
 * (cgroup_init + its controller iterator: it already parses /proc/mounts and /proc/cgroups for
 * us); the cgroup2 mount is found with statfs, because libcgroup only lists it when it carries a
 * controller and hybrid hosts often mount it empty. */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "cgroups/cgroup_internal.h"
#include "cgroups/libcgroup_mounts.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define UNIFIED_HYBRID CGROUP_ROOT "/unified"

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_detect_layout(enum cgroup_layout *out, struct hy_error *err)
{
	struct statfs sfs;
	if (statfs(CGROUP_ROOT, &sfs) < 0)
		return hy_error_errno(err, errno, "cgroups: statfs %s", CGROUP_ROOT);
	if (sfs.f_type == CGROUP2_SUPER_MAGIC)
		*out = CGROUP_LAYOUT_V2;
	else if (is_cgroup2(UNIFIED_HYBRID))
		*out = CGROUP_LAYOUT_HYBRID;
	else
		*out = CGROUP_LAYOUT_V1;
	return 0;
}

static struct cg_hier *add_hier(struct hy_cgroup *cg, const char *key, const char *mount, bool v2)
{
	struct cg_hier *nh = realloc(cg->h, (cg->n + 1) * sizeof(*nh));
	if (!nh)
		return NULL;
	cg->h = nh;
	struct cg_hier *h = &cg->h[cg->n];
	memset(h, 0, sizeof(*h));
	h->key = strdup(key);
	h->mount = strdup(mount);
	h->v2 = v2;
	if (!h->key || !h->mount) {
		free(h->key);
		free(h->mount);
		return NULL;
	}
	cg->n++;
	return h;
}

/* The controllers a cgroup2 mount offers (its root's cgroup.controllers). */
static void read_v2_controllers(struct cg_hier *h)
{
	char buf[512];
	struct hy_error ignored = {0};
	if (cg_read(h->mount, "cgroup.controllers", buf, sizeof buf, &ignored) < 0)
		return;
	for (char *save = NULL, *tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		int c = cg_ctrl_from_name(tok);
		if (c >= 0)
			h->ctrls |= CG_BIT(c);
	}
	/* The freezer is part of every cgroup2 cgroup (cgroup.freeze) */
	h->ctrls |= CG_BIT(CG_FREEZER);
}

static int discover_v1(struct hy_cgroup *cg, const char *unified, bool use_libcgroup,
		       struct hy_error *err)
{
	struct cg_mount *m = NULL;
	size_t n = 0;
	int r = use_libcgroup ? cg_libcgroup_mounts(&m, &n, err) : cg_mountinfo_mounts(&m, &n, err);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		int c = cg_ctrl_from_name(m[k].controller);
		if (c < 0 || (unified && !strcmp(m[k].path, unified)))
			continue; /* unknown controller, or one served by the unified mount */
		struct cg_hier *h = NULL;
		for (size_t i = 0; i < cg->n; i++)
			if (!cg->h[i].v2 && !strcmp(cg->h[i].mount, m[k].path))
				h = &cg->h[i];
		if (!h && !(h = add_hier(cg, m[k].controller, m[k].path, false))) {
			cg_mounts_free(m, n);
			return hy_error_set(err, ENOMEM, "cgroups: out of memory");
		}
		h->ctrls |= CG_BIT(c);
	}
	cg_mounts_free(m, n);
	/* Name each hierarchy by its first controller in hyrun's order, whichever source listed
	 * it, so that state paths written by create are read back by open. */
	for (size_t i = 0; i < cg->n; i++) {
		int first = __builtin_ctz(cg->h[i].ctrls);
		char *key = strdup(cg_ctrl_name((enum cg_ctrl)first));
		if (!key)
			return hy_error_set(err, ENOMEM, "cgroups: out of memory");
		free(cg->h[i].key);
		cg->h[i].key = key;
	}
	return 0;
}

int cg_discover(struct hy_cgroup *cg, bool use_libcgroup, struct hy_error *err)
{
	int r = cgroup_detect_layout(&cg->layout, err);
	if (r < 0)
		return r;
	const char *unified = NULL;
	if (cg->layout == CGROUP_LAYOUT_V2)
		unified = CGROUP_ROOT;
	else if (cg->layout == CGROUP_LAYOUT_HYBRID)
		unified = UNIFIED_HYBRID;
	if (cg->layout != CGROUP_LAYOUT_V2 && (r = discover_v1(cg, unified, use_libcgroup, err)) < 0)
		return r;
	if (unified) {
		struct cg_hier *h = add_hier(cg, "unified", unified, true);
		if (!h)
			return hy_error_set(err, ENOMEM, "cgroups: out of memory");
		read_v2_controllers(h);
		/* On a hybrid host, a controller bound to a v1 mount is not usable in cgroup2. */
		for (size_t i = 0; i + 1 < cg->n; i++)
			h->ctrls &= ~cg->h[i].ctrls;
		h->ctrls |= CG_BIT(CG_FREEZER);
	}
	if (cg->n == 0)
		return hy_error_set(err, ENOENT, "cgroups: no cgroup hierarchy is mounted");
	return 0;
}

struct cg_hier *cg_unified(struct hy_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2)
			return &cg->h[i];
	return NULL;
}

struct cg_hier *cg_hier_for(struct hy_cgroup *cg, enum cg_ctrl c)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->h[i].v2 && (cg->h[i].ctrls & CG_BIT(c)))
			return &cg->h[i];
	struct cg_hier *u = cg_unified(cg);
	if (u && (u->ctrls & CG_BIT(c)))
		return u;
	return NULL;
}

const char *cg_dir_for(struct hy_cgroup *cg, enum cg_ctrl c)
{
	struct cg_hier *h = cg_hier_for(cg, c);
	return h ? h->dir : NULL;
}

int cg_own_path(const struct cg_hier *h, char **out, struct hy_error *err)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return hy_error_errno(err, errno, "cgroups: /proc/self/cgroup");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *ctrls = strchr(line, ':');
		char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		*ctrls++ = '\0';
		bool match = false;
		if (h->v2) {
			match = !strcmp(line, "0") && *ctrls == '\0';
		} else {
			for (char *save = NULL, *tok = strtok_r(ctrls, ",", &save); tok && !match;
			     tok = strtok_r(NULL, ",", &save))
				match = !strcmp(tok, h->key);
		}
		if (match) {
			*out = strdup(path);
			r = *out ? 0 : -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	if (r == -ENOENT)
		return hy_error_set(err, ENOENT, "cgroups: /proc/self/cgroup has no '%s' entry",
				    h->key);
	if (r < 0)
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	return 0;
}
