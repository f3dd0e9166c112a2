/* The CLI: global flags and one file per command (cli/<command>.c defines cmd_<command>). */
#ifndef HYRUN_CLI_H
#define HYRUN_CLI_H

#include <stdbool.h>

#include "runtime/container.h"
#include "runtime/error.h"

struct hy_cli {
	struct hy_runtime rt;
	const char *log_path;   /* --log */
	bool log_json;          /* --log-format json */
	const char *argv0;
};

/* A command returns a negative code with err filled (printed as "hyrun: <msg>", exit 1), or an
 * exit status >= 0 (run/exec return the container process's status). */
typedef int (*hy_command_fn)(struct hy_cli *cli, int argc, char **argv, struct hy_error *err);

#define HY_COMMANDS(X)                                                                             \
	X(create, "create a container")                                                            \
	X(start, "start a created container")                                                      \
	X(run, "create and start a container")                                                     \
	X(state, "print the state of a container")                                                 \
	X(kill, "send a signal to the container's init process")                                   \
	X(delete, "delete a container")                                                            \
	X(list, "list containers")                                                                 \
	X(exec, "run a process in a running container")                                            \
	X(ps, "list the processes of a container")                                                 \
	X(pause, "freeze every process of a container")                                            \
	X(resume, "thaw a paused container")                                                       \
	X(update, "change the resources of a running container")                                   \
	X(events, "print container events and statistics")                                         \
	X(spec, "write a default config.json")                                                     \
	X(features, "print the OCI features this runtime supports")                                \
	X(checkpoint, "checkpoint a running container")                                            \
	X(restore, "restore a container from a checkpoint")                                        \
	X(image, "manage OCI images (import, ls, inspect, rm, export, unpack)")                      \
	X(vm, "run or control a plain microVM (vm run, pause, resume)")                            \
	X(bench, "measure container and VM lifecycle costs")

#define HY_DECLARE_COMMAND(name, help)                                                             \
	int cmd_##name(struct hy_cli *cli, int argc, char **argv, struct hy_error *err);
HY_COMMANDS(HY_DECLARE_COMMAND)
#undef HY_DECLARE_COMMAND

/* Shared helpers for commands (cli/util.c). */
/* Prints "hyrun: <msg>" to stderr and, with --log, to the log file in the chosen format. */
void cli_log_error(const struct hy_cli *cli, const char *msg);
/* Parses a signal given by name ("TERM", "SIGTERM", "KILL") or number. */
int cli_parse_signal(const char *s, int *sig, struct hy_error *err);

/* Prints a command's usage text to stdout and returns 0 (for `CMD --help`). */
int cli_help(const char *usage);
/* The error for a bad option or argument: "<cmd>: <msg> (see hyrun <cmd> --help)". */
int cli_usage_error(struct hy_error *err, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* After getopt: exactly one positional argument (the container id) must remain. */
int cli_one_id(int argc, char **argv, const char *cmd, const char **id, struct hy_error *err);
/* Parses a decimal unsigned number for option `flag`, at most max. */
int cli_parse_uint(const char *s, const char *flag, unsigned max, unsigned *out,
		   struct hy_error *err);
/* create's and run's shared flags (cli/create.c). run adds -d/--detach and --keep (run_flags
 * non-NULL). Returns 1 when --help was printed, 0 when parsed, < 0 on a usage error. */
struct cli_run_flags {
	bool detach, keep;
	const char *image; /* run --image NAME: the bundle is unpacked from the image store */
};
int cli_parse_create_opts(const char *cmd, const char *usage, int argc, char **argv,
			  struct hy_create_opts *o, struct cli_run_flags *run_flags,
			  struct hy_error *err);
/* The error for a library function that is not linked in this build. */
int cli_unavailable(struct hy_error *err, const char *what);

#endif
