/* /dev inside the container: the OCI default devices (null, zero, full, random, urandom, tty),
 * the /dev/fd, stdin/stdout/stderr and ptmx symlinks, and linux.devices (mknod, or a bind mount of
 * the host node when a user namespace forbids mknod). Runs before the root switch. */
#ifndef HYRUN_DEVICES_H
#define HYRUN_DEVICES_H

#include <stdbool.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* default_devices: the config mounts /dev (then the defaults and symlinks are made, as runc). */
int devices_create(const struct hy_config *cfg, int rootfd, bool default_devices, bool in_userns,
		   struct hy_error *err);

#endif
