/* v1 controller mounts as libcgroup sees them (see libcgroup_mounts.c for why this is apart). */
#ifndef HYRUN_CGROUPS_LIBCGROUP_MOUNTS_H
#define HYRUN_CGROUPS_LIBCGROUP_MOUNTS_H

#include <stddef.h>

#include "runtime/error.h"

struct cg_mount {
	char *controller; /* "memory" */
	char *path;       /* "/sys/fs/cgroup/memory" */
};

int cg_libcgroup_mounts(struct cg_mount **out, size_t *n, struct hy_error *err);
/* The same list from /proc/self/mountinfo (mountinfo.c): no wait on the kernel's cgroup_mutex. */
int cg_mountinfo_mounts(struct cg_mount **out, size_t *n, struct hy_error *err);
void cg_mounts_free(struct cg_mount *m, size_t n);

#endif
