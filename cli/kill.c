/* hyrun kill [--all] ID [SIGNAL]: signals the container's init (or every process). */
#include <getopt.h>
#include <signal.h>

#include "cli/cli.h"


static const char usage[] =
	"usage: hyrun kill [options] ID [SIGNAL]\n\n"
	"Sends SIGNAL (a name such as TERM or SIGKILL, or a number; default SIGTERM) to the\n"
	"container's init process.\n\n"
	"options:\n"
	"  -a, --all    send the signal to every process of the container\n"
	"  -h, --help   show this help\n";

int cmd_kill(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_usage_error(err, "kill", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error(err, "kill", "missing container id");
	const char *id = argv[optind];
	int sig = SIGTERM, rc;
	if (argc - optind > 2)
		return cli_usage_error(err, "kill", "unexpected argument '%s'", argv[optind + 2]);
	if (argc - optind == 2 && (rc = cli_parse_signal(argv[optind + 1], &sig, err)))
		return rc;
	return container_kill(&cli->rt, id, sig, all, err);
}
