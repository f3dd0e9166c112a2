/* linux.seccomp from config.json into struct hy_seccomp. Every action, operator, architecture
 * and flag name is checked here so that a config that parses can always be loaded; only
 * syscall names are left to load time, because a name unknown to this libseccomp or kernel may
 * be valid elsewhere (the profile is shared between hosts) and is skipped, as crun does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/json.h"
#include "runtime/seccomp.h"
#include "runtime/seccomp_internal.h"

#define PATH_MAX_LEN 256

static int path_error(struct hy_error *err, const char *file, const char *path, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));
static int path_error(struct hy_error *err, const char *file, const char *path, const char *fmt,
		      ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hy_error_set(err, EINVAL, "%s: %s: %s", file, path, msg);
}

/* Paths only feed messages, so truncating a very deep one is harmless. */
static void subpath(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void subpath(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* A syscall name as libseccomp knows them: lower-case letters, digits, '_'. Anything else is
 * not a name on any architecture, so it is a typo or hostile and worth an error. */
static bool syscall_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static int parse_errno_ret(yajl_val obj, const char *key, const char *action, const char *file,
			   const char *path, bool *has, unsigned *out, struct hy_error *err)
{
	uint64_t v = 0;
	bool present = false;
	int rc = json_get_u64(obj, key, file, path, HY_SECCOMP_ERRNO_MAX, &v, &present, err);
	if (rc < 0)
		return rc;
	*has = present;
	*out = (unsigned)v;
	if (!present)
		return 0;
	const struct hy_seccomp_action_name *a = seccomp_action_lookup(action);
	if (a && !a->takes_errno) {
		char p[PATH_MAX_LEN];
		subpath(p, sizeof(p), "%s.%s", path, key);
		return path_error(err, file, p,
				  "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s",
				  action);
	}
	return 0;
}

static int parse_action(yajl_val obj, const char *key, const char *file, const char *path,
			char **out, struct hy_error *err)
{
	char p[PATH_MAX_LEN];
	subpath(p, sizeof(p), "%s.%s", path, key);
	int rc = json_get_string(obj, key, file, path, out, err);
	if (rc < 0)
		return rc;
	if (!*out)
		return hy_error_set(err, EINVAL, "%s: %s: required", file, p);
	if (!seccomp_action_lookup(*out))
		return path_error(err, file, p, "unknown action '%.64s'", *out);
	return 0;
}

static int parse_args(yajl_val arr, const char *file, const char *path,
		      struct hy_seccomp_syscall *sc, struct hy_error *err)
{
	int rc = json_expect_array(arr, file, path, err);
	if (rc < 0)
		return rc;
	size_t n = arr->u.array.len;
	if (n == 0)
		return 0;
	sc->args = calloc(n, sizeof(*sc->args));
	if (!sc->args)
		return hy_error_set(err, ENOMEM, "%s: out of memory", file);
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX_LEN];
		subpath(p, sizeof(p), "%s[%zu]", path, i);
		yajl_val a = arr->u.array.values[i];
		struct hy_seccomp_arg *arg = &sc->args[i];
		sc->n_args = i + 1;
		if ((rc = json_expect_object(a, file, p, err)) < 0)
			return rc;
		uint64_t index = 0, value = 0, value_two = 0;
		bool has_index = false, has_value = false;
		if ((rc = json_get_u64(a, "index", file, p, HY_SECCOMP_ARG_MAX - 1, &index,
				       &has_index, err)) < 0 ||
		    (rc = json_get_u64(a, "value", file, p, UINT64_MAX, &value, &has_value, err)) <
			0 ||
		    (rc = json_get_u64(a, "valueTwo", file, p, UINT64_MAX, &value_two, NULL, err)) <
			0 ||
		    (rc = json_get_string(a, "op", file, p, &arg->op, err)) < 0)
			return rc;
		if (!has_index)
			return hy_error_set(err, EINVAL, "%s: %s.index: required", file, p);
		if (!has_value)
			return hy_error_set(err, EINVAL, "%s: %s.value: required", file, p);
		if (!arg->op)
			return hy_error_set(err, EINVAL, "%s: %s.op: required", file, p);
		int op;
		if (!seccomp_op_lookup(arg->op, &op)) {
			char pp[PATH_MAX_LEN];
			subpath(pp, sizeof(pp), "%s.op", p);
			return path_error(err, file, pp, "unknown operator '%.64s'", arg->op);
		}
		arg->index = (unsigned)index;
		arg->value = value;
		arg->value_two = value_two;
	}
	return 0;
}

static int parse_syscall(yajl_val obj, const char *file, const char *path,
			 struct hy_seccomp_syscall *sc, struct hy_error *err)
{
	int rc = json_expect_object(obj, file, path, err);
	if (rc < 0)
		return rc;
	if ((rc = json_get_strv(obj, "names", file, path, &sc->names, err)) < 0)
		return rc;
	if (sc->names.n == 0)
		return hy_error_set(err, EINVAL, "%s: %s.names: needs at least one syscall name",
				    file, path);
	for (size_t i = 0; i < sc->names.n; i++) {
		if (!syscall_name_ok(sc->names.v[i])) {
			char p[PATH_MAX_LEN];
			subpath(p, sizeof(p), "%s.names[%zu]", path, i);
			return path_error(err, file, p, "invalid syscall name '%.64s'",
					  sc->names.v[i]);
		}
	}
	if ((rc = parse_action(obj, "action", file, path, &sc->action, err)) < 0)
		return rc;
	if ((rc = parse_errno_ret(obj, "errnoRet", sc->action, file, path, &sc->has_errno_ret,
				  &sc->errno_ret, err)) < 0)
		return rc;
	yajl_val args = json_get(obj, "args");
	if (args) {
		char p[PATH_MAX_LEN];
		subpath(p, sizeof(p), "%s.args", path);
		if ((rc = parse_args(args, file, p, sc, err)) < 0)
			return rc;
	}
	return 0;
}

