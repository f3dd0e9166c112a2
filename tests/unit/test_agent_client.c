/* agent_client (connect / request / relay) against a fake guest agent in a thread, and
 * vm_process_spec from parsed configs. The fake speaks the real codec (agent_proto.c), so the
 * test also checks that what the client encodes decodes on the agent's side. Hostile agents
 * (oversized frame, unknown message, EOF mid-frame or before EXIT) must give an error, never a
 * crash or a hang. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/config.h"
#include "sandbox-vm/host/vm_host.h"
#include "unit.h"

/* ---- fake hybrid vsock device: refuses the first `refusals` CONNECTs, then says OK ---- */

struct fake_device {
	int listen_fd;
	int refusals;
	int connects; /* CONNECT lines seen */
	bool bad_port; /* a CONNECT line for another port than the agent's */
	int accepted_fd; /* the stream that got "OK" (kept open) */
};

static void *device_thread(void *arg)
{
	struct fake_device *d = arg;
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return NULL;
		char line[32] = {0};
		size_t n = 0;
		while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
			n++;
		d->connects++;
		if (strcmp(line, "CONNECT 1024\n") != 0 && strcmp(line, "CONNECT 1024") != 0)
			d->bad_port = true;
		if (d->refusals > 0) {
			d->refusals--;
			close(fd); /* what the VMM does when the guest answers RST */
			continue;
		}
		/* The agent's first frame may follow the OK line at once: it must not be eaten. */
		static const char ok[] = "OK 1073741824\n";
		if (write(fd, ok, sizeof(ok) - 1) < 0 ||
		    agent_frame_write(fd, AGENT_MSG_STDOUT, "x", 1) < 0) {
			close(fd);
			return NULL;
		}
		d->accepted_fd = fd;
		return NULL;
	}
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
		return -1;
	return fd;
}

static int boot_checks;
static bool still_booting_n(void *arg)
{
	boot_checks++;
	return boot_checks < *(int *)arg;
}

