/* hyrun image import|unpack|ls|inspect|rm|export: the CLI over image/image.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/image.h"

static const char usage[] =
	"usage: hyrun image COMMAND [options] [ARGS...]\n\n"
	"commands:\n"
	"  import PATH [--name NAME:TAG] [--platform OS/ARCH]\n"
	"                       import an OCI layout directory, an OCI archive or a docker-archive\n"
	"  unpack NAME BUNDLE [--isolation container|vm] [--no-devices]\n"
	"                       make an OCI bundle (rootfs/ and config.json) from an image\n"
	"  unpack NAME --disk erofs|ext4\n"
	"                       make (or reuse) a root filesystem image for a VM; prints its path\n"
	"  ls [--format table|json] [-q]\n"
	"                       list images\n"
	"  inspect NAME         print the manifest and config of an image as JSON\n"
	"  rm NAME...           remove images and the blobs nothing else uses\n"
	"  export NAME PATH     write an image as an OCI archive (tar of an image layout)\n\n"
	"The store is --image-root (default " IMAGE_DEFAULT_ROOT ").\n"
	"Limits against decompression bombs: HYRUN_IMAGE_MAX_BYTES (default 64 GiB of unpacked\n"
	"data) and HYRUN_IMAGE_MAX_ENTRIES (default 4194304 entries).\n";

static int env_limits(struct image_limits *l, struct hy_error *err)
{
	static const struct {
		const char *name;
		size_t off;
	} vars[] = {
		{"HYRUN_IMAGE_MAX_BYTES", offsetof(struct image_limits, max_bytes)},
		{"HYRUN_IMAGE_MAX_ENTRIES", offsetof(struct image_limits, max_entries)},
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i].name);
		if (!v || !*v)
			continue;
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (*end || errno || n == 0 || v[0] == '-')
			return hy_error_set(err, EINVAL, "%s='%s': expected a positive number",
					    vars[i].name, v);
		*(uint64_t *)((char *)l + vars[i].off) = n;
	}
	return 0;
}

#define BAD_OPT(cmd)                                                                               \
	do {                                                                                       \
		if (c == ':')                                                                      \
			return cli_usage_error(err, cmd, "option '%s' needs an argument",          \
					       argv[optind - 1]);                                  \
		return cli_usage_error(err, cmd, "unknown option '%s'", argv[optind - 1]);         \
	} while (0)

static int do_import(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"platform", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct image_import_opts o = {0};
	int c;
	while ((c = getopt_long(argc, argv, ":n:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case 'p':
			o.platform = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			BAD_OPT("image import");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(err, "image import", "expected one PATH");
	int rc = env_limits(&o.limits, err);
	if (rc)
		return rc;
	char *ref = NULL;
	rc = image_import(cli->rt.image_root, argv[optind], &o, &ref, err);
	if (rc)
		return rc;
	printf("%s\n", ref ? ref : "");
	free(ref);
	return 0;
}

static int do_unpack(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	enum { OPT_NO_DEVICES = 1000 };
	static const struct option opts[] = {
		{"isolation", required_argument, NULL, 'i'},
		{"disk", required_argument, NULL, 'd'},
		{"no-devices", no_argument, NULL, OPT_NO_DEVICES},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct image_unpack_opts o = {0};
	const char *disk = NULL;
	int c;
	while ((c = getopt_long(argc, argv, ":i:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.isolation = optarg;
			break;
		case 'd':
			disk = optarg;
			break;
		case OPT_NO_DEVICES:
			o.limits.no_devices = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			BAD_OPT("image unpack");
		}
	}
	/* The global --isolation, when given, stands for the command's own flag. */
	if (!o.isolation && cli->rt.isolation == HY_ISOLATION_VM)
		o.isolation = "vm";
	else if (!o.isolation && cli->rt.isolation == HY_ISOLATION_CONTAINER)
		o.isolation = "container";
	if (o.isolation && strcmp(o.isolation, "container") && strcmp(o.isolation, "vm"))
		return cli_usage_error(err, "image unpack", "--isolation: expected container or vm");
	int rc = env_limits(&o.limits, err);
	if (rc)
		return rc;
	if (disk) {
		if (argc - optind < 1 || argc - optind > 2)
			return cli_usage_error(err, "image unpack", "expected NAME [BUNDLE]");
		char *path = NULL;
		rc = image_disk(cli->rt.image_root, argv[optind], disk, &o.limits, &path, err);
		if (rc)
			return rc;
		printf("%s\n", path);
		if (argc - optind == 1) {
			free(path);
			return 0;
		}
		o.root_disk = path;
		rc = image_unpack_to_bundle(cli->rt.image_root, argv[optind], argv[optind + 1], &o,
					    err);
		free(path);
		return rc;
	} else if (argc - optind != 2)
		return cli_usage_error(err, "image unpack", "expected NAME BUNDLE");
	return image_unpack_to_bundle(cli->rt.image_root, argv[optind], argv[optind + 1], &o, err);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int do_ls(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool json = false, quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, ":f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return cli_usage_error(err, "image ls",
						       "--format: expected table or json");
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			BAD_OPT("image ls");
		}
	}
	if (optind < argc)
		return cli_usage_error(err, "image ls", "unexpected argument '%s'", argv[optind]);
	struct image_info *v;
	size_t n;
	int rc = image_list(cli->rt.image_root, &v, &n, err);
	if (rc)
		return rc;
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_string(v[i].name);
			printf(",\"digest\":");
			json_string(v[i].digest);
			printf(",\"size\":%llu,\"created\":", (unsigned long long)v[i].size);
			if (v[i].created)
				json_string(v[i].created);
			else
				printf("null");
			printf(",\"platform\":");
			if (v[i].platform)
				json_string(v[i].platform);
			else
				printf("null");
			printf("}");
		}
		printf("]\n");
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].name);
	} else {
		printf("%-40s %-19s %-12s %-12s %s\n", "NAME", "DIGEST", "SIZE", "PLATFORM",
		       "CREATED");
		for (size_t i = 0; i < n; i++)
			printf("%-40s %-19.19s %-12llu %-12s %s\n", v[i].name, v[i].digest,
			       (unsigned long long)v[i].size, v[i].platform ? v[i].platform : "-",
			       v[i].created ? v[i].created : "-");
	}
	image_info_free(v, n);
	return 0;
}

