/* The 9P2000.L server driven with real messages against a temporary directory, including
 * hostile requests; a sentinel directory next to the share must stay untouched throughout. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"
#include "unit.h"

static char base[64], share[96], outside[96];

/* ---- a tiny client ---- */

struct msg {
	uint8_t b[70000];
	size_t n;
};

static void m_begin(struct msg *m, uint8_t type)
{
	memset(m->b, 0, 7);
	m->b[4] = type;
	m->b[5] = 1; /* tag 1 */
	m->n = 7;
}
static void m_u8(struct msg *m, uint8_t v) { m->b[m->n++] = v; }
static void m_u16(struct msg *m, uint16_t v) { m_u8(m, (uint8_t)v); m_u8(m, (uint8_t)(v >> 8)); }
static void m_u32(struct msg *m, uint32_t v) { m_u16(m, (uint16_t)v); m_u16(m, (uint16_t)(v >> 16)); }
static void m_u64(struct msg *m, uint64_t v) { m_u32(m, (uint32_t)v); m_u32(m, (uint32_t)(v >> 32)); }
static void m_strn(struct msg *m, const char *s, size_t len)
{
	m_u16(m, (uint16_t)len);
	memcpy(m->b + m->n, s, len);
	m->n += len;
}
static void m_str(struct msg *m, const char *s) { m_strn(m, s, strlen(s)); }
static void m_end(struct msg *m)
{
	uint32_t n = (uint32_t)m->n;
	memcpy(m->b, &n, 4); /* little-endian host */
}

static uint8_t resp[P9_MSIZE_MAX];
static size_t resp_len;
static struct p9_rd rr; /* reader over the last response body */

/* Sends m; returns the response type; for Rlerror sets *ecode. */
static int rpc(struct p9_server *s, struct msg *m)
{
	m_end(m);
	int rc = p9_server_handle(s, m->b, m->n, resp, sizeof(resp), &resp_len);
	if (rc < 0 || resp_len < 7)
		return -1;
	uint32_t size;
	memcpy(&size, resp, 4);
	if (size != resp_len)
		return -2;
	rr = (struct p9_rd){ .p = resp, .len = resp_len, .pos = 7 };
	return resp[4];
}

/* Expects an Rlerror and returns its errno (0 when the reply was not an error). */
static uint32_t rpc_err(struct p9_server *s, struct msg *m)
{
	int t = rpc(s, m);
	return t == P9_RLERROR ? p9_get32(&rr) : 0;
}

static int version(struct p9_server *s, uint32_t msize)
{
	struct msg m;
	m_begin(&m, P9_TVERSION);
	m_u32(&m, msize);
	m_str(&m, "9P2000.L");
	return rpc(s, &m);
}

static int attach(struct p9_server *s, uint32_t fid, uint32_t uid)
{
	struct msg m;
	m_begin(&m, P9_TATTACH);
	m_u32(&m, fid);
	m_u32(&m, P9_NOFID);
	m_str(&m, "root");
	m_str(&m, "");
	m_u32(&m, uid);
	return rpc(s, &m);
}

/* Walks fid to newfid through a '\n'-free list of names; returns nwqid or -errno. */
static int walk(struct p9_server *s, uint32_t fid, uint32_t newfid, int n, const char **names)
{
	struct msg m;
	m_begin(&m, P9_TWALK);
	m_u32(&m, fid);
	m_u32(&m, newfid);
	m_u16(&m, (uint16_t)n);
	for (int i = 0; i < n; i++)
		m_str(&m, names[i]);
	int t = rpc(s, &m);
	if (t == P9_RLERROR)
		return -(int)p9_get32(&rr);
	if (t != P9_RWALK)
		return -9999;
	return p9_get16(&rr);
}

static int walk1(struct p9_server *s, uint32_t fid, uint32_t newfid, const char *name)
{
	return walk(s, fid, newfid, 1, &name);
}

static uint32_t clunk(struct p9_server *s, uint32_t fid)
{
	struct msg m;
	m_begin(&m, P9_TCLUNK);
	m_u32(&m, fid);
	return rpc_err(s, &m);
}

static uint32_t lopen(struct p9_server *s, uint32_t fid, uint32_t flags)
{
	struct msg m;
	m_begin(&m, P9_TLOPEN);
	m_u32(&m, fid);
	m_u32(&m, flags);
	return rpc_err(s, &m);
}

static uint32_t lcreate(struct p9_server *s, uint32_t fid, const char *name, uint32_t flags,
			uint32_t mode, uint32_t gid)
{
	struct msg m;
	m_begin(&m, P9_TLCREATE);
	m_u32(&m, fid);
	m_str(&m, name);
	m_u32(&m, flags);
	m_u32(&m, mode);
	m_u32(&m, gid);
	return rpc_err(s, &m);
}

static uint32_t mkdir9(struct p9_server *s, uint32_t dfid, const char *name, uint32_t mode)
{
	struct msg m;
	m_begin(&m, P9_TMKDIR);
	m_u32(&m, dfid);
	m_str(&m, name);
	m_u32(&m, mode);
	m_u32(&m, 0);
	return rpc_err(s, &m);
}

/* Reads up to count bytes into out (NUL-terminated); returns bytes or -errno. */
static long read9(struct p9_server *s, uint32_t fid, uint64_t off, uint32_t count, char *out,
		  size_t cap)
{
	struct msg m;
	m_begin(&m, P9_TREAD);
	m_u32(&m, fid);
	m_u64(&m, off);
	m_u32(&m, count);
	int t = rpc(s, &m);
	if (t == P9_RLERROR)
		return -(long)p9_get32(&rr);
	uint32_t n = p9_get32(&rr);
	if (rr.bad || n > rr.len - rr.pos)
		return -9999;
	if (out) {
		size_t c = n < cap - 1 ? n : cap - 1;
		memcpy(out, rr.p + rr.pos, c);
		out[c] = 0;
	}
	return n;
}

