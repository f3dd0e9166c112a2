/* The host side of one agent conversation (see vm_host.h and agent_proto.h):
 *
 *   agent_client_connect  Unix socket of the VMM's hybrid vsock + "CONNECT 1024", retried while
 *                         the guest boots (the device refuses until the agent listens)
 *   agent_client_request  CREATE/EXEC -> READY/STARTED(pid) | ERROR(text)
 *   agent_client_relay    stdio, signals and terminal size until EXIT(wait status)
 *
 * Everything the agent sends is untrusted: frame lengths are capped, payload sizes checked,
 * error text sanitised, and an unexpected message ends the conversation with an error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"

/* Between connection attempts while the guest boots: short enough not to add to the start
 * latency noticeably, long enough not to keep a core busy. */
#define CONNECT_RETRY_MS 25
/* A READY/STARTED/ERROR answer is small; anything larger is not an answer. */
#define ANSWER_MAX (64u * 1024)
/* How much of the agent's ERROR text goes into the message. */
#define ERROR_TEXT_MAX 1024

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes to a peer that went away (the connection, our output pipes) must fail with EPIPE
 * rather than kill the caller: SIGPIPE is blocked while we talk to the agent, and the one our
 * own write raised is taken back so that it neither stays pending nor reaches a caller's
 * signalfd as if someone had sent it. */
struct pipe_guard {
	sigset_t old;
	bool was_pending;
};

