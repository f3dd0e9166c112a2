/* yajl tree helpers that produce hyrun's error messages: every getter knows the file name and the
 * JSON path of the value, so a bad value is reported as
 *   "config.json: linux.resources.memory.limit: expected integer".
 * Absent keys are not errors: the getter leaves *out unchanged and sets *present (if given) false. */
#ifndef HYRUN_JSON_H
#define HYRUN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* Parses a whole file / buffer; errors name the file and yajl's message. Free with yajl_tree_free. */
int json_parse_file(const char *path, const char *name, yajl_val *out, struct hy_error *err);
int json_parse_buf(const char *buf, size_t len, const char *name, yajl_val *out,
		   struct hy_error *err);

/* "path.key" or "path[i]" helpers for messages; return a static-free heap string. */
char *json_path_key(const char *path, const char *key);
char *json_path_index(const char *path, size_t index);

/* Type checks: "<file>: <path>: expected object" etc. */
int json_expect_object(yajl_val v, const char *file, const char *path, struct hy_error *err);
int json_expect_array(yajl_val v, const char *file, const char *path, struct hy_error *err);

/* Looks up key in object obj (NULL when absent). */
yajl_val json_get(yajl_val obj, const char *key);

/* Getters for obj[key]; path is obj's own path. *out is strdup'ed for strings. */
int json_get_string(yajl_val obj, const char *key, const char *file, const char *path, char **out,
		    struct hy_error *err);
int json_get_bool(yajl_val obj, const char *key, const char *file, const char *path, bool *out,
		  bool *present, struct hy_error *err);
int json_get_i64(yajl_val obj, const char *key, const char *file, const char *path, int64_t *out,
		 bool *present, struct hy_error *err);
/* Rejects negatives and values above max ("expected integer between 0 and max"). */
int json_get_u64(yajl_val obj, const char *key, const char *file, const char *path, uint64_t max,
		 uint64_t *out, bool *present, struct hy_error *err);
int json_get_strv(yajl_val obj, const char *key, const char *file, const char *path,
		  struct hy_strv *out, struct hy_error *err);

void hy_strv_free(struct hy_strv *v);

/* Writes a parsed tree through a generator (re-serialising, e.g. pretty-printing). 0 or -EINVAL. */
#include <yajl/yajl_gen.h>
int json_gen_tree(yajl_gen g, yajl_val v);

#endif