static int no_opts(const char *cmd, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage) == 0 ? 1 : -1;
		BAD_OPT(cmd);
	}
	return 0;
}

int cmd_image(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	if (argc < 2)
		return cli_usage_error(err, "image", "expected a command");
	const char *sub = argv[1];
	argc--;
	argv++;
	optind = 0;
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)
		return cli_help(usage);
	if (strcmp(sub, "import") == 0)
		return do_import(cli, argc, argv, err);
	if (strcmp(sub, "unpack") == 0)
		return do_unpack(cli, argc, argv, err);
	if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
		return do_ls(cli, argc, argv, err);
	int rc;
	if (strcmp(sub, "inspect") == 0) {
		if ((rc = no_opts("image inspect", argc, argv, err)))
			return rc < 0 ? rc : 0;
		if (argc - optind != 1)
			return cli_usage_error(err, "image inspect", "expected one NAME");
		char *json = NULL;
		if ((rc = image_inspect(cli->rt.image_root, argv[optind], &json, err)))
			return rc;
		printf("%s\n", json);
		free(json);
		return 0;
	}
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) {
		if ((rc = no_opts("image rm", argc, argv, err)))
			return rc < 0 ? rc : 0;
		if (argc - optind < 1)
			return cli_usage_error(err, "image rm", "expected NAME...");
		for (int i = optind; i < argc; i++)
			if ((rc = image_remove(cli->rt.image_root, argv[i], err)))
				return rc;
		return 0;
	}
	if (strcmp(sub, "export") == 0) {
		if ((rc = no_opts("image export", argc, argv, err)))
			return rc < 0 ? rc : 0;
		if (argc - optind != 2)
			return cli_usage_error(err, "image export", "expected NAME PATH");
		return image_export(cli->rt.image_root, argv[optind], argv[optind + 1], err);
	}
	return cli_usage_error(err, "image", "unknown command '%s'", sub);
}
