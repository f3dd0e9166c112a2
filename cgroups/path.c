/* cgroup path handling: validation of linux.cgroupsPath, systemd "slice:prefix:name" paths and
 * the state string from which cgroup_open() finds the cgroup again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"

#define CG_PATH_MAX 4096

int cg_normalize_path(const char *in, char **out, struct hy_error *err)
{
	size_t len = strlen(in);
	if (len > CG_PATH_MAX)
		return hy_error_set(err, ENAMETOOLONG, "cgroupsPath is longer than %d bytes",
				    CG_PATH_MAX);
	char *res = malloc(len + 2);
	if (!res)
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x20 || c == 0x7f) {
				free(res);
				return hy_error_set(err, EINVAL,
						    "cgroupsPath '%s': control character in path", in);
			}
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(res);
			return hy_error_set(err, EINVAL,
					    "cgroupsPath '%s': '..' is not allowed (the path must "
					    "stay inside the cgroup hierarchy)",
					    in);
		}
		if (!(n == 1 && p[0] == '.')) {
			res[o++] = '/';
			memcpy(res + o, p, n);
			o += n;
		}
		p += n;
	}
	res[o] = '\0';
	*out = res; /* "" means the hierarchy root */
	return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", as systemd nests slices. */
static int expand_slice(const char *slice, char *buf, size_t size, struct hy_error *err)
{
	size_t len = strlen(slice);
	if (len < 7 || strcmp(slice + len - 6, ".slice") || strchr(slice, '/'))
		return hy_error_set(err, EINVAL, "systemd cgroup: '%s' is not a slice name", slice);
	if (!strcmp(slice, "-.slice")) {
		buf[0] = '\0';
		return 0;
	}
	size_t o = 0;
	const char *stem_end = slice + len - 6;
	for (const char *d = slice; d <= stem_end; d++) {
		if (d != stem_end && *d != '-')
			continue;
		size_t plen = (size_t)(d - slice);
		if (plen == 0 || d[-1] == '-')
			return hy_error_set(err, EINVAL, "systemd cgroup: invalid slice '%s'", slice);
		int n = snprintf(buf + o, size - o, "/%.*s.slice", (int)plen, slice);
		if (n < 0 || (size_t)n >= size - o)
			return hy_error_set(err, ENAMETOOLONG, "systemd cgroup: slice too long");
		o += (size_t)n;
	}
	return 0;
}

int cg_systemd_path(const char *spec, const char *id, char **out, struct hy_error *err)
{
	/* Without systemd there is nobody to own the scope unit: say so rather than make a
	 * cgroupfs tree that merely looks like systemd's. */
	if (access("/run/systemd/system", F_OK) != 0)
		return hy_error_set(err, ENOTSUP,
				    "--systemd-cgroup: systemd is not running on this host (no "
				    "/run/systemd/system); run without --systemd-cgroup to use "
				    "cgroupfs paths");
	return cg_systemd_path_build(spec, id, out, err);
}

int cg_systemd_path_build(const char *spec, const char *id, char **out, struct hy_error *err)
{
	char slice[1024], prefix[1024], name[1024];
	const char *s = spec && *spec ? spec : NULL;
	if (!s) {
		snprintf(slice, sizeof slice, "system.slice");
		snprintf(prefix, sizeof prefix, "hyrun");
		snprintf(name, sizeof name, "%s", id);
	} else {
		const char *c1 = strchr(s, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || strchr(c2 + 1, ':') || (size_t)(c1 - s) >= sizeof slice ||
		    (size_t)(c2 - c1 - 1) >= sizeof prefix || strlen(c2 + 1) >= sizeof name)
			return hy_error_set(err, EINVAL,
					    "cgroupsPath '%s': expected slice:prefix:name with "
					    "--systemd-cgroup",
					    s);
		snprintf(slice, sizeof slice, "%.*s", (int)(c1 - s), s);
		snprintf(prefix, sizeof prefix, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
		snprintf(name, sizeof name, "%s", c2 + 1);
		if (!*slice)
			snprintf(slice, sizeof slice, "system.slice");
	}
	if (strchr(prefix, '/') || strchr(name, '/') || !*name)
		return hy_error_set(err, EINVAL, "cgroupsPath '%s': invalid systemd unit name",
				    s ? s : id);
	char sl[2048], full[4096];
	int r = expand_slice(slice, sl, sizeof sl, err);
	if (r < 0)
		return r;
	bool is_slice = strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ".slice");
	int n;
	if (is_slice)
		n = snprintf(full, sizeof full, "%s/%s", sl, name);
	else if (*prefix)
		n = snprintf(full, sizeof full, "%s/%s-%s.scope", sl, prefix, name);
	else
		n = snprintf(full, sizeof full, "%s/%s.scope", sl, name);
	if (n < 0 || (size_t)n >= sizeof full)
		return hy_error_set(err, ENAMETOOLONG, "systemd cgroup path too long");
	return cg_normalize_path(full, out, err);
}

