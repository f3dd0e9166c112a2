/* Compiling linux.seccomp to BPF with libseccomp. The program is exported rather than loaded
 * by libseccomp so that hy_seccomp_load (runtime/seccomp.c) can pass any kernel flag itself and
 * never sets no_new_privs behind the config's back (libseccomp's loader does by default). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>
#include "runtime/seccomp.h"
#include "runtime/seccomp_internal.h"

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr,
		    const struct hy_seccomp_syscall *sc, const char *path, struct hy_error *err)
{
	size_t n = sc->n_args;
	struct scmp_arg_cmp *cmps = n ? calloc(n, sizeof(*cmps)) : NULL;
	if (n && !cmps)
		return hy_error_set(err, ENOMEM, "%s: out of memory", path);
	bool repeated = false;
	for (size_t i = 0; i < n; i++) {
		int op = 0;
		seccomp_op_lookup(sc->args[i].op, &op);
		cmps[i] = (struct scmp_arg_cmp){.arg = sc->args[i].index,
						.op = (enum scmp_compare)op,
						.datum_a = sc->args[i].value,
						.datum_b = sc->args[i].value_two};
		for (size_t j = 0; j < i; j++)
			if (cmps[j].arg == cmps[i].arg)
				repeated = true;
	}
	int rc;
	if (!repeated) {
		rc = seccomp_rule_add_exact_array(ctx, action, nr, (unsigned)n, n ? cmps : NULL);
		if (rc == -EOPNOTSUPP || rc == -EDOM)
			/* Not expressible exactly on every architecture in the filter (e.g. a
			 * multiplexed socketcall on x86): let libseccomp rewrite it. */
			rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, n ? cmps : NULL);
	} else {
		/* libseccomp cannot AND two comparisons of one argument; like runc, such an
		 * entry means "any of these comparisons" and becomes one rule per comparison. */
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[i]);
	}
	free(cmps);
	if (rc < 0)
		return hy_error_errno(err, -rc, "%s: adding the rule to the filter", path);
	return 0;
}

static int add_syscalls(scmp_filter_ctx ctx, const struct hy_seccomp *s, uint32_t default_action,
			bool *uses_notify, struct hy_error *err)
{
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct hy_seccomp_syscall *sc = &s->syscalls[i];
		char path[96];
		snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu]", i);
		uint32_t action;
		if (seccomp_action_value(sc->action, sc->has_errno_ret, sc->errno_ret, &action) < 0)
			return hy_error_set(err, EINVAL, "%s.action: invalid action '%.64s'", path,
					    sc->action ? sc->action : "");
		/* libseccomp refuses rules that repeat the default action; they change nothing. */
		if (action == default_action)
			continue;
		for (size_t j = 0; j < sc->names.n; j++) {
			int nr = seccomp_syscall_resolve_name(sc->names.v[j]);
			/* Unknown here but maybe real on another kernel or architecture: skipped,
			 * as crun does, so one profile serves every host. */
			if (nr == __NR_SCMP_ERROR)
				continue;
			int rc = add_rule(ctx, action, nr, sc, path, err);
			if (rc < 0)
				return hy_error_prefix(err, "syscall '%s'", sc->names.v[j]);
			if (action == SCMP_ACT_NOTIFY)
				*uses_notify = true;
		}
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct hy_seccomp_bpf *out, struct hy_error *err)
{
	int fd = memfd_create("hyrun-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "seccomp: memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		close(fd);
		return hy_error_errno(err, -rc, "seccomp: exporting the filter");
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % 8 != 0) {
		close(fd);
		return hy_error_set(err, EIO, "seccomp: exported filter has an invalid size");
	}
	void *buf = malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return hy_error_set(err, ENOMEM, "seccomp: out of memory");
	}
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return hy_error_set(err, EIO, "seccomp: reading the exported filter");
	}
	out->insns = buf;
	out->len = (size_t)st.st_size / 8;
	return 0;
}

int seccomp_bpf_build(const struct hy_seccomp *s, struct hy_seccomp_bpf *out, struct hy_error *err)
{
	memset(out, 0, sizeof(*out));
	uint32_t def;
	if (seccomp_action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
				 &def) < 0)
		return hy_error_set(err, EINVAL,
				    "linux.seccomp.defaultAction: invalid action '%.64s'",
				    s->default_action ? s->default_action : "");
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return hy_error_set(
		    err, EINVAL,
		    "linux.seccomp.defaultAction: %s not supported by libseccomp or "
		    "the kernel",
		    s->default_action);
	int rc = 0;
	for (size_t i = 0; i < s->architectures.n && rc == 0; i++) {
		uint32_t arch = 0;
		seccomp_arch_lookup(s->architectures.v[i], &arch);
		int r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			rc = hy_error_errno(err, -r, "linux.seccomp.architectures[%zu]: adding %s",
					    i, s->architectures.v[i]);
	}
	if (rc == 0)
		rc = add_syscalls(ctx, s, def, &out->uses_notify, err);
	if (rc == 0)
		rc = export_bpf(ctx, out, err);
	seccomp_release(ctx);
	return rc;
}

void seccomp_bpf_free(struct hy_seccomp_bpf *b)
{
	if (b) {
		free(b->insns);
		b->insns = NULL;
		b->len = 0;
	}
}

void seccomp_lib_identity(char *buf, size_t size)
{
	const struct scmp_version *v = seccomp_version();
	snprintf(buf, size, "libseccomp %u.%u.%u api %u native %x", v ? v->major : 0,
		 v ? v->minor : 0, v ? v->micro : 0, seccomp_api_get(), seccomp_arch_native());
}
