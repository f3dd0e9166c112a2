/* The OCI linux.resources model (config-linux.md "Control groups"), parsed from config.json, from
 * `update -r FILE` or built from `update` flags. Every optional scalar carries a has_* flag so that
 * `update` can change exactly what was given and nothing else. */
#ifndef HYRUN_CGROUPS_RESOURCES_H
#define HYRUN_CGROUPS_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "runtime/error.h"

struct hy_memory_resources {
	/* Byte counts; -1 means unlimited (as in the spec). */
	bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp;
	int64_t limit, reservation, swap, kernel, kernel_tcp;
	bool has_swappiness;
	uint64_t swappiness; /* 0..100 */
	bool has_disable_oom_killer, disable_oom_killer;
	bool has_use_hierarchy, use_hierarchy;
	bool has_check_before_update, check_before_update;
};

struct hy_cpu_resources {
	bool has_shares, has_quota, has_burst, has_period;
	uint64_t shares;
	int64_t quota; /* -1 = no limit */
	uint64_t burst;
	uint64_t period;
	bool has_realtime_runtime, has_realtime_period;
	int64_t realtime_runtime;
	uint64_t realtime_period;
	char *cpus; /* cpuset list "0-3,5"; NULL when absent */
	char *mems;
	bool has_idle;
	int64_t idle; /* 0 or 1 */
};

struct hy_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct hy_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct hy_throttle_list {
	struct hy_throttle_device *v;
	size_t n;
};

struct hy_blkio_resources {
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight; /* 10..1000 (0 = unset in the spec's Go types) */
	struct hy_weight_device *weight_devices;
	size_t n_weight_devices;
	struct hy_throttle_list read_bps, write_bps, read_iops, write_iops;
};

struct hy_hugepage_limit {
	char *page_size; /* "2MB", "1GB", ... as in hugetlb.<size>.limit_in_bytes */
	uint64_t limit;
};

struct hy_net_priority {
	char *name; /* interface */
	uint32_t priority;
};

struct hy_rdma_limit {
	char *device;
	bool has_hca_handles, has_hca_objects;
	uint32_t hca_handles, hca_objects;
};

struct hy_device_rule {
	bool allow;
	char type;             /* 'a', 'c' or 'b' */
	int64_t major, minor;  /* -1 = any ("*") */
	char access[4];        /* subset of "rwm", "" = all */
};

struct hy_unified_entry {
	char *key; /* "memory.high": a v2 interface file, validated by cgroup_unified_key_valid */
	char *value;
};

struct hy_resources {
	bool has_memory;
	struct hy_memory_resources memory;
	bool has_cpu;
	struct hy_cpu_resources cpu;
	bool has_pids_limit;
	int64_t pids_limit; /* -1 or 0 = unlimited (the spec says <= 0 means max) */
	bool has_blkio;
	struct hy_blkio_resources blkio;
	struct hy_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	bool has_network;
	bool has_class_id;
	uint32_t class_id;
	struct hy_net_priority *net_priorities;
	size_t n_net_priorities;
	struct hy_rdma_limit *rdma;
	size_t n_rdma;
	struct hy_unified_entry *unified;
	size_t n_unified;
	bool has_devices; /* the list was given (an empty list is meaningful: no rule) */
	struct hy_device_rule *devices;
	size_t n_devices;
};

/* Parses a linux.resources object. `file` names the source in messages ("config.json") and
 * json_path is the object's own path ("linux.resources", or "" for an update -r file), giving
 * errors like "config.json: linux.resources.memory.limit: expected integer". */
int cgroup_resources_parse(yajl_val node, const char *file, const char *json_path,
			   struct hy_resources **out, struct hy_error *err);

/* Reads a whole resources JSON file ("-" = stdin), as `update -r` takes it. */
int cgroup_resources_parse_file(const char *path, struct hy_resources **out, struct hy_error *err);

void cgroup_resources_free(struct hy_resources *r);

/* --- conversions shared by the v2 writers and the tests ---------------------------------- */

/* v1 cpu.shares [2..262144] -> v2 cpu.weight [1..10000], the formula crun and runc use. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
/* v1 blkio.weight [10..1000] -> v2 io.weight [1..10000] (crun's linear map). */
uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight);
/* v1 memsw (memory+swap) -> v2 memory.swap.max (swap only). Returns -1 for "max". */
int cgroup_memsw_to_swap_max(int64_t memsw, int64_t limit, int64_t *swap_max, struct hy_error *err);

/* A memory size as `update` flags take it: "1024", "512k", "64m", "2g" (also kb/mb/gb, -1).
 * Errors name `what` (the flag). */
int cgroup_parse_size(const char *s, const char *what, int64_t *out, struct hy_error *err);

/* Validates a unified key such as "memory.high": controller.file, no '/', no "..", and not one of
 * the cgroup core files that would let a config move processes or change the tree. */
int cgroup_unified_key_valid(const char *key, struct hy_error *err);

#endif
