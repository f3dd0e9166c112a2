/* linux.resources -> struct hy_resources. Every value is range-checked here so that the writers
 * only ever see numbers and strings that are safe to put into a cgroup file. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/resources.h"
#include "runtime/json.h"

#define PATH_BUF 512

/* Formats through vsnprintf: a path longer than the buffer is cut, which only shortens a message. */
static void fmt_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fmt_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* "path.key", or "key" for a top-level object (update -r FILE). */
static void sub_path(char *buf, size_t size, const char *path, const char *key)
{
	if (path && *path)
		fmt_path(buf, size, "%s.%s", path, key);
	else
		fmt_path(buf, size, "%s", key);
}

static void index_path(char *buf, size_t size, const char *base, size_t i)
{
	fmt_path(buf, size, "%s[%zu]", base, i);
}

static int range_error(struct hy_error *err, const char *file, const char *path, const char *key,
		       const char *what)
{
	char p[PATH_BUF];
	sub_path(p, sizeof p, path, key);
	return hy_error_set(err, EINVAL, "%s: %s: expected %s", file, p, what);
}

static int oom(struct hy_error *err, const char *file)
{
	return hy_error_set(err, ENOMEM, "%s: out of memory", file);
}

/* An int64 that is -1 (unlimited) or >= 0. */
static int get_limit(yajl_val obj, const char *key, const char *file, const char *path,
		     int64_t *out, bool *has, struct hy_error *err)
{
	int r = json_get_i64(obj, key, file, path, out, has, err);
	if (r < 0)
		return r;
	if (*has && *out < -1)
		return range_error(err, file, path, key, "-1 (unlimited) or a non-negative integer");
	return 0;
}

static int get_u32(yajl_val obj, const char *key, const char *file, const char *path,
		   uint32_t *out, bool *has, struct hy_error *err)
{
	uint64_t v = 0;
	int r = json_get_u64(obj, key, file, path, UINT32_MAX, &v, has, err);
	if (r == 0 && *has)
		*out = (uint32_t)v;
	return r;
}

/* blkio weights: 0 means "unset" in the Go types every engine generates; otherwise 10..1000. */
static int get_weight(yajl_val obj, const char *key, const char *file, const char *path,
		      uint16_t *out, bool *has, struct hy_error *err)
{
	uint64_t v = 0;
	int r = json_get_u64(obj, key, file, path, 1000, &v, has, err);
	if (r < 0)
		return r;
	if (*has && v != 0 && v < 10)
		return range_error(err, file, path, key, "integer between 10 and 1000");
	*has = *has && v != 0;
	*out = (uint16_t)v;
	return 0;
}

static int expect_object(yajl_val v, const char *file, const char *path, const char *key,
			 struct hy_error *err)
{
	if (YAJL_IS_OBJECT(v))
		return 0;
	return range_error(err, file, path, key, "object");
}

static int expect_array(yajl_val v, const char *file, const char *path, const char *key,
			struct hy_error *err)
{
	if (YAJL_IS_ARRAY(v))
		return 0;
	return range_error(err, file, path, key, "array");
}

/* A cpuset list: digits, ',' and '-' only, as cpuset.cpus / cpuset.mems take it. */
static int get_cpuset(yajl_val obj, const char *key, const char *file, const char *path,
		      char **out, struct hy_error *err)
{
	int r = json_get_string(obj, key, file, path, out, err);
	if (r < 0 || !*out)
		return r;
	size_t len = strlen(*out);
	bool ok = len <= 4096;
	for (const char *c = *out; ok && *c; c++)
		ok = (*c >= '0' && *c <= '9') || *c == ',' || *c == '-';
	if (!ok)
		return range_error(err, file, path, key, "a cpu/node list such as \"0-3,5\"");
	if (len == 0) { /* "" means unset, as in runc */
		free(*out);
		*out = NULL;
	}
	return 0;
}

