/* The host <-> agent protocol codec (sandbox-vm/proto/agent_proto.c): a full spec survives a
 * round trip; truncated, oversized and malformed payloads are refused with a reason naming the
 * field; frames cross a socketpair, and a peer that stops inside a frame or announces a frame over
 * the limit is a protocol error. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-vm/proto/agent_proto.h"
#include "unit.h"

static char *args[] = {"/bin/sh", "-c", "echo hi", "", NULL};
static char *env[] = {"PATH=/bin", "A=b c", NULL};
static char *masked[] = {"/proc/kcore", NULL};
static char *ro[] = {"/proc/sys", "/proc/bus", NULL};
static char *sysctls[] = {"net.ipv4.ip_forward=1", NULL};
static uint32_t groups[] = {10, 20, 4000000000u};
static struct agent_rlimit rlimits[] = {{7, 1024, 4096}, {6, ~0ull, ~0ull}};
static uint8_t bpf[16] = {0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8};
static struct agent_mount mounts[] = {
	{.type = "proc", .source = "proc", .dest = "/proc", .flags = 0xe},
	{.type = "9p", .source = "hyrun0/sub", .dest = "/data", .data = "ro", .flags = 1},
	{.type = "tmpfs", .dest = "/tmp"},
};

static struct agent_process full_spec(void)
{
	return (struct agent_process){
		.args = {args, 4},
		.env = {env, 2},
		.cwd = "/work",
		.uid = 1000,
		.gid = 1001,
		.groups = groups,
		.n_groups = 3,
		.has_umask = true,
		.umask = 027,
		.terminal = true,
		.rows = 40,
		.cols = 132,
		.rlimits = rlimits,
		.n_rlimits = 2,
		.has_caps = true,
		.caps = {1, 2, 3, 0x1ffffffffffull, 5},
		.no_new_privileges = true,
		.seccomp_bpf = bpf,
		.seccomp_len = sizeof(bpf),
		.has_oom_score_adj = true,
		.oom_score_adj = -500,
		.hostname = "box",
		.domainname = "example.org",
		.mounts = mounts,
		.n_mounts = 3,
		.masked = {masked, 1},
		.readonly = {ro, 2},
		.sysctls = {sysctls, 1},
		.root_readonly = true,
	};
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(const struct agent_strv *a, const struct agent_strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!str_eq(a->v[i], b->v[i]))
			return false;
	return a->n == 0 || a->v[a->n] == NULL;
}

static void test_round_trip(void)
{
	struct agent_process in = full_spec(), out;
	struct agent_buf b = {0};
	const char *why = "unset";

	CHECK(agent_process_encode(&in, &b) == 0);
	CHECK(!b.failed && b.len > 0);
	CHECK(agent_process_decode(b.data, b.len, &out, &why) == 0);
	CHECK(why == NULL);
	CHECK(strv_eq(&out.args, &in.args));
	CHECK(strv_eq(&out.env, &in.env));
	CHECK(str_eq(out.cwd, "/work"));
	CHECK(out.uid == 1000 && out.gid == 1001);
	CHECK(out.n_groups == 3 && out.groups[2] == 4000000000u);
	CHECK(out.has_umask && out.umask == 027);
	CHECK(out.terminal && out.rows == 40 && out.cols == 132);
	CHECK(out.n_rlimits == 2 && out.rlimits[0].resource == 7 && out.rlimits[0].soft == 1024 &&
	      out.rlimits[0].hard == 4096 && out.rlimits[1].soft == ~0ull);
	CHECK(out.has_caps && memcmp(out.caps, in.caps, sizeof(in.caps)) == 0);
	CHECK(out.no_new_privileges);
	CHECK(out.seccomp_len == 16 && memcmp(out.seccomp_bpf, bpf, 16) == 0);
	CHECK(out.has_oom_score_adj && out.oom_score_adj == -500);
	CHECK(str_eq(out.hostname, "box") && str_eq(out.domainname, "example.org"));
	CHECK(out.n_mounts == 3);
	for (size_t i = 0; i < 3 && i < out.n_mounts; i++) {
		CHECK(str_eq(out.mounts[i].type, mounts[i].type));
		CHECK(str_eq(out.mounts[i].source, mounts[i].source));
		CHECK(str_eq(out.mounts[i].dest, mounts[i].dest));
		CHECK(str_eq(out.mounts[i].data, mounts[i].data));
		CHECK(out.mounts[i].flags == mounts[i].flags);
	}
	CHECK(strv_eq(&out.masked, &in.masked));
	CHECK(strv_eq(&out.readonly, &in.readonly));
	CHECK(strv_eq(&out.sysctls, &in.sysctls));
	CHECK(out.root_readonly);
	agent_process_free(&out);
	CHECK(out.args.v == NULL && out.mounts == NULL);
	agent_buf_free(&b);
}

/* A minimal spec (one arg) leaves every optional member unset. */
static void test_minimal(void)
{
	char *one[] = {"true", NULL};
	struct agent_process in = {.args = {one, 1}}, out;
	struct agent_buf b = {0};
	const char *why;

	CHECK(agent_process_encode(&in, &b) == 0);
	CHECK(agent_process_decode(b.data, b.len, &out, &why) == 0);
	CHECK(out.args.n == 1 && str_eq(out.args.v[0], "true"));
	CHECK(out.env.n == 0 && out.env.v == NULL);
	CHECK(!out.cwd && !out.has_umask && !out.terminal && !out.has_caps && !out.seccomp_bpf);
	CHECK(!out.hostname && out.n_mounts == 0 && !out.root_readonly);
	agent_process_free(&out);
	agent_buf_free(&b);
}

