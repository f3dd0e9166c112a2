/* Session and lookup requests: version, auth, attach, flush, walk, clunk, getattr, statfs,
 * readlink; and helpers the other handlers share. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

int p9_need_fid(struct p9_server *s, uint32_t id, struct p9_fid **out)
{
	struct p9_fid *f = p9_fid_get(s, id);
	if (!f)
		return -EBADF;
	*out = f;
	return 0;
}

int p9_need_dir(struct p9_server *s, uint32_t id, struct p9_fid **out)
{
	int rc = p9_need_fid(s, id, out);
	if (rc < 0)
		return rc;
	if ((*out)->xattr)
		return -EBADF;
	if (!S_ISDIR((*out)->node->type))
		return -ENOTDIR;
	return 0;
}

int p9_may_create(struct p9_server *s)
{
	if (s->readonly)
		return -EROFS;
	if (s->max_creates && s->n_creates >= s->max_creates)
		return -ENOSPC;
	s->n_creates++;
	return 0;
}

int p9_apply_owner(struct p9_server *s, struct p9_node *n, uint32_t uid, uint32_t gid,
		   mode_t mode, bool chmod_it)
{
	/* EPERM/EINVAL mean the id is not mapped in the VMM's user namespace: the entry then
	 * keeps the VMM's owner, which is the safe direction. */
	if (fchownat(n->fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != EPERM && errno != EINVAL)
		return -errno;
	if (chmod_it) {
		/* After chown, which clears set-id bits; through /proc because fchmod refuses
		 * O_PATH descriptors. */
		char name[16];
		p9_node_procname(n, name);
		if (fchmodat(s->proc_fd, name, mode & 07777, 0) < 0)
			return -errno;
	}
	return 0;
}

int p9_op_version(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t msize = p9_get32(r);
	struct p9_str version = p9_getstr(r);
	if (r->bad)
		return -EPROTO;
	if (msize < P9_MSIZE_MIN)
		return -EINVAL;
	/* A new version starts a new session: every fid of the old one is gone. */
	p9_fid_del_all(s);
	if (msize > P9_MSIZE_MAX)
		msize = P9_MSIZE_MAX;
	static const char dotl[] = "9P2000.L";
	bool ok = version.len == sizeof(dotl) - 1 && !memcmp(version.s, dotl, version.len);
	s->msize = ok ? msize : 0;
	p9_put32(w, msize);
	if (ok)
		p9_putstr(w, dotl, sizeof(dotl) - 1);
	else
		p9_putstr(w, "unknown", 7);
	return 0;
}

int p9_op_auth(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	return -EOPNOTSUPP; /* no authentication: the transport is private to one guest */
}

int p9_op_attach(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	p9_get32(r); /* afid: no auth */
	p9_getstr(r); /* uname */
	p9_getstr(r); /* aname: only one tree is exported */
	uint32_t n_uname = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	uint32_t uid = n_uname == P9_NOFID ? 0 : n_uname;
	int rc = p9_fid_add(s, fid, s->root, uid, NULL);
	if (rc < 0)
		return rc;
	struct p9_qid q;
	p9_node_qid(s, s->root, NULL, &q);
	p9_putqid(w, &q);
	return 0;
}

int p9_op_flush(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	p9_get16(r); /* oldtag: requests complete before the next is read, nothing to cancel */
	return r->bad ? -EPROTO : 0;
}

