/* Security settings applied to the container process: capabilities (libcap), seccomp
 * (libseccomp), no_new_privs, masked/readonly paths, and the sealed copy of the hyrun binary
 * that keeps the host binary out of reach (CVE-2019-5736). */
#ifndef HYRUN_SECURITY_H
#define HYRUN_SECURITY_H

#include <stdbool.h>
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

/* Re-executes the running binary from a sealed memfd copy unless already doing so.
 * Called early in main() by the CLI before anything that may enter a container. */
int security_ensure_sealed_self(int argc, char **argv, char **envp, struct hy_error *err);

#endif
