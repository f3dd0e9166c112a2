/* cgroup statistics as runc's `events --stats` data object (libcontainer's cgroups.Stats JSON):
 * {"cpu":{"usage":{...},"throttling":{...}},"memory":{...},"pids":{...},"blkio":{...},
 *  "hugetlb":{...}}. Controllers a host lacks are reported as zeros, as runc does. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cgroups/cgroup_internal.h"

static void key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void u64(yajl_gen g, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
	yajl_gen_number(g, buf, (size_t)n);
}

static void kv(yajl_gen g, const char *k, uint64_t v)
{
	key(g, k);
	u64(g, v);
}

/* A u64 file; 0 when absent. "max" (unlimited) is reported as 0 like runc's pids.limit. */
static uint64_t read_or_zero(const char *dir, const char *file, bool max_is_zero)
{
	uint64_t v = 0;
	struct hy_error ignored = {0};
	if (!dir || cg_read_u64(dir, file, &v, &ignored) < 0)
		return 0;
	return (v == UINT64_MAX && max_is_zero) ? 0 : v;
}

static char *read_text(const char *dir, const char *file)
{
	char *s = NULL;
	struct hy_error ignored = {0};
	if (!dir || cg_read_all(dir, file, &s, &ignored) < 0)
		return NULL;
	return s;
}

static void u64_list(yajl_gen g, const char *k, const char *text)
{
	key(g, k);
	yajl_gen_array_open(g);
	for (const char *p = text; p && *p;) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			break;
		u64(g, v);
		p = end + strspn(end, " \n");
	}
	yajl_gen_array_close(g);
}

