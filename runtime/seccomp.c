/* Loading linux.seccomp into the calling process with seccomp(2), so that every flag the kernel
 * knows can be used (libseccomp 2.5 has no WAIT_KILLABLE_RECV) and no_new_privs is only set
 * when process.noNewPrivileges asks for it. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/seccomp.h"
#include "runtime/seccomp_internal.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

static long sys_seccomp(unsigned op, unsigned flags, void *arg)
{
	return syscall(SYS_seccomp, op, flags, arg);
}

/* A flag the kernel knows fails on the NULL program with EFAULT; an unknown one with EINVAL
 * (the flags are checked before the program is read). */
static bool kernel_has_flag(unsigned flag)
{
	return sys_seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

static int resolve_flags(const struct hy_seccomp *s, bool notify, unsigned *out,
			 struct hy_error *err)
{
	unsigned flags = 0;
	for (size_t i = 0; i < s->flags.n; i++) {
		unsigned f = 0;
		if (!seccomp_flag_lookup(s->flags.v[i], &f))
			return hy_error_set(err, EINVAL,
					    "linux.seccomp.flags[%zu]: unknown flag '%.64s'", i,
					    s->flags.v[i]);
		/* Waiting killably only concerns a notify listener; without one the kernel
		 * refuses the flag, and dropping it changes nothing. */
		if (f == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify)
			continue;
		if (!kernel_has_flag(f | (notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0)))
			return hy_error_set(err, EINVAL,
					    "linux.seccomp.flags[%zu]: %s is not supported by this "
					    "kernel",
					    i, s->flags.v[i]);
		flags |= f;
	}
	if (notify) {
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* TSYNC reports a failing thread id in the return value, which would collide
		 * with the listener fd; TSYNC_ESRCH makes the kernel report ESRCH instead. */
		if (flags & SECCOMP_FILTER_FLAG_TSYNC)
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	}
	*out = flags;
	return 0;
}

static int load_program(const struct hy_seccomp *s, void *insns, size_t len, bool notify,
			int *notify_fd, struct hy_error *err)
{
	unsigned flags = 0;
	int rc = resolve_flags(s, notify, &flags, err);
	if (rc < 0)
		return rc;
	if (notify && !notify_fd)
		return hy_error_set(err, EINVAL,
				    "linux.seccomp: SCMP_ACT_NOTIFY used but the caller cannot "
				    "receive the listener fd");
	if (len > BPF_MAXINSNS)
		return hy_error_set(err, E2BIG,
				    "linux.seccomp: the filter has %zu BPF instructions, more than "
				    "the kernel's %d",
				    len, BPF_MAXINSNS);
	struct sock_fprog prog = {.len = (unsigned short)len, .filter = insns};
	long r = sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0) {
		if (errno == EACCES)
			return hy_error_errno(err, errno,
					      "linux.seccomp: loading the filter needs "
					      "noNewPrivileges or CAP_SYS_ADMIN (load it before "
					      "dropping capabilities)");
		return hy_error_errno(err, errno,
				      "linux.seccomp: seccomp(SECCOMP_SET_MODE_FILTER)");
	}
	if (notify)
		*notify_fd = (int)r;
	return 0;
}

int hy_seccomp_load(const struct hy_seccomp *s, int *notify_fd, struct hy_error *err)
{
	if (notify_fd)
		*notify_fd = -1;
	if (!s)
		return 0;
	/* Compiled by seccomp_prepare before the container process was created. */
	if (s->prepared_bpf)
		return load_program(s, s->prepared_bpf, s->prepared_len, s->prepared_notify,
				    notify_fd, err);
	struct hy_seccomp_bpf bpf;
	int rc = seccomp_bpf_build(s, &bpf, err);
	if (rc < 0)
		return rc;
	rc = load_program(s, bpf.insns, bpf.len, bpf.uses_notify, notify_fd, err);
	seccomp_bpf_free(&bpf);
	return rc;
}