/* Decodes b and expects a refusal whose reason contains want; p must come back empty. */
static void expect_reject(const struct agent_buf *b, const char *want)
{
	struct agent_process p;
	const char *why = NULL;
	int rc = agent_process_decode(b->data, b->len, &p, &why);
	CHECK(rc == -EINVAL);
	CHECK_STR_CONTAINS(why, want);
	if (!why || !strstr(why, want))
		fprintf(stderr, "  wanted '%s', got '%s'\n", want, why ? why : "(null)");
	CHECK(p.args.v == NULL && p.cwd == NULL && p.mounts == NULL && p.seccomp_bpf == NULL);
}

static void test_rejections(void)
{
	struct agent_buf b = {0};

	/* empty payload: no args */
	expect_reject(&b, "AGENT_F_ARG: missing");

	/* every prefix of a valid payload that cuts a field is truncated; one that ends between
	 * fields is a valid (shorter) spec */
	struct agent_process in = full_spec();
	CHECK(agent_process_encode(&in, &b) == 0);
	size_t next_boundary = 0, boundaries = 0;
	for (size_t n = 1; n < b.len; n++) {
		struct agent_process p;
		const char *why = NULL;
		while (next_boundary < n)
			next_boundary += 6 + (b.data[next_boundary + 2] | b.data[next_boundary + 3] << 8 |
					      b.data[next_boundary + 4] << 16);
		int rc = agent_process_decode(b.data, n, &p, &why);
		if (n == next_boundary) {
			boundaries++;
			CHECK(rc == 0 && p.args.n > 0);
		} else {
			CHECK(rc == -EINVAL && why && strcmp(why, "truncated field") == 0);
		}
		agent_process_free(&p);
	}
	CHECK(boundaries > 20);
	agent_buf_free(&b);

	/* a field length beyond the payload */
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_put_u16(&b, AGENT_F_CWD);
	agent_buf_put_u32(&b, 0xffffffffu);
	agent_buf_put_bytes(&b, "abc", 3);
	expect_reject(&b, "truncated field");
	agent_buf_free(&b);

	/* fixed-size fields of the wrong size */
	static const struct {
		uint16_t tag;
		size_t len;
		const char *why;
	} wrong[] = {
		{AGENT_F_UID, 3, "AGENT_F_UID: expected 4 bytes"},
		{AGENT_F_GID, 8, "AGENT_F_GID: expected 4 bytes"},
		{AGENT_F_GROUP, 2, "AGENT_F_GROUP: expected 4 bytes"},
		{AGENT_F_UMASK, 0, "AGENT_F_UMASK: expected 4 bytes"},
		{AGENT_F_TERMINAL, 4, "AGENT_F_TERMINAL: expected 1 bytes"},
		{AGENT_F_ROWS_COLS, 2, "AGENT_F_ROWS_COLS: expected 4 bytes"},
		{AGENT_F_RLIMIT, 16, "AGENT_F_RLIMIT: expected 20 bytes"},
		{AGENT_F_CAPS, 32, "AGENT_F_CAPS: expected 40 bytes"},
		{AGENT_F_NO_NEW_PRIVS, 0, "AGENT_F_NO_NEW_PRIVS: expected 1 bytes"},
		{AGENT_F_OOM_SCORE_ADJ, 1, "AGENT_F_OOM_SCORE_ADJ: expected 4 bytes"},
		{AGENT_F_ROOT_RO, 2, "AGENT_F_ROOT_RO: expected 1 bytes"},
	};
	static const uint8_t zeros[64];
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		agent_buf_field_str(&b, AGENT_F_ARG, "x");
		agent_buf_field(&b, wrong[i].tag, zeros, wrong[i].len);
		expect_reject(&b, wrong[i].why);
		agent_buf_free(&b);
	}

	/* NUL inside strings */
	agent_buf_field(&b, AGENT_F_ARG, "a\0b", 3);
	expect_reject(&b, "AGENT_F_ARG: string contains NUL");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&b, AGENT_F_HOSTNAME, "h\0", 2);
	expect_reject(&b, "AGENT_F_HOSTNAME: string contains NUL");
	agent_buf_free(&b);

	/* seccomp: not a multiple of 8, empty, too long, twice */
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&b, AGENT_F_SECCOMP_BPF, zeros, 12);
	expect_reject(&b, "AGENT_F_SECCOMP_BPF: length not a positive multiple of 8");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&b, AGENT_F_SECCOMP_BPF, zeros, 0);
	expect_reject(&b, "AGENT_F_SECCOMP_BPF: length not a positive multiple of 8");
	agent_buf_free(&b);
	uint8_t *big = calloc(4097, 8);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&b, AGENT_F_SECCOMP_BPF, big, 4097 * 8);
	expect_reject(&b, "AGENT_F_SECCOMP_BPF: more than 4096 instructions");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&b, AGENT_F_SECCOMP_BPF, big, 4096 * 8); /* the maximum is fine... */
	{
		struct agent_process p;
		const char *why;
		CHECK(agent_process_decode(b.data, b.len, &p, &why) == 0);
		CHECK(p.seccomp_len == 4096 * 8);
		agent_process_free(&p);
	}
	agent_buf_field(&b, AGENT_F_SECCOMP_BPF, big, 8); /* ...once */
	expect_reject(&b, "AGENT_F_SECCOMP_BPF: given twice");
	agent_buf_free(&b);
	free(big);

	/* counts over the caps */
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	for (int i = 0; i < 4096; i++)
		agent_buf_field_str(&b, AGENT_F_ENV, "A=1");
	{
		struct agent_process p;
		const char *why;
		CHECK(agent_process_decode(b.data, b.len, &p, &why) == 0);
		CHECK(p.env.n == 4096 && p.env.v[4096] == NULL);
		agent_process_free(&p);
	}
	agent_buf_field_str(&b, AGENT_F_ENV, "A=1");
	expect_reject(&b, "AGENT_F_ENV: too many");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	for (int i = 0; i < 65537; i++)
		agent_buf_field_u32(&b, AGENT_F_GROUP, (uint32_t)i);
	expect_reject(&b, "AGENT_F_GROUP: too many");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	for (int i = 0; i < 65; i++)
		agent_buf_field(&b, AGENT_F_RLIMIT, zeros, 20);
	expect_reject(&b, "AGENT_F_RLIMIT: too many");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	struct agent_buf m = {0};
	agent_buf_field_str(&m, AGENT_FM_DEST, "/x");
	for (int i = 0; i < 1025; i++)
		agent_buf_field(&b, AGENT_F_MOUNT, m.data, m.len);
	expect_reject(&b, "AGENT_F_MOUNT: too many");
	agent_buf_free(&b);
	agent_buf_free(&m);

	/* malformed mounts: no destination, truncated nested field, bad flags size */
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field_str(&m, AGENT_FM_TYPE, "proc");
	agent_buf_field(&b, AGENT_F_MOUNT, m.data, m.len);
	expect_reject(&b, "AGENT_F_MOUNT: no destination");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&b, AGENT_F_MOUNT, m.data, m.len - 1);
	expect_reject(&b, "AGENT_F_MOUNT: truncated nested field");
	agent_buf_free(&b);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field_str(&m, AGENT_FM_DEST, "/x");
	agent_buf_field(&m, AGENT_FM_FLAGS, zeros, 4);
	agent_buf_field(&b, AGENT_F_MOUNT, m.data, m.len);
	expect_reject(&b, "AGENT_FM_FLAGS: expected 8 bytes");
	agent_buf_free(&b);
	agent_buf_free(&m);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field(&m, AGENT_FM_DEST, "/a\0", 3);
	agent_buf_field(&b, AGENT_F_MOUNT, m.data, m.len);
	expect_reject(&b, "AGENT_FM_DEST: invalid string");
	agent_buf_free(&b);
	agent_buf_free(&m);

	/* unknown tags are skipped, at both levels */
	agent_buf_field(&b, 999, "whatever", 8);
	agent_buf_field_str(&b, AGENT_F_ARG, "x");
	agent_buf_field_str(&m, 77, "future");
	agent_buf_field_str(&m, AGENT_FM_DEST, "/y");
	agent_buf_field(&b, AGENT_F_MOUNT, m.data, m.len);
	{
		struct agent_process p;
		const char *why;
		CHECK(agent_process_decode(b.data, b.len, &p, &why) == 0);
		CHECK(p.args.n == 1 && p.n_mounts == 1 && str_eq(p.mounts[0].dest, "/y"));
		agent_process_free(&p);
	}
	agent_buf_free(&b);
	agent_buf_free(&m);
}

