/* Codec of the host <-> guest-agent protocol (agent_proto.h): field encoding, the hostile-input
 * decoder, frame I/O and the hybrid vsock handshake. libc only: linked into hyrun and into the
 * static guest agent. Decoding limits are far above what a sane config holds and far below what
 * would let a peer make the other side allocate without bound. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-vm/proto/agent_proto.h"

#define MAX_STRV 4096       /* args, env, masked, readonly, sysctls: each */
#define MAX_MOUNTS 1024
#define MAX_RLIMITS 64
#define MAX_GROUPS 65536
#define MAX_BPF_INSNS 4096  /* BPF_MAXINSNS */
#define BPF_INSN_SIZE 8
#define FIELD_HDR 6         /* u16 tag, u32 length */

/* ---- encoding ---- */

void agent_buf_free(struct agent_buf *b)
{
	free(b->data);
	*b = (struct agent_buf){0};
}

void agent_buf_put_bytes(struct agent_buf *b, const void *p, size_t n)
{
	if (b->failed || n == 0)
		return;
	/* Field lengths are u32 on the wire: nothing bigger can be encoded. */
	if (n > UINT32_MAX || b->len > UINT32_MAX - n) {
		b->failed = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->failed = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void agent_buf_put_u16(struct agent_buf *b, uint16_t v)
{
	uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	agent_buf_put_bytes(b, le, sizeof(le));
}

void agent_buf_put_u32(struct agent_buf *b, uint32_t v)
{
	uint8_t le[4];
	for (int i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	agent_buf_put_bytes(b, le, sizeof(le));
}

void agent_buf_put_u64(struct agent_buf *b, uint64_t v)
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	agent_buf_put_bytes(b, le, sizeof(le));
}

void agent_buf_field(struct agent_buf *b, uint16_t tag, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = true;
		return;
	}
	agent_buf_put_u16(b, tag);
	agent_buf_put_u32(b, (uint32_t)n);
	agent_buf_put_bytes(b, p, n);
}

void agent_buf_field_str(struct agent_buf *b, uint16_t tag, const char *s)
{
	agent_buf_field(b, tag, s, strlen(s));
}

void agent_buf_field_u32(struct agent_buf *b, uint16_t tag, uint32_t v)
{
	agent_buf_put_u16(b, tag);
	agent_buf_put_u32(b, 4);
	agent_buf_put_u32(b, v);
}

static void field_u8(struct agent_buf *b, uint16_t tag, uint8_t v)
{
	agent_buf_field(b, tag, &v, 1);
}

static void field_strv(struct agent_buf *b, uint16_t tag, const struct agent_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		agent_buf_field_str(b, tag, sv->v[i]);
}

static void field_opt_str(struct agent_buf *b, uint16_t tag, const char *s)
{
	if (s)
		agent_buf_field_str(b, tag, s);
}

static void encode_mount(struct agent_buf *b, const struct agent_mount *m)
{
	struct agent_buf sub = {0};
	field_opt_str(&sub, AGENT_FM_TYPE, m->type);
	field_opt_str(&sub, AGENT_FM_SOURCE, m->source);
	field_opt_str(&sub, AGENT_FM_DEST, m->dest);
	agent_buf_put_u16(&sub, AGENT_FM_FLAGS);
	agent_buf_put_u32(&sub, 8);
	agent_buf_put_u64(&sub, m->flags);
	field_opt_str(&sub, AGENT_FM_DATA, m->data);
	if (sub.failed)
		b->failed = true;
	else
		agent_buf_field(b, AGENT_F_MOUNT, sub.data, sub.len);
	agent_buf_free(&sub);
}

int agent_process_encode(const struct agent_process *p, struct agent_buf *b)
{
	field_strv(b, AGENT_F_ARG, &p->args);
	field_strv(b, AGENT_F_ENV, &p->env);
	field_opt_str(b, AGENT_F_CWD, p->cwd);
	agent_buf_field_u32(b, AGENT_F_UID, p->uid);
	agent_buf_field_u32(b, AGENT_F_GID, p->gid);
	for (size_t i = 0; i < p->n_groups; i++)
		agent_buf_field_u32(b, AGENT_F_GROUP, p->groups[i]);
	if (p->has_umask)
		agent_buf_field_u32(b, AGENT_F_UMASK, p->umask);
	if (p->terminal)
		field_u8(b, AGENT_F_TERMINAL, 1);
	if (p->rows || p->cols) {
		agent_buf_put_u16(b, AGENT_F_ROWS_COLS);
		agent_buf_put_u32(b, 4);
		agent_buf_put_u16(b, p->rows);
		agent_buf_put_u16(b, p->cols);
	}
	for (size_t i = 0; i < p->n_rlimits; i++) {
		agent_buf_put_u16(b, AGENT_F_RLIMIT);
		agent_buf_put_u32(b, 20);
		agent_buf_put_u32(b, p->rlimits[i].resource);
		agent_buf_put_u64(b, p->rlimits[i].soft);
		agent_buf_put_u64(b, p->rlimits[i].hard);
	}
	if (p->has_caps) {
		agent_buf_put_u16(b, AGENT_F_CAPS);
		agent_buf_put_u32(b, 8 * AGENT_CAP_SETS);
		for (int i = 0; i < AGENT_CAP_SETS; i++)
			agent_buf_put_u64(b, p->caps[i]);
	}
	if (p->no_new_privileges)
		field_u8(b, AGENT_F_NO_NEW_PRIVS, 1);
	if (p->seccomp_bpf && p->seccomp_len)
		agent_buf_field(b, AGENT_F_SECCOMP_BPF, p->seccomp_bpf, p->seccomp_len);
	if (p->has_oom_score_adj)
		agent_buf_field_u32(b, AGENT_F_OOM_SCORE_ADJ, (uint32_t)p->oom_score_adj);
	field_opt_str(b, AGENT_F_HOSTNAME, p->hostname);
	field_opt_str(b, AGENT_F_DOMAINNAME, p->domainname);
	for (size_t i = 0; i < p->n_mounts; i++)
		encode_mount(b, &p->mounts[i]);
	field_strv(b, AGENT_F_MASKED, &p->masked);
	field_strv(b, AGENT_F_READONLY, &p->readonly);
	field_strv(b, AGENT_F_SYSCTL, &p->sysctls);
	if (p->root_readonly)
		field_u8(b, AGENT_F_ROOT_RO, 1);
	return b->failed ? -ENOMEM : 0;
}

/* ---- decoding ---- */

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

struct field {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
};

/* Next field of [*pos, end). 1 = got one, 0 = end, -EINVAL = truncated. */
static int next_field(const uint8_t **pos, const uint8_t *end, struct field *f)
{
	size_t left = (size_t)(end - *pos);
	if (left == 0)
		return 0;
	if (left < FIELD_HDR)
		return -EINVAL;
	f->tag = get_u16(*pos);
	f->len = get_u32(*pos + 2);
	if (f->len > left - FIELD_HDR)
		return -EINVAL;
	f->val = *pos + FIELD_HDR;
	*pos += FIELD_HDR + f->len;
	return 1;
}

/* A copy of a string field; NULL with *rc set on NUL inside (-EINVAL) or no memory. */
static char *dup_str(const struct field *f, int *rc)
{
	if (memchr(f->val, '\0', f->len)) {
		*rc = -EINVAL;
		return NULL;
	}
	char *s = malloc((size_t)f->len + 1);
	if (!s) {
		*rc = -ENOMEM;
		return NULL;
	}
	memcpy(s, f->val, f->len);
	s[f->len] = '\0';
	return s;
}

/* Replaces *dst with the field's string (a repeated singleton: the last one wins). */
static int set_str(char **dst, const struct field *f)
{
	int rc = 0;
	char *s = dup_str(f, &rc);
	if (!s)
		return rc;
	free(*dst);
	*dst = s;
	return 0;
}

/* Array capacity is implicit: the allocation for `count` elements holds cap_for(count). */
static size_t cap_for(size_t count)
{
	size_t cap = 4;
	if (count == 0)
		return 0;
	while (cap < count)
		cap *= 2;
	return cap;
}

/* Makes room for `need` elements in an array that holds `have`. */
static int reserve(void **arr, size_t have, size_t need, size_t elem)
{
	if (need <= cap_for(have))
		return 0;
	void *p = realloc(*arr, cap_for(need) * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

static int strv_add(struct agent_strv *sv, const struct field *f)
{
	if (sv->n >= MAX_STRV)
		return -E2BIG;
	/* n strings plus the NULL terminator */
	int rc = reserve((void **)&sv->v, sv->v ? sv->n + 1 : 0, sv->n + 2, sizeof(char *));
	if (rc < 0)
		return rc;
	sv->v[sv->n] = NULL;
	char *s = dup_str(f, &rc);
	if (!s)
		return rc;
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

static void strv_free(struct agent_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct agent_strv){0};
}

static void mount_free(struct agent_mount *m)
{
	free(m->type);
	free(m->source);
	free(m->dest);
	free(m->data);
}

void agent_process_free(struct agent_process *p)
{
	strv_free(&p->args);
	strv_free(&p->env);
	free(p->cwd);
	free(p->groups);
	free(p->rlimits);
	free(p->seccomp_bpf);
	free(p->hostname);
	free(p->domainname);
	for (size_t i = 0; i < p->n_mounts; i++)
		mount_free(&p->mounts[i]);
	free(p->mounts);
	strv_free(&p->masked);
	strv_free(&p->readonly);
	strv_free(&p->sysctls);
	*p = (struct agent_process){0};
}

static int decode_mount(const struct field *outer, struct agent_mount *m, const char **why)
{
	const uint8_t *pos = outer->val, *end = outer->val + outer->len;
	struct field f;
	int r, rc;

	*m = (struct agent_mount){0};
	while ((r = next_field(&pos, end, &f)) > 0) {
		rc = 0;
		switch (f.tag) {
		case AGENT_FM_TYPE:
			rc = set_str(&m->type, &f);
			*why = "AGENT_FM_TYPE: invalid string";
			break;
		case AGENT_FM_SOURCE:
			rc = set_str(&m->source, &f);
			*why = "AGENT_FM_SOURCE: invalid string";
			break;
		case AGENT_FM_DEST:
			rc = set_str(&m->dest, &f);
			*why = "AGENT_FM_DEST: invalid string";
			break;
		case AGENT_FM_DATA:
			rc = set_str(&m->data, &f);
			*why = "AGENT_FM_DATA: invalid string";
			break;
		case AGENT_FM_FLAGS:
			if (f.len != 8) {
				*why = "AGENT_FM_FLAGS: expected 8 bytes";
				rc = -EINVAL;
			} else {
				m->flags = get_u64(f.val);
			}
			break;
		default:
			break;
		}
		if (rc < 0) {
			if (rc == -ENOMEM)
				*why = "out of memory";
			mount_free(m);
			return rc;
		}
	}
	if (r < 0) {
		*why = "AGENT_F_MOUNT: truncated nested field";
		mount_free(m);
		return -EINVAL;
	}
	if (!m->dest || !m->dest[0]) {
		*why = "AGENT_F_MOUNT: no destination";
		mount_free(m);
		return -EINVAL;
	}
	return 0;
}

/* One top-level field into p. 0, or -errno with *why set. */
static int decode_field(const struct field *f, struct agent_process *p, const char **why)
{
	int rc = 0;

#define FIXED(name, n)                                                                             \
	do {                                                                                       \
		if (f->len != (n)) {                                                               \
			*why = name ": expected " #n " bytes";                                     \
			return -EINVAL;                                                            \
		}                                                                                  \
	} while (0)
#define STRV(name, sv)                                                                             \
	do {                                                                                       \
		rc = strv_add(sv, f);                                                              \
		*why = rc == -E2BIG ? name ": too many" : name ": string contains NUL";            \
	} while (0)
#define STR(name, dst)                                                                             \
	do {                                                                                       \
		rc = set_str(dst, f);                                                              \
		*why = name ": string contains NUL";                                               \
	} while (0)

	switch (f->tag) {
	case AGENT_F_ARG:
		STRV("AGENT_F_ARG", &p->args);
		break;
	case AGENT_F_ENV:
		STRV("AGENT_F_ENV", &p->env);
		break;
	case AGENT_F_CWD:
		STR("AGENT_F_CWD", &p->cwd);
		break;
	case AGENT_F_UID:
		FIXED("AGENT_F_UID", 4);
		p->uid = get_u32(f->val);
		break;
	case AGENT_F_GID:
		FIXED("AGENT_F_GID", 4);
		p->gid = get_u32(f->val);
		break;
	case AGENT_F_GROUP:
		FIXED("AGENT_F_GROUP", 4);
		rc = p->n_groups >= MAX_GROUPS ? -E2BIG
			: reserve((void **)&p->groups, p->n_groups, p->n_groups + 1,
				  sizeof(uint32_t));
		*why = "AGENT_F_GROUP: too many";
		if (rc == 0)
			p->groups[p->n_groups++] = get_u32(f->val);
		break;
	case AGENT_F_UMASK:
		FIXED("AGENT_F_UMASK", 4);
		p->has_umask = true;
		p->umask = get_u32(f->val);
		break;
	case AGENT_F_TERMINAL:
		FIXED("AGENT_F_TERMINAL", 1);
		p->terminal = f->val[0] != 0;
		break;
	case AGENT_F_ROWS_COLS:
		FIXED("AGENT_F_ROWS_COLS", 4);
		p->rows = get_u16(f->val);
		p->cols = get_u16(f->val + 2);
		break;
	case AGENT_F_RLIMIT:
		FIXED("AGENT_F_RLIMIT", 20);
		rc = p->n_rlimits >= MAX_RLIMITS ? -E2BIG
			: reserve((void **)&p->rlimits, p->n_rlimits, p->n_rlimits + 1,
				  sizeof(struct agent_rlimit));
		*why = "AGENT_F_RLIMIT: too many";
		if (rc == 0)
			p->rlimits[p->n_rlimits++] = (struct agent_rlimit){
				.resource = get_u32(f->val),
				.soft = get_u64(f->val + 4),
				.hard = get_u64(f->val + 12),
			};
		break;
	case AGENT_F_CAPS:
		FIXED("AGENT_F_CAPS", 40);
		p->has_caps = true;
		for (int i = 0; i < AGENT_CAP_SETS; i++)
			p->caps[i] = get_u64(f->val + 8 * i);
		break;
	case AGENT_F_NO_NEW_PRIVS:
		FIXED("AGENT_F_NO_NEW_PRIVS", 1);
		p->no_new_privileges = f->val[0] != 0;
		break;
	case AGENT_F_SECCOMP_BPF:
		if (p->seccomp_bpf) {
			*why = "AGENT_F_SECCOMP_BPF: given twice";
			return -EINVAL;
		}
		if (f->len == 0 || f->len % BPF_INSN_SIZE != 0) {
			*why = "AGENT_F_SECCOMP_BPF: length not a positive multiple of 8";
			return -EINVAL;
		}
		if (f->len > MAX_BPF_INSNS * BPF_INSN_SIZE) {
			*why = "AGENT_F_SECCOMP_BPF: more than 4096 instructions";
			return -EINVAL;
		}
		p->seccomp_bpf = malloc(f->len);
		if (!p->seccomp_bpf) {
			rc = -ENOMEM;
			break;
		}
		memcpy(p->seccomp_bpf, f->val, f->len);
		p->seccomp_len = f->len;
		break;
	case AGENT_F_OOM_SCORE_ADJ:
		FIXED("AGENT_F_OOM_SCORE_ADJ", 4);
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int32_t)get_u32(f->val);
		break;
	case AGENT_F_HOSTNAME:
		STR("AGENT_F_HOSTNAME", &p->hostname);
		break;
	case AGENT_F_DOMAINNAME:
		STR("AGENT_F_DOMAINNAME", &p->domainname);
		break;
	case AGENT_F_MOUNT: {
		struct agent_mount m;
		rc = p->n_mounts >= MAX_MOUNTS ? -E2BIG
			: reserve((void **)&p->mounts, p->n_mounts, p->n_mounts + 1,
				  sizeof(struct agent_mount));
		if (rc < 0) {
			*why = "AGENT_F_MOUNT: too many";
			break;
		}
		rc = decode_mount(f, &m, why);
		if (rc == 0)
			p->mounts[p->n_mounts++] = m;
		return rc;
	}
	case AGENT_F_MASKED:
		STRV("AGENT_F_MASKED", &p->masked);
		break;
	case AGENT_F_READONLY:
		STRV("AGENT_F_READONLY", &p->readonly);
		break;
	case AGENT_F_SYSCTL:
		STRV("AGENT_F_SYSCTL", &p->sysctls);
		break;
	case AGENT_F_ROOT_RO:
		FIXED("AGENT_F_ROOT_RO", 1);
		p->root_readonly = f->val[0] != 0;
		break;
	default: /* AGENT_F_APPARMOR and tags of a newer host */
		break;
	}
#undef FIXED
#undef STRV
#undef STR
	if (rc == -ENOMEM)
		*why = "out of memory";
	return rc == -E2BIG ? -EINVAL : rc;
}

int agent_process_decode(const uint8_t *data, size_t len, struct agent_process *p,
			 const char **why)
{
	const uint8_t *pos = data, *end = data + len;
	struct field f;
	int r, rc = 0;

	*p = (struct agent_process){0};
	*why = NULL;
	if (len > 0 && !data) {
		*why = "no payload";
		return -EINVAL;
	}
	while ((r = next_field(&pos, end, &f)) > 0)
		if ((rc = decode_field(&f, p, why)) < 0)
			break;
	if (r < 0) {
		*why = "truncated field";
		rc = -EINVAL;
	}
	if (rc == 0 && p->args.n == 0) {
		*why = "AGENT_F_ARG: missing (args must not be empty)";
		rc = -EINVAL;
	}
	if (rc < 0)
		agent_process_free(p);
	else
		*why = NULL;
	return rc;
}

/* ---- frames ---- */

/* send() with MSG_NOSIGNAL on sockets (a peer that went away must not kill us with SIGPIPE),
 * write() on anything else. */
static ssize_t write_some(int fd, const void *p, size_t n)
{
	ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
	if (w < 0 && errno == ENOTSOCK)
		w = write(fd, p, n);
	return w;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t w = write_some(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes: 0, -EPIPE on EOF before the first byte, -EPROTO on EOF later. */
static int read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return got == 0 ? -EPIPE : -EPROTO;
		got += (size_t)r;
	}
	return 0;
}

int agent_frame_write(int fd, uint32_t type, const void *payload, size_t len)
{
	uint8_t hdr[AGENT_FRAME_HDR];
	if (len > AGENT_FRAME_MAX)
		return -EMSGSIZE;
	for (int i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(type >> (8 * i));
		hdr[4 + i] = (uint8_t)((uint32_t)len >> (8 * i));
	}
	/* One buffer for small frames, so that a frame is one vsock packet where it fits. */
	if (len <= 4096) {
		uint8_t one[AGENT_FRAME_HDR + 4096];
		memcpy(one, hdr, sizeof(hdr));
		if (len)
			memcpy(one + sizeof(hdr), payload, len);
		return write_all(fd, one, sizeof(hdr) + len);
	}
	int rc = write_all(fd, hdr, sizeof(hdr));
	return rc < 0 ? rc : write_all(fd, payload, len);
}

int agent_frame_read(int fd, uint32_t *type, uint8_t **payload, uint32_t *len, uint32_t max_len)
{
	uint8_t hdr[AGENT_FRAME_HDR];
	int rc;

	*payload = NULL;
	*len = 0;
	if ((rc = read_all(fd, hdr, sizeof(hdr))) < 0)
		return rc;
	uint32_t n = get_u32(hdr + 4);
	if (n > max_len || n > AGENT_FRAME_MAX)
		return -EPROTO;
	*type = get_u32(hdr);
	if (n == 0)
		return 0;
	uint8_t *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	if ((rc = read_all(fd, buf, n)) < 0) {
		free(buf);
		return rc == -EPIPE ? -EPROTO : rc;
	}
	*payload = buf;
	*len = n;
	return 0;
}

/* ---- hybrid vsock handshake ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int agent_vsock_handshake(int fd, uint32_t port, int timeout_ms)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	int rc = write_all(fd, line, (size_t)n);
	if (rc < 0)
		return rc;

	/* Byte by byte: whatever follows the line is the agent's first frame, not ours to eat. */
	long long deadline = now_ms() + timeout_ms;
	size_t got = 0;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return -ETIMEDOUT;
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? -ECONNREFUSED : -errno;
		}
		if (r == 0) /* the VMM closes the socket when the guest refuses */
			return -ECONNREFUSED;
		if (c == '\n')
			break;
		if (got + 1 >= sizeof(line))
			return -EPROTO;
		line[got++] = c;
	}
	line[got] = '\0';
	return strncmp(line, "OK ", 3) == 0 ? 0 : -ECONNREFUSED;
}
