/* What the security settings cost a container start:
 *   - compiling the default seccomp profile with libseccomp (no cache),
 *   - seccomp_prepare from a warm cache (what a start pays once the profile was seen),
 *   - re-executing hyrun from the sealed memfd (`HYRUN run --help` seals, `state --help` does
 *     not; both print usage and exit), as CPU time of the children.
 * Usage: security_bench HYRUN [N]. Prints one line per measurement; it never fails on speed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/json.h"
#include "runtime/seccomp.h"

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static struct hy_seccomp *default_profile(void)
{
	const char *json = seccomp_default_profile_json();
	struct hy_error err = {0};
	yajl_val v = NULL;
	struct hy_seccomp *s = NULL;
	if (json_parse_buf(json, strlen(json), "seccomp-default.json", &v, &err) < 0 ||
	    seccomp_config_parse(v, "seccomp-default.json", "linux.seccomp", &s, &err) < 0) {
		fprintf(stderr, "security_bench: %s\n", err.msg);
		exit(1);
	}
	yajl_tree_free(v);
	return s;
}

static double prepare_ms(const char *cache, int n)
{
	double total = 0;
	for (int i = 0; i < n; i++) {
		struct hy_seccomp *s = default_profile();
		struct hy_error err = {0};
		double t0 = now_ms();
		if (seccomp_prepare(s, cache, &err) < 0) {
			fprintf(stderr, "security_bench: %s\n", err.msg);
			exit(1);
		}
		total += now_ms() - t0;
		seccomp_config_free(s);
	}
	return total / n;
}

static double children_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double exec_cpu_ms(const char *hyrun, const char *cmd, int n)
{
	double before = children_cpu_ms();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
			execl(hyrun, hyrun, "--root", "/nonexistent", cmd, "--help", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
	return (children_cpu_ms() - before) / n;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: security_bench HYRUN [N]\n");
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 100;
	if (n < 1)
		n = 1;
	char cache[] = "/tmp/hyrun-bench-cache-XXXXXX";
	if (!mkdtemp(cache))
		return 1;
	printf("seccomp default profile, compile (no cache): %.2f ms\n", prepare_ms(NULL, 5));
	prepare_ms(cache, 1);
	printf("seccomp default profile, prepare (warm cache): %.3f ms\n", prepare_ms(cache, n));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache);
	if (system(cmd) != 0)
		return 1;
	double plain = 0, sealed = 0;
	for (int round = 0; round < 3; round++) {
		plain += exec_cpu_ms(argv[1], "state", n);
		sealed += exec_cpu_ms(argv[1], "run", n);
	}
	printf("hyrun start, CPU: %.2f ms plain, %.2f ms with the sealed re-exec (+%.2f ms)\n",
	       plain / 3, sealed / 3, (sealed - plain) / 3);
	return 0;
}
