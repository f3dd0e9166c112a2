/* hyrun entry point: global flags (as crun/runc take them), then one command. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/security.h"

extern char **environ;

/* Commands nobody has written yet (not a missing part: every part is linked): they are listed
 * in HY_COMMANDS for the usage text and say they are not implemented. Every other command is a
 * link error when missing. */
#pragma weak cmd_checkpoint
#pragma weak cmd_restore
#pragma weak cmd_bench

struct command {
	const char *name;
	const char *help;
	hy_command_fn fn;
};

#define HY_TABLE_ENTRY(name, help) {#name, help, cmd_##name},
static const struct command commands[] = {HY_COMMANDS(HY_TABLE_ENTRY)};
#undef HY_TABLE_ENTRY

static void print_usage(FILE *f)
{
	fprintf(f, "usage: hyrun [global options] COMMAND [options] [ARGS...]\n\n"
		   "global options:\n"
		   "  --root DIR            state directory (default /run/hyrun)\n"
		   "  --log FILE            write errors and debug output to FILE\n"
		   "  --log-format FMT      text or json\n"
		   "  --debug               verbose logging\n"
		   "  --systemd-cgroup      use systemd slice:prefix:name cgroup paths\n"
		   "  --isolation LEVEL     container or vm (overrides the bundle's annotation)\n"
		   "  --image-root DIR      image store (default /var/lib/hyrun/images)\n"
		   "  --version, --help\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].fn)
			fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
}

static void print_version(void)
{
	printf("hyrun version %s\nspec: 1.2.0\n+SECCOMP +CAP +YAJL +CGROUP +KVM +VM\n",
	       HYRUN_VERSION);
}

enum { OPT_ROOT = 1000, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_ISOLATION,
       OPT_IMAGE_ROOT, OPT_CGROUP_MANAGER, OPT_ROOTLESS };

int main(int argc, char **argv)
{
	struct hy_cli cli = {.rt = {.root = "/run/hyrun"}, .argv0 = argv[0]};
	struct hy_error err = {0};
	static const struct option opts[] = {
		{"root", required_argument, NULL, OPT_ROOT},
		{"log", required_argument, NULL, OPT_LOG},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"debug", no_argument, NULL, OPT_DEBUG},
		{"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
		{"isolation", required_argument, NULL, OPT_ISOLATION},
		{"image-root", required_argument, NULL, OPT_IMAGE_ROOT},
		{"cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER},
		{"rootless", required_argument, NULL, OPT_ROOTLESS},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			cli.rt.root = optarg;
			break;
		case OPT_LOG:
			cli.log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "hyrun: --log-format: expected text or json, got '%s'\n",
					optarg);
				return 1;
			}
			cli.log_json = !strcmp(optarg, "json");
			break;
		case OPT_DEBUG:
			cli.rt.debug = true;
			break;
		case OPT_SYSTEMD:
			cli.rt.systemd_cgroup = true;
			break;
		case OPT_CGROUP_MANAGER:
			if (!strcmp(optarg, "systemd"))
				cli.rt.systemd_cgroup = true;
			else if (strcmp(optarg, "cgroupfs") && strcmp(optarg, "disabled")) {
				fprintf(stderr, "hyrun: --cgroup-manager: expected cgroupfs or systemd\n");
				return 1;
			}
			break;
		case OPT_ROOTLESS:
			break; /* accepted for crun/runc compatibility: rootless is detected */
		case OPT_ISOLATION:
			if (!strcmp(optarg, "container"))
				cli.rt.isolation = HY_ISOLATION_CONTAINER;
			else if (!strcmp(optarg, "vm"))
				cli.rt.isolation = HY_ISOLATION_VM;
			else {
				fprintf(stderr, "hyrun: --isolation: expected container or vm, got '%s'\n",
					optarg);
				return 1;
			}
			break;
		case OPT_IMAGE_ROOT:
			cli.rt.image_root = optarg;
			break;
		case 'v':
			print_version();
			return 0;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "hyrun: unknown global option '%s'\n", argv[optind - 1]);
			return 1;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return 1;
	}
	const char *name = argv[optind];
	/* Like runc: a relative --root means the same directory for every later command, whatever
	 * directory they run in (and the library chdirs while setting containers up). */
	char abs_root[4096];
	if (cli.rt.root[0] != '/') {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(abs_root, sizeof(abs_root), "%s/%s", cwd, cli.rt.root) >=
			    (int)sizeof(abs_root)) {
			fprintf(stderr, "hyrun: --root: cannot make '%s' absolute\n", cli.rt.root);
			return 1;
		}
		cli.rt.root = abs_root;
	}
	/* Before anything can enter a container: create/run/exec continue from a sealed copy of
	 * this binary (a no-op for the other commands). */
	if (security_ensure_sealed_self(argc, argv, environ, &err) < 0) {
		cli_log_error(&cli, err.msg);
		return 1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name))
			continue;
		if (!commands[i].fn) {
			fprintf(stderr, "hyrun: command '%s' is not available in this build\n", name);
			return 1;
		}
		/* Commands parse their own options with getopt; argv[0] is the command name. */
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		optind = 0; /* glibc: re-initialise getopt for the command's own parser */
		int rc = commands[i].fn(&cli, sub_argc, sub_argv, &err);
		if (rc < 0) {
			cli_log_error(&cli, err.msg[0] ? err.msg : strerror(-rc));
			return 1;
		}
		return rc;
	}
	fprintf(stderr, "hyrun: unknown command '%s' (see hyrun --help)\n", name);
	return 1;
}
