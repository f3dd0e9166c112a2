/* hyrun-agent: the guest's PID 1, in one of two modes.
 *  - command mode (default): runs one command taken from the kernel command line (words after
 *    `--`), optionally inside a root shared over virtio-9p or on a virtio-blk disk, reports its exit
 *    status on the console and through I/O port 0xf4, and resets the VM.
 *  - OCI mode (`hyrun.oci=1`): the root (9p tag or disk) is mounted at AGENT_ROOT and the agent
 *    serves sandbox-vm/proto/agent_proto.h on vsock port AGENT_VSOCK_PORT: CREATE applies the
 *    container parts and prepares the init process, START runs it, EXEC runs more, PS lists them;
 *    the init's exit ends the VM. Files: oci.c (PID 1 loop), session.c (one connection),
 *    container.c (CREATE's mounts, paths, sysctls), spawn.c (a process from a spec), ps.c. */
#ifndef HYRUN_AGENT_H
#define HYRUN_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AGENT_EXIT_PORT 0xf4 /* = VMM_EXIT_PORT in sandbox-vm/vmm/vmm.h and QEMU's isa-debug-exit */

/* Options the agent reads from /proc/cmdline. Parameters with a dot never reach init's argv or
 * environment (the kernel treats them as module parameters), so they are parsed from /proc. */
struct agent_options {
	char share_tag[64]; /* hyrun.share=TAG: 9p root */
	char disk[64];      /* hyrun.disk=/dev/vda or hyrun.root=/dev/vda: a block device root */
	char rootfstype[16]; /* hyrun.rootfstype=ext4|erofs of that device ("" = ext4) */
	bool disk_ro;       /* hyrun.disk_ro=1 or hyrun.root_ro=1 */
	bool share_ro;      /* hyrun.share_ro=1: the 9p root read-only */
	bool debug;         /* hyrun.debug=1: log each step */
	bool oci;           /* hyrun.oci=1: OCI mode (vsock protocol) */
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
/* Mounts the block device root (opts->disk, type opts->rootfstype) on target. A writable erofs
 * root (no disk_ro) becomes an overlay: erofs as the lower layer, the upper on a tmpfs in guest
 * RAM, so writes work and are gone when the VM ends. 0 or -errno (logged). */
int agent_mount_disk_root(const struct agent_options *opts, const char *target);

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

/* ---- OCI mode ---- */
struct agent_process;

#define AGENT_RUN_DIR "/run/hyrun"
#define AGENT_ROOT AGENT_RUN_DIR "/root"     /* the container root */
#define AGENT_SHARES AGENT_RUN_DIR "/shares" /* 9p tags of bind mounts, each mounted once */
#define AGENT_CREATED AGENT_RUN_DIR "/created" /* exists once CREATE succeeded */
#define AGENT_CREATING AGENT_RUN_DIR "/creating" /* claimed by the first CREATE */
#define AGENT_ERR_MAX 512

/* oci.c: PID 1 in OCI mode. Never returns. */
void agent_oci_main(const struct agent_options *opts, bool on_hvc) __attribute__((noreturn));
int agent_mount_oci_root(const struct agent_options *opts);

/* session.c: serves one accepted connection (in a child of PID 1) and exits. */
void agent_session(int conn) __attribute__((noreturn));

/* container.c: CREATE's container parts inside AGENT_ROOT, in order: hostname, mounts, sysctls,
 * masked and read-only paths, root read-only. 0, or -errno with a one-line reason in why. */
int agent_container_setup(const struct agent_process *p, char *why, size_t why_size);
/* Joins path to root as if root were /: symlinks (absolute ones too) and ".." stay inside it.
 * Missing trailing components are kept as they are. 0 or -errno. */
int agent_resolve_in_root(const char *root, const char *path, char *out, size_t size);

/* spawn.c: a process for a spec, started in AGENT_ROOT. */
struct agent_child {
	pid_t pid;
	int in_fd, out_fd, err_fd; /* our ends: -1 when closed; terminal: in_fd == out_fd (master) */
	int start_fd;              /* write one byte to let the process exec; -1 once sent */
	bool terminal;
};
/* Forks the process and waits until it is set up (user, caps, cwd...) and waiting for start.
 * 0, or -errno with why (the child's own message when its setup failed). */
int agent_spawn(const struct agent_process *p, struct agent_child *c, char *why, size_t why_size);
int agent_spawn_start(struct agent_child *c);

/* ps.c: the guest's processes but the agent's own, as PS_LIST text (malloc'd). */
char *agent_ps_list(size_t *len);

/* ---- net.c: the interfaces the host handed over (hyrun.net=, see net.c) ---- */
#include <stdint.h>
#define AGENT_NET_MAX	    4 /* = VM_NET_MAX in sandbox-vm/host/vm_host.h */
#define AGENT_NET_MAX_ADDRS 8 /* = VM_NET_MAX_ADDRS */
#define AGENT_NET_PARAM_MAX 256
struct agent_net_if {
	unsigned char mac[6];
	uint32_t addr[AGENT_NET_MAX_ADDRS]; /* network byte order */
	uint8_t prefix[AGENT_NET_MAX_ADDRS];
	size_t n_addrs;
	uint32_t gateway;
	bool has_gateway;
	unsigned mtu; /* 0 = leave it */
};
/* One value (after "hyrun.net="). 0, or -EINVAL with the reason in why. */
int agent_net_parse(const char *value, struct agent_net_if *out, char *why, size_t why_size);
/* Every hyrun.net= word before `--` (at most AGENT_NET_MAX, distinct MACs). */
int agent_net_parse_cmdline(const char *cmdline, struct agent_net_if ifs[AGENT_NET_MAX],
			    size_t *n, char *why, size_t why_size);
/* Applies /proc/cmdline's hyrun.net= words and brings lo up, before any container process.
 * 0 or -errno (logged). */
int agent_net_setup(void);

#endif
