/* SOCK_SEQPACKET keeps message boundaries, so one recvmsg is one message. */
#include "runtime/container_sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Only the header and the used part of the text travel. */
#define SYNC_HDR_LEN offsetof(struct sync_msg, text)

int sync_send(int sock, enum sync_type type, int value, const char *text, int fd)
{
	struct sync_msg m = {.type = type, .value = value};
	size_t len = SYNC_HDR_LEN;
	if (text) {
		size_t n = strnlen(text, sizeof(m.text) - 1);
		memcpy(m.text, text, n);
		len += n + 1;
	}
	struct iovec iov = {.iov_base = &m, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t r;
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int sync_recv(int sock, struct sync_msg *m, int *fd)
{
	if (fd)
		*fd = -1;
	memset(m, 0, SYNC_HDR_LEN);
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE;
	if ((size_t)r < SYNC_HDR_LEN)
		return -EPROTO;
	m->text[sizeof(m->text) - 1] = '\0';
	if ((size_t)r == SYNC_HDR_LEN)
		m->text[0] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int got;
			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	return 0;
}

void sync_send_error(int sock, const struct hy_error *err)
{
	struct sync_msg m = {.type = SYNC_ERROR, .code = err->code ? err->code : EINVAL};
	size_t n = strnlen(err->msg, sizeof(m.text) - 1);
	memcpy(m.text, err->msg, n);
	ssize_t r;
	do
		r = send(sock, &m, SYNC_HDR_LEN + n + 1, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
}

int sync_expect(int sock, enum sync_type want, struct sync_msg *m, int *fd, struct hy_error *err)
{
	int rc = sync_recv(sock, m, fd);
	if (rc == -EPIPE)
		return hy_error_set(err, ECHILD, "container process exited during set-up");
	if (rc < 0)
		return hy_error_errno(err, -rc, "sync socket: recvmsg");
	if (m->type == SYNC_ERROR) {
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return hy_error_set(err, m->code, "%s", m->text);
	}
	if (m->type != (uint32_t)want) {
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return hy_error_set(err, EPROTO, "sync socket: expected message %d, got %u", want,
				    m->type);
	}
	return 0;
}
