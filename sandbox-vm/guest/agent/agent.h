/* hyrun-agent: the guest's PID 1. This agent runs one command taken from the kernel command
 * line (words after `--`), optionally inside a root shared over virtio-9p or on a virtio-blk disk,
 * reports its exit status on the console and through I/O port 0xf4, and resets the VM.
 * The VM-isolation work grows it into the OCI agent (vsock protocol, process spec). */
#ifndef HYRUN_AGENT_H
#define HYRUN_AGENT_H

#include <stdbool.h>

#define AGENT_EXIT_PORT 0xf4 /* = VMM_EXIT_PORT in sandbox-vm/vmm/vmm.h and QEMU's isa-debug-exit */

/* Options the agent reads from /proc/cmdline. Parameters with a dot never reach init's argv or
 * environment (the kernel treats them as module parameters), so they are parsed from /proc. */
struct agent_options {
	char share_tag[64]; /* hyrun.share=TAG: 9p root */
	char disk[64];      /* hyrun.disk=/dev/vda: ext4 root */
	bool disk_ro;       /* hyrun.disk_ro=1 */
	bool debug;         /* hyrun.debug=1: log each step */
};

/* log.c: messages prefixed "hyrun-agent: " on stderr. */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void agent_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void agent_set_debug(bool on);

/* cmdline.c */
int agent_parse_cmdline(const char *cmdline, struct agent_options *opts);
int agent_read_cmdline(struct agent_options *opts);

/* mounts.c */
int agent_mount_basic(void);
int agent_enter_root(const struct agent_options *opts);

/* console.c: stdio on /dev/hvc0 (virtio-console) when present, else /dev/console. Returns true when
 * hvc0 was chosen (the kernel log console is then a different device). */
bool agent_setup_console(void);
void agent_announce(bool on_hvc, const char *line);
void agent_drain_console(void);

/* run.c: runs argv as a child, reaping every orphan until it exits; returns the shell-style status
 * (exit code, or 128 + signal). */
int agent_run(char *const argv[]);

/* power.c: writes code to the exit port, syncs and resets. Never returns. */
void agent_power_off(int code) __attribute__((noreturn));

#endif
