/* Runs the command as PID 1's child. As init, the agent also inherits every orphan, so it reaps
 * whatever exits until the command itself does, then kills and reaps what the command left. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

int agent_run(char *const argv[])
{
	int st = 0;
	pid_t pid = fork();

	if (pid < 0) {
		agent_log("fork: %s", strerror(errno));
		return 255;
	}
	if (pid == 0) {
		/* Own session, but no controlling terminal: when a session leader with one exits, the
		 * kernel hangs that tty up, and the agent's own console descriptors with it (its exit
		 * line was lost on hvc0). Terminals for OCI processes come from ptys (issue 8). */
		setsid();
		execvp(argv[0], argv);
		int e = errno;
		agent_log("exec %s: %s", argv[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	for (;;) {
		pid_t w = wait(&st);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			agent_log("wait: %s", strerror(errno));
			return 255;
		}
	}
	/* Only as PID 1: anywhere else kill(-1) would hit every process of the machine. */
	if (getpid() == 1) {
		kill(-1, SIGKILL);
		while (wait(NULL) > 0 || errno == EINTR)
			;
	}
	return shell_status(st);
}
