/* hooks: the six lists of {path, args, env, timeout}. */
#include <limits.h>
#include <stdlib.h>

#include "runtime/config_internal.h"

const char *const cfg_hook_names[HY_HOOK__COUNT] = {
	[HY_HOOK_PRESTART] = "prestart",
	[HY_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HY_HOOK_CREATE_CONTAINER] = "createContainer",
	[HY_HOOK_START_CONTAINER] = "startContainer",
	[HY_HOOK_POSTSTART] = "poststart",
	[HY_HOOK_POSTSTOP] = "poststop",
};

void cfg_free_hooks(struct hy_hook_list *hooks)
{
	for (int k = 0; k < HY_HOOK__COUNT; k++) {
		for (size_t i = 0; i < hooks[k].n; i++) {
			free(hooks[k].v[i].path);
			hy_strv_free(&hooks[k].v[i].args);
			hy_strv_free(&hooks[k].v[i].env);
		}
		free(hooks[k].v);
		hooks[k].v = NULL;
		hooks[k].n = 0;
	}
}

static int parse_hook(yajl_val item, const char *file, const char *hp, struct hy_hook *h,
		      struct hy_error *err)
{
	char sub[CFG_PATH_MAX];
	int64_t timeout = 0;
	int rc = json_expect_object(item, file, hp, err);
	if (!rc)
		rc = json_get_string(item, "path", file, hp, &h->path, err);
	if (!rc)
		rc = json_get_strv(item, "args", file, hp, &h->args, err);
	if (!rc)
		rc = json_get_strv(item, "env", file, hp, &h->env, err);
	if (!rc)
		rc = json_get_i64(item, "timeout", file, hp, &timeout, &h->has_timeout, err);
	if (rc)
		return rc;
	cfg_path(sub, sizeof(sub), "%s.path", hp);
	if (!h->path)
		return cfg_error(err, file, sub, "required");
	if (!cfg_is_absolute(h->path))
		return cfg_error(err, file, sub, "must be an absolute path, got \"%s\"", h->path);
	if (h->has_timeout && (timeout <= 0 || timeout > INT_MAX)) {
		cfg_path(sub, sizeof(sub), "%s.timeout", hp);
		return cfg_error(err, file, sub, "must be greater than zero");
	}
	h->timeout = (int)timeout;
	return 0;
}

int cfg_parse_hooks(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err)
{
	yajl_val hooks = json_get(root, "hooks");
	if (!hooks)
		return 0;
	int rc = json_expect_object(hooks, file, "hooks", err);
	if (rc)
		return rc;
	for (int k = 0; k < HY_HOOK__COUNT; k++) {
		char lp[CFG_PATH_MAX];
		cfg_path(lp, sizeof(lp), "hooks.%s", cfg_hook_names[k]);
		yajl_val arr = json_get(hooks, cfg_hook_names[k]);
		if (!arr)
			continue;
		if ((rc = json_expect_array(arr, file, lp, err)))
			return rc;
		size_t len = arr->u.array.len;
		struct hy_hook_list *list = &cfg->hooks[k];
		list->v = calloc(len ? len : 1, sizeof(*list->v));
		if (!list->v)
			return cfg_oom(err, file);
		for (size_t i = 0; i < len; i++) {
			char hp[CFG_PATH_MAX];
			cfg_path(hp, sizeof(hp), "%s[%zu]", lp, i);
			list->n = i + 1;
			if ((rc = parse_hook(arr->u.array.values[i], file, hp, &list->v[i], err)))
				return rc;
		}
	}
	return 0;
}
