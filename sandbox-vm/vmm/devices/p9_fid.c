/* The node tree (one O_PATH descriptor per file the guest holds) and the fid table. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

static uint32_t key_hash(const struct p9_node *dir, const char *name)
{
	uint64_t h = (uint64_t)(uintptr_t)dir * 0x9e3779b97f4a7c15ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (uint32_t)(h ^ h >> 32);
}

static void hash_insert(struct p9_server *s, struct p9_node *n)
{
	struct p9_node **b = &s->nodes[n->hash % P9_NODE_BUCKETS];
	n->hnext = *b;
	*b = n;
}

static void hash_remove(struct p9_server *s, struct p9_node *n)
{
	for (struct p9_node **pp = &s->nodes[n->hash % P9_NODE_BUCKETS]; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			n->hnext = NULL;
			return;
		}
	}
}

static size_t max_nodes(const struct p9_server *s)
{
	/* Each fid pins its node and the node's ancestors; twice the fids plus slack is plenty
	 * for a real client and bounds the descriptors a hostile one can pin. */
	return (size_t)s->max_fids * 2 + 1024;
}

int p9_node_stat(const struct p9_node *n, struct stat *st)
{
	if (fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

void p9_stat_qid(const struct p9_server *s, const struct stat *st, struct p9_qid *q)
{
	q->type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
	q->version = 0;
	q->path = st->st_ino;
	/* Inode numbers are only unique per device: fold other devices (submounts) in. */
	if (st->st_dev != s->root_dev)
		q->path ^= (uint64_t)st->st_dev * 0x9e3779b97f4a7c15ULL;
}

void p9_node_qid(const struct p9_server *s, const struct p9_node *n, const struct stat *st,
		 struct p9_qid *q)
{
	struct stat tmp;
	if (!st) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.st_mode = n->type;
		tmp.st_ino = n->ino;
		tmp.st_dev = n->dev;
		st = &tmp;
	}
	p9_stat_qid(s, st, q);
}

void p9_node_procname(const struct p9_node *n, char buf[16])
{
	snprintf(buf, 16, "%d", n->fd);
}

void p9_node_procpath(const struct p9_node *n, char buf[40])
{
	snprintf(buf, 40, "/proc/self/fd/%d", n->fd);
}

static struct p9_node *node_alloc(struct p9_server *s, int fd, const struct stat *st)
{
	struct p9_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->fd = fd;
	n->refs = 1;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->type = st->st_mode & S_IFMT;
	s->n_nodes++;
	return n;
}

int p9_node_new_root(struct p9_server *s, int fd, struct p9_node **out)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	struct p9_node *n = node_alloc(s, fd, &st);
	if (!n)
		return -ENOMEM;
	*out = n;
	return 0;
}

struct p9_node *p9_node_ref(struct p9_node *n)
{
	n->refs++;
	return n;
}

static void detach(struct p9_server *s, struct p9_node *n)
{
	if (!n->parent)
		return;
	hash_remove(s, n);
	struct p9_node *parent = n->parent;
	n->parent = NULL;
	free(n->name);
	n->name = NULL;
	p9_node_put(s, parent);
}

void p9_node_put(struct p9_server *s, struct p9_node *n)
{
	/* Iterative so that a deep chain of last references does not recurse. */
	while (n && --n->refs == 0) {
		struct p9_node *parent = n->parent;
		if (parent)
			hash_remove(s, n);
		close(n->fd);
		free(n->name);
		free(n);
		s->n_nodes--;
		n = parent;
	}
}

int p9_open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static bool same_inode(const struct p9_node *n, const struct stat *st)
{
	return n->dev == st->st_dev && n->ino == st->st_ino;
}

static int attach_child(struct p9_server *s, struct p9_node *dir, const char *name, int fd,
			const struct stat *st, struct p9_node **out)
{
	if (s->n_nodes >= max_nodes(s)) {
		close(fd);
		return -ENFILE;
	}
	struct p9_node *n = node_alloc(s, fd, st);
	char *copy = strdup(name);
	if (!n || !copy) {
		if (n) {
			s->n_nodes--;
			free(n);
		}
		free(copy);
		close(fd);
		return -ENOMEM;
	}
	n->name = copy;
	n->parent = p9_node_ref(dir);
	n->hash = key_hash(dir, name);
	hash_insert(s, n);
	*out = n;
	return 0;
}

/* Drops nodes keyed (dir, name) that no longer are the file at that entry (host or guest
 * changed it), so that lookups never hand out a stale node. */
static void resync(struct p9_server *s, struct p9_node *dir, const char *name)
{
	struct stat st;
	bool exists = fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	uint32_t h = key_hash(dir, name);
restart:
	for (struct p9_node *n = s->nodes[h % P9_NODE_BUCKETS]; n; n = n->hnext) {
		if (n->hash == h && n->parent == dir && !strcmp(n->name, name) &&
		    (!exists || !same_inode(n, &st))) {
			p9_node_ref(n);
			detach(s, n);
			p9_node_put(s, n);
			goto restart;
		}
	}
}