static long write9(struct p9_server *s, uint32_t fid, uint64_t off, const char *data)
{
	struct msg m;
	m_begin(&m, P9_TWRITE);
	m_u32(&m, fid);
	m_u64(&m, off);
	m_u32(&m, (uint32_t)strlen(data));
	memcpy(m.b + m.n, data, strlen(data));
	m.n += strlen(data);
	int t = rpc(s, &m);
	if (t == P9_RLERROR)
		return -(long)p9_get32(&rr);
	return t == P9_RWRITE ? (long)p9_get32(&rr) : -9999;
}

static int getattr(struct p9_server *s, uint32_t fid, uint32_t *mode, uint64_t *size)
{
	struct msg m;
	m_begin(&m, P9_TGETATTR);
	m_u32(&m, fid);
	m_u64(&m, P9_GETATTR_BASIC);
	int t = rpc(s, &m);
	if (t == P9_RLERROR)
		return -(int)p9_get32(&rr);
	p9_get64(&rr);
	p9_get8(&rr);
	p9_get32(&rr);
	p9_get64(&rr);
	*mode = p9_get32(&rr);
	p9_get32(&rr);
	p9_get32(&rr);
	p9_get64(&rr);
	p9_get64(&rr);
	*size = p9_get64(&rr);
	return rr.bad ? -9999 : 0;
}

/* Readdir of an open directory fid into a "|name|name|" string; count per request. */
static int readdir_all(struct p9_server *s, uint32_t fid, uint32_t count, char *out, size_t cap)
{
	uint64_t off = 0;
	out[0] = '|';
	out[1] = 0;
	for (int rounds = 0; rounds < 1000; rounds++) {
		struct msg m;
		m_begin(&m, P9_TREADDIR);
		m_u32(&m, fid);
		m_u64(&m, off);
		m_u32(&m, count);
		int t = rpc(s, &m);
		if (t == P9_RLERROR)
			return -(int)p9_get32(&rr);
		uint32_t n = p9_get32(&rr);
		if (n == 0)
			return 0;
		struct p9_rd e = { .p = rr.p + rr.pos, .len = n };
		while (e.pos < e.len) {
			p9_get8(&e);
			p9_get32(&e);
			p9_get64(&e);
			off = p9_get64(&e);
			p9_get8(&e);
			struct p9_str name = p9_getstr(&e);
			if (e.bad)
				return -9999;
			size_t l = strlen(out);
			if (l + name.len + 2 < cap) {
				memcpy(out + l, name.s, name.len);
				out[l + name.len] = '|';
				out[l + name.len + 1] = 0;
			}
		}
	}
	return -9998;
}

/* ---- fixture ---- */

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, content, strlen(content)) < 0)
			perror("write");
		close(fd);
	}
}

