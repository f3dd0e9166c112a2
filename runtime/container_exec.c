/* exec: a new process in a running container. It joins the init's pid namespace through our own
 * setns (a pid namespace applies to children), every other namespace itself (user first), and
 * the cgroup before it runs anything; then the exec process is applied as for the init.
 * A VM container's exec runs inside the guest instead (vm_exec: through the guest agent). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container_internal.h"
#include "runtime/container_sync.h"
#include "runtime/namespaces.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "runtime/security.h"
#include "runtime/terminal.h"
#include "sandbox-vm/host/vm_host.h"


struct exec_child {
	const struct hy_process *p;
	const struct hy_config *cfg;
	int sync;
	int ns[HY_NS__COUNT];
	unsigned keep_fds, listen_fds;
	struct cgroup_join *join; /* NULL, or the cgroup's v1 hierarchies to join first */
};

/* A notify fd goes to the parent, which sends it to listenerPath as create does. */
static int load_seccomp(const struct exec_child *x, struct hy_error *err)
{
	if (!x->cfg->has_linux || !x->cfg->linux_.seccomp)
		return 0;
	int notify = -1;
	int rc = hy_seccomp_load(x->cfg->linux_.seccomp, &notify, err);
	if (notify >= 0) {
		if (rc == 0 && sync_send(x->sync, SYNC_SECCOMP, 0, NULL, notify) < 0)
			rc = hy_error_errno(err, errno, "exec: sending the seccomp notify fd");
		close(notify);
	}
	return rc;
}

static int exec_setup(struct exec_child *x, char **envp_out[], char **owned[], char *exe,
		      size_t exe_size, struct hy_error *err)
{
	const struct hy_process *p = x->p;
	int rc;
	struct sync_msg m;
	/* The container's limits are in place: join at once, while still single-threaded. */
	if (x->join && (rc = cgroup_join_self(x->join, err)) < 0)
		return rc;
	if (sync_recv(x->sync, &m, NULL) < 0 || m.type != SYNC_ACK)
		_exit(1);
	if ((rc = ns_join(x->ns, err)) < 0)
		return rc;
	if ((rc = process_prepare_fds(x->keep_fds, err)) < 0 || (rc = process_apply_rlimits(p, err)) < 0)
		return rc;
	if (p->terminal) {
		int master;
		if ((rc = terminal_setup(p, &master, err)) < 0)
			return rc;
		if (sync_send(x->sync, SYNC_PTY, 0, NULL, master) < 0)
			_exit(1);
		close(master);
	}
	*envp_out = process_build_env(p, x->listen_fds, getpid(), owned, err);
	if (!*envp_out)
		return -ENOMEM;
	if ((rc = process_find_executable(p->args.v[0], *envp_out, exe, exe_size, err)) < 0)
		return rc;
	if ((rc = lsm_apply_process_labels(p, NULL, err)) < 0)
		return rc;
	if (!p->no_new_privileges && (rc = load_seccomp(x, err)) < 0)
		return rc;
	if ((rc = caps_prepare_for_user_change(err)) < 0 || (rc = process_set_user(p, err)) < 0)
		return rc;
	process_set_umask(p);
	if ((rc = process_chdir(p, err)) < 0 || (rc = caps_apply(p->capabilities, err)) < 0)
		return rc;
	if (p->no_new_privileges) {
		if ((rc = security_set_no_new_privs(err)) < 0 || (rc = load_seccomp(x, err)) < 0)
			return rc;
	}
	return 0;
}

