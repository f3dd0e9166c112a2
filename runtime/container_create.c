/* create: the state dir, the cgroup, one clone of the container init and the parent's side of
 * the set-up protocol (linux_child.h). The init is left blocked on exec.fifo. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "runtime/container_internal.h"
#include "runtime/container_sync.h"
#include "runtime/linux_child.h"
#include "runtime/mounts.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "runtime/security.h"
#include "runtime/terminal.h"
#include "cgroups/resources.h"
#include "sandbox-vm/host/vm_host.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int validate(const struct hy_config *cfg, const struct hy_create_opts *opts,
		    bool keep_master, struct hy_error *err)
{
	if (!cfg->process || !cfg->process->args.n)
		return hy_error_set(err, EINVAL, "config.json: process.args: required to create a "
						 "container");
	/* They run in the container's namespaces right before its process; for a VM that is
	 * inside the guest, where no hook binary of the host exists. */
	if (cfg->isolation == HY_ISOLATION_VM && cfg->hooks[HY_HOOK_START_CONTAINER].n)
		return hy_error_set(err, ENOTSUP, "config.json: hooks.startContainer: not supported "
						 "with isolation vm");
	const struct hy_namespace *ns = cfg->linux_.namespaces;
	if (!cfg->has_linux || !ns[HY_NS_MOUNT].present)
		return hy_error_set(err, EINVAL, "config.json: linux.namespaces: a mount namespace "
						 "is required");
	if ((cfg->hostname || cfg->domainname) && (!ns[HY_NS_UTS].present || ns[HY_NS_UTS].path))
		return hy_error_set(err, EINVAL, "config.json: hostname: setting it needs a new uts "
						 "namespace");
	if (cfg->process->terminal && !opts->console_socket && !keep_master)
		return hy_error_set(err, EINVAL, "process.terminal is true: --console-socket is "
						 "required when the container is detached");
	if (cfg->linux_.n_time_offsets && (!ns[HY_NS_TIME].present || ns[HY_NS_TIME].path))
		return hy_error_set(err, EINVAL, "config.json: linux.timeOffsets: needs a new time "
						 "namespace");
	/* A clear error now rather than "chdir: Permission denied" from inside. */
	return userns_check_rootfs_owner(cfg->root_path, &cfg->linux_, err);
}

static int make_fifo(const char *root, const struct hy_config *cfg, struct hy_created *c,
		     struct hy_error *err)
{
	c->fifo_path = state_file_path(root, c->st.id, "exec.fifo");
	if (!c->fifo_path)
		return hy_error_set(err, ENOMEM, "out of memory");
	/* Anyone may open it for writing: the init may have dropped to another user by then. */
	if (mkfifo(c->fifo_path, 0622) < 0 || chmod(c->fifo_path, 0622) < 0)
		return hy_error_errno(err, errno, "mkfifo %s", c->fifo_path);
	return 0;
}

/* Kills what the failed create started; mounts go with the init's mount namespace. */
static void kill_children(pid_t stage1, pid_t init)
{
	if (init > 0 && init != stage1) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
	}
	if (stage1 > 0) {
		kill(stage1, SIGKILL);
		waitpid(stage1, NULL, 0);
	}
}

static int handle_pty(const struct hy_create_opts *opts, bool keep_master, int fd,
		      struct hy_created *c, struct hy_error *err)
{
	if (fd < 0)
		return hy_error_set(err, EPROTO, "sync: pty message without a file descriptor");
	if (opts->console_socket) {
		int rc = terminal_send_to_socket(opts->console_socket, fd, err);
		close(fd);
		return rc;
	}
	if (keep_master && c->pty_master < 0) {
		c->pty_master = fd;
		return 0;
	}
	close(fd);
	return 0;
}

/* The VMM needs /dev/kvm and /dev/net/tun whatever linux.resources.devices allows the guest
 * process (which never sees the host's devices): rules appended last win. */
