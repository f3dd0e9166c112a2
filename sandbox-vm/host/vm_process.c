/* vm_process_spec: an OCI process (hy_process) as the agent's process spec (agent_process).
 * Everything the container path applies to its process travels here, resolved to numbers the
 * guest kernel understands (capability bits, RLIMIT_*, BPF), because the static agent has no
 * libcap or libseccomp. The guest is x86_64 Linux like the host, so the numbers are the same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "runtime/seccomp_export.h"
#include "sandbox-vm/host/vm_host.h"

static int copy_strv(const struct hy_strv *from, struct agent_strv *to)
{
	to->v = calloc(from->n + 1, sizeof(char *));
	if (!to->v)
		return -ENOMEM;
	for (size_t i = 0; i < from->n; i++) {
		if (!(to->v[i] = strdup(from->v[i] ? from->v[i] : "")))
			return -ENOMEM;
		to->n++;
	}
	return 0;
}

/* Same acceptance as the container path (runtime/capabilities.c): canonical "CAP_*" names
 * that libcap knows, below 64. */
static int caps_mask(const struct hy_strv *names, const char *set, uint64_t *mask,
		     struct hy_error *err)
{
	*mask = 0;
	for (size_t i = 0; i < names->n; i++) {
		const char *name = names->v[i];
		cap_value_t v;
		if (!name || strncmp(name, "CAP_", 4) != 0 || cap_from_name(name, &v) != 0 ||
		    v < 0 || v >= 64)
			return hy_error_set(err, EINVAL,
					    "process.capabilities.%s[%zu]: unknown capability "
					    "'%.64s'",
					    set, i, name ? name : "(null)");
		*mask |= 1ull << v;
	}
	return 0;
}

static int caps_spec(const struct hy_capabilities *c, uint64_t out[AGENT_CAP_SETS],
		     struct hy_error *err)
{
	/* Without process.capabilities the process gets none (the OCI default). */
	memset(out, 0, AGENT_CAP_SETS * sizeof(uint64_t));
	if (!c)
		return 0;
	const struct hy_strv *sets[AGENT_CAP_SETS] = {&c->bounding, &c->effective, &c->inheritable,
						      &c->permitted, &c->ambient};
	static const char *const names[AGENT_CAP_SETS] = {"bounding", "effective", "inheritable",
							  "permitted", "ambient"};
	for (int i = 0; i < AGENT_CAP_SETS; i++) {
		int rc = caps_mask(sets[i], names[i], &out[i], err);
		if (rc < 0)
			return rc;
	}
	if (out[1] & ~out[3])
		return hy_error_set(err, EINVAL,
				    "process.capabilities: effective set has capabilities that are "
				    "not in the permitted set (the kernel refuses that)");
	/* The kernel only allows ambient capabilities that are permitted and inheritable; runc's
	 * default spec lists ambient without inheritable. Like the container path (and runc,
	 * crun) those are skipped: a grant that cannot be made, never a loosening. */
	out[4] &= out[3] & out[2];
	return 0;
}

static int fill(const struct hy_config *cfg, const struct hy_process *p, struct agent_process *o,
		struct hy_error *err)
{
	if (!p->args.n || !p->args.v[0] || !p->args.v[0][0])
		return hy_error_set(err, EINVAL, "process.args: must name a program");
	if (copy_strv(&p->args, &o->args) < 0 || copy_strv(&p->env, &o->env) < 0 ||
	    !(o->cwd = strdup(p->cwd && p->cwd[0] ? p->cwd : "/")))
		return -ENOMEM;
	o->uid = (uint32_t)p->user.uid;
	o->gid = (uint32_t)p->user.gid;
	if (p->user.n_additional_gids) {
		if (!(o->groups = calloc(p->user.n_additional_gids, sizeof(uint32_t))))
			return -ENOMEM;
		for (size_t i = 0; i < p->user.n_additional_gids; i++)
			o->groups[i] = (uint32_t)p->user.additional_gids[i];
		o->n_groups = p->user.n_additional_gids;
	}
	o->has_umask = p->user.has_umask;
	o->umask = (uint32_t)p->user.umask;
	o->terminal = p->terminal;
	if (p->has_console_size) {
		o->rows = (uint16_t)(p->console_height > 0xffff ? 0xffff : p->console_height);
		o->cols = (uint16_t)(p->console_width > 0xffff ? 0xffff : p->console_width);
	}
	if (p->n_rlimits) {
		if (!(o->rlimits = calloc(p->n_rlimits, sizeof(*o->rlimits))))
			return -ENOMEM;
		for (size_t i = 0; i < p->n_rlimits; i++) {
			if (p->rlimits[i].resource < 0)
				return hy_error_set(err, EINVAL, "process.rlimits[%zu]: unknown type",
						    i);
			o->rlimits[i] = (struct agent_rlimit){
				.resource = (uint32_t)p->rlimits[i].resource,
				.soft = p->rlimits[i].soft,
				.hard = p->rlimits[i].hard,
			};
		}
		o->n_rlimits = p->n_rlimits;
	}
	int rc;
	o->has_caps = true;
	if ((rc = caps_spec(p->capabilities, o->caps, err)) < 0)
		return rc;
	o->no_new_privileges = p->no_new_privileges;
	o->has_oom_score_adj = p->has_oom_score_adj;
	o->oom_score_adj = p->oom_score_adj;
	/* The container's filter applies to every process in it, exec'd ones too (as runc). */
	if (cfg && cfg->has_linux && cfg->linux_.seccomp) {
		if ((rc = seccomp_export_bpf_program(cfg->linux_.seccomp, &o->seccomp_bpf,
						     &o->seccomp_len, err)) < 0)
			return rc;
	}
	return 0;
}

int vm_process_spec(const struct hy_config *cfg, const struct hy_process *p,
		    struct agent_process *out, struct hy_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return hy_error_set(err, EINVAL, "process: missing (a VM container needs one)");
	hy_error_clear(err);
	int rc = fill(cfg, p, out, err);
	if (rc < 0) {
		agent_process_free(out);
		memset(out, 0, sizeof(*out));
		if (rc == -ENOMEM && !err->msg[0])
			rc = hy_error_set(err, ENOMEM, "process: out of memory");
	}
	return rc;
}
