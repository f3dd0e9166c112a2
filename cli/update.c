/* hyrun update [flags] ID: changes the resources of a running container, with runc's flags. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/resources.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: hyrun update [options] ID\n\n"
	"Changes the cgroup limits of a running container. Sizes take k, m, g suffixes (1024-based)\n"
	"and -1 means unlimited.\n\n"
	"options:\n"
	"  -r, --resources FILE        a linux.resources JSON object (- reads stdin); flags given\n"
	"                              as well override its values\n"
	"  --memory SIZE               memory limit\n"
	"  --memory-reservation SIZE   memory soft limit\n"
	"  --memory-swap SIZE          memory+swap limit\n"
	"  --kernel-memory SIZE        ignored (kernels no longer limit kernel memory)\n"
	"  --kernel-memory-tcp SIZE    kernel TCP buffer limit (v1)\n"
	"  --cpu-shares N              CPU shares (relative weight; --cpu-share as in runc)\n"
	"  --cpu-quota N               CFS quota in microseconds per period (-1 = none)\n"
	"  --cpu-period N              CFS period in microseconds\n"
	"  --cpu-burst N               CFS burst in microseconds\n"
	"  --cpu-rt-runtime N          realtime runtime in microseconds\n"
	"  --cpu-rt-period N           realtime period in microseconds\n"
	"  --cpuset-cpus LIST          CPUs allowed, e.g. 0-2,4\n"
	"  --cpuset-mems LIST          memory nodes allowed\n"
	"  --pids-limit N              maximum number of tasks (-1 = unlimited)\n"
	"  --blkio-weight N            block I/O weight, 10..1000\n"
	"  -h, --help                  show this help\n";

enum {
	OPT_MEMORY = 1000,
	OPT_MEMORY_RESERVATION,
	OPT_MEMORY_SWAP,
	OPT_KERNEL_MEMORY,
	OPT_KERNEL_MEMORY_TCP,
	OPT_CPU_SHARES,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPU_BURST,
	OPT_CPU_RT_RUNTIME,
	OPT_CPU_RT_PERIOD,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_IGNORED, /* runc's Intel RDT flags: no such hardware interface here */
};

static int parse_i64(const char *s, const char *flag, int64_t min, int64_t max, int64_t *out,
		     struct hy_error *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return hy_error_set(err, EINVAL,
				    "update: %s: expected an integer between %" PRId64 " and %" PRId64
				    ", got '%s'",
				    flag, min, max, s);
	*out = v;
	return 0;
}

