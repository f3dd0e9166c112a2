/* exec and ps for a VM container (see vm_host.h): the new process runs inside the guest, started
 * by the agent over a vsock connection of its own; the host keeps only a relay of its stdio,
 * signals and terminal.
 *
 *   attached      this process relays until EXIT and returns the shell-style status
 *   detached (-d) a relay process (setsid, stdio = our fds 0-2) lives as long as the guest
 *                 process and ends the way it ended; its pid is the exec's pid (--pid-file), so
 *                 podman's conmon waits for and signals it like any exec'd process
 *   terminal      the guest has the pty; the host side is a pty pair whose master goes to
 *                 --console-socket, or the caller's own terminal in raw mode */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/container_internal.h" /* pidfile_write: the same --pid-file as runc */
#include "runtime/terminal.h"
#include "sandbox-vm/host/vm_host.h"

/* The agent is up once the container exists: a connection only waits for the VMM's event loop
 * and the guest's accept (slow under an emulated host, so generous). */
#define EXEC_CONNECT_TIMEOUT_MS 10000

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* What a foreground exec passes on to the guest process (as the container path does). */
static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT,   SIGTERM, SIGUSR1, SIGUSR2,
				SIGALRM, SIGCONT, SIGTSTP,   SIGTTIN, SIGTTOU, SIGWINCH,
				SIGPIPE, SIGPWR,  SIGVTALRM, SIGPROF, SIGURG};

static void forwarded_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
}

static int connect_agent(const char *state_dir, struct hy_error *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, VM_SOCKET_NAME) >= (int)sizeof(path))
		return hy_error_set(err, ENAMETOOLONG, "%s: path too long", state_dir);
	return agent_client_connect(path, EXEC_CONNECT_TIMEOUT_MS, NULL, NULL, err);
}

/* The host end of the terminal: a pty pair with the slave raw (the guest's pty already does the
 * line discipline) and the process's console size. */
static int open_pty(const struct agent_process *spec, int *master, int *slave,
		    struct hy_error *err)
{
	*master = *slave = -1;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return hy_error_errno(err, errno, "exec: open /dev/ptmx");
	int s = -1;
	if (unlockpt(m) < 0 || (s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int e = errno;
		close(m);
		return hy_error_errno(err, e, "exec: open the pty slave");
	}
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	if (spec->rows || spec->cols) {
		struct winsize ws = {.ws_row = spec->rows, .ws_col = spec->cols};
		ioctl(s, TIOCSWINSZ, &ws);
	}
	*master = m;
	*slave = s;
	return 0;
}

/* The relay process of a detached exec: never returns. */
static __attribute__((noreturn)) void detached_relay(int conn, int tty)
{
	setsid();
	/* As the session leader with the pty as controlling terminal, we get SIGWINCH when the
	 * console-socket holder resizes the master. */
	if (tty >= 0)
		ioctl(tty, TIOCSCTTY, 0);
	sigset_t set;
	forwarded_set(&set);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	struct agent_relay r = agent_relay_stdio(conn, tty, sig_fd);
	int status = 0;
	struct hy_error err = {0};
	if (agent_client_relay(&r, &status, &err) < 0) {
		dprintf(STDERR_FILENO, "hyrun: exec: %s\n", err.msg);
		_exit(255);
	}
	vm_exit_like(status);
}

static int start_detached(const struct vm_exec_opts *o, int conn, int tty, struct hy_error *err)
{
	/* Blocked before the fork so that no signal reaches the relay before its signalfd. */
	sigset_t set, old;
	forwarded_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = fork();
	if (pid == 0)
		detached_relay(conn, tty);
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return hy_error_errno(err, e, "exec: fork the relay process");
	if (o->pid_file)
		return pidfile_write(o->pid_file, pid, err);
	return 0;
}

static int relay_attached(int conn, int tty, int *exit_status, struct hy_error *err)
{
	sigset_t set, old;
	forwarded_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sig_fd < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return hy_error_errno(err, e, "exec: signalfd");
	}
	struct agent_relay r = agent_relay_stdio(conn, tty, sig_fd);
	int status = 0;
	int rc = agent_client_relay(&r, &status, err);
	close(sig_fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		*exit_status = container_exit_code(status);
	return rc;
}

/* A foreground terminal on the caller's own tty: raw input (the guest's pty echoes and edits),
 * output processing kept as the container path does. */
static int relay_own_tty(int conn, int *exit_status, struct hy_error *err)
{
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		t.c_oflag = saved.c_oflag;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	sigset_t set, old;
	forwarded_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	int rc;
	if (sig_fd < 0) {
		rc = hy_error_errno(err, errno, "exec: signalfd");
	} else {
		struct agent_relay r = {.conn = conn, .in_fd = STDIN_FILENO,
					.out_fd = STDOUT_FILENO, .err_fd = STDOUT_FILENO,
					.sig_fd = sig_fd,
					.winsize_fd = raw ? STDIN_FILENO : -1};
		int status = 0;
		rc = agent_client_relay(&r, &status, err);
		if (rc == 0)
			*exit_status = container_exit_code(status);
		close(sig_fd);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return rc;
}

/* SIGNAL(SIGKILL) on a connection that may be gone already: MSG_NOSIGNAL, errors ignored. */
static void send_sigkill(int conn)
{
	const uint8_t frame[AGENT_FRAME_HDR + 4] = {AGENT_MSG_SIGNAL, 0, 0, 0, 4, 0, 0, 0,
						    SIGKILL, 0, 0, 0};
	(void)!send(conn, frame, sizeof(frame), MSG_NOSIGNAL | MSG_DONTWAIT);
}

int vm_exec(const struct vm_exec_opts *o, int *exit_status, struct hy_error *err)
{
	*exit_status = 0;
	struct agent_process spec;
	int rc = vm_process_spec(o->cfg, o->process, &spec, err);
	if (rc < 0)
		return hy_error_prefix(err, "exec");
	bool own_tty = spec.terminal && !o->console_socket;
	if (own_tty && !spec.rows && !spec.cols) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
			spec.rows = ws.ws_row;
			spec.cols = ws.ws_col;
		}
	}
	int master = -1, slave = -1;
	if (spec.terminal && o->console_socket &&
	    (rc = open_pty(&spec, &master, &slave, err)) < 0)
		goto out;
	int conn = connect_agent(o->state_dir, err);
	if (conn < 0) {
		rc = hy_error_prefix(err, "exec");
		goto out;
	}
	uint32_t guest_pid = 0;
	if ((rc = agent_client_request(conn, AGENT_MSG_EXEC, &spec, &guest_pid, err)) < 0) {
		hy_error_prefix(err, "exec");
		goto close_conn;
	}
	if (master >= 0) {
		rc = terminal_send_to_socket(o->console_socket, master, err);
		close(master);
		master = -1;
	}
	if (rc == 0 && o->detach)
		rc = start_detached(o, conn, slave, err);
	else if (rc == 0 && own_tty)
		rc = relay_own_tty(conn, exit_status, err);
	else if (rc == 0)
		rc = relay_attached(conn, slave, exit_status, err);
	if (rc < 0) {
		/* The exec failed for the caller: the guest process must not stay behind with
		 * nobody relaying it (the agent lets a process whose host went away run on). */
		send_sigkill(conn);
		if (!o->detach)
			hy_error_prefix(err, "exec");
	}
close_conn:
	close(conn);
out:
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	agent_process_free(&spec);
	return rc;
}