static __attribute__((noreturn)) void exec_child_run(struct exec_child *x)
{
	struct hy_error err = {0};
	/* We are in the container's pid namespace already: until execve nobody there may open our
	 * /proc/<pid>/exe (the host's hyrun) or ptrace us (CVE-2019-5736). The parent writes our
	 * oom_score_adj, which a non-dumpable process in a user namespace could not. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char **envp = NULL, **owned = NULL, exe[4096];
	if (exec_setup(x, &envp, &owned, exe, sizeof(exe), &err) == 0) {
		execve(exe, x->p->args.v, envp);
		hy_error_errno(&err, errno, "exec %s", exe);
	}
	sync_send_error(x->sync, &err);
	_exit(127);
}

static int write_oom_score_adj(pid_t pid, const struct hy_process *p, struct hy_error *err)
{
	char path[64], val[16];
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	int n = snprintf(val, sizeof(val), "%d", p->oom_score_adj);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "process.oomScoreAdj: open %s", path);
	int rc = write(fd, val, (size_t)n) == n ? 0
						: hy_error_errno(err, errno, "process.oomScoreAdj: write %s", val);
	close(fd);
	return rc;
}

/* Receives the pty (or an error) until the child's execve closes the socket. */
static int exec_parent_sync(const struct hy_exec_opts *opts, const struct hy_state *st,
			    const struct hy_config *cfg, int sock, int *master, struct hy_error *err)
{
	for (;;) {
		struct sync_msg m;
		int fd = -1;
		int rc = sync_recv(sock, &m, &fd);
		if (rc == -EPIPE)
			return 0;
		if (rc < 0)
			return hy_error_errno(err, -rc, "exec: sync socket");
		if (m.type == SYNC_ERROR) {
			if (fd >= 0)
				close(fd);
			return hy_error_set(err, m.code, "exec: %s", m.text);
		}
		if (m.type == SYNC_SECCOMP && fd >= 0) {
			/* The exec'd process has its own filter and listener fd: the agent at
			 * listenerPath gets it with the container's state, as for the init. */
			char *json = state_to_json(st, false);
			rc = json ? seccomp_send_listener(cfg->linux_.seccomp, fd, json, err)
				  : hy_error_set(err, ENOMEM, "out of memory");
			free(json);
			close(fd);
			if (rc < 0)
				return hy_error_prefix(err, "exec");
		} else if (m.type == SYNC_PTY && fd >= 0) {
			if (opts->console_socket) {
				rc = terminal_send_to_socket(opts->console_socket, fd, err);
				close(fd);
				if (rc < 0)
					return rc;
			} else if (*master < 0) {
				*master = fd;
			} else {
				close(fd);
			}
		} else if (fd >= 0) {
			close(fd);
		}
	}
}

static int spawn(const struct hy_runtime *rt, const struct hy_exec_opts *opts,
		 const struct hy_state *st, struct exec_child *x, pid_t *child, int *master,
		 struct hy_error *err)
{
	struct hy_cgroup *cg = NULL;
	struct cgroup_join join = {.unified_fd = -1};
	int sv[2] = {-1, -1};
	int rc = 0;
	if (st->cgroup_path && (rc = cgroup_open(st->cgroup_path, &cg, err)) < 0)
		return rc;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = hy_error_errno(err, errno, "socketpair");
		goto out;
	}
	int min_fd = 3 + (int)x->keep_fds;
	x->sync = fcntl(sv[1], F_DUPFD_CLOEXEC, min_fd);
	if (x->sync < 0) {
		rc = hy_error_errno(err, errno, "fcntl F_DUPFD");
		goto out;
	}
	close(sv[1]); /* it may sit in the range handed to the process */
	sv[1] = -1;
	/* Our children are born in the container's pid namespace; we stay where we are. */
	if (x->ns[HY_NS_PID] >= 0) {
		if (setns(x->ns[HY_NS_PID], CLONE_NEWPID) < 0) {
			rc = hy_error_errno(err, errno, "setns pid namespace of %d", (int)st->pid);
			goto out;
		}
		close(x->ns[HY_NS_PID]);
		x->ns[HY_NS_PID] = -1;
	}
	if (cg) {
		if ((rc = cgroup_join_prepare(cg, min_fd, &join, err)) < 0)
			goto out;
		x->join = &join;
	}
	bool unified_by_parent;
	long pid = cgroup_join_clone(0, &join, &unified_by_parent);
	if (pid < 0) {
		rc = hy_error_errno(err, errno, "clone3");
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		exec_child_run(x);
	}
	close(x->sync);
	x->sync = -1;
	if (unified_by_parent && (rc = cgroup_join_unified_pid(cg, (pid_t)pid, err)) < 0) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
		goto out;
	}
	if (x->p->has_oom_score_adj && (rc = write_oom_score_adj((pid_t)pid, x->p, err)) < 0) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
		goto out;
	}
	sync_send(sv[0], SYNC_ACK, 0, NULL, -1);
	rc = exec_parent_sync(opts, st, x->cfg, sv[0], master, err);
	if (rc < 0) {
		waitpid((pid_t)pid, NULL, 0);
		goto out;
	}
	*child = (pid_t)pid;
