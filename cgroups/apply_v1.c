/* Resource writers for cgroup v1 controllers (legacy and hybrid hosts). A setting whose
 * controller is served by the unified hierarchy is left to apply_v2.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroups/cgroup_internal.h"

/* The v1 directory serving c, or NULL (absent or served by cgroup2). */
static const char *v1_dir(struct hy_cgroup *cg, enum cg_ctrl c)
{
	struct cg_hier *h = cg_hier_for(cg, c);
	return h && !h->v2 ? h->dir : NULL;
}

static bool served_by_v2(struct hy_cgroup *cg, enum cg_ctrl c)
{
	struct cg_hier *h = cg_hier_for(cg, c);
	return h && h->v2;
}

static int missing(struct hy_error *err, const char *what, enum cg_ctrl c)
{
	return hy_error_set(err, ENOTSUP,
			    "%s: the %s cgroup controller is not available on this host", what,
			    cg_ctrl_name(c));
}

static int write_i64(const char *dir, const char *file, int64_t v, struct hy_error *err)
{
	return cg_writef(dir, file, err, "%" PRId64, v);
}

static int apply_memory(struct hy_cgroup *cg, const struct hy_memory_resources *m,
			struct hy_error *err)
{
	const char *dir = v1_dir(cg, CG_MEMORY);
	if (!dir)
		return served_by_v2(cg, CG_MEMORY) ? 0 : missing(err, "memory", CG_MEMORY);
	int r;
	bool limit = m->has_limit && m->limit != 0, swap = m->has_swap && m->swap != 0;
	/* Without swap accounting there is no memsw file: the swap value is ignored, as runc and
	 * crun do (engines such as podman always send one). */
	if (swap && !cg_file_exists(dir, "memory.memsw.limit_in_bytes"))
		swap = false;
	if (limit && swap) {
		/* memsw must stay >= the memory limit at every step: raise memsw first when the
		 * new limit grows (or swap becomes unlimited), lower the limit first otherwise. */
		uint64_t cur = 0;
		if ((r = cg_read_u64(dir, "memory.limit_in_bytes", &cur, err)) < 0)
			return r;
		bool growing = m->swap == -1 || m->limit == -1 || (uint64_t)m->limit > cur;
		if (growing) {
			if ((r = write_i64(dir, "memory.memsw.limit_in_bytes", m->swap, err)) < 0 ||
			    (r = write_i64(dir, "memory.limit_in_bytes", m->limit, err)) < 0)
				return r;
		} else if ((r = write_i64(dir, "memory.limit_in_bytes", m->limit, err)) < 0 ||
			   (r = write_i64(dir, "memory.memsw.limit_in_bytes", m->swap, err)) < 0) {
			return r;
		}
	} else if (limit) {
		/* An unlimited memory limit with no swap given means unlimited swap too (runc):
		 * memsw goes first, as it may not be below the limit. */
		if (m->limit == -1 && cg_file_exists(dir, "memory.memsw.limit_in_bytes") &&
		    (r = write_i64(dir, "memory.memsw.limit_in_bytes", -1, err)) < 0)
			return r;
		if ((r = write_i64(dir, "memory.limit_in_bytes", m->limit, err)) < 0) {
			if (err->code == EINVAL)
				hy_error_prefix(err, "memory.limit (above the memory+swap limit? set "
						     "memory.swap too)");
			return -err->code;
		}
	} else if (swap && (r = write_i64(dir, "memory.memsw.limit_in_bytes", m->swap, err)) < 0) {
		return r;
	}
	if (m->has_reservation && m->reservation != 0 &&
	    (r = write_i64(dir, "memory.soft_limit_in_bytes", m->reservation, err)) < 0)
		return r;
	/* memory.kmem.limit_in_bytes: the kernel dropped kmem limits (5.16+); kernel is ignored,
	 * as runc does, and the CLI warns. */
	if (m->has_kernel_tcp && m->kernel_tcp != 0 &&
	    (r = write_i64(dir, "memory.kmem.tcp.limit_in_bytes", m->kernel_tcp, err)) < 0)
		return r;
	if (m->has_swappiness &&
	    (r = cg_writef(dir, "memory.swappiness", err, "%" PRIu64, m->swappiness)) < 0)
		return r;
	if (m->has_disable_oom_killer && m->disable_oom_killer &&
	    (r = cg_write(dir, "memory.oom_control", "1", err)) < 0)
		return r;
	/* use_hierarchy is always on since 5.x and writing 0 fails: only "true" is written. */
	if (m->has_use_hierarchy && m->use_hierarchy &&
	    (r = cg_write(dir, "memory.use_hierarchy", "1", err)) < 0)
		return r;
	return 0;
}

