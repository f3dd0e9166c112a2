/* Resolving an image's User ("name", "uid", "name:group", "uid:gid") through the rootfs's own
 * /etc/passwd and /etc/group, read with RESOLVE_IN_ROOT so a planted symlink stays in the rootfs. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/user.h"

#define DB_MAX (4u << 20)

static char *read_db(int rootfd, const char *path)
{
	/* O_NONBLOCK: a planted FIFO must not hang us. */
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < DB_MAX) {
		buf = malloc((size_t)st.st_size + 1);
		ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
		if (n < 0) {
			free(buf);
			buf = NULL;
		} else
			buf[n] = '\0';
	}
	close(fd);
	return buf;
}

static bool parse_id(const char *s, uint32_t *out)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v >= UINT32_MAX || s[0] == '-' || s[0] == '+')
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Splits db into lines of ':'-separated fields; calls fn for each line with >= min fields. */
#define MAXF 8
static bool find_line(char *db, size_t min, bool (*match)(char **f, const void *key),
		      const void *key, char **out_fields)
{
	char *save = NULL;
	for (char *line = strtok_r(db, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[MAXF] = {0};
		size_t n = 0;
		char *p = line;
		while (n < MAXF) {
			f[n++] = p;
			char *c = strchr(p, ':');
			if (!c)
				break;
			*c = '\0';
			p = c + 1;
		}
		if (n >= min && match(f, key)) {
			memcpy(out_fields, f, sizeof(f));
			return true;
		}
	}
	return false;
}

static bool match_name(char **f, const void *key)
{
	return strcmp(f[0], key) == 0;
}

static bool match_id(char **f, const void *key)
{
	uint32_t id;
	return parse_id(f[2], &id) && id == *(const uint32_t *)key;
}

int image_resolve_user(int rootfd, const char *spec, struct image_user *u, struct hy_error *err)
{
	memset(u, 0, sizeof(*u));
	if (!spec || !*spec)
		spec = "0";
	char user[256], group[256] = "";
	snprintf(user, sizeof(user), "%s", spec);
	char *colon = strchr(user, ':');
	if (colon) {
		*colon = '\0';
		snprintf(group, sizeof(group), "%s", colon + 1);
	}
	char *passwd = read_db(rootfd, "/etc/passwd");
	char *groupdb = read_db(rootfd, "/etc/group");
	int rc = 0;
	char *f[MAXF];
	const char *username = NULL;
	char uname[256] = "";
	bool have_gid = false;
	if (parse_id(user, &u->uid)) {
		char *db = passwd ? strdup(passwd) : NULL;
		if (db && find_line(db, 4, match_id, &u->uid, f)) {
			snprintf(uname, sizeof(uname), "%s", f[0]);
			username = uname;
			have_gid = parse_id(f[3], &u->gid);
		}
		free(db);
	} else {
		char *db = passwd ? strdup(passwd) : NULL;
		if (!db || !find_line(db, 4, match_name, user, f) || !parse_id(f[2], &u->uid)) {
			rc = hy_error_set(err, ENOENT, "image user '%s': no such user in the rootfs's "
						       "/etc/passwd",
					  user);
			free(db);
			goto out;
		}
		have_gid = parse_id(f[3], &u->gid);
		snprintf(uname, sizeof(uname), "%s", user);
		username = uname;
		free(db);
	}
	if (group[0]) {
		if (!parse_id(group, &u->gid)) {
			char *db = groupdb ? strdup(groupdb) : NULL;
			if (!db || !find_line(db, 3, match_name, group, f) ||
			    !parse_id(f[2], &u->gid)) {
				rc = hy_error_set(err, ENOENT,
						  "image user '%s': no such group '%s' in the rootfs's "
						  "/etc/group",
						  spec, group);
				free(db);
				goto out;
			}
			free(db);
		}
	} else if (!have_gid) {
		u->gid = 0;
	}
	/* Supplementary groups: those listing the user as a member, like login(1) would. */
	if (username && groupdb && !group[0]) {
		char *db = strdup(groupdb), *save = NULL;
		for (char *line = db ? strtok_r(db, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *g[4] = {0};
			size_t n = 0;
			char *p = line;
			while (n < 4) {
				g[n++] = p;
				char *c = strchr(p, ':');
				if (!c)
					break;
				*c = '\0';
				p = c + 1;
			}
			uint32_t gid;
			if (n < 4 || !parse_id(g[2], &gid) || gid == u->gid)
				continue;
			char *msave = NULL;
			for (char *m = strtok_r(g[3], ",", &msave); m; m = strtok_r(NULL, ",", &msave))
				if (strcmp(m, username) == 0 && u->n_additional < IMAGE_MAX_GROUPS) {
					u->additional[u->n_additional++] = gid;
					break;
				}
		}
		free(db);
	}
out:
	free(passwd);
	free(groupdb);
	return rc;
}
