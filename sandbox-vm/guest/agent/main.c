/* hyrun-agent: see agent.h. In command mode the command is init's argv: the kernel passes the words
 * after `--` on its command line to init as arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent.h"

int main(int argc, char **argv)
{
	struct agent_options opts;
	bool pid1 = getpid() == 1;
	bool on_hvc = false;
	char line[64];
	int code;

	/* The kernel starts init with HOME and TERM only. */
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
	if (pid1) {
		agent_mount_basic();
		on_hvc = agent_setup_console();
	}
	if (agent_read_cmdline(&opts) < 0) {
		code = 125;
		goto out;
	}
	agent_set_debug(opts.debug);
	agent_debug("console on %s", on_hvc ? "hvc0" : "console");
	if (opts.oci && pid1)
		agent_oci_main(&opts, on_hvc); /* the command after `--`, if any, is not used */
	if (pid1 && agent_enter_root(&opts) < 0) {
		code = 125;
		goto out;
	}
	if (argc < 2) {
		agent_log("no command: put it after -- on the kernel command line");
		code = 127;
		goto out;
	}
	code = agent_run(argv + 1);
	/* The command may have made the console its controlling tty and had it hung up on exit. */
	if (pid1)
		on_hvc = agent_setup_console();
out:
	snprintf(line, sizeof(line), "exit %d", code);
	agent_announce(on_hvc, line);
	agent_drain_console();
	if (!pid1)
		return code; /* run outside a VM (debugging): behave like a plain wrapper */
	agent_power_off(code);
}