static char *pjoin(const char *dir, const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static struct stat sentinel_before;

static void setup(void)
{
	snprintf(base, sizeof(base), "/tmp/test_p9.XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(share, 0755);
	mkdir(outside, 0755);
	write_file(pjoin(outside, "secret"), "SECRET");
	stat(pjoin(outside, "secret"), &sentinel_before);
	write_file(pjoin(share, "hello"), "hello world");
	mkdir(pjoin(share, "sub"), 0755);
	write_file(pjoin(share, "sub/inner"), "inner");
	CHECK(symlink(outside, pjoin(share, "abs")) == 0);
	CHECK(symlink("../outside", pjoin(share, "rel")) == 0);
	CHECK(symlink(pjoin(outside, "secret"), pjoin(share, "abs_file")) == 0);
	CHECK(symlink("../outside/secret", pjoin(share, "rel_file")) == 0);
	CHECK(symlink(pjoin(outside, "created"), pjoin(share, "dangling")) == 0);
	CHECK(symlink("../../outside", pjoin(share, "sub/up")) == 0);
}

/* The sentinel directory outside the share holds exactly "secret", unchanged. */
static void check_sentinel(void)
{
	DIR *d = opendir(outside);
	int entries = 0, others = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		entries++;
		if (strcmp(e->d_name, "secret"))
			others++, fprintf(stderr, "sentinel: unexpected %s\n", e->d_name);
	}
	if (d)
		closedir(d);
	CHECK(entries == 1 && others == 0);
	struct stat st;
	CHECK(stat(pjoin(outside, "secret"), &st) == 0);
	CHECK(st.st_size == 6 && st.st_mode == sentinel_before.st_mode &&
	      st.st_uid == sentinel_before.st_uid &&
	      st.st_mtim.tv_sec == sentinel_before.st_mtim.tv_sec &&
	      st.st_mtim.tv_nsec == sentinel_before.st_mtim.tv_nsec && st.st_nlink == 1);
	char buf[16] = { 0 };
	int fd = open(pjoin(outside, "secret"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 6 && !strcmp(buf, "SECRET"));
	if (fd >= 0)
		close(fd);
	struct stat ost;
	CHECK(stat(outside, &ost) == 0 && (ost.st_mode & 07777) == 0755);
}

static void rm_rf(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", path);
}

static struct p9_server *new_server(bool ro)
{
	struct p9_server_config cfg = { .root = share, .readonly = ro };
	struct p9_server *s = NULL;
	struct hy_error err;
	int rc = p9_server_create(&cfg, &s, &err);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	return s;
}

/* ---- tests ---- */

static void test_session(void)
{
	struct p9_server *s = new_server(false);
	struct msg m;
	/* Nothing but Tversion before a session exists. */
	CHECK(attach(s, 1, 0) == P9_RLERROR);
	m_begin(&m, P9_TVERSION);
	m_u32(&m, 8192);
	m_str(&m, "9P2000.u");
	CHECK(rpc(s, &m) == P9_RVERSION);
	p9_get32(&rr);
	struct p9_str v = p9_getstr(&rr);
	CHECK(v.len == 7 && !memcmp(v.s, "unknown", 7));
	CHECK(p9_server_msize(s) == 0);
	CHECK(version(s, 512) == P9_RLERROR);
	CHECK(version(s, 1u << 30) == P9_RVERSION && p9_get32(&rr) == P9_MSIZE_MAX);
	CHECK(version(s, 65536) == P9_RVERSION && p9_get32(&rr) == 65536);
	CHECK(p9_server_msize(s) == 65536);
	CHECK(attach(s, 1, 0) == P9_RATTACH && p9_get8(&rr) == P9_QTDIR);
	/* fid reuse */
	CHECK(attach(s, 1, 0) == P9_RLERROR && p9_get32(&rr) == EEXIST);
	CHECK(attach(s, P9_NOFID, 0) == P9_RLERROR);
	/* A new Tversion drops every fid. */
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(clunk(s, 1) == EBADF);
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	CHECK(clunk(s, 1) == 0);
	CHECK(clunk(s, 1) == EBADF);
	/* Requests larger than msize */
	m_begin(&m, P9_TWRITE);
	m_u32(&m, 1);
	m_u64(&m, 0);
	m_u32(&m, 65536);
	m.n += 65536;
	CHECK(rpc_err(s, &m) == EMSGSIZE);
	/* Unknown message types and Tauth */
	m_begin(&m, 99);
	CHECK(rpc_err(s, &m) == EOPNOTSUPP);
	m_begin(&m, P9_TAUTH);
	m_u32(&m, 5);
	m_str(&m, "u");
	m_str(&m, "");
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == EOPNOTSUPP);
	m_begin(&m, P9_TFLUSH);
	m_u16(&m, 7);
	CHECK(rpc(s, &m) == P9_RFLUSH);
	/* response buffer too small */
	m_begin(&m, P9_TFLUSH);
	m_u16(&m, 7);
	m_end(&m);
	size_t l = 123;
	CHECK(p9_server_handle(s, m.b, m.n, resp, 10, &l) == -ENOBUFS && l == 0);
	/* A small response buffer still gets a well-formed Rlerror, never an overflow. */
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	m_begin(&m, P9_TGETATTR);
	m_u32(&m, 1);
	m_u64(&m, P9_GETATTR_BASIC);
	m_end(&m);
	CHECK(p9_server_handle(s, m.b, m.n, resp, 40, &l) == 0 && l == 11 && resp[4] == P9_RLERROR);
	p9_server_destroy(s);
}

static void test_read_side(void)
{
	struct p9_server *s = new_server(false);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 1000) == P9_RATTACH);

	/* walk + lopen + read */
	CHECK(walk1(s, 1, 2, "hello") == 1);
	CHECK(lopen(s, 2, 0) == 0);
	char buf[256];
	CHECK(read9(s, 2, 0, 100, buf, sizeof(buf)) == 11 && !strcmp(buf, "hello world"));
	CHECK(read9(s, 2, 6, 0xffffffffu, buf, sizeof(buf)) == 5 && !strcmp(buf, "world"));
	CHECK(read9(s, 2, 1000, 10, buf, sizeof(buf)) == 0);
	CHECK(read9(s, 2, UINT64_MAX, 10, buf, sizeof(buf)) == -EINVAL);
	CHECK(lopen(s, 2, 0) == EBUSY);
	CHECK(write9(s, 2, 0, "x") == -EBADF); /* opened read-only */
	uint32_t mode;
	uint64_t size;
	CHECK(getattr(s, 2, &mode, &size) == 0 && S_ISREG(mode) && size == 11);
	struct msg m;
	m_begin(&m, P9_TFSYNC);
	m_u32(&m, 2);
	m_u32(&m, 0);
	CHECK(rpc(s, &m) == P9_RFSYNC);
	m_begin(&m, P9_TLOCK);
	m_u32(&m, 2);
	m_u8(&m, P9_LOCK_TYPE_RDLCK);
	m_u32(&m, 0);
	m_u64(&m, 0);
	m_u64(&m, 0);
	m_u32(&m, 42);
	m_str(&m, "client");
	CHECK(rpc(s, &m) == P9_RLOCK && p9_get8(&rr) == P9_LOCK_SUCCESS);
	m_begin(&m, P9_TGETLOCK);
	m_u32(&m, 2);
	m_u8(&m, P9_LOCK_TYPE_WRLCK);
	m_u64(&m, 5);
	m_u64(&m, 10);
	m_u32(&m, 42);
	m_str(&m, "client");
	CHECK(rpc(s, &m) == P9_RGETLOCK && p9_get8(&rr) == P9_LOCK_TYPE_UNLCK &&
	      p9_get64(&rr) == 5 && p9_get64(&rr) == 10);
	CHECK(clunk(s, 2) == 0);

	/* multi-component walk, ".." at the root stays at the root */
	const char *p[] = { "sub", "inner" };
	CHECK(walk(s, 1, 3, 2, p) == 2);
	CHECK(getattr(s, 3, &mode, &size) == 0 && size == 5);
	const char *up[] = { "..", "..", "..", "hello" };
	CHECK(walk(s, 1, 4, 4, up) == 4);
	CHECK(getattr(s, 4, &mode, &size) == 0 && size == 11);
	const char *up2[] = { "sub", "..", "..", "sub", "inner" };
	CHECK(walk(s, 1, 5, 5, up2) == 5);
	CHECK(getattr(s, 5, &mode, &size) == 0 && size == 5);
	CHECK(walk1(s, 3, 6, "..") == -ENOTDIR); /* from a file */
	CHECK(walk1(s, 5, 6, "x") == -ENOTDIR);
	CHECK(clunk(s, 3) == 0 && clunk(s, 4) == 0 && clunk(s, 5) == 0);
	/* clone with nwname 0, then the same fid */
	CHECK(walk(s, 1, 7, 0, NULL) == 0);
	CHECK(walk1(s, 7, 7, "sub") == 1);
	CHECK(getattr(s, 7, &mode, &size) == 0 && S_ISDIR(mode));

	/* readdir, also in small pieces */
	CHECK(lopen(s, 7, 0) == 0);
	char list[1024];
	CHECK(readdir_all(s, 7, 8192, list, sizeof(list)) == 0);
	CHECK_STR_CONTAINS(list, "|inner|");
	CHECK_STR_CONTAINS(list, "|up|");
	CHECK(clunk(s, 7) == 0);
	CHECK(walk(s, 1, 8, 0, NULL) == 0 && lopen(s, 8, 0) == 0);
	CHECK(readdir_all(s, 8, 40, list, sizeof(list)) == 0);
	CHECK_STR_CONTAINS(list, "|hello|");
	CHECK_STR_CONTAINS(list, "|sub|");
	CHECK_STR_CONTAINS(list, "|abs|");
	CHECK(read9(s, 8, 0, 10, NULL, 0) == -EISDIR);
	CHECK(clunk(s, 8) == 0);

	/* statfs, readlink */
	struct msg sm;
	m_begin(&sm, P9_TSTATFS);
	m_u32(&sm, 1);
	CHECK(rpc(s, &sm) == P9_RSTATFS);
	CHECK(walk1(s, 1, 9, "abs_file") == 1);
	m_begin(&m, P9_TREADLINK);
	m_u32(&m, 9);
	CHECK(rpc(s, &m) == P9_RREADLINK);
	struct p9_str t = p9_getstr(&rr);
	CHECK(t.len == strlen(pjoin(outside, "secret")) &&
	      !memcmp(t.s, pjoin(outside, "secret"), t.len));
	m_begin(&m, P9_TREADLINK);
	m_u32(&m, 1);
	CHECK(rpc_err(s, &m) == EINVAL);

	/* xattr list on a symlink is empty, never the target's */
	m_begin(&m, P9_TXATTRWALK);
	m_u32(&m, 9);
	m_u32(&m, 10);
	m_str(&m, "");
	CHECK(rpc(s, &m) == P9_RXATTRWALK && p9_get64(&rr) == 0);
	CHECK(clunk(s, 10) == 0);
	CHECK(clunk(s, 9) == 0);
	CHECK(clunk(s, 1) == 0);
	p9_server_destroy(s);
}

