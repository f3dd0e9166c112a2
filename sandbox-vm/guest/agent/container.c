/* CREATE's container parts, applied inside AGENT_ROOT in the order the container runtime uses:
 * hostname and domainname (the guest's own), mounts in order, sysctls, masked paths, read-only
 * paths, then root.readonly. Paths from the spec are resolved as if AGENT_ROOT were / (a symlink
 * in the image never leads a mount outside it).
 *
 * Mount types: proc, sysfs, tmpfs, devpts, mqueue, cgroup/cgroup2 (mounted as cgroup2), "9p"
 * (source "TAG" or "TAG/sub/path": the tag is mounted once under AGENT_SHARES and the sub path is
 * bind-mounted), "bind" (a path inside the container root). "tmpfs on /dev" becomes devtmpfs, so
 * that the guest's device nodes exist without a device list. mqueue and cgroup are skipped (with a
 * log line) when the guest kernel lacks them. Errors: one line, e.g.
 * "mount proc on /proc: No such device". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "sandbox-vm/proto/agent_proto.h"

#define MAX_SYMLINKS 40
#define MAX_TAGS 64
#define PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
#define BIND_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | \
		    MS_RELATIME | MS_STRICTATIME)

static int fail(char *why, size_t size, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t size, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(why, size, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < size && err)
		snprintf(why + n, size - (size_t)n, ": %s", strerror(err));
	return err ? -err : -EINVAL;
}

/* ---- paths ---- */

