/* hyrun start ID: lets a created container's process exec the user's program. */
#include <getopt.h>

#include "cli/cli.h"


static const char usage[] = "usage: hyrun start ID\n\n"
			    "Starts the created container ID (runs its process's program).\n\n"
			    "options:\n"
			    "  -h, --help   show this help\n";

int cmd_start(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		return cli_usage_error(err, "start", "unknown option '%s'", argv[optind - 1]);
	}
	const char *id;
	int rc = cli_one_id(argc, argv, "start", &id, err);
	if (rc)
		return rc;
	return container_start(&cli->rt, id, err);
}
