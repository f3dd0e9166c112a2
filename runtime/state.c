/* The state store: <root>/<id>/state.json written atomically (temp + rename), <root>/<id>/lock
 * taken with flock.
 * state.json holds the OCI state plus a "hyrun" object with what later commands need to find
 * the container again (pid start time, cgroup, isolation); `state` prints only the OCI part. */
#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cgroups/cgroups.h"
#include "runtime/json.h"


#define STATE_FILE "state.json"
#define LOCK_FILE "lock"
#define ID_MAX 1024

static const char *const status_names[] = {
	[HY_STATUS_CREATING] = "creating", [HY_STATUS_CREATED] = "created",
	[HY_STATUS_RUNNING] = "running",   [HY_STATUS_PAUSED] = "paused",
	[HY_STATUS_STOPPED] = "stopped",
};

const char *state_status_name(enum hy_status s)
{
	if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[s];
	return "unknown";
}

int state_validate_id(const char *id, struct hy_error *err)
{
	if (!id || !*id)
		return hy_error_set(err, EINVAL, "invalid container id: empty");
	size_t len = strnlen(id, ID_MAX + 1);
	if (len > ID_MAX)
		return hy_error_set(err, EINVAL, "invalid container id: longer than %d bytes", ID_MAX);
	/* A leading dot would allow "." and ".." and hide the directory. */
	if (id[0] == '.')
		return hy_error_set(err, EINVAL, "invalid container id '%s': must not start with '.'",
				    id);
	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '.' || c == '+' || c == '-';
		if (!ok)
			return hy_error_set(err, EINVAL,
					    "invalid container id '%.64s': only [A-Za-z0-9_.+-] allowed",
					    id);
	}
	return 0;
}

char *state_dir_path(const char *root, const char *id)
{
	char *s = NULL;
	return asprintf(&s, "%s/%s", root, id) < 0 ? NULL : s;
}

char *state_file_path(const char *root, const char *id, const char *name)
{
	char *s = NULL;
	if (!name)
		return state_dir_path(root, id);
	return asprintf(&s, "%s/%s/%s", root, id, name) < 0 ? NULL : s;
}

/* mkdir -p for the state root; it holds container secrets (sockets, pids): 0700. */
static int mkdir_parents(const char *path, struct hy_error *err)
{
	char *copy = strdup(path);
	if (!copy)
		return hy_error_set(err, ENOMEM, "out of memory");
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			int rc = hy_error_errno(err, e, "mkdir %s", copy);
			free(copy);
			return rc;
		}
		*p = saved;
		if (!saved)
			break;
	}
	free(copy);
	return 0;
}

static int lock_fd_exclusive(int fd, const char *path, struct hy_error *err)
{
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return hy_error_errno(err, errno, "flock %s", path);
	}
	return 0;
}

int state_create_dir(const char *root, const char *id, int *lock_fd, struct hy_error *err)
{
	int rc = state_validate_id(id, err);
	if (rc)
		return rc;
	if ((rc = mkdir_parents(root, err)))
		return rc;
	char *dir = state_dir_path(root, id);
	char *lock = state_file_path(root, id, LOCK_FILE);
	if (!dir || !lock) {
		free(dir);
		free(lock);
		return hy_error_set(err, ENOMEM, "out of memory");
	}
	if (mkdir(dir, 0700) < 0) {
		int e = errno;
		rc = e == EEXIST ? hy_error_set(err, EEXIST, "container '%s' already exists", id)
				 : hy_error_errno(err, e, "mkdir %s", dir);
		goto out;
	}
	int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = hy_error_errno(err, errno, "create %s", lock);
		rmdir(dir);
		goto out;
	}
	if ((rc = lock_fd_exclusive(fd, lock, err))) {
		close(fd);
		unlink(lock);
		rmdir(dir);
		goto out;
	}
	*lock_fd = fd;
out:
	free(dir);
	free(lock);
	return rc;
}

int state_lock(const char *root, const char *id, int *lock_fd, struct hy_error *err)
{
	int rc = state_validate_id(id, err);
	if (rc)
		return rc;
	char *lock = state_file_path(root, id, LOCK_FILE);
	if (!lock)
		return hy_error_set(err, ENOMEM, "out of memory");
	int fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		rc = e == ENOENT ? hy_error_set(err, ENOENT, "container '%s' does not exist", id)
				 : hy_error_errno(err, e, "open %s", lock);
		free(lock);
		return rc;
	}
	rc = lock_fd_exclusive(fd, lock, err);
	free(lock);
	/* A delete may have removed the directory while we waited for its lock. */
	struct stat st;
	if (!rc && (fstat(fd, &st) < 0 || st.st_nlink == 0))
		rc = hy_error_set(err, ENOENT, "container '%s' does not exist", id);
	if (rc) {
		close(fd);
		return rc;
	}
	*lock_fd = fd;
	return 0;
}