/* Host symlinks pointing outside are never followed, whatever the request. */
static void test_symlink_escape(void)
{
	struct p9_server *s = new_server(false);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	const char *links[] = { "abs", "rel", "abs_file", "rel_file", "dangling" };
	for (int i = 0; i < 5; i++) {
		/* The link itself can be walked to (it is a file in the share) ... */
		CHECK(walk1(s, 1, 2, links[i]) == 1);
		uint32_t mode;
		uint64_t size;
		CHECK(getattr(s, 2, &mode, &size) == 0 && S_ISLNK(mode));
		/* ... but not opened, used as a directory, or written through. */
		CHECK(lopen(s, 2, 0) == ELOOP);
		CHECK(lopen(s, 2, 2) == ELOOP);
		CHECK(walk1(s, 2, 3, "secret") == -ENOTDIR);
		CHECK(lcreate(s, 2, "pwned", 1, 0644, 0) == ENOTDIR);
		CHECK(mkdir9(s, 2, "pwned", 0755) == ENOTDIR);
		struct msg m;
		m_begin(&m, P9_TSETATTR);
		m_u32(&m, 2);
		m_u32(&m, P9_SETATTR_MODE);
		m_u32(&m, 0777);
		m_u32(&m, 0);
		m_u32(&m, 0);
		for (int k = 0; k < 5; k++)
			m_u64(&m, 0);
		CHECK(rpc_err(s, &m) == EOPNOTSUPP);
		/* size change on the link must not truncate the target */
		m_begin(&m, P9_TSETATTR);
		m_u32(&m, 2);
		m_u32(&m, P9_SETATTR_SIZE | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET);
		m_u32(&m, 0);
		m_u32(&m, 0);
		m_u32(&m, 0);
		m_u64(&m, 0);
		m_u64(&m, 0);
		m_u64(&m, 0);
		m_u64(&m, 1);
		m_u64(&m, 0);
		CHECK(rpc_err(s, &m) == EINVAL);
		m_begin(&m, P9_TXATTRCREATE);
		m_u32(&m, 2);
		m_str(&m, "user.x");
		m_u64(&m, 0);
		m_u32(&m, 0);
		CHECK(rpc_err(s, &m) == EPERM);
		CHECK(clunk(s, 2) == 0);
		/* a multi-component walk stops at the link */
		const char *through[] = { links[i], "secret" };
		CHECK(walk(s, 1, 4, 2, through) == 1);
		CHECK(clunk(s, 4) == EBADF); /* partial walk: newfid was not created */
		/* creating over the link's name never follows it */
		CHECK(walk(s, 1, 5, 0, NULL) == 0);
		CHECK(lcreate(s, 5, links[i], 1, 0644, 0) == EEXIST);
		CHECK(clunk(s, 5) == 0);
		CHECK(mkdir9(s, 1, links[i], 0755) == EEXIST);
	}
	/* a link two levels down pointing up and out */
	const char *subup[] = { "sub", "up", "secret" };
	CHECK(walk(s, 1, 6, 3, subup) == 2);
	/* names that are paths */
	CHECK(walk1(s, 1, 7, "sub/inner") == -EINVAL);
	CHECK(walk1(s, 1, 7, "/etc") == -EINVAL);
	CHECK(walk1(s, 1, 7, "") == -EINVAL);
	CHECK(walk1(s, 1, 7, "../outside") == -EINVAL);
	struct msg m;
	m_begin(&m, P9_TWALK);
	m_u32(&m, 1);
	m_u32(&m, 7);
	m_u16(&m, 1);
	m_strn(&m, "hello\0/x", 8); /* embedded NUL */
	CHECK(rpc_err(s, &m) == EINVAL);
	CHECK(lcreate(s, 1, "..", 1, 0644, 0) == EINVAL);
	CHECK(lcreate(s, 1, "a/b", 1, 0644, 0) == EINVAL);
	CHECK(mkdir9(s, 1, ".", 0755) == EINVAL);
	/* rename through a link or onto ".." */
	m_begin(&m, P9_TRENAMEAT);
	m_u32(&m, 1);
	m_str(&m, "hello");
	m_u32(&m, 1);
	m_str(&m, "../outside/hello");
	CHECK(rpc_err(s, &m) == EINVAL);
	CHECK(walk1(s, 1, 8, "abs") == 1);
	m_begin(&m, P9_TRENAMEAT);
	m_u32(&m, 1);
	m_str(&m, "hello");
	m_u32(&m, 8);
	m_str(&m, "hello");
	CHECK(rpc_err(s, &m) == ENOTDIR);
	/* link into a symlinked directory, unlink through it */
	CHECK(walk1(s, 1, 9, "hello") == 1);
	m_begin(&m, P9_TLINK);
	m_u32(&m, 8);
	m_u32(&m, 9);
	m_str(&m, "hl");
	CHECK(rpc_err(s, &m) == ENOTDIR);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 8);
	m_str(&m, "secret");
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == ENOTDIR);
	/* Tremove of the root is refused */
	CHECK(walk(s, 1, 10, 0, NULL) == 0);
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 10);
	CHECK(rpc_err(s, &m) == EBUSY);
	CHECK(clunk(s, 10) == EBADF); /* Tremove clunked it anyway */
	p9_server_destroy(s);
	check_sentinel();
}

