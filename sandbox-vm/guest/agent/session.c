/* One vsock connection, served in a child of PID 1 (oci.c), which exits when it is done:
 *   CREATE -> container parts, the init process prepared -> READY; START; relay; EXIT; end the VM
 *   EXEC   -> a process started at once -> STARTED; relay; EXIT
 *   PS     -> PS_LIST
 * The relay moves STDIN/SIGNAL/RESIZE from the host to the process and its output back as
 * STDOUT/STDERR frames, then EXIT once the process has exited and its output is drained. A bad
 * frame drops the connection, never the agent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "sandbox-vm/proto/agent_proto.h"

#define STDIN_QUEUE_MAX (1u << 20) /* host input not yet taken by the process */
#define EXIT_READ_GRACE_MS 1000     /* after EXIT of the init: time for the host to read it */
#define ERROR_READ_GRACE_MS 5000    /* after a failed CREATE: time for the host to read why */
#define PTY_DRAIN_MS 100            /* pty output still in flight after the process exited */

enum relay_end {
	RELAY_EXITED,         /* the process exited: status is valid */
	RELAY_HOST_GONE_EARLY /* the host closed before START */
};

struct relay {
	int conn;
	bool conn_open;
	bool started;
	struct agent_child *c;
	uint8_t *in_q; /* STDIN bytes for the process */
	size_t in_len;
	bool in_eof; /* STDIN_EOF received: close the pipe once in_q is empty */
	int sigfd;
	int status;
	bool kill_on_hangup; /* exec: a host relay that went away (e.g. SIGKILLed by conmon) takes
			      * its process along, as a container exec's process dies with its pid
			      * namespace holder; the init instead lives until the VM ends */
};