static int parse_memory(yajl_val m, const char *file, const char *path,
			struct hy_memory_resources *mem, struct hy_error *err)
{
	int r;
	if ((r = get_limit(m, "limit", file, path, &mem->limit, &mem->has_limit, err)) < 0 ||
	    (r = get_limit(m, "reservation", file, path, &mem->reservation, &mem->has_reservation,
			   err)) < 0 ||
	    (r = get_limit(m, "swap", file, path, &mem->swap, &mem->has_swap, err)) < 0 ||
	    (r = get_limit(m, "kernel", file, path, &mem->kernel, &mem->has_kernel, err)) < 0 ||
	    (r = get_limit(m, "kernelTCP", file, path, &mem->kernel_tcp, &mem->has_kernel_tcp,
			   err)) < 0)
		return r;
	if ((r = json_get_u64(m, "swappiness", file, path, 100, &mem->swappiness,
			      &mem->has_swappiness, err)) < 0)
		return r;
	if ((r = json_get_bool(m, "disableOOMKiller", file, path, &mem->disable_oom_killer,
			       &mem->has_disable_oom_killer, err)) < 0 ||
	    (r = json_get_bool(m, "useHierarchy", file, path, &mem->use_hierarchy,
			       &mem->has_use_hierarchy, err)) < 0 ||
	    (r = json_get_bool(m, "checkBeforeUpdate", file, path, &mem->check_before_update,
			       &mem->has_check_before_update, err)) < 0)
		return r;
	return 0;
}

static int parse_cpu(yajl_val c, const char *file, const char *path, struct hy_cpu_resources *cpu,
		     struct hy_error *err)
{
	int r;
	if ((r = json_get_u64(c, "shares", file, path, 262144, &cpu->shares, &cpu->has_shares,
			      err)) < 0)
		return r;
	if ((r = get_limit(c, "quota", file, path, &cpu->quota, &cpu->has_quota, err)) < 0)
		return r;
	/* The kernel takes periods of 1 ms .. 1 s; bursts cannot exceed the quota anyway. */
	if ((r = json_get_u64(c, "period", file, path, 1000000, &cpu->period, &cpu->has_period,
			      err)) < 0)
		return r;
	if (cpu->has_period && cpu->period != 0 && cpu->period < 1000)
		return range_error(err, file, path, "period", "integer between 1000 and 1000000");
	if ((r = json_get_u64(c, "burst", file, path, INT64_MAX, &cpu->burst, &cpu->has_burst,
			      err)) < 0)
		return r;
	if ((r = get_limit(c, "realtimeRuntime", file, path, &cpu->realtime_runtime,
			   &cpu->has_realtime_runtime, err)) < 0)
		return r;
	if ((r = json_get_u64(c, "realtimePeriod", file, path, INT64_MAX, &cpu->realtime_period,
			      &cpu->has_realtime_period, err)) < 0)
		return r;
	if ((r = get_cpuset(c, "cpus", file, path, &cpu->cpus, err)) < 0 ||
	    (r = get_cpuset(c, "mems", file, path, &cpu->mems, err)) < 0)
		return r;
	if ((r = json_get_i64(c, "idle", file, path, &cpu->idle, &cpu->has_idle, err)) < 0)
		return r;
	if (cpu->has_idle && cpu->idle != 0 && cpu->idle != 1)
		return range_error(err, file, path, "idle", "0 or 1");
	return 0;
}

static int get_major_minor(yajl_val d, const char *file, const char *path, int64_t *major,
			   int64_t *minor, struct hy_error *err)
{
	bool has_major = false, has_minor = false;
	int r;
	if ((r = json_get_i64(d, "major", file, path, major, &has_major, err)) < 0 ||
	    (r = json_get_i64(d, "minor", file, path, minor, &has_minor, err)) < 0)
		return r;
	if (!has_major || *major < 0 || *major > 0xfffff)
		return range_error(err, file, path, "major", "integer between 0 and 1048575");
	if (!has_minor || *minor < 0 || *minor > 0xfffff)
		return range_error(err, file, path, "minor", "integer between 0 and 1048575");
	return 0;
}

static int parse_throttle(yajl_val blk, const char *key, const char *file, const char *path,
			  struct hy_throttle_list *out, struct hy_error *err)
{
	yajl_val arr = json_get(blk, key);
	if (!arr)
		return 0;
	int r = expect_array(arr, file, path, key, err);
	if (r < 0)
		return r;
	size_t n = arr->u.array.len;
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v)
		return oom(err, file);
	char base[PATH_BUF], p[PATH_BUF];
	sub_path(base, sizeof base, path, key);
	for (size_t i = 0; i < n; i++) {
		yajl_val d = arr->u.array.values[i];
		index_path(p, sizeof p, base, i);
		if (!YAJL_IS_OBJECT(d))
			return hy_error_set(err, EINVAL, "%s: %s: expected object", file, p);
		struct hy_throttle_device *t = &out->v[out->n];
		bool has_rate = false;
		if ((r = get_major_minor(d, file, p, &t->major, &t->minor, err)) < 0)
			return r;
		if ((r = json_get_u64(d, "rate", file, p, UINT64_MAX, &t->rate, &has_rate, err)) < 0)
			return r;
		if (!has_rate)
			return range_error(err, file, p, "rate", "integer (it is required)");
		out->n++;
	}
	return 0;
}

