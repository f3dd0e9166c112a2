/* hyrun pause ID: freezes every process of the container (cgroup freezer). */
#include <getopt.h>

#include "cli/cli.h"

static const char usage[] = "usage: hyrun pause ID\n\n"
			    "Freezes every process of the container (v1 freezer.state, v2 "
			    "cgroup.freeze);\n`hyrun resume ID` thaws them.\n\n"
			    "options:\n"
			    "  -h, --help   show this help\n";

int cmd_pause(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		return cli_usage_error(err, "pause", "unknown option '%s'", argv[optind - 1]);
	}
	const char *id;
	int r = cli_one_id(argc, argv, "pause", &id, err);
	if (r < 0)
		return r;
	return container_pause(&cli->rt, id, err);
}