static void send_error(int conn, const char *what, const char *why)
{
	char msg[AGENT_ERR_MAX + 64];
	int n = snprintf(msg, sizeof(msg), "%s%s%s", what, why && *why ? ": " : "", why ? why : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	agent_log("%s", msg);
	agent_frame_write(conn, AGENT_MSG_ERROR, msg, (size_t)n);
}

static int send_u32(int conn, uint32_t type, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return agent_frame_write(conn, type, le, sizeof(le));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Waits up to ms for the host to close the connection (it read what we sent). */
static void wait_for_close(int conn, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return;
		struct pollfd pfd = {.fd = conn, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(conn, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return;
	}
}

/* The end of the VM: everything but PID 1 and us dies, the container root is made consistent
 * (a disk root's journal checkpointed), and the exit code goes out through power.c. */
__attribute__((noreturn)) static void end_vm(int code)
{
	agent_debug("ending the VM");
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	agent_debug("syncing");
	sync();
	if (mount(NULL, AGENT_ROOT, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		agent_debug("remount " AGENT_ROOT " read-only: %s", strerror(errno));
	/* The same last line as command mode (main.c): the kernel log says how the VM ended. */
	agent_log("exit %d", code);
	agent_drain_console();
	agent_power_off(code);
}

static int shell_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* Output of one of the process's fds to the host; false at EOF (or EIO: a pty whose slave is
 * gone). */
static bool forward_output(struct relay *r, int fd, uint32_t type)
{
	static uint8_t buf[AGENT_STDIO_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (r->conn_open && agent_frame_write(r->conn, type, buf, (size_t)n) < 0) {
		agent_debug("connection lost while sending output: dropping it");
		r->conn_open = false;
	}
	return true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void stdin_flush(struct relay *r)
{
	struct agent_child *c = r->c;
	while (r->in_len && c->in_fd >= 0) {
		ssize_t n = write(c->in_fd, r->in_q, r->in_len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			agent_debug("stdin of pid %d: %s: dropping input", (int)c->pid, strerror(errno));
			r->in_len = 0;
			break;
		}
		memmove(r->in_q, r->in_q + n, r->in_len - (size_t)n);
		r->in_len -= (size_t)n;
	}
	if (r->in_eof && r->in_len == 0 && !c->terminal)
		close_fd(&c->in_fd);
}

/* One frame from the host. false = the connection is done (EOF or a bad frame). */
static bool handle_frame(struct relay *r)
{
	uint32_t type, len;
	uint8_t *p;
	int rc = agent_frame_read(r->conn, &type, &p, &len, AGENT_FRAME_MAX);
	if (rc < 0) {
		if (rc != -EPIPE)
			agent_log("bad frame from the host (%s): dropping the connection",
				  strerror(-rc));
		return false;
	}
	struct agent_child *c = r->c;
	switch (type) {
	case AGENT_MSG_START:
		if (!r->started) {
			if (agent_spawn_start(c) < 0)
				agent_log("start pid %d: %s", (int)c->pid, strerror(errno));
			r->started = true;
		}
		break;
	case AGENT_MSG_STDIN:
		if (r->in_eof || c->in_fd < 0)
			break;
		if (r->in_len + len > STDIN_QUEUE_MAX) {
			agent_log("stdin of pid %d: more than %u bytes queued, dropping some",
				  (int)c->pid, STDIN_QUEUE_MAX);
			break;
		}
		if (len) {
			uint8_t *q = realloc(r->in_q, r->in_len + len);
			if (!q)
				break;
			r->in_q = q;
			memcpy(q + r->in_len, p, len);
			r->in_len += len;
		}
		stdin_flush(r);
		break;
	case AGENT_MSG_STDIN_EOF:
		/* A terminal has no EOF of its own: the process sees the host's ^D as typed. */
		r->in_eof = true;
		stdin_flush(r);
		break;
	case AGENT_MSG_SIGNAL:
		if (len != 4 || le32(p) == 0 || le32(p) >= 65) {
			agent_log("SIGNAL: bad payload (%u bytes)", len);
			break;
		}
		if (kill(c->pid, (int)le32(p)) < 0)
			agent_debug("kill %d: %s", (int)c->pid, strerror(errno));
		break;
	case AGENT_MSG_RESIZE:
		if (len != 4) {
			agent_log("RESIZE: bad payload (%u bytes)", len);
			break;
		}
		if (c->terminal && c->out_fd >= 0) {
			struct winsize ws = {.ws_row = (unsigned short)(p[0] | p[1] << 8),
					     .ws_col = (unsigned short)(p[2] | p[3] << 8)};
			ioctl(c->out_fd, TIOCSWINSZ, &ws);
		}
		break;
	default:
		agent_log("unexpected frame type %u during a process: ignored", type);
		break;
	}
	free(p);
	return true;
}

/* Reads what is left in the process's output after its exit. Pipes: everything written is
 * there now. A pty: the line discipline may still be moving bytes, so wait a little for more. */
static void drain(struct relay *r)
{
	struct agent_child *c = r->c;
	int fds[2] = {c->out_fd, c->terminal ? -1 : c->err_fd};
	uint32_t types[2] = {AGENT_MSG_STDOUT, AGENT_MSG_STDERR};
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		for (;;) {
			struct pollfd pfd = {.fd = fds[i], .events = POLLIN};
			if (poll(&pfd, 1, c->terminal ? PTY_DRAIN_MS : 0) <= 0)
				break;
			if (!forward_output(r, fds[i], types[i]))
				break;
			if (!(pfd.revents & POLLIN))
				break;
		}
	}
}

static bool reap_child(struct relay *r)
{
	struct signalfd_siginfo si;
	while (read(r->sigfd, &si, sizeof(si)) == sizeof(si))
		;
	int st;
	pid_t w = waitpid(r->c->pid, &st, WNOHANG);
	if (w == r->c->pid) {
		r->status = st;
		return true;
	}
	return false;
}

static enum relay_end relay(struct relay *r)
{
	struct agent_child *c = r->c;
	bool out_open = c->out_fd >= 0, err_open = !c->terminal && c->err_fd >= 0;

	for (;;) {
		struct pollfd pfd[5];
		int n = 0, i_conn = -1, i_out = -1, i_err = -1, i_in = -1;
		pfd[n] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
		n++;
		if (r->conn_open && r->in_len < STDIN_QUEUE_MAX) {
			i_conn = n;
			pfd[n++] = (struct pollfd){.fd = r->conn, .events = POLLIN};
		}
		if (out_open) {
			i_out = n;
			pfd[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
		}
		if (err_open) {
			i_err = n;
			pfd[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
		}
		if (r->in_len && c->in_fd >= 0) {
			i_in = n;
			pfd[n++] = (struct pollfd){.fd = c->in_fd, .events = POLLOUT};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_log("poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (i_out >= 0 && pfd[i_out].revents)
			out_open = forward_output(r, c->out_fd, AGENT_MSG_STDOUT);
		if (i_err >= 0 && pfd[i_err].revents)
			err_open = forward_output(r, c->err_fd, AGENT_MSG_STDERR);
		if (i_in >= 0 && pfd[i_in].revents)
			stdin_flush(r);
		if (i_conn >= 0 && pfd[i_conn].revents && !handle_frame(r)) {
			r->conn_open = false;
			if (!r->started)
				return RELAY_HOST_GONE_EARLY;
			if (r->kill_on_hangup) {
				/* The process leads its own session: its group goes with it. */
				kill(-c->pid, SIGKILL);
				kill(c->pid, SIGKILL);
			}
		}
		if (pfd[0].revents && reap_child(r)) {
			drain(r);
			return RELAY_EXITED;
		}
	}
}

static int make_sigfd(void)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	return signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Decodes the spec and spawns the process; on failure sends ERROR and returns -1. */
static int prepare(int conn, const char *what, const uint8_t *payload, uint32_t len, bool create,
		   struct agent_process *spec, struct agent_child *c)
{
	char why[AGENT_ERR_MAX];
	const char *decode_why;
	if (agent_process_decode(payload, len, spec, &decode_why) < 0) {
		send_error(conn, what, decode_why);
		return -1;
	}
	if (create && agent_container_setup(spec, why, sizeof(why)) < 0) {
		send_error(conn, why, NULL);
		return -1;
	}
	if (agent_spawn(spec, c, why, sizeof(why)) < 0) {
		send_error(conn, why, NULL);
		return -1;
	}
	return 0;
}

static void session_create(int conn, const uint8_t *payload, uint32_t len)
{
	struct agent_process spec;
	struct agent_child c = {.pid = -1};
	struct relay r = {.conn = conn, .conn_open = true, .c = &c};

	int claim = open(AGENT_CREATING, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (claim < 0) {
		send_error(conn, "CREATE", errno == EEXIST ? "the container was already created"
							   : strerror(errno));
		_exit(0);
	}
	close(claim);
	if ((r.sigfd = make_sigfd()) < 0 || prepare(conn, "CREATE", payload, len, true, &spec, &c)) {
		if (r.sigfd < 0)
			send_error(conn, "CREATE: signalfd", strerror(errno));
		/* No container: the host deletes it; the VM has nothing left to do. */
		wait_for_close(conn, ERROR_READ_GRACE_MS);
		end_vm(125);
	}
	agent_process_free(&spec);
	close(open(AGENT_CREATED, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	if (send_u32(conn, AGENT_MSG_READY, (uint32_t)c.pid) < 0) {
		agent_log("READY: connection lost: the container was deleted");
		end_vm(137);
	}
	{
		struct timespec ts;
		clock_gettime(CLOCK_BOOTTIME, &ts);
		agent_log("init process %d ready at %ld.%03ld s", (int)c.pid, (long)ts.tv_sec,
			  ts.tv_nsec / 1000000);
	}
	if (relay(&r) == RELAY_HOST_GONE_EARLY) {
		agent_log("the host closed the connection before START: the container was deleted");
		end_vm(137);
	}
	if (r.conn_open && send_u32(conn, AGENT_MSG_EXIT, (uint32_t)r.status) == 0)
		wait_for_close(conn, EXIT_READ_GRACE_MS);
	end_vm(shell_code(r.status));
}

static void session_exec(int conn, const uint8_t *payload, uint32_t len)
{
	struct agent_process spec;
	struct agent_child c = {.pid = -1};
	struct relay r = {.conn = conn, .conn_open = true, .started = true, .c = &c,
			  .kill_on_hangup = true};

	if (access(AGENT_CREATED, F_OK) < 0) {
		send_error(conn, "EXEC", "no container yet (CREATE first)");
		_exit(0);
	}
	if ((r.sigfd = make_sigfd()) < 0) {
		send_error(conn, "EXEC: signalfd", strerror(errno));
		_exit(0);
	}
	if (prepare(conn, "EXEC", payload, len, false, &spec, &c) < 0)
		_exit(0);
	agent_process_free(&spec);
	if (agent_spawn_start(&c) < 0 || send_u32(conn, AGENT_MSG_STARTED, (uint32_t)c.pid) < 0)
		r.conn_open = false; /* the process runs anyway; nobody listens to it */
	relay(&r);
	if (r.conn_open)
		send_u32(conn, AGENT_MSG_EXIT, (uint32_t)r.status);
	_exit(0);
}

void agent_session(int conn)
{
	uint32_t type, len;
	uint8_t *payload;

	prctl(PR_SET_NAME, "hyrun-agent", 0, 0, 0); /* ps.c leaves these out */
	int rc = agent_frame_read(conn, &type, &payload, &len, AGENT_FRAME_MAX);
	if (rc < 0) {
		if (rc != -EPIPE)
			agent_log("bad first frame (%s): dropping the connection", strerror(-rc));
		_exit(0);
	}
	switch (type) {
	case AGENT_MSG_CREATE:
		session_create(conn, payload, len);
		break;
	case AGENT_MSG_EXEC:
		session_exec(conn, payload, len);
		break;
	case AGENT_MSG_PS: {
		size_t n = 0;
		char *text = agent_ps_list(&n);
		if (!text)
			send_error(conn, "PS", strerror(errno));
		else if (n > AGENT_FRAME_MAX)
			send_error(conn, "PS", "process list too long");
		else
			agent_frame_write(conn, AGENT_MSG_PS_LIST, text, n);
		break;
	}
	default:
		send_error(conn, "expected CREATE, EXEC or PS as the first frame", NULL);
		break;
	}
	_exit(0);
}
