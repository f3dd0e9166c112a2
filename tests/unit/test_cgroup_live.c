/* The cgroup manager on this host's real hierarchies, with plain forked processes: limits read
 * back from the files, freeze/thaw, pid listing, kill_all, an OOM kill seen through the event fd
 * and the counter, the eBPF device program (on the cgroup2 mount), relative paths, rollback of a
 * failed create, and that destroy leaves no directory. Needs root; skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"
#include "cgroups/resources.h"
#include "runtime/json.h"
#include "unit.h"

static char id[64];

static struct hy_resources *parse(const char *json)
{
	struct hy_error err = {0};
	yajl_val v = NULL;
	struct hy_resources *res = NULL;
	if (json_parse_buf(json, strlen(json), "t.json", &v, &err) == 0)
		cgroup_resources_parse(v, "t.json", "", &res, &err);
	yajl_tree_free(v);
	if (!res)
		fprintf(stderr, "parse: %s\n", err.msg);
	return res;
}

static bool file_is(struct hy_cgroup *cg, enum cg_ctrl c, const char *file, const char *want)
{
	char buf[256];
	struct hy_error err = {0};
	const char *dir = cg_dir_for(cg, c);
	if (!dir || cg_read(dir, file, buf, sizeof buf, &err) < 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, want))
		fprintf(stderr, "  %s/%s = '%s', want '%s'\n", dir, file, buf, want);
	return !strcmp(buf, want);
}

static bool dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static pid_t spawn_sleeper(void)
{
	pid_t p = fork();
	if (p == 0) {
		for (;;)
			pause();
	}
	return p;
}

static void test_lifecycle(void)
{
	struct hy_error err = {0};
	struct hy_cgroup *cg = NULL;
	struct cgroup_spec spec = {.id = id};
	CHECK(cgroup_create(&spec, &cg, &err) == 0);
	if (!cg) {
		fprintf(stderr, "create: %s\n", err.msg);
		return;
	}
	char want_path[128];
	snprintf(want_path, sizeof want_path, "/hyrun/%s", id);
	CHECK(!strcmp(cgroup_state_path(cg), want_path));
	struct hy_resources *res =
		parse("{\"memory\":{\"limit\":33554432,\"swap\":33554432,\"reservation\":16777216},"
		      "\"cpu\":{\"shares\":512,\"quota\":20000,\"period\":100000,\"cpus\":\"0\"},"
		      "\"pids\":{\"limit\":17}}");
	CHECK(res && cgroup_apply_resources(cg, res, &err) == 0);
	if (err.msg[0])
		fprintf(stderr, "apply: %s\n", err.msg);
	cgroup_resources_free(res);
	struct cg_hier *mem = cg_hier_for(cg, CG_MEMORY);
	if (mem && !mem->v2) {
		CHECK(file_is(cg, CG_MEMORY, "memory.limit_in_bytes", "33554432"));
		CHECK(file_is(cg, CG_MEMORY, "memory.soft_limit_in_bytes", "16777216"));
		CHECK(file_is(cg, CG_CPU, "cpu.shares", "512"));
		CHECK(file_is(cg, CG_CPU, "cpu.cfs_quota_us", "20000"));
	} else if (mem) {
		CHECK(file_is(cg, CG_MEMORY, "memory.max", "33554432"));
		CHECK(file_is(cg, CG_CPU, "cpu.max", "20000 100000"));
	}
	CHECK(file_is(cg, CG_PIDS, "pids.max", "17"));
	CHECK(file_is(cg, CG_CPUSET, "cpuset.cpus", "0"));

	pid_t child = spawn_sleeper();
	CHECK(cgroup_add_pid(cg, child, &err) == 0);
	pid_t *pids = NULL;
	size_t n = 0;
	CHECK(cgroup_pids(cg, &pids, &n, &err) == 0 && n == 1 && pids[0] == child);
	free(pids);

	bool frozen = false;
	CHECK(cgroup_freeze(cg, true, &err) == 0);
	CHECK(cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen);
	CHECK(cgroup_freeze(cg, false, &err) == 0);
	CHECK(cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);

	char *json = NULL;
	CHECK(cgroup_stats_json(cg, &json, &err) == 0);
	CHECK_STR_CONTAINS(json, "\"pids\":{\"current\":1,\"limit\":17}");
	CHECK_STR_CONTAINS(json, "\"cpu\":{\"usage\":{\"total\":");
	CHECK_STR_CONTAINS(json, "\"throttling\":{\"periods\":");
	CHECK_STR_CONTAINS(json, "\"memory\":{");
	CHECK_STR_CONTAINS(json, "\"usage\":{\"limit\":33554432");
	CHECK_STR_CONTAINS(json, "\"blkio\":{\"ioServiceBytesRecursive\":[");
	CHECK_STR_CONTAINS(json, "\"hugetlb\":{");
	free(json);

	/* SIGTERM through the freeze-signal-thaw path, then a paused container and SIGKILL. */
	CHECK(cgroup_kill_all(cg, SIGTERM, &err) == 0);
	int status = 0;
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGTERM);
	child = spawn_sleeper();
	CHECK(cgroup_add_pid(cg, child, &err) == 0);
	CHECK(cgroup_freeze(cg, true, &err) == 0);
	CHECK(cgroup_kill_all(cg, SIGKILL, &err) == 0);
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL);

	/* Reopen from the state string, as delete does, and remove. */
	struct hy_cgroup *again = NULL;
	CHECK(cgroup_open(cgroup_state_path(cg), &again, &err) == 0);
	CHECK(again && cgroup_destroy(again, &err) == 0);
	for (size_t i = 0; i < cg->n; i++)
		CHECK(!dir_exists(cg->h[i].dir));
	hy_cgroup_free(again);
	hy_cgroup_free(cg);
}

