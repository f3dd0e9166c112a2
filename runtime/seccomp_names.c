/* OCI seccomp names (config-linux.md) to libseccomp and kernel values. */
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>

#include "runtime/seccomp_internal.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct hy_seccomp_action_name actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

const struct hy_seccomp_action_name *seccomp_action_lookup(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < COUNT(actions); i++)
		if (!strcmp(actions[i].name, name))
			return &actions[i];
	return NULL;
}

int seccomp_action_value(const char *name, bool has_errno, unsigned errno_ret, uint32_t *out)
{
	const struct hy_seccomp_action_name *a = seccomp_action_lookup(name);
	if (!a)
		return -EINVAL;
	if (!a->takes_errno) {
		if (has_errno)
			return -EINVAL;
		*out = a->action;
		return 0;
	}
	unsigned data = has_errno ? errno_ret : EPERM;
	if (data > HY_SECCOMP_ERRNO_MAX)
		return -ERANGE;
	*out = a->action == SCMP_ACT_TRACE(0) ? SCMP_ACT_TRACE(data) : SCMP_ACT_ERRNO(data);
	return 0;
}

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

bool seccomp_op_lookup(const char *name, int *out)
{
	for (size_t i = 0; name && i < COUNT(ops); i++) {
		if (!strcmp(ops[i].name, name)) {
			*out = (int)ops[i].op;
			return true;
		}
	}
	return false;
}

static const struct {
	const char *name;
	uint32_t arch;
} archs[] = {
    {"SCMP_ARCH_NATIVE", SCMP_ARCH_NATIVE},
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

bool seccomp_arch_lookup(const char *name, uint32_t *out)
{
	for (size_t i = 0; name && i < COUNT(archs); i++) {
		if (!strcmp(archs[i].name, name)) {
			*out = archs[i].arch;
			return true;
		}
	}
	return false;
}

static const struct {
	const char *name;
	unsigned flag;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1u << 5},
};

bool seccomp_flag_lookup(const char *name, unsigned *out)
{
	for (size_t i = 0; name && i < COUNT(flags); i++) {
		if (!strcmp(flags[i].name, name)) {
			*out = flags[i].flag;
			return true;
		}
	}
	return false;
}