static int allow_vm_devices(struct hy_config *cfg, struct hy_error *err)
{
	struct hy_resources *r = cfg->has_linux ? cfg->linux_.resources : NULL;
	if (!r || !r->has_devices)
		return 0;
	static const struct hy_device_rule vm_rules[] = {
		{.allow = true, .type = 'c', .major = 10, .minor = 232, .access = "rw"}, /* kvm */
		{.allow = true, .type = 'c', .major = 10, .minor = 200, .access = "rw"}, /* tun */
	};
	size_t n = sizeof(vm_rules) / sizeof(vm_rules[0]);
	struct hy_device_rule *d = realloc(r->devices, (r->n_devices + n) * sizeof(*d));
	if (!d)
		return hy_error_set(err, ENOMEM, "out of memory");
	memcpy(d + r->n_devices, vm_rules, sizeof(vm_rules));
	r->devices = d;
	r->n_devices += n;
	return 0;
}

/* uid/gid maps, cgroup, resources for the first stage; then the child may go on. */
static int setup_child(int sock, pid_t stage1, bool maps, struct hy_created *c,
		       struct hy_error *err)
{
	const struct hy_config *cfg = c->cfg;
	int rc;
	if (maps && (rc = userns_write_mappings(stage1, &cfg->linux_, err)) < 0)
		return rc;
	/* Limits before the child joins the v1 hierarchies (after this ack): it may already be
	 * making /dev nodes, and between a v1 "devices.deny a" and the allow rules after it its
	 * mknod would fail. */
	if (c->cg && cfg->linux_.resources &&
	    (rc = cgroup_apply_resources(c->cg, cfg->linux_.resources, err)) < 0)
		return hy_error_prefix(err, "linux.resources");
	if (c->cg && c->join_unified_by_parent &&
	    (rc = cgroup_join_unified_pid(c->cg, stage1, err)) < 0)
		return rc;
	/* A child that already failed has its error queued for parent_sync: no error here. */
	sync_send(sock, SYNC_ACK, stage1, NULL, -1);
	return 0;
}

/* The parent's side of the protocol, until the init says it is ready. */
static int parent_sync(const struct hy_create_opts *opts, bool keep_master, int sock,
		       pid_t stage1, struct hy_created *c, struct hy_error *err)
{
	const struct hy_config *cfg = c->cfg;
	int rc;
	for (;;) {
		struct sync_msg m;
		int fd = -1;
		rc = sync_recv(sock, &m, &fd);
		if (rc == -EPIPE)
			return hy_error_set(err, ECHILD, "container init exited during set-up");
		if (rc < 0)
			return hy_error_errno(err, -rc, "sync socket: recvmsg");
		switch (m.type) {
		case SYNC_ERROR:
			return hy_error_set(err, m.code, "%s", m.text);
		case SYNC_SETUP:
			if ((rc = setup_child(sock, stage1, m.value, c, err)) < 0)
				return rc;
			break;
		case SYNC_PID:
			c->pid = m.value;
			waitpid(stage1, NULL, 0); /* the intermediate stage exits at once */
			break;
		case SYNC_HOOKS:
			c->st.pid = c->pid;
			if ((rc = container_run_hooks(cfg, HY_HOOK_PRESTART, &c->st, err)) < 0 ||
			    (rc = container_run_hooks(cfg, HY_HOOK_CREATE_RUNTIME, &c->st, err)) < 0)
				return rc;
			if (sync_send(sock, SYNC_ACK, c->pid, NULL, -1) < 0)
				return hy_error_errno(err, errno, "sync socket: send");
			break;
		case SYNC_PTY:
			if ((rc = handle_pty(opts, keep_master, fd, c, err)) < 0)
				return rc;
			break;
		case SYNC_READY:
			if (fd >= 0) {
				/* The listener must learn which process it serves. */
				c->st.pid = c->pid;
				char *json = state_to_json(&c->st, false);
				rc = json ? seccomp_send_listener(cfg->linux_.seccomp, fd, json, err)
					  : hy_error_set(err, ENOMEM, "out of memory");
				free(json);
				close(fd);
				if (rc < 0)
					return rc;
			}
			return 0;
		default:
			if (fd >= 0)
				close(fd);
			return hy_error_set(err, EPROTO, "sync socket: unexpected message %u", m.type);
		}
	}
}

