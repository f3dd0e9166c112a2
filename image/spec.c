/* config.json for an unpacked image: the default spec with the process and annotations taken from
 * the image config, following the OCI image-spec's conversion rules (conversion.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "image/spec.h"
#include "image/user.h"
#include "runtime/config.h"
#include "runtime/json.h"

#define GS(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct kv {
	char *k, *v;
};
struct kvs {
	struct kv *v;
	size_t n;
};

static int kvs_set(struct kvs *a, const char *k, const char *v)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].k, k) == 0) {
			char *nv = strdup(v);
			if (!nv)
				return -ENOMEM;
			free(a->v[i].v);
			a->v[i].v = nv;
			return 0;
		}
	void *nv = realloc(a->v, (a->n + 1) * sizeof(*a->v));
	if (!nv)
		return -ENOMEM;
	a->v = nv;
	a->v[a->n].k = strdup(k);
	a->v[a->n].v = strdup(v);
	if (!a->v[a->n].k || !a->v[a->n].v)
		return -ENOMEM;
	a->n++;
	return 0;
}

static void kvs_free(struct kvs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].k);
		free(a->v[i].v);
	}
	free(a->v);
}

static bool reserved_label(const char *k)
{
	/* An image must not pick its own isolation or VM settings: those are the user's call. */
	return strncmp(k, "org.hyrun.", 10) == 0 || strncmp(k, "run.oci.", 8) == 0;
}

static void str_field(yajl_val obj, const char *key, const char *ann, struct kvs *out)
{
	yajl_val v = obj ? json_get(obj, key) : NULL;
	if (v && YAJL_IS_STRING(v) && v->u.string[0])
		kvs_set(out, ann, v->u.string);
}

static int collect_annotations(yajl_val root, yajl_val cfg, const char *isolation,
			       const char *root_disk, struct kvs *ann, struct hy_error *err)
{
	yajl_val labels = cfg ? json_get(cfg, "Labels") : NULL;
	if (labels && YAJL_IS_OBJECT(labels))
		for (size_t i = 0; i < labels->u.object.len; i++) {
			yajl_val v = labels->u.object.values[i];
			const char *k = labels->u.object.keys[i];
			if (YAJL_IS_STRING(v) && !reserved_label(k))
				kvs_set(ann, k, v->u.string);
		}
	str_field(root, "os", "org.opencontainers.image.os", ann);
	str_field(root, "architecture", "org.opencontainers.image.architecture", ann);
	str_field(root, "author", "org.opencontainers.image.author", ann);
	str_field(root, "created", "org.opencontainers.image.created", ann);
	str_field(cfg, "StopSignal", "org.opencontainers.image.stopSignal", ann);
	yajl_val ports = cfg ? json_get(cfg, "ExposedPorts") : NULL;
	if (ports && YAJL_IS_OBJECT(ports) && ports->u.object.len) {
		size_t len = 1;
		for (size_t i = 0; i < ports->u.object.len; i++)
			len += strlen(ports->u.object.keys[i]) + 1;
		char *s = calloc(1, len);
		if (!s)
			return hy_error_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < ports->u.object.len; i++) {
			if (i)
				strcat(s, ",");
			strcat(s, ports->u.object.keys[i]);
		}
		kvs_set(ann, "org.opencontainers.image.exposedPorts", s);
		free(s);
	}
	if (isolation)
		kvs_set(ann, "org.hyrun.isolation", isolation);
	if (root_disk)
		kvs_set(ann, "org.hyrun.vm.root_disk", root_disk);
	return 0;
}

static void gen_strv_val(yajl_gen g, yajl_val arr)
{
	for (size_t i = 0; arr && YAJL_IS_ARRAY(arr) && i < arr->u.array.len; i++)
		if (YAJL_IS_STRING(arr->u.array.values[i]))
			GS(g, arr->u.array.values[i]->u.string);
}

static size_t strv_len(yajl_val arr)
{
	size_t n = 0;
	for (size_t i = 0; arr && YAJL_IS_ARRAY(arr) && i < arr->u.array.len; i++)
		n += YAJL_IS_STRING(arr->u.array.values[i]);
	return n;
}