static void cpu_stats(yajl_gen g, struct hy_cgroup *cg)
{
	struct cg_hier *h = cg_hier_for(cg, CG_CPU);
	key(g, "cpu");
	yajl_gen_map_open(g);
	key(g, "usage");
	yajl_gen_map_open(g);
	uint64_t periods = 0, throttled = 0, throttled_ns = 0;
	if (h && h->v2) {
		char *st = read_text(h->dir, "cpu.stat");
		uint64_t usage = 0, user = 0, sys = 0;
		cg_keyed_u64(st ? st : "", "usage_usec", &usage);
		cg_keyed_u64(st ? st : "", "user_usec", &user);
		cg_keyed_u64(st ? st : "", "system_usec", &sys);
		cg_keyed_u64(st ? st : "", "nr_periods", &periods);
		cg_keyed_u64(st ? st : "", "nr_throttled", &throttled);
		cg_keyed_u64(st ? st : "", "throttled_usec", &throttled_ns);
		throttled_ns *= 1000;
		free(st);
		kv(g, "total", usage * 1000);
		kv(g, "kernel", sys * 1000);
		kv(g, "user", user * 1000);
	} else {
		const char *acct = cg_dir_for(cg, CG_CPUACCT);
		kv(g, "total", read_or_zero(acct, "cpuacct.usage", false));
		char *pc = read_text(acct, "cpuacct.usage_percpu");
		u64_list(g, "percpu", pc);
		free(pc);
		pc = read_text(acct, "cpuacct.usage_percpu_sys");
		u64_list(g, "percpu_kernel", pc);
		free(pc);
		pc = read_text(acct, "cpuacct.usage_percpu_user");
		u64_list(g, "percpu_user", pc);
		free(pc);
		/* cpuacct.usage_sys/_user are in ns (cpuacct.stat would be in USER_HZ ticks). */
		kv(g, "kernel", read_or_zero(acct, "cpuacct.usage_sys", false));
		kv(g, "user", read_or_zero(acct, "cpuacct.usage_user", false));
		char *st = h ? read_text(h->dir, "cpu.stat") : NULL;
		cg_keyed_u64(st ? st : "", "nr_periods", &periods);
		cg_keyed_u64(st ? st : "", "nr_throttled", &throttled);
		cg_keyed_u64(st ? st : "", "throttled_time", &throttled_ns);
		free(st);
	}
	yajl_gen_map_close(g);
	key(g, "throttling");
	yajl_gen_map_open(g);
	kv(g, "periods", periods);
	kv(g, "throttled_periods", throttled);
	kv(g, "throttled_time", throttled_ns);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void mem_entry(yajl_gen g, const char *k, const char *dir, const char *usage,
		      const char *max, const char *limit, const char *failcnt)
{
	key(g, k);
	yajl_gen_map_open(g);
	kv(g, "limit", read_or_zero(dir, limit, false));
	kv(g, "usage", read_or_zero(dir, usage, false));
	if (max)
		kv(g, "max", read_or_zero(dir, max, false));
	kv(g, "failcnt", failcnt ? read_or_zero(dir, failcnt, false) : 0);
	yajl_gen_map_close(g);
}

/* memory.stat as the "raw" map; returns one of its values for the "cache" field. */
static uint64_t raw_stats(yajl_gen g, const char *dir, const char *cache_key)
{
	uint64_t cache = 0;
	char *st = read_text(dir, "memory.stat");
	key(g, "raw");
	yajl_gen_map_open(g);
	for (char *save = NULL, *line = st ? strtok_r(st, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		uint64_t v = strtoull(sp + 1, NULL, 10);
		kv(g, line, v);
		if (!strcmp(line, cache_key))
			cache = v;
	}
	yajl_gen_map_close(g);
	free(st);
	return cache;
}

static void memory_stats(yajl_gen g, struct hy_cgroup *cg)
{
	struct cg_hier *h = cg_hier_for(cg, CG_MEMORY);
	const char *dir = h ? h->dir : NULL;
	key(g, "memory");
	yajl_gen_map_open(g);
	uint64_t cache;
	if (h && h->v2) {
		cache = raw_stats(g, dir, "file");
		mem_entry(g, "usage", dir, "memory.current", "memory.peak", "memory.max", NULL);
		mem_entry(g, "swap", dir, "memory.swap.current", "memory.swap.peak",
			  "memory.swap.max", NULL);
	} else {
		cache = raw_stats(g, dir, "cache");
		mem_entry(g, "usage", dir, "memory.usage_in_bytes", "memory.max_usage_in_bytes",
			  "memory.limit_in_bytes", "memory.failcnt");
		mem_entry(g, "swap", dir, "memory.memsw.usage_in_bytes",
			  "memory.memsw.max_usage_in_bytes", "memory.memsw.limit_in_bytes",
			  "memory.memsw.failcnt");
		mem_entry(g, "kernel", dir, "memory.kmem.usage_in_bytes",
			  "memory.kmem.max_usage_in_bytes", "memory.kmem.limit_in_bytes",
			  "memory.kmem.failcnt");
		mem_entry(g, "kernelTCP", dir, "memory.kmem.tcp.usage_in_bytes",
			  "memory.kmem.tcp.max_usage_in_bytes", "memory.kmem.tcp.limit_in_bytes",
			  "memory.kmem.tcp.failcnt");
	}
	kv(g, "cache", cache);
	yajl_gen_map_close(g);
}

static void pids_stats(yajl_gen g, struct hy_cgroup *cg)
{
	const char *dir = cg_dir_for(cg, CG_PIDS);
	key(g, "pids");
	yajl_gen_map_open(g);
	kv(g, "current", read_or_zero(dir, "pids.current", false));
	kv(g, "limit", read_or_zero(dir, "pids.max", true));
	yajl_gen_map_close(g);
}

static void blkio_entry(yajl_gen g, unsigned major, unsigned minor, const char *op, uint64_t v)
{
	yajl_gen_map_open(g);
	kv(g, "major", major);
	kv(g, "minor", minor);
	key(g, "op");
	yajl_gen_string(g, (const unsigned char *)op, strlen(op));
	kv(g, "value", v);
	yajl_gen_map_close(g);
}

/* v1 "8:0 Read 4096" lines (the trailing "Total N" line has no device and is skipped). */
static void v1_blkio_list(yajl_gen g, const char *k, const char *dir, const char *file)
{
	char *text = read_text(dir, file);
	key(g, k);
	yajl_gen_array_open(g);
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		char op[16];
		unsigned long long v;
		if (sscanf(line, "%u:%u %15s %llu", &major, &minor, op, &v) == 4)
			blkio_entry(g, major, minor, op, v);
	}
	yajl_gen_array_close(g);
	free(text);
}

/* v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." -> runc's two lists. */
static void v2_blkio_list(yajl_gen g, const char *k, const char *dir, const char *rkey,
			  const char *wkey)
{
	char *text = read_text(dir, "io.stat");
	key(g, k);
	yajl_gen_array_open(g);
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		if (sscanf(line, "%u:%u", &major, &minor) != 2)
			continue;
		uint64_t r = 0, w = 0;
		char *p;
		if ((p = strstr(line, rkey)))
			r = strtoull(p + strlen(rkey), NULL, 10);
		if ((p = strstr(line, wkey)))
			w = strtoull(p + strlen(wkey), NULL, 10);
		blkio_entry(g, major, minor, "Read", r);
		blkio_entry(g, major, minor, "Write", w);
		blkio_entry(g, major, minor, "Total", r + w);
	}
	yajl_gen_array_close(g);
	free(text);
}