static void test_connect(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	struct hy_error e = {0};

	/* Refused three times while "booting", then connected; the first frame is intact. */
	struct fake_device d = {.listen_fd = listen_at(path), .refusals = 3, .accepted_fd = -1};
	CHECK(d.listen_fd >= 0);
	pthread_t t;
	pthread_create(&t, NULL, device_thread, &d);
	int fd = agent_client_connect(path, 5000, NULL, NULL, &e);
	pthread_join(t, NULL);
	CHECK(fd >= 0);
	CHECK(d.connects == 4);
	CHECK(!d.bad_port);
	uint32_t type = 0, len = 0;
	uint8_t *payload = NULL;
	CHECK(fd >= 0 && agent_frame_read(fd, &type, &payload, &len, 16) == 0);
	CHECK(type == AGENT_MSG_STDOUT && len == 1 && payload && payload[0] == 'x');
	free(payload);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	if (fd >= 0)
		close(fd);
	if (d.accepted_fd >= 0)
		close(d.accepted_fd);

	/* Always refused: gives up at the timeout with an error naming the socket. */
	d = (struct fake_device){.listen_fd = d.listen_fd, .refusals = 1000000, .accepted_fd = -1};
	pthread_create(&t, NULL, device_thread, &d);
	hy_error_clear(&e);
	fd = agent_client_connect(path, 300, NULL, NULL, &e);
	CHECK(fd < 0);
	CHECK(e.code == ETIMEDOUT || e.code == ECONNREFUSED);
	CHECK_STR_CONTAINS(e.msg, path);
	CHECK(d.connects >= 2); /* it did retry */
	shutdown(d.listen_fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(d.listen_fd);

	/* No socket yet, and the VMM died: stops as soon as still_booting says so. */
	unlink(path);
	int limit = 3;
	boot_checks = 0;
	hy_error_clear(&e);
	fd = agent_client_connect(path, 60000, still_booting_n, &limit, &e);
	CHECK(fd < 0);
	CHECK(boot_checks == 3);
	CHECK_STR_CONTAINS(e.msg, "VM stopped");

	/* A path that cannot be a socket address. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	hy_error_clear(&e);
	CHECK(agent_client_connect(longp, 100, NULL, NULL, &e) < 0 && e.code == ENAMETOOLONG);
}

/* ---- request ---- */

struct fake_answer {
	int fd;
	uint32_t type;           /* answer with this message */
	const void *payload;
	size_t len;
	struct agent_process got; /* what the agent decoded */
	uint32_t got_type;
	int decode_rc;
};

static void *answer_thread(void *arg)
{
	struct fake_answer *a = arg;
	uint8_t *p = NULL;
	uint32_t len = 0;
	if (agent_frame_read(a->fd, &a->got_type, &p, &len, AGENT_FRAME_MAX) == 0) {
		const char *why = NULL;
		a->decode_rc = agent_process_decode(p, len, &a->got, &why);
		agent_frame_write(a->fd, a->type, a->payload, a->len);
	}
	free(p);
	return NULL;
}

static int request_with(uint32_t req, uint32_t answer, const void *payload, size_t len,
			uint32_t *pid, struct agent_process *got, struct hy_error *e)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	struct fake_answer a = {.fd = sv[1], .type = answer, .payload = payload, .len = len};
	pthread_t t;
	pthread_create(&t, NULL, answer_thread, &a);
	char *args[] = {"/bin/echo", "hi", NULL};
	struct agent_process p = {.args = {.v = args, .n = 2}, .uid = 7, .gid = 8};
	int rc = agent_client_request(sv[0], req, &p, pid, e);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	if (got)
		*got = a.got;
	else
		agent_process_free(&a.got);
	if (a.decode_rc != 0)
		rc = -1000;
	return rc;
}

static void test_request(void)
{
	struct hy_error e = {0};
	uint32_t pid = 0;
	const uint8_t pid42[4] = {42, 0, 0, 0};
	struct agent_process got;
	CHECK(request_with(AGENT_MSG_EXEC, AGENT_MSG_STARTED, pid42, 4, &pid, &got, &e) == 0);
	CHECK(pid == 42);
	CHECK(got.args.n == 2 && !strcmp(got.args.v[0], "/bin/echo") && got.uid == 7 &&
	      got.gid == 8);
	agent_process_free(&got);

	pid = 0;
	CHECK(request_with(AGENT_MSG_CREATE, AGENT_MSG_READY, pid42, 4, &pid, NULL, &e) == 0);
	CHECK(pid == 42);

	/* ERROR: its text is the message, without the control characters. */
	const char why[] = "exec /bin/nope: No such file or directory\x1b[2J\n";
	hy_error_clear(&e);
	CHECK(request_with(AGENT_MSG_EXEC, AGENT_MSG_ERROR, why, sizeof(why) - 1, &pid, NULL, &e) <
	      0);
	CHECK_STR_CONTAINS(e.msg, "exec /bin/nope: No such file or directory");
	CHECK(strchr(e.msg, '\x1b') == NULL && strchr(e.msg, '\n') == NULL);

	/* READY where STARTED is due, a short pid, and EOF: errors. */
	hy_error_clear(&e);
	CHECK(request_with(AGENT_MSG_EXEC, AGENT_MSG_READY, pid42, 4, &pid, NULL, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "unexpected");
	hy_error_clear(&e);
	CHECK(request_with(AGENT_MSG_EXEC, AGENT_MSG_STARTED, pid42, 2, &pid, NULL, &e) < 0);
	CHECK(e.msg[0] != '\0');

	/* The agent already gone: an error, not death by SIGPIPE, and no SIGPIPE left pending. */
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	close(sv[1]);
	char *gone_args[] = {"true", NULL};
	struct agent_process gone = {.args = {.v = gone_args, .n = 1}};
	hy_error_clear(&e);
	CHECK(agent_client_request(sv[0], AGENT_MSG_EXEC, &gone, &pid, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "guest agent connection lost");
	sigset_t pending;
	sigpending(&pending);
	CHECK(!sigismember(&pending, SIGPIPE));
	close(sv[0]);

	/* Not a process request at all. */
	hy_error_clear(&e);
	char *args[] = {"x", NULL};
	struct agent_process p = {.args = {.v = args, .n = 1}};
	CHECK(agent_client_request(-1, AGENT_MSG_PS, &p, &pid, &e) == -EINVAL);
}

/* ---- relay ---- */

enum agent_script {
	SCRIPT_NORMAL,     /* stdin echoed back, output, a signal, EXIT */
	SCRIPT_OVERSIZED,  /* a frame header over AGENT_FRAME_MAX */
	SCRIPT_UNKNOWN,    /* message type 999 */
	SCRIPT_MID_FRAME,  /* EOF inside a frame */
	SCRIPT_NO_EXIT,    /* EOF without EXIT */
	SCRIPT_RESIZE,     /* expects RESIZE, then EXIT */
	SCRIPT_WAIT_EOF,   /* expects STDIN_EOF, then EXIT */
	SCRIPT_BIG_OUTPUT, /* 1 MiB of STDOUT to a reader that went away, then EXIT */
};

struct fake_relay_agent {
	int fd;
	enum agent_script script;
	char stdin_got[256];
	size_t stdin_len;
	bool stdin_eof;
	uint32_t first_type; /* first message received */
	uint32_t signal_got;
	uint16_t rows, cols;
};

static uint32_t u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void send_exit(int fd, uint32_t status)
{
	uint8_t b[4] = {(uint8_t)status, (uint8_t)(status >> 8), 0, 0};
	agent_frame_write(fd, AGENT_MSG_EXIT, b, 4);
}

/* Reads frames until `until` arrives; records what came. */
static bool read_until(struct fake_relay_agent *a, uint32_t until)
{
	for (;;) {
		uint32_t type, len;
		uint8_t *p = NULL;
		if (agent_frame_read(a->fd, &type, &p, &len, AGENT_FRAME_MAX) < 0)
			return false;
		if (!a->first_type)
			a->first_type = type;
		if (type == AGENT_MSG_STDIN && a->stdin_len + len < sizeof(a->stdin_got)) {
			memcpy(a->stdin_got + a->stdin_len, p, len);
			a->stdin_len += len;
		} else if (type == AGENT_MSG_STDIN_EOF) {
			a->stdin_eof = true;
		} else if (type == AGENT_MSG_SIGNAL && len == 4) {
			a->signal_got = u32le(p);
		} else if (type == AGENT_MSG_RESIZE && len == 4) {
			a->rows = (uint16_t)(p[0] | p[1] << 8);
			a->cols = (uint16_t)(p[2] | p[3] << 8);
		}
		free(p);
		if (type == until)
			return true;
	}
}

static void *relay_agent_thread(void *arg)
{
	struct fake_relay_agent *a = arg;
	uint8_t hdr[8] = {0};
	switch (a->script) {
	case SCRIPT_NORMAL:
		if (!read_until(a, AGENT_MSG_STDIN_EOF))
			break;
		agent_frame_write(a->fd, AGENT_MSG_STDOUT, a->stdin_got, a->stdin_len);
		agent_frame_write(a->fd, AGENT_MSG_STDERR, "oops", 4);
		kill(getpid(), SIGUSR1); /* the host user signals the exec process */
		if (!read_until(a, AGENT_MSG_SIGNAL))
			break;
		agent_frame_write(a->fd, AGENT_MSG_STDOUT, "bye", 3);
		send_exit(a->fd, 3 << 8);
		break;
	case SCRIPT_OVERSIZED:
		hdr[0] = AGENT_MSG_STDOUT;
		hdr[4] = 0xff, hdr[5] = 0xff, hdr[6] = 0xff, hdr[7] = 0x7f;
		if (write(a->fd, hdr, 8) < 0)
			break;
		/* Keep the stream open: the client must not wait for the 2 GiB. */
		read_until(a, 0xffffffff);
		break;
	case SCRIPT_UNKNOWN:
		agent_frame_write(a->fd, 999, "??", 2);
		read_until(a, 0xffffffff);
		break;
	case SCRIPT_MID_FRAME:
		hdr[0] = AGENT_MSG_STDOUT;
		hdr[4] = 100;
		if (write(a->fd, hdr, 8) < 0 || write(a->fd, "0123456789", 10) < 0)
			break;
		break;
	case SCRIPT_NO_EXIT:
		agent_frame_write(a->fd, AGENT_MSG_STDOUT, "partial", 7);
		break;
	case SCRIPT_RESIZE:
		if (read_until(a, AGENT_MSG_RESIZE))
			send_exit(a->fd, 9); /* killed by SIGKILL */
		break;
	case SCRIPT_WAIT_EOF:
		if (read_until(a, AGENT_MSG_STDIN_EOF))
			send_exit(a->fd, 0);
		break;
	case SCRIPT_BIG_OUTPUT: {
		static char chunk[AGENT_STDIO_CHUNK];
		memset(chunk, 'y', sizeof(chunk));
		for (int i = 0; i < 32; i++)
			agent_frame_write(a->fd, AGENT_MSG_STDOUT, chunk, sizeof(chunk));
		send_exit(a->fd, 0);
		break;
	}
	}
	shutdown(a->fd, SHUT_RDWR);
	return NULL;
}

struct relay_run {
	int rc;
	int status;
	struct hy_error e;
	char out[256], errout[256];
	struct fake_relay_agent agent;
};

static void read_all_nb(int fd, char *buf, size_t size)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Runs one relay against the scripted agent. stdin_data NULL = in_fd -1. */
static void relay_with(enum agent_script script, const char *stdin_data, int sig_fd,
		       int winsize_fd, bool close_out_reader, struct relay_run *run)
{
	memset(run, 0, sizeof(*run));
	int sv[2], in[2], out[2], errp[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	pipe2(in, O_CLOEXEC);
	pipe2(out, O_CLOEXEC);
	pipe2(errp, O_CLOEXEC);
	fcntl(out[1], F_SETPIPE_SZ, 1 << 16);
	if (stdin_data) {
		CHECK(write(in[1], stdin_data, strlen(stdin_data)) == (ssize_t)strlen(stdin_data));
	}
	close(in[1]);
	if (close_out_reader) {
		close(out[0]);
		out[0] = -1;
	}
	run->agent = (struct fake_relay_agent){.fd = sv[1], .script = script};
	pthread_t t;
	pthread_create(&t, NULL, relay_agent_thread, &run->agent);
	struct agent_relay r = {.conn = sv[0], .in_fd = stdin_data ? in[0] : -1, .out_fd = out[1],
				.err_fd = errp[1], .sig_fd = sig_fd, .winsize_fd = winsize_fd};
	run->status = -1;
	run->rc = agent_client_relay(&r, &run->status, &run->e);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	if (out[0] >= 0)
		read_all_nb(out[0], run->out, sizeof(run->out));
	read_all_nb(errp[0], run->errout, sizeof(run->errout));
	int fds[] = {sv[0], sv[1], in[0], out[0], out[1], errp[0], errp[1]};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void test_relay(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	CHECK(sig_fd >= 0);
	struct relay_run run;

	relay_with(SCRIPT_NORMAL, "input data", sig_fd, -1, false, &run);
	if (run.rc)
		fprintf(stderr, "relay: %s\n", run.e.msg);
	CHECK(run.rc == 0);
	CHECK(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 3);
	CHECK(!strcmp(run.out, "input databye"));
	CHECK(!strcmp(run.errout, "oops"));
	CHECK(run.agent.stdin_eof);
	CHECK(run.agent.signal_got == SIGUSR1);

	/* Nothing to send: STDIN_EOF goes first. */
	relay_with(SCRIPT_WAIT_EOF, NULL, -1, -1, false, &run);
	CHECK(run.rc == 0);
	CHECK(run.agent.first_type == AGENT_MSG_STDIN_EOF);

	/* A terminal's size goes as RESIZE at the start; a signalled exit keeps its status. */
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	struct winsize ws = {.ws_row = 33, .ws_col = 101};
	CHECK(ioctl(master, TIOCSWINSZ, &ws) == 0);
	relay_with(SCRIPT_RESIZE, NULL, -1, master, false, &run);
	CHECK(run.rc == 0);
	CHECK(run.agent.rows == 33 && run.agent.cols == 101);
	CHECK(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL);
	close(master);

	/* Output to a reader that went away: no SIGPIPE death, the exit status still arrives. */
	relay_with(SCRIPT_BIG_OUTPUT, NULL, -1, -1, true, &run);
	CHECK(run.rc == 0);
	CHECK(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	sigset_t pending;
	sigpending(&pending);
	CHECK(!sigismember(&pending, SIGPIPE));

	/* Hostile agents. */
	relay_with(SCRIPT_OVERSIZED, NULL, -1, -1, false, &run);
	CHECK(run.rc < 0 && run.e.code == EPROTO);
	relay_with(SCRIPT_UNKNOWN, NULL, -1, -1, false, &run);
	CHECK(run.rc < 0);
	CHECK_STR_CONTAINS(run.e.msg, "unexpected message 999");
	relay_with(SCRIPT_MID_FRAME, NULL, -1, -1, false, &run);
	CHECK(run.rc < 0 && run.e.code == EPROTO);
	relay_with(SCRIPT_NO_EXIT, NULL, -1, -1, false, &run);
	CHECK(run.rc < 0);
	CHECK_STR_CONTAINS(run.e.msg, "guest agent connection lost");
	CHECK(!strcmp(run.out, "partial"));
	close(sig_fd);
}

/* ---- vm_ps: a fake agent behind a fake device at <state dir>/vm.sock ---- */

struct fake_ps {
	int listen_fd;
	uint32_t got_type;
	const char *answer;
	uint32_t answer_type;
};

static void *ps_thread(void *arg)
{
	struct fake_ps *f = arg;
	int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	char c;
	while (read(fd, &c, 1) == 1 && c != '\n')
		;
	uint8_t *p = NULL;
	uint32_t len;
	if (write(fd, "OK 7\n", 5) == 5 && agent_frame_read(fd, &f->got_type, &p, &len, 64) == 0)
		agent_frame_write(fd, f->answer_type, f->answer, strlen(f->answer));
	free(p);
	close(fd);
	return NULL;
}

static void test_ps(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, VM_SOCKET_NAME);
	struct fake_ps f = {.listen_fd = listen_at(path), .answer_type = AGENT_MSG_PS_LIST,
			    .answer = "PID PPID UID CMD\n1 0 0 init\n7 1 0 evil\x1b]0;x\x07\n"};
	CHECK(f.listen_fd >= 0);
	pthread_t t;
	pthread_create(&t, NULL, ps_thread, &f);
	char *text = NULL;
	struct hy_error e = {0};
	CHECK(vm_ps(dir, &text, &e) == 0);
	pthread_join(t, NULL);
	CHECK(f.got_type == AGENT_MSG_PS);
	CHECK(text && !strcmp(text, "PID PPID UID CMD\n1 0 0 init\n7 1 0 evil?]0;x?\n"));
	free(text);

	f.answer_type = AGENT_MSG_ERROR;
	f.answer = "cannot read /proc";
	pthread_create(&t, NULL, ps_thread, &f);
	hy_error_clear(&e);
	CHECK(vm_ps(dir, &text, &e) < 0 && text == NULL);
	CHECK_STR_CONTAINS(e.msg, "cannot read /proc");
	pthread_join(t, NULL);
	close(f.listen_fd);
	unlink(path);
}

/* ---- vm_process_spec ---- */

static struct hy_config *parse(const char *json)
{
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	if (config_parse(json, strlen(json), "config.json", "/bundle", &c, &e) < 0)
		fprintf(stderr, "config: %s\n", e.msg);
	CHECK(c != NULL);
	return c;
}

#define BASE "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}"

static void test_process_spec(void)
{
	struct hy_config *c = parse(
		"{" BASE ",\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,"
		"\"width\":80},\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,"
		"\"additionalGids\":[5,6]},\"args\":[\"sh\",\"-c\",\"true\"],"
		"\"env\":[\"A=1\",\"B=\"],\"cwd\":\"/tmp\","
		"\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NET_RAW\"],"
		"\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\",\"CAP_CHOWN\"],"
		"\"inheritable\":[\"CAP_CHOWN\"],\"ambient\":[\"CAP_CHOWN\",\"CAP_KILL\"]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":4096}],"
		"\"noNewPrivileges\":true,\"oomScoreAdj\":-500},"
		"\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		"{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}}}");
	struct agent_process p;
	struct hy_error e = {0};
	CHECK(c && vm_process_spec(c, c->process, &p, &e) == 0);
	CHECK(p.args.n == 3 && !strcmp(p.args.v[2], "true") && p.args.v[3] == NULL);
	CHECK(p.env.n == 2 && !strcmp(p.env.v[1], "B="));
	CHECK(p.cwd && !strcmp(p.cwd, "/tmp"));
	CHECK(p.uid == 1000 && p.gid == 100 && p.n_groups == 2 && p.groups[1] == 6);
	CHECK(p.has_umask && p.umask == 18);
	CHECK(p.terminal && p.rows == 24 && p.cols == 80);
	CHECK(p.n_rlimits == 1 && p.rlimits[0].resource == RLIMIT_NOFILE &&
	      p.rlimits[0].soft == 1024 && p.rlimits[0].hard == 4096);
	CHECK(p.has_caps);
	CHECK(p.caps[0] == ((1ull << 5) | (1ull << 13))); /* CAP_KILL, CAP_NET_RAW */
	CHECK(p.caps[1] == (1ull << 5));
	CHECK(p.caps[2] == (1ull << 0) && p.caps[3] == ((1ull << 5) | (1ull << 0)));
	/* CAP_KILL is not inheritable: it cannot be ambient (dropped as the container path does) */
	CHECK(p.caps[4] == (1ull << 0));
	CHECK(p.no_new_privileges);
	CHECK(p.has_oom_score_adj && p.oom_score_adj == -500);
	CHECK(p.seccomp_bpf != NULL && p.seccomp_len > 0 && p.seccomp_len % 8 == 0);

	/* The spec survives the codec: what the agent decodes is what we built. */
	struct agent_buf b = {0};
	CHECK(agent_process_encode(&p, &b) == 0);
	struct agent_process d;
	const char *why = NULL;
	CHECK(agent_process_decode(b.data, b.len, &d, &why) == 0);
	CHECK(d.seccomp_len == p.seccomp_len && d.caps[0] == p.caps[0] && d.n_groups == 2);
	agent_process_free(&d);
	agent_buf_free(&b);
	agent_process_free(&p);
	config_free(c);

	/* Defaults: cwd "/", no capabilities at all, no filter. */
	c = parse("{" BASE ",\"process\":{\"args\":[\"true\"],\"cwd\":\"/\"}}");
	CHECK(c && vm_process_spec(c, c->process, &p, &e) == 0);
	CHECK(p.cwd && !strcmp(p.cwd, "/"));
	CHECK(p.has_caps && !p.caps[0] && !p.caps[1] && !p.caps[3] && !p.caps[4]);
	CHECK(p.seccomp_bpf == NULL && !p.terminal && p.n_rlimits == 0);
	agent_process_free(&p);
	config_free(c);

	/* A listener cannot reach the guest: the error names linux.seccomp. */
	c = parse("{" BASE ",\"process\":{\"args\":[\"true\"],\"cwd\":\"/\"},"
		  "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
		  "\"listenerPath\":\"/run/x.sock\",\"syscalls\":[{\"names\":[\"mkdir\"],"
		  "\"action\":\"SCMP_ACT_NOTIFY\"}]}}}");
	hy_error_clear(&e);
	CHECK(c && vm_process_spec(c, c->process, &p, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "linux.seccomp.listenerPath");
	CHECK(p.args.v == NULL && p.seccomp_bpf == NULL); /* nothing left allocated */
	config_free(c);

	/* An exec process (no config process) with the exec flags applied. */
	char *args[] = {"id", NULL};
	struct hy_process ep = {.args = {.v = args, .n = 1}};
	ep.user.uid = 5;
	CHECK(vm_process_spec(NULL, &ep, &p, &e) == 0);
	CHECK(p.uid == 5 && !strcmp(p.cwd, "/"));
	agent_process_free(&p);
	struct hy_process empty = {0};
	hy_error_clear(&e);
	CHECK(vm_process_spec(NULL, &empty, &p, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "process.args");
}

int main(void)
{
	/* Signals the relay reads from its signalfd must not hit any thread first. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	char dir[] = "/tmp/test_agent_client.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_connect(dir);
	test_request();
	test_relay();
	test_ps(dir);
	test_process_spec();
	char path[256];
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	unlink(path);
	rmdir(dir);
	return UNIT_DONE();
}