static int parse_blkio(yajl_val b, const char *file, const char *path,
		       struct hy_blkio_resources *blk, struct hy_error *err)
{
	int r;
	if ((r = get_weight(b, "weight", file, path, &blk->weight, &blk->has_weight, err)) < 0 ||
	    (r = get_weight(b, "leafWeight", file, path, &blk->leaf_weight, &blk->has_leaf_weight,
			    err)) < 0)
		return r;
	yajl_val wd = json_get(b, "weightDevice");
	if (wd) {
		if ((r = expect_array(wd, file, path, "weightDevice", err)) < 0)
			return r;
		size_t n = wd->u.array.len;
		blk->weight_devices = calloc(n ? n : 1, sizeof(*blk->weight_devices));
		if (!blk->weight_devices)
			return oom(err, file);
		char base[PATH_BUF], p[PATH_BUF];
		sub_path(base, sizeof base, path, "weightDevice");
		for (size_t i = 0; i < n; i++) {
			yajl_val d = wd->u.array.values[i];
			index_path(p, sizeof p, base, i);
			if (!YAJL_IS_OBJECT(d))
				return hy_error_set(err, EINVAL, "%s: %s: expected object", file, p);
			struct hy_weight_device *w = &blk->weight_devices[blk->n_weight_devices];
			if ((r = get_major_minor(d, file, p, &w->major, &w->minor, err)) < 0 ||
			    (r = get_weight(d, "weight", file, p, &w->weight, &w->has_weight, err)) <
				    0 ||
			    (r = get_weight(d, "leafWeight", file, p, &w->leaf_weight,
					    &w->has_leaf_weight, err)) < 0)
				return r;
			blk->n_weight_devices++;
		}
	}
	if ((r = parse_throttle(b, "throttleReadBpsDevice", file, path, &blk->read_bps, err)) < 0 ||
	    (r = parse_throttle(b, "throttleWriteBpsDevice", file, path, &blk->write_bps, err)) <
		    0 ||
	    (r = parse_throttle(b, "throttleReadIOPSDevice", file, path, &blk->read_iops, err)) <
		    0 ||
	    (r = parse_throttle(b, "throttleWriteIOPSDevice", file, path, &blk->write_iops, err)) <
		    0)
		return r;
	return 0;
}

/* "2MB", "1GB", "64KB": what the kernel names hugetlb.<size>.* files with. */
static bool valid_page_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 10 || s[0] == '0')
		return false;
	return !strcmp(s + digits, "KB") || !strcmp(s + digits, "MB") || !strcmp(s + digits, "GB");
}

static int parse_hugepages(yajl_val arr, const char *file, const char *path,
			   struct hy_resources *res, struct hy_error *err)
{
	int r = expect_array(arr, file, path, "hugepageLimits", err);
	if (r < 0)
		return r;
	size_t n = arr->u.array.len;
	res->hugepage_limits = calloc(n ? n : 1, sizeof(*res->hugepage_limits));
	if (!res->hugepage_limits)
		return oom(err, file);
	char base[PATH_BUF], p[PATH_BUF];
	sub_path(base, sizeof base, path, "hugepageLimits");
	for (size_t i = 0; i < n; i++) {
		yajl_val h = arr->u.array.values[i];
		index_path(p, sizeof p, base, i);
		if (!YAJL_IS_OBJECT(h))
			return hy_error_set(err, EINVAL, "%s: %s: expected object", file, p);
		struct hy_hugepage_limit *l = &res->hugepage_limits[res->n_hugepage_limits];
		res->n_hugepage_limits++; /* counted first so that free() sees the string */
		bool has_limit = false;
		if ((r = json_get_string(h, "pageSize", file, p, &l->page_size, err)) < 0)
			return r;
		if (!l->page_size || !valid_page_size(l->page_size))
			return range_error(err, file, p, "pageSize", "a size such as \"2MB\" or \"1GB\"");
		if ((r = json_get_u64(h, "limit", file, p, UINT64_MAX, &l->limit, &has_limit, err)) <
		    0)
			return r;
		if (!has_limit)
			return range_error(err, file, p, "limit", "integer (it is required)");
	}
	return 0;
}

