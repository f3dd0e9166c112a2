/* cgroup_apply_resources: each setting goes to the hierarchy that serves its controller (a v1
 * mount, or the unified one on v2 and for v2-only controllers of hybrid hosts). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroups/cgroup_internal.h"

/* What every container needs whatever its config says, as runc and crun add them: mknod of any
 * node (the device list decides what can be opened), the standard character devices and ptys. */
static const struct hy_device_rule default_rules[] = {
	{.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
	{.allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m"},
	{.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},   /* null */
	{.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},   /* zero */
	{.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm"},   /* full */
	{.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rwm"},   /* random */
	{.allow = true, .type = 'c', .major = 1, .minor = 9, .access = "rwm"},   /* urandom */
	{.allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm"},   /* tty */
	{.allow = true, .type = 'c', .major = 5, .minor = 1, .access = "rwm"},   /* console */
	{.allow = true, .type = 'c', .major = 5, .minor = 2, .access = "rwm"},   /* ptmx */
	{.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"}, /* /dev/pts/N */
};

const struct hy_device_rule *cg_default_device_rules(size_t *n)
{
	*n = sizeof(default_rules) / sizeof(default_rules[0]);
	return default_rules;
}

int cgroup_apply_resources(struct hy_cgroup *cg, const struct hy_resources *res,
			   struct hy_error *err)
{
	if (!res)
		return 0;
	int r = cg_apply_v1(cg, res, err);
	if (r < 0)
		return r;
	return cg_apply_v2(cg, res, err);
}
