/* hyrun exec [options] ID [COMMAND [ARGS...]]: runs a process inside a running container.
 * With --process FILE the process is read from FILE; otherwise it is the container's own
 * config.json process (env, caps, rlimits, user...) with the command and flags applied on top,
 * as runc builds it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/config.h"
#include "runtime/json.h"
#include "runtime/security.h"
#include "runtime/state.h"


static const char usage[] =
	"usage: hyrun exec [options] ID COMMAND [ARGS...]\n"
	"       hyrun exec [options] --process FILE ID\n\n"
	"Runs a process in the running container ID and exits with its status.\n\n"
	"options:\n"
	"  -p, --process FILE        the process as an OCI process JSON object\n"
	"  -t, --tty                 allocate a terminal\n"
	"  -d, --detach              do not wait for the process\n"
	"  -e, --env KEY=VALUE       set an environment variable (repeatable)\n"
	"      --cwd DIR             working directory inside the container\n"
	"  -u, --user UID[:GID]      run as this user\n"
	"  -g, --additional-gids G   add a supplementary group (repeatable)\n"
	"  -c, --cap CAP             add a capability (repeatable)\n"
	"      --no-new-privs        set no_new_privs for the process\n"
	"      --apparmor PROFILE    AppArmor profile\n"
	"      --pid-file FILE       write the process's pid to FILE\n"
	"      --console-socket S    send the terminal's master fd to the unix socket S\n"
	"      --preserve-fds N      pass N extra file descriptors (from fd 3)\n"
	"  -h, --help                show this help\n";

struct exec_flags {
	const char *process_file;
	bool tty, has_tty, detach, no_new_privs;
	const char *cwd, *user, *apparmor, *pid_file, *console_socket;
	unsigned preserve_fds;
	struct hy_strv env, caps, gids; /* borrowed strings */
};

static int strv_push(struct hy_strv *v, const char *s, bool copy)
{
	char **nv = realloc(v->v, (v->n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	v->v = nv;
	nv[v->n] = copy ? strdup(s) : (char *)s;
	if (!nv[v->n])
		return -ENOMEM;
	nv[++v->n] = NULL;
	return 0;
}

/* KEY=VALUE replaces an existing KEY (later -e wins), else is appended. */
static int env_set(struct hy_strv *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], kv, klen) && env->v[i][klen] == '=') {
			char *s = strdup(kv);
			if (!s)
				return -ENOMEM;
			free(env->v[i]);
			env->v[i] = s;
			return 0;
		}
	}
	return strv_push(env, kv, true);
}

static int parse_user(const char *s, struct hy_user *u, struct hy_error *err)
{
	char *end;
	errno = 0;
	unsigned long uid = strtoul(s, &end, 10);
	if (end == s || errno || s[0] == '-' || uid >= UINT32_MAX || (*end && *end != ':'))
		return hy_error_set(err, EINVAL, "exec: --user: expected UID[:GID], got '%s'", s);
	u->uid = (uid_t)uid;
	if (*end == ':') {
		const char *g = end + 1;
		unsigned long gid = strtoul(g, &end, 10);
		if (end == g || errno || g[0] == '-' || gid >= UINT32_MAX || *end)
			return hy_error_set(err, EINVAL, "exec: --user: expected UID[:GID], got '%s'",
					    s);
		u->gid = (gid_t)gid;
	}
	return 0;
}

/* The container's config.json process, or a bare one when the config has none. */
static int base_process(const struct hy_cli *cli, const char *id, struct hy_process **out,
			struct hy_error *err)
{
	struct hy_state *st = NULL;
	int rc = state_read(cli->rt.root, id, &st, err);
	if (rc)
		return rc;
	struct hy_config *cfg = NULL;
	rc = st->bundle ? config_load(st->bundle, &cfg, err)
			: hy_error_set(err, EINVAL, "container '%s' has no bundle", id);
	state_free(st);
	if (rc)
		return hy_error_prefix(err, "exec: container '%s'", id);
	struct hy_process *p = cfg->process;
	cfg->process = NULL;
	config_free(cfg);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || !(p->cwd = strdup("/"))) {
			free(p);
			return hy_error_set(err, ENOMEM, "exec: out of memory");
		}
	}
	*out = p;
	return 0;
}

