/* config.json top level: ociVersion, root, hostname, annotations and the isolation level they
 * select; the other subjects are parsed by the config_*.c files. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config_internal.h"

void cfg_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

int cfg_error(struct hy_error *err, const char *file, const char *path, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && *path)
		return hy_error_set(err, EINVAL, "%s: %s: %s", file, path, msg);
	return hy_error_set(err, EINVAL, "%s: %s", file, msg);
}

int cfg_oom(struct hy_error *err, const char *file)
{
	return hy_error_set(err, ENOMEM, "%s: out of memory", file);
}

bool cfg_is_absolute(const char *p)
{
	return p && p[0] == '/';
}

void cfg_free_kv(struct hy_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int cfg_parse_string_map(yajl_val obj, const char *file, const char *path, struct hy_kv **out,
			 size_t *n, struct hy_error *err)
{
	if (!obj)
		return 0;
	if (!YAJL_IS_OBJECT(obj))
		return cfg_error(err, file, path, "expected object");
	size_t len = obj->u.object.len;
	struct hy_kv *kv = calloc(len ? len : 1, sizeof(*kv));
	if (!kv)
		return cfg_oom(err, file);
	size_t filled = 0;
	for (size_t i = 0; i < len; i++) {
		const char *key = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		if (!YAJL_IS_STRING(v)) {
			char kp[CFG_PATH_MAX];
			cfg_path(kp, sizeof(kp), "%s.%s", path, key);
			cfg_free_kv(kv, filled);
			return cfg_error(err, file, kp, "expected string");
		}
		kv[filled].key = strdup(key);
		kv[filled].value = strdup(v->u.string);
		filled++;
		if (!kv[filled - 1].key || !kv[filled - 1].value) {
			cfg_free_kv(kv, filled);
			return cfg_oom(err, file);
		}
	}
	*out = kv;
	*n = filled;
	return 0;
}

int cfg_parse_id_mappings(yajl_val arr, const char *file, const char *path,
			  struct hy_id_mapping **out, size_t *n, struct hy_error *err)
{
	/* The kernel accepts at most 340 lines in uid_map/gid_map. */
	enum { MAX_MAPPINGS = 340 };
	if (!arr)
		return 0;
	if (!YAJL_IS_ARRAY(arr))
		return cfg_error(err, file, path, "expected array");
	size_t len = arr->u.array.len;
	if (len > MAX_MAPPINGS)
		return cfg_error(err, file, path, "more than %d mappings", MAX_MAPPINGS);
	struct hy_id_mapping *m = calloc(len ? len : 1, sizeof(*m));
	if (!m)
		return cfg_oom(err, file);
	for (size_t i = 0; i < len; i++) {
		char p[CFG_PATH_MAX];
		cfg_path(p, sizeof(p), "%s[%zu]", path, i);
		yajl_val item = arr->u.array.values[i];
		uint64_t cid = 0, hid = 0, size = 0;
		bool has_c = false, has_h = false, has_s = false;
		int rc = json_expect_object(item, file, p, err);
		if (!rc)
			rc = json_get_u64(item, "containerID", file, p, UINT32_MAX, &cid, &has_c, err);
		if (!rc)
			rc = json_get_u64(item, "hostID", file, p, UINT32_MAX, &hid, &has_h, err);
		if (!rc)
			rc = json_get_u64(item, "size", file, p, UINT32_MAX, &size, &has_s, err);
		if (!rc && (!has_c || !has_h || !has_s))
			rc = cfg_error(err, file, p, "containerID, hostID and size are required");
		if (!rc && size == 0)
			rc = cfg_error(err, file, p, "size: must be greater than 0");
		/* An id range must not wrap around the 32-bit id space on either side. */
		if (!rc && (cid + size - 1 > UINT32_MAX - 1 || hid + size - 1 > UINT32_MAX - 1))
			rc = cfg_error(err, file, p, "id range exceeds 4294967294");
		if (rc) {
			free(m);
			return rc;
		}
		m[i] = (struct hy_id_mapping){(uint32_t)cid, (uint32_t)hid, (uint32_t)size};
	}
	*out = m;
	*n = len;
	return 0;
}

