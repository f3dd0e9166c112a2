/* The process object: args, env, cwd, user, terminal, capabilities, rlimits and the other
 * per-process settings. Also used alone for `exec --process FILE`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "runtime/config_internal.h"
#include "runtime/security.h"


static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{"RLIMIT_AS", RLIMIT_AS},
	{"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

static int rlimit_resource(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(rlimit_names[i].name, name))
			return rlimit_names[i].resource;
	return -1;
}

static int parse_rlimits(yajl_val node, const char *file, const char *path, struct hy_process *p,
			 struct hy_error *err)
{
	char arr_path[CFG_PATH_MAX];
	cfg_path(arr_path, sizeof(arr_path), "%s%srlimits", path, *path ? "." : "");
	yajl_val arr = json_get(node, "rlimits");
	if (!arr)
		return 0;
	int rc = json_expect_array(arr, file, arr_path, err);
	if (rc)
		return rc;
	size_t len = arr->u.array.len;
	p->rlimits = calloc(len ? len : 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return cfg_oom(err, file);
	for (size_t i = 0; i < len; i++) {
		char ip[CFG_PATH_MAX];
		cfg_path(ip, sizeof(ip), "%s[%zu]", arr_path, i);
		yajl_val item = arr->u.array.values[i];
		struct hy_rlimit *r = &p->rlimits[i];
		bool has_soft = false, has_hard = false;
		if ((rc = json_expect_object(item, file, ip, err)))
			return rc;
		p->n_rlimits = i + 1;
		if ((rc = json_get_string(item, "type", file, ip, &r->type, err)) ||
		    (rc = json_get_u64(item, "soft", file, ip, UINT64_MAX, &r->soft, &has_soft, err)) ||
		    (rc = json_get_u64(item, "hard", file, ip, UINT64_MAX, &r->hard, &has_hard, err)))
			return rc;
		if (!r->type)
			return cfg_error(err, file, ip, "type: required");
		r->resource = rlimit_resource(r->type);
		if (r->resource < 0)
			return cfg_error(err, file, ip, "type: unknown rlimit \"%s\"", r->type);
		if (!has_soft || !has_hard)
			return cfg_error(err, file, ip, "soft and hard are required");
		if (r->soft > r->hard)
			return cfg_error(err, file, ip, "soft limit %llu exceeds hard limit %llu",
					 (unsigned long long)r->soft, (unsigned long long)r->hard);
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == r->resource)
				return cfg_error(err, file, ip, "type: %s given twice", r->type);
	}
	return 0;
}

static int parse_user(yajl_val node, const char *file, const char *path, struct hy_user *u,
		      struct hy_error *err)
{
	char up[CFG_PATH_MAX];
	cfg_path(up, sizeof(up), "%s%suser", path, *path ? "." : "");
	yajl_val user = json_get(node, "user");
	if (!user)
		return 0; /* root, as Go runtimes read a missing user */
	int rc = json_expect_object(user, file, up, err);
	uint64_t uid = 0, gid = 0, umask = 0;
	bool has_umask = false;
	/* (uid_t)-1 means "unchanged" to the kernel, so it is not a valid id. */
	if (!rc)
		rc = json_get_u64(user, "uid", file, up, UINT32_MAX - 1, &uid, NULL, err);
	if (!rc)
		rc = json_get_u64(user, "gid", file, up, UINT32_MAX - 1, &gid, NULL, err);
	if (!rc)
		rc = json_get_u64(user, "umask", file, up, 0777, &umask, &has_umask, err);
	if (!rc)
		rc = json_get_string(user, "username", file, up, &u->username, err);
	if (rc)
		return rc;
	u->uid = (uid_t)uid;
	u->gid = (gid_t)gid;
	u->has_umask = has_umask;
	u->umask = (mode_t)umask;
	yajl_val gids = json_get(user, "additionalGids");
	if (!gids)
		return 0;
	char gp[CFG_PATH_MAX];
	cfg_path(gp, sizeof(gp), "%s.additionalGids", up);
	if ((rc = json_expect_array(gids, file, gp, err)))
		return rc;
	/* NGROUPS_MAX on Linux. */
	if (gids->u.array.len > 65536)
		return cfg_error(err, file, gp, "more than 65536 groups");
	u->additional_gids = calloc(gids->u.array.len ? gids->u.array.len : 1, sizeof(gid_t));
	if (!u->additional_gids)
		return cfg_oom(err, file);
	for (size_t i = 0; i < gids->u.array.len; i++) {
		yajl_val g = gids->u.array.values[i];
		char *end = NULL;
		const char *raw = YAJL_IS_NUMBER(g) ? g->u.number.r : NULL;
		unsigned long long n = raw ? strtoull(raw, &end, 10) : 0;
		if (!raw || !*raw || *end || raw[0] == '-' || n > UINT32_MAX - 1) {
			char ip[CFG_PATH_MAX];
			cfg_path(ip, sizeof(ip), "%s[%zu]", gp, i);
			return cfg_error(err, file, ip, "expected integer between 0 and %u",
					 UINT32_MAX - 1);
		}
		u->additional_gids[i] = (gid_t)n;
		u->n_additional_gids = i + 1;
	}
	return 0;
}

