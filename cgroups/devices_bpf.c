/* cgroup2 device control: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program, written here instruction
 * by instruction (no libbpf), loaded with bpf(BPF_PROG_LOAD) and attached to the container's
 * cgroup with bpf(BPF_PROG_ATTACH). It answers each device access with the last matching rule,
 * which is how the OCI device list (and v1 devices.allow/deny in sequence) reads. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"

#define MAX_RULES 1024

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

struct prog {
	struct bpf_insn *v;
	size_t n;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn *i = &p->v[p->n++];
	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst & 0xf;
	i->src_reg = src & 0xf;
	i->off = off;
	i->imm = imm;
}

static unsigned access_mask(const char *access)
{
	unsigned m = 0;
	if (!*access)
		return BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
	for (const char *c = access; *c; c++)
		m |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE
								: BPF_DEVCG_ACC_MKNOD;
	return m;
}

#define ALL_ACCESS (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

/* Number of instructions a rule's test takes (so that jumps can skip over the rest of it). */
static size_t rule_len(const struct hy_device_rule *d)
{
	size_t n = 2; /* r0 = verdict; exit */
	if (d->type != 'a')
		n++;
	if (access_mask(d->access) != ALL_ACCESS)
		n += 3;
	if (d->major >= 0 && d->type != 'a')
		n++;
	if (d->minor >= 0 && d->type != 'a')
		n++;
	return n;
}

static void emit_rule(struct prog *p, const struct hy_device_rule *d)
{
	size_t end = p->n + rule_len(d);
#define SKIP ((int16_t)(end - (p->n + 1)))
	/* r2 = access, r3 = type, r4 = major, r5 = minor (see the prologue) */
	if (d->type != 'a')
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 3, 0, SKIP,
		     d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	unsigned acc = access_mask(d->access);
	if (acc != ALL_ACCESS) {
		emit(p, BPF_ALU64 | BPF_MOV | BPF_X, 6, 2, 0, 0);
		if (d->allow) {
			/* allow only when every requested access is in the rule */
			emit(p, BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, (int32_t)(~acc & ALL_ACCESS));
			emit(p, BPF_JMP | BPF_JNE | BPF_K, 6, 0, SKIP, 0);
		} else {
			/* deny when any requested access is in the rule */
			emit(p, BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, (int32_t)acc);
			emit(p, BPF_JMP | BPF_JEQ | BPF_K, 6, 0, SKIP, 0);
		}
	}
	if (d->major >= 0 && d->type != 'a')
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 4, 0, SKIP, (int32_t)d->major);
	if (d->minor >= 0 && d->type != 'a')
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 5, 0, SKIP, (int32_t)d->minor);
#undef SKIP
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, d->allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int build(const struct hy_device_rule *rules, size_t n, struct prog *p,
		 struct hy_error *err)
{
	size_t n_def;
	const struct hy_device_rule *def = cg_default_device_rules(&n_def);
	size_t total = n + n_def;
	if (n > MAX_RULES)
		return hy_error_set(err, E2BIG, "linux.resources.devices: more than %d rules",
				    MAX_RULES);
	p->v = calloc(8 + total * 9, sizeof(*p->v));
	if (!p->v)
		return hy_error_set(err, ENOMEM, "devices: out of memory");
	/* Prologue: struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major;
	 * u32 minor; } */
	emit(p, BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
	emit(p, BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xffff);
	emit(p, BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
	/* Last rule first: the first match is then the last matching rule of the list. A rule
	 * that matches everything ends the program (the verifier refuses unreachable code). */
	for (size_t i = total; i-- > 0;) {
		const struct hy_device_rule *d = i < n ? &rules[i] : &def[i - n];
		emit_rule(p, d);
		if (rule_len(d) == 2)
			return 0;
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0); /* nothing matched: deny */
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return 0;
}

static int prog_id(int fd)
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	memset(&info, 0, sizeof info);
	memset(&attr, 0, sizeof attr);
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof info;
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
		return -1;
	return (int)info.id;
}

/* Detaches every device program on the cgroup except keep_id (an earlier create or update). */
static void detach_others(int cgfd, int keep_id)
{
	uint32_t ids[64];
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.query.target_fd = (uint32_t)cgfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = 64;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return;
	for (uint32_t i = 0; i < attr.query.prog_cnt && i < 64; i++) {
		if ((int)ids[i] == keep_id)
			continue;
		union bpf_attr get;
		memset(&get, 0, sizeof get);
		get.prog_id = ids[i];
		int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0)
			continue;
		union bpf_attr det;
		memset(&det, 0, sizeof det);
		det.target_fd = (uint32_t)cgfd;
		det.attach_bpf_fd = (uint32_t)fd;
		det.attach_type = BPF_CGROUP_DEVICE;
		sys_bpf(BPF_PROG_DETACH, &det);
		close(fd);
	}
}

int cg_devices_bpf_apply(const char *dir, const struct hy_device_rule *rules, size_t n,
			 struct hy_error *err)
{
	struct prog p = {0};
	int r = build(rules, n, &p, err);
	if (r < 0)
		return r;
	/* Loaded without a verifier log first: a full log buffer alone makes the load fail
	 * (ENOSPC). Only a refused program is loaded again, for the verifier's reason. */
	static char log[4096];
	union bpf_attr attr;
	int prog = -1, saved = 0;
	for (int attempt = 0; attempt < 2 && prog < 0; attempt++) {
		memset(&attr, 0, sizeof attr);
		attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
		attr.insns = (uint64_t)(uintptr_t)p.v;
		attr.insn_cnt = (uint32_t)p.n;
		attr.license = (uint64_t)(uintptr_t) "Apache";
		log[0] = '\0';
		if (attempt) {
			attr.log_buf = (uint64_t)(uintptr_t)log;
			attr.log_size = sizeof log;
			attr.log_level = 1;
		}
		prog = (int)sys_bpf(BPF_PROG_LOAD, &attr);
		if (prog < 0 && !attempt)
			saved = errno;
	}
	free(p.v);
	if (prog < 0)
		return hy_error_errno(err, saved, "devices: loading the eBPF device program (%.200s)",
				      log);
	int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		saved = errno;
		close(prog);
		return hy_error_errno(err, saved, "devices: %s", dir);
	}
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
		saved = errno;
		close(cgfd);
		close(prog);
		return hy_error_errno(err, saved, "devices: attaching the eBPF program to %s", dir);
	}
	detach_others(cgfd, prog_id(prog));
	close(cgfd);
	close(prog); /* the attachment holds the program */
	return 0;
}
