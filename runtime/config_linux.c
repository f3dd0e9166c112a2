/* The linux object: namespaces, id mappings, time offsets, devices, cgroupsPath, resources,
 * rootfsPropagation, masked/readonly paths, sysctl, seccomp and personality. */
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>

#include "runtime/config_internal.h"
#include "runtime/seccomp.h"
#if __has_include("cgroups/resources.h")
#include "cgroups/resources.h"
#define HAVE_CGROUP_RESOURCES 1
#endif


const char *const cfg_namespace_names[HY_NS__COUNT] = {
	[HY_NS_PID] = "pid",	   [HY_NS_NETWORK] = "network", [HY_NS_MOUNT] = "mount",
	[HY_NS_IPC] = "ipc",	   [HY_NS_UTS] = "uts",		[HY_NS_USER] = "user",
	[HY_NS_CGROUP] = "cgroup", [HY_NS_TIME] = "time",
};

void cfg_free_linux(struct hy_linux *l)
{
	for (int i = 0; i < HY_NS__COUNT; i++)
		free(l->namespaces[i].path);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_time_offsets; i++)
		free(l->time_offsets[i].clock);
	free(l->time_offsets);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
#ifdef HAVE_CGROUP_RESOURCES
	if (l->resources)
		cgroup_resources_free(l->resources);
#endif
	free(l->rootfs_propagation);
	hy_strv_free(&l->masked_paths);
	hy_strv_free(&l->readonly_paths);
	free(l->mount_label);
	cfg_free_kv(l->sysctl, l->n_sysctl);
	if (l->seccomp)
		seccomp_config_free(l->seccomp);
	memset(l, 0, sizeof(*l));
}

static int parse_namespaces(yajl_val lx, const char *file, struct hy_linux *l,
			    struct hy_error *err)
{
	yajl_val arr = json_get(lx, "namespaces");
	if (!arr)
		return 0;
	int rc = json_expect_array(arr, file, "linux.namespaces", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < arr->u.array.len; i++) {
		char np[CFG_PATH_MAX];
		cfg_path(np, sizeof(np), "linux.namespaces[%zu]", i);
		yajl_val item = arr->u.array.values[i];
		char *type = NULL, *path = NULL;
		rc = json_expect_object(item, file, np, err);
		if (!rc)
			rc = json_get_string(item, "type", file, np, &type, err);
		if (!rc)
			rc = json_get_string(item, "path", file, np, &path, err);
		int t = -1;
		for (int k = 0; !rc && type && k < HY_NS__COUNT; k++)
			if (!strcmp(type, cfg_namespace_names[k]))
				t = k;
		if (!rc && !type)
			rc = cfg_error(err, file, np, "type: required");
		else if (!rc && t < 0)
			rc = cfg_error(err, file, np, "type: unknown namespace type \"%s\"", type);
		else if (!rc && l->namespaces[t].present)
			rc = cfg_error(err, file, np, "type: namespace \"%s\" given twice", type);
		else if (!rc && path && !cfg_is_absolute(path))
			rc = cfg_error(err, file, np, "path: must be an absolute path, got \"%s\"", path);
		free(type);
		if (rc) {
			free(path);
			return rc;
		}
		l->namespaces[t].present = true;
		l->namespaces[t].path = path;
	}
	return 0;
}

static int parse_time_offsets(yajl_val lx, const char *file, struct hy_linux *l,
			      struct hy_error *err)
{
	yajl_val obj = json_get(lx, "timeOffsets");
	if (!obj)
		return 0;
	int rc = json_expect_object(obj, file, "linux.timeOffsets", err);
	if (rc)
		return rc;
	size_t len = obj->u.object.len;
	l->time_offsets = calloc(len ? len : 1, sizeof(*l->time_offsets));
	if (!l->time_offsets)
		return cfg_oom(err, file);
	for (size_t i = 0; i < len; i++) {
		const char *clock = obj->u.object.keys[i];
		char tp[CFG_PATH_MAX];
		cfg_path(tp, sizeof(tp), "linux.timeOffsets.%s", clock);
		if (strcmp(clock, "monotonic") && strcmp(clock, "boottime"))
			return cfg_error(err, file, tp, "unknown clock (expected monotonic or boottime)");
		for (size_t j = 0; j < l->n_time_offsets; j++)
			if (!strcmp(l->time_offsets[j].clock, clock))
				return cfg_error(err, file, tp, "given twice");
		yajl_val v = obj->u.object.values[i];
		struct hy_time_offset *t = &l->time_offsets[l->n_time_offsets];
		uint64_t ns = 0;
		if ((rc = json_expect_object(v, file, tp, err)) ||
		    (rc = json_get_i64(v, "secs", file, tp, &t->secs, NULL, err)) ||
		    (rc = json_get_u64(v, "nanosecs", file, tp, 999999999, &ns, NULL, err)))
			return rc;
		t->nanosecs = (uint32_t)ns;
		if (!(t->clock = strdup(clock)))
			return cfg_oom(err, file);
		l->n_time_offsets++;
	}
	return 0;
}