int agent_resolve_in_root(const char *root, const char *path, char *out, size_t size)
{
	char done[PATH_MAX] = "";  /* resolved part, relative to root, "/a/b" form */
	char todo[PATH_MAX];       /* what is left to walk */
	size_t dlen = 0;
	int links = 0;

	if (strlen(path) >= sizeof(todo))
		return -ENAMETOOLONG;
	strcpy(todo, path);
	char *rest = todo;
	while (*rest) {
		while (*rest == '/')
			rest++;
		if (!*rest)
			break;
		char *slash = strchr(rest, '/');
		size_t clen = slash ? (size_t)(slash - rest) : strlen(rest);
		char comp[NAME_MAX + 1];
		if (clen > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, rest, clen);
		comp[clen] = '\0';
		rest += clen;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *up = strrchr(done, '/');
			if (up) {
				*up = '\0';
				dlen = (size_t)(up - done);
			}
			continue;
		}
		if (dlen + 1 + clen >= sizeof(done))
			return -ENAMETOOLONG;
		done[dlen] = '/';
		memcpy(done + dlen + 1, comp, clen + 1);
		char full[PATH_MAX * 2];
		snprintf(full, sizeof(full), "%s%s", root, done);
		struct stat st;
		if (lstat(full, &st) < 0 || !S_ISLNK(st.st_mode)) {
			dlen += 1 + clen; /* a directory, a file, or missing: keep it as it is */
			continue;
		}
		if (++links > MAX_SYMLINKS)
			return -ELOOP;
		char target[PATH_MAX];
		ssize_t tl = readlink(full, target, sizeof(target) - 1);
		if (tl < 0)
			return -errno;
		target[tl] = '\0';
		done[dlen] = '\0'; /* the link itself is replaced by its target */
		if (target[0] == '/') {
			done[0] = '\0';
			dlen = 0;
		}
		char next[PATH_MAX];
		if ((size_t)snprintf(next, sizeof(next), "%s/%s", target, rest) >= sizeof(next))
			return -ENAMETOOLONG;
		strcpy(todo, next);
		rest = todo;
	}
	if ((size_t)snprintf(out, size, "%s%s", root, done) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Creates the directories of path below root (which exists). */
static int mkdirs_below(const char *root, char *path)
{
	if (strlen(path) <= strlen(root))
		return 0;
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
		*p = '/';
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A mount point: a directory, or an empty file when the source is a file. */
static int make_mountpoint(char *full, bool dir)
{
	int rc = mkdirs_below(AGENT_ROOT, full);
	if (rc < 0)
		return rc;
	if (dir)
		return mkdir(full, 0755) < 0 && errno != EEXIST ? -errno : 0;
	int fd = open(full, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EISDIR ? 0 : -errno;
	close(fd);
	return 0;
}

/* ---- 9p shares ---- */

static char mounted_tags[MAX_TAGS][32];
static size_t n_mounted_tags;

static bool valid_tag(const char *tag, size_t len)
{
	if (len == 0 || len >= sizeof(mounted_tags[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tag[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return !(len <= 2 && tag[0] == '.' && (len == 1 || tag[1] == '.'));
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
	return false;
}

/* The host directory behind "TAG[/sub]" as a path in the guest (the tag mounted on first use). */
static int share_path(const struct agent_mount *m, char *out, size_t size, char *why,
		      size_t why_size)
{
	const char *src = m->source ? m->source : "";
	const char *slash = strchr(src, '/');
	size_t tlen = slash ? (size_t)(slash - src) : strlen(src);
	if (!valid_tag(src, tlen))
		return fail(why, why_size, 0, "mount 9p on %s: bad share tag in source \"%s\"",
			    m->dest, src);
	if (slash && has_dotdot(slash))
		return fail(why, why_size, 0, "mount 9p on %s: source \"%s\" has a .. component",
			    m->dest, src);
	char tag[32], dir[sizeof(AGENT_SHARES) + sizeof(AGENT_ROOT) + 32];
	memcpy(tag, src, tlen);
	tag[tlen] = '\0';
	snprintf(dir, sizeof(dir), AGENT_SHARES "/%s", tag);
	size_t i;
	for (i = 0; i < n_mounted_tags; i++)
		if (!strcmp(mounted_tags[i], tag))
			break;
	struct stat st;
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(dir, sizeof(dir), "%s", AGENT_ROOT); /* the root's own tag (oci.c) */
	} else if (i == n_mounted_tags) {
		if (n_mounted_tags == MAX_TAGS)
			return fail(why, why_size, 0, "mount 9p %s: more than %d shares", tag,
				    MAX_TAGS);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return fail(why, why_size, errno, "mkdir %s", dir);
		if (mount(tag, dir, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144") < 0)
			return fail(why, why_size, errno, "mount 9p %s on %s", tag, m->dest);
		strcpy(mounted_tags[n_mounted_tags++], tag);
	}
	int rc = agent_resolve_in_root(dir, slash ? slash : "/", out, size);
	if (rc < 0)
		return fail(why, why_size, -rc, "mount 9p %s on %s", src, m->dest);
	return 0;
}

/* ---- mounts ---- */

static int bind_mount(const struct agent_mount *m, const char *src, char *full, char *why,
		      size_t why_size)
{
	struct stat st;
	const char *type = m->type ? m->type : "bind";
	if (stat(src, &st) < 0)
		return fail(why, why_size, errno, "mount %s %s on %s", type, m->source, m->dest);
	int rc = make_mountpoint(full, S_ISDIR(st.st_mode));
	if (rc < 0)
		return fail(why, why_size, -rc, "mount %s on %s: create the mount point", type,
			    m->dest);
	if (mount(src, full, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
		return fail(why, why_size, errno, "mount %s %s on %s", type, m->source, m->dest);
	if ((m->flags & BIND_FLAGS) &&
	    mount(NULL, full, NULL, MS_REMOUNT | MS_BIND | (m->flags & BIND_FLAGS), NULL) < 0)
		return fail(why, why_size, errno, "mount %s on %s: remount with its options", type,
			    m->dest);
	return 0;
}

/* /dev as devtmpfs lacks what runtimes add to a tmpfs /dev: the fd links. */
static void dev_links(const char *dev)
{
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"}};
	char path[PATH_MAX + 16];
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], path) < 0 && errno != EEXIST)
			agent_debug("symlink %s: %s", path, strerror(errno));
	}
}

static int one_mount(const struct agent_mount *m, char *why, size_t why_size)
{
	char full[PATH_MAX], src[PATH_MAX];
	const char *type = m->type ? m->type : "";
	bool bind = !strcmp(type, "bind") || !strcmp(type, "9p") || (m->flags & MS_BIND);
	int rc = agent_resolve_in_root(AGENT_ROOT, m->dest, full, sizeof(full));
	if (rc < 0)
		return fail(why, why_size, -rc, "mount %s on %s", type, m->dest);

	if (!strcmp(type, "9p")) {
		if ((rc = share_path(m, src, sizeof(src), why, why_size)) < 0)
			return rc;
		return bind_mount(m, src, full, why, why_size);
	}
	if (bind) {
		if (!m->source)
			return fail(why, why_size, 0, "mount bind on %s: no source", m->dest);
		if ((rc = agent_resolve_in_root(AGENT_ROOT, m->source, src, sizeof(src))) < 0)
			return fail(why, why_size, -rc, "mount bind %s on %s", m->source, m->dest);
		return bind_mount(m, src, full, why, why_size);
	}

	const char *fstype = type, *data = m->data;
	bool optional = false;
	if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
		fstype = "cgroup2";
		data = NULL; /* v1 controller options mean nothing to cgroup2 */
		optional = true;
	} else if (!strcmp(type, "mqueue")) {
		optional = true;
	} else if (!strcmp(type, "tmpfs") && !strcmp(full, AGENT_ROOT "/dev")) {
		fstype = "devtmpfs";
		data = NULL;
	}
	if ((rc = make_mountpoint(full, true)) < 0)
		return fail(why, why_size, -rc, "mount %s on %s: create the mount point", type,
			    m->dest);
	unsigned long flags = (unsigned long)m->flags & ~(unsigned long)(PROPAGATION | MS_REC);
	if (mount(m->source ? m->source : fstype, full, fstype, flags, data) < 0) {
		if (optional && errno == ENODEV) {
			agent_log("mount %s on %s: not in the guest kernel, skipped", type, m->dest);
			return 0;
		}
		return fail(why, why_size, errno, "mount %s on %s", type, m->dest);
	}
	if (m->flags & PROPAGATION &&
	    mount(NULL, full, NULL, (m->flags & (PROPAGATION | MS_REC)), NULL) < 0)
		return fail(why, why_size, errno, "mount %s on %s: propagation", type, m->dest);
	if (!strcmp(fstype, "devtmpfs"))
		dev_links(full);
	agent_debug("mounted %s on %s", fstype, m->dest);
	return 0;
}

/* ---- paths and sysctls ---- */

static int mask_path(const char *path, char *why, size_t why_size)
{
	char full[PATH_MAX];
	struct stat st;
	int rc = agent_resolve_in_root(AGENT_ROOT, path, full, sizeof(full));
	if (rc < 0)
		return fail(why, why_size, -rc, "maskedPaths: %s", path);
	if (lstat(full, &st) < 0)
		return errno == ENOENT ? 0 : fail(why, why_size, errno, "maskedPaths: %s", path);
	if (S_ISDIR(st.st_mode))
		rc = mount("tmpfs", full, "tmpfs", MS_RDONLY, NULL);
	else
		rc = mount("/dev/null", full, NULL, MS_BIND, NULL);
	return rc < 0 ? fail(why, why_size, errno, "maskedPaths: %s", path) : 0;
}

static int readonly_path(const char *path, char *why, size_t why_size)
{
	char full[PATH_MAX];
	int rc = agent_resolve_in_root(AGENT_ROOT, path, full, sizeof(full));
	if (rc < 0)
		return fail(why, why_size, -rc, "readonlyPaths: %s", path);
	if (mount(full, full, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : fail(why, why_size, errno, "readonlyPaths: %s", path);
	if (mount(NULL, full, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return fail(why, why_size, errno, "readonlyPaths: %s: remount read-only", path);
	return 0;
}

static int sysctl(const char *kv, char *why, size_t why_size)
{
	const char *eq = strchr(kv, '=');
	char path[PATH_MAX];
	if (!eq || eq == kv)
		return fail(why, why_size, 0, "sysctl \"%s\": expected key=value", kv);
	int n = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - kv), kv);
	if (n < 0 || (size_t)n >= sizeof(path))
		return fail(why, why_size, ENAMETOOLONG, "sysctl %.*s", (int)(eq - kv), kv);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	if (has_dotdot(path + 9) || strstr(path + 9, "//"))
		return fail(why, why_size, 0, "sysctl %.*s: bad key", (int)(eq - kv), kv);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(why, why_size, errno, "sysctl %.*s", (int)(eq - kv), kv);
	ssize_t w = write(fd, eq + 1, strlen(eq + 1));
	int e = errno;
	close(fd);
	if (w < 0)
		return fail(why, why_size, e, "sysctl %.*s", (int)(eq - kv), kv);
	return 0;
}

int agent_container_setup(const struct agent_process *p, char *why, size_t why_size)
{
	int rc;
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		return fail(why, why_size, errno, "hostname \"%s\"", p->hostname);
	if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
		return fail(why, why_size, errno, "domainname \"%s\"", p->domainname);
	for (size_t i = 0; i < p->n_mounts; i++)
		if ((rc = one_mount(&p->mounts[i], why, why_size)) < 0)
			return rc;
	for (size_t i = 0; i < p->sysctls.n; i++)
		if ((rc = sysctl(p->sysctls.v[i], why, why_size)) < 0)
			return rc;
	for (size_t i = 0; i < p->masked.n; i++)
		if ((rc = mask_path(p->masked.v[i], why, why_size)) < 0)
			return rc;
	for (size_t i = 0; i < p->readonly.n; i++)
		if ((rc = readonly_path(p->readonly.v[i], why, why_size)) < 0)
			return rc;
	if (p->root_readonly &&
	    mount(NULL, AGENT_ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return fail(why, why_size, errno, "root.readonly: remount the root read-only");
	return 0;
}