static void test_write_side(void)
{
	struct p9_server *s = new_server(false);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 1000) == P9_RATTACH);
	char buf[256];

	/* lcreate applies the attach uid and the requested gid and mode */
	CHECK(walk(s, 1, 2, 0, NULL) == 0);
	CHECK(lcreate(s, 2, "new", 2, 0640, 1234) == 0);
	CHECK(write9(s, 2, 0, "abcdef") == 6);
	CHECK(read9(s, 2, 2, 3, buf, sizeof(buf)) == 3 && !strcmp(buf, "cde"));
	struct stat st;
	CHECK(stat(pjoin(share, "new"), &st) == 0 && st.st_uid == 1000 && st.st_gid == 1234 &&
	      (st.st_mode & 07777) == 0640 && st.st_size == 6);
	/* count larger than the data really sent */
	struct msg m;
	m_begin(&m, P9_TWRITE);
	m_u32(&m, 2);
	m_u64(&m, 0);
	m_u32(&m, 1000);
	m_str(&m, "xy");
	CHECK(rpc_err(s, &m) == EPROTO);
	CHECK(lcreate(s, 1, "new", 2, 0640, 0) == EEXIST);
	CHECK(clunk(s, 2) == 0);

	/* fsync on an unopened fid, setattr: truncate, chmod, times, chown */
	CHECK(walk1(s, 1, 3, "new") == 1);
	m_begin(&m, P9_TFSYNC);
	m_u32(&m, 3);
	CHECK(rpc(s, &m) == P9_RFSYNC);
	m_begin(&m, P9_TSETATTR);
	m_u32(&m, 3);
	m_u32(&m, P9_SETATTR_SIZE | P9_SETATTR_MODE | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET |
			  P9_SETATTR_UID | P9_SETATTR_GID);
	m_u32(&m, 0604);
	m_u32(&m, 2000);
	m_u32(&m, 2001);
	m_u64(&m, 2);
	m_u64(&m, 0);
	m_u64(&m, 0);
	m_u64(&m, 12345);
	m_u64(&m, 6789);
	CHECK(rpc(s, &m) == P9_RSETATTR);
	CHECK(stat(pjoin(share, "new"), &st) == 0 && st.st_size == 2 &&
	      (st.st_mode & 07777) == 0604 && st.st_mtim.tv_sec == 12345 &&
	      st.st_mtim.tv_nsec == 6789 && st.st_uid == 2000 && st.st_gid == 2001);
	m_begin(&m, P9_TSETATTR);
	m_u32(&m, 3);
	m_u32(&m, P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET);
	m_u32(&m, 0);
	m_u32(&m, 0);
	m_u32(&m, 0);
	m_u64(&m, 0);
	m_u64(&m, 0);
	m_u64(&m, 0);
	m_u64(&m, 1);
	m_u64(&m, 2000000000); /* nsec out of range */
	CHECK(rpc_err(s, &m) == EINVAL);

	/* mkdir, renameat into it, then the old fid still addresses the file */
	CHECK(mkdir9(s, 1, "d1", 02750) == 0);
	CHECK(stat(pjoin(share, "d1"), &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 02750 && st.st_uid == 1000);
	CHECK(walk1(s, 1, 4, "d1") == 1);
	m_begin(&m, P9_TRENAMEAT);
	m_u32(&m, 1);
	m_str(&m, "new");
	m_u32(&m, 4);
	m_str(&m, "moved");
	CHECK(rpc(s, &m) == P9_RRENAMEAT);
	CHECK(access(pjoin(share, "new"), F_OK) != 0 && access(pjoin(share, "d1/moved"), F_OK) == 0);
	uint32_t mode;
	uint64_t size;
	CHECK(getattr(s, 3, &mode, &size) == 0 && size == 2);
	/* Trename follows the node to its new place */
	m_begin(&m, P9_TRENAME);
	m_u32(&m, 3);
	m_u32(&m, 1);
	m_str(&m, "back");
	CHECK(rpc(s, &m) == P9_RRENAME);
	CHECK(access(pjoin(share, "back"), F_OK) == 0 && access(pjoin(share, "d1/moved"), F_OK) != 0);
	/* and Tremove after two renames removes the right entry */
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 3);
	CHECK(rpc(s, &m) == P9_RREMOVE);
	CHECK(access(pjoin(share, "back"), F_OK) != 0);

	/* symlink with an absolute target: stored as text, never followed */
	m_begin(&m, P9_TSYMLINK);
	m_u32(&m, 1);
	m_str(&m, "sl");
	m_str(&m, outside);
	m_u32(&m, 0);
	CHECK(rpc(s, &m) == P9_RSYMLINK && p9_get8(&rr) == P9_QTSYMLINK);
	ssize_t n = readlink(pjoin(share, "sl"), buf, sizeof(buf) - 1);
	CHECK(n == (ssize_t)strlen(outside) && !memcmp(buf, outside, (size_t)n));
	const char *via[] = { "sl", "secret" };
	CHECK(walk(s, 1, 5, 2, via) == 1);
	CHECK(walk1(s, 1, 5, "sl") == 1);
	CHECK(lcreate(s, 5, "x", 1, 0644, 0) == ENOTDIR);
	CHECK(clunk(s, 5) == 0);
	m_begin(&m, P9_TSYMLINK);
	m_u32(&m, 1);
	m_str(&m, "empty");
	m_str(&m, "");
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == ENOENT);
	/* lcreate on a dangling link's name must not create its target outside */
	CHECK(walk(s, 1, 5, 0, NULL) == 0);
	CHECK(lcreate(s, 5, "dangling", 0101, 0644, 0) == EEXIST);
	CHECK(clunk(s, 5) == 0);

	/* renaming an entry onto itself is a no-op, not a loop */
	m_begin(&m, P9_TRENAMEAT);
	m_u32(&m, 1);
	m_str(&m, "hello");
	m_u32(&m, 1);
	m_str(&m, "hello");
	CHECK(rpc(s, &m) == P9_RRENAMEAT && access(pjoin(share, "hello"), F_OK) == 0);

	/* hard link */
	CHECK(walk1(s, 1, 6, "hello") == 1);
	m_begin(&m, P9_TLINK);
	m_u32(&m, 1);
	m_u32(&m, 6);
	m_str(&m, "hl");
	CHECK(rpc(s, &m) == P9_RLINK);
	CHECK(stat(pjoin(share, "hl"), &st) == 0 && st.st_nlink == 2);
	m_begin(&m, P9_TLINK);
	m_u32(&m, 1);
	m_u32(&m, 4);
	m_str(&m, "dirlink");
	CHECK(rpc_err(s, &m) == EPERM);

	/* mknod: FIFO allowed (and never opened on the host), devices refused */
	m_begin(&m, P9_TMKNOD);
	m_u32(&m, 1);
	m_str(&m, "fifo");
	m_u32(&m, S_IFIFO | 0644);
	m_u32(&m, 0);
	m_u32(&m, 0);
	m_u32(&m, 0);
	CHECK(rpc(s, &m) == P9_RMKNOD);
	CHECK(stat(pjoin(share, "fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(walk1(s, 1, 7, "fifo") == 1);
	CHECK(lopen(s, 7, 1) == ENXIO);
	CHECK(lopen(s, 7, 0) == ENXIO);
	CHECK(clunk(s, 7) == 0);
	m_begin(&m, P9_TMKNOD);
	m_u32(&m, 1);
	m_str(&m, "sda");
	m_u32(&m, S_IFBLK | 0644);
	m_u32(&m, 8);
	m_u32(&m, 0);
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == EPERM);
	CHECK(access(pjoin(share, "sda"), F_OK) != 0);

	/* xattrs: user.* can be set, read back and listed; security.* cannot be set */
	CHECK(walk1(s, 1, 8, "hello") == 1);
	m_begin(&m, P9_TXATTRCREATE);
	m_u32(&m, 8);
	m_str(&m, "user.test");
	m_u64(&m, 3);
	m_u32(&m, 0);
	CHECK(rpc(s, &m) == P9_RXATTRCREATE);
	CHECK(write9(s, 8, 0, "xyz") == 3);
	CHECK(write9(s, 8, 3, "q") == -EINVAL); /* past the announced size */
	CHECK(clunk(s, 8) == 0);
	n = getxattr(pjoin(share, "hello"), "user.test", buf, sizeof(buf));
	bool have_xattr = n >= 0 || errno != ENOTSUP;
	CHECK(!have_xattr || (n == 3 && !memcmp(buf, "xyz", 3)));
	if (have_xattr) {
		m_begin(&m, P9_TXATTRWALK);
		m_u32(&m, 6);
		m_u32(&m, 9);
		m_str(&m, "user.test");
		CHECK(rpc(s, &m) == P9_RXATTRWALK && p9_get64(&rr) == 3);
		CHECK(read9(s, 9, 0, 100, buf, sizeof(buf)) == 3 && !strcmp(buf, "xyz"));
		CHECK(clunk(s, 9) == 0);
		m_begin(&m, P9_TXATTRWALK);
		m_u32(&m, 6);
		m_u32(&m, 9);
		m_str(&m, "");
		CHECK(rpc(s, &m) == P9_RXATTRWALK && p9_get64(&rr) >= 10);
		long got = read9(s, 9, 0, 1000, buf, sizeof(buf));
		CHECK(got >= 10 && memmem(buf, (size_t)got, "user.test", 10) != NULL);
		CHECK(clunk(s, 9) == 0);
	}
	CHECK(walk1(s, 1, 8, "hello") == 1);
	m_begin(&m, P9_TXATTRCREATE);
	m_u32(&m, 8);
	m_str(&m, "security.capability");
	m_u64(&m, 3);
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == EOPNOTSUPP);
	m_begin(&m, P9_TXATTRCREATE);
	m_u32(&m, 8);
	m_str(&m, "user.big");
	m_u64(&m, 1ULL << 40);
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == E2BIG);
	CHECK(clunk(s, 8) == 0);

	/* unlinkat of a file and of a directory */
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 1);
	m_str(&m, "hl");
	m_u32(&m, 0);
	CHECK(rpc(s, &m) == P9_RUNLINKAT);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 1);
	m_str(&m, "d1");
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == EISDIR);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 1);
	m_str(&m, "d1");
	m_u32(&m, P9_DOTL_AT_REMOVEDIR);
	CHECK(rpc(s, &m) == P9_RUNLINKAT);
	CHECK(access(pjoin(share, "d1"), F_OK) != 0 && access(pjoin(share, "hl"), F_OK) != 0);
	/* the fid on the removed directory is detached: ".." from it goes nowhere */
	CHECK(walk1(s, 4, 10, "..") == -ENOENT);
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 4);
	CHECK(rpc_err(s, &m) == ENOENT);
	p9_server_destroy(s);
	check_sentinel();
}

