/* hooks_run: state on stdin, args and env as given, failure and timeout reporting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/hooks.h"
#include "unit.h"

static char dir[] = "/tmp/hyrun-test-hooks.XXXXXX";

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

/* A hook running `sh -c script` (argv[0] "sh"), with env. */
static struct hy_hook sh_hook(const char *script, char **env, size_t n_env, int timeout)
{
	struct hy_hook h = {.path = "/bin/sh"};
	static char *argv[4][4];
	static int slot;
	char **a = argv[slot++ % 4];
	a[0] = "sh";
	a[1] = "-c";
	a[2] = (char *)script;
	a[3] = NULL;
	h.args = (struct hy_strv){a, 3};
	h.env = (struct hy_strv){env, n_env};
	h.has_timeout = timeout > 0;
	h.timeout = timeout;
	return h;
}

static void test_stdin_args_env(void)
{
	char script[1024], out[300];
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(script, sizeof(script), "cat > %s; echo \"[$0][$FOO]\" >> %s; tr '\\0' ' ' </proc/$$/environ >> %s",
		 out, out, out);
	char *env[] = {"FOO=bar", NULL};
	struct hy_hook h = sh_hook(script, env, 1, 10);
	struct hy_hook_list list = {&h, 1};
	struct hy_error e = {0};
	const char *state = "{\"ociVersion\":\"1.0.2\",\"id\":\"x\",\"status\":\"creating\"}";
	CHECK(hooks_run(&list, HY_HOOK_CREATE_RUNTIME, state, &e) == 0);
	char *got = read_file(out);
	char want[1024];
	/* env is exactly the hook's: no PATH inherited from the runtime */
	snprintf(want, sizeof(want), "%s[sh][bar]\nFOO=bar ", state);
	CHECK(got && !strcmp(got, want));
	if (got && strcmp(got, want))
		fprintf(stderr, "got: %s\n", got);
	free(got);
	unlink(out);
}

static void test_failure_stops_the_list(void)
{
	char script[1024], out[300];
	snprintf(out, sizeof(out), "%s/ran", dir);
	snprintf(script, sizeof(script), "touch %s", out);
	struct hy_hook hs[3] = {sh_hook("exit 0", NULL, 0, 0), sh_hook("exit 3", NULL, 0, 0),
				sh_hook(script, NULL, 0, 0)};
	struct hy_hook_list list = {hs, 3};
	struct hy_error e = {0};
	CHECK(hooks_run(&list, HY_HOOK_PRESTART, "{}", &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "prestart hook [1] /bin/sh: exited with status 3");
	CHECK(access(out, F_OK) != 0); /* the hook after the failing one did not run */

	struct hy_hook sig = sh_hook("kill -9 $$", NULL, 0, 0);
	list = (struct hy_hook_list){&sig, 1};
	CHECK(hooks_run(&list, HY_HOOK_POSTSTOP, "{}", &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "poststop hook [0] /bin/sh: killed by signal 9");

	struct hy_hook missing = {.path = "/nonexistent/hook"};
	list = (struct hy_hook_list){&missing, 1};
	CHECK(hooks_run(&list, HY_HOOK_START_CONTAINER, "{}", &e) == -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "startContainer hook [0] /nonexistent/hook: exec: No such file");

	/* without args, argv[0] is the path */
	struct hy_hook plain = {.path = "/bin/true"};
	list = (struct hy_hook_list){&plain, 1};
	CHECK(hooks_run(&list, HY_HOOK_POSTSTART, NULL, &e) == 0);
	CHECK(hooks_run(NULL, HY_HOOK_POSTSTART, "{}", &e) == 0);
	list = (struct hy_hook_list){NULL, 0};
	CHECK(hooks_run(&list, HY_HOOK_POSTSTART, "{}", &e) == 0);
}

static void test_timeout_kills_the_group(void)
{
	char out[300], script[1024];
	snprintf(out, sizeof(out), "%s/late", dir);
	/* the hook's child would write the file after 3 s unless the whole group is killed */
	snprintf(script, sizeof(script), "(sleep 3; touch %s) & sleep 30", out);
	struct hy_hook h = sh_hook(script, NULL, 0, 1);
	struct hy_hook_list list = {&h, 1};
	struct hy_error e = {0};
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(hooks_run(&list, HY_HOOK_CREATE_CONTAINER, "{}", &e) == -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK_STR_CONTAINS(e.msg, "createContainer hook [0] /bin/sh: timed out after 1 s");
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK(secs >= 0.9 && secs < 10);
	sleep(4);
	CHECK(access(out, F_OK) != 0);
	unlink(out);
}

/* A hook that never reads stdin must not block the runtime, even with a state larger than a
 * pipe buffer. */
static void test_hook_ignoring_stdin(void)
{
	size_t big = 1 << 20;
	char *state = malloc(big + 1);
	memset(state, 'x', big);
	state[big] = '\0';
	struct hy_hook h = sh_hook("exec 0<&-; sleep 0.2", NULL, 0, 20);
	struct hy_hook_list list = {&h, 1};
	struct hy_error e = {0};
	CHECK(hooks_run(&list, HY_HOOK_POSTSTART, state, &e) == 0);
	if (e.msg[0])
		fprintf(stderr, "%s\n", e.msg);
	struct hy_hook h2 = sh_hook("head -c 10 >/dev/null", NULL, 0, 20);
	list = (struct hy_hook_list){&h2, 1};
	CHECK(hooks_run(&list, HY_HOOK_POSTSTART, state, &e) == 0);
	free(state);
	CHECK(!strcmp(hooks_kind_name(HY_HOOK_CREATE_RUNTIME), "createRuntime"));
	CHECK(!strcmp(hooks_kind_name(HY_HOOK__COUNT), "unknown"));
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_stdin_args_env();
	test_failure_stops_the_list();
	test_timeout_kills_the_group();
	test_hook_ignoring_stdin();
	rmdir(dir);
	return UNIT_DONE();
}
