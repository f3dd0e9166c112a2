/* security_ensure_sealed_self: for a command that enters a container, the process re-executes
 * from a sealed memfd (so /proc/self/exe cannot be written), keeps its arguments, and does
 * not leak the marker variable; other commands are left alone. This binary runs itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/security.h"
#include "unit.h"

extern char **environ;

/* Child mode: argv = self --root X <cmd> marker */
static int child_main(int argc, char **argv)
{
	struct hy_error err = {0};
	if (security_ensure_sealed_self(argc, argv, environ, &err) < 0) {
		fprintf(stderr, "  ensure: %s\n", err.msg);
		return 20;
	}
	bool enters =
	    !strcmp(argv[3], "run") || !strcmp(argv[3], "create") || !strcmp(argv[3], "exec");
	if (security_running_sealed() != enters)
		return 21;
	if (strcmp(argv[4], "marker"))
		return 22; /* arguments survive the re-exec */
	if (getenv("_HYRUN_SEALED_EXE"))
		return 23;
	if (enters) {
		int fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t w = write(fd, "X", 1);
			close(fd);
			if (w >= 0 || errno != EPERM)
				return 24; /* the sealed copy refuses writes */
		}
		char link[256] = "";
		ssize_t n = readlink("/proc/self/exe", link, sizeof(link) - 1);
		if (n <= 0 || !strstr(link, "memfd:hyrun"))
			return 25;
	}
	return 0;
}

static int run_self(const char *self, const char *cmd)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execl(self, self, "--root", "/nonexistent", cmd, "marker", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	if (argc == 5)
		return child_main(argc, argv);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	if (n <= 0)
		return UNIT_DONE();
	self[n] = '\0';
	static const char *const cmds[] = {"run", "create", "exec", "state", "list"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc = run_self(self, cmds[i]);
		CHECK(rc == 0);
		if (rc)
			fprintf(stderr, "  %s: child exit %d\n", cmds[i], rc);
	}
	/* Marker set but not sealed: refuse instead of looping. */
	setenv("_HYRUN_SEALED_EXE", "1", 1);
	char *args[] = {self, "--root", "/x", "run", "marker", NULL};
	struct hy_error err = {0};
	CHECK(security_ensure_sealed_self(5, args, environ, &err) == -EPERM);
	CHECK_STR_CONTAINS(err.msg, "refusing to run unprotected");
	unsetenv("_HYRUN_SEALED_EXE");
	return UNIT_DONE();
}
