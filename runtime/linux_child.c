/* The container init: everything between clone and execve (see linux_child.h for the order). */
#include "runtime/linux_child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/container_sync.h"
#include "runtime/devices.h"
#include "runtime/hooks.h"
#include "runtime/mounts.h"
#include "runtime/process.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/security.h"
#include "runtime/terminal.h"
#include "sandbox-vm/host/vm_host.h"

static __attribute__((noreturn)) void child_fail(struct linux_child *c, struct hy_error *err)
{
	sync_send_error(c->sync, err);
	_exit(1);
}

static int run_hooks(struct linux_child *c, enum hy_hook_kind kind, pid_t pid,
		     struct hy_error *err)
{
	const struct hy_hook_list *h = &c->cfg->hooks[kind];
	if (!h->n)
		return 0;
	struct hy_state st = *c->st;
	st.pid = pid;
	char *json = state_to_json(&st, false);
	if (!json)
		return hy_error_set(err, ENOMEM, "out of memory");
	int rc = hooks_run(h, kind, json, err);
	free(json);
	return rc;
}

/* Waits for the parent's go-ahead; returns its value. */
static int wait_ack(struct linux_child *c, struct hy_error *err)
{
	struct sync_msg m;
	int rc = sync_recv(c->sync, &m, NULL);
	if (rc < 0)
		_exit(1); /* the parent is gone: nobody to report to */
	if (m.type != SYNC_ACK)
		return hy_error_set(err, EPROTO, "sync: unexpected message %u", m.type);
	return m.value;
}