/* A cgroup's rt runtime may not exceed its parent's, and new cgroups start at 0: raise the
 * ancestors below the root (ours, such as /hyrun) to the runtime wanted, top down. */
static int rt_runtime_ancestors(const struct cg_hier *h, int64_t runtime, struct hy_error *err)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", h->mount);
	size_t mlen = strlen(dir);
	for (const char *p = h->path; *p;) {
		size_t n = strcspn(p + 1, "/") + 1;
		if (!p[n])
			break; /* the leaf itself is written by the caller */
		if (mlen + n >= sizeof dir)
			return hy_error_set(err, ENAMETOOLONG, "cpu.rt_runtime_us: path too long");
		memcpy(dir + mlen, p, n);
		mlen += n;
		dir[mlen] = '\0';
		p += n;
		uint64_t cur = 0;
		int r = cg_read_u64(dir, "cpu.rt_runtime_us", &cur, err);
		if (r < 0)
			return r;
		if ((int64_t)cur < runtime && (r = write_i64(dir, "cpu.rt_runtime_us", runtime, err)) < 0)
			return r;
	}
	return 0;
}

static int apply_cpu(struct hy_cgroup *cg, const struct hy_cpu_resources *c, struct hy_error *err)
{
	int r;
	bool wants_cpu = (c->has_shares && c->shares) || (c->has_quota && c->quota) ||
			 (c->has_period && c->period) || c->has_burst ||
			 (c->has_realtime_runtime && c->realtime_runtime) ||
			 (c->has_realtime_period && c->realtime_period) || c->has_idle;
	const char *dir = v1_dir(cg, CG_CPU);
	if (wants_cpu && !dir && !served_by_v2(cg, CG_CPU))
		return missing(err, "cpu", CG_CPU);
	if (wants_cpu && dir) {
		if (c->has_shares && c->shares &&
		    (r = cg_writef(dir, "cpu.shares", err, "%" PRIu64, c->shares)) < 0)
			return r;
		if (c->has_period && c->period &&
		    (r = cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, c->period)) < 0)
			return r;
		if (c->has_quota && c->quota &&
		    (r = write_i64(dir, "cpu.cfs_quota_us", c->quota, err)) < 0)
			return r;
		if (c->has_burst &&
		    (r = cg_writef(dir, "cpu.cfs_burst_us", err, "%" PRIu64, c->burst)) < 0)
			return r;
		/* The rt period bounds the runtime: period first. */
		if (c->has_realtime_period && c->realtime_period &&
		    (r = cg_writef(dir, "cpu.rt_period_us", err, "%" PRIu64, c->realtime_period)) <
			    0)
			return r;
		if (c->has_realtime_runtime && c->realtime_runtime > 0 &&
		    (r = rt_runtime_ancestors(cg_hier_for(cg, CG_CPU), c->realtime_runtime, err)) < 0)
			return r;
		if (c->has_realtime_runtime && c->realtime_runtime &&
		    (r = write_i64(dir, "cpu.rt_runtime_us", c->realtime_runtime, err)) < 0)
			return r;
		if (c->has_idle && (r = write_i64(dir, "cpu.idle", c->idle, err)) < 0)
			return r;
	}
	if (!c->cpus && !c->mems)
		return 0;
	const char *cs = v1_dir(cg, CG_CPUSET);
	if (!cs)
		return served_by_v2(cg, CG_CPUSET) ? 0 : missing(err, "cpu.cpus", CG_CPUSET);
	/* mems first: a cpuset change is refused while the other list is empty, never the
	 * reverse; both lists were inherited at create, so either order works afterwards. */
	if (c->mems && (r = cg_write(cs, "cpuset.mems", c->mems, err)) < 0)
		return r;
	if (c->cpus && (r = cg_write(cs, "cpuset.cpus", c->cpus, err)) < 0)
		return r;
	return 0;
}

