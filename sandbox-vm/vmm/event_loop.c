/* The device event loop: epoll on one thread. Handlers are heap entries referenced from epoll's
 * data pointer; a deleted handler is only freed after the current batch of events has been
 * dispatched, so a callback may delete any fd (its own included) safely. */
#include "sandbox-vm/vmm/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct handler {
	int fd;
	event_cb cb;
	void *opaque;
	bool dead;
	struct handler *next;
};

struct event_loop {
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards the lists */
	struct handler *live, *dead;
};

int event_loop_create(struct event_loop **out, struct hy_error *err)
{
	struct event_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return hy_error_set(err, ENOMEM, "out of memory for the event loop");
	pthread_mutex_init(&l->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stop_fd < 0) {
		int rc = hy_error_errno(err, errno, "event loop: epoll/eventfd");
		event_loop_destroy(l);
		return rc;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		int rc = hy_error_errno(err, errno, "event loop: epoll_ctl");
		event_loop_destroy(l);
		return rc;
	}
	*out = l;
	return 0;
}

int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_cb cb, void *opaque,
		   struct hy_error *err)
{
	struct handler *h = calloc(1, sizeof(*h));
	if (!h)
		return hy_error_set(err, ENOMEM, "out of memory for an event handler");
	*h = (struct handler){.fd = fd, .cb = cb, .opaque = opaque};
	pthread_mutex_lock(&l->lock);
	struct epoll_event ev = {.events = events, .data.ptr = h};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		pthread_mutex_unlock(&l->lock);
		free(h);
		return hy_error_errno(err, errno, "event loop: adding fd %d", fd);
	}
	h->next = l->live;
	l->live = h;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static struct handler *find_live(struct event_loop *l, int fd, struct handler ***link)
{
	for (struct handler **pp = &l->live; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

int event_loop_mod(struct event_loop *l, int fd, uint32_t events, struct hy_error *err)
{
	pthread_mutex_lock(&l->lock);
	struct handler *h = find_live(l, fd, NULL);
	int rc = 0;
	if (!h) {
		rc = hy_error_set(err, ENOENT, "event loop: fd %d is not registered", fd);
	} else {
		struct epoll_event ev = {.events = events, .data.ptr = h};
		if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			rc = hy_error_errno(err, errno, "event loop: modifying fd %d", fd);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void event_loop_del(struct event_loop *l, int fd)
{
	pthread_mutex_lock(&l->lock);
	struct handler **link;
	struct handler *h = find_live(l, fd, &link);
	if (h) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*link = h->next;
		__atomic_store_n(&h->dead, true, __ATOMIC_RELEASE);
		h->next = l->dead;
		l->dead = h;
	}
	pthread_mutex_unlock(&l->lock);
}

static void free_dead(struct event_loop *l)
{
	pthread_mutex_lock(&l->lock);
	struct handler *h = l->dead;
	l->dead = NULL;
	pthread_mutex_unlock(&l->lock);
	while (h) {
		struct handler *next = h->next;
		free(h);
		h = next;
	}
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	pthread_setname_np(pthread_self(), "hyrun-devices");
	struct epoll_event evs[32];
	for (;;) {
		int n = epoll_wait(l->epfd, evs, 32, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		bool stop = false;
		for (int i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;
			if (!h) {
				stop = true;
				continue;
			}
			/* dead is only set under the lock, but a stale read merely skips or runs one
			 * callback of a handler deleted in this very batch; it is still allocated. */
			if (!__atomic_load_n(&h->dead, __ATOMIC_ACQUIRE))
				h->cb(h->opaque, evs[i].events);
		}
		free_dead(l);
		if (stop)
			break;
	}
	return NULL;
}

int event_loop_start(struct event_loop *l, struct hy_error *err)
{
	int rc = pthread_create(&l->thread, NULL, loop_thread, l);
	if (rc)
		return hy_error_errno(err, rc, "cannot start the device event loop");
	l->started = true;
	return 0;
}

void event_loop_stop(struct event_loop *l)
{
	if (!l || !l->started)
		return;
	uint64_t one = 1;
	if (write(l->stop_fd, &one, sizeof(one)) < 0) {
		/* cannot happen for a fresh eventfd; the join below would then hang, so cancel */
		pthread_cancel(l->thread);
	}
	pthread_join(l->thread, NULL);
	l->started = false;
}

void event_loop_destroy(struct event_loop *l)
{
	if (!l)
		return;
	event_loop_stop(l);
	for (struct handler *h = l->live; h;) {
		struct handler *next = h->next;
		free(h);
		h = next;
	}
	l->live = NULL;
	free_dead(l);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	free(l);
}
