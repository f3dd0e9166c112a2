/* The image config's User, resolved inside the unpacked rootfs. */
#ifndef HYRUN_IMAGE_USER_H
#define HYRUN_IMAGE_USER_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

#define IMAGE_MAX_GROUPS 64

struct image_user {
	uint32_t uid, gid;
	uint32_t additional[IMAGE_MAX_GROUPS];
	size_t n_additional;
};

/* spec: "", "name", "uid", "name:group", "uid:gid" (and mixes). A name that the rootfs does not
 * know is an error; a numeric uid without a passwd entry gets gid 0, as docker does. */
int image_resolve_user(int rootfd, const char *spec, struct image_user *u, struct hy_error *err);

#endif
