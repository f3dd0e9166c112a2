/* v1 controller mounts read straight from /proc/self/mountinfo. cgroup_open() runs on every
 * `state`/`list` of a running container, and libcgroup's cgroup_init reads /proc/cgroups, which
 * waits for the kernel's cgroup_mutex (held for milliseconds while any cgroup is created or
 * released on the host); mountinfo does not. create keeps using libcgroup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/cgroup_internal.h"
#include "cgroups/libcgroup_mounts.h"

static int add(struct cg_mount **v, size_t *n, const char *ctrl, const char *path)
{
	struct cg_mount *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n].controller = strdup(ctrl);
	nv[*n].path = strdup(path);
	(*n)++;
	return nv[*n - 1].controller && nv[*n - 1].path ? 0 : -ENOMEM;
}

int cg_mountinfo_mounts(struct cg_mount **out, size_t *n_out, struct hy_error *err)
{
	*out = NULL;
	*n_out = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return hy_error_errno(err, errno, "cgroups: /proc/self/mountinfo");
	struct cg_mount *v = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	uint32_t seen = 0;
	int r = 0;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS" */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup ", 7))
			continue;
		char root[8], mnt[4096];
		if (sscanf(line, "%*s %*s %*s %7s %4095s", root, mnt) != 2 || strcmp(root, "/") ||
		    strchr(mnt, '\\'))
			continue; /* a bind of a sub-tree, or an escaped path: not a hierarchy root */
		char *opts = strrchr(sep + 10, ' ');
		if (!opts)
			continue;
		opts[strcspn(opts, "\n")] = '\0';
		for (char *save = NULL, *tok = strtok_r(opts + 1, ",", &save); tok && r == 0;
		     tok = strtok_r(NULL, ",", &save)) {
			int c = cg_ctrl_from_name(tok);
			/* "io" is only a v2 name; a hierarchy seen twice (bind mount) counts once */
			if (c < 0 || !strcmp(tok, "io") || (seen & CG_BIT(c)))
				continue;
			seen |= CG_BIT(c);
			r = add(&v, &n, tok, mnt);
		}
	}
	free(line);
	fclose(f);
	if (r < 0) {
		cg_mounts_free(v, n);
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	}
	*out = v;
	*n_out = n;
	return 0;
}
