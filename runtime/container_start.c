/* start: releases the init blocked on exec.fifo, marks the container running, poststart hooks.
 * Also the helpers the other lifecycle files share (hooks with state, waiting for a pid). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "runtime/container_internal.h"
#include "runtime/hooks.h"

int container_run_hooks(const struct hy_config *cfg, enum hy_hook_kind kind,
			const struct hy_state *st, struct hy_error *err)
{
	if (!cfg || !cfg->hooks[kind].n)
		return 0;
	char *json = state_to_json(st, false);
	if (!json)
		return hy_error_set(err, ENOMEM, "out of memory");
	int rc = hooks_run(&cfg->hooks[kind], kind, json, err);
	free(json);
	return rc;
}

int container_load_config(const struct hy_state *st, struct hy_config **cfg, struct hy_error *err)
{
	*cfg = NULL;
	if (!st->bundle)
		return hy_error_set(err, EINVAL, "container '%s': no bundle in its state", st->id);
	int rc = config_load(st->bundle, cfg, err);
	if (rc < 0)
		return hy_error_prefix(err, "container '%s'", st->id);
	return 0;
}

int wait_pid_gone(pid_t pid, int timeout_ms)
{
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return errno == ESRCH ? 0 : -errno;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	close(fd);
	return r > 0 ? 0 : -ETIMEDOUT;
}

/* After the "0": EOF when the init executed the process, else its error message. */
static int read_exec_result(int fd, struct hy_error *err)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	char msg[HY_ERROR_MSG_MAX];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(msg) - 1)
			break;
	}
	if (!len)
		return 0;
	msg[len] = '\0';
	return hy_error_set(err, ECHILD, "%s", msg);
}

int container_release_init(const char *fifo_path, pid_t pid, struct hy_error *err)
{
	/* The pidfd catches an init that died instead of ever writing. It is taken before the
	 * fifo is opened: that open wakes the init, whose process may exit (and be reaped) at once,
	 * and the pid would then be gone before we could ask for it. */
	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return hy_error_set(err, ECHILD, "container init %d exited before starting",
					    (int)pid);
		return hy_error_errno(err, errno, "pidfd_open of the container init %d", (int)pid);
	}
	/* A non-blocking open returns at once and wakes the init blocked in its open for writing. */
	int fd = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		close(pidfd);
		return hy_error_errno(err, e, "open %s", fifo_path);
	}
	int rc = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = hy_error_errno(err, errno, "poll exec.fifo");
			break;
		}
		if (p[0].revents & POLLIN) {
			char b;
			ssize_t n = read(fd, &b, 1);
			if (n == 1) {
				rc = read_exec_result(fd, err);
				break;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			rc = hy_error_set(err, ECHILD, "container init exited before starting");
			break;
		}
		if (p[1].revents & POLLIN) {
			rc = hy_error_set(err, ECHILD, "container init exited before starting");
			break;
		}
		if (p[0].revents & (POLLHUP | POLLERR)) {
			rc = hy_error_set(err, ECHILD, "container init closed exec.fifo without starting");
			break;
		}
	}
	close(pidfd);
	close(fd);
	unlink(fifo_path);
	return rc;
}

int container_mark_running(const char *root, struct hy_state *st, const struct hy_config *cfg,
			   struct hy_error *err)
{
	st->status = HY_STATUS_RUNNING;
	int rc = state_write(root, st, err);
	if (rc < 0)
		return rc;
	rc = container_run_hooks(cfg, HY_HOOK_POSTSTART, st, err);
	return rc < 0 ? hy_error_prefix(err, "poststart") : 0;
}

int container_start(const struct hy_runtime *rt, const char *id, struct hy_error *err)
{
	int lock_fd;
	int rc = state_lock(rt->root, id, &lock_fd, err);
	if (rc < 0)
		return rc;
	struct hy_state *st = NULL;
	struct hy_config *cfg = NULL;
	char *fifo = NULL;
	if ((rc = state_read(rt->root, id, &st, err)) < 0)
		goto out;
	if (st->status != HY_STATUS_CREATED) {
		rc = hy_error_set(err, EINVAL, "container '%s' is not in created state (status: %s)",
				  id, state_status_name(st->status));
		goto out;
	}
	fifo = state_file_path(rt->root, id, "exec.fifo");
	if (!fifo) {
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* Poststart hooks come from the bundle's config; a bundle gone since create has none. */
	struct hy_error ignored;
	if (container_load_config(st, &cfg, &ignored) < 0)
		cfg = NULL;
	if ((rc = container_release_init(fifo, st->pid, err)) < 0)
		goto out;
	rc = container_mark_running(rt->root, st, cfg, err);
out:
	free(fifo);
	config_free(cfg);
	state_free(st);
	state_unlock(lock_fd);
	return rc;
}
