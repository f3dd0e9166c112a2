/* End of the VM: the exit code goes to I/O port 0xf4 (QEMU's isa-debug-exit exits there with
 * (code << 1) | 1; hyrun's VMM records it), then a reset (reboot=k: the kernel pulses the i8042),
 * which both VMMs treat as the end of the VM. */
#include <errno.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent.h"

void agent_power_off(int code)
{
	/* Leave a clean file system on a disk root: remounting read-only checkpoints ext4's journal
	 * (the VM is reset, never unmounted). Everything else is dead by now (agent_run). */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 && errno != EINVAL)
		agent_debug("remount / read-only: %s", strerror(errno));
	/* The same for an OCI container's disk root (hyrun.root=), which is not the agent's /. */
	if (mount(NULL, AGENT_ROOT, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 && errno != EINVAL &&
	    errno != ENOENT)
		agent_debug("remount " AGENT_ROOT " read-only: %s", strerror(errno));
	sync();
	if (ioperm(AGENT_EXIT_PORT, 1, 1) == 0)
		outb((unsigned char)code, AGENT_EXIT_PORT);
	else
		agent_log("ioperm(0x%x): %s (exit code not reported)", AGENT_EXIT_PORT, strerror(errno));
	reboot(RB_AUTOBOOT);
	agent_log("reboot: %s", strerror(errno));
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