static void gen_process(yajl_gen g, yajl_val dproc, yajl_val cfg, const struct image_user *u)
{
	yajl_val ep = cfg ? json_get(cfg, "Entrypoint") : NULL, cmd = cfg ? json_get(cfg, "Cmd") : NULL;
	yajl_val env = cfg ? json_get(cfg, "Env") : NULL, wd = cfg ? json_get(cfg, "WorkingDir") : NULL;
	yajl_gen_map_open(g);
	for (size_t i = 0; dproc && YAJL_IS_OBJECT(dproc) && i < dproc->u.object.len; i++) {
		const char *k = dproc->u.object.keys[i];
		yajl_val v = dproc->u.object.values[i];
		GS(g, k);
		if (strcmp(k, "terminal") == 0) {
			/* An unpacked image runs like `docker run` without -t: plain stdio. */
			yajl_gen_bool(g, 0);
		} else if (strcmp(k, "user") == 0) {
			yajl_gen_map_open(g);
			GS(g, "uid");
			yajl_gen_integer(g, u->uid);
			GS(g, "gid");
			yajl_gen_integer(g, u->gid);
			if (u->n_additional) {
				GS(g, "additionalGids");
				yajl_gen_array_open(g);
				for (size_t j = 0; j < u->n_additional; j++)
					yajl_gen_integer(g, u->additional[j]);
				yajl_gen_array_close(g);
			}
			yajl_gen_map_close(g);
		} else if (strcmp(k, "args") == 0 && strv_len(ep) + strv_len(cmd) > 0) {
			yajl_gen_array_open(g);
			gen_strv_val(g, ep);
			gen_strv_val(g, cmd);
			yajl_gen_array_close(g);
		} else if (strcmp(k, "env") == 0 && env && YAJL_IS_ARRAY(env)) {
			yajl_gen_array_open(g);
			bool has_path = false;
			for (size_t j = 0; j < env->u.array.len; j++) {
				yajl_val e = env->u.array.values[j];
				if (YAJL_IS_STRING(e) && strncmp(e->u.string, "PATH=", 5) == 0)
					has_path = true;
			}
			if (!has_path)
				GS(g, DEFAULT_PATH);
			gen_strv_val(g, env);
			yajl_gen_array_close(g);
		} else if (strcmp(k, "cwd") == 0 && wd && YAJL_IS_STRING(wd) && wd->u.string[0] == '/') {
			GS(g, wd->u.string);
		} else {
			json_gen_tree(g, v);
		}
	}
	yajl_gen_map_close(g);
}

int image_spec_generate(const char *cfg_json, size_t cfg_len, const char *cfg_name, int rootfd,
			const char *isolation, const char *root_disk, char **out,
			struct hy_error *err)
{
	yajl_val img = NULL, def = NULL;
	char *defjson = config_default_spec_json(false, err);
	if (!defjson)
		return -err->code;
	int rc = json_parse_buf(defjson, strlen(defjson), "default spec", &def, err);
	free(defjson);
	if (rc)
		return rc;
	if ((rc = json_parse_buf(cfg_json, cfg_len, cfg_name, &img, err))) {
		yajl_tree_free(def);
		return rc;
	}
	struct kvs ann = {0};
	yajl_gen g = NULL;
	yajl_val cfg = json_get(img, "config");
	if (cfg && !YAJL_IS_OBJECT(cfg))
		cfg = NULL;
	yajl_val user = cfg ? json_get(cfg, "User") : NULL;
	struct image_user u;
	if ((rc = image_resolve_user(rootfd, user && YAJL_IS_STRING(user) ? user->u.string : "", &u,
				     err)))
		goto out;
	yajl_val dann = json_get(def, "annotations");
	for (size_t i = 0; dann && YAJL_IS_OBJECT(dann) && i < dann->u.object.len; i++)
		if (YAJL_IS_STRING(dann->u.object.values[i]))
			kvs_set(&ann, dann->u.object.keys[i], dann->u.object.values[i]->u.string);
	if ((rc = collect_annotations(img, cfg, isolation, root_disk, &ann, err)))
		goto out;
	g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < def->u.object.len; i++) {
		const char *k = def->u.object.keys[i];
		if (strcmp(k, "annotations") == 0)
			continue;
		GS(g, k);
		if (strcmp(k, "process") == 0)
			gen_process(g, def->u.object.values[i], cfg, &u);
		else if (strcmp(k, "root") == 0) {
			/* Writable like docker's container layer: the bundle is this container's copy. */
			yajl_gen_map_open(g);
			GS(g, "path");
			GS(g, "rootfs");
			GS(g, "readonly");
			yajl_gen_bool(g, 0);
			yajl_gen_map_close(g);
		} else
			json_gen_tree(g, def->u.object.values[i]);
	}
	if (ann.n) {
		GS(g, "annotations");
		yajl_gen_map_open(g);
		for (size_t i = 0; i < ann.n; i++) {
			GS(g, ann.v[i].k);
			GS(g, ann.v[i].v);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		rc = hy_error_set(err, EINVAL, "config.json: cannot generate");
		goto out;
	}
	*out = strndup((const char *)buf, len);
	if (!*out)
		rc = hy_error_set(err, ENOMEM, "out of memory");
out:
	if (g)
		yajl_gen_free(g);
	kvs_free(&ann);
	yajl_tree_free(img);
	yajl_tree_free(def);
	return rc;
}
