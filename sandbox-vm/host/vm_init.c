/* The init of a VM container (vm_host.h): the VMM and the host end of the agent conversation.
 *
 *   int vm_init_run(cfg, state_dir, start_fifo_fd, tty_fd, ready, arg, &wait_status, err);
 *   void vm_exit_like(wait_status);   never returns
 *
 * Threads: the VMM runs in its own thread (vmm_run blocks until the guest powers off); this thread
 * connects to the agent, sends CREATE, reports ready, waits for start, sends START and relays
 * stdio and signals until the guest process's EXIT. Signals sent to the init are blocked before
 * the VMM thread exists, so every VMM thread inherits the mask and they all wait in the relay's
 * signalfd (vCPU threads unblock only their kick signal). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/vmm/vmm.h"

/* Guest boots take 3-30 s in the nested, emulated test host; far less on real hardware. The
 * wait ends early when the VMM exits, so a generous limit costs nothing when boots fail. */
#define AGENT_CONNECT_TIMEOUT_MS 120000
/* After EXIT the agent syncs and powers off; a guest that does not is simply ended with us. */
#define POWEROFF_WAIT_MS 30000
#define LOG_TAIL_BYTES	 600

/* Signals the init forwards to the guest process (as a foreground `run` does to a container).
 * SIGKILL and SIGSTOP cannot be caught: they end or stop the VMM itself. */
static const int forwarded[] = {SIGHUP,	 SIGINT,  SIGQUIT,   SIGTERM, SIGUSR1, SIGUSR2,
				SIGALRM, SIGCONT, SIGTSTP,   SIGTTIN, SIGTTOU, SIGWINCH,
				SIGPIPE, SIGPWR,  SIGVTALRM, SIGPROF, SIGURG,  SIGABRT,
				SIGXCPU, SIGXFSZ, SIGTRAP,   SIGSYS};

struct vmm_thread {
	const struct vmm_config *cfg;
	pthread_t tid;
	int rc, exit_code;
	struct hy_error err;
	atomic_bool done;
	atomic_int conn; /* shut down when the VMM ends, so that a relay never waits on a dead VM */
	int done_fd;	 /* eventfd: readable once done */
};

static void *vmm_main(void *arg)
{
	struct vmm_thread *t = arg;
	t->rc = vmm_run(t->cfg, &t->exit_code, &t->err);
	atomic_store(&t->done, true);
	int conn = atomic_load(&t->conn);
	if (conn >= 0)
		shutdown(conn, SHUT_RD); /* data already queued (EXIT) stays readable */
	uint64_t one = 1;
	if (write(t->done_fd, &one, sizeof(one)) < 0) {
		/* the eventfd cannot be full after one write */
	}
	return NULL;
}

static bool still_booting(void *arg)
{
	struct vmm_thread *t = arg;
	return !atomic_load(&t->done);
}

