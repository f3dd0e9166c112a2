/* Resource writers for cgroup2, with the OCI (v1-shaped) -> v2 conversions crun uses. Used on
 * pure v2 hosts, and on hybrid hosts for controllers that only the unified mount offers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/cgroup_internal.h"

/* The unified directory when it serves c, else NULL. */
static const char *v2_dir(struct hy_cgroup *cg, enum cg_ctrl c)
{
	struct cg_hier *h = cg_hier_for(cg, c);
	return h && h->v2 ? h->dir : NULL;
}

static int write_max(const char *dir, const char *file, int64_t v, struct hy_error *err)
{
	if (v < 0)
		return cg_write(dir, file, "max", err);
	return cg_writef(dir, file, err, "%" PRId64, v);
}

static int apply_memory(const char *dir, const struct hy_memory_resources *m,
			struct hy_error *err)
{
	int r;
	bool limit = m->has_limit && m->limit != 0, swap = m->has_swap && m->swap != 0;
	if (limit && m->has_check_before_update && m->check_before_update && m->limit > 0) {
		/* Lowering memory.max below the usage makes the kernel reclaim or OOM-kill at once:
		 * refuse instead, as the spec's checkBeforeUpdate asks. */
		uint64_t cur = 0;
		if (cg_read_u64(dir, "memory.current", &cur, err) == 0 && cur > (uint64_t)m->limit)
			return hy_error_set(err, EBUSY,
					    "memory.limit %" PRId64 " is below the current usage %" PRIu64
					    " (checkBeforeUpdate)",
					    m->limit, cur);
	}
	if (swap) {
		int64_t lim = limit ? m->limit : 0, swap_max = 0;
		if (!limit && m->swap != -1) {
			uint64_t cur = 0;
			if ((r = cg_read_u64(dir, "memory.max", &cur, err)) < 0)
				return r;
			lim = cur == UINT64_MAX ? -1 : (int64_t)cur;
		}
		if (lim == -1 && m->swap != -1)
			return hy_error_set(err, EINVAL,
					    "memory.swap %" PRId64 " needs a memory limit on cgroup v2",
					    m->swap);
		if ((r = cgroup_memsw_to_swap_max(m->swap, lim, &swap_max, err)) < 0)
			return r;
		/* Write the limit first: swap.max does not depend on it in v2. Without swap
		 * accounting (no memory.swap.max) the swap value is ignored, as crun does. */
		if (limit && (r = write_max(dir, "memory.max", m->limit, err)) < 0)
			return r;
		if (cg_file_exists(dir, "memory.swap.max") &&
		    (r = write_max(dir, "memory.swap.max", swap_max, err)) < 0)
			return r;
	} else if (limit && (r = write_max(dir, "memory.max", m->limit, err)) < 0) {
		return r;
	}
	if (m->has_reservation && m->reservation != 0 &&
	    (r = write_max(dir, "memory.low", m->reservation, err)) < 0)
		return r;
	/* swappiness, kernel, kernelTCP and disableOOMKiller have no v2 file: ignored, as crun
	 * does. */
	return 0;
}

/* cpu.max is "QUOTA PERIOD": keep the half not being changed. */
static int apply_cpu_max(const char *dir, const struct hy_cpu_resources *c, struct hy_error *err)
{
	bool quota = c->has_quota && c->quota != 0, period = c->has_period && c->period != 0;
	if (!quota && !period)
		return 0;
	char cur[64] = "max 100000";
	struct hy_error ignored = {0};
	cg_read(dir, "cpu.max", cur, sizeof cur, &ignored);
	char q[32], p[32];
	if (sscanf(cur, "%31s %31s", q, p) != 2) {
		snprintf(q, sizeof q, "max");
		snprintf(p, sizeof p, "100000");
	}
	if (quota) {
		if (c->quota < 0)
			snprintf(q, sizeof q, "max");
		else
			snprintf(q, sizeof q, "%" PRId64, c->quota);
	}
	if (period)
		snprintf(p, sizeof p, "%" PRIu64, c->period);
	return cg_writef(dir, "cpu.max", err, "%s %s", q, p);
}

static int apply_cpu(struct hy_cgroup *cg, const struct hy_cpu_resources *c, struct hy_error *err)
{
	int r;
	const char *dir = v2_dir(cg, CG_CPU);
	if (dir) {
		if (c->has_shares && c->shares &&
		    (r = cg_writef(dir, "cpu.weight", err, "%" PRIu64,
				   cgroup_shares_to_weight(c->shares))) < 0)
			return r;
		if ((r = apply_cpu_max(dir, c, err)) < 0)
			return r;
		if (c->has_burst &&
		    (r = cg_writef(dir, "cpu.max.burst", err, "%" PRIu64, c->burst)) < 0)
			return r;
		if (c->has_idle && (r = cg_writef(dir, "cpu.idle", err, "%" PRId64, c->idle)) < 0)
			return r;
		if ((c->has_realtime_runtime && c->realtime_runtime) ||
		    (c->has_realtime_period && c->realtime_period))
			return hy_error_set(err, ENOTSUP,
					    "cpu.realtimeRuntime/realtimePeriod: not supported on "
					    "cgroup v2");
	}
	const char *cs = v2_dir(cg, CG_CPUSET);
	if (cs && c->mems && (r = cg_write(cs, "cpuset.mems", c->mems, err)) < 0)
		return r;
	if (cs && c->cpus && (r = cg_write(cs, "cpuset.cpus", c->cpus, err)) < 0)
		return r;
	return 0;
}

