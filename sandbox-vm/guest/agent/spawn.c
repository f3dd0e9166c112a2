/* A process from a spec, in the container root, set up the way the container runtime sets up its
 * init (runtime/linux_child.c, runtime/container_exec.c): own session, stdio (three pipes or a pty
 * whose slave is the controlling terminal), oom_score_adj, chroot, rlimits, executable lookup with
 * the spec's PATH, seccomp (before the user change when no_new_privs is off: loading it then needs
 * CAP_SYS_ADMIN), bounding set, groups/gid/uid with the capabilities kept across the change,
 * capability sets, umask, cwd. Then it reports ready and waits for the start byte; only then does
 * it set no_new_privs (and load seccomp in that case) and exec.
 *
 * Child -> parent on the ready pipe: "R" (waiting for start) or "E" + a one-line reason (setup
 * failed, the child exits). An exec that fails after start prints "hyrun: exec ..." on the
 * process's stderr and exits 127. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "sandbox-vm/proto/agent_proto.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* ---- in the child ---- */

static __attribute__((noreturn, format(printf, 2, 3))) void setup_fail(int ready_fd,
								      const char *fmt, ...)
{
	char msg[AGENT_ERR_MAX];
	va_list ap;
	msg[0] = 'E';
	va_start(ap, fmt);
	int n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg) - 1)
		n = sizeof(msg) - 2;
	(void)!write(ready_fd, msg, (size_t)n + 1);
	_exit(1);
}

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* HOME from the container's /etc/passwd when the spec has none, as runc and the container path
 * (runtime/process.c) do; read here, inside the guest and the container root, never on the host. */
static char *passwd_home(uint32_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return NULL;
	char line[1024], *home = NULL;
	while (!home && fgets(line, sizeof(line), f)) {
		/* name:pw:uid:gid:gecos:home:shell */
		char *field[7] = {0}, *s = line;
		int n = 0;
		while (n < 7 && s) {
			field[n++] = s;
			s = strchr(s, ':');
			if (s)
				*s++ = 0;
		}
		char *end;
		if (n < 6 || !*field[2])
			continue;
		unsigned long v = strtoul(field[2], &end, 10);
		if (*end || v != uid || !*field[5])
			continue;
		home = strdup(field[5]);
	}
	fclose(f);
	return home;
}

static char *const *env_with_home(char *const *envp, uint32_t uid)
{
	size_t n = 0;
	for (; envp[n]; n++)
		if (!strncmp(envp[n], "HOME=", 5))
			return envp;
	char **out = calloc(n + 2, sizeof(*out));
	char *home = passwd_home(uid), *kv = NULL;
	if (!out || asprintf(&kv, "HOME=%s", home ? home : "/") < 0) {
		free(out);
		free(home);
		return envp;
	}
	free(home);
	memcpy(out, envp, n * sizeof(*out));
	out[n] = kv;
	return out;
}

/* The same lookup and messages as the container runtime (runtime/process.c). */
static void find_executable(int ready_fd, const char *arg0, char *const envp[], char *out,
			    size_t size)
{
	if (!*arg0)
		setup_fail(ready_fd, "process.args: empty");
	if (strchr(arg0, '/')) {
		struct stat st;
		if (strlen(arg0) >= size)
			setup_fail(ready_fd, "process.args[0]: too long");
		strcpy(out, arg0);
		if (stat(arg0, &st) < 0)
			setup_fail(ready_fd, "exec: \"%s\": %s", arg0, strerror(errno));
		if (S_ISDIR(st.st_mode))
			setup_fail(ready_fd, "exec: \"%s\": is a directory", arg0);
		return;
	}
	const char *path = default_path;
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		int n = snprintf(out, size, "%.*s%s%s", (int)len, p, len ? "/" : "", arg0);
		if (n > 0 && (size_t)n < size && is_executable(out))
			return;
		if (!colon)
			break;
		p = colon + 1;
	}
	setup_fail(ready_fd, "exec: \"%s\": executable file not found in $PATH", arg0);
}

