/* seccomp_prepare: compile linux.seccomp once and keep the BPF program in a cache directory,
 * keyed by everything that decides the program. libseccomp takes tens of
 * milliseconds for a Docker-sized profile, more than the rest of a container start.
 *
 * The cache feeds the kernel a filter, so it is trusted only as far as its owner: the
 * directory and files must belong to the calling user and be writable by nobody else, and
 * entries are written to a temporary file and renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/seccomp.h"
#include "runtime/seccomp_internal.h"

#define CACHE_MAGIC	"HYBPF002"
#define CACHE_MAX_INSNS 65536u
#define CACHE_MAX_KEY	(4u << 20)

struct cache_header {
	char magic[8];
	uint32_t flags; /* bit 0: uses notify */
	uint32_t n_insns;
	uint64_t key_len; /* the canonical description follows, then the instructions */
};

/* The canonical description of everything that decides the program. The file name is only a
 * hash of it; the description itself is stored and compared, so a hash collision (even a
 * crafted one) can only cause a miss, never another config's filter. Flags and the listener
 * are not part of it: they apply at load time. */
struct key_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct key_buf *k, const void *data, size_t n)
{
	if (k->failed)
		return;
	if (k->len + n > k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 4096;
		while (cap < k->len + n)
			cap *= 2;
		char *np = cap <= CACHE_MAX_KEY ? realloc(k->p, cap) : NULL;
		if (!np) {
			k->failed = true;
			return;
		}
		k->p = np;
		k->cap = cap;
	}
	memcpy(k->p + k->len, data, n);
	k->len += n;
}

static void put_u64(struct key_buf *k, uint64_t v)
{
	put(k, &v, sizeof(v));
}

static void put_str(struct key_buf *k, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u64(k, s ? n : UINT64_MAX);
	put(k, s ? s : "", n);
}

static int cache_key(const struct hy_seccomp *s, struct key_buf *k)
{
	char ident[128];
	struct utsname u;
	seccomp_lib_identity(ident, sizeof(ident));
	put_str(k, CACHE_MAGIC);
	put_str(k, ident);
	put_str(k, uname(&u) == 0 ? u.release : "");
	put_str(k, s->default_action);
	put_u64(k, s->has_default_errno_ret ? 0x10000u | s->default_errno_ret : 0);
	put_u64(k, s->architectures.n);
	for (size_t i = 0; i < s->architectures.n; i++)
		put_str(k, s->architectures.v[i]);
	put_u64(k, s->n_syscalls);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct hy_seccomp_syscall *sc = &s->syscalls[i];
		put_u64(k, sc->names.n);
		for (size_t j = 0; j < sc->names.n; j++)
			put_str(k, sc->names.v[j]);
		put_str(k, sc->action);
		put_u64(k, sc->has_errno_ret ? 0x10000u | sc->errno_ret : 0);
		put_u64(k, sc->n_args);
		for (size_t j = 0; j < sc->n_args; j++) {
			put_u64(k, sc->args[j].index);
			put_u64(k, sc->args[j].value);
			put_u64(k, sc->args[j].value_two);
			put_str(k, sc->args[j].op);
		}
	}
	return k->failed ? -ENOMEM : 0;
}

/* FNV-1a, 64 bits: names the file only (see struct key_buf). */
static uint64_t key_hash(const struct key_buf *k)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < k->len; i++) {
		h ^= (unsigned char)k->p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool trusted(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* Creates the directory if needed; false when it exists but is not safely ours. */
static bool cache_dir_ok(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return false;
	struct stat st;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && trusted(&st);
}

static bool cache_read(const char *path, const struct key_buf *k, struct hy_seccomp *s)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	struct cache_header h;
	char *buf = NULL;
	size_t insn_bytes = 0;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && trusted(&st) &&
		  pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		  !memcmp(h.magic, CACHE_MAGIC, 8) && h.n_insns > 0 &&
		  h.n_insns <= CACHE_MAX_INSNS && h.key_len == k->len &&
		  (uint64_t)st.st_size == sizeof(h) + h.key_len + (uint64_t)h.n_insns * 8;
	if (ok) {
		insn_bytes = (size_t)h.n_insns * 8;
		size_t total = k->len + insn_bytes;
		buf = malloc(total);
		ok = buf && pread(fd, buf, total, sizeof(h)) == (ssize_t)total &&
		     !memcmp(buf, k->p, k->len);
	}
	close(fd);
	if (!ok) {
		free(buf);
		return false;
	}
	memmove(buf, buf + k->len, insn_bytes);
	s->prepared_bpf = buf;
	s->prepared_len = h.n_insns;
	s->prepared_notify = h.flags & 1;
	return true;
}

/* Best effort: a cache that cannot be written only costs the next start some time. */
static void cache_write(const char *dir, const char *path, const struct key_buf *k,
			const struct hy_seccomp *s)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return;
	struct cache_header h = {.flags = s->prepared_notify ? 1 : 0,
				 .n_insns = (uint32_t)s->prepared_len,
				 .key_len = k->len};
	memcpy(h.magic, CACHE_MAGIC, 8);
	size_t len = s->prepared_len * 8;
	bool ok = write(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) &&
		  write(fd, k->p, k->len) == (ssize_t)k->len &&
		  write(fd, s->prepared_bpf, len) == (ssize_t)len && fchmod(fd, 0600) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

int seccomp_prepare(struct hy_seccomp *s, const char *cache_dir, struct hy_error *err)
{
	if (!s || s->prepared_bpf)
		return 0;
	struct key_buf k = {0};
	char path[4200] = "";
	bool use_cache = cache_dir && strlen(cache_dir) < 4000 && cache_key(s, &k) == 0 &&
			 cache_dir_ok(cache_dir);
	if (use_cache) {
		snprintf(path, sizeof(path), "%s/%016llx.bpf", cache_dir,
			 (unsigned long long)key_hash(&k));
		if (cache_read(path, &k, s)) {
			free(k.p);
			return 0;
		}
	}
	struct hy_seccomp_bpf bpf;
	int rc = seccomp_bpf_build(s, &bpf, err);
	if (rc < 0) {
		free(k.p);
		return rc;
	}
	if (bpf.len > CACHE_MAX_INSNS) {
		seccomp_bpf_free(&bpf);
		free(k.p);
		return hy_error_set(err, E2BIG,
				    "linux.seccomp: the filter has %zu BPF instructions", bpf.len);
	}
	s->prepared_bpf = bpf.insns;
	s->prepared_len = bpf.len;
	s->prepared_notify = bpf.uses_notify;
	if (use_cache)
		cache_write(cache_dir, path, &k, s);
	free(k.p);
	return 0;
}