static int apply_io(const char *dir, const struct hy_blkio_resources *b, struct hy_error *err)
{
	int r;
	/* io.weight takes the converted 1..10000 scale; io.bfq.weight keeps blkio's 1..1000. */
	bool has_io_weight = cg_file_exists(dir, "io.weight");
	if (b->has_weight) {
		if (has_io_weight)
			r = cg_writef(dir, "io.weight", err, "default %" PRIu64,
				      cgroup_blkio_weight_to_io_weight(b->weight));
		else
			r = cg_writef(dir, "io.bfq.weight", err, "default %u", b->weight);
		if (r < 0)
			return r;
	}
	if (b->has_leaf_weight)
		return hy_error_set(err, ENOTSUP, "blockIO.leafWeight: not supported on cgroup v2");
	for (size_t i = 0; i < b->n_weight_devices; i++) {
		const struct hy_weight_device *w = &b->weight_devices[i];
		if (w->has_leaf_weight)
			return hy_error_set(err, ENOTSUP,
					    "blockIO.weightDevice.leafWeight: not supported on "
					    "cgroup v2");
		if (!w->has_weight)
			continue;
		if (has_io_weight)
			r = cg_writef(dir, "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64,
				      w->major, w->minor,
				      cgroup_blkio_weight_to_io_weight(w->weight));
		else
			r = cg_writef(dir, "io.bfq.weight", err, "%" PRId64 ":%" PRId64 " %u",
				      w->major, w->minor, w->weight);
		if (r < 0)
			return r;
	}
	static const char *const keys[] = {"rbps", "wbps", "riops", "wiops"};
	const struct hy_throttle_list *lists[] = {&b->read_bps, &b->write_bps, &b->read_iops,
						  &b->write_iops};
	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < lists[k]->n; i++) {
			const struct hy_throttle_device *t = &lists[k]->v[i];
			r = cg_writef(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
				      t->major, t->minor, keys[k], t->rate);
			if (r < 0)
				return r;
		}
	return 0;
}

/* linux.resources.unified: written as given, after the key passed validation at parse time
 * and only to a file that exists in the container's own cgroup. */
static int apply_unified(struct hy_cgroup *cg, const struct hy_resources *res,
			 struct hy_error *err)
{
	if (!res->n_unified)
		return 0;
	struct cg_hier *u = cg_unified(cg);
	if (!u)
		return hy_error_set(err, ENOTSUP,
				    "linux.resources.unified needs cgroup v2, and this host has "
				    "no cgroup2 mount");
	for (size_t i = 0; i < res->n_unified; i++) {
		const struct hy_unified_entry *e = &res->unified[i];
		int r = cgroup_unified_key_valid(e->key, err);
		if (r < 0)
			return r;
		if (!cg_file_exists(u->dir, e->key))
			return hy_error_set(err, ENOENT,
					    "unified key '%s': no such file in %s (controller not "
					    "enabled for the container?)",
					    e->key, u->dir);
		if ((r = cg_write(u->dir, e->key, e->value, err)) < 0)
			return r;
	}
	return 0;
}

int cg_apply_v2(struct hy_cgroup *cg, const struct hy_resources *res, struct hy_error *err)
{
	int r;
	const char *dir;
	if (res->has_memory && (dir = v2_dir(cg, CG_MEMORY)) &&
	    (r = apply_memory(dir, &res->memory, err)) < 0)
		return r;
	if (res->has_cpu && (r = apply_cpu(cg, &res->cpu, err)) < 0)
		return r;
	if (res->has_pids_limit && res->pids_limit != 0 && (dir = v2_dir(cg, CG_PIDS)) &&
	    (r = write_max(dir, "pids.max", res->pids_limit < 0 ? -1 : res->pids_limit, err)) < 0)
		return r;
	if (res->has_blkio && (dir = v2_dir(cg, CG_BLKIO)) &&
	    (r = apply_io(dir, &res->blkio, err)) < 0)
		return r;
	if (res->n_hugepage_limits && (dir = v2_dir(cg, CG_HUGETLB))) {
		for (size_t i = 0; i < res->n_hugepage_limits; i++) {
			char file[64];
			snprintf(file, sizeof file, "hugetlb.%s.max",
				 res->hugepage_limits[i].page_size);
			if ((r = cg_writef(dir, file, err, "%" PRIu64,
					   res->hugepage_limits[i].limit)) < 0)
				return r;
		}
	}
	if (res->n_rdma && (dir = v2_dir(cg, CG_RDMA)) && (r = cg_write_rdma(dir, res, err)) < 0)
		return r;
	if ((r = apply_unified(cg, res, err)) < 0)
		return r;
	/* Devices: an eBPF program when no v1 devices controller is there to do it. */
	struct cg_hier *dev = cg_hier_for(cg, CG_DEVICES);
	struct cg_hier *u = cg_unified(cg);
	if (res->has_devices && !dev && u)
		return cg_devices_bpf_apply(u->dir, res->devices, res->n_devices, err);
	return 0;
}