static void pipe_guard_begin(struct pipe_guard *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
	g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void pipe_guard_swallow(const struct pipe_guard *g)
{
	if (g->was_pending)
		return;
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	struct timespec zero = {0};
	sigtimedwait(&pipe_set, NULL, &zero);
}

static void pipe_guard_end(const struct pipe_guard *g)
{
	pipe_guard_swallow(g);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Whether a failed attempt means "not up yet" (socket not created, nobody accepting, the guest
 * refused or reset the stream) rather than a real error. */
static bool retryable(int e)
{
	return e == ENOENT || e == ECONNREFUSED || e == ECONNRESET || e == EPIPE || e == EAGAIN ||
	       e == EINTR;
}

/* One attempt: connect + handshake. Returns the fd or -errno. */
static int connect_once(const struct sockaddr_un *sa, int timeout_ms)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct pipe_guard g;
	pipe_guard_begin(&g);
	int rc = agent_vsock_handshake(fd, AGENT_VSOCK_PORT, timeout_ms);
	pipe_guard_end(&g);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int agent_client_connect(const char *vsock_path, int timeout_ms, bool (*still_booting)(void *),
			 void *arg, struct hy_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!vsock_path || strlen(vsock_path) >= sizeof(sa.sun_path))
		return hy_error_set(err, ENAMETOOLONG, "guest agent socket %s: path too long",
				    vsock_path ? vsock_path : "(null)");
	strcpy(sa.sun_path, vsock_path);
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int last = ETIMEDOUT;
	for (;;) {
		int64_t left = deadline - now_ms();
		int fd = connect_once(&sa, left > 1 ? (int)left : 1);
		if (fd >= 0)
			return fd;
		last = -fd;
		if (!retryable(last) && last != ETIMEDOUT)
			return hy_error_errno(err, last, "guest agent: connecting through %s",
					      vsock_path);
		if (still_booting && !still_booting(arg))
			return hy_error_set(err, ECONNREFUSED,
					    "guest agent: the VM stopped before its agent answered "
					    "on %s (see %s in the state dir)",
					    vsock_path, VM_LOG_NAME);
		if (now_ms() + CONNECT_RETRY_MS > deadline)
			break;
		sleep_ms(CONNECT_RETRY_MS);
	}
	return hy_error_errno(err, last == ETIMEDOUT ? ETIMEDOUT : last,
			      "guest agent: no answer on %s within %d ms", vsock_path, timeout_ms);
}

/* Copies the agent's text into the message, replacing what a terminal would interpret. */
static int error_from_agent(const uint8_t *text, size_t len, struct hy_error *err)
{
	char buf[ERROR_TEXT_MAX + 1];
	size_t n = len < ERROR_TEXT_MAX ? len : ERROR_TEXT_MAX;
	for (size_t i = 0; i < n; i++)
		buf[i] = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';
	while (n > 0 && buf[n - 1] == '?' && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return hy_error_set(err, EIO, "%s", n ? buf : "guest agent: failed (no reason given)");
}

static int frame_error(int rc, struct hy_error *err)
{
	if (rc == -EPIPE || rc == -ECONNRESET)
		return hy_error_set(err, ECONNRESET, "guest agent connection lost");
	if (rc == -EPROTO)
		return hy_error_set(err, EPROTO,
				    "guest agent: protocol error (oversized or truncated frame)");
	return hy_error_errno(err, -rc, "guest agent connection");
}

int agent_client_request(int conn, uint32_t type, const struct agent_process *p,
			 uint32_t *guest_pid, struct hy_error *err)
{
	uint32_t want;
	if (type == AGENT_MSG_CREATE)
		want = AGENT_MSG_READY;
	else if (type == AGENT_MSG_EXEC)
		want = AGENT_MSG_STARTED;
	else
		return hy_error_set(err, EINVAL, "guest agent: message %u is not a process request",
				    type);
	struct agent_buf b = {0};
	int rc = agent_process_encode(p, &b);
	if (rc < 0 || b.failed || b.len > AGENT_FRAME_MAX) {
		agent_buf_free(&b);
		return hy_error_set(err, rc == -ENOMEM || b.failed ? ENOMEM : E2BIG,
				    "guest agent: the process spec does not fit a frame (%u bytes "
				    "at most)",
				    AGENT_FRAME_MAX);
	}
	struct pipe_guard g;
	pipe_guard_begin(&g);
	rc = agent_frame_write(conn, type, b.data, b.len);
	pipe_guard_end(&g);
	agent_buf_free(&b);
	if (rc < 0)
		return frame_error(rc, err);
	uint32_t got, len;
	uint8_t *payload = NULL;
	if ((rc = agent_frame_read(conn, &got, &payload, &len, ANSWER_MAX)) < 0)
		return frame_error(rc, err);
	if (got == want && len == 4) {
		if (guest_pid)
			*guest_pid = get_u32le(payload);
		rc = 0;
	} else if (got == AGENT_MSG_ERROR) {
		rc = error_from_agent(payload, len, err);
	} else {
		rc = hy_error_set(err, EPROTO,
				  "guest agent: unexpected answer (message %u, %u bytes) to %s", got,
				  len, type == AGENT_MSG_CREATE ? "CREATE" : "EXEC");
	}
	free(payload);
	return rc;
}

/* ---- relay ---- */

struct relay_state {
	const struct agent_relay *r;
	int out_fd, err_fd; /* -1 once the reader went away: further output is dropped */
	bool in_open;
	bool in_waits_for_room; /* stdin has data but conn's send buffer is full */
	struct pipe_guard guard;
};

/* Writes all of buf to *fd. A reader that went away (EPIPE, or any other write error) turns the
 * fd off rather than failing the relay: the guest process still runs and its exit status is
 * what the caller wants. */
static void output(struct relay_state *s, int *fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (*fd >= 0 && off < len) {
		ssize_t w = write(*fd, buf + off, len - off);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = *fd, .events = POLLOUT};
			poll(&p, 1, -1);
		} else {
			if (w < 0 && errno == EPIPE)
				pipe_guard_swallow(&s->guard);
			*fd = -1;
		}
	}
}

static int send_u32(int conn, uint32_t type, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return agent_frame_write(conn, type, b, sizeof(b));
}

