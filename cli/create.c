/* hyrun create [options] ID: sets the container up; its process waits for `start`. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"


static const char usage[] =
	"usage: hyrun create [options] ID\n\n"
	"Creates the container ID from the bundle's config.json; the process starts with `start`.\n\n"
	"options:\n"
	"  -b, --bundle DIR        bundle directory (default: the current directory)\n"
	"      --console-socket S  send the terminal's master fd to the unix socket S\n"
	"      --pid-file FILE     write the container process's pid to FILE\n"
	"      --no-pivot          use MS_MOVE instead of pivot_root\n"
	"      --no-new-keyring    keep the caller's session keyring\n"
	"      --preserve-fds N    pass N extra file descriptors (from fd 3) to the container\n"
	"  -h, --help              show this help\n";

int cli_parse_create_opts(const char *cmd, const char *usage_text, int argc, char **argv,
			  struct hy_create_opts *o, struct cli_run_flags *run_flags,
			  struct hy_error *err)
{
	enum { OPT_CONSOLE = 1000, OPT_PIDFILE, OPT_NOPIVOT, OPT_KEYRING, OPT_PRESERVE, OPT_KEEP,
	       OPT_NO_SUBREAPER, OPT_IMAGE };
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"console-socket", required_argument, NULL, OPT_CONSOLE},
		{"pid-file", required_argument, NULL, OPT_PIDFILE},
		{"no-pivot", no_argument, NULL, OPT_NOPIVOT},
		{"no-new-keyring", no_argument, NULL, OPT_KEYRING},
		{"preserve-fds", required_argument, NULL, OPT_PRESERVE},
		{"detach", no_argument, NULL, 'd'},
		{"keep", no_argument, NULL, OPT_KEEP},
		{"image", required_argument, NULL, OPT_IMAGE},
		{"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	if (!o->bundle)
		o->bundle = ".";
	int c, rc;
	while ((c = getopt_long(argc, argv, ":b:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case OPT_PIDFILE:
			o->pid_file = optarg;
			break;
		case OPT_NOPIVOT:
			o->no_pivot = true;
			break;
		case OPT_KEYRING:
			o->no_new_keyring = true;
			break;
		case OPT_PRESERVE:
			/* fds 3..3+n-1 must stay below any sane RLIMIT_NOFILE. */
			if ((rc = cli_parse_uint(optarg, "--preserve-fds", 1u << 20, &o->preserve_fds,
						 err)))
				return rc;
			break;
		case 'd':
		case OPT_KEEP:
		case OPT_NO_SUBREAPER:
		case OPT_IMAGE:
			if (!run_flags)
				return cli_usage_error(err, cmd, "unknown option '%s'", argv[optind - 1]);
			if (c == OPT_IMAGE)
				run_flags->image = optarg;
			else if (c == 'd')
				run_flags->detach = true;
			else if (c == OPT_KEEP)
				run_flags->keep = true;
			/* --no-subreaper: accepted for runc compatibility; nothing to do. */
			break;
		case 'h':
			cli_help(usage_text);
			return 1;
		case ':':
			return cli_usage_error(err, cmd, "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error(err, cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	return cli_one_id(argc, argv, cmd, &o->id, err);
}

int cmd_create(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	struct hy_create_opts o = {0};
	int rc = cli_parse_create_opts("create", usage, argc, argv, &o, NULL, err);
	if (rc)
		return rc > 0 ? 0 : rc;
	return container_create(&cli->rt, &o, err);
}
