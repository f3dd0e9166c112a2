/* The container's root filesystem: safe path resolution inside it (openat2 RESOLVE_IN_ROOT, so a
 * symlink in the rootfs can never lead out of it), the rootfs bind mount and its propagation,
 * pivot_root (or MS_MOVE + chroot with --no-pivot) and the read-only root. */
#ifndef HYRUN_ROOTFS_H
#define HYRUN_ROOTFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* openat2(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); -errno on failure. */
int rootfs_open(int rootfd, const char *path, int flags);

/* Opens path inside the root as O_PATH, creating it (and missing parents, 0755) when absent:
 * a directory, or an empty regular file when !dir. Returns the fd or -errno with err filled. */
int rootfs_open_or_create(int rootfd, const char *path, bool dir, struct hy_error *err);

/* "/proc/self/fd/N": a path the mount syscalls follow to exactly the resolved object. */
void rootfs_fd_path(int fd, char buf[static 32]);

/* Makes / private/slave (rootfsPropagation, default rslave) and bind-mounts the rootfs on
 * itself so it is a mount point pivot_root accepts. */
int rootfs_prepare(const struct hy_config *cfg, struct hy_error *err);

/* Switches root to cfg->root_path (pivot_root, or MS_MOVE + chroot when no_pivot); cwd is "/". */
int rootfs_switch(const struct hy_config *cfg, bool no_pivot, struct hy_error *err);

/* After the switch: rootfsPropagation again (shared needs it after pivot) and root.readonly. */
int rootfs_finalize(const struct hy_config *cfg, struct hy_error *err);

#endif