static int send_resize(const struct agent_relay *r)
{
	struct winsize ws;
	if (r->winsize_fd < 0 || ioctl(r->winsize_fd, TIOCGWINSZ, &ws) < 0 ||
	    (ws.ws_row == 0 && ws.ws_col == 0))
		return 0;
	uint8_t b[4] = {(uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
			(uint8_t)(ws.ws_col >> 8)};
	return agent_frame_write(r->conn, AGENT_MSG_RESIZE, b, sizeof(b));
}

/* One read from in_fd forwarded as STDIN (or STDIN_EOF at its end). */
static int forward_stdin(struct relay_state *s)
{
	uint8_t buf[AGENT_STDIO_CHUNK];
	ssize_t n = read(s->r->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n > 0)
		return agent_frame_write(s->r->conn, AGENT_MSG_STDIN, buf, (size_t)n);
	/* EOF, or an error such as EIO from a terminal that hung up: either way no more input. */
	s->in_open = false;
	return agent_frame_write(s->r->conn, AGENT_MSG_STDIN_EOF, NULL, 0);
}

static int forward_signal(struct relay_state *s)
{
	struct signalfd_siginfo si;
	ssize_t n = read(s->r->sig_fd, &si, sizeof(si));
	if (n != sizeof(si))
		return 0;
	int sig = (int)si.ssi_signo;
	if (sig == SIGWINCH)
		return send_resize(s->r);
	/* SIGCHLD tells about our own children, not the guest's. */
	if (sig == SIGCHLD)
		return 0;
	return send_u32(s->r->conn, AGENT_MSG_SIGNAL, (uint32_t)sig);
}

/* One frame from the agent. 1 = EXIT received, 0 = go on, < 0 = error set. */
static int handle_frame(struct relay_state *s, int *wait_status, struct hy_error *err)
{
	uint32_t type, len;
	uint8_t *payload = NULL;
	int rc = agent_frame_read(s->r->conn, &type, &payload, &len, AGENT_FRAME_MAX);
	if (rc < 0)
		return frame_error(rc, err);
	switch (type) {
	case AGENT_MSG_STDOUT:
		output(s, &s->out_fd, payload, len);
		break;
	case AGENT_MSG_STDERR:
		output(s, &s->err_fd, payload, len);
		break;
	case AGENT_MSG_EXIT:
		if (len != 4) {
			rc = hy_error_set(err, EPROTO, "guest agent: EXIT with %u bytes, not 4", len);
			break;
		}
		*wait_status = (int)get_u32le(payload);
		rc = 1;
		break;
	case AGENT_MSG_ERROR:
		rc = error_from_agent(payload, len, err);
		break;
	default:
		rc = hy_error_set(err, EPROTO, "guest agent: unexpected message %u (%u bytes)", type,
				  len);
		break;
	}
	free(payload);
	return rc;
}

/* Whether conn can take a whole STDIN frame without blocking (a blocked write while the guest
 * waits for us to read its output would deadlock both). */
static bool conn_has_room(int conn)
{
	struct pollfd p = {.fd = conn, .events = POLLOUT};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

static int relay_loop(struct relay_state *s, int *wait_status, struct hy_error *err)
{
	const struct agent_relay *r = s->r;
	int rc;
	if ((rc = send_resize(r)) < 0)
		return frame_error(rc, err);
	if (!s->in_open && (rc = agent_frame_write(r->conn, AGENT_MSG_STDIN_EOF, NULL, 0)) < 0)
		return frame_error(rc, err);
	for (;;) {
		struct pollfd p[3] = {
			{.fd = r->conn, .events = POLLIN},
			{.fd = s->in_open && !s->in_waits_for_room ? r->in_fd : -1, .events = POLLIN},
			{.fd = r->sig_fd, .events = POLLIN},
		};
		if (s->in_waits_for_room)
			p[0].events |= POLLOUT;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hy_error_errno(err, errno, "guest agent relay: poll");
		}
		/* Output first: the guest may be waiting for room before it reads our input. */
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((rc = handle_frame(s, wait_status, err)) != 0)
				return rc < 0 ? rc : 0;
		}
		if ((p[0].revents & POLLOUT) && s->in_waits_for_room)
			s->in_waits_for_room = false;
		if (p[2].revents & POLLIN) {
			if ((rc = forward_signal(s)) < 0)
				return frame_error(rc, err);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!conn_has_room(r->conn))
				s->in_waits_for_room = true;
			else if ((rc = forward_stdin(s)) < 0)
				return frame_error(rc, err);
		} else if (p[1].revents & POLLNVAL) {
			s->in_open = false;
			if ((rc = agent_frame_write(r->conn, AGENT_MSG_STDIN_EOF, NULL, 0)) < 0)
				return frame_error(rc, err);
		}
	}
}

int agent_client_relay(const struct agent_relay *r, int *wait_status, struct hy_error *err)
{
	struct relay_state s = {.r = r, .out_fd = r->out_fd, .err_fd = r->err_fd,
				.in_open = r->in_fd >= 0};
	*wait_status = 0;
	pipe_guard_begin(&s.guard);
	int rc = relay_loop(&s, wait_status, err);
	pipe_guard_end(&s.guard);
	return rc;
}

struct agent_relay agent_relay_stdio(int conn, int tty, int sig_fd)
{
	return (struct agent_relay){
	    .conn = conn,
	    .in_fd = tty >= 0 ? tty : STDIN_FILENO,
	    .out_fd = tty >= 0 ? tty : STDOUT_FILENO,
	    .err_fd = tty >= 0 ? tty : STDERR_FILENO,
	    .sig_fd = sig_fd,
	    .winsize_fd = tty,
	};
}
