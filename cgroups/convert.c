/* OCI (v1-shaped) values -> cgroup v2 values, and `update` size strings. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgroups/resources.h"

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
	/* Linear map of [2, 262144] onto [1, 10000], as runc and crun (Debian 12's 1.8) do, so that
	 * a container gets the same cpu.weight under every runtime. */
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
	/* crun's map of blkio [10, 1000] onto io [1, 10000]. */
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int cgroup_memsw_to_swap_max(int64_t memsw, int64_t limit, int64_t *swap_max, struct hy_error *err)
{
	/* OCI's swap is memory+swap (v1 memsw); v2's memory.swap.max counts swap alone. */
	if (memsw == -1) {
		*swap_max = -1;
		return 0;
	}
	if (limit <= 0)
		return hy_error_set(err, EINVAL,
				    "memory.swap %lld needs a memory.limit (v2 memory.swap.max is "
				    "swap beyond the memory limit)",
				    (long long)memsw);
	if (memsw < limit)
		return hy_error_set(err, EINVAL,
				    "memory.swap (%lld) must not be below memory.limit (%lld): it is "
				    "the memory+swap total",
				    (long long)memsw, (long long)limit);
	*swap_max = memsw - limit;
	return 0;
}

int cgroup_parse_size(const char *s, const char *what, int64_t *out, struct hy_error *err)
{
	if (!s || !*s)
		return hy_error_set(err, EINVAL, "%s: empty value", what);
	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	if (*s < '0' || *s > '9')
		return hy_error_set(err, EINVAL, "%s: invalid size '%s'", what, s);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return hy_error_set(err, ERANGE, "%s: size '%s' out of range", what, s);
	unsigned long long mult = 1;
	if (*end) {
		/* runc (go-units RAMInBytes): k/m/g/t/p with an optional b, case-insensitive,
		 * all binary multiples. */
		static const char units[] = "kmgtp";
		const char *u = strchr(units, (char)(*end | 0x20));
		if (!u || !*end || (end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib")))
			return hy_error_set(err, EINVAL,
					    "%s: invalid size '%s' (expected a number with an "
					    "optional k, m, g suffix)",
					    what, s);
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
	} else if (end == s) {
		return hy_error_set(err, EINVAL, "%s: invalid size '%s'", what, s);
	}
	if (v > (unsigned long long)INT64_MAX / mult)
		return hy_error_set(err, ERANGE, "%s: size '%s' out of range", what, s);
	*out = (int64_t)(v * mult);
	return 0;
}
