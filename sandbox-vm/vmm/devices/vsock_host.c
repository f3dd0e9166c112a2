/* vsock host side: the Unix listener at uds_path with its "CONNECT <port>\n" handshake,
 * guest-initiated connections to "<uds_path>_<port>", and the timer that expires handshakes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/vsock.h"

uint64_t vsock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int make_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

/* A socket file nobody listens on is left over from a VMM that died: reuse its path. */
static bool stale_socket(const struct sockaddr_un *a)
{
	struct stat st;
	if (stat(a->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool stale = connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int vsock_listen(struct vsock *vs, const char *uds_path, struct hy_error *err)
{
	if (strlen(uds_path) > VSOCK_UDS_PATH_MAX)
		return hy_error_set(err, ENAMETOOLONG,
				    "socket path %s is too long (at most %zu bytes, to leave room for _PORT)",
				    uds_path, (size_t)VSOCK_UDS_PATH_MAX);
	struct sockaddr_un a;
	make_addr(&a, uds_path);
	strcpy(vs->uds_path, uds_path);
	vs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (vs->listen_fd < 0)
		return hy_error_errno(err, errno, "socket");
	if (bind(vs->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno != EADDRINUSE || !stale_socket(&a))
			return hy_error_errno(err, errno, "bind %s", uds_path);
		unlink(uds_path);
		if (bind(vs->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return hy_error_errno(err, errno, "bind %s", uds_path);
	}
	if (listen(vs->listen_fd, 64) < 0)
		return hy_error_errno(err, errno, "listen %s", uds_path);
	vs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vs->timer_fd < 0)
		return hy_error_errno(err, errno, "timerfd_create");
	return 0;
}

static void pending_close(struct vsock_pending *p)
{
	struct vsock *vs = p->vs;
	vs->io.ops->unwatch(vs->io.ctx, vs->dev, p->fd);
	close(p->fd);
	p->fd = -1;
	p->len = 0;
	vs->n_pending--;
}

static uint32_t alloc_local_port(struct vsock *vs, uint32_t peer_port)
{
	for (;;) {
		uint32_t port = vs->next_local_port++;
		if (vs->next_local_port == UINT32_MAX)
			vs->next_local_port = VSOCK_LOCAL_PORT_FIRST;
		/* at most VSOCK_MAX_CONNS ports are taken, so this ends quickly */
		if (!vsock_conn_lookup(vs, port, peer_port))
			return port;
	}
}

static void handle_line(struct vsock_pending *p)
{
	struct vsock *vs = p->vs;
	uint32_t port;
	if (vsock_parse_connect(p->line, p->len, &port) < 0) {
		pending_close(p);
		return;
	}
	int fd = p->fd;
	vs->io.ops->unwatch(vs->io.ctx, vs->dev, fd);
	p->fd = -1;
	p->len = 0;
	vs->n_pending--;
	struct vsock_conn *c = vsock_conn_new(vs, fd, alloc_local_port(vs, port), port,
					      CONN_LOCAL_INIT);
	if (!c) {
		close(fd);
		return;
	}
	c->want_request = true;
	vsock_conn_schedule(c);
	vsock_rx_process(vs);
}

static void pending_ready(void *opaque, uint32_t events)
{
	struct vsock_pending *p = opaque;
	struct vsock *vs = p->vs;
	vsock_lock(vs);
	/* One byte at a time: what follows the newline is stream data for the guest. */
	while (p->fd >= 0 && vs->active) {
		char ch;
		ssize_t r = recv(p->fd, &ch, 1, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			pending_close(p);
			break;
		}
		p->line[p->len++] = ch;
		if (ch == '\n') {
			handle_line(p);
			break;
		}
		if (p->len == sizeof(p->line)) {
			pending_close(p);
			break;
		}
	}
	vsock_timer_update(vs);
	vsock_unlock(vs);
}

static void listener_ready(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	vsock_lock(vs);
	for (int i = 0; i < 16 && vs->active; i++) {
		int fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		struct vsock_pending *p = NULL;
		for (size_t k = 0; k < VSOCK_MAX_PENDING && !p; k++)
			if (vs->pending[k].fd < 0)
				p = &vs->pending[k];
		struct hy_error err;
		if (!p || vs->io.ops->watch(vs->io.ctx, vs->dev, fd, EPOLLIN, pending_ready, p, &err) < 0) {
			close(fd); /* too many half-open handshakes */
			continue;
		}
		p->vs = vs;
		p->fd = fd;
		p->len = 0;
		p->deadline_ms = vsock_now_ms() + VSOCK_LINE_TIMEOUT_MS;
		vs->n_pending++;
	}
	vsock_timer_update(vs);
	vsock_unlock(vs);
}

void vsock_connect_guest_request(struct vsock *vs, const struct vsock_hdr *h)
{
	char path[sizeof(vs->uds_path) + 16];
	snprintf(path, sizeof(path), "%s_%u", vs->uds_path, h->dst_port);
	struct sockaddr_un a;
	int fd = -1;
	if (vs->n_conns >= VSOCK_MAX_CONNS || make_addr(&a, path) < 0)
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A Unix connect never waits: it succeeds, or fails with no listener or a full backlog. */
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto refuse;
	struct vsock_conn *c = vsock_conn_new(vs, fd, h->dst_port, h->src_port, CONN_ESTABLISHED);
	if (!c)
		goto refuse;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->want_response = true;
	vsock_conn_schedule(c);
	return;
refuse:
	if (fd >= 0)
		close(fd);
	vsock_send_rst(vs, h->dst_port, h->src_port);
}

static void arm(struct vsock *vs, bool on)
{
	if (vs->timer_armed == on || vs->timer_fd < 0)
		return;
	struct itimerspec its = {0};
	if (on) {
		its.it_value.tv_nsec = VSOCK_TICK_MS * 1000000L;
		its.it_interval = its.it_value;
	}
	timerfd_settime(vs->timer_fd, 0, &its, NULL);
	vs->timer_armed = on;
}

void vsock_timer_update(struct vsock *vs)
{
	if (vs->active && (vs->n_pending > 0 || vs->want_timer))
		arm(vs, true);
}

void vsock_tick(struct vsock *vs, uint64_t now_ms)
{
	bool left = false;
	for (size_t i = 0; i < VSOCK_MAX_PENDING; i++) {
		struct vsock_pending *p = &vs->pending[i];
		if (p->fd >= 0 && p->deadline_ms <= now_ms)
			pending_close(p);
	}
	for (size_t i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &vs->conns[i];
		if (c->state != CONN_LOCAL_INIT || !c->deadline_ms)
			continue;
		if (c->deadline_ms <= now_ms)
			vsock_conn_reset(c); /* client sees EOF instead of "OK" */
		else
			left = true;
	}
	vs->want_timer = left;
	if (vs->n_pending == 0 && !left)
		arm(vs, false);
	vsock_rx_process(vs);
}

static void timer_ready(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	uint64_t ticks;
	vsock_lock(vs);
	if (read(vs->timer_fd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) && vs->active)
		vsock_tick(vs, vsock_now_ms());
	vsock_unlock(vs);
}

int vsock_host_start(struct vsock *vs, struct hy_error *err)
{
	if (!vs->listen_watched) {
		int r = vs->io.ops->watch(vs->io.ctx, vs->dev, vs->listen_fd, EPOLLIN, listener_ready,
					  vs, err);
		if (r < 0)
			return r;
		vs->listen_watched = true;
	}
	if (!vs->timer_watched) {
		int r = vs->io.ops->watch(vs->io.ctx, vs->dev, vs->timer_fd, EPOLLIN, timer_ready, vs, err);
		if (r < 0)
			return r;
		vs->timer_watched = true;
	}
	return 0;
}

void vsock_host_stop(struct vsock *vs)
{
	if (vs->listen_watched)
		vs->io.ops->unwatch(vs->io.ctx, vs->dev, vs->listen_fd);
	if (vs->timer_watched)
		vs->io.ops->unwatch(vs->io.ctx, vs->dev, vs->timer_fd);
	vs->listen_watched = vs->timer_watched = false;
	for (size_t i = 0; i < VSOCK_MAX_PENDING; i++)
		if (vs->pending[i].fd >= 0)
			pending_close(&vs->pending[i]);
	arm(vs, false);
	vs->want_timer = false;
}
