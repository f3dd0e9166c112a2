/* hyrun list [--format table|json] [-q]: the containers under --root, as runc prints them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/state.h"

static const char usage[] =
	"usage: hyrun list [options]\n\n"
	"Lists the containers under the state root.\n\n"
	"options:\n"
	"  -f, --format FMT  table (default) or json\n"
	"  -q, --quiet       print only the ids\n"
	"  -h, --help        show this help\n";

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Column widths for runc's tabwriter layout: the widest cell plus three spaces. */
static void print_table(struct hy_state **sts, size_t n)
{
	static const char *const head[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
	enum { COLS = 6 };
	size_t width[COLS];
	for (int c = 0; c < COLS; c++)
		width[c] = strlen(head[c]);
	char (*pid)[16] = calloc(n ? n : 1, sizeof(*pid));
	char **owner = calloc(n ? n : 1, sizeof(*owner));
	if (!pid || !owner) {
		free(pid);
		free(owner);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(pid[i], sizeof(pid[i]), "%d",
			 sts[i]->status == HY_STATUS_STOPPED ? 0 : (int)sts[i]->pid);
		owner[i] = state_owner_name(sts[i]->owner);
		const char *cells[COLS] = {sts[i]->id, pid[i], state_status_name(sts[i]->status),
					   sts[i]->bundle ? sts[i]->bundle : "",
					   sts[i]->created ? sts[i]->created : "",
					   owner[i] ? owner[i] : ""};
		for (int c = 0; c < COLS; c++)
			if (strlen(cells[c]) > width[c])
				width[c] = strlen(cells[c]);
	}
	for (int c = 0; c < COLS; c++)
		if (c < COLS - 1)
			printf("%-*s   ", (int)width[c], head[c]);
		else
			printf("%s\n", head[c]);
	for (size_t i = 0; i < n; i++) {
		const char *cells[COLS] = {sts[i]->id, pid[i], state_status_name(sts[i]->status),
					   sts[i]->bundle ? sts[i]->bundle : "",
					   sts[i]->created ? sts[i]->created : "",
					   owner[i] ? owner[i] : ""};
		for (int c = 0; c < COLS; c++)
			if (c < COLS - 1)
				printf("%-*s   ", (int)width[c], cells[c]);
			else
				printf("%s\n", cells[c]);
		free(owner[i]);
	}
	free(pid);
	free(owner);
}

int cmd_list(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool quiet = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, ":f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "table"))
				return cli_usage_error(err, "list", "--format: expected table or json, got '%s'",
						       optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		case ':':
			return cli_usage_error(err, "list", "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error(err, "list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(err, "list", "unexpected argument '%s'", argv[optind]);
	char **ids = NULL;
	size_t n = 0;
	int rc = state_list_ids(cli->rt.root, &ids, &n, err);
	if (rc)
		return rc;
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", ids[i]);
		free_ids(ids, n);
		return 0;
	}
	struct hy_state **sts = calloc(n ? n : 1, sizeof(*sts));
	if (!sts) {
		free_ids(ids, n);
		return hy_error_set(err, ENOMEM, "list: out of memory");
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		/* A container deleted meanwhile, or a broken state file, is skipped, as runc does. */
		if (state_read(cli->rt.root, ids[i], &sts[m], NULL) == 0)
			m++;
	}
	free_ids(ids, n);
	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < m; i++) {
			char *s = state_to_json(sts[i], false);
			printf("%s%s", i ? "," : "", s ? s : "{}");
			free(s);
		}
		fputs("]\n", stdout);
	} else {
		print_table(sts, m);
	}
	for (size_t i = 0; i < m; i++)
		state_free(sts[i]);
	free(sts);
	return 0;
}