static void test_oom(void)
{
	struct hy_error err = {0};
	struct hy_cgroup *cg = NULL;
	char oid[80];
	snprintf(oid, sizeof oid, "%s-oom", id);
	struct cgroup_spec spec = {.id = oid};
	CHECK(cgroup_create(&spec, &cg, &err) == 0);
	if (!cg)
		return;
	struct hy_resources *res = parse("{\"memory\":{\"limit\":16777216,\"swap\":16777216}}");
	CHECK(res && cgroup_apply_resources(cg, res, &err) == 0);
	cgroup_resources_free(res);
	int fd = -1;
	unsigned long long before = 99, after = 0;
	CHECK(cgroup_oom_event_fd(cg, &fd, &err) == 0 && fd >= 0);
	CHECK(cgroup_oom_count(cg, &before, &err) == 0 && before == 0);
	int go[2];
	CHECK(pipe(go) == 0);
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		/* 64 MiB touched page by page: far over the 16 MiB limit. */
		for (int i = 0; i < 64; i++) {
			char *p = malloc(1 << 20);
			if (p)
				memset(p, 1, 1 << 20);
		}
		_exit(0);
	}
	close(go[0]);
	CHECK(cgroup_add_pid(cg, child, &err) == 0);
	CHECK(write(go[1], "x", 1) == 1);
	close(go[1]);
	int status = 0;
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK(poll(&p, 1, 2000) == 1);
	CHECK(cgroup_oom_count(cg, &after, &err) == 0 && after >= 1);
	close(fd);
	CHECK(cgroup_destroy(cg, &err) == 0);
	hy_cgroup_free(cg);
}

/* The eBPF device program, on the cgroup2 mount (hybrid or v2 hosts). */
static void test_devices_bpf(void)
{
	struct hy_error err = {0};
	struct hy_cgroup *cg = NULL;
	char did[80];
	snprintf(did, sizeof did, "%s-dev", id);
	struct cgroup_spec spec = {.id = did};
	CHECK(cgroup_create(&spec, &cg, &err) == 0);
	if (!cg)
		return;
	struct cg_hier *u = cg_unified(cg);
	if (!u || access("/dev/kmsg", F_OK) != 0) {
		printf("test_devices_bpf: skipped (no cgroup2 mount or /dev/kmsg)\n");
	} else {
		/* Deny everything, then allow /dev/kmsg (c 1:11) for reading only. */
		struct hy_device_rule rules[] = {
			{.allow = false, .type = 'a', .major = -1, .minor = -1, .access = ""},
			{.allow = true, .type = 'c', .major = 1, .minor = 11, .access = "r"},
		};
		CHECK(cg_devices_bpf_apply(u->dir, rules, 2, &err) == 0);
		if (err.msg[0])
			fprintf(stderr, "bpf: %s\n", err.msg);
		/* Applying again replaces the program rather than stacking a second one. */
		CHECK(cg_devices_bpf_apply(u->dir, rules, 2, &err) == 0);
		int go[2];
		CHECK(pipe(go) == 0);
		pid_t child = fork();
		if (child == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(100);
			int code = 0;
			int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
			if (fd < 0)
				code |= 1; /* read allowed */
			else
				close(fd);
			fd = open("/dev/kmsg", O_WRONLY);
			if (fd >= 0 || errno != EPERM)
				code |= 2; /* write denied */
			fd = open("/dev/null", O_RDWR);
			if (fd < 0)
				code |= 4; /* default rule: /dev/null allowed */
			else
				close(fd);
			_exit(code);
		}
		close(go[0]);
		CHECK(cg_writef(u->dir, "cgroup.procs", &err, "%d", (int)child) == 0);
		CHECK(write(go[1], "x", 1) == 1);
		close(go[1]);
		int status = 0;
		CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
		CHECK(WEXITSTATUS(status) == 0);
		if (WEXITSTATUS(status))
			fprintf(stderr, "  device checks failed: code %d\n", WEXITSTATUS(status));
	}
	CHECK(cgroup_destroy(cg, &err) == 0);
	hy_cgroup_free(cg);
}

