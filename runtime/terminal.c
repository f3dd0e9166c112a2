#include "runtime/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int terminal_setup(const struct hy_process *p, int *master, struct hy_error *err)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return hy_error_errno(err, errno, "process.terminal: open /dev/ptmx");
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
		int e = errno;
		close(m);
		return hy_error_errno(err, e, "process.terminal: unlock pty");
	}
	/* TIOCGPTPEER opens the slave of exactly this master, whatever is mounted on /dev/pts. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (s < 0) {
		int e = errno;
		close(m);
		return hy_error_errno(err, e, "process.terminal: open the pty slave");
	}
	int rc = 0;
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height,
				     .ws_col = (unsigned short)p->console_width};
		if (ioctl(s, TIOCSWINSZ, &ws) < 0) {
			rc = hy_error_errno(err, errno, "process.consoleSize: TIOCSWINSZ");
			goto fail;
		}
	}
	if (setsid() < 0 && errno != EPERM) {
		rc = hy_error_errno(err, errno, "process.terminal: setsid");
		goto fail;
	}
	if (ioctl(s, TIOCSCTTY, 0) < 0) {
		rc = hy_error_errno(err, errno, "process.terminal: TIOCSCTTY");
		goto fail;
	}
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(s, fd) < 0) {
			rc = hy_error_errno(err, errno, "process.terminal: dup2 to fd %d", fd);
			goto fail;
		}
	}
	if (s > 2)
		close(s);
	*master = m;
	return 0;
fail:
	close(s);
	close(m);
	return rc;
}

int terminal_send_to_socket(const char *path, int master, struct hy_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return hy_error_set(err, ENAMETOOLONG, "--console-socket %s: path too long", path);
	strcpy(sa.sun_path, path);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return hy_error_errno(err, errno, "--console-socket: socket");
	int rc = 0;
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = hy_error_errno(err, errno, "--console-socket: connect %s", path);
		goto out;
	}
	/* runc sends the pty's name as the payload; receivers only use the fd. */
	char name[] = "/dev/ptmx";
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		rc = hy_error_errno(err, errno, "--console-socket %s: sendmsg", path);
out:
	close(sock);
	return rc;
}

static int copy_some(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		off += w;
	}
	return 1;
}

int terminal_relay(const struct terminal_relay *r, struct hy_error *err)
{
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		t.c_oflag = saved.c_oflag; /* keep output processing: the pty does its own */
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			ioctl(r->master, TIOCSWINSZ, &ws);
	}
	bool stdin_open = true;
	while (!*r->stop) {
		struct pollfd pfd[3] = {
			{.fd = r->master, .events = POLLIN},
			{.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
			{.fd = r->sigfd, .events = POLLIN},
		};
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH && raw) {
					struct winsize ws;
					if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
						ioctl(r->master, TIOCSWINSZ, &ws);
				}
				r->on_signal(r->arg, (int)si.ssi_signo);
			}
		}
		if (pfd[0].revents & POLLIN) {
			if (!copy_some(r->master, STDOUT_FILENO))
				break;
		} else if (pfd[0].revents & (POLLHUP | POLLERR)) {
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			if (!copy_some(STDIN_FILENO, r->master))
				stdin_open = false;
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	(void)err;
	return 0;
}
