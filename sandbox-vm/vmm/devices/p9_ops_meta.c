/* Namespace and attribute changes: setattr, mkdir, symlink, mknod, link, rename(at),
 * unlinkat, remove. Every entry is addressed as (directory descriptor, one checked name). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

static int truncate_node(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
	struct p9_node *n = f->node;
	if (S_ISDIR(n->type))
		return -EISDIR;
	if (!S_ISREG(n->type))
		return -EINVAL;
	if (size > INT64_MAX)
		return -EINVAL;
	if (s->max_file_size && size > s->max_file_size)
		return -EFBIG;
	if (f->open_fd >= 0 && (f->open_flags & O_ACCMODE) != O_RDONLY)
		return ftruncate(f->open_fd, (off_t)size) < 0 ? -errno : 0;
	int fd = p9_node_reopen(s, n, O_WRONLY);
	if (fd < 0)
		return fd;
	int rc = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int p9_op_setattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint32_t valid = p9_get32(r);
	uint32_t mode = p9_get32(r);
	uint32_t uid = p9_get32(r);
	uint32_t gid = p9_get32(r);
	uint64_t size = p9_get64(r);
	uint64_t atime_sec = p9_get64(r), atime_nsec = p9_get64(r);
	uint64_t mtime_sec = p9_get64(r), mtime_nsec = p9_get64(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (f->xattr)
		return -EBADF;
	if (!valid)
		return 0;
	if (s->readonly)
		return -EROFS;
	struct p9_node *n = f->node;
	char pname[16];
	p9_node_procname(n, pname);

	/* Everything is validated before anything changes. */
	if ((valid & P9_SETATTR_MODE) && S_ISLNK(n->type))
		return -EOPNOTSUPP;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	if (valid & P9_SETATTR_ATIME) {
		if (!(valid & P9_SETATTR_ATIME_SET))
			ts[0].tv_nsec = UTIME_NOW;
		else if (atime_nsec >= 1000000000 || atime_sec > INT64_MAX)
			return -EINVAL;
		else
			ts[0] = (struct timespec){ (time_t)atime_sec, (long)atime_nsec };
	}
	if (valid & P9_SETATTR_MTIME) {
		if (!(valid & P9_SETATTR_MTIME_SET))
			ts[1].tv_nsec = UTIME_NOW;
		else if (mtime_nsec >= 1000000000 || mtime_sec > INT64_MAX)
			return -EINVAL;
		else
			ts[1] = (struct timespec){ (time_t)mtime_sec, (long)mtime_nsec };
	}
	/* Order matters: truncation and chown clear set-id bits and truncation sets mtime, so
	 * size, then owner, then mode, then times. */
	if (valid & P9_SETATTR_SIZE) {
		int rc2 = truncate_node(s, f, size);
		if (rc2 < 0)
			return rc2;
	}
	if (valid & (P9_SETATTR_UID | P9_SETATTR_GID)) {
		uid_t u = (valid & P9_SETATTR_UID) ? (uid_t)uid : (uid_t)-1;
		gid_t g = (valid & P9_SETATTR_GID) ? (gid_t)gid : (gid_t)-1;
		if (fchownat(n->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if ((valid & P9_SETATTR_MODE) && fchmodat(s->proc_fd, pname, mode & 07777, 0) < 0)
		return -errno;
	/* Through the /proc magic link: it names this inode (a symlink itself, if it is one),
	 * never what a symlink points to. */
	if ((valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) &&
	    utimensat(s->proc_fd, pname, ts, 0) < 0)
		return -errno;
	return 0;
}

/* After mkdirat/symlinkat/mknodat: takes the new entry into the node tree, sets its owner and
 * mode, and replies with its qid; undoes the creation on failure. */
static int finish_create(struct p9_server *s, struct p9_fid *dirfid, const char *name,
			 uint32_t gid, mode_t mode, bool chmod_it, struct p9_wr *w)
{
	struct p9_node *dir = dirfid->node;
	int fd = p9_open_beneath(dir->fd, name, O_PATH, 0);
	struct p9_node *n = NULL;
	int rc = fd < 0 ? fd : p9_node_adopt(s, dir, name, fd, &n);
	if (rc == 0)
		rc = p9_apply_owner(s, n, dirfid->uid, gid, mode, chmod_it);
	if (rc < 0) {
		unlinkat(dir->fd, name, n && S_ISDIR(n->type) ? AT_REMOVEDIR : 0);
		if (n) {
			p9_node_unlinked(s, dir, name);
			p9_node_put(s, n);
		}
		return rc;
	}
	struct p9_qid q;
	p9_node_qid(s, n, NULL, &q);
	p9_putqid(w, &q);
	/* The guest holds no fid on it yet; the next walk finds it again. */
	p9_node_put(s, n);
	return 0;
}

int p9_op_mkdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t dfid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	uint32_t mode = p9_get32(r);
	uint32_t gid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc;
	struct p9_fid *d;
	if ((rc = p9_need_dir(s, dfid, &d)) < 0 || (rc = p9_may_create(s)) < 0)
		return rc;
	if (mkdirat(d->node->fd, name, mode & 07777) < 0)
		return -errno;
	return finish_create(s, d, name, gid, mode, true, w);
}

int p9_op_symlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t dfid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	char *target = malloc(PATH_MAX);
	if (!target)
		return -ENOMEM;
	int trc = p9_getstr_copy(r, target, PATH_MAX);
	uint32_t gid = p9_get32(r);
	if (r->bad)
		rc = -EPROTO;
	else if (rc == 0)
		rc = trc;
	if (rc == 0 && !target[0])
		rc = -ENOENT;
	struct p9_fid *d;
	if (rc == 0 && (rc = p9_need_dir(s, dfid, &d)) == 0 && (rc = p9_may_create(s)) == 0) {
		/* The target is stored as text; the host never resolves it. */
		if (symlinkat(target, d->node->fd, name) < 0)
			rc = -errno;
		else
			rc = finish_create(s, d, name, gid, 0, false, w);
	}
	free(target);
	return rc;
}

