/* Extended attributes. Txattrwalk makes a fid whose Tread returns a value or the name list;
 * Txattrcreate turns a fid into one that collects the value through Twrite and sets it on
 * Tclunk. Calls go through /proc/self/fd/N, which names the node's own inode (a symlink's, not
 * its target's), because the *xattr calls have no descriptor form that accepts O_PATH. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

#define P9_XATTR_SIZE_MAX 65536u

void p9_xattr_free(struct p9_xattr *x)
{
	if (x) {
		free(x->buf);
		free(x);
	}
}

int p9_op_xattrwalk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint32_t newfid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getstr_copy(r, name, sizeof(name));
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc == -ENAMETOOLONG ? -ERANGE : rc;
	struct p9_fid *f;
	if ((rc = p9_need_fid(s, fid, &f)) < 0)
		return rc;
	if (f->xattr)
		return -EBADF;
	if (p9_fid_get(s, newfid))
		return -EEXIST;
	struct p9_xattr *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	memcpy(x->name, name, sizeof(name));
	ssize_t n = 0;
	/* Symlinks carry no user-visible attributes; answering without a host call also keeps
	 * every symlink strictly untouched. */
	if (!S_ISLNK(f->node->type)) {
		x->buf = malloc(P9_XATTR_SIZE_MAX);
		if (!x->buf) {
			p9_xattr_free(x);
			return -ENOMEM;
		}
		char path[40];
		p9_node_procpath(f->node, path);
		n = name[0] ? getxattr(path, name, x->buf, P9_XATTR_SIZE_MAX)
			    : listxattr(path, (char *)x->buf, P9_XATTR_SIZE_MAX);
		if (n < 0) {
			rc = -errno;
			p9_xattr_free(x);
			return rc;
		}
	} else if (name[0]) {
		p9_xattr_free(x);
		return -ENODATA;
	}
	x->size = (size_t)n;
	struct p9_fid *nf;
	if ((rc = p9_fid_add(s, newfid, f->node, f->uid, &nf)) < 0) {
		p9_xattr_free(x);
		return rc;
	}
	nf->xattr = x;
	p9_put64(w, (uint64_t)n);
	return 0;
}

int p9_op_xattrcreate(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	char name[P9_NAME_MAX + 1];
	int rc = p9_getstr_copy(r, name, sizeof(name));
	uint64_t size = p9_get64(r);
	uint32_t flags = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	if (rc < 0)
		return rc == -ENAMETOOLONG ? -ERANGE : rc;
	struct p9_fid *f;
	if ((rc = p9_need_fid(s, fid, &f)) < 0)
		return rc;
	if (f->xattr || f->open_fd >= 0)
		return -EBADF;
	if (s->readonly)
		return -EROFS;
	/* security.* and trusted.* are interpreted by the host kernel (file capabilities, LSM
	 * labels, overlayfs metadata): only the user namespace is the guest's to write. */
	if (strncmp(name, "user.", 5) != 0 || !name[5])
		return -EOPNOTSUPP;
	if (S_ISLNK(f->node->type))
		return -EPERM;
	if (size > P9_XATTR_SIZE_MAX)
		return -E2BIG;
	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	struct p9_xattr *x = calloc(1, sizeof(*x));
	if (!x || !(x->buf = malloc(size ? size : 1))) {
		p9_xattr_free(x);
		return -ENOMEM;
	}
	memcpy(x->name, name, sizeof(name));
	x->size = (size_t)size;
	x->flags = flags;
	x->create = true;
	f->xattr = x;
	return 0;
}

int p9_xattr_read(struct p9_fid *f, uint64_t off, uint32_t count, struct p9_wr *w)
{
	struct p9_xattr *x = f->xattr;
	if (x->create)
		return -EBADF;
	size_t n = off >= x->size ? 0 : x->size - (size_t)off;
	if (n > count)
		n = count;
	p9_put32(w, (uint32_t)n);
	uint8_t *p = p9_reserve(w, n);
	if (!p)
		return -EMSGSIZE;
	if (n)
		memcpy(p, x->buf + off, n);
	return 0;
}

int p9_xattr_write(struct p9_fid *f, uint64_t off, const uint8_t *data, uint32_t count)
{
	struct p9_xattr *x = f->xattr;
	if (!x->create)
		return -EBADF;
	if (off != x->written || count > x->size - x->written)
		return -EINVAL;
	if (count)
		memcpy(x->buf + x->written, data, count);
	x->written += count;
	return 0;
}

int p9_xattr_commit(struct p9_server *s, struct p9_fid *f)
{
	struct p9_xattr *x = f->xattr;
	if (x->written != x->size)
		return -EINVAL;
	char path[40];
	p9_node_procpath(f->node, path);
	/* A zero-length create is how the Linux client removes an attribute. */
	int rc = x->size ? setxattr(path, x->name, x->buf, x->size, (int)x->flags)
			 : removexattr(path, x->name);
	return rc < 0 ? -errno : 0;
}
