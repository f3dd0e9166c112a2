/* Control socket (server on the event loop) and its client, plus pausing the vCPUs.
 * A pause takes every vCPU out of KVM_RUN (kick: immediate_exit + signal) and parks it on the VM's
 * condition variable; the request returns only once all of them are parked, so "ok" means the
 * guest is no longer executing. */
#include "sandbox-vm/vmm/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/balloon.h"
#include "sandbox-vm/vmm/event_loop.h"
#include "sandbox-vm/vmm/vm.h"

#define CONTROL_TIMEOUT_MS 5000
#define BALLOON_PAGES_PER_MIB ((1024u * 1024u) / BALLOON_PAGE_SIZE)

struct control {
	struct vm *vm;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int vm_pause(struct vm *vm, struct hy_error *err)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	pthread_mutex_unlock(&vm->lock);
	vm_kick_vcpus(vm);
	pthread_mutex_lock(&vm->lock);
	while (vm->n_paused < vm->n_vcpus && vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->cond, &vm->lock);
	bool stopped = vm->stop_reason != VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	if (stopped)
		return hy_error_set(err, ESRCH, "the VM is shutting down");
	return 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void reply(int fd, const char *msg)
{
	size_t len = strlen(msg);
	while (len) {
		ssize_t n = send(fd, msg, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		msg += n;
		len -= (size_t)n;
	}
}

static const char *const balloon_stat_names[BALLOON_S_NR] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures",
};

/* "balloon-info": one line of key=value pairs; sizes in MiB, guest statistics as the guest sent
 * them (bytes for the memory ones, counts for the others). */
static void balloon_info_reply(struct vm *vm, int fd)
{
	struct balloon_info bi;
	virtio_balloon_info(vm->balloon, &bi);
	char msg[CONTROL_ANSWER_MAX];
	int n = snprintf(msg, sizeof(msg),
			 "ok memory_mib=%llu target_mib=%u actual_mib=%u target_pages=%u "
			 "actual_pages=%u released_pages=%llu rejected_pfns=%llu",
			 (unsigned long long)vm->cfg->memory_mib, bi.target_pages / BALLOON_PAGES_PER_MIB,
			 bi.actual_pages / BALLOON_PAGES_PER_MIB, bi.target_pages, bi.actual_pages,
			 (unsigned long long)bi.released_pages, (unsigned long long)bi.rejected_pfns);
	for (int i = 0; i < BALLOON_S_NR && n > 0 && (size_t)n < sizeof(msg); i++)
		if (bi.stat_valid[i])
			n += snprintf(msg + n, sizeof(msg) - (size_t)n, " %s=%llu",
				      balloon_stat_names[i], (unsigned long long)bi.stats[i]);
	if (n < 0 || (size_t)n >= sizeof(msg) - 1)
		n = (int)sizeof(msg) - 2;
	msg[n] = '\n';
	msg[n + 1] = 0;
	reply(fd, msg);
}

/* "balloon MIB": MIB of guest memory to take away (0 gives everything back). */
static void balloon_request(struct vm *vm, int fd, const char *line)
{
	if (!vm->balloon) {
		reply(fd, "error: this VM has no balloon device\n");
		return;
	}
	if (!strcmp(line, "balloon-info")) {
		balloon_info_reply(vm, fd);
		return;
	}
	const char *arg = line + 8;
	char *end;
	errno = 0;
	unsigned long long mib = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg < '0' || *arg > '9' ||
	    mib > UINT32_MAX / BALLOON_PAGES_PER_MIB) {
		reply(fd, "error: balloon: expected a size in MiB\n");
		return;
	}
	struct hy_error err = {0};
	if (virtio_balloon_set_target(vm->balloon, (uint32_t)(mib * BALLOON_PAGES_PER_MIB), &err) <
	    0) {
		char msg[HY_ERROR_MSG_MAX + 16];
		snprintf(msg, sizeof(msg), "error: %s\n", err.msg);
		reply(fd, msg);
		return;
	}
	reply(fd, "ok\n");
}