static int apply_pids(struct hy_cgroup *cg, const struct hy_resources *res, struct hy_error *err)
{
	if (!res->has_pids_limit || res->pids_limit == 0)
		return 0;
	const char *dir = v1_dir(cg, CG_PIDS);
	if (!dir)
		return served_by_v2(cg, CG_PIDS) ? 0 : missing(err, "pids.limit", CG_PIDS);
	if (res->pids_limit < 0)
		return cg_write(dir, "pids.max", "max", err);
	return write_i64(dir, "pids.max", res->pids_limit, err);
}

static int write_throttle(const char *dir, const char *file, const struct hy_throttle_list *l,
			  struct hy_error *err)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = cg_writef(dir, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, l->v[i].major,
				  l->v[i].minor, l->v[i].rate);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_blkio(struct hy_cgroup *cg, const struct hy_blkio_resources *b,
		       struct hy_error *err)
{
	const char *dir = v1_dir(cg, CG_BLKIO);
	if (!dir)
		return served_by_v2(cg, CG_BLKIO) ? 0 : missing(err, "blockIO", CG_BLKIO);
	/* CFQ's blkio.weight is gone with the legacy block layer; BFQ offers blkio.bfq.weight. */
	const char *weight = cg_file_exists(dir, "blkio.weight") ? "blkio.weight"
								  : "blkio.bfq.weight";
	const char *weight_dev = cg_file_exists(dir, "blkio.weight_device")
					 ? "blkio.weight_device"
					 : "blkio.bfq.weight_device";
	int r;
	bool any_weight = b->has_weight || b->has_leaf_weight;
	for (size_t i = 0; i < b->n_weight_devices; i++)
		any_weight = any_weight || b->weight_devices[i].has_weight;
	if (any_weight && !cg_file_exists(dir, weight))
		return hy_error_set(err, ENOTSUP,
				    "blockIO.weight: %s has neither blkio.weight nor blkio.bfq.weight "
				    "(no CFQ or BFQ I/O scheduler on this host)",
				    dir);
	if (b->has_weight && (r = cg_writef(dir, weight, err, "%u", b->weight)) < 0)
		return r;
	if (b->has_leaf_weight && (r = cg_writef(dir, "blkio.leaf_weight", err, "%u",
						  b->leaf_weight)) < 0)
		return r;
	for (size_t i = 0; i < b->n_weight_devices; i++) {
		const struct hy_weight_device *w = &b->weight_devices[i];
		if (w->has_weight &&
		    (r = cg_writef(dir, weight_dev, err, "%" PRId64 ":%" PRId64 " %u", w->major,
				   w->minor, w->weight)) < 0)
			return r;
		if (w->has_leaf_weight &&
		    (r = cg_writef(dir, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %u",
				   w->major, w->minor, w->leaf_weight)) < 0)
			return r;
	}
	if ((r = write_throttle(dir, "blkio.throttle.read_bps_device", &b->read_bps, err)) < 0 ||
	    (r = write_throttle(dir, "blkio.throttle.write_bps_device", &b->write_bps, err)) < 0 ||
	    (r = write_throttle(dir, "blkio.throttle.read_iops_device", &b->read_iops, err)) < 0 ||
	    (r = write_throttle(dir, "blkio.throttle.write_iops_device", &b->write_iops, err)) < 0)
		return r;
	return 0;
}