/* The guest's text goes to a terminal: nothing but printable ASCII, tabs and newlines. */
static void sanitize_text(uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '\n' || s[i] == '\t' || (s[i] >= 0x20 && s[i] < 0x7f)))
			s[i] = '?';
}

int vm_ps(const char *state_dir, char **text, struct hy_error *err)
{
	*text = NULL;
	int conn = connect_agent(state_dir, err);
	if (conn < 0)
		return hy_error_prefix(err, "ps");
	/* An empty PS frame; MSG_NOSIGNAL: an agent that hung up is an error, not our death. */
	const uint8_t ps_frame[AGENT_FRAME_HDR] = {AGENT_MSG_PS, 0, 0, 0, 0, 0, 0, 0};
	int rc = send(conn, ps_frame, sizeof(ps_frame), MSG_NOSIGNAL) == (ssize_t)sizeof(ps_frame)
			 ? 0
			 : -errno;
	uint32_t type = 0, len = 0;
	uint8_t *payload = NULL;
	if (rc == 0)
		rc = agent_frame_read(conn, &type, &payload, &len, AGENT_FRAME_MAX);
	close(conn);
	if (rc < 0)
		return hy_error_errno(err, -rc == EPIPE ? ECONNRESET : -rc,
				      "ps: guest agent connection");
	if (type != AGENT_MSG_PS_LIST) {
		if (type == AGENT_MSG_ERROR && payload) {
			sanitize_text(payload, len);
			rc = hy_error_set(err, EIO, "ps: %.*s", (int)(len > 1024 ? 1024 : len),
					  (const char *)payload);
		} else {
			rc = hy_error_set(err, EPROTO, "ps: guest agent sent message %u, not PS_LIST",
					  type);
		}
		free(payload);
		return rc;
	}
	char *s = malloc((size_t)len + 1);
	if (!s) {
		free(payload);
		return hy_error_set(err, ENOMEM, "ps: out of memory");
	}
	if (len)
		memcpy(s, payload, len);
	sanitize_text((uint8_t *)s, len);
	s[len] = '\0';
	free(payload);
	*text = s;
	return 0;
}
