/* Host file descriptors a device reads or writes from the event-loop thread without ever blocking
 * it: each is a private copy (own open file description) made non-blocking where the kind of file
 * allows it, so the caller's fd flags (often the VMM's own stdio) are never touched. */
#ifndef HYRUN_DEVICES_HOSTFD_H
#define HYRUN_DEVICES_HOSTFD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "runtime/error.h"

enum hostfd_kind {
	HOSTFD_FILE,     /* regular file or block device: never blocks for long, cannot be polled */
	HOSTFD_SOCKET,   /* per-call MSG_DONTWAIT */
	HOSTFD_NONBLOCK, /* pipe or tty reopened through /proc/self/fd with O_NONBLOCK */
	HOSTFD_BLOCKING, /* pollable but could not be made non-blocking: one bounded call per event */
};

struct hostfd {
	int fd;
	enum hostfd_kind kind;
	int orig; /* the caller's fd once ownership passed to us (closed with fd), else -1 */
};

/* Makes the private copy of fd for reading (write=false) or writing. */
int hostfd_open(struct hostfd *h, int fd, bool write, struct hy_error *err);
void hostfd_close(struct hostfd *h);
static inline bool hostfd_pollable(const struct hostfd *h)
{
	return h->kind != HOSTFD_FILE;
}

/* readv/writev that return -EAGAIN instead of blocking, and -EPIPE instead of raising SIGPIPE. */
ssize_t hostfd_readv(const struct hostfd *h, const struct iovec *iov, unsigned n);
ssize_t hostfd_writev(const struct hostfd *h, const struct iovec *iov, unsigned n);

#endif
