/* Internals shared by the 9P server's files: wire codec (p9_wire.c), node and fid tables
 * (p9_fid.c), request handlers (p9_ops_*.c) and the dispatcher (p9_server.c). */
#ifndef HYRUN_P9_INTERNAL_H
#define HYRUN_P9_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sandbox-vm/vmm/devices/p9_server.h"

/* Message types (9P2000.L plus the 9P2000 ones it keeps). */
enum {
	P9_TLERROR = 6, P9_RLERROR,
	P9_TSTATFS = 8, P9_RSTATFS,
	P9_TLOPEN = 12, P9_RLOPEN,
	P9_TLCREATE = 14, P9_RLCREATE,
	P9_TSYMLINK = 16, P9_RSYMLINK,
	P9_TMKNOD = 18, P9_RMKNOD,
	P9_TRENAME = 20, P9_RRENAME,
	P9_TREADLINK = 22, P9_RREADLINK,
	P9_TGETATTR = 24, P9_RGETATTR,
	P9_TSETATTR = 26, P9_RSETATTR,
	P9_TXATTRWALK = 30, P9_RXATTRWALK,
	P9_TXATTRCREATE = 32, P9_RXATTRCREATE,
	P9_TREADDIR = 40, P9_RREADDIR,
	P9_TFSYNC = 50, P9_RFSYNC,
	P9_TLOCK = 52, P9_RLOCK,
	P9_TGETLOCK = 54, P9_RGETLOCK,
	P9_TLINK = 70, P9_RLINK,
	P9_TMKDIR = 72, P9_RMKDIR,
	P9_TRENAMEAT = 74, P9_RRENAMEAT,
	P9_TUNLINKAT = 76, P9_RUNLINKAT,
	P9_TVERSION = 100, P9_RVERSION,
	P9_TAUTH = 102, P9_RAUTH,
	P9_TATTACH = 104, P9_RATTACH,
	P9_TFLUSH = 108, P9_RFLUSH,
	P9_TWALK = 110, P9_RWALK,
	P9_TREAD = 116, P9_RREAD,
	P9_TWRITE = 118, P9_RWRITE,
	P9_TCLUNK = 120, P9_RCLUNK,
	P9_TREMOVE = 122, P9_RREMOVE,
};

#define P9_NOTAG 0xffffu
#define P9_NOFID 0xffffffffu
#define P9_MAXWELEM 16
#define P9_NAME_MAX 255
#define P9_QID_SIZE 13

#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* Tgetattr / Tsetattr masks */
#define P9_GETATTR_BASIC 0x000007ffULL
#define P9_SETATTR_MODE 0x001
#define P9_SETATTR_UID 0x002
#define P9_SETATTR_GID 0x004
#define P9_SETATTR_SIZE 0x008
#define P9_SETATTR_ATIME 0x010
#define P9_SETATTR_MTIME 0x020
#define P9_SETATTR_CTIME 0x040
#define P9_SETATTR_ATIME_SET 0x080
#define P9_SETATTR_MTIME_SET 0x100

#define P9_DOTL_AT_REMOVEDIR 0x200

#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_SUCCESS 0
#define P9_LOCK_BLOCKED 1
#define P9_LOCK_ERROR 2

/* ---- wire codec: every read is bounds-checked; the first failure sticks ---- */

struct p9_rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad; /* a field ran past the end of the message */
};

struct p9_wr {
	uint8_t *p;
	size_t cap, pos;
	bool overflow; /* a field did not fit in the response */
};

