/* hyrun run [options] ID: create + start, then wait and return the process's exit status. */
#include <stdio.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"


static const char usage[] =
	"usage: hyrun run [options] ID\n\n"
	"Creates and starts the container ID, waits for it, and exits with its status\n"
	"(128+N when killed by signal N). Without --keep the container is deleted afterwards.\n\n"
	"options:\n"
	"  -b, --bundle DIR        bundle directory (default: the current directory)\n"
	"  -d, --detach            return once the container runs\n"
	"      --keep              keep the stopped container (remove it with `delete`)\n"
	"      --image NAME        unpack image NAME from the image store as the bundle\n"
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
	/* With --image the bundle lives in the image store, keyed by the container id, and goes
	 * away with the container (here, or in `delete` for detached/kept ones). */
	char *image_bundle = NULL;
	if (f.image) {
		struct image_unpack_opts io = {
			.isolation = cli->rt.isolation == HY_ISOLATION_VM ? "vm" : NULL};
		if ((rc = image_bundle_path(cli->rt.image_root, o.id, &image_bundle, err)))
			return rc;
		/* A bundle already there belongs to another container with this id: keep it. */
		if (access(image_bundle, F_OK) == 0) {
			rc = hy_error_set(err, EEXIST, "container '%s': %s already exists", o.id,
					  image_bundle);
			free(image_bundle);
			return rc;
		}
		if ((rc = image_unpack_to_bundle(cli->rt.image_root, f.image, image_bundle, &io,
						 err))) {
			image_bundle_remove(cli->rt.image_root, o.id);
			free(image_bundle);
			return rc;
		}
		o.bundle = image_bundle;
	}
	int status = 0;
	rc = container_run(&cli->rt, &o, f.detach, f.keep, &status, err);
	if (image_bundle && (rc < 0 || (!f.detach && !f.keep)))
		image_bundle_remove(cli->rt.image_root, o.id);
	free(image_bundle);
	if (rc < 0)
		return rc;
	return f.detach ? 0 : status;
}