static int write_sysctls(const struct hy_linux *lnx, struct hy_error *err)
{
	if (!lnx->n_sysctl)
		return 0;
	int dir = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return hy_error_errno(err, errno, "linux.sysctl: open /proc/sys");
	int rc = 0;
	for (size_t i = 0; !rc && i < lnx->n_sysctl; i++) {
		const char *key = lnx->sysctl[i].key, *val = lnx->sysctl[i].value;
		char path[256];
		size_t len = strlen(key);
		if (!len || len >= sizeof(path) || strstr(key, "..") || key[0] == '/' ||
		    key[0] == '.') {
			rc = hy_error_set(err, EINVAL, "linux.sysctl: invalid key '%s'", key);
			break;
		}
		for (size_t k = 0; k <= len; k++)
			path[k] = key[k] == '.' ? '/' : key[k];
		struct open_how how = {.flags = O_WRONLY | O_CLOEXEC | O_TRUNC,
				       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
						  RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
		if (fd < 0) {
			rc = hy_error_errno(err, errno, "linux.sysctl: %s: open /proc/sys/%s", key, path);
			break;
		}
		size_t vlen = strlen(val);
		if (write(fd, val, vlen) != (ssize_t)vlen)
			rc = hy_error_errno(err, errno, "linux.sysctl: %s: write '%s'", key, val);
		close(fd);
	}
	close(dir);
	return rc;
}

/* Waits until the parent wrote our uid/gid maps and put us in the cgroup; then what depends on
 * that: root in the user namespace, the cgroup namespace (rooted at the container's cgroup), the
 * time namespace. Returns our host pid (the parent's ack), or -1 with err filled. */
static int complete_setup(struct linux_child *c, struct hy_error *err)
{
	if (!c->setup_pending)
		return 0;
	c->setup_pending = false;
	int host_pid = wait_ack(c, err);
	if (host_pid < 0)
		return -1;
	/* The limits are written now: join them (before any fork or thread). */
	if (c->cg_join && cgroup_join_self(c->cg_join, err) < 0)
		return -1;
	if (c->new_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return hy_error_errno(err, errno, "become root in the user namespace"), -1;
	/* The id change made us non-dumpable: /proc/self would belong to the host's root, out of
	 * reach of the namespace's root (timens_offsets, oom_score_adj, ...). */
	if (c->new_userns)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* After the cgroup join, so that the container's cgroup is the namespace's root. */
	if ((c->unshare_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return hy_error_errno(err, errno, "unshare cgroup namespace"), -1;
	if (c->unshare_flags & CLONE_NEWTIME) {
		/* Offsets apply to children and, through execve, to ourselves. */
		if (unshare(CLONE_NEWTIME) < 0)
			return hy_error_errno(err, errno, "unshare time namespace"), -1;
		if (ns_write_time_offsets(&c->cfg->linux_, err) < 0)
			return -1;
	}
	c->host_pid = host_pid;
	return 0;
}

/* mounts_apply calls this before a "cgroup" mount, which must see the cgroup namespace. */
static int complete_setup_cb(void *arg, struct hy_error *err)
{
	return complete_setup(arg, err) < 0 ? -(err->code ? err->code : EINVAL) : 0;
}

/* Namespaces; forks the init when the pid namespace needs it. Without a user namespace (and on
 * the one-clone path) the parent writes the limits while we go on with the mounts. */
static void enter_namespaces(struct linux_child *c, struct hy_error *err)
{
	if (ns_join(c->ns_fds, err) < 0)
		child_fail(c, err);
	int early = c->unshare_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
	if (early && unshare(early) < 0)
		child_fail(c, (hy_error_errno(err, errno, "unshare namespaces"), err));
	c->setup_pending = true;
	if (c->announce_setup && sync_send(c->sync, SYNC_SETUP, c->new_userns, NULL, -1) < 0)
		_exit(1);
	/* Maps are needed for anything privileged; a second fork must happen inside the cgroup. */
	if ((c->new_userns || c->fork_for_pid) && complete_setup(c, err) < 0)
		child_fail(c, err);
	if (!c->fork_for_pid)
		return;
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		child_fail(c, (hy_error_errno(err, errno, "pipe"), err));
	/* CLONE_PARENT: the init stays a child of hyrun (run waits for it), not of this stage. */
	struct clone_args ca = {.flags = CLONE_PARENT};
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		child_fail(c, (hy_error_errno(err, errno, "clone the init into its pid namespace"),
			       err));
	if (pid > 0) {
		close(gate[0]);
		sync_send(c->sync, SYNC_PID, (int)pid, NULL, -1);
		close(gate[1]);
		_exit(0);
	}
	close(gate[1]);
	char b;
	while (read(gate[0], &b, 1) < 0 && errno == EINTR)
		;
	close(gate[0]);
	c->host_pid = -1; /* known to the parent only; hooks get it from SYNC_HOOKS */
}

static int set_names(const struct hy_config *cfg, struct hy_error *err)
{
	if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return hy_error_errno(err, errno, "hostname: sethostname '%s'", cfg->hostname);
	if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
		return hy_error_errno(err, errno, "domainname: setdomainname '%s'", cfg->domainname);
	return 0;
}

/* The set-up is complete (cgroup joined): prestart and createRuntime hooks in the parent,
 * createContainer hooks here. */
static int setup_done_hooks(struct linux_child *c, struct hy_error *err)
{
	if (complete_setup(c, err) < 0)
		return -(err->code ? err->code : EINVAL);
	const struct hy_hook_list *h = c->cfg->hooks;
	if (!h[HY_HOOK_PRESTART].n && !h[HY_HOOK_CREATE_RUNTIME].n && !h[HY_HOOK_CREATE_CONTAINER].n)
		return 0;
	if (sync_send(c->sync, SYNC_HOOKS, 0, NULL, -1) < 0)
		_exit(1);
	int v = wait_ack(c, err);
	if (v < 0)
		return v;
	c->host_pid = v;
	return run_hooks(c, HY_HOOK_CREATE_CONTAINER, c->host_pid, err);
}

/* Everything that needs the host's view: mounts, devices, hooks before pivot_root, the switch. */
static int setup_rootfs(struct linux_child *c, struct hy_error *err)
{
	const struct hy_config *cfg = c->cfg;
	int rc = rootfs_prepare(cfg, err);
	if (rc < 0)
		return rc;
	int rootfd = open(cfg->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return hy_error_errno(err, errno, "root.path: open %s", cfg->root_path);
	rc = mounts_apply(cfg, rootfd, c->userns, c->idmap_fds, complete_setup_cb, c, err);
	for (size_t i = 0; i < c->n_idmap_fds; i++)
		if (c->idmap_fds[i] >= 0) {
			close(c->idmap_fds[i]);
			c->idmap_fds[i] = -1;
		}
	if (!rc)
		rc = devices_create(cfg, rootfd, mounts_has_dev(cfg), c->userns, err);
	/* runc creates a missing cwd too; inside the rootfs, after the mounts it may be under. */
	if (!rc && cfg->process->cwd) {
		int fd = rootfs_open_or_create(rootfd, cfg->process->cwd, true, err);
		if (fd < 0)
			rc = hy_error_prefix(err, "process.cwd");
		else
			close(fd);
	}
	close(rootfd);
	if (rc < 0)
		return rc;
	if ((rc = setup_done_hooks(c, err)) < 0)
		return rc;
	return rootfs_switch(cfg, c->no_pivot, err);
}

/* After the switch: terminal, sysctl, masked/readonly paths, read-only root, personality. */
static int finish_container(struct linux_child *c, struct hy_error *err)
{
	const struct hy_config *cfg = c->cfg;
	const struct hy_linux *lnx = &cfg->linux_;
	int rc;
	if (cfg->process->terminal) {
		int master;
		rc = terminal_setup(cfg->process, &master, err);
		if (rc < 0)
			return rc;
		if (sync_send(c->sync, SYNC_PTY, 0, NULL, master) < 0)
			_exit(1);
		close(master);
	}
	if (cfg->has_linux) {
		rc = write_sysctls(lnx, err);
		if (rc < 0)
			return rc;
		if (lnx->readonly_paths.n) {
			rc = security_apply_readonly_paths(&lnx->readonly_paths, err);
			if (rc < 0)
				return rc;
		}
		if (lnx->masked_paths.n) {
			rc = security_apply_masked_paths(&lnx->masked_paths, err);
			if (rc < 0)
				return rc;
		}
	}
	rc = rootfs_finalize(cfg, err);
	if (rc < 0)
		return rc;
	if (cfg->has_linux && lnx->has_personality && personality(lnx->personality) < 0)
		return hy_error_errno(err, errno, "linux.personality: personality(%#lx)",
				      lnx->personality);
	return 0;
}

static int load_seccomp(struct linux_child *c, int *notify_fd, struct hy_error *err)
{
	if (!c->cfg->has_linux || !c->cfg->linux_.seccomp)
		return 0;
	return hy_seccomp_load(c->cfg->linux_.seccomp, notify_fd, err);
}

/* User, capabilities, no_new_privs and seccomp: the last steps before waiting for start. */
static int drop_privileges(struct linux_child *c, int *notify_fd, struct hy_error *err)
{
	const struct hy_process *p = c->cfg->process;
	int rc;
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it while we have it. */
	if (!p->no_new_privileges && (rc = load_seccomp(c, notify_fd, err)) < 0)
		return rc;
	if ((rc = caps_prepare_for_user_change(err)) < 0)
		return rc;
	if ((rc = process_set_user(p, err)) < 0)
		return rc;
	process_set_umask(p);
	if ((rc = process_chdir(p, err)) < 0)
		return rc;
	if ((rc = caps_apply(p->capabilities, err)) < 0)
		return rc;
	if (p->no_new_privileges) {
		if ((rc = security_set_no_new_privs(err)) < 0)
			return rc;
		if ((rc = load_seccomp(c, notify_fd, err)) < 0)
			return rc;
	}
	return 0;
}

/* Blocks until `start` opens the fifo for reading, then tells it we are going. The fd stays
 * open (close-on-exec) so that `start` sees EOF exactly when the process is executed, or reads
 * why it was not. Returns the fd. */
static int wait_for_start(struct linux_child *c, struct hy_error *err)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fifo_fd);
	int fd;
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return hy_error_errno(err, errno, "open exec.fifo (is /proc mounted?)");
	close(c->fifo_fd);
	ssize_t w;
	do
		w = write(fd, "0", 1);
	while (w < 0 && errno == EINTR);
	if (w != 1) {
		close(fd);
		return hy_error_errno(err, errno, "write exec.fifo");
	}
	return fd;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Closes every fd from 3 + keep_fds (stdio, LISTEN_FDS and --preserve-fds stay) except the
 * ones the set-up still needs: the sync socket, exec.fifo and namespaces to join. */
static void close_inherited_fds(struct linux_child *c)
{
	int fixed[2 + HY_NS__COUNT + 16];
	size_t cap = 2 + HY_NS__COUNT + c->n_idmap_fds + (c->cg_join ? c->cg_join->n : 0);
	int *keep = cap <= sizeof(fixed) / sizeof(fixed[0]) ? fixed : malloc(cap * sizeof(int));
	if (!keep)
		return; /* they are close-on-exec all the same */
	size_t n = 0;
	for (size_t i = 0; i < c->n_idmap_fds; i++)
		if (c->idmap_fds[i] >= 0)
			keep[n++] = c->idmap_fds[i];
	if (c->sync >= 0)
		keep[n++] = c->sync;
	if (c->fifo_fd >= 0)
		keep[n++] = c->fifo_fd;
	for (int i = 0; i < HY_NS__COUNT; i++)
		if (c->ns_fds[i] >= 0)
			keep[n++] = c->ns_fds[i];
	for (size_t i = 0; c->cg_join && i < c->cg_join->n; i++)
		keep[n++] = c->cg_join->tasks_fd[i];
	qsort(keep, n, sizeof(keep[0]), cmp_int);
	unsigned from = 3 + c->keep_fds;
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
	if (c->cg_join)
		c->cg_join->unified_fd = -1; /* closed above: only clone3 needed it */
	if (keep != fixed)
		free(keep);
}

/* Isolation vm: the agent said READY; create may return (the sync socket closes with it). */
static int vm_ready(void *arg, struct hy_error *err)
{
	struct linux_child *c = arg;
	if (sync_send(c->sync, SYNC_READY, 0, NULL, -1) < 0)
		return hy_error_errno(err, errno, "sync socket: send");
	close(c->sync);
	c->sync = -1;
	return 0;
}

/* Isolation vm: the init is the VMM. Namespaces and cgroup are set up; no rootfs, user, caps or
 * seccomp here: the guest agent applies them to the guest process. */
static __attribute__((noreturn)) void run_vm_init(struct linux_child *c, struct hy_error *err)
{
	const struct hy_process *p = c->cfg->process;
	if (process_set_oom_score_adj(p, err) < 0 || setup_done_hooks(c, err) < 0)
		child_fail(c, err);
	int tty = -1;
	if (p->terminal) {
		/* A host pty: its master goes where a container's would (console socket or the
		 * foreground run); the slave, raw, carries the guest pty's bytes unchanged. */
		int master;
		if (terminal_setup(p, &master, err) < 0)
			child_fail(c, err);
		if (sync_send(c->sync, SYNC_PTY, 0, NULL, master) < 0)
			_exit(1);
		close(master);
		struct termios t;
		if (tcgetattr(STDIN_FILENO, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(STDIN_FILENO, TCSANOW, &t);
		}
		tty = STDIN_FILENO;
	}
	/* Nobody may open our /proc/<pid>/exe (the host's hyrun) or ptrace the VMM. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int status;
	if (vm_init_run(c->cfg, c->state_dir, c->fifo_fd, tty, vm_ready, c, &status, err) < 0) {
		if (c->sync >= 0)
			child_fail(c, err);
		dprintf(STDERR_FILENO, "hyrun: %s\n", err->msg);
		_exit(255);
	}
	vm_exit_like(status);
}

void linux_child_run(struct linux_child *c)
{
	struct hy_error err_buf = {0}, *err = &err_buf;
	const struct hy_config *cfg = c->cfg;
	const struct hy_process *p = cfg->process;
	/* Reset what the parent may have blocked or ignored. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* flock locks belong to the open file: our copy would keep the container locked. And
	 * nothing else of the caller's stays open while the init waits for start (a pipe held
	 * open here would keep e.g. a shell's command substitution or bats waiting). */
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
	close_inherited_fds(c);
	enter_namespaces(c, err);
	umask(0);
	if (!c->no_new_keyring)
		syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL);
	if (c->vm)
		run_vm_init(c, err);
	if (process_prepare_fds(c->keep_fds, err) < 0 || set_names(cfg, err) < 0 ||
	    process_set_oom_score_adj(p, err) < 0 || process_apply_rlimits(p, err) < 0 ||
	    setup_rootfs(c, err) < 0 || finish_container(c, err) < 0)
		child_fail(c, err);
	char **owned = NULL;
	char **envp = process_build_env(p, c->listen_fds, getpid(), &owned, err);
	if (!envp)
		child_fail(c, err);
	char exe[4096];
	if (process_find_executable(p->args.v[0], envp, exe, sizeof(exe), err) < 0)
		child_fail(c, err);
	if (lsm_apply_process_labels(p, cfg->linux_.mount_label, err) < 0)
		child_fail(c, err);
	int notify_fd = -1;
	if (drop_privileges(c, &notify_fd, err) < 0)
		child_fail(c, err);
	/* Until execve (which resets it) no other process may open our /proc/<pid>/exe, the host's
	 * hyrun binary, or ptrace us (CVE-2019-5736). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (sync_send(c->sync, SYNC_READY, 0, NULL, notify_fd) < 0)
		_exit(1);
	if (notify_fd >= 0)
		close(notify_fd);
	if (c->fifo_fd < 0) {
		/* run: no start to wait for. The sync socket closes with the execve, which tells
		 * the parent the process runs; an error goes the same way. */
		if (run_hooks(c, HY_HOOK_START_CONTAINER, getpid(), err) == 0) {
			execve(exe, p->args.v, envp);
			hy_error_errno(err, errno, "exec %s", exe);
		}
		child_fail(c, err);
	}
	close(c->sync);
	c->sync = -1;
	/* From here errors go to `start` through the fifo (and to stderr, like runc's init). */
	int fifo = wait_for_start(c, err);
	if (fifo < 0) {
		dprintf(STDERR_FILENO, "hyrun: %s\n", err->msg);
		_exit(127);
	}
	if (run_hooks(c, HY_HOOK_START_CONTAINER, getpid(), err) == 0) {
		execve(exe, p->args.v, envp);
		hy_error_errno(err, errno, "exec %s", exe);
	}
	if (write(fifo, err->msg, strnlen(err->msg, sizeof(err->msg))) < 0)
		dprintf(STDERR_FILENO, "hyrun: %s\n", err->msg);
	_exit(127);
}