static int load_seccomp(const struct agent_process *p)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(p->seccomp_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)p->seccomp_bpf,
	};
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static void set_user_and_caps(int ready_fd, const struct agent_process *p)
{
	if (p->has_caps) {
		for (int cap = 0; cap < 64; cap++) {
			if (p->caps[0] & (1ull << cap))
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
				if (errno == EINVAL)
					break; /* past the kernel's last capability */
				setup_fail(ready_fd, "drop capability %d from the bounding set: %s", cap,
					   strerror(errno));
			}
		}
		/* Keep the permitted set across the uid change; capset below trims it. */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			setup_fail(ready_fd, "PR_SET_KEEPCAPS: %s", strerror(errno));
	}
	gid_t *groups = NULL;
	if (p->n_groups) {
		groups = calloc(p->n_groups, sizeof(gid_t));
		if (!groups)
			setup_fail(ready_fd, "out of memory");
		for (size_t i = 0; i < p->n_groups; i++)
			groups[i] = p->groups[i];
	}
	if (setgroups(p->n_groups, groups) < 0)
		setup_fail(ready_fd, "setgroups: %s", strerror(errno));
	free(groups);
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		setup_fail(ready_fd, "setresgid %u: %s", p->gid, strerror(errno));
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		setup_fail(ready_fd, "setresuid %u: %s", p->uid, strerror(errno));
	if (!p->has_caps)
		return;
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++)
		data[i] = (struct __user_cap_data_struct){
			.effective = (uint32_t)(p->caps[1] >> (32 * i)),
			.permitted = (uint32_t)(p->caps[3] >> (32 * i)),
			.inheritable = (uint32_t)(p->caps[2] >> (32 * i)),
		};
	if (syscall(SYS_capset, &hdr, data) < 0)
		setup_fail(ready_fd, "capset: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		setup_fail(ready_fd, "clear ambient capabilities: %s", strerror(errno));
	for (int cap = 0; cap < 64; cap++)
		if ((p->caps[4] & (1ull << cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			setup_fail(ready_fd, "raise ambient capability %d: %s", cap, strerror(errno));
}

static void write_oom_score_adj(int ready_fd, int32_t v)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", (int)v);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		setup_fail(ready_fd, "process.oomScoreAdj: write /proc/self/oom_score_adj: %s",
			   strerror(errno));
	close(fd);
}

struct child_fds {
	int stdio[3];            /* the process's ends */
	int ready_fd, start_fd;  /* its ends of the two pipes */
	bool terminal;
};

static __attribute__((noreturn)) void child_main(const struct agent_process *p,
						  const struct child_fds *f)
{
	int rfd = f->ready_fd;
	char exe[4096];
	sigset_t none;
	char *const empty_env[] = {NULL};
	char *const *envp = p->env.v ? p->env.v : empty_env;

	/* Everything the agent blocked or ignored must not reach the process. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	prctl(PR_SET_NAME, "hyrun-setup", 0, 0, 0);

	if (setsid() < 0)
		setup_fail(rfd, "setsid: %s", strerror(errno));
	if (f->terminal && ioctl(f->stdio[0], TIOCSCTTY, 0) < 0)
		setup_fail(rfd, "terminal: TIOCSCTTY: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(f->stdio[i], i) < 0)
			setup_fail(rfd, "dup2: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (f->stdio[i] > 2 && (i == 0 || f->stdio[i] != f->stdio[i - 1]))
			close(f->stdio[i]);

	if (p->has_oom_score_adj)
		write_oom_score_adj(rfd, p->oom_score_adj);
	if (chroot(AGENT_ROOT) < 0 || chdir("/") < 0)
		setup_fail(rfd, "chroot " AGENT_ROOT ": %s", strerror(errno));
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
			setup_fail(rfd, "process.rlimits: resource %u: %s", p->rlimits[i].resource,
				   strerror(errno));
	}
	envp = env_with_home(envp, p->uid);
	find_executable(rfd, p->args.v[0], envp, exe, sizeof(exe));
	if (p->seccomp_bpf && !p->no_new_privileges && load_seccomp(p) < 0)
		setup_fail(rfd, "seccomp: load the filter: %s", strerror(errno));
	set_user_and_caps(rfd, p);
	if (p->has_umask)
		umask((mode_t)(p->umask & 0777));
	const char *cwd = p->cwd && *p->cwd ? p->cwd : "/";
	if (chdir(cwd) < 0)
		setup_fail(rfd, "process.cwd: chdir %s: %s", cwd, strerror(errno));

	char byte = 'R';
	if (write(rfd, &byte, 1) != 1)
		_exit(1);
	ssize_t n;
	while ((n = read(f->start_fd, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(1); /* the session ended before start: nobody wants this process any more */

	if (p->no_new_privileges) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			dprintf(2, "hyrun: no_new_privs: %s\n", strerror(errno));
			_exit(127);
		}
		if (p->seccomp_bpf && load_seccomp(p) < 0) {
			dprintf(2, "hyrun: seccomp: load the filter: %s\n", strerror(errno));
			_exit(127);
		}
	}
	execve(exe, p->args.v, envp);
	dprintf(2, "hyrun: exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

/* ---- in the session ---- */

/* A pty from the container's own devpts when it mounted one (so that the process's tty is
 * /dev/pts/N in its root), else from the agent's. */
static int open_pty(const struct agent_process *p, int *master, int *slave)
{
	*master = open(AGENT_ROOT "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		*master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	int unlock = 0;
	if (ioctl(*master, TIOCSPTLCK, &unlock) < 0 ||
	    (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
		int e = errno;
		close(*master);
		return -e;
	}
	if (p->rows || p->cols) {
		struct winsize ws = {.ws_row = p->rows, .ws_col = p->cols};
		ioctl(*master, TIOCSWINSZ, &ws);
	}
	return 0;
}

static void set_nonblock(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

int agent_spawn(const struct agent_process *p, struct agent_child *c, char *why, size_t why_size)
{
	/* ours[0..2] = stdin write, stdout read, stderr read; theirs = the process's ends */
	int ours[3] = {-1, -1, -1}, theirs[3] = {-1, -1, -1}, ready[2] = {-1, -1},
	    start[2] = {-1, -1};
	int rc;

	*c = (struct agent_child){.pid = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1,
				  .start_fd = -1, .terminal = p->terminal};
	if (p->terminal) {
		int master = -1, slave = -1;
		if ((rc = open_pty(p, &master, &slave)) < 0) {
			snprintf(why, why_size, "terminal: open a pty: %s", strerror(-rc));
			return rc;
		}
		ours[0] = master;
		theirs[0] = slave; /* stdin, stdout and stderr of the process */
	} else {
		for (int i = 0; i < 3; i++) {
			int pp[2];
			if (pipe2(pp, O_CLOEXEC) < 0) {
				rc = -errno;
				snprintf(why, why_size, "stdio pipes: %s", strerror(errno));
				close_all(ours, 3);
				close_all(theirs, 3);
				return rc;
			}
			ours[i] = i == 0 ? pp[1] : pp[0];
			theirs[i] = i == 0 ? pp[0] : pp[1];
		}
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(start, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(why, why_size, "pipes: %s", strerror(errno));
		goto fail;
	}
	struct child_fds f = {.stdio = {theirs[0], theirs[1], theirs[2]}, .ready_fd = ready[1],
			      .start_fd = start[0], .terminal = p->terminal};
	if (p->terminal)
		f.stdio[1] = f.stdio[2] = theirs[0];
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(why, why_size, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close_all(ours, 3);
		close(ready[0]);
		close(start[1]);
		child_main(p, &f);
	}
	close_all(theirs, 3);
	close(ready[1]);
	close(start[0]);
	ready[1] = start[0] = -1;

	char msg[AGENT_ERR_MAX];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(ready[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (msg[0] == 'R' || got == sizeof(msg) - 1)
			break;
	}
	close(ready[0]);
	ready[0] = -1;
	if (got == 0 || msg[0] != 'R' || got > 1) {
		msg[got] = '\0';
		if (got > 1 && msg[0] == 'E')
			snprintf(why, why_size, "%s", msg + 1);
		else
			snprintf(why, why_size, "process setup: the process died before it was ready");
		waitpid(pid, NULL, 0);
		rc = -EINVAL;
		goto fail;
	}
	c->pid = pid;
	c->start_fd = start[1];
	if (p->terminal) {
		c->in_fd = c->out_fd = ours[0];
	} else {
		c->in_fd = ours[0];
		c->out_fd = ours[1];
		c->err_fd = ours[2];
	}
	set_nonblock(c->in_fd);
	set_nonblock(c->out_fd);
	set_nonblock(c->err_fd);
	return 0;
fail:
	close_all(ours, 3);
	close_all(theirs, 3);
	close_all(ready, 2);
	close_all(start, 2);
	return rc;
}

int agent_spawn_start(struct agent_child *c)
{
	if (c->start_fd < 0)
		return 0;
	char byte = 'S';
	ssize_t n = write(c->start_fd, &byte, 1);
	close(c->start_fd);
	c->start_fd = -1;
	return n == 1 ? 0 : -EPIPE;
}
