/* The 9P server object and the request dispatcher: framing, msize enforcement, Rlerror. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

int p9_server_create(const struct p9_server_config *cfg, struct p9_server **out,
		     struct hy_error *err)
{
	*out = NULL;
	if (!cfg || !cfg->root || !cfg->root[0])
		return hy_error_set(err, EINVAL, "9p: no directory to share");
	struct p9_server *s = calloc(1, sizeof(*s));
	if (!s)
		return hy_error_set(err, ENOMEM, "9p: out of memory");
	s->readonly = cfg->readonly;
	s->max_fids = cfg->max_fids ? cfg->max_fids : P9_DEFAULT_MAX_FIDS;
	s->max_creates = cfg->max_creates;
	s->max_file_size = cfg->max_file_size;
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		int e = errno;
		free(s);
		return hy_error_errno(err, e, "9p: /proc/self/fd (procfs must be mounted)");
	}
	/* The exported path itself comes from the host's configuration, so it may follow
	 * symlinks; everything below it is resolved with openat2 beneath this descriptor. */
	int fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		close(s->proc_fd);
		free(s);
		return hy_error_errno(err, e, "9p: shared directory %s", cfg->root);
	}
	int rc = p9_node_new_root(s, fd, &s->root);
	if (rc < 0) {
		close(fd);
		close(s->proc_fd);
		free(s);
		return hy_error_errno(err, -rc, "9p: shared directory %s", cfg->root);
	}
	s->root_dev = s->root->dev;
	*out = s;
	return 0;
}

void p9_server_destroy(struct p9_server *s)
{
	if (!s)
		return;
	p9_fid_del_all(s);
	p9_node_put(s, s->root);
	close(s->proc_fd);
	free(s);
}

void p9_server_reset(struct p9_server *s)
{
	p9_fid_del_all(s);
	s->msize = 0;
}

uint32_t p9_server_msize(const struct p9_server *s)
{
	return s->msize;
}

static p9_handler handler_for(uint8_t type)
{
	switch (type) {
	case P9_TVERSION: return p9_op_version;
	case P9_TAUTH: return p9_op_auth;
	case P9_TATTACH: return p9_op_attach;
	case P9_TFLUSH: return p9_op_flush;
	case P9_TWALK: return p9_op_walk;
	case P9_TCLUNK: return p9_op_clunk;
	case P9_TREMOVE: return p9_op_remove;
	case P9_TGETATTR: return p9_op_getattr;
	case P9_TSETATTR: return p9_op_setattr;
	case P9_TSTATFS: return p9_op_statfs;
	case P9_TREADLINK: return p9_op_readlink;
	case P9_TLOPEN: return p9_op_lopen;
	case P9_TLCREATE: return p9_op_lcreate;
	case P9_TREAD: return p9_op_read;
	case P9_TWRITE: return p9_op_write;
	case P9_TREADDIR: return p9_op_readdir;
	case P9_TFSYNC: return p9_op_fsync;
	case P9_TLOCK: return p9_op_lock;
	case P9_TGETLOCK: return p9_op_getlock;
	case P9_TMKDIR: return p9_op_mkdir;
	case P9_TSYMLINK: return p9_op_symlink;
	case P9_TMKNOD: return p9_op_mknod;
	case P9_TLINK: return p9_op_link;
	case P9_TRENAME: return p9_op_rename;
	case P9_TRENAMEAT: return p9_op_renameat;
	case P9_TUNLINKAT: return p9_op_unlinkat;
	case P9_TXATTRWALK: return p9_op_xattrwalk;
	case P9_TXATTRCREATE: return p9_op_xattrcreate;
	default: return NULL;
	}
}

static void put_error(struct p9_wr *w, uint16_t tag, int rc)
{
	w->pos = P9_HEADER_SIZE;
	w->overflow = false;
	p9_put32(w, (uint32_t)(rc < 0 ? -rc : EIO));
	p9_finish(w, P9_RLERROR, tag);
}

int p9_server_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *resp,
		     size_t resp_cap, size_t *resp_len)
{
	*resp_len = 0;
	if (resp_cap < P9_RLERROR_SIZE)
		return -ENOBUFS;
	/* Until Tversion agrees on one, only a Tversion-sized exchange is allowed. */
	size_t msize = s->msize ? s->msize : P9_MSIZE_MIN;
	struct p9_wr w = { .p = resp, .cap = resp_cap < msize ? resp_cap : msize,
			   .pos = P9_HEADER_SIZE };
	struct p9_rd r = { .p = req, .len = req_len };
	uint32_t size = p9_get32(&r);
	uint8_t type = p9_get8(&r);
	uint16_t tag = p9_get16(&r);
	int rc;
	if (r.bad || size < P9_HEADER_SIZE || size > req_len) {
		rc = -EPROTO;
		if (r.bad)
			tag = P9_NOTAG;
	} else if (size > msize && type != P9_TVERSION) {
		rc = -EMSGSIZE;
	} else if (!s->msize && type != P9_TVERSION) {
		rc = -EPROTO; /* no session yet */
	} else {
		r.len = size;
		p9_handler h = handler_for(type);
		rc = h ? h(s, &r, &w) : -EOPNOTSUPP;
		if (rc == 0 && w.overflow)
			rc = -EMSGSIZE;
		if (rc == 0 && r.bad)
			rc = -EPROTO;
	}
	if (rc < 0)
		put_error(&w, tag, rc);
	else
		p9_finish(&w, (uint8_t)(type + 1), tag);
	*resp_len = w.pos;
	return 0;
}
