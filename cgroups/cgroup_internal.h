/* What the files of cgroups/ share: the hierarchy model behind struct hy_cgroup and small file
 * helpers. Not for use outside cgroups/. */
#ifndef HYRUN_CGROUP_INTERNAL_H
#define HYRUN_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"
#include "cgroups/resources.h"

/* Controllers hyrun knows, v1 names; the v2 name differs only for blkio (io). */
enum cg_ctrl {
	CG_CPU,
	CG_CPUACCT,
	CG_CPUSET,
	CG_MEMORY,
	CG_DEVICES,
	CG_FREEZER,
	CG_BLKIO,
	CG_PIDS,
	CG_HUGETLB,
	CG_NET_CLS,
	CG_NET_PRIO,
	CG_RDMA,
	CG_PERF_EVENT,
	CG_MISC,
	CG__COUNT
};

const char *cg_ctrl_name(enum cg_ctrl c);
const char *cg_ctrl_v2_name(enum cg_ctrl c); /* NULL when v2 has no such controller */
int cg_ctrl_from_name(const char *name);     /* -1 when unknown */

/* One mounted hierarchy: a v1 mount (one or several co-mounted controllers) or the unified one. */
struct cg_hier {
	char *key;      /* first controller name, or "unified": names the hierarchy in state paths */
	char *mount;    /* /sys/fs/cgroup/memory */
	char *path;     /* the container's cgroup inside it: /hyrun/<id> */
	char *dir;      /* mount + path */
	bool v2;
	uint32_t ctrls; /* bit (1 << enum cg_ctrl) for each controller this hierarchy serves */
	char *created_top; /* create: highest directory this create made (rollback removes up to it) */
};

struct hy_cgroup {
	enum cgroup_layout layout;
	struct cg_hier *h;
	size_t n;
	char *state_path;
};

#define CG_BIT(c) (1u << (c))

/* Discovers the hierarchies of this host: the v1 mounts from libcgroup (use_libcgroup) or from
 * /proc/self/mountinfo (mountinfo.c says why), cgroup2 with statfs. */
int cg_discover(struct hy_cgroup *cg, bool use_libcgroup, struct hy_error *err);

/* The hierarchy serving controller c, NULL when none does. v1 mounts win over the unified one. */
struct cg_hier *cg_hier_for(struct hy_cgroup *cg, enum cg_ctrl c);
struct cg_hier *cg_unified(struct hy_cgroup *cg);
/* The directory of the hierarchy serving c (NULL when none). */
const char *cg_dir_for(struct hy_cgroup *cg, enum cg_ctrl c);

/* "/a/b" made safe: collapses '/' runs, drops "." parts; refuses "..", control characters. */
int cg_normalize_path(const char *in, char **out, struct hy_error *err);
/* The caller's own cgroup in hierarchy h (from /proc/self/cgroup). */
int cg_own_path(const struct cg_hier *h, char **out, struct hy_error *err);
/* --systemd-cgroup: "slice:prefix:name" -> "/a.slice/a-b.slice/prefix-name.scope"; refuses when
 * systemd is not running. _build is the pure path computation. */
int cg_systemd_path(const char *spec, const char *id, char **out, struct hy_error *err);
int cg_systemd_path_build(const char *spec, const char *id, char **out, struct hy_error *err);
int cg_state_path_encode(struct hy_cgroup *cg, struct hy_error *err);
int cg_state_path_decode(struct hy_cgroup *cg, const char *state_path, struct hy_error *err);

/* File helpers: dir/name; errors name the full path. */
int cg_write(const char *dir, const char *name, const char *value, struct hy_error *err);
int cg_writef(const char *dir, const char *name, struct hy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Reads at most size-1 bytes; trailing newline kept. */
int cg_read(const char *dir, const char *name, char *buf, size_t size, struct hy_error *err);
/* Reads a whole file into a heap buffer (for stat files). */
int cg_read_all(const char *dir, const char *name, char **out, struct hy_error *err);
int cg_read_u64(const char *dir, const char *name, uint64_t *out, struct hy_error *err);
bool cg_file_exists(const char *dir, const char *name);
/* "key value" lines (memory.stat, cpu.stat, cgroup.events): the value for key. */
int cg_keyed_u64(const char *text, const char *key, uint64_t *out);

int cg_apply_v1(struct hy_cgroup *cg, const struct hy_resources *res, struct hy_error *err);
int cg_apply_v2(struct hy_cgroup *cg, const struct hy_resources *res, struct hy_error *err);
/* rdma.max lines, the same on v1 and v2. */
int cg_write_rdma(const char *dir, const struct hy_resources *res, struct hy_error *err);

/* The device rules hyrun adds after the config's own: what every container needs (/dev/null,
 * ptys, ...), as runc and crun add them. */
const struct hy_device_rule *cg_default_device_rules(size_t *n);
/* v2: loads an eBPF device program for rules (then the defaults) and attaches it to dir. */
int cg_devices_bpf_apply(const char *dir, const struct hy_device_rule *rules, size_t n,
			 struct hy_error *err);

#endif