static void blkio_stats(yajl_gen g, struct hy_cgroup *cg)
{
	struct cg_hier *h = cg_hier_for(cg, CG_BLKIO);
	key(g, "blkio");
	yajl_gen_map_open(g);
	if (h && h->v2) {
		v2_blkio_list(g, "ioServiceBytesRecursive", h->dir, " rbytes=", " wbytes=");
		v2_blkio_list(g, "ioServicedRecursive", h->dir, " rios=", " wios=");
	} else {
		const char *dir = h ? h->dir : NULL;
		/* The throttle files count every I/O; the CFQ/BFQ ones only under that scheduler. */
		v1_blkio_list(g, "ioServiceBytesRecursive", dir,
			      "blkio.throttle.io_service_bytes_recursive");
		v1_blkio_list(g, "ioServicedRecursive", dir, "blkio.throttle.io_serviced_recursive");
	}
	yajl_gen_map_close(g);
}

static void hugetlb_stats(yajl_gen g, struct hy_cgroup *cg)
{
	struct cg_hier *h = cg_hier_for(cg, CG_HUGETLB);
	key(g, "hugetlb");
	yajl_gen_map_open(g);
	DIR *d = h ? opendir(h->dir) : NULL;
	const char *suffix = h && h->v2 ? ".current" : ".usage_in_bytes";
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(suffix);
		/* hugetlb.<size>.current, but not hugetlb.<size>.rsvd.current */
		if (strncmp(de->d_name, "hugetlb.", 8) || len <= 8 + sl ||
		    strcmp(de->d_name + len - sl, suffix) || strstr(de->d_name, ".rsvd."))
			continue;
		char size[32], file[96];
		snprintf(size, sizeof size, "%.*s", (int)(len - 8 - sl), de->d_name + 8);
		key(g, size);
		yajl_gen_map_open(g);
		kv(g, "usage", read_or_zero(h->dir, de->d_name, false));
		if (h->v2) {
			snprintf(file, sizeof file, "hugetlb.%s.events", size);
			char *ev = read_text(h->dir, file);
			uint64_t fails = 0;
			cg_keyed_u64(ev ? ev : "", "max", &fails);
			free(ev);
			kv(g, "max", 0); /* v2 keeps no high-water mark */
			kv(g, "failcnt", fails);
		} else {
			snprintf(file, sizeof file, "hugetlb.%s.max_usage_in_bytes", size);
			kv(g, "max", read_or_zero(h->dir, file, false));
			snprintf(file, sizeof file, "hugetlb.%s.failcnt", size);
			kv(g, "failcnt", read_or_zero(h->dir, file, false));
		}
		yajl_gen_map_close(g);
	}
	if (d)
		closedir(d);
	yajl_gen_map_close(g);
}

int cgroup_stats_json(struct hy_cgroup *cg, char **json, struct hy_error *err)
{
	*json = NULL;
	/* A removed cgroup would silently read as zeros: say so instead. */
	if (cg->n && access(cg->h[0].dir, F_OK) < 0)
		return hy_error_errno(err, errno, "stats: cgroup %s", cg->h[0].dir);
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return hy_error_set(err, ENOMEM, "stats: out of memory");
	yajl_gen_map_open(g);
	cpu_stats(g, cg);
	memory_stats(g, cg);
	pids_stats(g, cg);
	blkio_stats(g, cg);
	hugetlb_stats(g, cg);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	int r = 0;
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok || !(*json = strndup((const char *)buf, len)))
		r = hy_error_set(err, ENOMEM, "stats: JSON generation failed");
	yajl_gen_free(g);
	return r;
}
