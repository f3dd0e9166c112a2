/* process.capabilities: validating the five sets and applying them with libcap across the
 * container's uid change. */
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/security.h"

/* The highest capability number any kernel is likely to define soon; bounds our bitmaps. */
#define CAPS_BITS 64

struct cap_sets {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* "CAP_SYS_ADMIN" -> CAP_SYS_ADMIN. Only the canonical upper-case spelling is accepted in
 * config.json (what runc and crun produce and check), so typos are caught. */
static bool cap_name_value(const char *name, cap_value_t *out)
{
	if (strncmp(name, "CAP_", 4) != 0 || !name[4] || strlen(name) > 64)
		return false;
	for (const char *p = name + 4; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	cap_value_t v;
	if (cap_from_name(name, &v) != 0 || v < 0 || v >= CAPS_BITS)
		return false;
	*out = v;
	return true;
}

static const char *const set_names[] = {"bounding", "effective", "inheritable", "permitted",
					"ambient"};

static const struct hy_strv *set_at(const struct hy_capabilities *caps, size_t i)
{
	const struct hy_strv *sets[] = {&caps->bounding, &caps->effective, &caps->inheritable,
					&caps->permitted, &caps->ambient};
	return sets[i];
}

static int set_mask(const struct hy_strv *v, const char *json_path, const char *set, uint64_t *mask,
		    struct hy_error *err)
{
	*mask = 0;
	for (size_t i = 0; i < v->n; i++) {
		cap_value_t c;
		if (!v->v[i] || !cap_name_value(v->v[i], &c))
			return hy_error_set(err, EINVAL, "%s.%s[%zu]: unknown capability '%.64s'",
					    json_path, set, i, v->v[i] ? v->v[i] : "(null)");
		*mask |= 1ull << c;
	}
	return 0;
}

static int caps_to_sets(const struct hy_capabilities *caps, const char *json_path,
			struct cap_sets *s, struct hy_error *err)
{
	uint64_t *masks[] = {&s->bounding, &s->effective, &s->inheritable, &s->permitted,
			     &s->ambient};
	memset(s, 0, sizeof(*s));
	if (!caps)
		return 0;
	for (size_t i = 0; i < 5; i++) {
		int rc = set_mask(set_at(caps, i), json_path, set_names[i], masks[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int caps_validate(const struct hy_capabilities *caps, const char *json_path, struct hy_error *err)
{
	struct cap_sets s;
	return caps_to_sets(caps, json_path ? json_path : "process.capabilities", &s, err);
}

/* Appends name to v unless present. */
static int strv_add_unique(struct hy_strv *v, const char *name, struct hy_error *err)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], name))
			return 0;
	char **nv = realloc(v->v, (v->n + 2) * sizeof(*nv));
	if (!nv)
		return hy_error_set(err, ENOMEM, "--cap: out of memory");
	v->v = nv;
	v->v[v->n] = strdup(name);
	if (!v->v[v->n])
		return hy_error_set(err, ENOMEM, "--cap: out of memory");
	v->n++;
	v->v[v->n] = NULL;
	return 0;
}

int caps_add_names(struct hy_capabilities *caps, const char *const *names, size_t n,
		   struct hy_error *err)
{
	for (size_t i = 0; i < n; i++) {
		/* runc accepts "CAP_NET_ADMIN"; also take "net_admin" as people type it. */
		char canon[80];
		const char *in = names[i] ? names[i] : "";
		size_t len = strlen(in);
		bool prefixed = len >= 4 && !strncasecmp(in, "CAP_", 4);
		if (len == 0 || len + 4 >= sizeof(canon))
			return hy_error_set(err, EINVAL, "--cap: unknown capability '%.64s'", in);
		snprintf(canon, sizeof(canon), "%s%s", prefixed ? "" : "CAP_", in);
		for (char *p = canon; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		cap_value_t c;
		if (!cap_name_value(canon, &c))
			return hy_error_set(err, EINVAL, "--cap: unknown capability '%.64s'", in);
		struct hy_strv *sets[] = {&caps->bounding, &caps->effective, &caps->inheritable,
					  &caps->permitted, &caps->ambient};
		for (size_t j = 0; j < 5; j++) {
			int rc = strv_add_unique(sets[j], canon, err);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int caps_prepare_for_user_change(struct hy_error *err)
{
	/* Without KEEPCAPS, setuid() from root to another uid clears the permitted set and the
	 * sets we apply afterwards could not be raised again. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hy_error_errno(err, errno, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

static int set_proc_caps(uint64_t eff, uint64_t perm, uint64_t inh, int max, struct hy_error *err)
{
	cap_t c = cap_init();
	if (!c)
		return hy_error_errno(err, errno, "capabilities: cap_init");
	const struct {
		cap_flag_t flag;
		uint64_t mask;
	} sets[] = {{CAP_EFFECTIVE, eff}, {CAP_PERMITTED, perm}, {CAP_INHERITABLE, inh}};
	for (size_t s = 0; s < 3; s++) {
		for (int v = 0; v < max; v++) {
			cap_value_t val = v;
			if ((sets[s].mask >> v) & 1)
				cap_set_flag(c, sets[s].flag, 1, &val, CAP_SET);
		}
	}
	int rc = cap_set_proc(c);
	int e = errno;
	cap_free(c);
	if (rc < 0)
		return hy_error_errno(err, e, "capabilities: capset");
	return 0;
}

static uint64_t current_permitted(int max)
{
	uint64_t mask = 0;
	cap_t c = cap_get_proc();
	if (!c)
		return 0;
	for (int v = 0; v < max; v++) {
		cap_flag_value_t f = CAP_CLEAR;
		if (cap_get_flag(c, v, CAP_PERMITTED, &f) == 0 && f == CAP_SET)
			mask |= 1ull << v;
	}
	cap_free(c);
	return mask;
}

int caps_apply(const struct hy_capabilities *caps, struct hy_error *err)
{
	struct cap_sets s;
	int rc = caps_to_sets(caps, "process.capabilities", &s, err);
	if (rc < 0)
		return rc;
	/* Names this kernel does not define (newer than it) cannot be held: skip them, as runc
	 * does, rather than failing a config written for a newer host. */
	int max = (int)cap_max_bits();
	if (max <= 0 || max > CAPS_BITS)
		max = CAPS_BITS;
	uint64_t known = max >= 64 ? ~0ull : (1ull << max) - 1;
	s.bounding &= known, s.effective &= known, s.inheritable &= known;
	s.permitted &= known, s.ambient &= known;

	if (s.effective & ~s.permitted)
		return hy_error_set(err, EINVAL,
				    "process.capabilities: effective set has capabilities that are "
				    "not in the permitted set (the kernel refuses that)");

	/* After setuid() to a non-root uid the effective set is empty even with KEEPCAPS: raise
	 * it to the permitted set so that CAP_SETPCAP allows shrinking the bounding set. */
	uint64_t have = current_permitted(max);
	if ((rc = set_proc_caps(have, have, 0, max, err)) < 0)
		return hy_error_prefix(err, "process.capabilities: raising effective set");
	for (int v = 0; v < max; v++) {
		if ((s.bounding >> v) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL) {
			char *name = cap_to_name(v);
			rc =
			    hy_error_errno(err, errno, "process.capabilities.bounding: dropping %s",
					   name ? name : "?");
			cap_free(name);
			return rc;
		}
	}
	if (s.permitted & ~have)
		return hy_error_set(err, EPERM,
				    "process.capabilities.permitted: asks for capabilities this "
				    "process does not hold");
	if ((rc = set_proc_caps(s.effective, s.permitted, s.inheritable, max, err)) < 0)
		return hy_error_prefix(err, "process.capabilities");

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return hy_error_errno(err, errno, "process.capabilities.ambient: clearing");
	for (int v = 0; v < max; v++) {
		if (!((s.ambient >> v) & 1))
			continue;
		/* The kernel only allows ambient capabilities that are both permitted and
		 * inheritable. runc's default spec lists ambient without inheritable; like runc
		 * and crun we skip those (a grant that cannot be made, never a loosening). */
		if (!((s.permitted >> v) & 1) || !((s.inheritable >> v) & 1))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) < 0) {
			char *name = cap_to_name(v);
			rc = hy_error_errno(err, errno, "process.capabilities.ambient: raising %s",
					    name ? name : "?");
			cap_free(name);
			return rc;
		}
	}
	return 0;
}

int security_set_no_new_privs(struct hy_error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hy_error_errno(err, errno,
				      "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}