static void handle_request(struct control *c, int fd)
{
	char buf[64];
	size_t len = 0;
	/* One short line; a client that does not send it in time is dropped. */
	while (len < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, CONTROL_TIMEOUT_MS) <= 0)
			return;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	struct hy_error err = {0};
	if (!strcmp(buf, "pause")) {
		if (vm_pause(c->vm, &err) < 0) {
			char msg[HY_ERROR_MSG_MAX + 16];
			snprintf(msg, sizeof(msg), "error: %s\n", err.msg);
			reply(fd, msg);
			return;
		}
		reply(fd, "ok\n");
	} else if (!strcmp(buf, "resume")) {
		vm_resume(c->vm);
		reply(fd, "ok\n");
	} else if (!strncmp(buf, "balloon ", 8) || !strcmp(buf, "balloon-info")) {
		balloon_request(c->vm, fd, buf);
	} else {
		reply(fd, "error: unknown request (expected pause, resume, balloon MIB or "
			  "balloon-info)\n");
	}
}

static void accept_cb(void *opaque, uint32_t events)
{
	struct control *c = opaque;
	int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	handle_request(c, fd);
	close(fd);
}

int control_start(struct vm *vm, const char *path, struct hy_error *err)
{
	struct control *c = calloc(1, sizeof(*c));
	if (!c)
		return hy_error_set(err, ENOMEM, "out of memory");
	c->vm = vm;
	c->fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		free(c);
		return hy_error_set(err, ENAMETOOLONG, "control socket path %s is too long", path);
	}
	strcpy(sa.sun_path, path);
	strcpy(c->path, path);
	int rc;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		rc = hy_error_errno(err, errno, "control socket %s", path);
		goto fail;
	}
	unlink(path); /* a stale socket from a VMM that died */
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(c->fd, 8) < 0) {
		rc = hy_error_errno(err, errno, "control socket %s", path);
		goto fail;
	}
	rc = event_loop_add(vm->loop, c->fd, EPOLLIN, accept_cb, c, err);
	if (rc < 0) {
		unlink(path);
		goto fail;
	}
	vm->control = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}

void control_stop(struct vm *vm)
{
	struct control *c = vm->control;
	if (!c)
		return;
	event_loop_del(vm->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
	vm->control = NULL;
}

int vmm_control_query(const char *socket_path, const char *request, char *answer, size_t size,
		      struct hy_error *err)
{
	if (size)
		answer[0] = 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return hy_error_set(err, ENAMETOOLONG, "control socket path %s is too long", socket_path);
	strcpy(sa.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hy_error_errno(err, errno, "socket");
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = hy_error_errno(err, errno, "cannot connect to the VM's control socket %s",
				    socket_path);
		goto out;
	}
	char line[64];
	snprintf(line, sizeof(line), "%s\n", request);
	reply(fd, line);
	char buf[CONTROL_ANSWER_MAX];
	size_t len = 0;
	while (len < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, CONTROL_TIMEOUT_MS * 2) <= 0) {
			rc = hy_error_set(err, ETIMEDOUT, "control socket %s: no answer to %s",
					  socket_path, request);
			goto out;
		}
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!strcmp(buf, "ok") || !strncmp(buf, "ok ", 3)) {
		if (size)
			snprintf(answer, size, "%s", buf[2] ? buf + 3 : "");
	} else {
		rc = hy_error_set(err, EIO, "control socket %s: %s: %s", socket_path, request,
				  !strncmp(buf, "error: ", 7) ? buf + 7 : (len ? buf : "no answer"));
	}
out:
	close(fd);
	return rc;
}

int vmm_control_request(const char *socket_path, const char *request, struct hy_error *err)
{
	return vmm_control_query(socket_path, request, NULL, 0, err);
}
