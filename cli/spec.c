/* hyrun spec [--bundle DIR] [--rootless]: writes a default config.json, never over one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/config.h"

static const char usage[] =
	"usage: hyrun spec [options]\n\n"
	"Writes a default config.json (sh on a terminal, rootfs in ./rootfs) into the bundle.\n\n"
	"options:\n"
	"  -b, --bundle DIR  bundle directory (default: the current directory)\n"
	"      --rootless    a config for an unprivileged user (user namespace mapping the\n"
	"                    caller to root)\n"
	"  -h, --help        show this help\n";

int cmd_spec(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	enum { OPT_ROOTLESS = 1000 };
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"rootless", no_argument, NULL, OPT_ROOTLESS},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *bundle = ".";
	bool rootless = false;
	int c;
	while ((c = getopt_long(argc, argv, ":b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case OPT_ROOTLESS:
			rootless = true;
			break;
		case 'h':
			return cli_help(usage);
		case ':':
			return cli_usage_error(err, "spec", "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error(err, "spec", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(err, "spec", "unexpected argument '%s'", argv[optind]);
	char *json = config_default_spec_json(rootless, err);
	if (!json)
		return -err->code;
	char *path = NULL;
	if (asprintf(&path, "%s/config.json", bundle) < 0) {
		free(json);
		return hy_error_set(err, ENOMEM, "spec: out of memory");
	}
	int rc = 0;
	/* O_EXCL: an existing config.json is somebody's work; never replace it. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = errno == EEXIST
			     ? hy_error_set(err, EEXIST, "spec: %s already exists; remove it first", path)
			     : hy_error_errno(err, errno, "spec: create %s", path);
	} else {
		size_t len = strlen(json), off = 0;
		while (off < len) {
			ssize_t n = write(fd, json + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = hy_error_errno(err, errno, "spec: write %s", path);
				break;
			}
			off += (size_t)n;
		}
		if (!rc && write(fd, "\n", 1) != 1)
			rc = hy_error_errno(err, errno, "spec: write %s", path);
		if (close(fd) < 0 && !rc)
			rc = hy_error_errno(err, errno, "spec: write %s", path);
		if (rc)
			unlink(path);
	}
	free(path);
	free(json);
	return rc;
}
