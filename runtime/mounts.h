/* The config's mounts, in order, inside the rootfs: options to flags/propagation/data, bind and
 * rbind of files and directories, recursive (r*) attributes with mount_setattr, the cgroup
 * filesystem on v1/hybrid/v2 hosts. */
#ifndef HYRUN_MOUNTS_H
#define HYRUN_MOUNTS_H

#include <stdbool.h>

#include "runtime/config.h"
#include "runtime/error.h"

struct mount_opts {
	unsigned long flags;       /* MS_* for mount(2), without propagation */
	unsigned long clear;       /* MS_* explicitly turned off (rw, suid, ...) */
	unsigned long propagation[4]; /* MS_PRIVATE|MS_REC ... applied in order */
	int n_propagation;
	unsigned long long attr_set, attr_clr; /* recursive MOUNT_ATTR_* (rro, rnosuid, ...) */
	bool bind, rbind;
	bool idmap, ridmap;        /* idmapped bind mount (ridmap: recursively) */
	char *data;                /* filesystem options, comma separated; NULL when none */
};

/* Parses the options of mounts[index]; errors name "mounts[i].options". */
int mount_opts_parse(const struct hy_strv *options, size_t index, struct mount_opts *out,
		     struct hy_error *err);
void mount_opts_free(struct mount_opts *o);

/* Parses a propagation name ("rprivate", "shared", ...) into MS_* flags; 0 if unknown. */
unsigned long mount_propagation_flag(const char *name);

/* Whether mounts[] entry m is an idmapped mount: "idmap"/"ridmap" in its options or its own
 * uidMappings. The runtime then creates the user namespace for it (mount_idmap_userns). */
bool mount_wants_idmap(const struct hy_mount *m);

/* Mounts every cfg->mounts entry under rootfd (an O_PATH fd of cfg->root_path), in order.
 * in_userns: flags the kernel locks (nodev, nosuid, ...) are kept on bind remounts.
 * idmap_fds (NULL or one per mount): a user namespace fd for each idmapped mount, -1 for others.
 * before_cgroup (may be NULL) runs before the first "cgroup" or "cgroup2" mount. */
int mounts_apply(const struct hy_config *cfg, int rootfd, bool in_userns, const int *idmap_fds,
		 int (*before_cgroup)(void *arg, struct hy_error *err), void *arg,
		 struct hy_error *err);

/* Whether the config mounts something at /dev (then the default devices are created). */
bool mounts_has_dev(const struct hy_config *cfg);

/* Creates the user namespace carrying the id mappings of idmapped mount cfg->mounts[index]:
 * its own uidMappings/gidMappings, else the container's linux.uidMappings/gidMappings.
 * Called by the runtime before the container process exists (it needs the host's /proc). */
int mount_idmap_userns(const struct hy_config *cfg, size_t index, int *userns_fd,
		       struct hy_error *err);

#endif