static void fill_state(const struct hy_runtime *rt, struct hy_created *c, const char *id)
{
	const struct hy_config *cfg = c->cfg;
	struct hy_state *st = &c->st;
	st->oci_version = cfg->oci_version;
	st->id = (char *)id;
	st->status = HY_STATUS_CREATING;
	st->bundle = cfg->bundle;
	st->rootfs = cfg->root_path;
	st->created = state_now_rfc3339();
	st->owner = geteuid();
	st->annotations = cfg->annotations;
	st->n_annotations = cfg->n_annotations;
	st->isolation = cfg->isolation == HY_ISOLATION_VM ? HY_ISOLATION_VM : HY_ISOLATION_CONTAINER;
	st->cgroup_path = c->cg ? (char *)cgroup_state_path(c->cg) : NULL;
	st->systemd_cgroup = rt->systemd_cgroup;
	st->use_terminal = cfg->process->terminal;
	st->has_pidns = cfg->linux_.namespaces[HY_NS_PID].present;
}

/* Clone flags: the fast path creates every namespace in the clone itself; joining one by path
 * means joining first and unsharing the rest, so that new ones belong to a joined user ns. */
static void plan_namespaces(const struct hy_config *cfg, struct linux_child *lc, int *clone_flags)
{
	int new_flags = ns_new_flags(&cfg->linux_);
	const int late = CLONE_NEWCGROUP | CLONE_NEWTIME;
	if (!ns_any_path(&cfg->linux_)) {
		*clone_flags = new_flags & ~late;
		lc->unshare_flags = new_flags & late;
		lc->fork_for_pid = false;
		lc->announce_setup = false;
	} else {
		*clone_flags = 0;
		lc->unshare_flags = new_flags;
		lc->fork_for_pid = (new_flags & CLONE_NEWPID) ||
				   (cfg->linux_.namespaces[HY_NS_PID].present &&
				    cfg->linux_.namespaces[HY_NS_PID].path);
		lc->announce_setup = true;
	}
	const struct hy_namespace *u = &cfg->linux_.namespaces[HY_NS_USER];
	lc->userns = u->present;
	lc->new_userns = u->present && !u->path;
}

/* User namespaces of the idmapped mounts, made here where /proc is the host's: the container
 * process only has to open_tree + mount_setattr + move_mount with them. */
static int prepare_idmaps(const struct hy_config *cfg, int min_fd, int **out,
			  struct hy_error *err)
{
	*out = NULL;
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		n += mount_wants_idmap(&cfg->mounts[i]);
	if (!n)
		return 0;
	int *fds = malloc(cfg->n_mounts * sizeof(int));
	if (!fds)
		return hy_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg->n_mounts; i++)
		fds[i] = -1;
	*out = fds;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (!mount_wants_idmap(&cfg->mounts[i]))
			continue;
		int fd;
		int rc = mount_idmap_userns(cfg, i, &fd, err);
		if (rc < 0)
			return rc;
		fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
		close(fd);
		if (fds[i] < 0)
			return hy_error_errno(err, errno, "mounts[%zu]: fcntl F_DUPFD", i);
	}
	return 0;
}