/* The node tree follows renames and removals made through any fid. */
static void test_tree(void)
{
	struct p9_server *s = new_server(false);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	struct msg m;
	/* open, unlink, keep using: the open file outlives its name */
	CHECK(walk(s, 1, 2, 0, NULL) == 0 && lcreate(s, 2, "tmpf", 2, 0600, 0) == 0);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 1);
	m_str(&m, "tmpf");
	m_u32(&m, 0);
	CHECK(rpc(s, &m) == P9_RUNLINKAT);
	CHECK(write9(s, 2, 0, "still") == 5);
	char buf[64];
	CHECK(read9(s, 2, 0, 64, buf, sizeof(buf)) == 5 && !strcmp(buf, "still"));
	uint32_t mode;
	uint64_t size;
	CHECK(getattr(s, 2, &mode, &size) == 0 && size == 5);
	CHECK(walk1(s, 2, 3, "..") == -ENOTDIR);
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 2);
	CHECK(rpc_err(s, &m) == ENOENT);
	/* a renamed directory: its child fid's ".." is the directory under its new name */
	CHECK(mkdir9(s, 1, "a", 0755) == 0 && mkdir9(s, 1, "b", 0755) == 0);
	const char *ac[] = { "a", "c" };
	CHECK(walk1(s, 1, 4, "a") == 1 && mkdir9(s, 4, "c", 0755) == 0);
	CHECK(walk(s, 1, 5, 2, ac) == 2);
	CHECK(walk1(s, 1, 6, "b") == 1);
	m_begin(&m, P9_TRENAME);
	m_u32(&m, 4);
	m_u32(&m, 6);
	m_str(&m, "a2");
	CHECK(rpc(s, &m) == P9_RRENAME);
	const char *up[] = { "..", "..", "..", "b", "a2", "c" };
	CHECK(walk(s, 5, 7, 6, up) == 6);
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 7);
	CHECK(rpc(s, &m) == P9_RREMOVE);
	CHECK(access(pjoin(share, "b/a2/c"), F_OK) != 0 && access(pjoin(share, "b/a2"), F_OK) == 0);
	/* a host-side rename behind the server's back: the stale entry is refused, not guessed */
	CHECK(rename(pjoin(share, "b/a2"), pjoin(share, "b/a3")) == 0);
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 4);
	CHECK(rpc_err(s, &m) == ESTALE);
	CHECK(access(pjoin(share, "b/a3"), F_OK) == 0);
	CHECK(walk1(s, 6, 8, "a3") == 1 && walk1(s, 6, 9, "a2") == -ENOENT);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 6);
	m_str(&m, "a3");
	m_u32(&m, P9_DOTL_AT_REMOVEDIR);
	CHECK(rpc(s, &m) == P9_RUNLINKAT);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 1);
	m_str(&m, "b");
	m_u32(&m, P9_DOTL_AT_REMOVEDIR);
	CHECK(rpc(s, &m) == P9_RUNLINKAT);
	p9_server_destroy(s);
	check_sentinel();
}

