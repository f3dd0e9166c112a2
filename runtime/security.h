/* Security settings applied to the container process: capabilities (libcap), seccomp
 * (libseccomp), no_new_privs, masked/readonly paths, and the sealed copy of the hyrun binary
 * that keeps the host binary out of reach (CVE-2019-5736). */
#ifndef HYRUN_SECURITY_H
#define HYRUN_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "runtime/error.h"

/* Validates capability names (unknown names: error naming the set and name). */
int caps_validate(const struct hy_capabilities *caps, const char *json_path, struct hy_error *err);

/* Called in the container process before the uid change: keeps permitted caps across setuid. */
int caps_prepare_for_user_change(struct hy_error *err);
/* Called after setuid/setgid, just before exec: sets bounding, ambient, and the three
 * process sets. NULL caps = drop everything (the OCI default). */
int caps_apply(const struct hy_capabilities *caps, struct hy_error *err);

int security_set_no_new_privs(struct hy_error *err);

/* Masks paths (bind /dev/null over files, read-only tmpfs over directories) and remounts
 * readonly paths, inside the container root (already pivoted: paths are absolute in it). */
int security_apply_masked_paths(const struct hy_strv *paths, struct hy_error *err);
int security_apply_readonly_paths(const struct hy_strv *paths, struct hy_error *err);

/* Re-executes the running binary from a sealed memfd copy unless already doing so, or unless the
 * binary sits on a read-only mount (a container cannot overwrite it through /proc/PID/exe then,
 * CVE-2019-5736, so the copy would buy nothing). Called early in main() by the CLI before anything that may enter a container. */
int security_ensure_sealed_self(int argc, char **argv, char **envp, struct hy_error *err);


/* Adds capability names (`exec --cap`) to the bounding, effective, permitted and ambient sets
 * (inheritable too, so that ambient is allowed), skipping names already present. Allocates
 * *caps members; names are validated ("--cap: unknown capability 'X'"). */
int caps_add_names(struct hy_capabilities *caps, const char *const *names, size_t n,
		   struct hy_error *err);

/* Writes /proc/<pid>/{uid_map,setgroups,gid_map} for a child that unshared its user namespace.
 * As root: written directly; otherwise through newuidmap/newgidmap (shadow-utils), or directly
 * for the single mapping of the caller's own ids (then "deny" goes to setgroups first). */
int userns_write_mappings(pid_t pid, const struct hy_linux *lnx, struct hy_error *err);

/* Maps a container id to the host id through mappings (identity when n == 0).
 * Returns false when the id is not mapped. */
bool userns_map_id(const struct hy_id_mapping *m, size_t n, uint32_t container_id,
		   uint32_t *host_id);

/* Idmapped mounts (mounts[].uidMappings/gidMappings, MOUNT_ATTR_IDMAP): a user namespace fd
 * carrying the mappings (a short-lived child holds the namespace while the maps are written).
 * `what` names the setting in messages ("mounts[3]"). Caller closes *userns_fd. */
int userns_create_mapped_fd(const struct hy_id_mapping *uid, size_t n_uid,
			    const struct hy_id_mapping *gid, size_t n_gid, const char *what,
			    int *userns_fd, struct hy_error *err);
/* Makes the detached mount tree_fd (open_tree(..., OPEN_TREE_CLONE)) idmapped through
 * userns_fd; recursive applies it to every mount below too. Clear error when the kernel or the
 * filesystem cannot. */
int userns_idmap_mount(int tree_fd, int userns_fd, bool recursive, const char *what,
		       struct hy_error *err);

/* Checks, before the container process is created, that the container's root (host ids of
 * container uid/gid 0 under the mappings) can enter the rootfs (absolute host path) and every
 * directory above it; otherwise the error names the directory and how to fix it (chown to the
 * mapped root, or chmod o+x). No-op without a new user namespace. */
int userns_check_rootfs_owner(const char *rootfs, const struct hy_linux *lnx, struct hy_error *err);

/* SELinux process label / AppArmor profile for the next execve (and the SELinux mount label
 * for mounts made afterwards). Returns 0 when nothing is asked; when the host lacks the LSM an
 * error names the setting ("apparmorProfile 'x' requested but AppArmor is not enabled on this
 * host"): callers decide warning vs error, but never drop the request silently. */
int lsm_apply_process_labels(const struct hy_process *p, const char *mount_label,
			     struct hy_error *err);

/* Whether the running hyrun is the sealed memfd copy (after security_ensure_sealed_self). */
bool security_running_sealed(void);

#endif