struct p9_str {
	const char *s; /* points into the message; not NUL-terminated */
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

uint8_t p9_get8(struct p9_rd *r);
uint16_t p9_get16(struct p9_rd *r);
uint32_t p9_get32(struct p9_rd *r);
uint64_t p9_get64(struct p9_rd *r);
struct p9_str p9_getstr(struct p9_rd *r);
/* Copies a string field into buf (NUL-terminated). -EPROTO on a truncated message, -EINVAL on an
 * embedded NUL, -ENAMETOOLONG when it does not fit in cap-1 bytes. */
int p9_getstr_copy(struct p9_rd *r, char *buf, size_t cap);
/* Like p9_getstr_copy for one path component: also refuses "", ".", ".." and names with '/'. */
int p9_getname(struct p9_rd *r, char name[P9_NAME_MAX + 1]);

void p9_put8(struct p9_wr *w, uint8_t v);
void p9_put16(struct p9_wr *w, uint16_t v);
void p9_put32(struct p9_wr *w, uint32_t v);
void p9_put64(struct p9_wr *w, uint64_t v);
void p9_putstr(struct p9_wr *w, const char *s, size_t len);
void p9_putqid(struct p9_wr *w, const struct p9_qid *q);
/* Reserves n bytes and returns where they start (NULL on overflow), for data read in place. */
uint8_t *p9_reserve(struct p9_wr *w, size_t n);
static inline size_t p9_wr_room(const struct p9_wr *w)
{
	return w->overflow ? 0 : w->cap - w->pos;
}
/* Writes size[4] type[1] tag[2] at the start of the buffer for a body of w->pos - 7 bytes. */
void p9_finish(struct p9_wr *w, uint8_t type, uint16_t tag);

/* ---- nodes: one O_PATH descriptor per file the guest holds a fid on ----
 * Nodes form a tree mirroring the walks: each node keeps a reference on the node it was walked
 * from and its name there, so ".." never leaves the tree (the root's ".." is the root) and rename
 * or remove can address the entry by (parent fd, name) after checking it is still the same inode.
 * Nodes are shared: walking the same name from the same parent reuses the node. */
struct p9_node {
	int fd;                 /* O_PATH | O_NOFOLLOW */
	unsigned refs;
	struct p9_node *parent; /* NULL for the root and for detached (removed) nodes */
	char *name;             /* entry name in parent; NULL when detached */
	dev_t dev;
	ino_t ino;
	mode_t type;            /* S_IFMT bits */
	uint32_t hash;
	struct p9_node *hnext;
};

struct p9_xattr {
	char name[P9_NAME_MAX + 1];
	uint8_t *buf;
	size_t size;     /* bytes valid (walk) or expected (create) */
	size_t written;  /* bytes received so far (create) */
	uint32_t flags;
	bool create;
};

struct p9_fid {
	uint32_t id;
	struct p9_fid *hnext;
	struct p9_node *node;
	uint32_t uid;      /* attach n_uname: owner of what this fid creates */
	int open_fd;       /* -1 until Tlopen/Tlcreate */
	int open_flags;    /* host flags the file was opened with */
	struct p9_xattr *xattr; /* set for fids made by Txattrwalk/Txattrcreate */
};

#define P9_FID_BUCKETS 1024u
#define P9_NODE_BUCKETS 4096u

struct p9_server {
	struct p9_node *root;
	int proc_fd; /* /proc/self/fd: reopens O_PATH descriptors and addresses them by path */
	bool readonly;
	uint32_t msize; /* 0 until Tversion */
	uint32_t max_fids, n_fids;
	uint64_t max_creates, n_creates, max_file_size;
	dev_t root_dev;
	struct p9_fid *fids[P9_FID_BUCKETS];
	struct p9_node *nodes[P9_NODE_BUCKETS];
	size_t n_nodes;
};

/* p9_fid.c */
/* openat2(dirfd, name) confined beneath dirfd, never following a symlink; returns fd or -errno. */
int p9_open_beneath(int dirfd, const char *name, int flags, mode_t mode);
int p9_node_new_root(struct p9_server *s, int fd, struct p9_node **out);
/* Looks name up beneath dir ("." and ".." handled; ".." of the root is the root). Takes a
 * reference on the result. */
int p9_node_walk(struct p9_server *s, struct p9_node *dir, const char *name, struct p9_node **out);
/* Wraps fd (already opened beneath dir as `name`) into a node; takes ownership of fd. */
int p9_node_adopt(struct p9_server *s, struct p9_node *dir, const char *name, int fd,
		  struct p9_node **out);
struct p9_node *p9_node_ref(struct p9_node *n);
void p9_node_put(struct p9_server *s, struct p9_node *n);
/* After a successful rename/unlink on the host, keeps the tree in step. */
void p9_node_renamed(struct p9_server *s, struct p9_node *odir, const char *oname,
		     struct p9_node *ndir, const char *nname);
void p9_node_unlinked(struct p9_server *s, struct p9_node *dir, const char *name);
/* 0 when node is still the entry (parent, name), -ESTALE/-ENOENT/-EBUSY otherwise. */
int p9_node_check_entry(struct p9_server *s, struct p9_node *n);
int p9_node_stat(const struct p9_node *n, struct stat *st);
void p9_node_qid(const struct p9_server *s, const struct p9_node *n, const struct stat *st,
		 struct p9_qid *q);
void p9_stat_qid(const struct p9_server *s, const struct stat *st, struct p9_qid *q);
/* "N" for the node's descriptor relative to proc_fd, and "/proc/self/fd/N" for calls with no *at
 * form (xattrs). */
void p9_node_procname(const struct p9_node *n, char buf[16]);
void p9_node_procpath(const struct p9_node *n, char buf[40]);

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t id);
/* -EEXIST if id is in use, -EMFILE past max_fids, -EINVAL for NOFID. Takes a ref on node. */
int p9_fid_add(struct p9_server *s, uint32_t id, struct p9_node *node, uint32_t uid,
	       struct p9_fid **out);
