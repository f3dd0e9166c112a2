/* Shared between the runtime/config*.c files only: one parser per subject of config.json.
 * Each parser fills its part of struct hy_config and reports errors as
 * "<file>: <json path>: <problem>"; on error the partly filled config is freed by config_free. */
#ifndef HYRUN_CONFIG_INTERNAL_H
#define HYRUN_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <yajl/yajl_tree.h>

#include "runtime/config.h"
#include "runtime/error.h"
#include "runtime/json.h"

/* Longest JSON path we build for messages; longer ones are truncated (messages only). */
#define CFG_PATH_MAX 256

/* snprintf into a path buffer; truncation only shortens a message. */
void cfg_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "<file>: <path>: <msg>" with EINVAL. */
int cfg_error(struct hy_error *err, const char *file, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

int cfg_oom(struct hy_error *err, const char *file);

bool cfg_is_absolute(const char *p);

/* An array of {containerID, hostID, size} objects at path. */
int cfg_parse_id_mappings(yajl_val arr, const char *file, const char *path,
			  struct hy_id_mapping **out, size_t *n, struct hy_error *err);

/* An object of string values (annotations, sysctl) at path. */
int cfg_parse_string_map(yajl_val obj, const char *file, const char *path, struct hy_kv **out,
			 size_t *n, struct hy_error *err);
void cfg_free_kv(struct hy_kv *kv, size_t n);

/* The process object; path is its location ("process", or "" for exec --process files). */
int cfg_parse_process(yajl_val node, const char *file, const char *path, struct hy_process **out,
		      struct hy_error *err);

int cfg_parse_mounts(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err);
void cfg_free_mounts(struct hy_mount *m, size_t n);

int cfg_parse_hooks(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err);
void cfg_free_hooks(struct hy_hook_list *hooks);

int cfg_parse_linux(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err);
void cfg_free_linux(struct hy_linux *l);

/* Names as written in config.json ("pid", "network", ...), indexed by enum hy_ns_type. */
extern const char *const cfg_namespace_names[HY_NS__COUNT];

/* The hooks object's keys ("prestart", ...), indexed by enum hy_hook_kind. */
extern const char *const cfg_hook_names[HY_HOOK__COUNT];

#endif
