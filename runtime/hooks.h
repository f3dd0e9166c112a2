/* OCI hooks: run each hook of one kind in order, with the container state JSON on stdin. */
#ifndef HYRUN_HOOKS_H
#define HYRUN_HOOKS_H

#include "runtime/config.h"
#include "runtime/error.h"

/* "prestart", "createRuntime", ... as written in config.json. */
const char *hooks_kind_name(enum hy_hook_kind kind);

/* Runs hooks->v[0..n) one after the other: fork+exec of path with args (argv[0] included, as
 * the spec says) and env (empty when absent), state_json on stdin, stdout/stderr inherited.
 * A hook that exits non-zero, is killed, cannot be executed or outlives its timeout (then
 * killed with SIGKILL, its process group too) stops the run with an error naming the kind, the
 * index and the path, e.g. "createRuntime hook [1] /usr/bin/x: exited with status 3".
 * Callers decide what an error means (poststop failures are only warnings). */
int hooks_run(const struct hy_hook_list *hooks, enum hy_hook_kind kind, const char *state_json,
	      struct hy_error *err);

#endif
