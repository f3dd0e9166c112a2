/* OCI hooks: fork/exec with the state on stdin, a deadline, and one error naming the hook. */
#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *hooks_kind_name(enum hy_hook_kind kind)
{
	static const char *const names[HY_HOOK__COUNT] = {
		[HY_HOOK_PRESTART] = "prestart",
		[HY_HOOK_CREATE_RUNTIME] = "createRuntime",
		[HY_HOOK_CREATE_CONTAINER] = "createContainer",
		[HY_HOOK_START_CONTAINER] = "startContainer",
		[HY_HOOK_POSTSTART] = "poststart",
		[HY_HOOK_POSTSTOP] = "poststop",
	};
	return (unsigned)kind < HY_HOOK__COUNT ? names[kind] : "unknown";
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: never returns. Reports an exec failure's errno through errfd. */
static void exec_hook(const struct hy_hook *h, int stdin_fd, int errfd)
{
	static char *const empty_env[] = {NULL};
	char *argv0[] = {h->path, NULL};
	/* Own process group: a timeout kills the hook's children too. */
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (stdin_fd != STDIN_FILENO) {
		if (dup2(stdin_fd, STDIN_FILENO) < 0)
			goto fail;
	} else if (fcntl(STDIN_FILENO, F_SETFD, 0) < 0) {
		goto fail; /* the pipe end landed on fd 0 with its close-on-exec flag */
	}
	/* Keep 0-2 and the error pipe; nothing else of the runtime leaks into the hook. */
	if (errfd > 3) {
		int moved = dup3(errfd, 3, O_CLOEXEC);
		if (moved < 0)
			goto fail;
		errfd = moved;
	} else if (errfd < 3) {
		goto fail;
	}
	if (close_range(4, ~0u, 0) < 0)
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	char **argv = h->args.n ? h->args.v : argv0;
	char **envp = h->env.n ? h->env.v : (char **)empty_env;
	execve(h->path, argv, envp);
fail:;
	int e = errno;
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* nothing more we can do from here */
	}
	_exit(127);
}

struct hook_child {
	pid_t pid;
	int pidfd;
	int wfd;   /* write end of the hook's stdin, -1 once done */
	int errfd; /* read end of the exec-error pipe */
};

static int start_hook(const struct hy_hook *h, struct hook_child *c)
{
	int in[2], ep[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		return -e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		close(ep[0]);
		close(ep[1]);
		return -e;
	}
	if (pid == 0) {
		close(in[1]);
		close(ep[0]);
		/* Make sure the stdin end does not sit on fd 3, which exec_hook gives to errfd. */
		int sin = in[0];
		if (sin == 3 || sin == ep[1]) {
			sin = fcntl(in[0], F_DUPFD_CLOEXEC, 10);
			if (sin < 0)
				_exit(127);
		}
		int efd = ep[1];
		if (efd < 3) {
			efd = fcntl(ep[1], F_DUPFD_CLOEXEC, 10);
			if (efd < 0)
				_exit(127);
		}
		exec_hook(h, sin, efd);
	}
	close(in[0]);
	close(ep[1]);
	c->pid = pid;
	c->wfd = in[1];
	c->errfd = ep[0];
	c->pidfd = pidfd_open(pid, 0);
	fcntl(c->wfd, F_SETFL, fcntl(c->wfd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Writes what the pipe takes without raising SIGPIPE; returns false when writing is over. */
static bool feed_stdin(int fd, const char *buf, size_t len, size_t *done)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	bool more = true;
	while (*done < len) {
		ssize_t n = write(fd, buf + *done, len - *done);
		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		more = false; /* EPIPE: the hook does not read its stdin, which is its right */
		break;
	}
	if (!more) {
		/* Swallow the SIGPIPE our write queued, so that unblocking does not deliver it. */
		struct timespec zero = {0, 0};
		sigset_t pending;
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE) && !sigismember(&old, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return more && *done < len;
}

/* Waits for the hook, feeding its stdin; *timed_out when the deadline passed (then killed). */
static int wait_hook(struct hook_child *c, const char *json, int timeout_s, int *status,
		     bool *timed_out)
{
	size_t len = json ? strlen(json) : 0, done = 0;
	int64_t deadline = timeout_s > 0 ? now_ms() + (int64_t)timeout_s * 1000 : -1;
	*timed_out = false;
	for (;;) {
		if (c->wfd >= 0 && !feed_stdin(c->wfd, json, len, &done)) {
			close(c->wfd);
			c->wfd = -1;
		}
		pid_t r = waitpid(c->pid, status, WNOHANG);
		if (r == c->pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		int wait_ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				*timed_out = true;
				kill(-c->pid, SIGKILL);
				kill(c->pid, SIGKILL);
				while (waitpid(c->pid, status, 0) < 0 && errno == EINTR)
					;
				return 0;
			}
			wait_ms = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd pfd[2];
		nfds_t nfds = 0;
		if (c->pidfd >= 0)
			pfd[nfds++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
		if (c->wfd >= 0)
			pfd[nfds++] = (struct pollfd){.fd = c->wfd, .events = POLLOUT};
		/* Without a pidfd (old kernels), poll the child every 10 ms. */
		if (c->pidfd < 0 && (wait_ms < 0 || wait_ms > 10))
			wait_ms = 10;
		if (poll(pfd, nfds, wait_ms) < 0 && errno != EINTR)
			return -errno;
	}
}

static int run_one(const struct hy_hook *h, enum hy_hook_kind kind, size_t index,
		   const char *state_json, struct hy_error *err)
{
	const char *kname = hooks_kind_name(kind);
	struct hook_child c = {.pid = -1, .pidfd = -1, .wfd = -1, .errfd = -1};
	int rc = start_hook(h, &c);
	if (rc)
		return hy_error_errno(err, -rc, "%s hook [%zu] %s: fork", kname, index, h->path);
	int status = 0;
	bool timed_out = false;
	rc = wait_hook(&c, state_json, h->has_timeout ? h->timeout : 0, &status, &timed_out);
	int exec_errno = 0;
	ssize_t n = read(c.errfd, &exec_errno, sizeof(exec_errno));
	if (c.wfd >= 0)
		close(c.wfd);
	if (c.pidfd >= 0)
		close(c.pidfd);
	close(c.errfd);
	if (rc)
		return hy_error_errno(err, -rc, "%s hook [%zu] %s: wait", kname, index, h->path);
	if (timed_out)
		return hy_error_set(err, ETIMEDOUT, "%s hook [%zu] %s: timed out after %d s", kname,
				    index, h->path, h->timeout);
	if (n == (ssize_t)sizeof(exec_errno) && exec_errno)
		return hy_error_errno(err, exec_errno, "%s hook [%zu] %s: exec", kname, index,
				      h->path);
	if (WIFSIGNALED(status))
		return hy_error_set(err, ECHILD, "%s hook [%zu] %s: killed by signal %d", kname,
				    index, h->path, WTERMSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return hy_error_set(err, ECHILD, "%s hook [%zu] %s: exited with status %d", kname,
				    index, h->path, WEXITSTATUS(status));
	return 0;
}

int hooks_run(const struct hy_hook_list *hooks, enum hy_hook_kind kind, const char *state_json,
	      struct hy_error *err)
{
	if (!hooks)
		return 0;
	for (size_t i = 0; i < hooks->n; i++) {
		int rc = run_one(&hooks->v[i], kind, i, state_json, err);
		if (rc)
			return rc;
	}
	return 0;
}