void state_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd); /* closing the last descriptor releases the flock */
}

char *state_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char date[40], *s = NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	return asprintf(&s, "%s.%09ldZ", date, ts.tv_nsec) < 0 ? NULL : s;
}

/* ---- JSON out ---- */

static void gen_str(yajl_gen g, const char *s)
{
	if (!s)
		s = "";
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_kstr(yajl_gen g, const char *k, const char *v)
{
	gen_str(g, k);
	gen_str(g, v);
}

static void gen_kint(yajl_gen g, const char *k, long long v)
{
	gen_str(g, k);
	yajl_gen_integer(g, v);
}

static void gen_kbool(yajl_gen g, const char *k, bool v)
{
	gen_str(g, k);
	yajl_gen_bool(g, v);
}

char *state_owner_name(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	char *s = NULL;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return strdup(res->pw_name);
	return asprintf(&s, "#%u", (unsigned)uid) < 0 ? NULL : s;
}

static char *gen_state(const struct hy_state *st, bool pretty, bool with_private)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return NULL;
	if (pretty) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, "  ");
	}
	yajl_gen_map_open(g);
	gen_kstr(g, "ociVersion", st->oci_version ? st->oci_version : "1.2.0");
	gen_kstr(g, "id", st->id);
	/* The OCI spec: pid is present only while the container process exists. */
	gen_kint(g, "pid", st->status == HY_STATUS_STOPPED ? 0 : st->pid);
	gen_kstr(g, "status", state_status_name(st->status));
	gen_kstr(g, "bundle", st->bundle);
	gen_kstr(g, "rootfs", st->rootfs);
	gen_kstr(g, "created", st->created);
	/* The name costs an NSS lookup: only what is printed carries it; the file keeps the uid. */
	char *owner = with_private ? NULL : state_owner_name(st->owner);
	gen_kstr(g, "owner", owner ? owner : "");
	free(owner);
	gen_str(g, "annotations");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < st->n_annotations; i++)
		gen_kstr(g, st->annotations[i].key, st->annotations[i].value);
	yajl_gen_map_close(g);
	if (with_private) {
		gen_str(g, "hyrun");
		yajl_gen_map_open(g);
		gen_kint(g, "pid", st->pid);
		gen_str(g, "pidStartTime");
		char num[32];
		int n = snprintf(num, sizeof(num), "%" PRIu64, st->pid_start_time);
		yajl_gen_number(g, num, (size_t)n);
		gen_kint(g, "ownerUid", st->owner);
		gen_kstr(g, "isolation", st->isolation == HY_ISOLATION_VM ? "vm" : "container");
		if (st->cgroup_path)
			gen_kstr(g, "cgroupPath", st->cgroup_path);
		gen_kbool(g, "systemdCgroup", st->systemd_cgroup);
		gen_kbool(g, "terminal", st->use_terminal);
		if (st->vm_socket)
			gen_kstr(g, "vmSocket", st->vm_socket);
		gen_kbool(g, "pidNamespace", st->has_pidns);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	char *out = NULL;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		out = strndup((const char *)buf, len);
	yajl_gen_free(g);
	return out;
}

char *state_to_json(const struct hy_state *st, bool pretty)
{
	return gen_state(st, pretty, false);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int state_write(const char *root, const struct hy_state *st, struct hy_error *err)
{
	int rc = state_validate_id(st->id, err);
	if (rc)
		return rc;
	char *json = gen_state(st, false, true);
	char *dir = state_dir_path(root, st->id);
	char *final = state_file_path(root, st->id, STATE_FILE);
	char *tmp = NULL;
	if (!json || !dir || !final || asprintf(&tmp, "%s/.state.json.XXXXXX", dir) < 0) {
		tmp = NULL;
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = hy_error_errno(err, errno, "create %s", tmp);
		goto out;
	}
	/* Write a temp file, then rename over state.json: a reader (or a hyrun killed halfway)
	 * sees the old or the new state, never a torn one. No fsync: measured here (state root on
	 * ext4) it costs 2.5-5 ms per write, twice per `run`, about crun's whole run time; and the
	 * state only describes processes, which a power loss takes away too. */
	int e = write_all(fd, json, strlen(json));
	if (close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, final) < 0)
		e = -errno;
	if (e) {
		unlink(tmp);
		rc = hy_error_errno(err, -e, "write %s", final);
		goto out;
	}
out:
	free(json);
	free(dir);
	free(final);
	free(tmp);
	return rc;
}

/* ---- JSON in ---- */

static int parse_status(const char *s, enum hy_status *out)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (s && !strcmp(s, status_names[i])) {
			*out = (enum hy_status)i;
			return 0;
		}
	return -EINVAL;
}

