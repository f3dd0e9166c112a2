/* Shared by runtime/seccomp*.c only (free of <seccomp.h>, which only seccomp_bpf.c needs): the
 * names the OCI spec uses for seccomp actions, operators, architectures and flags, resolved to
 * libseccomp / kernel values. The parser validates with these tables and the loader uses the same
 * ones, so a config that parses always loads. */
#ifndef HYRUN_SECCOMP_INTERNAL_H
#define HYRUN_SECCOMP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hy_seccomp_action_name {
	const char *name;
	uint32_t action;  /* SCMP_ACT_* without data */
	bool takes_errno; /* ERRNO and TRACE carry errnoRet in their data bits */
};

/* NULL when the name is not an OCI action. */
const struct hy_seccomp_action_name *seccomp_action_lookup(const char *name);

/* The libseccomp action for name with errno data (EPERM when !has_errno). 0 on success. */
int seccomp_action_value(const char *name, bool has_errno, unsigned errno_ret, uint32_t *out);

/* *out is an enum scmp_compare value. */
bool seccomp_op_lookup(const char *name, int *out);
bool seccomp_arch_lookup(const char *name, uint32_t *out);
/* SECCOMP_FILTER_FLAG_* bit for name. */
bool seccomp_flag_lookup(const char *name, unsigned *out);

/* Largest errnoRet we accept: the kernel keeps 16 bits of SECCOMP_RET_DATA. */
#define HY_SECCOMP_ERRNO_MAX 0xffffu
/* Syscalls have at most six arguments. */
#define HY_SECCOMP_ARG_MAX 6

struct hy_seccomp;
struct hy_error;

/* The compiled filter: classic BPF instructions (struct sock_filter, 8 bytes each). */
struct hy_seccomp_bpf {
	void *insns;
	size_t len;	  /* instructions */
	bool uses_notify; /* some rule resolved to SCMP_ACT_NOTIFY */
};

/* Compiles s with libseccomp for the native and the listed architectures. Syscall names this
 * libseccomp does not know are skipped. Free with seccomp_bpf_free. */
int seccomp_bpf_build(const struct hy_seccomp *s, struct hy_seccomp_bpf *out, struct hy_error *err);
void seccomp_bpf_free(struct hy_seccomp_bpf *b);

/* What else decides the compiled program besides the config: libseccomp's version and API
 * level and the native architecture ("libseccomp 2.5.4 api 6 native c000003e"). */
void seccomp_lib_identity(char *buf, size_t size);

#endif
