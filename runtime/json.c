/* yajl tree helpers that know the file name and JSON path of every value they read. */
#include "runtime/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* config.json and process.json are a few KiB; anything this large is hostile or a mistake. */
#define JSON_MAX_FILE_BYTES (16u << 20)

/* yajl builds and frees its tree recursively: deep nesting would overflow our stack. Configs
 * nest a handful of levels; anything deeper than this is refused before yajl sees it. */
#define JSON_MAX_DEPTH 128

static bool nesting_too_deep(const char *buf, size_t len)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > JSON_MAX_DEPTH)
				return true;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return false;
}

int json_parse_buf(const char *buf, size_t len, const char *name, yajl_val *out,
		   struct hy_error *err)
{
	if (!buf)
		return hy_error_set(err, EINVAL, "%s: no data", name);
	if (len > JSON_MAX_FILE_BYTES)
		return hy_error_set(err, EFBIG, "%s: larger than %u bytes", name, JSON_MAX_FILE_BYTES);
	/* yajl_tree_parse needs a NUL-terminated string; an embedded NUL would silently cut the
	 * document short, so refuse it instead. */
	if (memchr(buf, '\0', len))
		return hy_error_set(err, EINVAL, "%s: invalid JSON: contains a NUL byte", name);
	if (nesting_too_deep(buf, len))
		return hy_error_set(err, EINVAL, "%s: invalid JSON: nested deeper than %d levels", name,
				    JSON_MAX_DEPTH);
	char *copy = malloc(len + 1);
	if (!copy)
		return hy_error_set(err, ENOMEM, "%s: out of memory", name);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	char errbuf[256] = "";
	yajl_val v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	free(copy);
	if (!v) {
		/* yajl's message spans several lines (with a caret); keep the first for one-line errors. */
		char *nl = strchr(errbuf, '\n');
		if (nl)
			*nl = '\0';
		return hy_error_set(err, EINVAL, "%s: invalid JSON: %s", name,
				    errbuf[0] ? errbuf : "parse error");
	}
	*out = v;
	return 0;
}

int json_parse_file(const char *path, const char *name, yajl_val *out, struct hy_error *err)
{
	if (!name)
		name = path;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hy_error_errno(err, errno, "%s: open %s", name, path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return hy_error_errno(err, e, "%s: fstat", name);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return hy_error_set(err, EINVAL, "%s: not a regular file", name);
	}
	if ((uint64_t)st.st_size > JSON_MAX_FILE_BYTES) {
		close(fd);
		return hy_error_set(err, EFBIG, "%s: larger than %u bytes", name, JSON_MAX_FILE_BYTES);
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return hy_error_set(err, ENOMEM, "%s: out of memory", name);
	}
	/* The file may change size under us; read until EOF but never beyond the limit. */
	for (;;) {
		if (len == cap) {
			if (cap > JSON_MAX_FILE_BYTES) {
				free(buf);
				close(fd);
				return hy_error_set(err, EFBIG, "%s: larger than %u bytes", name,
						    JSON_MAX_FILE_BYTES);
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return hy_error_set(err, ENOMEM, "%s: out of memory", name);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			return hy_error_errno(err, e, "%s: read", name);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	int rc = json_parse_buf(buf, len, name, out, err);
	free(buf);
	return rc;
}

char *json_path_key(const char *path, const char *key)
{
	char *s = NULL;
	if (!path || !*path)
		return strdup(key);
	if (asprintf(&s, "%s.%s", path, key) < 0)
		return NULL;
	return s;
}

char *json_path_index(const char *path, size_t index)
{
	char *s = NULL;
	if (asprintf(&s, "%s[%zu]", path ? path : "", index) < 0)
		return NULL;
	return s;
}

static int type_error(const char *file, const char *path, const char *key, const char *what,
		      struct hy_error *err)
{
	if (path && *path && key)
		return hy_error_set(err, EINVAL, "%s: %s.%s: expected %s", file, path, key, what);
	if (key)
		return hy_error_set(err, EINVAL, "%s: %s: expected %s", file, key, what);
	return hy_error_set(err, EINVAL, "%s: %s: expected %s", file, path && *path ? path : "(root)",
			    what);
}

int json_expect_object(yajl_val v, const char *file, const char *path, struct hy_error *err)
{
	return YAJL_IS_OBJECT(v) ? 0 : type_error(file, path, NULL, "object", err);
}

int json_expect_array(yajl_val v, const char *file, const char *path, struct hy_error *err)
{
	return YAJL_IS_ARRAY(v) ? 0 : type_error(file, path, NULL, "array", err);
}

yajl_val json_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj) || !key)
		return NULL;
	/* The last duplicate wins, as with Go's encoding/json (what runc reads configs with). */
	yajl_val found = NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (obj->u.object.keys[i] && !strcmp(obj->u.object.keys[i], key))
			found = obj->u.object.values[i];
	/* JSON null means "not set", as Go-generated configs write it for empty fields. */
	if (YAJL_IS_NULL(found))
		return NULL;
	return found;
}