/* Interface and RDMA device names end up inside a cgroup file line: no spaces, no '/'. */
static bool valid_name(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len == 0 || len > max)
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '/' || *c == '=' || (unsigned char)*c >= 0x7f)
			return false;
	return true;
}

static int parse_network(yajl_val net, const char *file, const char *path,
			 struct hy_resources *res, struct hy_error *err)
{
	int r;
	res->has_network = true;
	if ((r = get_u32(net, "classID", file, path, &res->class_id, &res->has_class_id, err)) < 0)
		return r;
	yajl_val pr = json_get(net, "priorities");
	if (!pr)
		return 0;
	if ((r = expect_array(pr, file, path, "priorities", err)) < 0)
		return r;
	size_t n = pr->u.array.len;
	res->net_priorities = calloc(n ? n : 1, sizeof(*res->net_priorities));
	if (!res->net_priorities)
		return oom(err, file);
	char base[PATH_BUF], p[PATH_BUF];
	sub_path(base, sizeof base, path, "priorities");
	for (size_t i = 0; i < n; i++) {
		yajl_val e = pr->u.array.values[i];
		index_path(p, sizeof p, base, i);
		if (!YAJL_IS_OBJECT(e))
			return hy_error_set(err, EINVAL, "%s: %s: expected object", file, p);
		struct hy_net_priority *np = &res->net_priorities[res->n_net_priorities++];
		bool has = false;
		if ((r = json_get_string(e, "name", file, p, &np->name, err)) < 0)
			return r;
		if (!np->name || !valid_name(np->name, 15))
			return range_error(err, file, p, "name", "an interface name");
		if ((r = get_u32(e, "priority", file, p, &np->priority, &has, err)) < 0)
			return r;
		if (!has)
			return range_error(err, file, p, "priority", "integer (it is required)");
	}
	return 0;
}

static int parse_rdma(yajl_val obj, const char *file, const char *path, struct hy_resources *res,
		      struct hy_error *err)
{
	int r = expect_object(obj, file, path, "rdma", err);
	if (r < 0)
		return r;
	size_t n = obj->u.object.len;
	res->rdma = calloc(n ? n : 1, sizeof(*res->rdma));
	if (!res->rdma)
		return oom(err, file);
	char base[PATH_BUF], p[PATH_BUF];
	sub_path(base, sizeof base, path, "rdma");
	for (size_t i = 0; i < n; i++) {
		const char *dev = obj->u.object.keys[i];
		yajl_val e = obj->u.object.values[i];
		sub_path(p, sizeof p, base, dev);
		if (!valid_name(dev, 64))
			return hy_error_set(err, EINVAL, "%s: %s: invalid RDMA device name", file, p);
		if (!YAJL_IS_OBJECT(e))
			return hy_error_set(err, EINVAL, "%s: %s: expected object", file, p);
		struct hy_rdma_limit *l = &res->rdma[res->n_rdma++];
		if (!(l->device = strdup(dev)))
			return oom(err, file);
		if ((r = get_u32(e, "hcaHandles", file, p, &l->hca_handles, &l->has_hca_handles,
				 err)) < 0 ||
		    (r = get_u32(e, "hcaObjects", file, p, &l->hca_objects, &l->has_hca_objects,
				 err)) < 0)
			return r;
	}
	return 0;
}

int cgroup_unified_key_valid(const char *key, struct hy_error *err)
{
	/* Core files move processes, change the tree or kill it: never from a config. */
	static const char *const refused[] = {"cgroup.procs", "cgroup.threads", "cgroup.kill",
					      "cgroup.subtree_control", "cgroup.type",
					      "cgroup.freeze", "cgroup.events", "cgroup.controllers",
					      "cgroup.stat"};
	const char *dot = strchr(key, '.');
	size_t len = strlen(key);
	if (len == 0 || len > 255 || !dot || dot == key || !dot[1] || strchr(key, '/') ||
	    strstr(key, ".."))
		return hy_error_set(err, EINVAL,
				    "unified key '%s': expected <controller>.<file> such as memory.high",
				    key);
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return hy_error_set(err, EINVAL, "unified key '%s': invalid character", key);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!strcmp(key, refused[i]))
			return hy_error_set(err, EPERM,
					    "unified key '%s': cgroup core file may not be set", key);
	return 0;
}