static int parse_capabilities(yajl_val node, const char *file, const char *path,
			      struct hy_process *p, struct hy_error *err)
{
	char cp[CFG_PATH_MAX];
	cfg_path(cp, sizeof(cp), "%s%scapabilities", path, *path ? "." : "");
	yajl_val caps = json_get(node, "capabilities");
	if (!caps)
		return 0;
	int rc = json_expect_object(caps, file, cp, err);
	if (rc)
		return rc;
	p->capabilities = calloc(1, sizeof(*p->capabilities));
	if (!p->capabilities)
		return cfg_oom(err, file);
	struct hy_capabilities *c = p->capabilities;
	if ((rc = json_get_strv(caps, "bounding", file, cp, &c->bounding, err)) ||
	    (rc = json_get_strv(caps, "effective", file, cp, &c->effective, err)) ||
	    (rc = json_get_strv(caps, "inheritable", file, cp, &c->inheritable, err)) ||
	    (rc = json_get_strv(caps, "permitted", file, cp, &c->permitted, err)) ||
	    (rc = json_get_strv(caps, "ambient", file, cp, &c->ambient, err)))
		return rc;
	if ((rc = caps_validate(c, cp, err)))
		return hy_error_prefix(err, "%s", file);
	return 0;
}

static int parse_io_priority(yajl_val node, const char *file, const char *path,
			     struct hy_process *p, struct hy_error *err)
{
	char ip[CFG_PATH_MAX];
	cfg_path(ip, sizeof(ip), "%s%sioPriority", path, *path ? "." : "");
	yajl_val io = json_get(node, "ioPriority");
	if (!io)
		return 0;
	int rc = json_expect_object(io, file, ip, err);
	char *cls = NULL;
	uint64_t prio = 0;
	if (!rc)
		rc = json_get_string(io, "class", file, ip, &cls, err);
	if (!rc)
		rc = json_get_u64(io, "priority", file, ip, 7, &prio, NULL, err);
	if (!rc) {
		/* IOPRIO_CLASS_* values from linux/ioprio.h. */
		if (cls && !strcmp(cls, "IOPRIO_CLASS_RT"))
			p->io_priority_class = 1;
		else if (cls && !strcmp(cls, "IOPRIO_CLASS_BE"))
			p->io_priority_class = 2;
		else if (cls && !strcmp(cls, "IOPRIO_CLASS_IDLE"))
			p->io_priority_class = 3;
		else
			rc = cfg_error(err, file, ip,
				       "class: expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or "
				       "IOPRIO_CLASS_IDLE");
	}
	free(cls);
	if (!rc) {
		p->has_io_priority = true;
		p->io_priority = (int)prio;
	}
	return rc;
}

static int parse_console_size(yajl_val node, const char *file, const char *path,
			      struct hy_process *p, struct hy_error *err)
{
	char sp[CFG_PATH_MAX];
	cfg_path(sp, sizeof(sp), "%s%sconsoleSize", path, *path ? "." : "");
	yajl_val cs = json_get(node, "consoleSize");
	if (!cs)
		return 0;
	uint64_t h = 0, w = 0;
	bool has_h = false, has_w = false;
	/* struct winsize holds unsigned shorts. */
	int rc = json_expect_object(cs, file, sp, err);
	if (!rc)
		rc = json_get_u64(cs, "height", file, sp, 65535, &h, &has_h, err);
	if (!rc)
		rc = json_get_u64(cs, "width", file, sp, 65535, &w, &has_w, err);
	if (!rc && (!has_h || !has_w))
		rc = cfg_error(err, file, sp, "height and width are required");
	if (rc)
		return rc;
	p->has_console_size = true;
	p->console_height = (unsigned)h;
	p->console_width = (unsigned)w;
	return 0;
}

