/* The workload's stdio: virtio-console (/dev/hvc0) when the VMM provides one, so that its output is
 * a clean stream apart from the kernel log on the serial port; otherwise the kernel's console. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

bool agent_setup_console(void)
{
	bool hvc = access("/dev/hvc0", F_OK) == 0;
	int fd = open(hvc ? "/dev/hvc0" : "/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0 && hvc) {
		hvc = false;
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
	}
	if (fd < 0)
		return false; /* keep whatever stdio the kernel gave us */
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
	return hvc;
}

/* The exit line goes to the workload's console and, when that is hvc0, to the kernel's console too:
 * the serial log then always says how the VM ended. */
void agent_announce(bool on_hvc, const char *line)
{
	agent_log("%s", line);
	if (on_hvc) {
		int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
		if (fd >= 0) {
			static const char prefix[] = "hyrun-agent: ";
			(void)!write(fd, prefix, sizeof(prefix) - 1);
			(void)!write(fd, line, strlen(line));
			(void)!write(fd, "\n", 1);
			tcdrain(fd);
			close(fd);
		}
	}
}

/* A write to a tty returns once the bytes are in the tty layer, before the driver hands them to the
 * device (the 8250's transmit interrupt, hvc's output buffer). The VMM stops the VM as soon as the
 * exit port is written, so wait until everything left. */
void agent_drain_console(void)
{
	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			tcdrain(fd);
}
