/* hyrun state ID: prints the OCI state JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "runtime/state.h"

static const char usage[] = "usage: hyrun state ID\n\n"
			    "Prints the OCI state of container ID as JSON.\n\n"
			    "options:\n"
			    "  -h, --help   show this help\n";

int cmd_state(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		return cli_usage_error(err, "state", "unknown option '%s'", argv[optind - 1]);
	}
	const char *id;
	int rc = cli_one_id(argc, argv, "state", &id, err);
	if (rc)
		return rc;
	struct hy_state *st = NULL;
	if ((rc = state_read(cli->rt.root, id, &st, err)))
		return rc;
	char *json = state_to_json(st, true);
	state_free(st);
	if (!json)
		return hy_error_set(err, ENOMEM, "state: out of memory");
	printf("%s\n", json);
	free(json);
	return 0;
}