static void test_readonly(void)
{
	struct p9_server *s = new_server(true);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	CHECK(walk(s, 1, 2, 0, NULL) == 0);
	CHECK(lcreate(s, 2, "nope", 1, 0644, 0) == EROFS);
	CHECK(mkdir9(s, 1, "nope", 0755) == EROFS);
	CHECK(walk1(s, 1, 3, "hello") == 1);
	CHECK(lopen(s, 3, 1) == EROFS);
	CHECK(lopen(s, 3, 01000) == EROFS); /* O_TRUNC */
	CHECK(lopen(s, 3, 0) == 0);
	char buf[64];
	CHECK(read9(s, 3, 0, 5, buf, sizeof(buf)) == 5 && !strcmp(buf, "hello"));
	CHECK(write9(s, 3, 0, "x") == -EBADF);
	struct msg m;
	m_begin(&m, P9_TSETATTR);
	m_u32(&m, 3);
	m_u32(&m, P9_SETATTR_SIZE);
	m_u32(&m, 0);
	m_u32(&m, 0);
	m_u32(&m, 0);
	for (int k = 0; k < 5; k++)
		m_u64(&m, 0);
	CHECK(rpc_err(s, &m) == EROFS);
	m_begin(&m, P9_TUNLINKAT);
	m_u32(&m, 1);
	m_str(&m, "hello");
	m_u32(&m, 0);
	CHECK(rpc_err(s, &m) == EROFS);
	m_begin(&m, P9_TREMOVE);
	m_u32(&m, 3);
	CHECK(rpc_err(s, &m) == EROFS);
	m_begin(&m, P9_TRENAMEAT);
	m_u32(&m, 1);
	m_str(&m, "hello");
	m_u32(&m, 1);
	m_str(&m, "x");
	CHECK(rpc_err(s, &m) == EROFS);
	CHECK(access(pjoin(share, "hello"), F_OK) == 0 && access(pjoin(share, "nope"), F_OK) != 0);
	p9_server_destroy(s);
}