/* Our own annotations: the known ones, so that a typo is an error rather than ignored. */
static int parse_isolation(const char *file, struct hy_config *cfg, struct hy_error *err)
{
	for (size_t i = 0; i < cfg->n_annotations; i++) {
		const char *k = cfg->annotations[i].key, *v = cfg->annotations[i].value;
		char p[CFG_PATH_MAX];
		cfg_path(p, sizeof(p), "annotations.%s", k);
		if (!strcmp(k, "org.hyrun.isolation")) {
			if (!strcmp(v, "container"))
				cfg->isolation = HY_ISOLATION_CONTAINER;
			else if (!strcmp(v, "vm"))
				cfg->isolation = HY_ISOLATION_VM;
			else
				return cfg_error(err, file, p, "expected \"container\" or \"vm\", got \"%s\"",
						 v);
		} else if (!strcmp(k, "org.hyrun.vm.vcpus") || !strcmp(k, "org.hyrun.vm.memory_mib")) {
			bool vcpus = !strcmp(k, "org.hyrun.vm.vcpus");
			/* 255: the MP table's 8-bit APIC ids; 1 TiB: far beyond any host here. */
			unsigned long long max = vcpus ? 255 : (1ull << 20);
			char *end;
			errno = 0;
			unsigned long long n = strtoull(v, &end, 10);
			if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || n < 1 || n > max)
				return cfg_error(err, file, p,
						 "expected integer between 1 and %llu, got \"%s\"", max, v);
			if (vcpus)
				cfg->vm.vcpus = (unsigned)n;
			else
				cfg->vm.memory_mib = n;
		} else if (!strcmp(k, "org.hyrun.vm.kernel")) {
			if (!*v)
				return cfg_error(err, file, p, "expected a path");
			free(cfg->vm.kernel);
			if (v[0] != '/' && cfg->bundle) {
				if (asprintf(&cfg->vm.kernel, "%s/%s", cfg->bundle, v) < 0)
					cfg->vm.kernel = NULL;
			} else {
				cfg->vm.kernel = strdup(v);
			}
			if (!cfg->vm.kernel)
				return cfg_oom(err, file);
		} else if (!strcmp(k, "org.hyrun.vm.kernel_cmdline")) {
			/* COMMAND_LINE_SIZE on x86 is 2048 including the NUL and hyrun's own part. */
			if (strlen(v) > 1024)
				return cfg_error(err, file, p, "longer than 1024 bytes");
			free(cfg->vm.kernel_cmdline);
			cfg->vm.kernel_cmdline = strdup(v);
			if (!cfg->vm.kernel_cmdline)
				return cfg_oom(err, file);
		} else if (!strcmp(k, "org.hyrun.vm.root_disk")) {
			/* Resolved and checked against the bundle when a VM boots (vm_disk.c). */
			if (!*v)
				return cfg_error(err, file, p, "expected a path");
			free(cfg->vm.root_disk);
			if (!(cfg->vm.root_disk = strdup(v)))
				return cfg_oom(err, file);
		} else if (!strncmp(k, "org.hyrun.", 10)) {
			return cfg_error(err, file, p, "unknown hyrun annotation");
		}
	}
	/* crun compatibility: its krun handler runs the container in a VM. */
	const char *handler = config_annotation(cfg, "run.oci.handler");
	if (cfg->isolation == HY_ISOLATION_UNSET && handler && !strcmp(handler, "krun"))
		cfg->isolation = HY_ISOLATION_VM;
	return 0;
}

const char *config_annotation(const struct hy_config *cfg, const char *key)
{
	if (!cfg || !key)
		return NULL;
	/* The last duplicate wins, as everywhere else in the parser (and in Go's decoder). */
	const char *found = NULL;
	for (size_t i = 0; i < cfg->n_annotations; i++)
		if (!strcmp(cfg->annotations[i].key, key))
			found = cfg->annotations[i].value;
	return found;
}

static int parse_version(yajl_val root, const char *file, struct hy_config *cfg,
			 struct hy_error *err)
{
	int rc = json_get_string(root, "ociVersion", file, "", &cfg->oci_version, err);
	if (rc)
		return rc;
	if (!cfg->oci_version)
		return cfg_error(err, file, "ociVersion", "required");
	/* The spec's major version 1 is all we implement; 1.x minors only add fields. */
	if (strncmp(cfg->oci_version, "1.", 2))
		return cfg_error(err, file, "ociVersion", "unsupported version \"%s\" (expected 1.x)",
				 cfg->oci_version);
	return 0;
}

static int parse_root(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err)
{
	yajl_val r = json_get(root, "root");
	if (!r)
		return cfg_error(err, file, "root", "required");
	int rc = json_expect_object(r, file, "root", err);
	char *path = NULL;
	if (!rc)
		rc = json_get_string(r, "path", file, "root", &path, err);
	if (!rc)
		rc = json_get_bool(r, "readonly", file, "root", &cfg->root_readonly, NULL, err);
	if (!rc && (!path || !*path))
		rc = cfg_error(err, file, "root.path", "required");
	if (rc) {
		free(path);
		return rc;
	}
	if (path[0] != '/' && cfg->bundle) {
		if (asprintf(&cfg->root_path, "%s/%s", cfg->bundle, path) < 0)
			cfg->root_path = NULL;
		free(path);
		if (!cfg->root_path)
			return cfg_oom(err, file);
	} else {
		cfg->root_path = path;
	}
	return 0;
}