int p9_op_walk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	uint32_t newfid = p9_get32(r);
	uint16_t nwname = p9_get16(r);
	if (r->bad)
		return -EPROTO;
	if (nwname > P9_MAXWELEM)
		return -EINVAL;
	char names[P9_MAXWELEM][P9_NAME_MAX + 1];
	for (unsigned i = 0; i < nwname; i++) {
		int rc = p9_getstr_copy(r, names[i], sizeof(names[i]));
		if (rc < 0)
			return rc;
		if (!names[i][0] || strchr(names[i], '/'))
			return -EINVAL;
	}
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (f->xattr)
		return -EBADF;
	if (newfid != fid && p9_fid_get(s, newfid))
		return -EEXIST;
	if (newfid == fid && f->open_fd >= 0)
		return -EBUSY;

	struct p9_node *cur = p9_node_ref(f->node);
	struct p9_qid qids[P9_MAXWELEM];
	unsigned walked = 0;
	for (; walked < nwname; walked++) {
		struct p9_node *next;
		rc = p9_node_walk(s, cur, names[walked], &next);
		if (rc < 0)
			break;
		p9_node_put(s, cur);
		cur = next;
		p9_node_qid(s, cur, NULL, &qids[walked]);
	}
	if (walked == 0 && nwname > 0) {
		p9_node_put(s, cur);
		return rc;
	}
	if (walked == nwname) {
		if (newfid == fid) {
			p9_node_put(s, f->node);
			f->node = p9_node_ref(cur);
		} else {
			rc = p9_fid_add(s, newfid, cur, f->uid, NULL);
			if (rc < 0) {
				p9_node_put(s, cur);
				return rc;
			}
		}
	}
	/* A partial walk reports how far it got and leaves newfid unassigned. */
	p9_node_put(s, cur);
	p9_put16(w, (uint16_t)walked);
	for (unsigned i = 0; i < walked; i++)
		p9_putqid(w, &qids[i]);
	return 0;
}

int p9_op_clunk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	rc = 0;
	if (f->xattr && f->xattr->create)
		rc = p9_xattr_commit(s, f);
	p9_fid_del(s, f);
	return rc;
}

int p9_op_getattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	p9_get64(r); /* request_mask: the basic set is always cheap to return */
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	struct stat st;
	rc = p9_node_stat(f->node, &st);
	if (rc < 0)
		return rc;
	struct p9_qid q;
	p9_stat_qid(s, &st, &q);
	p9_put64(w, P9_GETATTR_BASIC);
	p9_putqid(w, &q);
	p9_put32(w, st.st_mode);
	p9_put32(w, st.st_uid);
	p9_put32(w, st.st_gid);
	p9_put64(w, st.st_nlink);
	p9_put64(w, st.st_rdev);
	p9_put64(w, (uint64_t)st.st_size);
	p9_put64(w, (uint64_t)st.st_blksize);
	p9_put64(w, (uint64_t)st.st_blocks);
	p9_put64(w, (uint64_t)st.st_atim.tv_sec);
	p9_put64(w, (uint64_t)st.st_atim.tv_nsec);
	p9_put64(w, (uint64_t)st.st_mtim.tv_sec);
	p9_put64(w, (uint64_t)st.st_mtim.tv_nsec);
	p9_put64(w, (uint64_t)st.st_ctim.tv_sec);
	p9_put64(w, (uint64_t)st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++)
		p9_put64(w, 0); /* btime sec/nsec, gen, data_version: not in the basic set */
	return 0;
}

int p9_op_statfs(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	struct statfs sf;
	if (fstatfs(f->node->fd, &sf) < 0)
		return -errno;
	uint64_t fsid = (uint64_t)(uint32_t)sf.f_fsid.__val[0] |
			(uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32;
	p9_put32(w, (uint32_t)sf.f_type);
	p9_put32(w, (uint32_t)sf.f_bsize);
	p9_put64(w, sf.f_blocks);
	p9_put64(w, sf.f_bfree);
	p9_put64(w, sf.f_bavail);
	p9_put64(w, sf.f_files);
	p9_put64(w, sf.f_ffree);
	p9_put64(w, fsid);
	p9_put32(w, (uint32_t)sf.f_namelen);
	return 0;
}

int p9_op_readlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w)
{
	uint32_t fid = p9_get32(r);
	if (r->bad)
		return -EPROTO;
	struct p9_fid *f;
	int rc = p9_need_fid(s, fid, &f);
	if (rc < 0)
		return rc;
	if (!S_ISLNK(f->node->type))
		return -EINVAL;
	/* The target is only text for the guest to resolve in its own namespace. */
	char buf[PATH_MAX];
	ssize_t n = readlinkat(f->node->fd, "", buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	p9_putstr(w, buf, (size_t)n);
	return 0;
}