static int state_from_tree(yajl_val root, const char *file, struct hy_state *st,
			   struct hy_error *err)
{
	char *status = NULL, *isolation = NULL;
	int64_t pid = 0;
	uint64_t start = 0, owner = 0;
	yajl_val priv = json_get(root, "hyrun");
	int rc = json_expect_object(root, file, "", err);
	if (!rc)
		rc = json_get_string(root, "ociVersion", file, "", &st->oci_version, err);
	if (!rc)
		rc = json_get_string(root, "id", file, "", &st->id, err);
	if (!rc)
		rc = json_get_string(root, "status", file, "", &status, err);
	if (!rc)
		rc = json_get_string(root, "bundle", file, "", &st->bundle, err);
	if (!rc)
		rc = json_get_string(root, "rootfs", file, "", &st->rootfs, err);
	if (!rc)
		rc = json_get_string(root, "created", file, "", &st->created, err);
	if (!rc) {
		yajl_val ann = json_get(root, "annotations");
		if (ann && YAJL_IS_OBJECT(ann)) {
			st->annotations = calloc(ann->u.object.len + 1, sizeof(*st->annotations));
			if (!st->annotations)
				rc = hy_error_set(err, ENOMEM, "out of memory");
			for (size_t i = 0; !rc && i < ann->u.object.len; i++) {
				const char *v = YAJL_GET_STRING(ann->u.object.values[i]);
				st->annotations[i].key = strdup(ann->u.object.keys[i]);
				st->annotations[i].value = strdup(v ? v : "");
				st->n_annotations = i + 1;
				if (!st->annotations[i].key || !st->annotations[i].value)
					rc = hy_error_set(err, ENOMEM, "out of memory");
			}
		}
	}
	if (!rc)
		rc = json_expect_object(priv, file, "hyrun", err);
	if (!rc)
		rc = json_get_i64(priv, "pid", file, "hyrun", &pid, NULL, err);
	if (!rc)
		rc = json_get_u64(priv, "pidStartTime", file, "hyrun", UINT64_MAX, &start, NULL, err);
	if (!rc)
		rc = json_get_u64(priv, "ownerUid", file, "hyrun", UINT32_MAX, &owner, NULL, err);
	if (!rc)
		rc = json_get_string(priv, "isolation", file, "hyrun", &isolation, err);
	if (!rc)
		rc = json_get_string(priv, "cgroupPath", file, "hyrun", &st->cgroup_path, err);
	if (!rc)
		rc = json_get_bool(priv, "systemdCgroup", file, "hyrun", &st->systemd_cgroup, NULL, err);
	if (!rc)
		rc = json_get_bool(priv, "terminal", file, "hyrun", &st->use_terminal, NULL, err);
	if (!rc)
		rc = json_get_string(priv, "vmSocket", file, "hyrun", &st->vm_socket, err);
	if (!rc)
		rc = json_get_bool(priv, "pidNamespace", file, "hyrun", &st->has_pidns, NULL, err);
	if (!rc && (!st->id || parse_status(status, &st->status)))
		rc = hy_error_set(err, EINVAL, "%s: missing id or invalid status", file);
	if (!rc && (pid < 0 || pid > INT32_MAX))
		rc = hy_error_set(err, EINVAL, "%s: hyrun.pid: out of range", file);
	st->pid = (pid_t)pid;
	st->pid_start_time = start;
	st->owner = (uid_t)owner;
	st->isolation = isolation && !strcmp(isolation, "vm") ? HY_ISOLATION_VM
							       : HY_ISOLATION_CONTAINER;
	free(status);
	free(isolation);
	return rc;
}

int state_read(const char *root, const char *id, struct hy_state **out, struct hy_error *err)
{
	int rc = state_validate_id(id, err);
	if (rc)
		return rc;
	char *path = state_file_path(root, id, STATE_FILE);
	if (!path)
		return hy_error_set(err, ENOMEM, "out of memory");
	struct stat sb;
	if (stat(path, &sb) < 0) {
		int e = errno;
		char *dir = state_dir_path(root, id);
		struct stat db;
		/* A directory without state.json is a create still in progress (or one that
		 * crashed before writing it): report it as such rather than as missing. */
		if (e == ENOENT && dir && stat(dir, &db) == 0 && S_ISDIR(db.st_mode)) {
			free(dir);
			free(path);
			struct hy_state *st = calloc(1, sizeof(*st));
			if (!st || !(st->id = strdup(id))) {
				free(st);
				return hy_error_set(err, ENOMEM, "out of memory");
			}
			st->status = HY_STATUS_CREATING;
			st->owner = db.st_uid;
			*out = st;
			return 0;
		}
		free(dir);
		free(path);
		if (e == ENOENT)
			return hy_error_set(err, ENOENT, "container '%s' does not exist", id);
		return hy_error_errno(err, e, "stat state of container '%s'", id);
	}
	yajl_val tree = NULL;
	rc = json_parse_file(path, STATE_FILE, &tree, err);
	free(path);
	if (rc)
		return hy_error_prefix(err, "container '%s'", id);
	struct hy_state *st = calloc(1, sizeof(*st));
	if (!st) {
		yajl_tree_free(tree);
		return hy_error_set(err, ENOMEM, "out of memory");
	}
	rc = state_from_tree(tree, STATE_FILE, st, err);
	yajl_tree_free(tree);
	if (!rc && strcmp(st->id, id))
		rc = hy_error_set(err, EINVAL, "container '%s': state.json names id '%s'", id, st->id);
	if (rc) {
		state_free(st);
		return rc;
	}
	state_refresh_status(st);
	*out = st;
	return 0;
}

