/* hyrun resume ID: thaws a paused container. */
#include <getopt.h>

#include "cli/cli.h"

static const char usage[] = "usage: hyrun resume ID\n\n"
			    "Thaws every process of a container paused with `hyrun pause` (v1 "
			    "freezer.state,\nv2 cgroup.freeze).\n\n"
			    "options:\n"
			    "  -h, --help   show this help\n";

int cmd_resume(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		return cli_usage_error(err, "resume", "unknown option '%s'", argv[optind - 1]);
	}
	const char *id;
	int r = cli_one_id(argc, argv, "resume", &id, err);
	if (r < 0)
		return r;
	return container_resume(&cli->rt, id, err);
}
