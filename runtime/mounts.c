#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/rootfs.h"
#include "runtime/security.h"

struct flag_opt {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct flag_opt flag_opts[] = {
	{"defaults", false, 0},
	{"ro", false, MS_RDONLY},
	{"rw", true, MS_RDONLY},
	{"suid", true, MS_NOSUID},
	{"nosuid", false, MS_NOSUID},
	{"dev", true, MS_NODEV},
	{"nodev", false, MS_NODEV},
	{"exec", true, MS_NOEXEC},
	{"noexec", false, MS_NOEXEC},
	{"sync", false, MS_SYNCHRONOUS},
	{"async", true, MS_SYNCHRONOUS},
	{"dirsync", false, MS_DIRSYNC},
	{"remount", false, MS_REMOUNT},
	{"mand", false, MS_MANDLOCK},
	{"nomand", true, MS_MANDLOCK},
	{"atime", true, MS_NOATIME},
	{"noatime", false, MS_NOATIME},
	{"diratime", true, MS_NODIRATIME},
	{"nodiratime", false, MS_NODIRATIME},
	{"relatime", false, MS_RELATIME},
	{"norelatime", true, MS_RELATIME},
	{"strictatime", false, MS_STRICTATIME},
	{"nostrictatime", true, MS_STRICTATIME},
	{"lazytime", false, MS_LAZYTIME},
	{"nolazytime", true, MS_LAZYTIME},
	{"silent", false, MS_SILENT},
	{"loud", true, MS_SILENT},
	{"iversion", false, MS_I_VERSION},
	{"noiversion", true, MS_I_VERSION},
	{"nosymfollow", false, MS_NOSYMFOLLOW},
	{"symfollow", true, MS_NOSYMFOLLOW},
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_opts[] = {
	{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Recursive attributes (mount_setattr with AT_RECURSIVE), as crun and runc 1.1 accept them. */
static const struct {
	const char *name;
	bool clear;
	unsigned long long attr;
} recursive_opts[] = {
	{"rro", false, MOUNT_ATTR_RDONLY},        {"rrw", true, MOUNT_ATTR_RDONLY},
	{"rnosuid", false, MOUNT_ATTR_NOSUID},    {"rsuid", true, MOUNT_ATTR_NOSUID},
	{"rnodev", false, MOUNT_ATTR_NODEV},      {"rdev", true, MOUNT_ATTR_NODEV},
	{"rnoexec", false, MOUNT_ATTR_NOEXEC},    {"rexec", true, MOUNT_ATTR_NOEXEC},
	{"rnoatime", false, MOUNT_ATTR_NOATIME},  {"rrelatime", false, MOUNT_ATTR_RELATIME},
	{"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
	{"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
	{"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

/* Accepted for compatibility with what podman and crun write; they have no effect here. */
static const char *const ignored_opts[] = {"tmpcopyup", "notmpcopyup", "copy-symlink",
					   "src-nofollow", "dest-nofollow", "Z", "z", "U"};

unsigned long mount_propagation_flag(const char *name)
{
	for (size_t i = 0; i < sizeof(propagation_opts) / sizeof(propagation_opts[0]); i++)
		if (!strcmp(name, propagation_opts[i].name))
			return propagation_opts[i].flag;
	return 0;
}

static int data_append(char **data, const char *opt)
{
	size_t old = *data ? strlen(*data) : 0, add = strlen(opt);
	char *n = realloc(*data, old + add + 2);
	if (!n)
		return -ENOMEM;
	if (old)
		n[old++] = ',';
	memcpy(n + old, opt, add + 1);
	*data = n;
	return 0;
}

int mount_opts_parse(const struct hy_strv *options, size_t index, struct mount_opts *out,
		     struct hy_error *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < options->n; i++) {
		const char *o = options->v[i];
		bool done = false;
		for (size_t k = 0; !done && k < sizeof(flag_opts) / sizeof(flag_opts[0]); k++) {
			if (strcmp(o, flag_opts[k].name))
				continue;
			if (flag_opts[k].clear) {
				out->flags &= ~flag_opts[k].flag;
				out->clear |= flag_opts[k].flag;
			} else {
				out->flags |= flag_opts[k].flag;
				out->clear &= ~flag_opts[k].flag;
			}
			done = true;
		}
		if (done)
			continue;
		if (!strcmp(o, "bind") || !strcmp(o, "rbind")) {
			out->bind = true;
			out->rbind |= o[0] == 'r';
			continue;
		}
		unsigned long prop = mount_propagation_flag(o);
		if (prop) {
			if (out->n_propagation == 4) {
				mount_opts_free(out);
				return hy_error_set(err, EINVAL,
						    "mounts[%zu].options: too many propagation options",
						    index);
			}
			out->propagation[out->n_propagation++] = prop;
			continue;
		}
		for (size_t k = 0; !done && k < sizeof(recursive_opts) / sizeof(recursive_opts[0]);
		     k++) {
			if (strcmp(o, recursive_opts[k].name))
				continue;
			if (recursive_opts[k].clear) {
				out->attr_clr |= recursive_opts[k].attr;
				out->attr_set &= ~recursive_opts[k].attr;
			} else {
				out->attr_set |= recursive_opts[k].attr;
				out->attr_clr &= ~recursive_opts[k].attr;
			}
			done = true;
		}
		for (size_t k = 0; !done && k < sizeof(ignored_opts) / sizeof(ignored_opts[0]); k++)
			done = !strcmp(o, ignored_opts[k]);
		if (done)
			continue;
		if (!strcmp(o, "idmap") || !strcmp(o, "ridmap")) {
			out->idmap = true;
			out->ridmap |= o[0] == 'r';
			continue;
		}
		if (data_append(&out->data, o) < 0) {
			mount_opts_free(out);
			return hy_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

void mount_opts_free(struct mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}

bool mounts_has_dev(const struct hy_config *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (!strcmp(cfg->mounts[i].destination, "/dev"))
			return true;
	return false;
}

/* The flags the kernel locks on a mount made in an unprivileged user namespace. */
static unsigned long locked_flags(const char *target)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(target, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Whether two comma-separated controller lists name the same set. */
static bool same_controllers(const char *a, const char *b)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *x = pass ? b : a, *y = pass ? a : b;
		while (*x) {
			size_t n = strcspn(x, ",");
			bool found = false;
			for (const char *p = y; *p && !found;) {
				size_t m = strcspn(p, ",");
				found = m == n && !strncmp(p, x, n);
				p += m + (p[m] == ',');
			}
			if (!found)
				return false;
			x += n + (x[n] == ',');
		}
	}
	return true;
}

/* Our cgroup in the hierarchy with these controllers (v2: the "0::" line of /proc/self/cgroup). */
static int own_cgroup_path(const char *controllers, bool v2, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	char line[4096];
	int rc = -ENOENT;
	while (rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		bool match = v2 ? !strcmp(line, "0") && c1[1] == '\0'
				: strcmp(line, "0") && same_controllers(c1 + 1, controllers);
		if (match && strlen(c2 + 1) < size) {
			strcpy(out, c2 + 1);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* Without a cgroup namespace a fresh cgroup mount would show the host's whole tree (writable
 * with "rw"): the container gets its own cgroup directory instead, as runc does. */
static int bind_own_cgroup(const char *host_mp, const char *controllers, bool v2,
			   const char *target, bool read_only, struct hy_error *err)
{
	char path[4096], source[8192];
	int rc = own_cgroup_path(controllers, v2, path, sizeof(path));
	if (rc < 0)
		return hy_error_errno(err, -rc, "find our cgroup for %s", v2 ? "cgroup2" : controllers);
	snprintf(source, sizeof(source), "%s%s", host_mp, path);
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hy_error_errno(err, errno, "bind cgroup %s on %s", source, target);
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC |
			   (read_only ? MS_RDONLY : 0);
	if (mount(NULL, target, NULL, fl, NULL) < 0)
		return hy_error_errno(err, errno, "remount cgroup %s", target);
	return 0;
}

/* One v1 hierarchy line of /proc/self/mountinfo: its mount point's last name and its options. */
static int mount_cgroup_v1_tree(int dirfd, const char *dir_path, bool read_only, bool cgroupns,
				struct hy_error *err)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return hy_error_errno(err, errno, "open /proc/self/mountinfo");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint opts ... - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char fstype[32], source[64], super[512], mp[1024];
		if (sscanf(sep + 3, "%31s %63s %511s", fstype, source, super) != 3)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1)
			continue;
		if (strncmp(mp, "/sys/fs/cgroup/", 15))
			continue;
		const char *name = mp + 15;
		if (strchr(name, '/') || !*name)
			continue;
		bool v2 = !strcmp(fstype, "cgroup2");
		if (!v2 && strcmp(fstype, "cgroup"))
			continue;
		/* Keep only the controller names (and name=...) from the super options. */
		char opts[512] = "";
		if (!v2) {
			char *save = NULL;
			for (char *t = strtok_r(super, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (!strcmp(t, "rw") || !strcmp(t, "ro") || !strncmp(t, "release_agent", 13) ||
				    !strcmp(t, "clone_children") || !strcmp(t, "noprefix") ||
				    !strcmp(t, "xattr") || !strcmp(t, "cpuset_v2_mode"))
					continue;
				if (strlen(opts) + strlen(t) + 2 >= sizeof(opts))
					break;
				if (opts[0])
					strcat(opts, ",");
				strcat(opts, t);
			}
		}
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
			rc = hy_error_errno(err, errno, "%s/%s: mkdir", dir_path, name);
			break;
		}
		char target[4096];
		snprintf(target, sizeof(target), "%s/%s", dir_path, name);
		unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME |
				   (read_only ? MS_RDONLY : 0);
		if (!cgroupns)
			rc = bind_own_cgroup(mp, opts, v2, target, read_only, err);
		else if (mount(v2 ? "cgroup2" : "cgroup", target, v2 ? "cgroup2" : "cgroup", fl,
			       v2 ? NULL : opts) < 0)
			rc = hy_error_errno(err, errno, "mount cgroup %s on %s", opts, target);
	}
	free(line);
	fclose(f);
	return rc;
}

/* type "cgroup": on v2 hosts the cgroup2 filesystem; on v1/hybrid a tmpfs with one mount per
 * host hierarchy (a plain "cgroup" mount would try to combine every controller and fail). */
static int mount_cgroup(int rootfd, const char *dest, const char *target, bool cgroupns,
			const struct mount_opts *o, size_t index, struct hy_error *err)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		if (!cgroupns) {
			int rc = bind_own_cgroup("/sys/fs/cgroup", "", true, target,
						 o->flags & MS_RDONLY, err);
			return rc < 0 ? hy_error_prefix(err, "mounts[%zu]", index) : 0;
		}
		if (mount("cgroup2", target, "cgroup2", o->flags, NULL) < 0)
			return hy_error_errno(err, errno, "mounts[%zu]: mount cgroup2", index);
		return 0;
	}
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return hy_error_errno(err, errno, "mounts[%zu]: mount tmpfs for cgroups", index);
	/* The old fd is the directory under the tmpfs: reopen to reach the tmpfs. */
	int fd = rootfs_open(rootfd, dest, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return hy_error_errno(err, -fd, "mounts[%zu]: reopen %s", index, dest);
	char path[32];
	rootfs_fd_path(fd, path);
	int rc = mount_cgroup_v1_tree(fd, path, o->flags & MS_RDONLY, cgroupns, err);
	if (rc < 0) {
		close(fd);
		return hy_error_prefix(err, "mounts[%zu]", index);
	}
	if (o->flags & MS_RDONLY &&
	    mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755") < 0)
		rc = hy_error_errno(err, errno, "mounts[%zu]: remount cgroup tmpfs read-only", index);
	close(fd);
	return rc;
}

bool mount_wants_idmap(const struct hy_mount *m)
{
	if (m->n_uid_mappings || m->n_gid_mappings)
		return true;
	for (size_t i = 0; i < m->options.n; i++)
		if (!strcmp(m->options.v[i], "idmap") || !strcmp(m->options.v[i], "ridmap"))
			return true;
	return false;
}

int mount_idmap_userns(const struct hy_config *cfg, size_t index, int *userns_fd,
		       struct hy_error *err)
{
	const struct hy_mount *m = &cfg->mounts[index];
	const struct hy_id_mapping *uid = m->uid_mappings, *gid = m->gid_mappings;
	size_t n_uid = m->n_uid_mappings, n_gid = m->n_gid_mappings;
	if (!n_uid && cfg->has_linux) {
		uid = cfg->linux_.uid_mappings, n_uid = cfg->linux_.n_uid_mappings;
		gid = cfg->linux_.gid_mappings, n_gid = cfg->linux_.n_gid_mappings;
	}
	if (!n_uid || !n_gid)
		return hy_error_set(err, EINVAL,
				    "mounts[%zu]: an idmapped mount needs uidMappings and gidMappings "
				    "(on the mount, or linux.uidMappings/gidMappings)",
				    index);
	char what[48];
	snprintf(what, sizeof(what), "mounts[%zu]", index);
	return userns_create_mapped_fd(uid, n_uid, gid, n_gid, what, userns_fd, err);
}

/* open_tree clone of source, made idmapped, moved onto the destination (fd). */
static int idmap_bind(const char *source, int fd, const struct mount_opts *o, int userns_fd,
		      size_t index, struct hy_error *err)
{
	int tree = open_tree(AT_FDCWD, source,
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o->rbind ? AT_RECURSIVE : 0));
	if (tree < 0)
		return hy_error_errno(err, errno, "mounts[%zu]: open_tree %s", index, source);
	char what[48];
	snprintf(what, sizeof(what), "mounts[%zu]", index);
	int rc = userns_idmap_mount(tree, userns_fd, o->ridmap, what, err);
	if (rc == 0 && move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		rc = hy_error_errno(err, errno, "mounts[%zu]: move_mount of the idmapped %s", index,
				    source);
	close(tree);
	return rc;
}

/* Removes every "prefix..." option from a comma-separated option string, in place. */
static void drop_data_option(char *data, const char *prefix)
{
	size_t plen = strlen(prefix);
	char *w = data;
	for (char *r = data; *r;) {
		char *end = strchr(r, ',');
		size_t len = end ? (size_t)(end - r) : strlen(r);
		if (strncmp(r, prefix, plen)) {
			if (w != data)
				*w++ = ',';
			memmove(w, r, len);
			w += len;
		}
		r += len + (end ? 1 : 0);
	}
	*w = '\0';
}

static int mount_one(const struct hy_mount *m, const char *bundle, bool cgroupns, size_t index,
		     int rootfd, bool in_userns, int idmap_fd, struct hy_error *err)
{
	struct mount_opts o;
	int rc = mount_opts_parse(&m->options, index, &o, err);
	if (rc < 0)
		return rc;
	if ((o.idmap || idmap_fd >= 0) &&
	    !(o.bind || (m->type && !strcmp(m->type, "bind")))) {
		mount_opts_free(&o);
		return hy_error_set(err, ENOTSUP, "mounts[%zu]: idmap is only supported on bind mounts",
				    index);
	}
	if (idmap_fd < 0 && (o.idmap || m->n_uid_mappings)) {
		mount_opts_free(&o);
		return hy_error_set(err, EINVAL, "mounts[%zu]: idmapped mount without its user "
						 "namespace", index);
	}
	/* A relative source is relative to the bundle. */
	char source_buf[4096];
	const char *source = m->source;
	if (source && source[0] != '/' && bundle) {
		int n = snprintf(source_buf, sizeof(source_buf), "%s/%s", bundle, source);
		if (n < 0 || (size_t)n >= sizeof(source_buf)) {
			mount_opts_free(&o);
			return hy_error_set(err, ENAMETOOLONG, "mounts[%zu].source: too long", index);
		}
		source = source_buf;
	}
	bool bind = o.bind || (m->type && !strcmp(m->type, "bind"));
	bool is_dir = true;
	if (bind) {
		struct stat st;
		if (!source) {
			mount_opts_free(&o);
			return hy_error_set(err, EINVAL, "mounts[%zu]: bind mount without a source",
					    index);
		}
		if (stat(source, &st) < 0) {
			rc = hy_error_errno(err, errno, "mounts[%zu]: source %s", index, source);
			goto out;
		}
		is_dir = S_ISDIR(st.st_mode);
	}
	int fd = rootfs_open_or_create(rootfd, m->destination, is_dir, err);
	if (fd < 0) {
		rc = hy_error_prefix(err, "mounts[%zu]: destination", index);
		goto out;
	}
	char target[32];
	rootfs_fd_path(fd, target);
	if (bind) {
		if (idmap_fd >= 0) {
			if ((rc = idmap_bind(source, fd, &o, idmap_fd, index, err)) < 0)
				goto close_fd;
		} else if (mount(source, target, NULL, MS_BIND | (o.rbind ? MS_REC : 0), NULL) < 0) {
			rc = hy_error_errno(err, errno, "mounts[%zu]: bind %s on %s", index, source,
					    m->destination);
			goto close_fd;
		}
		unsigned long fl = o.flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
		if (fl || o.clear) {
			/* The new mount is on top of fd's dentry now: reopen to reach it. */
			close(fd);
			fd = rootfs_open(rootfd, m->destination, O_PATH);
			if (fd < 0) {
				rc = hy_error_errno(err, -fd, "mounts[%zu]: reopen %s", index,
						    m->destination);
				goto out;
			}
			rootfs_fd_path(fd, target);
			unsigned long keep = in_userns ? locked_flags(target) & ~o.clear &
								 ~(unsigned long)MS_RDONLY : 0;
			if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | fl | keep, NULL) < 0) {
				rc = hy_error_errno(err, errno, "mounts[%zu]: remount %s", index,
						    m->destination);
				goto close_fd;
			}
		}
	} else if (m->type && !strcmp(m->type, "cgroup")) {
		rc = mount_cgroup(rootfd, m->destination, target, cgroupns, &o, index, err);
		if (rc < 0)
			goto close_fd;
	} else {
		if (!m->type) {
			rc = hy_error_set(err, EINVAL, "mounts[%zu]: no type and not a bind mount",
					  index);
			goto close_fd;
		}
		int mrc = mount(m->source ? m->source : m->type, target, m->type, o.flags, o.data);
		/* As crun: in a user namespace whose gid map lacks the tty group, devpts refuses
		 * gid=N; the pty then belongs to the container's root group instead. */
		if (mrc < 0 && errno == EINVAL && in_userns && !strcmp(m->type, "devpts") && o.data &&
		    strstr(o.data, "gid=")) {
			drop_data_option(o.data, "gid=");
			mrc = mount(m->source ? m->source : m->type, target, m->type, o.flags,
				    o.data[0] ? o.data : NULL);
			if (mrc < 0)
				errno = EINVAL;
		}
		if (mrc < 0) {
			rc = hy_error_errno(err, errno, "mounts[%zu]: mount %s on %s (%s)", index,
					    m->type, m->destination, o.data ? o.data : "");
			goto close_fd;
		}
	}
	if (o.n_propagation || o.attr_set || o.attr_clr) {
		close(fd);
		fd = rootfs_open(rootfd, m->destination, O_PATH);
		if (fd < 0) {
			rc = hy_error_errno(err, -fd, "mounts[%zu]: reopen %s", index, m->destination);
			goto out;
		}
		rootfs_fd_path(fd, target);
	}
	for (int i = 0; i < o.n_propagation; i++) {
		if (mount(NULL, target, NULL, o.propagation[i], NULL) < 0) {
			rc = hy_error_errno(err, errno, "mounts[%zu]: set propagation of %s", index,
					    m->destination);
			goto close_fd;
		}
	}
	if (o.attr_set || o.attr_clr) {
		struct mount_attr attr = {.attr_set = o.attr_set, .attr_clr = o.attr_clr};
		/* The atime modes are one field: clearing it is how another mode gets set. */
		if (attr.attr_set & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RELATIME))
			attr.attr_clr |= MOUNT_ATTR__ATIME;
		if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
			rc = hy_error_errno(err, errno, "mounts[%zu]: mount_setattr %s", index,
					    m->destination);
			goto close_fd;
		}
	}
close_fd:
	close(fd);
out:
	mount_opts_free(&o);
	return rc;
}

int mounts_apply(const struct hy_config *cfg, int rootfd, bool in_userns, const int *idmap_fds,
		 int (*before_cgroup)(void *arg, struct hy_error *err), void *arg,
		 struct hy_error *err)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const char *type = cfg->mounts[i].type;
		if (before_cgroup && type && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"))) {
			int rc = before_cgroup(arg, err);
			if (rc < 0)
				return rc;
			before_cgroup = NULL;
		}
		int rc = mount_one(&cfg->mounts[i], cfg->bundle,
				   cfg->linux_.namespaces[HY_NS_CGROUP].present, i, rootfd, in_userns,
				   idmap_fds ? idmap_fds[i] : -1, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