static int parse_unified(yajl_val obj, const char *file, const char *path,
			 struct hy_resources *res, struct hy_error *err)
{
	int r = expect_object(obj, file, path, "unified", err);
	if (r < 0)
		return r;
	size_t n = obj->u.object.len;
	res->unified = calloc(n ? n : 1, sizeof(*res->unified));
	if (!res->unified)
		return oom(err, file);
	char base[PATH_BUF], p[PATH_BUF];
	sub_path(base, sizeof base, path, "unified");
	for (size_t i = 0; i < n; i++) {
		const char *key = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		sub_path(p, sizeof p, base, key);
		if ((r = cgroup_unified_key_valid(key, err)) < 0)
			return hy_error_prefix(err, "%s: %s", file, base);
		if (!YAJL_IS_STRING(v))
			return hy_error_set(err, EINVAL, "%s: %s: expected string", file, p);
		if (strlen(v->u.string) > 4096)
			return hy_error_set(err, EINVAL, "%s: %s: value too long", file, p);
		struct hy_unified_entry *e = &res->unified[res->n_unified++];
		e->key = strdup(key);
		e->value = strdup(v->u.string);
		if (!e->key || !e->value)
			return oom(err, file);
	}
	return 0;
}

static int parse_devices(yajl_val arr, const char *file, const char *path,
			 struct hy_resources *res, struct hy_error *err)
{
	int r = expect_array(arr, file, path, "devices", err);
	if (r < 0)
		return r;
	size_t n = arr->u.array.len;
	res->has_devices = true;
	res->devices = calloc(n ? n : 1, sizeof(*res->devices));
	if (!res->devices)
		return oom(err, file);
	char base[PATH_BUF], p[PATH_BUF];
	sub_path(base, sizeof base, path, "devices");
	for (size_t i = 0; i < n; i++) {
		yajl_val d = arr->u.array.values[i];
		index_path(p, sizeof p, base, i);
		if (!YAJL_IS_OBJECT(d))
			return hy_error_set(err, EINVAL, "%s: %s: expected object", file, p);
		struct hy_device_rule *rule = &res->devices[res->n_devices];
		bool has_allow = false, has_major = false, has_minor = false;
		char *type = NULL, *access = NULL;
		if ((r = json_get_bool(d, "allow", file, p, &rule->allow, &has_allow, err)) < 0)
			return r;
		if (!has_allow)
			return range_error(err, file, p, "allow", "boolean (it is required)");
		rule->major = rule->minor = -1;
		if ((r = json_get_i64(d, "major", file, p, &rule->major, &has_major, err)) < 0 ||
		    (r = json_get_i64(d, "minor", file, p, &rule->minor, &has_minor, err)) < 0)
			return r;
		if (rule->major < -1 || rule->major > 0xfffff)
			return range_error(err, file, p, "major", "-1 (any) or 0..1048575");
		if (rule->minor < -1 || rule->minor > 0xfffff)
			return range_error(err, file, p, "minor", "-1 (any) or 0..1048575");
		if ((r = json_get_string(d, "type", file, p, &type, err)) < 0)
			return r;
		rule->type = 'a';
		if (type) {
			bool ok = strlen(type) == 1 && strchr("acb", type[0]);
			rule->type = type[0];
			free(type);
			if (!ok)
				return range_error(err, file, p, "type", "\"a\", \"c\" or \"b\"");
		}
		if ((r = json_get_string(d, "access", file, p, &access, err)) < 0)
			return r;
		if (access) {
			bool ok = strlen(access) <= 3;
			for (size_t k = 0; ok && access[k]; k++)
				ok = strchr("rwm", access[k]) && !memchr(access, access[k], k);
			if (ok)
				strcpy(rule->access, access);
			free(access);
			if (!ok)
				return range_error(err, file, p, "access", "a combination of r, w and m");
		}
		res->n_devices++;
	}
	return 0;
}