static int build_process(const struct hy_cli *cli, const char *id, const struct exec_flags *f,
			 int argc, char **argv, struct hy_process **out, struct hy_error *err)
{
	struct hy_process *p = NULL;
	int rc;
	if (f->process_file) {
		if ((rc = config_parse_process_file(f->process_file, &p, err)))
			return hy_error_prefix(err, "exec: --process");
	} else {
		if (argc == 0)
			return cli_usage_error(err, "exec", "missing the command to run");
		if ((rc = base_process(cli, id, &p, err)))
			return rc;
		hy_strv_free(&p->args);
		for (int i = 0; i < argc; i++)
			if (strv_push(&p->args, argv[i], true))
				goto oom;
		/* The config's console size is for the container's own terminal. */
		p->terminal = false;
		p->has_console_size = false;
	}
	if (f->has_tty)
		p->terminal = f->tty;
	for (size_t i = 0; i < f->env.n; i++) {
		if (!strchr(f->env.v[i], '=') || f->env.v[i][0] == '=') {
			config_process_free(p);
			return hy_error_set(err, EINVAL, "exec: --env: expected KEY=VALUE, got '%s'",
					    f->env.v[i]);
		}
		if (env_set(&p->env, f->env.v[i]))
			goto oom;
	}
	if (f->cwd) {
		if (f->cwd[0] != '/') {
			config_process_free(p);
			return hy_error_set(err, EINVAL, "exec: --cwd: must be an absolute path, got '%s'",
					    f->cwd);
		}
		char *s = strdup(f->cwd);
		if (!s)
			goto oom;
		free(p->cwd);
		p->cwd = s;
	}
	if (f->user && (rc = parse_user(f->user, &p->user, err))) {
		config_process_free(p);
		return rc;
	}
	for (size_t i = 0; i < f->gids.n; i++) {
		unsigned g;
		if ((rc = cli_parse_uint(f->gids.v[i], "exec: --additional-gids", UINT32_MAX - 1, &g,
					 err))) {
			config_process_free(p);
			return rc;
		}
		gid_t *ng = realloc(p->user.additional_gids,
				    (p->user.n_additional_gids + 1) * sizeof(gid_t));
		if (!ng)
			goto oom;
		p->user.additional_gids = ng;
		ng[p->user.n_additional_gids++] = (gid_t)g;
	}
	if (f->caps.n) {
		if (!p->capabilities && !(p->capabilities = calloc(1, sizeof(*p->capabilities))))
			goto oom;
		/* sec's helper: validates the names, adds them to every set runc does. */
		if ((rc = caps_add_names(p->capabilities, (const char *const *)f->caps.v, f->caps.n,
					 err))) {
			config_process_free(p);
			return hy_error_prefix(err, "exec");
		}
	}
	if (f->no_new_privs)
		p->no_new_privileges = true;
	if (f->apparmor) {
		char *s = strdup(f->apparmor);
		if (!s)
			goto oom;
		free(p->apparmor_profile);
		p->apparmor_profile = s;
	}
	*out = p;
	return 0;
oom:
	config_process_free(p);
	return hy_error_set(err, ENOMEM, "exec: out of memory");
}

