/* The one file that includes libcgroup.h, so that libcgroup's many generic names (cgroup_*)
 * stay out of the rest of cgroups/; its use is kept behind cg_libcgroup_mounts(). */
#include <errno.h>
#include <libcgroup.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/libcgroup_mounts.h"

void cg_mounts_free(struct cg_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].controller);
		free(m[i].path);
	}
	free(m);
}

int cg_libcgroup_mounts(struct cg_mount **out, size_t *n_out, struct hy_error *err)
{
	*out = NULL;
	*n_out = 0;
	/* cgroup_init parses /proc/mounts and /proc/cgroups into libcgroup's table. */
	int r = cgroup_init();
	if (r)
		return hy_error_set(err, ENOENT, "cgroups: libcgroup cgroup_init: %s",
				    cgroup_strerror(r));
	struct cg_mount *v = NULL;
	size_t n = 0;
	void *handle = NULL;
	struct cgroup_mount_point mp;
	for (r = cgroup_get_controller_begin(&handle, &mp); r == 0;
	     r = cgroup_get_controller_next(&handle, &mp)) {
		struct cg_mount *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			goto nomem;
		v = nv;
		v[n].controller = strdup(mp.name);
		v[n].path = strdup(mp.path);
		n++;
		if (!v[n - 1].controller || !v[n - 1].path)
			goto nomem;
	}
	cgroup_get_controller_end(&handle);
	if (r != ECGEOF && r != 0) {
		cg_mounts_free(v, n);
		return hy_error_set(err, EIO, "cgroups: libcgroup controller list: %s",
				    cgroup_strerror(r));
	}
	*out = v;
	*n_out = n;
	return 0;
nomem:
	cgroup_get_controller_end(&handle);
	cg_mounts_free(v, n);
	return hy_error_set(err, ENOMEM, "cgroups: out of memory");
}