int cgroup_resources_parse(yajl_val node, const char *file, const char *json_path,
			   struct hy_resources **out, struct hy_error *err)
{
	*out = NULL;
	if (!file)
		file = "config.json";
	if (!YAJL_IS_OBJECT(node))
		return hy_error_set(err, EINVAL, "%s: %s: expected object", file,
				    json_path && *json_path ? json_path : "resources");
	struct hy_resources *res = calloc(1, sizeof(*res));
	if (!res)
		return oom(err, file);
	char p[PATH_BUF];
	yajl_val v;
	int r = 0;

	if ((v = json_get(node, "memory"))) {
		sub_path(p, sizeof p, json_path, "memory");
		res->has_memory = true;
		if ((r = expect_object(v, file, json_path, "memory", err)) < 0 ||
		    (r = parse_memory(v, file, p, &res->memory, err)) < 0)
			goto fail;
	}
	if ((v = json_get(node, "cpu"))) {
		sub_path(p, sizeof p, json_path, "cpu");
		res->has_cpu = true;
		if ((r = expect_object(v, file, json_path, "cpu", err)) < 0 ||
		    (r = parse_cpu(v, file, p, &res->cpu, err)) < 0)
			goto fail;
	}
	if ((v = json_get(node, "pids"))) {
		sub_path(p, sizeof p, json_path, "pids");
		if ((r = expect_object(v, file, json_path, "pids", err)) < 0 ||
		    (r = json_get_i64(v, "limit", file, p, &res->pids_limit, &res->has_pids_limit,
				      err)) < 0)
			goto fail;
	}
	if ((v = json_get(node, "blockIO"))) {
		sub_path(p, sizeof p, json_path, "blockIO");
		res->has_blkio = true;
		if ((r = expect_object(v, file, json_path, "blockIO", err)) < 0 ||
		    (r = parse_blkio(v, file, p, &res->blkio, err)) < 0)
			goto fail;
	}
	if ((v = json_get(node, "hugepageLimits")) &&
	    (r = parse_hugepages(v, file, json_path, res, err)) < 0)
		goto fail;
	if ((v = json_get(node, "network"))) {
		sub_path(p, sizeof p, json_path, "network");
		if ((r = expect_object(v, file, json_path, "network", err)) < 0 ||
		    (r = parse_network(v, file, p, res, err)) < 0)
			goto fail;
	}
	if ((v = json_get(node, "rdma")) && (r = parse_rdma(v, file, json_path, res, err)) < 0)
		goto fail;
	if ((v = json_get(node, "unified")) && (r = parse_unified(v, file, json_path, res, err)) < 0)
		goto fail;
	if ((v = json_get(node, "devices")) && (r = parse_devices(v, file, json_path, res, err)) < 0)
		goto fail;
	*out = res;
	return 0;
fail:
	cgroup_resources_free(res);
	return r;
}

int cgroup_resources_parse_file(const char *path, struct hy_resources **out, struct hy_error *err)
{
	yajl_val root = NULL;
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	int r;
	*out = NULL;
	if (!strcmp(path, "-")) {
		/* Reads stdin in full; a resources object is small, so cap it to refuse floods. */
		size_t cap = 1 << 20, len = 0;
		char *buf = malloc(cap + 1);
		if (!buf)
			return oom(err, name);
		size_t got;
		while ((got = fread(buf + len, 1, cap - len, stdin)) > 0)
			len += got;
		if (len == cap) {
			free(buf);
			return hy_error_set(err, EFBIG, "%s: resources JSON larger than 1 MiB", name);
		}
		r = json_parse_buf(buf, len, name, &root, err);
		free(buf);
	} else {
		r = json_parse_file(path, name, &root, err);
	}
	if (r < 0)
		return r;
	r = cgroup_resources_parse(root, name, "", out, err);
	yajl_tree_free(root);
	return r;
}

static void free_throttle(struct hy_throttle_list *l)
{
	free(l->v);
}

void cgroup_resources_free(struct hy_resources *r)
{
	if (!r)
		return;
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->blkio.weight_devices);
	free_throttle(&r->blkio.read_bps);
	free_throttle(&r->blkio.write_bps);
	free_throttle(&r->blkio.read_iops);
	free_throttle(&r->blkio.write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; i < r->n_net_priorities; i++)
		free(r->net_priorities[i].name);
	free(r->net_priorities);
	for (size_t i = 0; i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	for (size_t i = 0; i < r->n_unified; i++) {
		free(r->unified[i].key);
		free(r->unified[i].value);
	}
	free(r->unified);
	free(r->devices);
	free(r);
}
