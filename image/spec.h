/* The runtime config.json made from an image config. */
#ifndef HYRUN_IMAGE_SPEC_H
#define HYRUN_IMAGE_SPEC_H

#include <stddef.h>

#include "runtime/error.h"

/* cfg_json: the image config blob. rootfd: the unpacked rootfs (for User lookups). isolation:
 * NULL or the value of org.hyrun.isolation; root_disk: NULL or that of org.hyrun.vm.root_disk.
 * *out: the config.json text (free it). */
int image_spec_generate(const char *cfg_json, size_t cfg_len, const char *cfg_name, int rootfd,
			const char *isolation, const char *root_disk, char **out,
			struct hy_error *err);

#endif
