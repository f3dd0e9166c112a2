/* Linux namespaces of the container: clone flags for new ones, setns for `path` ones (user
 * first), time namespace offsets, and the /proc/<pid>/ns links exec joins. */
#ifndef HYRUN_NAMESPACES_H
#define HYRUN_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* CLONE_NEW* of a namespace type. */
int ns_clone_flag(enum hy_ns_type t);
/* The /proc/<pid>/ns/<name> name ("pid", "net", "mnt", ...). */
const char *ns_proc_name(enum hy_ns_type t);

/* CLONE_NEW* flags of the namespaces to create (present and no path). */
int ns_new_flags(const struct hy_linux *lnx);
/* Whether any namespace is joined by path. */
bool ns_any_path(const struct hy_linux *lnx);

/* Opens every `path` namespace (O_CLOEXEC); fds[t] = -1 for others. Errors name the path. */
int ns_open_paths(const struct hy_linux *lnx, int fds[HY_NS__COUNT], struct hy_error *err);
void ns_close_all(int fds[HY_NS__COUNT]);

/* setns() into every open fd in fds: user first, then the rest (mount last). Closes them. */
int ns_join(int fds[HY_NS__COUNT], struct hy_error *err);

/* Writes linux.timeOffsets to /proc/self/timens_offsets (after unshare(CLONE_NEWTIME)). */
int ns_write_time_offsets(const struct hy_linux *lnx, struct hy_error *err);

/* Opens /proc/<pid>/ns/<name> for every type where pid's namespace differs from ours. */
int ns_open_of_pid(pid_t pid, int fds[HY_NS__COUNT], struct hy_error *err);

#endif
