/* The state store: ids, exclusive creation, locking, atomic round trips, status refresh from
 * the process, listing and removal. Works in a private temporary root. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/json.h"
#include "runtime/state.h"
#include "unit.h"

/* strcmp that tolerates a missing value (a failed lookup must fail the check, not crash). */
static bool str_is(const char *got, const char *want)
{
	return got && !strcmp(got, want);
}

static char root_base[] = "/tmp/hyrun-test-state.XXXXXX";
static char root[256];

static void test_ids(void)
{
	struct hy_error e = {0};
	CHECK(state_validate_id("abc-1.2_x+y", &e) == 0);
	CHECK(state_validate_id("A", &e) == 0);
	CHECK(state_validate_id("", &e) == -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "invalid container id: empty");
	CHECK(state_validate_id(NULL, &e) == -EINVAL);
	CHECK(state_validate_id(".hidden", &e) == -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "must not start with '.'");
	CHECK(state_validate_id("..", &e) == -EINVAL);
	const char *bad[] = {"a/b", "x/../y", "a b", "a\nb", "é", "a:b", "a*"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(state_validate_id(bad[i], &e) == -EINVAL);
		CHECK_STR_CONTAINS(e.msg, "only [A-Za-z0-9_.+-] allowed");
	}
	char long_id[1100];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CHECK(state_validate_id(long_id, &e) == -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "longer than 1024 bytes");
	long_id[1024] = '\0';
	CHECK(state_validate_id(long_id, &e) == 0);
}