out:
	cgroup_join_close(&join);
	x->join = NULL;
	if (x->sync >= 0)
		close(x->sync);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	if (cg)
		hy_cgroup_free(cg);
	(void)rt;
	return rc;
}

static int exec_in_vm(const struct hy_runtime *rt, const struct hy_exec_opts *opts,
		      const struct hy_config *cfg, int *exit_status, struct hy_error *err)
{
	if (opts->preserve_fds)
		return hy_error_set(err, EINVAL,
				    "exec: --preserve-fds cannot pass host fds into a VM container");
	char *dir = state_dir_path(rt->root, opts->id);
	if (!dir)
		return hy_error_set(err, ENOMEM, "out of memory");
	struct vm_exec_opts vo = {.state_dir = dir, .cfg = cfg, .process = opts->process,
				  .console_socket = opts->console_socket,
				  .pid_file = opts->pid_file, .detach = opts->detach};
	int rc = vm_exec(&vo, exit_status, err);
	free(dir);
	return rc;
}

int container_exec(const struct hy_runtime *rt, const struct hy_exec_opts *opts, int *exit_status,
		   struct hy_error *err)
{
	*exit_status = 0;
	if (!opts->process || !opts->process->args.n)
		return hy_error_set(err, EINVAL, "exec: no command given");
	if (opts->process->terminal && opts->detach && !opts->console_socket)
		return hy_error_set(err, EINVAL, "exec -t -d needs --console-socket");
	struct hy_state *st = NULL;
	struct hy_config *cfg = NULL;
	int rc = state_read(rt->root, opts->id, &st, err);
	if (rc < 0)
		return rc;
	if (st->status != HY_STATUS_RUNNING && st->status != HY_STATUS_CREATED) {
		rc = hy_error_set(err, EINVAL, "cannot exec in container '%s': status is %s",
				  opts->id, state_status_name(st->status));
		goto out;
	}
	if ((rc = container_load_config(st, &cfg, err)) < 0)
		goto out;
	if (cfg->has_linux && cfg->linux_.seccomp) {
		char *cache = state_dir_path(rt->root, ".seccomp-cache");
		if (!cache) {
			rc = hy_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
		rc = seccomp_prepare(cfg->linux_.seccomp, cache, err);
		free(cache);
		if (rc < 0)
			goto out;
	}
	if (st->isolation == HY_ISOLATION_VM) {
		/* The process runs inside the guest: no namespace of the VMM is joined here. */
		rc = exec_in_vm(rt, opts, cfg, exit_status, err);
		goto out;
	}
	unsigned listen = process_listen_fds();
	struct exec_child x = {.p = opts->process, .cfg = cfg, .sync = -1,
			       .listen_fds = listen, .keep_fds = listen + opts->preserve_fds};
	if ((rc = ns_open_of_pid(st->pid, x.ns, err)) < 0)
		goto out;
	sigset_t set, old;
	if (!opts->detach)
		container_block_signals(&set, &old);
	pid_t child = 0;
	int master = -1;
	rc = spawn(rt, opts, st, &x, &child, &master, err);
	ns_close_all(x.ns);
	if (rc == 0 && opts->pid_file)
		rc = pidfile_write(opts->pid_file, child, err);
	if (rc == 0 && !opts->detach)
		rc = container_wait_foreground(child, master, &set, exit_status, err);
	if (master >= 0)
		close(master);
	if (!opts->detach)
		sigprocmask(SIG_SETMASK, &old, NULL);
out:
	config_free(cfg);
	state_free(st);
	return rc;
}