/* Limits from the kernel (HOST_NAME_MAX, and the same for NIS domain names). */
static int parse_names(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err)
{
	int rc = json_get_string(root, "hostname", file, "", &cfg->hostname, err);
	if (!rc)
		rc = json_get_string(root, "domainname", file, "", &cfg->domainname, err);
	if (rc)
		return rc;
	if (cfg->hostname && strlen(cfg->hostname) > 64)
		return cfg_error(err, file, "hostname", "longer than 64 bytes");
	if (cfg->domainname && strlen(cfg->domainname) > 64)
		return cfg_error(err, file, "domainname", "longer than 64 bytes");
	return 0;
}

/* Rules that involve more than one subject. */
static int check_cross(const char *file, struct hy_config *cfg, struct hy_error *err)
{
	const struct hy_namespace *ns = cfg->linux_.namespaces;
	/* runc's rule: a hostname needs a UTS namespace of the container's own, or it would
	 * rename the host. */
	if (cfg->hostname && *cfg->hostname && !ns[HY_NS_UTS].present)
		return cfg_error(err, file, "hostname",
				 "requires a uts namespace in linux.namespaces");
	if (cfg->domainname && *cfg->domainname && !ns[HY_NS_UTS].present)
		return cfg_error(err, file, "domainname",
				 "requires a uts namespace in linux.namespaces");
	return 0;
}

/* Builds the model from a parsed tree; the tree stays the caller's. */
static int config_from_tree(yajl_val root, const char *file, const char *bundle,
			    struct hy_config **out, struct hy_error *err)
{
	int rc = 0;
	struct hy_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return cfg_oom(err, file);
	if (bundle && !(cfg->bundle = strdup(bundle)))
		rc = cfg_oom(err, file);
	if (!rc)
		rc = json_expect_object(root, file, "", err);
	if (!rc)
		rc = parse_version(root, file, cfg, err);
	if (!rc)
		rc = parse_root(root, file, cfg, err);
	if (!rc) {
		yajl_val p = json_get(root, "process");
		if (p)
			rc = cfg_parse_process(p, file, "process", &cfg->process, err);
	}
	if (!rc)
		rc = parse_names(root, file, cfg, err);
	if (!rc)
		rc = cfg_parse_mounts(root, file, cfg, err);
	if (!rc)
		rc = cfg_parse_hooks(root, file, cfg, err);
	if (!rc)
		rc = cfg_parse_string_map(json_get(root, "annotations"), file, "annotations",
					  &cfg->annotations, &cfg->n_annotations, err);
	if (!rc)
		rc = parse_isolation(file, cfg, err);
	if (!rc)
		rc = cfg_parse_linux(root, file, cfg, err);
	if (!rc)
		rc = check_cross(file, cfg, err);
	if (rc) {
		config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int config_parse(const char *json, size_t len, const char *name, const char *bundle,
		 struct hy_config **out, struct hy_error *err)
{
	const char *file = name ? name : "config.json";
	yajl_val root = NULL;
	int rc = json_parse_buf(json, len, file, &root, err);
	if (rc)
		return rc;
	rc = config_from_tree(root, file, bundle, out, err);
	yajl_tree_free(root);
	return rc;
}

int config_load(const char *bundle, struct hy_config **out, struct hy_error *err)
{
	if (!bundle || !*bundle)
		bundle = ".";
	/* root.path and hook-relative paths are resolved against the absolute bundle, so the
	 * result does not depend on the caller's working directory later. */
	char *abs = realpath(bundle, NULL);
	if (!abs)
		return hy_error_errno(err, errno, "bundle %s", bundle);
	char *path = NULL;
	if (asprintf(&path, "%s/config.json", abs) < 0) {
		free(abs);
		return hy_error_set(err, ENOMEM, "out of memory");
	}
	yajl_val root = NULL;
	int rc = json_parse_file(path, "config.json", &root, err);
	if (rc == -ENOENT)
		rc = hy_error_set(err, ENOENT, "config.json: not found in bundle %s", abs);
	if (!rc) {
		rc = config_from_tree(root, "config.json", abs, out, err);
		yajl_tree_free(root);
	}
	free(path);
	free(abs);
	return rc;
}

void config_free(struct hy_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->oci_version);
	free(cfg->bundle);
	free(cfg->root_path);
	config_process_free(cfg->process);
	free(cfg->hostname);
	free(cfg->domainname);
	cfg_free_mounts(cfg->mounts, cfg->n_mounts);
	cfg_free_hooks(cfg->hooks);
	cfg_free_kv(cfg->annotations, cfg->n_annotations);
	cfg_free_linux(&cfg->linux_);
	free(cfg->vm.kernel);
	free(cfg->vm.kernel_cmdline);
	free(cfg->vm.root_disk);
	free(cfg);
}