int json_get_string(yajl_val obj, const char *key, const char *file, const char *path, char **out,
		    struct hy_error *err)
{
	yajl_val v = json_get(obj, key);
	if (!v)
		return 0;
	if (!YAJL_IS_STRING(v))
		return type_error(file, path, key, "string", err);
	char *s = strdup(v->u.string);
	if (!s)
		return hy_error_set(err, ENOMEM, "%s: out of memory", file);
	free(*out);
	*out = s;
	return 0;
}

int json_get_bool(yajl_val obj, const char *key, const char *file, const char *path, bool *out,
		  bool *present, struct hy_error *err)
{
	yajl_val v = json_get(obj, key);
	if (present)
		*present = false;
	if (!v)
		return 0;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return type_error(file, path, key, "boolean", err);
	*out = YAJL_IS_TRUE(v);
	if (present)
		*present = true;
	return 0;
}

int json_get_i64(yajl_val obj, const char *key, const char *file, const char *path, int64_t *out,
		 bool *present, struct hy_error *err)
{
	yajl_val v = json_get(obj, key);
	if (present)
		*present = false;
	if (!v)
		return 0;
	/* yajl clears INT_VALID for fractions, exponents and values outside long long. */
	if (!YAJL_IS_INTEGER(v))
		return type_error(file, path, key, "integer", err);
	*out = (int64_t)v->u.number.i;
	if (present)
		*present = true;
	return 0;
}

int json_get_u64(yajl_val obj, const char *key, const char *file, const char *path, uint64_t max,
		 uint64_t *out, bool *present, struct hy_error *err)
{
	yajl_val v = json_get(obj, key);
	if (present)
		*present = false;
	if (!v)
		return 0;
	if (!YAJL_IS_NUMBER(v))
		return type_error(file, path, key, "integer", err);
	/* Values up to UINT64_MAX do not fit yajl's long long, so read the raw text ourselves. */
	const char *r = v->u.number.r;
	uint64_t val = 0;
	bool ok = r && *r && *r != '-' && *r != '+';
	if (ok) {
		for (const char *p = r; *p; p++) {
			if (*p < '0' || *p > '9') {
				ok = false;
				break;
			}
			unsigned d = (unsigned)(*p - '0');
			if (val > (UINT64_MAX - d) / 10) {
				ok = false;
				break;
			}
			val = val * 10 + d;
		}
	}
	if (!ok || val > max) {
		if (path && *path)
			return hy_error_set(err, EINVAL,
					    "%s: %s.%s: expected integer between 0 and %" PRIu64, file,
					    path, key, max);
		return hy_error_set(err, EINVAL, "%s: %s: expected integer between 0 and %" PRIu64,
				    file, key, max);
	}
	*out = val;
	if (present)
		*present = true;
	return 0;
}

void hy_strv_free(struct hy_strv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

int json_get_strv(yajl_val obj, const char *key, const char *file, const char *path,
		  struct hy_strv *out, struct hy_error *err)
{
	yajl_val v = json_get(obj, key);
	if (!v)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return type_error(file, path, key, "array of strings", err);
	size_t n = v->u.array.len;
	struct hy_strv tmp = {.v = calloc(n + 1, sizeof(char *)), .n = 0};
	if (!tmp.v)
		return hy_error_set(err, ENOMEM, "%s: out of memory", file);
	for (size_t i = 0; i < n; i++) {
		yajl_val item = v->u.array.values[i];
		if (!YAJL_IS_STRING(item)) {
			hy_strv_free(&tmp);
			if (path && *path)
				return hy_error_set(err, EINVAL, "%s: %s.%s[%zu]: expected string", file,
						    path, key, i);
			return hy_error_set(err, EINVAL, "%s: %s[%zu]: expected string", file, key, i);
		}
		tmp.v[i] = strdup(item->u.string);
		if (!tmp.v[i]) {
			hy_strv_free(&tmp);
			return hy_error_set(err, ENOMEM, "%s: out of memory", file);
		}
		tmp.n = i + 1;
	}
	hy_strv_free(out);
	*out = tmp;
	return 0;
}

int json_gen_tree(yajl_gen g, yajl_val v)
{
	yajl_gen_status st = yajl_gen_status_ok;
	if (!v)
		return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -EINVAL;
	switch (v->type) {
	case yajl_t_string:
		st = yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
		break;
	case yajl_t_number:
		/* The raw text keeps big integers and fractions exactly as written. */
		st = yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		st = yajl_gen_map_open(g);
		for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.object.len; i++) {
			const char *k = v->u.object.keys[i];
			st = yajl_gen_string(g, (const unsigned char *)k, strlen(k));
			if (st == yajl_gen_status_ok && json_gen_tree(g, v->u.object.values[i]))
				return -EINVAL;
		}
		if (st == yajl_gen_status_ok)
			st = yajl_gen_map_close(g);
		break;
	case yajl_t_array:
		st = yajl_gen_array_open(g);
		for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.array.len; i++)
			if (json_gen_tree(g, v->u.array.values[i]))
				return -EINVAL;
		if (st == yajl_gen_status_ok)
			st = yajl_gen_array_close(g);
		break;
	case yajl_t_true:
		st = yajl_gen_bool(g, 1);
		break;
	case yajl_t_false:
		st = yajl_gen_bool(g, 0);
		break;
	default:
		st = yajl_gen_null(g);
		break;
	}
	return st == yajl_gen_status_ok ? 0 : -EINVAL;
}