/* State string: the path when every hierarchy uses the same one (the usual case), otherwise
 * "hier:key=path;key=path..." with '%' and ';' escaped in paths. */
static size_t escaped_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += (*s == '%' || *s == ';') ? 3 : 1;
	return n;
}

int cg_state_path_encode(struct hy_cgroup *cg, struct hy_error *err)
{
	bool uniform = true;
	for (size_t i = 1; i < cg->n; i++)
		uniform = uniform && !strcmp(cg->h[i].path, cg->h[0].path);
	free(cg->state_path);
	if (uniform) {
		cg->state_path = strdup(cg->h[0].path);
		return cg->state_path ? 0 : hy_error_set(err, ENOMEM, "cgroups: out of memory");
	}
	size_t len = 6;
	for (size_t i = 0; i < cg->n; i++)
		len += strlen(cg->h[i].key) + 2 + escaped_len(cg->h[i].path);
	char *s = malloc(len);
	if (!s)
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	size_t o = (size_t)sprintf(s, "hier:");
	for (size_t i = 0; i < cg->n; i++) {
		o += (size_t)sprintf(s + o, "%s%s=", i ? ";" : "", cg->h[i].key);
		for (const char *c = cg->h[i].path; *c; c++)
			o += *c == '%' ? (size_t)sprintf(s + o, "%%25")
			     : *c == ';' ? (size_t)sprintf(s + o, "%%3B")
					 : (size_t)sprintf(s + o, "%c", *c);
	}
	cg->state_path = s;
	return 0;
}

static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && !strncmp(s + i, "%25", 3)) {
			out[o++] = '%';
			i += 2;
		} else if (s[i] == '%' && i + 2 < n && !strncmp(s + i, "%3B", 3)) {
			out[o++] = ';';
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static int set_path(struct cg_hier *h, const char *path, struct hy_error *err)
{
	char *norm = NULL;
	int r = cg_normalize_path(path, &norm, err);
	if (r < 0)
		return r;
	free(h->path);
	free(h->dir);
	h->path = norm;
	if (asprintf(&h->dir, "%s%s", h->mount, norm) < 0) {
		h->dir = NULL;
		return hy_error_set(err, ENOMEM, "cgroups: out of memory");
	}
	return 0;
}

int cg_state_path_decode(struct hy_cgroup *cg, const char *state_path, struct hy_error *err)
{
	int r;
	if (strncmp(state_path, "hier:", 5)) {
		for (size_t i = 0; i < cg->n; i++)
			if ((r = set_path(&cg->h[i], state_path, err)) < 0)
				return r;
		return 0;
	}
	const char *p = state_path + 5;
	while (*p) {
		size_t n = strcspn(p, ";");
		const char *eq = memchr(p, '=', n);
		if (!eq)
			return hy_error_set(err, EINVAL, "cgroup state path '%s': malformed",
					    state_path);
		for (size_t i = 0; i < cg->n; i++) {
			if (strlen(cg->h[i].key) != (size_t)(eq - p) ||
			    strncmp(cg->h[i].key, p, (size_t)(eq - p)))
				continue;
			char *path = unescape(eq + 1, n - (size_t)(eq + 1 - p));
			if (!path)
				return hy_error_set(err, ENOMEM, "cgroups: out of memory");
			r = set_path(&cg->h[i], path, err);
			free(path);
			if (r < 0)
				return r;
		}
		p += n;
		if (*p == ';')
			p++;
	}
	/* A hierarchy mounted after create has no entry: it holds none of the container. */
	return 0;
}
