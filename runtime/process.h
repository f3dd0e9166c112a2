/* The OCI process applied to the calling process: environment (HOME, LISTEN_FDS/LISTEN_PID),
 * executable lookup in the container's PATH, rlimits, oom_score_adj, user and groups, umask,
 * inherited fds. Used by the container init and by exec. */
#ifndef HYRUN_PROCESS_H
#define HYRUN_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* Number of socket-activation fds passed to us (LISTEN_FDS for our own pid), else 0. */
unsigned process_listen_fds(void);

/* Marks every fd >= 3 + keep close-on-exec and fds 3 .. 3+keep-1 inheritable. */
int process_prepare_fds(unsigned keep, struct hy_error *err);

/* The environment for execve: process.env, plus HOME from the container's /etc/passwd when
 * absent, plus LISTEN_FDS=n/LISTEN_PID=pid when listen_fds > 0. NULL-terminated; caller frees
 * the array only (strings are borrowed or static except those it notes in *owned). */
char **process_build_env(const struct hy_process *p, unsigned listen_fds, pid_t pid,
			 char ***owned, struct hy_error *err);
void process_env_free(char **envp, char **owned);

/* Resolves args[0] with the PATH of env (in the current root): "exec: "x": executable file
 * not found in $PATH" when absent, as runc says it. out gets the path. */
int process_find_executable(const char *arg0, char *const *envp, char *out, size_t size,
			    struct hy_error *err);

int process_apply_rlimits(const struct hy_process *p, struct hy_error *err);
int process_set_oom_score_adj(const struct hy_process *p, struct hy_error *err);

/* setgroups(additionalGids), setresgid, setresuid; in_userns_without_setgroups: skip setgroups
 * when /proc/self/setgroups says deny. */
int process_set_user(const struct hy_process *p, struct hy_error *err);

/* Sets the umask (process.user.umask, default 0022). */
void process_set_umask(const struct hy_process *p);

/* chdir(process.cwd); errors name the path. */
int process_chdir(const struct hy_process *p, struct hy_error *err);

#endif
