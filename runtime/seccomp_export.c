/* seccomp_export_bpf_program: see seccomp_export.h. */
#include "runtime/seccomp_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/seccomp_internal.h"

/* struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
#define BPF_INSN_SIZE 8

int seccomp_export_bpf_program(const struct hy_seccomp *s, uint8_t **bpf, size_t *len,
			       struct hy_error *err)
{
	*bpf = NULL;
	*len = 0;
	if (s->listener_path)
		return hy_error_set(err, EINVAL,
				    "linux.seccomp.listenerPath: a seccomp notify listener cannot "
				    "reach processes inside a VM container");
	const void *insns = s->prepared_bpf;
	size_t n = s->prepared_len;
	bool notify = s->prepared_notify;
	struct hy_seccomp_bpf built = {0};
	if (!insns) {
		int rc = seccomp_bpf_build(s, &built, err);
		if (rc < 0)
			return rc;
		insns = built.insns;
		n = built.len;
		notify = built.uses_notify;
	}
	int rc = 0;
	if (notify) {
		rc = hy_error_set(err, EINVAL,
				  "linux.seccomp: SCMP_ACT_NOTIFY cannot work in a VM container "
				  "(no listener can reach the guest)");
	} else if (n == 0 || n > SIZE_MAX / BPF_INSN_SIZE) {
		rc = hy_error_set(err, EINVAL, "linux.seccomp: the compiled filter is empty");
	} else if (!(*bpf = malloc(n * BPF_INSN_SIZE))) {
		rc = hy_error_set(err, ENOMEM, "linux.seccomp: out of memory");
	} else {
		memcpy(*bpf, insns, n * BPF_INSN_SIZE);
		*len = n * BPF_INSN_SIZE;
	}
	seccomp_bpf_free(&built);
	return rc;
}