int p9_node_walk(struct p9_server *s, struct p9_node *dir, const char *name, struct p9_node **out)
{
	if (!S_ISDIR(dir->type))
		return -ENOTDIR;
	if (!strcmp(name, ".")) {
		*out = p9_node_ref(dir);
		return 0;
	}
	if (!strcmp(name, "..")) {
		/* The tree of walks is the only way up: the root is its own parent. */
		if (dir == s->root) {
			*out = p9_node_ref(dir);
			return 0;
		}
		if (!dir->parent)
			return -ENOENT;
		*out = p9_node_ref(dir->parent);
		return 0;
	}
	if (!name[0] || strchr(name, '/'))
		return -EINVAL;

	resync(s, dir, name);
	uint32_t h = key_hash(dir, name);
	for (struct p9_node *n = s->nodes[h % P9_NODE_BUCKETS]; n; n = n->hnext) {
		if (n->hash == h && n->parent == dir && !strcmp(n->name, name)) {
			*out = p9_node_ref(n);
			return 0;
		}
	}
	int fd = p9_open_beneath(dir->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return attach_child(s, dir, name, fd, &st, out);
}

int p9_node_adopt(struct p9_server *s, struct p9_node *dir, const char *name, int fd,
		  struct p9_node **out)
{
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	resync(s, dir, name);
	return attach_child(s, dir, name, fd, &st, out);
}

void p9_node_renamed(struct p9_server *s, struct p9_node *odir, const char *oname,
		     struct p9_node *ndir, const char *nname)
{
	if (odir == ndir && !strcmp(oname, nname)) {
		resync(s, odir, oname);
		return;
	}
	resync(s, ndir, nname);
	struct stat st;
	if (fstatat(ndir->fd, nname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		resync(s, odir, oname);
		return;
	}
	uint32_t h = key_hash(odir, oname);
	uint32_t nh = key_hash(ndir, nname);
restart:
	for (struct p9_node *n = s->nodes[h % P9_NODE_BUCKETS]; n; n = n->hnext) {
		if (n->hash == h && n->parent == odir && !strcmp(n->name, oname) &&
		    same_inode(n, &st)) {
			char *copy = strdup(nname);
			if (!copy) {
				p9_node_ref(n);
				detach(s, n);
				p9_node_put(s, n);
				goto restart;
			}
			hash_remove(s, n);
			free(n->name);
			n->name = copy;
			struct p9_node *old_parent = n->parent;
			n->parent = p9_node_ref(ndir);
			n->hash = nh;
			hash_insert(s, n);
			p9_node_put(s, old_parent);
			goto restart;
		}
	}
	resync(s, odir, oname);
}

void p9_node_unlinked(struct p9_server *s, struct p9_node *dir, const char *name)
{
	resync(s, dir, name);
}

int p9_node_check_entry(struct p9_server *s, struct p9_node *n)
{
	if (n == s->root)
		return -EBUSY;
	if (!n->parent)
		return -ENOENT;
	struct stat st;
	if (fstatat(n->parent->fd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	return same_inode(n, &st) ? 0 : -ESTALE;
}

int p9_node_reopen(struct p9_server *s, struct p9_node *n, int flags)
{
	/* Opening a device node or FIFO on the host side could reach host hardware or block the
	 * server; the guest kernel handles special files itself and never needs this. */
	if (!S_ISREG(n->type) && !S_ISDIR(n->type))
		return S_ISLNK(n->type) ? -ELOOP : -ENXIO;
	char name[16];
	p9_node_procname(n, name);
	int fd = openat(s->proc_fd, name, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC |
						  O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* ---- fids ---- */

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t id)
{
	for (struct p9_fid *f = s->fids[id % P9_FID_BUCKETS]; f; f = f->hnext)
		if (f->id == id)
			return f;
	return NULL;
}

int p9_fid_add(struct p9_server *s, uint32_t id, struct p9_node *node, uint32_t uid,
	       struct p9_fid **out)
{
	if (id == P9_NOFID)
		return -EINVAL;
	if (p9_fid_get(s, id))
		return -EEXIST;
	if (s->n_fids >= s->max_fids)
		return -EMFILE;
	struct p9_fid *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->id = id;
	f->node = p9_node_ref(node);
	f->uid = uid;
	f->open_fd = -1;
	f->hnext = s->fids[id % P9_FID_BUCKETS];
	s->fids[id % P9_FID_BUCKETS] = f;
	s->n_fids++;
	if (out)
		*out = f;
	return 0;
}

void p9_fid_close_open(struct p9_fid *f)
{
	if (f->open_fd >= 0)
		close(f->open_fd);
	f->open_fd = -1;
	f->open_flags = 0;
}

void p9_fid_del(struct p9_server *s, struct p9_fid *f)
{
	for (struct p9_fid **pp = &s->fids[f->id % P9_FID_BUCKETS]; *pp; pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	}
	p9_fid_close_open(f);
	p9_xattr_free(f->xattr);
	p9_node_put(s, f->node);
	free(f);
	s->n_fids--;
}

void p9_fid_del_all(struct p9_server *s)
{
	for (size_t b = 0; b < P9_FID_BUCKETS; b++)
		while (s->fids[b])
			p9_fid_del(s, s->fids[b]);
}