/* ---- process checks ---- */

/* Reads /proc/<pid>/stat's state letter and start time; false when the process is gone. */
static bool proc_stat(pid_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return false;
	p += 2;
	*state = *p;
	/* p points at field 3; starttime is field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return false;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return true;
}

uint64_t proc_start_time(pid_t pid)
{
	char state;
	uint64_t start;
	return proc_stat(pid, &state, &start) ? start : 0;
}

static bool cgroup_frozen(const char *cgroup_path)
{
	if (!cgroup_path)
		return false;
	struct hy_cgroup *cg = NULL;
	struct hy_error ignored = {0};
	bool frozen = false;
	if (cgroup_open(cgroup_path, &cg, &ignored) == 0) {
		if (cgroup_is_frozen(cg, &frozen, &ignored))
			frozen = false;
		hy_cgroup_free(cg);
	}
	return frozen;
}

void state_refresh_status(struct hy_state *st)
{
	if (!st || st->status == HY_STATUS_STOPPED)
		return;
	if (st->status == HY_STATUS_CREATING && st->pid <= 0)
		return;
	char pstate = 0;
	uint64_t start = 0;
	/* Gone, a zombie (exited, not yet reaped), or a different process reusing the pid. */
	if (!proc_stat(st->pid, &pstate, &start) || pstate == 'Z' || pstate == 'X' ||
	    (st->pid_start_time && start != st->pid_start_time)) {
		st->status = HY_STATUS_STOPPED;
		return;
	}
	if (st->status == HY_STATUS_RUNNING || st->status == HY_STATUS_PAUSED)
		st->status = cgroup_frozen(st->cgroup_path) ? HY_STATUS_PAUSED : HY_STATUS_RUNNING;
}

/* ---- removal and listing ---- */

/* Removes everything below dirfd without following symlinks. */
static int remove_tree_at(int dirfd, int depth)
{
	/* State dirs are flat (sockets, fifos, files); the bound only stops hostile nesting. */
	if (depth > 16)
		return -ELOOP;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			if (errno != ENOENT)
				rc = -errno;
			continue;
		}
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			rc = -errno;
			continue;
		}
		int r = remove_tree_at(sub, depth + 1);
		if (r)
			rc = r;
		else if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			rc = -errno;
	}
	closedir(d);
	return rc;
}

int state_remove(const char *root, const char *id, struct hy_error *err)
{
	int rc = state_validate_id(id, err);
	if (rc)
		return rc;
	char *dir = state_dir_path(root, id);
	if (!dir)
		return hy_error_set(err, ENOMEM, "out of memory");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rc = e == ENOENT ? 0 : hy_error_errno(err, e, "open %s", dir);
		free(dir);
		return rc;
	}
	int r = remove_tree_at(fd, 0);
	if (!r && rmdir(dir) < 0 && errno != ENOENT)
		r = -errno;
	if (r)
		rc = hy_error_errno(err, -r, "remove %s", dir);
	free(dir);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list_ids(const char *root, char ***ids, size_t *n, struct hy_error *err)
{
	*ids = NULL;
	*n = 0;
	DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT)
			return 0; /* nothing created yet */
		return hy_error_errno(err, errno, "open %s", root);
	}
	size_t cap = 0, count = 0;
	char **v = NULL;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		struct hy_error ignored;
		if (state_validate_id(de->d_name, &ignored))
			continue; /* ".", "..", temp files and anything we did not create */
		struct stat sb;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (count + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				rc = hy_error_set(err, ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = ncap;
		}
		if (!(v[count] = strdup(de->d_name))) {
			rc = hy_error_set(err, ENOMEM, "out of memory");
			break;
		}
		count++;
	}
	closedir(d);
	if (rc) {
		for (size_t i = 0; i < count; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	if (count)
		qsort(v, count, sizeof(*v), cmp_str);
	*ids = v;
	*n = count;
	return 0;
}

void state_free(struct hy_state *st)
{
	if (!st)
		return;
	free(st->oci_version);
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	for (size_t i = 0; i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	free(st->cgroup_path);
	free(st->vm_socket);
	free(st);
}