static void test_frames(void)
{
	int sv[2];
	uint32_t type, len;
	uint8_t *payload;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* small, empty and large (over the one-buffer path) frames */
	CHECK(agent_frame_write(sv[0], AGENT_MSG_SIGNAL, "\x0f\0\0\0", 4) == 0);
	CHECK(agent_frame_write(sv[0], AGENT_MSG_START, NULL, 0) == 0);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == 0);
	CHECK(type == AGENT_MSG_SIGNAL && len == 4 && payload && payload[0] == 15);
	free(payload);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == 0);
	CHECK(type == AGENT_MSG_START && len == 0 && payload == NULL);

	/* a frame larger than the socket buffer needs a concurrent reader */
	size_t big = 100000;
	uint8_t *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 7);
	pid_t pid = fork();
	if (pid == 0) {
		_exit(agent_frame_write(sv[0], AGENT_MSG_STDOUT, data, big) == 0 ? 0 : 1);
	}
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == 0);
	CHECK(type == AGENT_MSG_STDOUT && len == big && payload && memcmp(payload, data, big) == 0);
	free(payload);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(data);

	/* over the reader's limit, and over AGENT_FRAME_MAX at the writer */
	CHECK(agent_frame_write(sv[0], AGENT_MSG_STDIN, "0123456789", 10) == 0);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, 9) == -EPROTO);
	CHECK(payload == NULL);
	CHECK(agent_frame_write(sv[0], AGENT_MSG_STDIN, "", (size_t)AGENT_FRAME_MAX + 1) ==
	      -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	/* a hostile header announcing 4 GiB */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[0], "\x42\0\0\0\xff\xff\xff\xff", 8) == 8);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == -EPROTO);
	close(sv[0]);
	close(sv[1]);

	/* EOF inside the payload, inside the header, and cleanly between frames */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[0], "\x42\0\0\0\x10\0\0\0abc", 11) == 11);
	shutdown(sv[0], SHUT_WR);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == -EPROTO);
	close(sv[0]);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[0], "\x42\0\0", 3) == 3);
	shutdown(sv[0], SHUT_WR);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == -EPROTO);
	close(sv[0]);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	shutdown(sv[0], SHUT_WR);
	CHECK(agent_frame_read(sv[1], &type, &payload, &len, AGENT_FRAME_MAX) == -EPIPE);
	close(sv[1]);
	/* a write to a closed peer fails with EPIPE, not SIGPIPE */
	CHECK(agent_frame_write(sv[0], AGENT_MSG_START, NULL, 0) == -EPIPE);
	close(sv[0]);
}