static bool lock_is_held_elsewhere(const char *id)
{
	char *path = state_file_path(root, id, "lock");
	pid_t pid = fork();
	if (pid == 0) {
		/* A separate open file description: flock conflicts with the parent's lock. */
		int fd = open(path, O_RDWR);
		_exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	free(path);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_create_and_lock(void)
{
	struct hy_error e = {0};
	int fd = -1;
	CHECK(state_create_dir(root, "c1", &fd, &e) == 0 && fd >= 0);
	CHECK(lock_is_held_elsewhere("c1"));
	int fd2 = -1;
	CHECK(state_create_dir(root, "c1", &fd2, &e) == -EEXIST && fd2 == -1);
	CHECK_STR_CONTAINS(e.msg, "container 'c1' already exists");
	state_unlock(fd);
	CHECK(!lock_is_held_elsewhere("c1"));
	CHECK(state_lock(root, "c1", &fd, &e) == 0);
	CHECK(lock_is_held_elsewhere("c1"));
	state_unlock(fd);
	CHECK(state_lock(root, "nope", &fd, &e) == -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "container 'nope' does not exist");
	CHECK(state_create_dir(root, "bad/id", &fd, &e) == -EINVAL);
	struct stat st;
	char *dir = state_dir_path(root, "c1");
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	free(dir);
	CHECK(state_remove(root, "c1", &e) == 0);
}

static struct hy_state *sample_state(const char *id)
{
	struct hy_state *st = calloc(1, sizeof(*st));
	st->oci_version = strdup("1.0.2");
	st->id = strdup(id);
	st->status = HY_STATUS_RUNNING;
	st->pid = getpid();
	st->pid_start_time = proc_start_time(getpid());
	st->bundle = strdup("/b \"quoted\"");
	st->rootfs = strdup("/b/rootfs");
	st->created = state_now_rfc3339();
	st->owner = 0;
	st->n_annotations = 2;
	st->annotations = calloc(2, sizeof(struct hy_kv));
	st->annotations[0] = (struct hy_kv){strdup("a"), strdup("1")};
	st->annotations[1] = (struct hy_kv){strdup("org.x"), strdup("two\nlines")};
	st->isolation = HY_ISOLATION_VM;
	st->cgroup_path = strdup("/nonexistent-hyrun-cgroup/x");
	st->use_terminal = true;
	st->vm_socket = strdup("/run/x.sock");
	st->has_pidns = true;
	return st;
}

static void test_round_trip(void)
{
	struct hy_error e = {0};
	int fd = -1;
	CHECK(state_create_dir(root, "rt", &fd, &e) == 0);
	struct hy_state *st = sample_state("rt");
	CHECK(state_write(root, st, &e) == 0);
	/* rewrite: the rename replaces the old file; no temporary file is left behind */
	CHECK(state_write(root, st, &e) == 0);
	char **ids = NULL;
	size_t n = 0;
	char *dir = state_dir_path(root, "rt");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", dir);
	CHECK(system(cmd) == 0);
	free(dir);
	struct hy_state *back = NULL;
	CHECK(state_read(root, "rt", &back, &e) == 0);
	if (back) {
		CHECK(!strcmp(back->id, "rt") && !strcmp(back->oci_version, "1.0.2"));
		CHECK(back->status == HY_STATUS_RUNNING); /* our own pid is alive, not frozen */
		CHECK(back->pid == getpid() && back->pid_start_time == st->pid_start_time);
		CHECK(!strcmp(back->bundle, st->bundle) && !strcmp(back->rootfs, "/b/rootfs"));
		CHECK(!strcmp(back->created, st->created));
		CHECK(back->n_annotations == 2 && !strcmp(back->annotations[1].value, "two\nlines"));
		CHECK(back->isolation == HY_ISOLATION_VM && back->use_terminal && back->has_pidns);
		CHECK(!strcmp(back->cgroup_path, st->cgroup_path));
		CHECK(!strcmp(back->vm_socket, "/run/x.sock"));
		state_free(back);
	}
	/* The printed state is OCI's: no private fields, annotations and owner included. */
	char *json = state_to_json(st, true);
	yajl_val v = NULL;
	CHECK(json && json_parse_buf(json, strlen(json), "state", &v, &e) == 0);
	if (v) {
		CHECK(str_is(YAJL_GET_STRING(json_get(v, "status")), "running"));
		CHECK(str_is(YAJL_GET_STRING(json_get(v, "id")), "rt"));
		CHECK(YAJL_GET_INTEGER(json_get(v, "pid")) == getpid());
		CHECK(str_is(YAJL_GET_STRING(json_get(v, "owner")), "root"));
		CHECK(YAJL_IS_OBJECT(json_get(v, "annotations")));
		CHECK(json_get(v, "hyrun") == NULL);
		CHECK(YAJL_IS_STRING(json_get(v, "bundle")) && YAJL_IS_STRING(json_get(v, "created")));
		yajl_tree_free(v);
	}
	free(json);
	CHECK(state_list_ids(root, &ids, &n, &e) == 0 && n == 1 && !strcmp(ids[0], "rt"));
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	state_free(st);
	state_unlock(fd);
	CHECK(state_remove(root, "rt", &e) == 0);
	CHECK(state_read(root, "rt", &back, &e) == -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "container 'rt' does not exist");
}

static void test_refresh(void)
{
	struct hy_state *st = sample_state("r");
	state_refresh_status(st);
	CHECK(st->status == HY_STATUS_RUNNING);
	/* a different start time means the pid was reused by another process */
	st->pid_start_time += 1;
	state_refresh_status(st);
	CHECK(st->status == HY_STATUS_STOPPED);
	/* created stays created while its process lives */
	st->status = HY_STATUS_CREATED;
	st->pid_start_time = proc_start_time(getpid());
	state_refresh_status(st);
	CHECK(st->status == HY_STATUS_CREATED);
	/* a zombie child counts as stopped, and so does a reaped one */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	uint64_t start = 0;
	for (int i = 0; i < 100 && !start; i++)
		start = proc_start_time(child);
	CHECK(start > 0);
	st->pid = child;
	st->pid_start_time = start;
	st->status = HY_STATUS_RUNNING;
	for (int i = 0; i < 200 && st->status != HY_STATUS_STOPPED; i++) {
		usleep(5000);
		st->status = HY_STATUS_RUNNING;
		state_refresh_status(st);
	}
	CHECK(st->status == HY_STATUS_STOPPED);
	waitpid(child, NULL, 0);
	st->status = HY_STATUS_RUNNING;
	state_refresh_status(st);
	CHECK(st->status == HY_STATUS_STOPPED);
	/* creating without a pid yet stays creating */
	st->status = HY_STATUS_CREATING;
	st->pid = 0;
	state_refresh_status(st);
	CHECK(st->status == HY_STATUS_CREATING);
	CHECK(proc_start_time(getpid()) > 0);
	CHECK(proc_start_time(0) == 0 && proc_start_time(-5) == 0);
	CHECK(proc_start_time(4194304 + 7) == 0);
	state_free(st);
	CHECK(!strcmp(state_status_name(HY_STATUS_PAUSED), "paused"));
	CHECK(!strcmp(state_status_name(HY_STATUS_CREATING), "creating"));
}

static void test_list_remove_and_partial(void)
{
	struct hy_error e = {0};
	char **ids = NULL;
	size_t n = 99;
	CHECK(state_list_ids("/nonexistent-hyrun-root", &ids, &n, &e) == 0 && n == 0);
	int fd;
	const char *names[] = {"zeta", "alpha", "mid"};
	for (int i = 0; i < 3; i++) {
		CHECK(state_create_dir(root, names[i], &fd, &e) == 0);
		state_unlock(fd);
	}
	/* things in the root that are not containers are not listed */
	char path[512];
	snprintf(path, sizeof(path), "%s/afile", root);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/.hidden", root);
	mkdir(path, 0700);
	CHECK(state_list_ids(root, &ids, &n, &e) == 0 && n == 3);
	if (n == 3)
		CHECK(!strcmp(ids[0], "alpha") && !strcmp(ids[1], "mid") && !strcmp(ids[2], "zeta"));
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	/* A directory without state.json: a create in progress. */
	struct hy_state *st = NULL;
	CHECK(state_read(root, "mid", &st, &e) == 0 && st && st->status == HY_STATUS_CREATING);
	state_free(st);
	/* A corrupt state file is an error naming the container. */
	char *sf = state_file_path(root, "zeta", "state.json");
	FILE *f = fopen(sf, "w");
	fputs("{\"id\":", f);
	fclose(f);
	free(sf);
	st = NULL;
	CHECK(state_read(root, "zeta", &st, &e) < 0 && st == NULL);
	CHECK_STR_CONTAINS(e.msg, "container 'zeta': state.json: invalid JSON");
	/* removal takes nested content along, and a missing container is not an error */
	snprintf(path, sizeof(path), "%s/alpha/sub", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/alpha/sub/f", root);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/alpha/link", root);
	CHECK(symlink("/etc", path) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(state_remove(root, names[i], &e) == 0);
	CHECK(state_remove(root, "alpha", &e) == 0);
	CHECK(access("/etc/passwd", F_OK) == 0); /* the symlink was removed, not followed */
	CHECK(state_list_ids(root, &ids, &n, &e) == 0 && n == 0);
	free(ids);
	snprintf(path, sizeof(path), "%s/afile", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.hidden", root);
	rmdir(path);
}

static void test_now(void)
{
	char *s = state_now_rfc3339();
	/* 2026-11-22T03:04:05.123456789Z */
	CHECK(s && strlen(s) == 30 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[29] == 'Z');
	free(s);
	char *p = state_file_path("/r", "id", "lock");
	CHECK(p && !strcmp(p, "/r/id/lock"));
	free(p);
}

int main(void)
{
	if (!mkdtemp(root_base)) {
		perror("mkdtemp");
		return 1;
	}
	/* a root that does not exist yet: state_create_dir makes it */
	snprintf(root, sizeof(root), "%s/nested/root", root_base);
	test_ids();
	test_create_and_lock();
	test_round_trip();
	test_refresh();
	test_list_remove_and_partial();
	test_now();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root_base);
	CHECK(system(cmd) == 0);
	return UNIT_DONE();
}