static int set_string(char **dst, const char *s, const char *flag, struct hy_error *err)
{
	for (const char *c = s; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == ',' || *c == '-'))
			return hy_error_set(err, EINVAL,
					    "update: %s: expected a list such as 0-2,4, got '%s'", flag,
					    s);
	char *copy = strdup(s);
	if (!copy)
		return hy_error_set(err, ENOMEM, "update: out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

static int apply_flag(struct hy_resources *res, int opt, const char *flag, const char *arg,
		      bool *kernel_ignored, struct hy_error *err)
{
	struct hy_memory_resources *m = &res->memory;
	struct hy_cpu_resources *c = &res->cpu;
	int64_t v = 0;
	int r = 0;
	char what[96];
	snprintf(what, sizeof what, "update: %s", flag);
	switch (opt) {
	case OPT_MEMORY:
	case OPT_MEMORY_RESERVATION:
	case OPT_MEMORY_SWAP:
	case OPT_KERNEL_MEMORY:
	case OPT_KERNEL_MEMORY_TCP:
		if ((r = cgroup_parse_size(arg, what, &v, err)) < 0)
			return r;
		res->has_memory = true;
		if (opt == OPT_MEMORY)
			m->has_limit = true, m->limit = v;
		else if (opt == OPT_MEMORY_RESERVATION)
			m->has_reservation = true, m->reservation = v;
		else if (opt == OPT_MEMORY_SWAP)
			m->has_swap = true, m->swap = v;
		else if (opt == OPT_KERNEL_MEMORY)
			m->has_kernel = true, m->kernel = v, *kernel_ignored = true;
		else
			m->has_kernel_tcp = true, m->kernel_tcp = v;
		return 0;
	case OPT_CPU_SHARES:
		r = parse_i64(arg, flag, 2, 262144, &v, err);
		c->has_shares = true, c->shares = (uint64_t)v;
		break;
	case OPT_CPU_QUOTA:
		r = parse_i64(arg, flag, -1, INT64_MAX, &v, err);
		c->has_quota = true, c->quota = v;
		break;
	case OPT_CPU_PERIOD:
		r = parse_i64(arg, flag, 1000, 1000000, &v, err);
		c->has_period = true, c->period = (uint64_t)v;
		break;
	case OPT_CPU_BURST:
		r = parse_i64(arg, flag, 0, INT64_MAX, &v, err);
		c->has_burst = true, c->burst = (uint64_t)v;
		break;
	case OPT_CPU_RT_RUNTIME:
		r = parse_i64(arg, flag, -1, INT64_MAX, &v, err);
		c->has_realtime_runtime = true, c->realtime_runtime = v;
		break;
	case OPT_CPU_RT_PERIOD:
		r = parse_i64(arg, flag, 1, INT64_MAX, &v, err);
		c->has_realtime_period = true, c->realtime_period = (uint64_t)v;
		break;
	case OPT_CPUSET_CPUS:
		r = set_string(&c->cpus, arg, flag, err);
		break;
	case OPT_CPUSET_MEMS:
		r = set_string(&c->mems, arg, flag, err);
		break;
	case OPT_PIDS_LIMIT:
		if ((r = parse_i64(arg, flag, -1, INT64_MAX, &v, err)) < 0)
			return r;
		res->has_pids_limit = true;
		res->pids_limit = v;
		return 0;
	case OPT_BLKIO_WEIGHT:
		if ((r = parse_i64(arg, flag, 10, 1000, &v, err)) < 0)
			return r;
		res->has_blkio = true;
		res->blkio.has_weight = true;
		res->blkio.weight = (uint16_t)v;
		return 0;
	default:
		return 0;
	}
	if (r == 0)
		res->has_cpu = true;
	return r;
}

static bool anything_set(const struct hy_resources *r)
{
	return r->has_memory || r->has_cpu || r->has_pids_limit || r->has_blkio ||
	       r->n_hugepage_limits || r->has_network || r->n_rdma || r->n_unified ||
	       r->has_devices;
}

int cmd_update(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"resources", required_argument, NULL, 'r'},
		{"memory", required_argument, NULL, OPT_MEMORY},
		{"memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION},
		{"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
		{"kernel-memory", required_argument, NULL, OPT_KERNEL_MEMORY},
		{"kernel-memory-tcp", required_argument, NULL, OPT_KERNEL_MEMORY_TCP},
		{"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
		{"cpu-share", required_argument, NULL, OPT_CPU_SHARES},
		{"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
		{"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
		{"cpu-burst", required_argument, NULL, OPT_CPU_BURST},
		{"cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME},
		{"cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD},
		{"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
		{"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
		{"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
		{"blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT},
		{"l3-cache-schema", required_argument, NULL, OPT_IGNORED},
		{"mem-bw-schema", required_argument, NULL, OPT_IGNORED},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* Flags are remembered and applied after -r so that they override the file's values. */
	struct {
		int opt;
		const char *name;
		const char *arg;
	} flags[64];
	size_t n_flags = 0;
	const char *resources_file = NULL;
	int c, idx = -1;
	while ((c = getopt_long(argc, argv, "+r:h", opts, &idx)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		if (c == 'r') {
			resources_file = optarg;
		} else if (c >= OPT_MEMORY && c <= OPT_IGNORED && idx >= 0) {
			if (n_flags == sizeof(flags) / sizeof(flags[0]))
				return cli_usage_error(err, "update", "too many flags");
			flags[n_flags].opt = c;
			flags[n_flags].name = opts[idx].name;
			flags[n_flags].arg = optarg;
			n_flags++;
		} else {
			return cli_usage_error(err, "update", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
		idx = -1;
	}
	const char *id;
	int r = cli_one_id(argc, argv, "update", &id, err);
	if (r < 0)
		return r;
	struct hy_resources *res = NULL;
	if (resources_file) {
		if ((r = cgroup_resources_parse_file(resources_file, &res, err)) < 0)
			return hy_error_prefix(err, "update: --resources");
	} else if (!(res = calloc(1, sizeof(*res)))) {
		return hy_error_set(err, ENOMEM, "update: out of memory");
	}
	bool kernel_ignored = false;
	for (size_t i = 0; i < n_flags; i++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", flags[i].name);
		if ((r = apply_flag(res, flags[i].opt, flag, flags[i].arg, &kernel_ignored, err)) < 0)
			goto out;
	}
	if (!anything_set(res)) {
		r = cli_usage_error(err, "update", "nothing to update: give a flag or -r FILE");
		goto out;
	}
	if (kernel_ignored || (res->has_memory && res->memory.has_kernel))
		fprintf(stderr, "hyrun: warning: update: kernel memory limits are not supported "
				"by current kernels; ignored\n");
	r = container_update(&cli->rt, id, res, err);
out:
	cgroup_resources_free(res);
	return r;
}