static int parse_device(yajl_val item, const char *file, const char *dp, struct hy_device *d,
			struct hy_error *err)
{
	char *type = NULL;
	bool has_major = false, has_minor = false;
	uint64_t major = 0, minor = 0, mode = 0, uid = 0, gid = 0;
	int rc = json_expect_object(item, file, dp, err);
	if (!rc)
		rc = json_get_string(item, "path", file, dp, &d->path, err);
	if (!rc)
		rc = json_get_string(item, "type", file, dp, &type, err);
	/* glibc's makedev takes 32-bit major and minor numbers. */
	if (!rc)
		rc = json_get_u64(item, "major", file, dp, UINT32_MAX, &major, &has_major, err);
	if (!rc)
		rc = json_get_u64(item, "minor", file, dp, UINT32_MAX, &minor, &has_minor, err);
	if (!rc)
		rc = json_get_u64(item, "fileMode", file, dp, 07777, &mode, &d->has_file_mode, err);
	if (!rc)
		rc = json_get_u64(item, "uid", file, dp, UINT32_MAX - 1, &uid, &d->has_uid, err);
	if (!rc)
		rc = json_get_u64(item, "gid", file, dp, UINT32_MAX - 1, &gid, &d->has_gid, err);
	if (!rc && !d->path)
		rc = cfg_error(err, file, dp, "path: required");
	if (!rc && !cfg_is_absolute(d->path))
		rc = cfg_error(err, file, dp, "path: must be an absolute path, got \"%s\"", d->path);
	if (!rc && !type)
		rc = cfg_error(err, file, dp, "type: required");
	if (!rc && (strlen(type) != 1 || !strchr("cbup", type[0])))
		rc = cfg_error(err, file, dp, "type: expected \"c\", \"b\", \"u\" or \"p\", got \"%s\"",
			       type);
	if (!rc && type[0] != 'p' && (!has_major || !has_minor))
		rc = cfg_error(err, file, dp, "major and minor are required for type \"%s\"", type);
	if (!rc) {
		d->type = type[0];
		d->major = (int64_t)major;
		d->minor = (int64_t)minor;
		d->file_mode = (mode_t)mode;
		d->uid = (uid_t)uid;
		d->gid = (gid_t)gid;
	}
	free(type);
	return rc;
}

static int parse_devices(yajl_val lx, const char *file, struct hy_linux *l, struct hy_error *err)
{
	yajl_val arr = json_get(lx, "devices");
	if (!arr)
		return 0;
	int rc = json_expect_array(arr, file, "linux.devices", err);
	if (rc)
		return rc;
	size_t len = arr->u.array.len;
	l->devices = calloc(len ? len : 1, sizeof(*l->devices));
	if (!l->devices)
		return cfg_oom(err, file);
	for (size_t i = 0; i < len; i++) {
		char dp[CFG_PATH_MAX];
		cfg_path(dp, sizeof(dp), "linux.devices[%zu]", i);
		l->n_devices = i + 1;
		if ((rc = parse_device(arr->u.array.values[i], file, dp, &l->devices[i], err)))
			return rc;
	}
	return 0;
}

static int parse_paths(yajl_val lx, const char *key, const char *file, struct hy_strv *out,
		       struct hy_error *err)
{
	int rc = json_get_strv(lx, key, file, "linux", out, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < out->n; i++)
		if (!cfg_is_absolute(out->v[i])) {
			char pp[CFG_PATH_MAX];
			cfg_path(pp, sizeof(pp), "linux.%s[%zu]", key, i);
			return cfg_error(err, file, pp, "must be an absolute path, got \"%s\"",
					 out->v[i]);
		}
	return 0;
}

static int parse_propagation(yajl_val lx, const char *file, struct hy_linux *l,
			     struct hy_error *err)
{
	static const char *const known[] = {"shared",  "slave",	 "private",  "unbindable",
					    "rshared", "rslave", "rprivate", "runbindable"};
	int rc = json_get_string(lx, "rootfsPropagation", file, "linux", &l->rootfs_propagation, err);
	if (rc || !l->rootfs_propagation)
		return rc;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i], l->rootfs_propagation))
			return 0;
	return cfg_error(err, file, "linux.rootfsPropagation", "unknown propagation \"%s\"",
			 l->rootfs_propagation);
}

