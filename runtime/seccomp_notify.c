/* linux.seccomp.listenerPath: hands the seccomp notify fd to a seccomp agent with the
 * "container process state" JSON of config-linux.md, one connection per state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "runtime/seccomp.h"

#define OCI_VERSION "1.2.0"

/* The state JSON is ours (state_to_json) but is embedded verbatim, so make sure it is one
 * JSON object; its pid is the one the agent must see. */
static int state_pid(const char *state_json, long long *pid, struct hy_error *err)
{
	char errbuf[128] = "";
	yajl_val v = yajl_tree_parse(state_json, errbuf, sizeof(errbuf));
	if (!v || !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return hy_error_set(err, EINVAL,
				    "seccomp listener: container state is not a JSON object");
	}
	const char *key[] = {"pid", NULL};
	yajl_val p = yajl_tree_get(v, key, yajl_t_number);
	*pid = p && YAJL_IS_INTEGER(p) ? YAJL_GET_INTEGER(p) : (long long)getpid();
	yajl_tree_free(v);
	return 0;
}

static void gen_key(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static char *build_message(const struct hy_seccomp *s, const char *state_json, long long pid,
			   size_t *len)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return NULL;
	yajl_gen_map_open(g);
	gen_key(g, "ociVersion");
	gen_key(g, OCI_VERSION);
	gen_key(g, "fds");
	yajl_gen_array_open(g);
	gen_key(g, "seccompFd");
	yajl_gen_array_close(g);
	gen_key(g, "pid");
	yajl_gen_integer(g, pid);
	if (s->listener_metadata) {
		gen_key(g, "metadata");
		gen_key(g, s->listener_metadata);
	}
	gen_key(g, "state");
	/* A placeholder keeps yajl's state machine right; the state object replaces it below. */
	yajl_gen_integer(g, 0);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t blen;
	char *out = NULL;
	if (yajl_gen_get_buf(g, &buf, &blen) == yajl_gen_status_ok && blen >= 3) {
		size_t head = blen - 2; /* the buffer ends with the placeholder "0}" */
		size_t slen = strlen(state_json);
		out = malloc(head + slen + 2);
		if (out) {
			memcpy(out, buf, head);
			memcpy(out + head, state_json, slen);
			out[head + slen] = '}';
			out[head + slen + 1] = '\0';
			*len = head + slen + 1;
		}
	}
	yajl_gen_free(g);
	return out;
}

static int send_all(int sock, int fd, const char *msg, size_t len, struct hy_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	memset(&cbuf, 0, sizeof(cbuf));
	size_t off = 0;
	bool fd_sent = false;
	while (off < len) {
		struct iovec iov = {.iov_base = (void *)(msg + off), .iov_len = len - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (!fd_sent) {
			/* The spec allows several sendmsg calls, with the fds only in the first. */
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = sizeof(cbuf.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hy_error_errno(err, errno, "sendmsg");
		}
		fd_sent = true;
		off += (size_t)n;
	}
	return 0;
}

int seccomp_send_listener(const struct hy_seccomp *s, int notify_fd, const char *state_json,
			  struct hy_error *err)
{
	if (!s || !s->listener_path)
		return 0;
	if (notify_fd < 0)
		return hy_error_set(err, EINVAL,
				    "linux.seccomp.listenerPath: no seccomp notify fd to send");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(s->listener_path) >= sizeof(addr.sun_path))
		return hy_error_set(
		    err, ENAMETOOLONG,
		    "linux.seccomp.listenerPath: '%s' is too long for a socket path",
		    s->listener_path);
	memcpy(addr.sun_path, s->listener_path, strlen(s->listener_path) + 1);
	long long pid = 0;
	int rc = state_pid(state_json ? state_json : "", &pid, err);
	if (rc < 0)
		return rc;
	size_t len = 0;
	char *msg = build_message(s, state_json, pid, &len);
	if (!msg)
		return hy_error_set(err, ENOMEM, "seccomp listener: out of memory");
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		rc = hy_error_errno(err, errno, "seccomp listener: socket");
	} else if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = hy_error_errno(err, errno, "linux.seccomp.listenerPath: connecting to %s",
				    s->listener_path);
	} else {
		rc = send_all(sock, notify_fd, msg, len, err);
		if (rc < 0)
			hy_error_prefix(err, "linux.seccomp.listenerPath %s", s->listener_path);
	}
	if (sock >= 0)
		close(sock);
	free(msg);
	return rc;
}
