/* Open files: lopen, lcreate, read, write, readdir, fsync, lock, getlock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

/* 9P2000.L open flags (Linux's generic values; spelled out so that the host's own numbering
 * never leaks into the protocol). */
#define P9_DOTL_ACCMODE 03
#define P9_DOTL_NOACCESS 03
#define P9_DOTL_TRUNC 01000
#define P9_DOTL_APPEND 02000
#define P9_DOTL_DSYNC 010000
#define P9_DOTL_DIRECTORY 0200000
#define P9_DOTL_SYNC 04000000

/* Only the flags that mean something for a server-side descriptor; O_CREAT, O_NONBLOCK,
 * O_DIRECT and friends are decided here, not by the guest. */
static int host_flags(uint32_t flags, int *out)
{
	switch (flags & P9_DOTL_ACCMODE) {
	case 0: *out = O_RDONLY; break;
	case 1: *out = O_WRONLY; break;
	case 2: *out = O_RDWR; break;
	default: return -EINVAL;
	}
	if (flags & P9_DOTL_TRUNC)
		*out |= O_TRUNC;
	if (flags & P9_DOTL_APPEND)
		*out |= O_APPEND;
	if (flags & P9_DOTL_DSYNC)
		*out |= O_DSYNC;
	if (flags & P9_DOTL_SYNC)
		*out |= O_SYNC;
	return 0;
}

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int open_fid(struct p9_server *s, uint32_t id, struct p9_fid **out)
{
	int rc = p9_need_fid(s, id, out);
	if (rc < 0)
		return rc;
	return (*out)->xattr || (*out)->open_fd < 0 ? -EBADF : 0;
}

int p9_op_lopen(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint32_t flags = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (f->xattr || f->open_fd >= 0)
		return -EBUSY;
	int hflags;
	if ((rc = host_flags(flags, &hflags)) < 0)
		return rc;
	struct p9_node *n = f->node;
	if (S_ISDIR(n->type)) {
		if (writes(hflags))
			return -EISDIR;
		hflags = O_RDONLY | O_DIRECTORY;
	} else if (flags & P9_DOTL_DIRECTORY) {
		return -ENOTDIR;
	} else if (writes(hflags) && s->readonly) {
		return -EROFS;
	}
	int fd = p9_node_reopen(s, n, hflags);
	if (fd < 0)
		return fd;
	f->open_fd = fd;
	f->open_flags = hflags;
	struct p9_qid q;
	p9_node_qid(s, n, NULL, &q);
	p9_putqid(w, &q);
	p9_put32(w, 0); /* iounit 0: the client uses msize */
	return 0;
}

int p9_op_lcreate(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	uint32_t flags = p9_get32(r);
	uint32_t mode = p9_get32(r);
	uint32_t gid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc;
	struct p9_fid *f;
	if ((rc = p9_need_dir(s, fid, &f)) < 0)
		return rc;
	if (f->open_fd >= 0)
		return -EBUSY;
	int hflags;
	if ((rc = host_flags(flags, &hflags)) < 0)
		return rc;
	if ((rc = p9_may_create(s)) < 0)
		return rc;
	struct p9_node *dir = f->node;
	/* Always a new regular file: opening an existing entry could be a FIFO or device node,
	 * which must never be opened on the host side. */
	int fd = p9_open_beneath(dir->fd, name, hflags | O_CREAT | O_EXCL, (mode_t)(mode & 07777));
	if (fd < 0)
		return fd;
	char pname[16];
	snprintf(pname, sizeof(pname), "%d", fd);
	int pfd = openat(s->proc_fd, pname, O_PATH | O_CLOEXEC);
	struct p9_node *n = NULL;
	if (pfd < 0)
		rc = -errno;
	else
		rc = p9_node_adopt(s, dir, name, pfd, &n);
	if (rc == 0)
		rc = p9_apply_owner(s, n, f->uid, gid, (mode_t)mode, true);
	if (rc < 0) {
		close(fd);
		unlinkat(dir->fd, name, 0);
		if (n) {
			p9_node_unlinked(s, dir, name);
			p9_node_put(s, n);
		}
		return rc;
	}
	p9_node_put(s, f->node);
	f->node = n; /* the adopted reference */
	f->open_fd = fd;
	f->open_flags = hflags;
	struct p9_qid q;
	p9_node_qid(s, n, NULL, &q);
	p9_putqid(w, &q);
	p9_put32(w, 0);
	return 0;
}