void p9_fid_close_open(struct p9_fid *f);
void p9_fid_del(struct p9_server *s, struct p9_fid *f);
void p9_fid_del_all(struct p9_server *s);

/* Request handlers: parse the body from r, write the body into w; 0 or -errno. The dispatcher
 * writes the header, and an Rlerror in place of the body on failure. */
typedef int (*p9_handler)(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
/* p9_ops_core.c */
int p9_op_version(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_auth(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_attach(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_flush(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_walk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_clunk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_getattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_statfs(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_readlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
/* p9_ops_io.c */
int p9_op_lopen(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_lcreate(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_read(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_write(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_readdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_fsync(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_lock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_getlock(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
/* p9_ops_meta.c */
int p9_op_setattr(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_mkdir(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_symlink(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_mknod(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_link(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_rename(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_renameat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_unlinkat(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_remove(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
/* p9_ops_xattr.c */
int p9_op_xattrwalk(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_op_xattrcreate(struct p9_server *s, struct p9_rd *r, struct p9_wr *w);
int p9_xattr_read(struct p9_fid *f, uint64_t off, uint32_t count, struct p9_wr *w);
int p9_xattr_write(struct p9_fid *f, uint64_t off, const uint8_t *data, uint32_t count);
/* Commits a Txattrcreate on clunk; returns the setxattr result. */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f);
void p9_xattr_free(struct p9_xattr *x);

/* Helpers shared by handlers (p9_ops_core.c). */
/* Looks up a fid that must exist; -EBADF otherwise. */
int p9_need_fid(struct p9_server *s, uint32_t id, struct p9_fid **out);
/* A directory fid usable as the parent of a create (not open, not xattr). */
int p9_need_dir(struct p9_server *s, uint32_t id, struct p9_fid **out);
/* Counts one creation against max_creates (-ENOSPC past it), -EROFS on a read-only server. */
int p9_may_create(struct p9_server *s);
/* Sets owner (fid uid, requested gid) and permission bits on a just-created entry's O_PATH fd. */
int p9_apply_owner(struct p9_server *s, struct p9_node *n, uint32_t uid, uint32_t gid,
		   mode_t mode, bool chmod_it);
/* Reopens a node as a real file descriptor with host open flags (no O_CREAT). */
int p9_node_reopen(struct p9_server *s, struct p9_node *n, int flags);

#endif
