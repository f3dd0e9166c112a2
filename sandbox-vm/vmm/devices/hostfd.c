#include "sandbox-vm/vmm/devices/hostfd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int hostfd_open(struct hostfd *h, int fd, bool write, struct hy_error *err)
{
	struct stat st;
	h->fd = -1;
	h->orig = -1;
	if (fstat(fd, &st) < 0)
		return hy_error_errno(err, errno, "fstat fd %d", fd);
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		h->kind = HOSTFD_FILE;
	} else if (S_ISSOCK(st.st_mode)) {
		h->kind = HOSTFD_SOCKET;
	} else {
		/* A new open file description: O_NONBLOCK on it leaves the caller's fd alone. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		h->fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (h->fd >= 0) {
			h->kind = HOSTFD_NONBLOCK;
			return 0;
		}
		h->kind = HOSTFD_BLOCKING;
	}
	h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (h->fd < 0)
		return hy_error_errno(err, errno, "dup fd %d", fd);
	return 0;
}

void hostfd_close(struct hostfd *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->orig >= 0)
		close(h->orig);
	h->fd = h->orig = -1;
}

/* A blocking fd that polled ready takes at most PIPE_BUF bytes without blocking. */
static unsigned clamp_iov(const struct iovec *iov, unsigned n, struct iovec *out, size_t max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && max > 0 && k < IOV_MAX; i++) {
		out[k] = iov[i];
		if (out[k].iov_len > max)
			out[k].iov_len = max;
		max -= out[k].iov_len;
		k++;
	}
	return k;
}

/* A blocking fd is only touched when it polls ready, so that the call cannot block. */
static bool ready(const struct hostfd *h, short what)
{
	if (h->kind != HOSTFD_BLOCKING)
		return true;
	struct pollfd p = {.fd = h->fd, .events = what};
	return poll(&p, 1, 0) == 1;
}

ssize_t hostfd_readv(const struct hostfd *h, const struct iovec *iov, unsigned n)
{
	ssize_t r;
	if (n > IOV_MAX)
		n = IOV_MAX;
	if (!ready(h, POLLIN))
		return -EAGAIN;
	do {
		if (h->kind == HOSTFD_SOCKET) {
			struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
			r = recvmsg(h->fd, &m, MSG_DONTWAIT);
		} else {
			r = readv(h->fd, iov, (int)n);
		}
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t hostfd_writev(const struct hostfd *h, const struct iovec *iov, unsigned n)
{
	ssize_t r;
	if (n > IOV_MAX)
		n = IOV_MAX;
	if (h->kind == HOSTFD_SOCKET) {
		struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
		do
			r = sendmsg(h->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
		return r < 0 ? -errno : r;
	}
	struct iovec small[IOV_MAX];
	if (!ready(h, POLLOUT))
		return -EAGAIN;
	if (h->kind == HOSTFD_BLOCKING) {
		n = clamp_iov(iov, n, small, PIPE_BUF);
		iov = small;
	}
	/* A pipe without a reader raises SIGPIPE in this thread; block it around the write and
	 * consume the pending signal so the VMM sees EPIPE instead of dying. */
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	do
		r = writev(h->fd, iov, (int)n);
	while (r < 0 && errno == EINTR);
	int saved = errno;
	if (r < 0 && saved == EPIPE && !sigismember(&old, SIGPIPE)) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r < 0 ? -saved : r;
}