static int parse_personality(yajl_val lx, const char *file, struct hy_linux *l,
			     struct hy_error *err)
{
	yajl_val p = json_get(lx, "personality");
	if (!p)
		return 0;
	char *domain = NULL;
	struct hy_strv flags = {0};
	int rc = json_expect_object(p, file, "linux.personality", err);
	if (!rc)
		rc = json_get_string(p, "domain", file, "linux.personality", &domain, err);
	if (!rc)
		rc = json_get_strv(p, "flags", file, "linux.personality", &flags, err);
	if (!rc) {
		if (domain && !strcmp(domain, "LINUX"))
			l->personality = PER_LINUX;
		else if (domain && !strcmp(domain, "LINUX32"))
			l->personality = PER_LINUX32;
		else
			rc = cfg_error(err, file, "linux.personality.domain",
				       "expected \"LINUX\" or \"LINUX32\"");
	}
	/* The spec names no flag values yet, so any flag is one we cannot honour. */
	if (!rc && flags.n)
		rc = cfg_error(err, file, "linux.personality.flags", "unsupported flag \"%s\"",
			       flags.v[0]);
	if (!rc)
		l->has_personality = true;
	free(domain);
	hy_strv_free(&flags);
	return rc;
}

/* runc's rules: mappings belong to a new user namespace, and a new one needs them. */
static int check_user_namespace(const char *file, const struct hy_linux *l, struct hy_error *err)
{
	const struct hy_namespace *u = &l->namespaces[HY_NS_USER];
	bool maps = l->n_uid_mappings || l->n_gid_mappings;
	if (maps && !u->present)
		return cfg_error(err, file, "linux.uidMappings",
				 "id mappings require a user namespace in linux.namespaces");
	if (u->present && !u->path && (!l->n_uid_mappings || !l->n_gid_mappings))
		return cfg_error(err, file, "linux.namespaces",
				 "a new user namespace requires linux.uidMappings and "
				 "linux.gidMappings");
	if (l->n_time_offsets && !l->namespaces[HY_NS_TIME].present)
		return cfg_error(err, file, "linux.timeOffsets",
				 "requires a time namespace in linux.namespaces");
	return 0;
}

static int parse_resources(yajl_val lx, const char *file, struct hy_linux *l,
			   struct hy_error *err)
{
	yajl_val res = json_get(lx, "resources");
	if (!res)
		return 0;
	int rc = json_expect_object(res, file, "linux.resources", err);
#ifdef HAVE_CGROUP_RESOURCES
	if (!rc)
		rc = cgroup_resources_parse(res, file, "linux.resources", &l->resources, err);
#endif
	return rc;
}

int cfg_parse_linux(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err)
{
	yajl_val lx = json_get(root, "linux");
	if (!lx)
		return 0;
	int rc = json_expect_object(lx, file, "linux", err);
	if (rc)
		return rc;
	cfg->has_linux = true;
	struct hy_linux *l = &cfg->linux_;
	if ((rc = parse_namespaces(lx, file, l, err)) ||
	    (rc = cfg_parse_id_mappings(json_get(lx, "uidMappings"), file, "linux.uidMappings",
					&l->uid_mappings, &l->n_uid_mappings, err)) ||
	    (rc = cfg_parse_id_mappings(json_get(lx, "gidMappings"), file, "linux.gidMappings",
					&l->gid_mappings, &l->n_gid_mappings, err)) ||
	    (rc = parse_time_offsets(lx, file, l, err)) || (rc = check_user_namespace(file, l, err)) ||
	    (rc = parse_devices(lx, file, l, err)) ||
	    (rc = json_get_string(lx, "cgroupsPath", file, "linux", &l->cgroups_path, err)) ||
	    (rc = parse_resources(lx, file, l, err)) || (rc = parse_propagation(lx, file, l, err)) ||
	    (rc = parse_paths(lx, "maskedPaths", file, &l->masked_paths, err)) ||
	    (rc = parse_paths(lx, "readonlyPaths", file, &l->readonly_paths, err)) ||
	    (rc = json_get_string(lx, "mountLabel", file, "linux", &l->mount_label, err)) ||
	    (rc = cfg_parse_string_map(json_get(lx, "sysctl"), file, "linux.sysctl", &l->sysctl,
				       &l->n_sysctl, err)) ||
	    (rc = parse_personality(lx, file, l, err)))
		return rc;
	yajl_val sc = json_get(lx, "seccomp");
	if (sc)
		rc = seccomp_config_parse(sc, file, "linux.seccomp", &l->seccomp, err);
	return rc;
}
