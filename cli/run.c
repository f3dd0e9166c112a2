/* hyrun run [options] ID: create + start, then wait and return the process's exit status. */
#include <stdio.h>

#include "cli/cli.h"


static const char usage[] =
	"usage: hyrun run [options] ID\n\n"
	"Creates and starts the container ID, waits for it, and exits with its status\n"
	"(128+N when killed by signal N). Without --keep the container is deleted afterwards.\n\n"
	"options:\n"
	"  -b, --bundle DIR        bundle directory (default: the current directory)\n"
	"  -d, --detach            return once the container runs\n"
	"      --keep              keep the stopped container (remove it with `delete`)\n"
	"      --console-socket S  send the terminal's master fd to the unix socket S\n"
	"      --pid-file FILE     write the container process's pid to FILE\n"
	"      --no-pivot          use MS_MOVE instead of pivot_root\n"
	"      --no-new-keyring    keep the caller's session keyring\n"
	"      --preserve-fds N    pass N extra file descriptors (from fd 3) to the container\n"
	"  -h, --help              show this help\n";

int cmd_run(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	struct hy_create_opts o = {0};
	struct cli_run_flags f = {0};
	int rc = cli_parse_create_opts("run", usage, argc, argv, &o, &f, err);
	if (rc)
		return rc > 0 ? 0 : rc;
	int status = 0;
	rc = container_run(&cli->rt, &o, f.detach, f.keep, &status, err);
	if (rc < 0)
		return rc;
	return f.detach ? 0 : status;
}