static void close_idmaps(int *fds, size_t n)
{
	for (size_t i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static int spawn_init(const struct hy_runtime *rt, const struct hy_create_opts *opts,
		      bool keep_master, bool for_run, struct hy_created *c, struct hy_error *err)
{
	const struct hy_config *cfg = c->cfg;
	unsigned listen = process_listen_fds();
	struct linux_child lc = {
		.cfg = cfg,
		.st = &c->st,
		.lock_fd = c->lock_fd,
		.no_pivot = opts->no_pivot,
		.no_new_keyring = opts->no_new_keyring,
		.listen_fds = listen,
		.keep_fds = listen + opts->preserve_fds,
	};
	char *state_dir = NULL;
	if (cfg->isolation == HY_ISOLATION_VM) {
		lc.vm = true;
		lc.state_dir = state_dir = state_dir_path(rt->root, c->st.id);
		if (!state_dir)
			return hy_error_set(err, ENOMEM, "out of memory");
	}
	int clone_flags;
	plan_namespaces(cfg, &lc, &clone_flags);
	int rc = ns_open_paths(&cfg->linux_, lc.ns_fds, err);
	if (rc < 0) {
		free(state_dir);
		return rc;
	}
	/* Our own fds go above the range passed on to the container. */
	int min_fd = 3 + (int)lc.keep_fds;
	int sv[2] = {-1, -1};
	int fifo = -1;
	struct cgroup_join join = {.unified_fd = -1};
	rc = prepare_idmaps(cfg, min_fd, &lc.idmap_fds, err);
	lc.n_idmap_fds = lc.idmap_fds ? cfg->n_mounts : 0;
	if (rc < 0)
		goto out;
	fifo = for_run ? -1 : open(c->fifo_path, O_PATH | O_CLOEXEC);
	if (!for_run && fifo < 0) {
		rc = hy_error_errno(err, errno, "open %s", c->fifo_path);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = hy_error_errno(err, errno, "socketpair");
		goto out;
	}
	lc.fifo_fd = for_run ? -1 : fcntl(fifo, F_DUPFD_CLOEXEC, min_fd);
	lc.sync = fcntl(sv[1], F_DUPFD_CLOEXEC, min_fd);
	if ((!for_run && lc.fifo_fd < 0) || lc.sync < 0) {
		rc = hy_error_errno(err, errno, "fcntl F_DUPFD");
		goto out;
	}
	/* The originals may sit in the range handed to the container: the child must not inherit
	 * them there. */
	if (fifo >= 0)
		close(fifo);
	fifo = -1;
	close(sv[1]);
	sv[1] = -1;
	if (c->cg) {
		if ((rc = cgroup_join_prepare(c->cg, min_fd, &join, err)) < 0)
			goto out;
		lc.cg_join = &join;
	}
	long pid = cgroup_join_clone((unsigned long long)clone_flags, &join,
				     &c->join_unified_by_parent);
	if (pid < 0) {
		rc = hy_error_errno(err, errno, "clone3 of the container init");
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		linux_child_run(&lc);
	}
	close(lc.sync);
	lc.sync = -1;
	c->pid = (pid_t)pid;
	/* The clone made every namespace: no need to wait for the child to ask. */
	rc = lc.announce_setup ? 0 : setup_child(sv[0], (pid_t)pid, lc.new_userns, c, err);
	if (rc == 0)
		rc = parent_sync(opts, keep_master, sv[0], (pid_t)pid, c, err);
	if (rc < 0) {
		kill_children((pid_t)pid, c->pid);
		c->pid = 0;
	} else if (for_run) {
		c->sync = sv[0];
		sv[0] = -1;
	}
out:
	cgroup_join_close(&join);
	free(state_dir);
	close_idmaps(lc.idmap_fds, lc.n_idmap_fds);
	ns_close_all(lc.ns_fds);
	if (fifo >= 0)
		close(fifo);
	if (lc.fifo_fd > 0)
		close(lc.fifo_fd);
	if (lc.sync > 0)
		close(lc.sync);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	return rc;
}

/* The container's cgroup. Rootless without linux.resources there is nothing to limit: like crun
 * with cgroupfs, go on without one when it cannot be created. */
static int create_cgroup(const struct hy_runtime *rt, const struct hy_create_opts *opts,
			 struct hy_created *c, struct hy_error *err)
{
	struct cgroup_spec spec = {.id = opts->id,
				   .cgroups_path = c->cfg->linux_.cgroups_path,
				   .systemd = rt->systemd_cgroup};
	bool rootless = geteuid() != 0;
	if (rootless && !c->cfg->linux_.resources && !c->cfg->linux_.cgroups_path)
		return 0;
	int rc = cgroup_create(&spec, &c->cg, err);
	if (rc < 0 && rootless) {
		c->cg = NULL;
		return hy_error_prefix(err, "%s: cgroups need root or a delegated cgroup",
				       c->cfg->linux_.resources ? "linux.resources"
								: "linux.cgroupsPath");
	}
	return rc;
}

void created_free(struct hy_created *c)
{
	if (c->sync >= 0)
		close(c->sync);
	c->sync = -1;
	if (c->pty_master >= 0)
		close(c->pty_master);
	c->pty_master = -1;
	if (c->lock_fd >= 0)
		state_unlock(c->lock_fd);
	c->lock_fd = -1;
	if (c->cg)
		hy_cgroup_free(c->cg);
	c->cg = NULL;
	free(c->st.created);
	c->st.created = NULL;
	free(c->st.vm_socket);
	c->st.vm_socket = NULL;
	free(c->fifo_path);
	c->fifo_path = NULL;
	config_free(c->cfg);
	c->cfg = NULL;
}

int container_create_internal(const struct hy_runtime *rt, const struct hy_create_opts *opts,
			      bool keep_master, bool for_run, struct hy_created *c,
			      struct hy_error *err)
{
	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	c->pty_master = -1;
	c->sync = -1;
	int rc = state_validate_id(opts->id, err);
	if (rc < 0)
		return rc;
	rc = config_load(opts->bundle ? opts->bundle : ".", &c->cfg, err);
	if (rc < 0)
		return rc;
	/* --isolation wins over the bundle's annotations, both ways. */
	if (rt->isolation != HY_ISOLATION_UNSET)
		c->cfg->isolation = rt->isolation;
	if ((rc = validate(c->cfg, opts, keep_master, err)) < 0)
		goto fail_config;
	if ((rc = state_create_dir(rt->root, opts->id, &c->lock_fd, err)) < 0)
		goto fail_config;
	if ((rc = create_cgroup(rt, opts, c, err)) < 0)
		goto fail_state;
	/* Compiled once here (and cached under the root), not in every container process. */
	if (c->cfg->has_linux && c->cfg->linux_.seccomp) {
		char *cache = state_dir_path(rt->root, ".seccomp-cache");
		if (!cache) {
			rc = hy_error_set(err, ENOMEM, "out of memory");
			goto fail_cgroup;
		}
		rc = seccomp_prepare(c->cfg->linux_.seccomp, cache, err);
		free(cache);
		if (rc < 0)
			goto fail_cgroup;
	}
	fill_state(rt, c, opts->id);
	if (c->cfg->isolation == HY_ISOLATION_VM &&
	    ((rc = allow_vm_devices(c->cfg, err)) < 0 ||
	     !(c->st.vm_socket = state_file_path(rt->root, opts->id, VM_SOCKET_NAME)))) {
		if (!rc)
			rc = hy_error_set(err, ENOMEM, "out of memory");
		goto fail_cgroup;
	}
	if (!for_run && (rc = make_fifo(rt->root, c->cfg, c, err)) < 0)
		goto fail_cgroup;
	if ((rc = spawn_init(rt, opts, keep_master, for_run, c, err)) < 0)
		goto fail_cgroup;
	c->st.status = HY_STATUS_CREATED;
	c->st.pid = c->pid;
	c->st.pid_start_time = proc_start_time(c->pid);
	if ((!for_run && (rc = state_write(rt->root, &c->st, err)) < 0) ||
	    (opts->pid_file && (rc = pidfile_write(opts->pid_file, c->pid, err)) < 0)) {
		kill_children(c->pid, c->pid);
		goto fail_cgroup;
	}
	return 0;
fail_cgroup:;
	struct hy_error ignored;
	if (c->cg)
		cgroup_destroy(c->cg, &ignored);
fail_state:;
	struct hy_error ignored2;
	state_remove(rt->root, opts->id, &ignored2);
fail_config:
	created_free(c);
	return rc;
}

int container_wait_exec(struct hy_created *c, struct hy_error *err)
{
	struct sync_msg m;
	int fd = -1;
	int rc = sync_recv(c->sync, &m, &fd);
	if (fd >= 0)
		close(fd);
	close(c->sync);
	c->sync = -1;
	if (rc == -EPIPE)
		return 0; /* closed by the execve */
	if (rc < 0)
		return hy_error_errno(err, -rc, "sync socket: recvmsg");
	if (m.type == SYNC_ERROR)
		return hy_error_set(err, m.code, "%s", m.text);
	return hy_error_set(err, EPROTO, "sync socket: unexpected message %u", m.type);
}

int container_create(const struct hy_runtime *rt, const struct hy_create_opts *opts,
		     struct hy_error *err)
{
	struct hy_created c;
	int rc = container_create_internal(rt, opts, false, false, &c, err);
	if (rc < 0)
		return rc;
	created_free(&c);
	return 0;
}
