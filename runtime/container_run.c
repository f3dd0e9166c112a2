/* run: create + start in one process; in the foreground it waits for the init (our own child),
 * forwards signals to it, relays a terminal, and deletes the container unless --keep. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container_internal.h"
#include "runtime/terminal.h"

/* Signals a foreground run passes on to the container (SIGCHLD tells us it exited). */
static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
				SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH,
				SIGPIPE, SIGPWR,  SIGVTALRM, SIGPROF, SIGURG};

struct waiter {
	pid_t pid;
	int status;
	bool exited;
};

int container_exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return 255;
}

static void reap(struct waiter *w)
{
	int status;
	pid_t r;
	/* Other children (a second fork for the pid ns) may exit too: only the init counts. */
	while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
		if (r == w->pid) {
			w->status = status;
			w->exited = true;
		}
	}
}

static void on_signal(void *arg, int sig)
{
	struct waiter *w = arg;
	if (sig == SIGCHLD)
		reap(w);
	else if (sig != SIGWINCH && !w->exited)
		kill(w->pid, sig);
}

static int wait_plain(int sigfd, struct waiter *w)
{
	reap(w);
	while (!w->exited) {
		struct signalfd_siginfo si;
		ssize_t n = read(sigfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si))
			return -errno;
		on_signal(w, (int)si.ssi_signo);
	}
	return 0;
}

/* The pty may still hold the last output after the init exited. */
static void drain(int master)
{
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	char buf[8192];
	ssize_t n;
	while ((n = read(master, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
			break;
}

void container_block_signals(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
	sigprocmask(SIG_BLOCK, set, old);
}

int container_wait_foreground(pid_t pid, int pty_master, const sigset_t *set, int *exit_status,
			      struct hy_error *err)
{
	int sigfd = signalfd(-1, set, SFD_CLOEXEC);
	if (sigfd < 0)
		return hy_error_errno(err, errno, "signalfd");
	struct waiter w = {.pid = pid};
	int rc = 0;
	if (pty_master >= 0) {
		struct terminal_relay r = {.master = pty_master, .sigfd = sigfd,
					   .on_signal = on_signal, .arg = &w, .stop = &w.exited};
		terminal_relay(&r, err);
		if (!w.exited)
			rc = wait_plain(sigfd, &w);
		drain(pty_master);
	} else {
		rc = wait_plain(sigfd, &w);
	}
	close(sigfd);
	if (rc < 0)
		return hy_error_errno(err, -rc, "waiting for process %d", (int)pid);
	*exit_status = container_exit_code(w.status);
	return 0;
}

int container_run(const struct hy_runtime *rt, const struct hy_create_opts *opts, bool detach,
		  bool keep, int *exit_status, struct hy_error *err)
{
	*exit_status = 0;
	struct hy_created c;
	/* SIGCHLD and forwarded signals wait in a signalfd; blocking them before the clone means
	 * none is lost (the init resets its mask). */
	sigset_t set, old;
	if (!detach)
		container_block_signals(&set, &old);
	int rc = container_create_internal(rt, opts, !detach, true, &c, err);
	if (rc < 0)
		goto restore;
	rc = container_wait_exec(&c, err);
	if (!rc)
		rc = container_mark_running(rt->root, &c.st, c.cfg, err);
	if (rc < 0) {
		struct hy_error ignored;
		container_destroy(rt->root, &c.st, c.cfg, &ignored);
		created_free(&c);
		goto restore;
	}
	/* Others (kill, exec, state) must be able to lock the container while it runs. */
	state_unlock(c.lock_fd);
	c.lock_fd = -1;
	if (detach) {
		created_free(&c);
		goto restore;
	}
	rc = container_wait_foreground(c.pid, c.pty_master, &set, exit_status, err);
	if (!keep) {
		int lock_fd;
		struct hy_error derr;
		if (state_lock(rt->root, c.st.id, &lock_fd, &derr) == 0) {
			c.st.status = HY_STATUS_STOPPED;
			int drc = container_destroy(rt->root, &c.st, c.cfg, &derr);
			state_unlock(lock_fd);
			if (drc < 0 && rc == 0) {
				*err = derr;
				rc = drc;
			}
		}
	}
	created_free(&c);
restore:
	if (!detach)
		sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