int p9_op_mknod(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t dfid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	uint32_t mode = p9_get32(r);
	p9_get32(r); /* major */
	p9_get32(r); /* minor */
	uint32_t gid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc;
	mode_t type = mode & S_IFMT;
	if (type == 0)
		type = S_IFREG;
	/* A device node in the shared directory would give whoever can open it on the host
	 * access to host hardware: refused, like an unprivileged mknod. */
	if (type == S_IFCHR || type == S_IFBLK)
		return -EPERM;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	struct p9_fid *d;
	if ((rc = p9_need_dir(s, dfid, &d)) < 0 || (rc = p9_may_create(s)) < 0)
		return rc;
	if (mknodat(d->node->fd, name, type | (mode & 07777), 0) < 0)
		return -errno;
	return finish_create(s, d, name, gid, mode, true, w);
}

int p9_op_link(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t dfid = p9_get32(r);
	uint32_t fid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc;
	struct p9_fid *d, *f;
	if ((rc = p9_need_dir(s, dfid, &d)) < 0 || (rc = p9_need_fid(s, fid, &f)) < 0)
		return rc;
	if (S_ISDIR(f->node->type))
		return -EPERM;
	if ((rc = p9_may_create(s)) < 0)
		return rc;
	if (linkat(f->node->fd, "", d->node->fd, name, AT_EMPTY_PATH) == 0)
		return 0;
	rc = -errno;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc form does not. Not for symlinks,
	 * so that nothing but this very inode can ever be linked. */
	if ((rc == -ENOENT || rc == -EPERM) && !S_ISLNK(f->node->type)) {
		char pname[16];
		p9_node_procname(f->node, pname);
		if (linkat(s->proc_fd, pname, d->node->fd, name, AT_SYMLINK_FOLLOW) < 0)
			return -errno;
		return 0;
	}
	return rc;
}

static int do_rename(struct p9_server *s, struct p9_node *odir, const char *oname,
		     struct p9_node *ndir, const char *nname)
{
	if (s->readonly)
		return -EROFS;
	if (renameat2(odir->fd, oname, ndir->fd, nname, 0) < 0)
		return -errno;
	/* oname may be the node's own name, which the tree update frees. */
	char *copy = strdup(oname);
	p9_node_ref(odir);
	if (copy)
		p9_node_renamed(s, odir, copy, ndir, nname);
	else
		p9_node_unlinked(s, odir, oname);
	p9_node_put(s, odir);
	free(copy);
	return 0;
}

int p9_op_rename(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint32_t dfid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc;
	struct p9_fid *f, *d;
	if ((rc = p9_need_fid(s, fid, &f)) < 0 || (rc = p9_need_dir(s, dfid, &d)) < 0)
		return rc;
	if ((rc = p9_node_check_entry(s, f->node)) < 0)
		return rc;
	return do_rename(s, f->node->parent, f->node->name, d->node, name);
}

int p9_op_renameat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t ofid = p9_get32(r);
	char oname[P9_NAME_MAX + 1], nname[P9_NAME_MAX + 1];
	int rc1 = p9_getname(r, oname);
	uint32_t nfid = p9_get32(r);
	int rc2 = p9_getname(r, nname);
	if (r->bad)
		return -EPROTO;
	if (rc1 < 0 || rc2 < 0)
		return rc1 < 0 ? rc1 : rc2;
	struct p9_fid *o, *n;
	int rc;
	if ((rc = p9_need_dir(s, ofid, &o)) < 0 || (rc = p9_need_dir(s, nfid, &n)) < 0)
		return rc;
	return do_rename(s, o->node, oname, n->node, nname);
}

int p9_op_unlinkat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t dfid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getname(r, name);
	uint32_t flags = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc;
	struct p9_fid *d;
	if ((rc = p9_need_dir(s, dfid, &d)) < 0)
		return rc;
	if (s->readonly)
		return -EROFS;
	if (unlinkat(d->node->fd, name, (flags & P9_DOTL_AT_REMOVEDIR) ? AT_REMOVEDIR : 0) < 0)
		return -errno;
	p9_node_unlinked(s, d->node, name);
	return 0;
}

int p9_op_remove(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	struct p9_node *n = f->node;
	if (s->readonly)
		rc = -EROFS;
	else if ((rc = p9_node_check_entry(s, n)) == 0) {
		struct p9_node *dir = p9_node_ref(n->parent);
		char *name = strdup(n->name);
		if (!name)
			rc = -ENOMEM;
		else if (unlinkat(dir->fd, name, S_ISDIR(n->type) ? AT_REMOVEDIR : 0) < 0)
			rc = -errno;
		else
			p9_node_unlinked(s, dir, name);
		free(name);
		p9_node_put(s, dir);
	}
	/* Tremove clunks the fid whether or not the removal worked. */
	p9_fid_del(s, f);
	return rc;
}