static int apply_hugetlb(struct hy_cgroup *cg, const struct hy_resources *res,
			 struct hy_error *err)
{
	if (!res->n_hugepage_limits)
		return 0;
	const char *dir = v1_dir(cg, CG_HUGETLB);
	if (!dir)
		return served_by_v2(cg, CG_HUGETLB) ? 0 : missing(err, "hugepageLimits", CG_HUGETLB);
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		char file[64];
		snprintf(file, sizeof file, "hugetlb.%s.limit_in_bytes",
			 res->hugepage_limits[i].page_size);
		int r = cg_writef(dir, file, err, "%" PRIu64, res->hugepage_limits[i].limit);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_network(struct hy_cgroup *cg, const struct hy_resources *res,
			 struct hy_error *err)
{
	int r;
	if (res->has_class_id) {
		const char *dir = v1_dir(cg, CG_NET_CLS);
		if (!dir)
			return missing(err, "network.classID", CG_NET_CLS);
		if ((r = cg_writef(dir, "net_cls.classid", err, "%u", res->class_id)) < 0)
			return r;
	}
	if (res->n_net_priorities) {
		const char *dir = v1_dir(cg, CG_NET_PRIO);
		if (!dir)
			return missing(err, "network.priorities", CG_NET_PRIO);
		for (size_t i = 0; i < res->n_net_priorities; i++)
			if ((r = cg_writef(dir, "net_prio.ifpriomap", err, "%s %u",
					   res->net_priorities[i].name,
					   res->net_priorities[i].priority)) < 0)
				return r;
	}
	return 0;
}

/* rdma.max takes the same "dev hca_handle=N hca_object=M" line on v1 and v2. */
int cg_write_rdma(const char *dir, const struct hy_resources *res, struct hy_error *err)
{
	for (size_t i = 0; i < res->n_rdma; i++) {
		const struct hy_rdma_limit *l = &res->rdma[i];
		char handles[32] = "max", objects[32] = "max";
		if (l->has_hca_handles)
			snprintf(handles, sizeof handles, "%u", l->hca_handles);
		if (l->has_hca_objects)
			snprintf(objects, sizeof objects, "%u", l->hca_objects);
		int r = cg_writef(dir, "rdma.max", err, "%s hca_handle=%s hca_object=%s", l->device,
				  handles, objects);
		if (r < 0)
			return r;
	}
	return 0;
}

static void format_rule(const struct hy_device_rule *d, char *buf, size_t size)
{
	char major[24] = "*", minor[24] = "*";
	if (d->major >= 0)
		snprintf(major, sizeof major, "%" PRId64, d->major);
	if (d->minor >= 0)
		snprintf(minor, sizeof minor, "%" PRId64, d->minor);
	if (d->type == 'a')
		snprintf(buf, size, "a *:* %s", d->access[0] ? d->access : "rwm");
	else
		snprintf(buf, size, "%c %s:%s %s", d->type, major, minor,
			 d->access[0] ? d->access : "rwm");
}

static int apply_devices(struct hy_cgroup *cg, const struct hy_resources *res,
			 struct hy_error *err)
{
	if (!res->has_devices)
		return 0;
	const char *dir = v1_dir(cg, CG_DEVICES);
	if (!dir)
		return 0; /* cgroup2: an eBPF program (apply_v2.c) */
	/* Start from nothing, then the rules in order (a later rule overrides an earlier one),
	 * then what every container needs. */
	int r = cg_write(dir, "devices.deny", "a", err);
	if (r < 0)
		return r;
	size_t n_def;
	const struct hy_device_rule *def = cg_default_device_rules(&n_def);
	for (size_t i = 0; i < res->n_devices + n_def; i++) {
		const struct hy_device_rule *d =
			i < res->n_devices ? &res->devices[i] : &def[i - res->n_devices];
		char line[96];
		format_rule(d, line, sizeof line);
		if ((r = cg_write(dir, d->allow ? "devices.allow" : "devices.deny", line, err)) < 0)
			return r;
	}
	return 0;
}

int cg_apply_v1(struct hy_cgroup *cg, const struct hy_resources *res, struct hy_error *err)
{
	int r = 0;
	if ((res->has_memory && (r = apply_memory(cg, &res->memory, err)) < 0) ||
	    (res->has_cpu && (r = apply_cpu(cg, &res->cpu, err)) < 0) ||
	    (r = apply_pids(cg, res, err)) < 0 ||
	    (res->has_blkio && (r = apply_blkio(cg, &res->blkio, err)) < 0) ||
	    (r = apply_hugetlb(cg, res, err)) < 0 || (r = apply_network(cg, res, err)) < 0 ||
	    (r = apply_devices(cg, res, err)) < 0)
		return r;
	if (res->n_rdma) {
		const char *dir = v1_dir(cg, CG_RDMA);
		if (dir)
			return cg_write_rdma(dir, res, err);
		if (!served_by_v2(cg, CG_RDMA))
			return missing(err, "rdma", CG_RDMA);
	}
	return 0;
}