static int parse_flags(int argc, char **argv, struct exec_flags *f, struct hy_error *err)
{
	enum { OPT_CWD = 1000, OPT_NNP, OPT_APPARMOR, OPT_PIDFILE, OPT_CONSOLE, OPT_PRESERVE,
	       OPT_LABEL, OPT_CGROUP, OPT_IGNORE_PAUSED };
	static const struct option opts[] = {
		{"process", required_argument, NULL, 'p'},
		{"tty", no_argument, NULL, 't'},
		{"detach", no_argument, NULL, 'd'},
		{"env", required_argument, NULL, 'e'},
		{"cwd", required_argument, NULL, OPT_CWD},
		{"user", required_argument, NULL, 'u'},
		{"additional-gids", required_argument, NULL, 'g'},
		{"cap", required_argument, NULL, 'c'},
		{"no-new-privs", no_argument, NULL, OPT_NNP},
		{"apparmor", required_argument, NULL, OPT_APPARMOR},
		{"process-label", required_argument, NULL, OPT_LABEL},
		{"pid-file", required_argument, NULL, OPT_PIDFILE},
		{"console-socket", required_argument, NULL, OPT_CONSOLE},
		{"preserve-fds", required_argument, NULL, OPT_PRESERVE},
		{"cgroup", required_argument, NULL, OPT_CGROUP},
		{"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, rc;
	/* '+': the command after the id keeps its own options. */
	while ((c = getopt_long(argc, argv, "+:p:tde:u:g:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			f->process_file = optarg;
			break;
		case 't':
			f->tty = f->has_tty = true;
			break;
		case 'd':
			f->detach = true;
			break;
		case 'e':
			if (strv_push(&f->env, optarg, false))
				return hy_error_set(err, ENOMEM, "exec: out of memory");
			break;
		case OPT_CWD:
			f->cwd = optarg;
			break;
		case 'u':
			f->user = optarg;
			break;
		case 'g':
			if (strv_push(&f->gids, optarg, false))
				return hy_error_set(err, ENOMEM, "exec: out of memory");
			break;
		case 'c':
			if (strv_push(&f->caps, optarg, false))
				return hy_error_set(err, ENOMEM, "exec: out of memory");
			break;
		case OPT_NNP:
			f->no_new_privs = true;
			break;
		case OPT_APPARMOR:
			f->apparmor = optarg;
			break;
		case OPT_LABEL:
			break; /* SELinux is not enabled on the hosts hyrun targets; accepted */
		case OPT_IGNORE_PAUSED:
			break; /* accepted for runc compatibility; container_exec decides about paused */
		case OPT_CGROUP:
			return cli_usage_error(err, "exec", "--cgroup is not supported");
		case OPT_PIDFILE:
			f->pid_file = optarg;
			break;
		case OPT_CONSOLE:
			f->console_socket = optarg;
			break;
		case OPT_PRESERVE:
			if ((rc = cli_parse_uint(optarg, "--preserve-fds", 1u << 20, &f->preserve_fds,
						 err)))
				return rc;
			break;
		case 'h':
			return 1;
		case ':':
			return cli_usage_error(err, "exec", "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error(err, "exec", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

int cmd_exec(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	struct exec_flags f = {0};
	int rc = parse_flags(argc, argv, &f, err);
	if (rc == 1)
		rc = cli_help(usage);
	else if (!rc && optind >= argc)
		rc = cli_usage_error(err, "exec", "missing container id");
	else if (!rc && f.process_file && optind + 1 < argc)
		rc = cli_usage_error(err, "exec", "--process cannot be combined with a command");
	struct hy_process *p = NULL;
	if (!rc && optind < argc) {
		const char *id = argv[optind];
		rc = build_process(cli, id, &f, argc - optind - 1, argv + optind + 1, &p, err);
		if (!rc) {
			struct hy_exec_opts o = {
				.id = id,
				.process = p,
				.console_socket = f.console_socket,
				.pid_file = f.pid_file,
				.detach = f.detach,
				.preserve_fds = f.preserve_fds,
			};
			int status = 0;
			rc = container_exec(&cli->rt, &o, &status, err);
			if (rc >= 0)
				rc = f.detach ? 0 : status;
		}
	}
	config_process_free(p);
	free(f.env.v);
	free(f.caps.v);
	free(f.gids.v);
	return rc;
}
