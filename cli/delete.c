/* hyrun delete [--force] ID...: removes stopped containers (or, with --force, any). */
#include <errno.h>
#include <getopt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/image.h"
#include "runtime/state.h"


static const char usage[] =
	"usage: hyrun delete [options] ID [ID...]\n\n"
	"Deletes the containers and everything they hold (cgroup, state, mounts).\n\n"
	"options:\n"
	"  -f, --force  kill a running container first\n"
	"  -h, --help   show this help\n";

/* True when the container's bundle is the one `run --image` unpacked for it, which then goes
 * away with the container. */
static bool bundle_is_from_image(const struct hy_cli *cli, const char *id)
{
	struct hy_state *st = NULL;
	struct hy_error ignored = {0};
	if (state_read(cli->rt.root, id, &st, &ignored) < 0)
		return false;
	char *expected = NULL;
	bool match = asprintf(&expected, "%s/bundles/%s",
			      cli->rt.image_root ? cli->rt.image_root : IMAGE_DEFAULT_ROOT, id) >= 0 &&
		     st->bundle && !strcmp(st->bundle, expected);
	free(expected);
	state_free(st);
	return match;
}

int cmd_delete(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_usage_error(err, "delete", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error(err, "delete", "missing container id");
	/* Like runc: try every id; the first failure is the command's error, later ones are
	 * reported as they happen. */
	int first = 0;
	for (int i = optind; i < argc; i++) {
		struct hy_error one = {0};
		bool from_image = bundle_is_from_image(cli, argv[i]);
		int rc = container_delete(&cli->rt, argv[i], force, first ? &one : err);
		if (rc == 0 && from_image)
			image_bundle_remove(cli->rt.image_root, argv[i]);
		/* runc: with --force, a container that is already gone is not an error (podman
		 * and containerd clean up this way after the container exited). */
		if (rc == -ENOENT && force)
			rc = 0;
		if (rc < 0 && !first)
			first = rc;
		else if (rc < 0)
			cli_log_error(cli, one.msg);
	}
	return first;
}
