/* The OCI runtime config model (config.json), parsed with yajl and validated by config_load().
 *
 * Every string is owned by the struct (free with config_free()). Optional scalars carry a has_*
 * flag. Parts owned elsewhere are forward-declared and parsed by their owners:
 *   linux.resources -> cgroups/resources.h  (cgroup_resources_parse)
 *   linux.seccomp   -> runtime/seccomp.h    (seccomp_config_parse) */
#ifndef HYRUN_CONFIG_H
#define HYRUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/error.h"

struct hy_resources;
struct hy_seccomp;

/* Parsed arrays of strings are NULL-terminated (v[n] == NULL), so v works as argv/envp. */
struct hy_strv {
	char **v;
	size_t n;
};

struct hy_id_mapping {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct hy_mount {
	char *destination;
	char *source; /* may be NULL (e.g. tmpfs) */
	char *type;   /* may be NULL: bind when options say so */
	struct hy_strv options;
	struct hy_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct hy_id_mapping *gid_mappings;
	size_t n_gid_mappings;
};

struct hy_rlimit {
	int resource; /* RLIMIT_* resolved from "type" */
	char *type;   /* "RLIMIT_NOFILE" as written */
	uint64_t soft;
	uint64_t hard;
};

struct hy_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* Windows-only in the spec; kept for completeness */
};

struct hy_capabilities {
	struct hy_strv bounding, effective, inheritable, permitted, ambient; /* "CAP_*" names */
};

struct hy_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height, console_width;
	struct hy_user user;
	struct hy_strv args;
	struct hy_strv env; /* "KEY=VALUE" */
	char *cwd;
	struct hy_capabilities *capabilities; /* NULL when absent */
	struct hy_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	bool has_io_priority;
	int io_priority_class; /* IOPRIO_CLASS_* */
	int io_priority;
};

struct hy_hook {
	char *path;
	struct hy_strv args;
	struct hy_strv env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

enum hy_hook_kind {
	HY_HOOK_PRESTART,
	HY_HOOK_CREATE_RUNTIME,
	HY_HOOK_CREATE_CONTAINER,
	HY_HOOK_START_CONTAINER,
	HY_HOOK_POSTSTART,
	HY_HOOK_POSTSTOP,
	HY_HOOK__COUNT
};

struct hy_hook_list {
	struct hy_hook *v;
	size_t n;
};

enum hy_ns_type {
	HY_NS_PID,
	HY_NS_NETWORK,
	HY_NS_MOUNT,
	HY_NS_IPC,
	HY_NS_UTS,
	HY_NS_USER,
	HY_NS_CGROUP,
	HY_NS_TIME,
	HY_NS__COUNT
};

struct hy_namespace {
	bool present; /* listed in linux.namespaces */
	char *path;   /* join this one instead of creating; NULL = new */
};

struct hy_device {
	char *path;
	char type; /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor;
	bool has_file_mode;
	mode_t file_mode;
	bool has_uid;
	uid_t uid;
	bool has_gid;
	gid_t gid;
};

struct hy_kv {
	char *key;
	char *value;
};

struct hy_time_offset {
	char *clock; /* "monotonic" or "boottime" */
	int64_t secs;
	uint32_t nanosecs;
};

enum hy_isolation { HY_ISOLATION_UNSET = 0, HY_ISOLATION_CONTAINER, HY_ISOLATION_VM };

/* org.hyrun.vm.* annotations, resolved by config_load (see DESIGN.md "Selecting the level"). */
struct hy_vm_settings {
	unsigned vcpus;    /* 0 = derive from linux.resources.cpu */
	uint64_t memory_mib; /* 0 = derive from linux.resources.memory.limit */
	char *kernel;      /* NULL = installed default */
	char *kernel_cmdline;
	char *root_disk;   /* org.hyrun.vm.root_disk as written (checked by sandbox-vm/host/vm_disk.c) */
};

struct hy_linux {
	struct hy_namespace namespaces[HY_NS__COUNT];
	struct hy_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct hy_id_mapping *gid_mappings;
	size_t n_gid_mappings;
	struct hy_time_offset *time_offsets;
	size_t n_time_offsets;
	struct hy_device *devices;
	size_t n_devices;
	char *cgroups_path; /* NULL = default /hyrun/<id> */
	struct hy_resources *resources; /* NULL when absent */
	char *rootfs_propagation;     /* NULL, "private", "rprivate", "slave", ... */
	struct hy_strv masked_paths;
	struct hy_strv readonly_paths;
	char *mount_label;
	struct hy_kv *sysctl;
	size_t n_sysctl;
	struct hy_seccomp *seccomp; /* NULL when absent */
	bool has_personality;
	unsigned long personality;
};

struct hy_config {
	char *oci_version;
	char *bundle;   /* absolute bundle directory (not from the JSON) */
	char *root_path; /* root.path resolved against the bundle: absolute */
	bool root_readonly;
	struct hy_process *process; /* NULL allowed for create (spec says optional) */
	char *hostname;
	char *domainname;
	struct hy_mount *mounts;
	size_t n_mounts;
	struct hy_hook_list hooks[HY_HOOK__COUNT];
	struct hy_kv *annotations;
	size_t n_annotations;
	bool has_linux;
	struct hy_linux linux_;
	enum hy_isolation isolation; /* from annotations; HY_ISOLATION_UNSET when none */
	struct hy_vm_settings vm;
};

/* Loads <bundle>/config.json. Errors name the file and the JSON path, e.g.
 * "config.json: linux.resources.memory.limit: expected integer". */
int config_load(const char *bundle, struct hy_config **out, struct hy_error *err);

/* Parses a config from memory; `name` is used in messages; bundle may be NULL (then root.path stays
 * as written). */
int config_parse(const char *json, size_t len, const char *name, const char *bundle,
		 struct hy_config **out, struct hy_error *err);

/* Parses a process object (exec --process FILE). */
int config_parse_process_file(const char *path, struct hy_process **out, struct hy_error *err);

void config_free(struct hy_config *cfg);
void config_process_free(struct hy_process *p);

const char *config_annotation(const struct hy_config *cfg, const char *key);

/* The default config.json that `hyrun spec` writes (rootless: user namespace variant). Caller frees. */
char *config_default_spec_json(bool rootless, struct hy_error *err);

#endif