int p9_op_read(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint64_t off = p9_get64(r);
	uint32_t count = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	size_t room = p9_wr_room(w) >= 4 ? p9_wr_room(w) - 4 : 0;
	if (count > room)
		count = (uint32_t)room;
	if (f->xattr)
		return p9_xattr_read(f, off, count, w);
	if (f->open_fd < 0)
		return -EBADF;
	if (f->open_flags & O_DIRECTORY)
		return -EISDIR;
	if ((f->open_flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (off > INT64_MAX)
		return -EINVAL;
	size_t count_pos = w->pos;
	p9_put32(w, 0);
	uint8_t *data = p9_reserve(w, count);
	if (!data)
		return -EMSGSIZE;
	ssize_t n = pread(f->open_fd, data, count, (off_t)off);
	if (n < 0)
		return -errno;
	w->pos = count_pos;
	p9_put32(w, (uint32_t)n);
	w->pos += (size_t)n;
	return 0;
}

int p9_op_write(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint64_t off = p9_get64(r);
	uint32_t count = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	/* The data must really be in the message, whatever count claims. */
	if (count > r->len - r->pos)
		return -EPROTO;
	const uint8_t *data = r->p + r->pos;
	r->pos += count;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (f->xattr) {
		rc = p9_xattr_write(f, off, data, count);
		if (rc < 0)
			return rc;
		p9_put32(w, count);
		return 0;
	}
	if (f->open_fd < 0 || (f->open_flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (off > INT64_MAX || count > INT64_MAX - off)
		return -EINVAL;
	if (s->max_file_size && off + count > s->max_file_size) {
		if (off >= s->max_file_size)
			return -EFBIG;
		count = (uint32_t)(s->max_file_size - off);
	}
	ssize_t n = pwrite(f->open_fd, data, count, (off_t)off);
	if (n < 0)
		return -errno;
	p9_put32(w, (uint32_t)n);
	return 0;
}

static uint8_t dirent_qid_type(unsigned char d_type)
{
	return d_type == DT_DIR ? P9_QTDIR : d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

int p9_op_readdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint64_t off = p9_get64(r);
	uint32_t count = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = open_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (!(f->open_flags & O_DIRECTORY))
		return -ENOTDIR;
	size_t room = p9_wr_room(w) >= 4 ? p9_wr_room(w) - 4 : 0;
	if (count > room)
		count = (uint32_t)room;
	/* The offset is an opaque d_off the host returned earlier; the kernel validates it. */
	if (lseek(f->open_fd, (off_t)off, SEEK_SET) < 0)
		return -errno;
	size_t count_pos = w->pos;
	p9_put32(w, 0);
	size_t start = w->pos, limit = start + count;
	char buf[8192] __attribute__((aligned(8)));
	bool full = false;
	while (!full) {
		ssize_t n = getdents64(f->open_fd, buf, sizeof(buf));
		if (n < 0) {
			if (w->pos > start)
				break; /* return what we have; the next call reports the error */
			return -errno;
		}
		if (n == 0)
			break;
		for (ssize_t pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);
			size_t hdr = offsetof(struct dirent64, d_name);
			if (d->d_reclen <= hdr || d->d_reclen > n - pos)
				break;
			const char *end = memchr(d->d_name, 0, d->d_reclen - hdr);
			pos += d->d_reclen;
			if (!end)
				continue;
			size_t namelen = (size_t)(end - d->d_name);
			size_t need = P9_QID_SIZE + 8 + 1 + 2 + namelen;
			if (need > limit - w->pos) {
				full = true;
				break;
			}
			struct p9_qid q = { dirent_qid_type(d->d_type), 0, d->d_ino };
			/* The root's ".." would name a host directory outside the share. */
			if (f->node == s->root && !strcmp(d->d_name, ".."))
				q.path = s->root->ino;
			p9_putqid(w, &q);
			p9_put64(w, (uint64_t)d->d_off);
			p9_put8(w, d->d_type);
			p9_putstr(w, d->d_name, namelen);
		}
	}
	size_t end = w->pos;
	w->pos = count_pos;
	p9_put32(w, (uint32_t)(end - start));
	w->pos = end;
	return 0;
}

int p9_op_fsync(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	/* datasync[4] was added later; older clients omit it. */
	uint32_t datasync = r->len - r->pos >= 4 ? p9_get32(r) : 0;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (f->xattr)
		return -EBADF;
	int fd = f->open_fd;
	if (fd < 0 && (fd = p9_node_reopen(s, f->node, O_RDONLY)) < 0)
		return fd;
	rc = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
	if (fd != f->open_fd)
		close(fd);
	return rc;
}

/* Locks: the guest kernel already arbitrates POSIX locks among its own processes before it
 * sends Tlock, and per-fid host locks would make two opens by one guest process conflict with
 * each other, so (like QEMU) the server validates the request and grants it. */
static int parse_lock_common(struct p9_server *s, struct p9_rd *r, bool with_flags,
			     uint8_t *type, uint64_t *start, uint64_t *length, struct p9_str *client)
{
	uint32_t fid = p9_get32(r);
	*type = p9_get8(r);
	if (with_flags)
		p9_get32(r);
	*start = p9_get64(r);
	*length = p9_get64(r);
	p9_get32(r); /* proc_id */
	*client = p9_getstr(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = open_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (*type > P9_LOCK_TYPE_UNLCK || *start > INT64_MAX || *length > INT64_MAX)
		return -EINVAL;
	return 0;
}

int p9_op_lock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint8_t type;
	uint64_t start, length;
	struct p9_str client;
	int rc = parse_lock_common(s, r, true, &type, &start, &length, &client);
	if (rc < 0)
		return rc;
	p9_put8(w, P9_LOCK_SUCCESS);
	return 0;
}

int p9_op_getlock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint8_t type;
	uint64_t start, length;
	struct p9_str client;
	int rc = parse_lock_common(s, r, false, &type, &start, &length, &client);
	if (rc < 0)
		return rc;
	p9_put8(w, P9_LOCK_TYPE_UNLCK); /* no conflicting lock */
	p9_put64(w, start);
	p9_put64(w, length);
	p9_put32(w, 0);
	p9_putstr(w, client.s, client.len);
	return 0;
}