static void test_malformed(void)
{
	struct p9_server *s = new_server(false);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	size_t l;
	/* shorter than a header, size field below 7, size larger than the buffer */
	uint8_t tiny[5] = { 5, 0, 0, 0, P9_TCLUNK };
	CHECK(p9_server_handle(s, tiny, sizeof(tiny), resp, sizeof(resp), &l) == 0 && l == 11 &&
	      resp[4] == P9_RLERROR && resp[5] == 0xff && resp[6] == 0xff);
	uint8_t small[7] = { 3, 0, 0, 0, P9_TCLUNK, 9, 0 };
	CHECK(p9_server_handle(s, small, sizeof(small), resp, sizeof(resp), &l) == 0 &&
	      resp[4] == P9_RLERROR && resp[5] == 9);
	uint8_t big[11] = { 0xff, 0xff, 0xff, 0x7f, P9_TCLUNK, 9, 0, 1, 0, 0, 0 };
	CHECK(p9_server_handle(s, big, sizeof(big), resp, sizeof(resp), &l) == 0 &&
	      resp[4] == P9_RLERROR);
	CHECK(clunk(s, 1) == 0); /* the malformed requests left fid 1 alone */
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	/* truncated bodies for every message type: always an Rlerror */
	for (int type = 0; type < 256; type++) {
		struct msg m;
		m_begin(&m, (uint8_t)type);
		m_u32(&m, 1);
		int t = rpc(s, &m);
		if (type == P9_TCLUNK || type == P9_TREMOVE || type == P9_TSTATFS ||
		    type == P9_TREADLINK || type == P9_TFSYNC) {
			/* complete with just a fid; re-attach what they consumed */
			if (type == P9_TCLUNK || type == P9_TREMOVE)
				attach(s, 1, 0);
			continue;
		}
		if (type == P9_TFLUSH) {
			CHECK(t == P9_RFLUSH);
			continue;
		}
		CHECK(t == P9_RLERROR);
	}
	/* string length past the end of the message */
	struct msg m;
	m_begin(&m, P9_TWALK);
	m_u32(&m, 1);
	m_u32(&m, 2);
	m_u16(&m, 1);
	m_u16(&m, 500);
	m_u8(&m, 'a');
	CHECK(rpc_err(s, &m) == EPROTO);
	/* nwname > 16 */
	const char *many[17];
	for (int i = 0; i < 17; i++)
		many[i] = "sub";
	CHECK(walk(s, 1, 2, 17, many) == -EINVAL);
	m_begin(&m, P9_TWALK);
	m_u32(&m, 1);
	m_u32(&m, 2);
	m_u16(&m, 0xffff);
	CHECK(rpc_err(s, &m) == EINVAL);
	CHECK(walk(s, 1, 2, 16, many) == 1); /* partial: sub/sub does not exist */
	/* unknown fids everywhere */
	CHECK(walk1(s, 77, 78, "hello") == -EBADF);
	CHECK(lopen(s, 77, 0) == EBADF);
	CHECK(read9(s, 77, 0, 10, NULL, 0) == -EBADF);
	CHECK(write9(s, 77, 0, "x") == -EBADF);
	CHECK(mkdir9(s, 77, "x", 0755) == EBADF);
	/* newfid in use */
	CHECK(walk1(s, 1, 3, "hello") == 1);
	CHECK(walk1(s, 1, 3, "sub") == -EEXIST);
	/* read/write/readdir on a fid that is not open */
	CHECK(read9(s, 3, 0, 10, NULL, 0) == -EBADF);
	CHECK(write9(s, 3, 0, "x") == -EBADF);
	m_begin(&m, P9_TREADDIR);
	m_u32(&m, 1);
	m_u64(&m, 0);
	m_u32(&m, 0xffffffff);
	CHECK(rpc_err(s, &m) == EBADF);
	/* huge readdir counts are clamped to msize */
	CHECK(walk(s, 1, 4, 0, NULL) == 0 && lopen(s, 4, 0) == 0);
	CHECK(rpc(s, &m) == P9_RLERROR); /* fid 1 still not open */
	m_begin(&m, P9_TREADDIR);
	m_u32(&m, 4);
	m_u64(&m, 0);
	m_u32(&m, 0xffffffff);
	CHECK(rpc(s, &m) == P9_RREADDIR && resp_len <= 65536 && p9_get32(&rr) == resp_len - 11);
	/* a garbage directory offset is an error or an empty list, not a crash */
	m_begin(&m, P9_TREADDIR);
	m_u32(&m, 4);
	m_u64(&m, 0x7fffffffffffffffULL);
	m_u32(&m, 100);
	int t = rpc(s, &m);
	CHECK(t == P9_RREADDIR || t == P9_RLERROR);
	/* write with count > msize, bad lopen flags, bad lock type */
	CHECK(walk(s, 1, 5, 0, NULL) == 0 && lcreate(s, 5, "w", 2, 0644, 0) == 0);
	m_begin(&m, P9_TWRITE);
	m_u32(&m, 5);
	m_u64(&m, 0);
	m_u32(&m, 0xffffffff);
	CHECK(rpc_err(s, &m) == EPROTO);
	m_begin(&m, P9_TWRITE);
	m_u32(&m, 5);
	m_u64(&m, UINT64_MAX - 1);
	m_u32(&m, 1);
	m_u8(&m, 'x');
	CHECK(rpc_err(s, &m) == EINVAL);
	CHECK(walk1(s, 1, 6, "hello") == 1 && lopen(s, 6, 3) == EINVAL);
	m_begin(&m, P9_TLOCK);
	m_u32(&m, 5);
	m_u8(&m, 9);
	m_u32(&m, 0);
	m_u64(&m, 0);
	m_u64(&m, 0);
	m_u32(&m, 0);
	m_str(&m, "");
	CHECK(rpc_err(s, &m) == EINVAL);
	/* walking an open fid onto itself */
	CHECK(walk1(s, 5, 5, "x") == -EBUSY);
	/* fid limit */
	p9_server_destroy(s);
	struct p9_server_config cfg = { .root = share, .max_fids = 3, .max_creates = 1 };
	struct hy_error err;
	CHECK(p9_server_create(&cfg, &s, &err) == 0);
	CHECK(version(s, 65536) == P9_RVERSION);
	CHECK(attach(s, 1, 0) == P9_RATTACH);
	CHECK(walk(s, 1, 2, 0, NULL) == 0 && walk(s, 1, 3, 0, NULL) == 0);
	CHECK(walk(s, 1, 4, 0, NULL) == -EMFILE);
	CHECK(mkdir9(s, 1, "c1", 0755) == 0);
	CHECK(mkdir9(s, 1, "c2", 0755) == ENOSPC);
	p9_server_destroy(s);
	struct p9_server_config bad = { .root = "/nonexistent/dir" };
	CHECK(p9_server_create(&bad, &s, &err) < 0 && strstr(err.msg, "/nonexistent/dir"));
	check_sentinel();
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	setup();
	int fds = count_fds();
	test_session();
	test_read_side();
	test_symlink_escape();
	test_write_side();
	test_tree();
	test_readonly();
	test_malformed();
	check_sentinel();
	CHECK(count_fds() == fds); /* every server closed all it opened */
	rm_rf(base);
	return UNIT_DONE();
}