/* The VMM's side of the handshake, played by the test. */
static void test_handshake(void)
{
	int sv[2];
	char line[32] = {0};

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* the answer line is followed at once by a frame, which must stay unread */
	CHECK(write(sv[1], "OK 1073741824\n\x41\0\0\0\0\0\0\0", 22) == 22);
	CHECK(agent_vsock_handshake(sv[0], 1024, 1000) == 0);
	CHECK(read(sv[1], line, sizeof(line) - 1) == 13);
	CHECK(strcmp(line, "CONNECT 1024\n") == 0);
	uint32_t type, len;
	uint8_t *payload;
	CHECK(agent_frame_read(sv[0], &type, &payload, &len, 16) == 0 && type == 0x41);
	close(sv[0]);
	close(sv[1]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]); /* refused: the VMM closes the socket */
	CHECK(agent_vsock_handshake(sv[0], 1024, 1000) < 0);
	close(sv[0]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	shutdown(sv[1], SHUT_WR);
	CHECK(agent_vsock_handshake(sv[0], 1024, 1000) == -ECONNREFUSED);
	close(sv[0]);
	close(sv[1]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(agent_vsock_handshake(sv[0], 1024, 50) == -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "NO\n", 3) == 3);
	CHECK(agent_vsock_handshake(sv[0], 1024, 1000) == -ECONNREFUSED);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_round_trip();
	test_minimal();
	test_rejections();
	test_frames();
	test_handshake();
	return UNIT_DONE();
}