static bool wait_vmm(struct vmm_thread *t, int timeout_ms)
{
	struct pollfd p = {.fd = t->done_fd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* The last lines of the kernel log, on one line: why a guest did not come up. */
static void log_tail(const char *path, char *out, size_t size)
{
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[LOG_TAIL_BYTES + 1];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > LOG_TAIL_BYTES ? end - LOG_TAIL_BYTES : 0;
	ssize_t n = pread(fd, buf, LOG_TAIL_BYTES, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	char *s = buf;
	if (from > 0 && strchr(s, '\n'))
		s = strchr(s, '\n') + 1; /* start at a whole line */
	size_t o = 0;
	for (; *s && o + 4 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r')
			continue;
		if (c == '\n') {
			if (o && s[1])
				o += (size_t)snprintf(out + o, size - o, " | ");
			continue;
		}
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o < size ? o : size - 1] = 0;
}

static int boot_error(struct vmm_thread *t, const char *log_path, struct hy_error *err)
{
	char cause[HY_ERROR_MSG_MAX];
	snprintf(cause, sizeof(cause), "%s", err->msg);
	int code = err->code ? err->code : EIO;
	char tail[LOG_TAIL_BYTES + 64];
	log_tail(log_path, tail, sizeof(tail));
	const char *sep = tail[0] ? "; guest log: " : "";
	if (atomic_load(&t->done) && t->rc < 0)
		return hy_error_set(err, t->err.code ? t->err.code : EIO,
				    "isolation vm: the VMM failed: %s%s%s", t->err.msg, sep, tail);
	if (atomic_load(&t->done))
		return hy_error_set(
		    err, code,
		    "isolation vm: the guest stopped (exit code %d) before its agent "
		    "answered (%s)%s%s",
		    t->exit_code, cause, sep, tail);
	return hy_error_set(err, code, "isolation vm: %s%s%s", cause, sep, tail);
}

/* Blocks until `start` opens exec.fifo (as a container init does) and says we are going. */
static int open_start_fifo(int fifo_fd, struct hy_error *err)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fifo_fd);
	int fd;
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return hy_error_errno(err, errno, "open exec.fifo");
	close(fifo_fd);
	ssize_t w;
	do
		w = write(fd, "0", 1);
	while (w < 0 && errno == EINTR);
	if (w != 1) {
		int e = errno;
		close(fd);
		return hy_error_errno(err, e, "write exec.fifo");
	}
	return fd;
}

static void block_forwarded(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Everything after READY: start, START, relay. */
static int converse(int conn, int start_fifo_fd, int tty_fd, int sig_fd, int *wait_status,
		    struct hy_error *err)
{
	int fifo = -1;
	if (start_fifo_fd >= 0 && (fifo = open_start_fifo(start_fifo_fd, err)) < 0)
		return fifo;
	int rc = agent_frame_write(conn, AGENT_MSG_START, NULL, 0);
	if (rc < 0)
		hy_error_errno(err, -rc, "isolation vm: send START to the guest agent");
	if (fifo >= 0) {
		/* EOF tells `start` the process runs; a message tells it why not. */
		if (rc < 0 && write(fifo, err->msg, strnlen(err->msg, sizeof(err->msg))) < 0) {
			/* start reads EOF and the init's exit status tells the rest */
		}
		close(fifo);
	}
	if (rc < 0)
		return rc;
	struct agent_relay r = agent_relay_stdio(conn, tty_fd, sig_fd);
	return agent_client_relay(&r, wait_status, err);
}

int vm_init_run(const struct hy_config *cfg, const char *state_dir, int start_fifo_fd, int tty_fd,
		int (*ready)(void *arg, struct hy_error *err), void *arg, int *wait_status,
		struct hy_error *err)
{
	*wait_status = 0;
	/* HYRUN_VM_SKIP_PROBE=1, as for `hyrun vm run`: try guest code on a KVM the probe refuses.
	 */
	const char *skip = getenv("HYRUN_VM_SKIP_PROBE");
	int rc;
	if (!(skip && !strcmp(skip, "1")) && (rc = vmm_probe_kvm(err)) < 0)
		return hy_error_prefix(err, "isolation vm");
	struct vm_launch launch;
	bool started = false;
	if ((rc = vm_launch_prepare(cfg, state_dir, &launch, err)) < 0)
		return rc;
	/* The netns's interfaces go to the guest (vm_net.c); they come back when we return. */
	struct vm_net *net = NULL;
	if ((rc = vm_net_setup(&net, err)) < 0 || (rc = vm_launch_add_nets(&launch, net, err)) < 0) {
		struct hy_error ignored = {0};
		vm_net_teardown(net, &ignored);
		vm_net_free(net);
		vm_launch_free(&launch);
		return rc;
	}
	const struct vmm_config *vc = vm_launch_vmm_config(&launch);
	unlink(vc->vsock_path); /* a stale socket would make the VMM's bind fail */

	sigset_t set;
	block_forwarded(&set);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	static struct vmm_thread t; /* lives as long as the VMM thread, which may outlive us */
	t.cfg = vc;
	t.rc = t.exit_code = 0;
	atomic_init(&t.done, false);
	atomic_init(&t.conn, -1);
	t.done_fd = eventfd(0, EFD_CLOEXEC);
	if (sig_fd < 0 || t.done_fd < 0) {
		rc = hy_error_errno(err, errno, "isolation vm: %s",
				    sig_fd < 0 ? "signalfd" : "eventfd");
		goto out;
	}
	if ((rc = pthread_create(&t.tid, NULL, vmm_main, &t)) != 0) {
		rc = hy_error_errno(err, rc, "isolation vm: start the VMM thread");
		goto out;
	}
	started = true;
	int conn =
	    agent_client_connect(vc->vsock_path, AGENT_CONNECT_TIMEOUT_MS, still_booting, &t, err);
	if (conn < 0) {
		rc = boot_error(&t, vc->serial_path, err);
		goto out;
	}
	atomic_store(&t.conn, conn);
	if (atomic_load(&t.done))
		shutdown(conn, SHUT_RD);
	uint32_t guest_pid = 0;
	if ((rc = agent_client_request(conn, AGENT_MSG_CREATE, &launch.spec, &guest_pid, err)) <
	    0) {
		if (atomic_load(&t.done))
			rc = boot_error(&t, vc->serial_path, err);
		goto out;
	}
	if ((rc = ready(arg, err)) < 0)
		goto out;
	rc = converse(conn, start_fifo_fd, tty_fd, sig_fd, wait_status, err);
	if (rc == 0 && !wait_vmm(&t, POWEROFF_WAIT_MS))
		dprintf(STDERR_FILENO,
			"hyrun: the guest did not power off after its process exited\n");
out:
	if (sig_fd >= 0)
		close(sig_fd);
	/* A VMM still running uses the launch's strings until the caller ends the process (and the
	 * VM with it): only a finished one lets them go. */
	struct hy_error net_err = {0};
	if (vm_net_teardown(net, &net_err) < 0)
		dprintf(STDERR_FILENO, "hyrun: %s\n", net_err.msg);
	if (!started || atomic_load(&t.done)) {
		vm_launch_free(&launch);
		vm_net_free(net);
	}
	return rc;
}

void vm_exit_like(int wait_status)
{
	if (WIFEXITED(wait_status))
		_exit(WEXITSTATUS(wait_status));
	if (!WIFSIGNALED(wait_status))
		_exit(255);
	int sig = WTERMSIG(wait_status);
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	/* Still here: the signal is ignored by default (SIGCHLD, SIGURG, ...) or we are the init of
	 * a pid namespace, which its own default-action signals do not kill. The shell's view of
	 * a death by signal N is the closest we can give. */
	_exit(128 + sig);
}