static int check_names(const struct hy_strv *v, bool (*lookup)(const char *, void *),
		       const char *what, const char *file, const char *path, const char *key,
		       struct hy_error *err)
{
	for (size_t i = 0; i < v->n; i++) {
		if (!lookup(v->v[i], NULL)) {
			char p[PATH_MAX_LEN];
			subpath(p, sizeof(p), "%s.%s[%zu]", path, key, i);
			return path_error(err, file, p, "unknown %s '%.64s'", what, v->v[i]);
		}
	}
	return 0;
}

static bool arch_known(const char *name, void *unused)
{
	uint32_t a;
	return seccomp_arch_lookup(name, &a);
}

static bool flag_known(const char *name, void *unused)
{
	unsigned f;
	return seccomp_flag_lookup(name, &f);
}

static bool uses_notify(const struct hy_seccomp *s)
{
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (!strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY"))
			return true;
	return false;
}

static int parse_seccomp(yajl_val node, const char *file, const char *path, struct hy_seccomp *s,
			 struct hy_error *err)
{
	int rc = json_expect_object(node, file, path, err);
	if (rc < 0)
		return rc;
	if ((rc = parse_action(node, "defaultAction", file, path, &s->default_action, err)) < 0)
		return rc;
	if (!strcmp(s->default_action, "SCMP_ACT_NOTIFY"))
		return hy_error_set(err, EINVAL,
				    "%s: %s.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
				    "action (the runtime itself would block on its next syscall)",
				    file, path);
	if ((rc = parse_errno_ret(node, "defaultErrnoRet", s->default_action, file, path,
				  &s->has_default_errno_ret, &s->default_errno_ret, err)) < 0)
		return rc;
	if ((rc = json_get_strv(node, "architectures", file, path, &s->architectures, err)) < 0 ||
	    (rc = check_names(&s->architectures, arch_known, "architecture", file, path,
			      "architectures", err)) < 0)
		return rc;
	if ((rc = json_get_strv(node, "flags", file, path, &s->flags, err)) < 0 ||
	    (rc = check_names(&s->flags, flag_known, "flag", file, path, "flags", err)) < 0)
		return rc;
	if ((rc = json_get_string(node, "listenerPath", file, path, &s->listener_path, err)) < 0 ||
	    (rc = json_get_string(node, "listenerMetadata", file, path, &s->listener_metadata,
				  err)) < 0)
		return rc;
	if (s->listener_path && s->listener_path[0] != '/')
		return hy_error_set(err, EINVAL, "%s: %s.listenerPath: must be an absolute path",
				    file, path);
	if (s->listener_metadata && !s->listener_path)
		return hy_error_set(err, EINVAL,
				    "%s: %s.listenerMetadata: must not be set without listenerPath",
				    file, path);
	yajl_val calls = json_get(node, "syscalls");
	if (calls) {
		char p[PATH_MAX_LEN];
		subpath(p, sizeof(p), "%s.syscalls", path);
		if ((rc = json_expect_array(calls, file, p, err)) < 0)
			return rc;
		size_t n = calls->u.array.len;
		s->syscalls = n ? calloc(n, sizeof(*s->syscalls)) : NULL;
		if (n && !s->syscalls)
			return hy_error_set(err, ENOMEM, "%s: out of memory", file);
		for (size_t i = 0; i < n; i++) {
			char pi[PATH_MAX_LEN];
			subpath(pi, sizeof(pi), "%s[%zu]", p, i);
			s->n_syscalls = i + 1;
			if ((rc = parse_syscall(calls->u.array.values[i], file, pi, &s->syscalls[i],
						err)) < 0)
				return rc;
		}
	}
	if (uses_notify(s) && !s->listener_path)
		return hy_error_set(err, EINVAL,
				    "%s: %s.listenerPath: required when SCMP_ACT_NOTIFY is used",
				    file, path);
	return 0;
}

int seccomp_config_parse(yajl_val node, const char *file, const char *json_path,
			 struct hy_seccomp **out, struct hy_error *err)
{
	if (!file)
		file = "config.json";
	if (!json_path)
		json_path = "linux.seccomp";
	struct hy_seccomp *s = calloc(1, sizeof(*s));
	if (!s)
		return hy_error_set(err, ENOMEM, "%s: out of memory", file);
	int rc = parse_seccomp(node, file, json_path, s, err);
	if (rc < 0) {
		seccomp_config_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void seccomp_config_free(struct hy_seccomp *s)
{
	if (!s)
		return;
	free(s->default_action);
	hy_strv_free(&s->architectures);
	hy_strv_free(&s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		struct hy_seccomp_syscall *sc = &s->syscalls[i];
		hy_strv_free(&sc->names);
		free(sc->action);
		for (size_t j = 0; j < sc->n_args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
	free(s->prepared_bpf);
	free(s);
}
