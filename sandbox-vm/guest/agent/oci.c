/* OCI mode, PID 1: mounts the container root, listens on vsock port AGENT_VSOCK_PORT and serves each
 * connection in a child of its own (session.c), so that a slow or hostile peer never stalls the
 * others, and reaps every process that ends up as its child (orphans included). The session of the
 * init process ends the VM itself when that process exits; PID 1 only keeps the machine running. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "sandbox-vm/proto/agent_proto.h"

static int mkdir_p(const char *path)
{
	char buf[256];
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == '\0')
				return 0;
		}
	}
}

int agent_mount_oci_root(const struct agent_options *opts)
{
	int rc;
	if ((rc = mkdir_p(AGENT_ROOT)) < 0 || (rc = mkdir_p(AGENT_SHARES)) < 0) {
		agent_log("mkdir %s: %s", AGENT_RUN_DIR, strerror(-rc));
		return rc;
	}
	if (opts->share_tag[0]) {
		if (mount(opts->share_tag, AGENT_ROOT, "9p", opts->share_ro ? MS_RDONLY : 0,
			  "trans=virtio,version=9p2000.L,msize=262144") < 0) {
			agent_log("mount 9p %s on " AGENT_ROOT ": %s", opts->share_tag, strerror(errno));
			return -errno;
		}
		/* A virtio-9p tag mounts once: bind mounts from the root's tag use the root
		 * (container.c follows this link instead of mounting the tag again). */
		char link[sizeof(AGENT_SHARES) + sizeof(opts->share_tag) + 1];
		snprintf(link, sizeof(link), AGENT_SHARES "/%s", opts->share_tag);
		if (symlink(AGENT_ROOT, link) < 0 && errno != EEXIST)
			agent_log("symlink %s: %s", link, strerror(errno));
	} else if (opts->disk[0]) {
		if ((rc = agent_mount_disk_root(opts, AGENT_ROOT)) < 0)
			return rc; /* logged */
	} else {
		agent_log("hyrun.oci needs a root: hyrun.share=TAG or hyrun.disk=DEV");
		return -EINVAL;
	}
	agent_debug("container root on " AGENT_ROOT);
	return 0;
}

static int listen_vsock(void)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_port = AGENT_VSOCK_PORT,
		.svm_cid = VMADDR_CID_ANY,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		agent_log("vsock socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		agent_log("vsock bind/listen on port %d: %s", AGENT_VSOCK_PORT, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* Seconds since boot: the agent logs when it is ready, for boot-time measurements. */
static double uptime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

void agent_oci_main(const struct agent_options *opts, bool on_hvc)
{
	sigset_t chld;
	int lfd, sfd;

	signal(SIGPIPE, SIG_IGN); /* a peer that went away is an error return, not our death */
	if (agent_mount_oci_root(opts) < 0 || agent_net_setup() < 0 ||
	    (lfd = listen_vsock()) < 0) {
		agent_announce(on_hvc, "exit 125");
		agent_drain_console();
		agent_power_off(125);
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		agent_log("signalfd: %s (reaping once a second)", strerror(errno));
	agent_log("listening on vsock port %d at %.3f s", AGENT_VSOCK_PORT, uptime());

	for (;;) {
		struct pollfd pfd[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		int n = poll(pfd, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 1000);
		if (n < 0 && errno != EINTR) {
			agent_log("poll: %s", strerror(errno));
			sleep(1);
		}
		if (sfd >= 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
		}
		reap();
		if (!(pfd[0].revents & POLLIN))
			continue;
		int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno != EINTR && errno != EAGAIN)
				agent_log("accept: %s", strerror(errno));
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			if (sfd >= 0)
				close(sfd);
			agent_session(conn);
		}
		if (pid < 0)
			agent_log("fork for a connection: %s", strerror(errno));
		close(conn);
	}
}
