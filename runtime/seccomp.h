/* linux.seccomp: parsed from the config and loaded with libseccomp. */
#ifndef HYRUN_SECCOMP_H
#define HYRUN_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "runtime/config.h"
#include "runtime/error.h"

struct hy_seccomp_arg {
	unsigned index;
	uint64_t value;
	uint64_t value_two;
	char *op; /* SCMP_CMP_NE, ... */
};

struct hy_seccomp_syscall {
	struct hy_strv names;
	char *action;
	bool has_errno_ret;
	unsigned errno_ret;
	struct hy_seccomp_arg *args;
	size_t n_args;
};

struct hy_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	unsigned default_errno_ret;
	struct hy_strv architectures;
	struct hy_strv flags;
	char *listener_path;
	char *listener_metadata;
	struct hy_seccomp_syscall *syscalls;
	size_t n_syscalls;
	/* Set by seccomp_prepare: the compiled filter, which hy_seccomp_load then uses as is. */
	void *prepared_bpf;       /* struct sock_filter[prepared_len] */
	size_t prepared_len;
	bool prepared_notify;     /* some rule is SCMP_ACT_NOTIFY */
};

/* Parses the linux.seccomp object; json_path is its location for messages ("linux.seccomp"). */
int seccomp_config_parse(yajl_val node, const char *file, const char *json_path,
			 struct hy_seccomp **out, struct hy_error *err);
void seccomp_config_free(struct hy_seccomp *s);

/* Loads the filter into the calling process (after no_new_privs or with CAP_SYS_ADMIN).
 * With a notify action, *notify_fd receives the listener fd (else -1). */
int hy_seccomp_load(const struct hy_seccomp *s, int *notify_fd, struct hy_error *err);

/* Sends the notify fd and the container state to listenerPath (SCM_RIGHTS), as the spec says. */
int seccomp_send_listener(const struct hy_seccomp *s, int notify_fd, const char *state_json,
			  struct hy_error *err);


/* Compiles the filter ahead of hy_seccomp_load. libseccomp needs 15-40 ms for a Docker-sized
 * profile, so call this in the runtime before the container process is created (the child
 * inherits the result) with a cache directory owned by the caller, e.g. "<root>/.seccomp":
 * compiled filters are kept there by content hash (libseccomp and kernel version included)
 * and reused. cache_dir NULL = compile without a cache. Idempotent. */
int seccomp_prepare(struct hy_seccomp *s, const char *cache_dir, struct hy_error *err);

/* The default profile (configs/seccomp-default.json, embedded at build time) as a JSON object
 * text, for `hyrun spec` to place under linux.seccomp. Static storage; never NULL. */
const char *seccomp_default_profile_json(void);

#endif
