/* hyrun ps [--format table|json] ID [ps options]: the container's processes, as runc shows
 * them: json is the array of host PIDs; table is ps(1)'s output filtered to those PIDs.
 * A VM container's processes live in the guest: json is the array of GUEST pids (the host has
 * only the VMM), and table is the guest agent's list ("PID PPID UID CMD"). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"


static const char usage[] =
	"usage: hyrun ps [options] ID [ps options]\n\n"
	"Lists the processes of container ID (default table: `ps -ef` filtered).\n\n"
	"options:\n"
	"  -f, --format FMT  table (default) or json (an array of host PIDs; guest PIDs for a\n"
	"                    VM container)\n"
	"  -h, --help        show this help\n";

static bool pid_listed(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Index of the PID column in ps's header line, -1 when absent. */
static int pid_column(const char *header)
{
	int col = 0;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (p - start == 3 && !strncmp(start, "PID", 3))
			return col;
		col++;
	}
	return -1;
}

static long field_as_pid(const char *line, int col)
{
	const char *p = line;
	for (int i = 0;; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return -1;
		if (i == col) {
			char *end;
			long v = strtol(p, &end, 10);
			return end == p ? -1 : v;
		}
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
}

static int ps_table(const pid_t *pids, size_t n, int argc, char **argv, struct hy_error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return hy_error_errno(err, errno, "ps: pipe");
	pid_t child = fork();
	if (child < 0) {
		close(fds[0]);
		close(fds[1]);
		return hy_error_errno(err, errno, "ps: fork");
	}
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		char *def[] = {"ps", "-ef", NULL};
		char **args = def;
		char **custom = NULL;
		if (argc > 0) {
			custom = calloc((size_t)argc + 2, sizeof(char *));
			if (!custom)
				_exit(127);
			custom[0] = "ps";
			for (int i = 0; i < argc; i++)
				custom[i + 1] = argv[i];
			args = custom;
		}
		execvp("ps", args);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int col = -1, rc = 0;
	bool header = true;
	while (f && getline(&line, &cap, f) > 0) {
		if (header) {
			header = false;
			col = pid_column(line);
			fputs(line, stdout);
			continue;
		}
		if (col >= 0 && pid_listed(pids, n, field_as_pid(line, col)))
			fputs(line, stdout);
	}
	free(line);
	if (f)
		fclose(f);
	else
		close(fds[0]);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = hy_error_set(err, EINVAL, "ps: `ps` failed (status %d)",
				  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	else if (col < 0)
		rc = hy_error_set(err, EINVAL, "ps: no PID column in ps's output");
	return rc;
}

int cmd_ps(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool json = false;
	int c;
	/* '+': everything after the id belongs to ps(1). */
	while ((c = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "table"))
				return cli_usage_error(err, "ps", "--format: expected table or json, got '%s'",
						       optarg);
			break;
		case 'h':
			return cli_help(usage);
		case ':':
			return cli_usage_error(err, "ps", "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error(err, "ps", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(err, "ps", "missing container id");
	const char *id = argv[optind];
	if (json && optind + 1 < argc)
		return cli_usage_error(err, "ps", "ps options cannot be combined with --format json");
	if (!json) {
		char *text = NULL;
		int vm = container_ps_guest(&cli->rt, id, &text, err);
		if (vm < 0)
			return vm;
		if (vm == 0) {
			int rc = optind + 1 < argc
					 ? cli_usage_error(err, "ps",
							   "ps options are not supported for a VM "
							   "container")
					 : 0;
			if (!rc)
				fputs(text, stdout);
			free(text);
			return rc;
		}
	}
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = container_ps(&cli->rt, id, &pids, &n, err);
	if (rc)
		return rc;
	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		fputs("]\n", stdout);
	} else {
		fflush(stdout);
		rc = ps_table(pids, n, argc - optind - 1, argv + optind + 1, err);
	}
	free(pids);
	return rc;
}
