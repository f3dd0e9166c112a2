/* linux.seccomp as a ready-to-load classic BPF program, for a loader in another process or
 * kernel (the VM guest agent): no libseccomp on the other side, only seccomp(2).
 *
 *   int seccomp_export_bpf_program(const struct hy_seccomp *s, uint8_t **bpf, size_t *len,
 *                                  struct hy_error *err);
 * *bpf gets a malloc'd struct sock_filter[] (8 bytes each), *len its size in bytes. Uses the
 * program seccomp_prepare compiled when there is one. A listener (listenerPath or an
 * SCMP_ACT_NOTIFY rule) is refused: its fd would have to cross to the loader's side. */
#ifndef HYRUN_SECCOMP_EXPORT_H
#define HYRUN_SECCOMP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"
#include "runtime/seccomp.h"

int seccomp_export_bpf_program(const struct hy_seccomp *s, uint8_t **bpf, size_t *len,
			       struct hy_error *err);

#endif
