/* Reading and writing cgroup interface files. Each write is one write(2) call, as the kernel
 * parses one value per write. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"

static const char *const v1_names[CG__COUNT] = {
	[CG_CPU] = "cpu",	  [CG_CPUACCT] = "cpuacct",	[CG_CPUSET] = "cpuset",
	[CG_MEMORY] = "memory",	  [CG_DEVICES] = "devices",	[CG_FREEZER] = "freezer",
	[CG_BLKIO] = "blkio",	  [CG_PIDS] = "pids",		[CG_HUGETLB] = "hugetlb",
	[CG_NET_CLS] = "net_cls", [CG_NET_PRIO] = "net_prio",	[CG_RDMA] = "rdma",
	[CG_PERF_EVENT] = "perf_event", [CG_MISC] = "misc",
};

const char *cg_ctrl_name(enum cg_ctrl c)
{
	return c < CG__COUNT ? v1_names[c] : "?";
}

const char *cg_ctrl_v2_name(enum cg_ctrl c)
{
	switch (c) {
	case CG_CPU:
	case CG_CPUSET:
	case CG_MEMORY:
	case CG_PIDS:
	case CG_HUGETLB:
	case CG_RDMA:
	case CG_PERF_EVENT:
	case CG_MISC:
		return v1_names[c];
	case CG_BLKIO:
		return "io";
	default:
		return NULL;
	}
}

int cg_ctrl_from_name(const char *name)
{
	for (int c = 0; c < CG__COUNT; c++)
		if (!strcmp(name, v1_names[c]))
			return c;
	if (!strcmp(name, "io"))
		return CG_BLKIO;
	return -1;
}

static int open_at(const char *dir, const char *name, int flags, struct hy_error *err)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return hy_error_set(err, ENAMETOOLONG, "%s/%s: path too long", dir, name);
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "%s", path);
	return fd;
}

int cg_write(const char *dir, const char *name, const char *value, struct hy_error *err)
{
	int fd = open_at(dir, name, O_WRONLY, err);
	if (fd < 0)
		return fd;
	size_t len = strlen(value);
	ssize_t w = write(fd, value, len);
	int saved = errno;
	close(fd);
	if (w < 0)
		return hy_error_errno(err, saved, "writing '%s' to %s/%s", value, dir, name);
	if ((size_t)w != len)
		return hy_error_set(err, EIO, "short write of '%s' to %s/%s", value, dir, name);
	return 0;
}

int cg_writef(const char *dir, const char *name, struct hy_error *err, const char *fmt, ...)
{
	char buf[4200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return hy_error_set(err, E2BIG, "%s/%s: value too long", dir, name);
	return cg_write(dir, name, buf, err);
}

int cg_read(const char *dir, const char *name, char *buf, size_t size, struct hy_error *err)
{
	int fd = open_at(dir, name, O_RDONLY, err);
	if (fd < 0)
		return fd;
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			close(fd);
			return hy_error_errno(err, saved, "reading %s/%s", dir, name);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return (int)len;
}

int cg_read_all(const char *dir, const char *name, char **out, struct hy_error *err)
{
	int fd = open_at(dir, name, O_RDONLY, err);
	if (fd < 0)
		return fd;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			/* Interface files are small; refuse anything absurd rather than grow forever. */
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(buf);
			close(fd);
			return hy_error_errno(err, saved, "reading %s/%s", dir, name);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf)
		return hy_error_set(err, ENOMEM, "reading %s/%s: out of memory", dir, name);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int cg_read_u64(const char *dir, const char *name, uint64_t *out, struct hy_error *err)
{
	char buf[64];
	int r = cg_read(dir, name, buf, sizeof buf, err);
	if (r < 0)
		return r;
	if (!strncmp(buf, "max", 3)) {
		*out = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return hy_error_set(err, EINVAL, "%s/%s: not a number: '%.20s'", dir, name, buf);
	*out = v;
	return 0;
}

bool cg_file_exists(const char *dir, const char *name)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	return n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0;
}

int cg_keyed_u64(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			*out = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}