static void test_relative_and_rollback(void)
{
	struct hy_error err = {0};
	struct hy_cgroup *cg = NULL;
	char rel[96];
	snprintf(rel, sizeof rel, "%s-rel/inner", id);
	struct cgroup_spec spec = {.id = id, .cgroups_path = rel};
	CHECK(cgroup_create(&spec, &cg, &err) == 0);
	if (!cg)
		fprintf(stderr, "relative create: %s\n", err.msg);
	if (cg) {
		for (size_t i = 0; i < cg->n; i++) {
			char *own = NULL;
			CHECK(cg_own_path(&cg->h[i], &own, &err) == 0);
			CHECK(own && strstr(cg->h[i].path, rel) &&
			      !strncmp(cg->h[i].path, own, strlen(own)));
			free(own);
		}
		struct hy_cgroup *again = NULL;
		CHECK(cgroup_open(cgroup_state_path(cg), &again, &err) == 0);
		CHECK(again && !strcmp(again->h[0].dir, cg->h[0].dir));
		hy_cgroup_free(again);
		CHECK(cgroup_destroy(cg, &err) == 0);
		for (size_t i = 0; i < cg->n; i++) {
			char parent[4096];
			snprintf(parent, sizeof parent, "%s", cg->h[i].dir);
			*strrchr(parent, '/') = '\0';
			CHECK(!dir_exists(cg->h[i].dir) && !dir_exists(parent));
		}
		hy_cgroup_free(cg);
	}

	/* "..": refused before anything is made */
	cg = NULL;
	struct cgroup_spec bad = {.id = id, .cgroups_path = "/hyrun/../../escape"};
	CHECK(cgroup_create(&bad, &cg, &err) < 0 && cg == NULL);
	CHECK_STR_CONTAINS(err.msg, "'..' is not allowed");

	/* A create that fails in its last hierarchy removes what it made in the others. */
	struct hy_cgroup *probe = calloc(1, sizeof(*probe));
	CHECK(cg_discover(probe, true, &err) == 0);
	/* Both sources of the v1 mounts describe the same hierarchies under the same keys. */
	struct hy_cgroup *fast = calloc(1, sizeof(*fast));
	CHECK(cg_discover(fast, false, &err) == 0 && fast->n == probe->n);
	for (size_t i = 0; i < probe->n; i++) {
		bool same = false;
		for (size_t j = 0; j < fast->n; j++)
			same = same || (!strcmp(probe->h[i].key, fast->h[j].key) &&
					!strcmp(probe->h[i].mount, fast->h[j].mount) &&
					probe->h[i].ctrls == fast->h[j].ctrls);
		CHECK(same);
	}
	hy_cgroup_free(fast);
	struct cg_hier *last = &probe->h[probe->n - 1];
	char top[4096], leaf[4200];
	snprintf(top, sizeof top, "%s/%s-rb", last->mount, id);
	snprintf(leaf, sizeof leaf, "%s/leaf", top);
	CHECK(mkdir(top, 0755) == 0 && mkdir(leaf, 0755) == 0);
	char abs[128];
	snprintf(abs, sizeof abs, "/%s-rb/leaf", id);
	struct cgroup_spec clash = {.id = id, .cgroups_path = abs};
	cg = NULL;
	CHECK(cgroup_create(&clash, &cg, &err) == -EEXIST);
	CHECK_STR_CONTAINS(err.msg, "already exists");
	for (size_t i = 0; i + 1 < probe->n; i++) {
		char made[4200];
		snprintf(made, sizeof made, "%s/%s-rb", probe->h[i].mount, id);
		CHECK(!dir_exists(made));
	}
	rmdir(leaf);
	rmdir(top);
	hy_cgroup_free(probe);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("%s: skipped (needs root)\n", __FILE__);
		return 0;
	}
	snprintf(id, sizeof id, "unit-cg-%d", (int)getpid());
	test_lifecycle();
	test_oom();
	test_devices_bpf();
	test_relative_and_rollback();
	return UNIT_DONE();
}