static int check_env(const struct hy_strv *env, const char *file, const char *path,
		     struct hy_error *err)
{
	for (size_t i = 0; i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');
		if (!eq || eq == env->v[i]) {
			char ep[CFG_PATH_MAX];
			cfg_path(ep, sizeof(ep), "%s[%zu]", path, i);
			return cfg_error(err, file, ep, "expected KEY=VALUE, got \"%s\"", env->v[i]);
		}
	}
	return 0;
}

int cfg_parse_process(yajl_val node, const char *file, const char *path, struct hy_process **out,
		      struct hy_error *err)
{
	const char *shown = *path ? path : "(root)";
	if (!YAJL_IS_OBJECT(node))
		return cfg_error(err, file, shown, "expected object");
	struct hy_process *p = calloc(1, sizeof(*p));
	if (!p)
		return cfg_oom(err, file);
	char sub[CFG_PATH_MAX];
	const char *dot = *path ? "." : "";
	int64_t oom = 0;
	int rc = json_get_bool(node, "terminal", file, path, &p->terminal, NULL, err);
	if (!rc)
		rc = parse_console_size(node, file, path, p, err);
	if (!rc)
		rc = parse_user(node, file, path, &p->user, err);
	if (!rc)
		rc = json_get_strv(node, "args", file, path, &p->args, err);
	if (!rc && p->args.n == 0) {
		cfg_path(sub, sizeof(sub), "%s%sargs", path, dot);
		rc = cfg_error(err, file, sub, "must contain at least one element");
	}
	if (!rc && !*p->args.v[0]) {
		cfg_path(sub, sizeof(sub), "%s%sargs[0]", path, dot);
		rc = cfg_error(err, file, sub, "must not be empty");
	}
	if (!rc)
		rc = json_get_strv(node, "env", file, path, &p->env, err);
	if (!rc) {
		cfg_path(sub, sizeof(sub), "%s%senv", path, dot);
		rc = check_env(&p->env, file, sub, err);
	}
	if (!rc)
		rc = json_get_string(node, "cwd", file, path, &p->cwd, err);
	if (!rc && !cfg_is_absolute(p->cwd)) {
		cfg_path(sub, sizeof(sub), "%s%scwd", path, dot);
		rc = p->cwd ? cfg_error(err, file, sub, "must be an absolute path, got \"%s\"", p->cwd)
			    : cfg_error(err, file, sub, "required");
	}
	if (!rc)
		rc = parse_capabilities(node, file, path, p, err);
	if (!rc)
		rc = parse_rlimits(node, file, path, p, err);
	if (!rc)
		rc = json_get_bool(node, "noNewPrivileges", file, path, &p->no_new_privileges, NULL,
				   err);
	if (!rc)
		rc = json_get_string(node, "apparmorProfile", file, path, &p->apparmor_profile, err);
	if (!rc)
		rc = json_get_string(node, "selinuxLabel", file, path, &p->selinux_label, err);
	if (!rc)
		rc = json_get_i64(node, "oomScoreAdj", file, path, &oom, &p->has_oom_score_adj, err);
	if (!rc && p->has_oom_score_adj && (oom < -1000 || oom > 1000)) {
		cfg_path(sub, sizeof(sub), "%s%soomScoreAdj", path, dot);
		rc = cfg_error(err, file, sub, "expected integer between -1000 and 1000");
	}
	p->oom_score_adj = (int)oom;
	if (!rc)
		rc = parse_io_priority(node, file, path, p, err);
	if (rc) {
		config_process_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int config_parse_process_file(const char *path, struct hy_process **out, struct hy_error *err)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	yajl_val root = NULL;
	int rc = json_parse_file(path, base, &root, err);
	if (rc)
		return rc;
	rc = cfg_parse_process(root, base, "", out, err);
	yajl_tree_free(root);
	return rc;
}

void config_process_free(struct hy_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	hy_strv_free(&p->args);
	hy_strv_free(&p->env);
	free(p->cwd);
	if (p->capabilities) {
		hy_strv_free(&p->capabilities->bounding);
		hy_strv_free(&p->capabilities->effective);
		hy_strv_free(&p->capabilities->inheritable);
		hy_strv_free(&p->capabilities->permitted);
		hy_strv_free(&p->capabilities->ambient);
		free(p->capabilities);
	}
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p);
}
