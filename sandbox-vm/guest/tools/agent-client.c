/* agent-client: a host-side test client of the guest agent's OCI mode (agent_proto.h), for
 * tests/vmhost/agent-oci.bats. It speaks to the VMM's hybrid vsock socket, so it needs no runtime.
 *
 *   agent-client SOCK create [SPEC OPTIONS] -- ARGS...   CREATE, START, relay, EXIT
 *   agent-client SOCK exec [SPEC OPTIONS] -- ARGS...     EXEC, relay, EXIT
 *   agent-client SOCK ps                                 PS: prints PS_LIST
 *   agent-client SOCK raw TYPE [HEX]                     one raw frame; prints the answer type
 *
 * Spec options: -e K=V (env, repeated), -w CWD, -u UID:GID, -g GID (repeated), -t (terminal),
 * --size ROWS:COLS, --rlimit RES:SOFT:HARD, --caps HEX (the same mask for all five sets),
 * --nnp, --deny-syscall NR (a seccomp filter returning EPERM for that syscall), --oom N,
 * --umask OCTAL, --hostname H, --mount TYPE:SOURCE:DEST[:FLAGS[:DATA]] (FLAGS decimal MS_*),
 * --masked P, --ro P, --sysctl K=V, --root-ro; relay options: --signal N (sent once the process
 * runs), --close-before-start (create: READY, then hang up).
 * Process output goes to stdout/stderr; "agent-client: READY|STARTED|EXIT|ERROR ..." lines go to
 * stderr. Exit status: the process's (code, or 128 + signal); 125 after ERROR; 124 when the agent
 * could not be reached. The connection is retried for 120 s while the guest boots. */
#include <errno.h>
#include <getopt.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-vm/proto/agent_proto.h"

#define CONNECT_TIMEOUT_S 120

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "agent-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int connect_agent(const char *path)
{
	time_t end = time(NULL) + CONNECT_TIMEOUT_S;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		die("socket path too long: %s", path);
	strcpy(a.sun_path, path);
	while (time(NULL) < end) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    agent_vsock_handshake(fd, AGENT_VSOCK_PORT, 10000) == 0)
			return fd;
		close(fd);
		usleep(200 * 1000);
	}
	fprintf(stderr, "agent-client: no agent on %s after %d s\n", path, CONNECT_TIMEOUT_S);
	exit(124);
}

static void strv_push(struct agent_strv *sv, char *s)
{
	sv->v = realloc(sv->v, (sv->n + 2) * sizeof(char *));
	if (!sv->v)
		die("%s", "out of memory");
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

/* A filter that fails syscall nr with EPERM and allows everything else (tests only: no arch
 * check). */
static void deny_syscall(struct agent_process *p, unsigned nr)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0), /* seccomp_data.nr */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	p->seccomp_bpf = malloc(sizeof(f));
	memcpy(p->seccomp_bpf, f, sizeof(f));
	p->seccomp_len = sizeof(f);
}

static void add_mount(struct agent_process *p, char *spec)
{
	char *fields[5] = {0};
	for (int i = 0; i < 5 && spec; i++)
		fields[i] = strsep(&spec, ":");
	if (!fields[2])
		die("--mount %s: expected TYPE:SOURCE:DEST[:FLAGS[:DATA]]", fields[0]);
	p->mounts = realloc(p->mounts, (p->n_mounts + 1) * sizeof(*p->mounts));
	p->mounts[p->n_mounts++] = (struct agent_mount){
		.type = *fields[0] ? fields[0] : NULL,
		.source = *fields[1] ? fields[1] : NULL,
		.dest = fields[2],
		.flags = fields[3] ? strtoull(fields[3], NULL, 0) : 0,
		.data = fields[4] && *fields[4] ? fields[4] : NULL,
	};
}

enum { O_SIZE = 256, O_RLIMIT, O_CAPS, O_NNP, O_DENY, O_OOM, O_UMASK, O_HOSTNAME, O_MOUNT,
       O_MASKED, O_RO, O_SYSCTL, O_ROOT_RO, O_SIGNAL, O_CLOSE_EARLY };

struct relay_opts {
	int signal;
	bool close_before_start;
};

static void parse_spec(int argc, char **argv, struct agent_process *p, struct relay_opts *r)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, O_SIZE},
		{"rlimit", required_argument, NULL, O_RLIMIT},
		{"caps", required_argument, NULL, O_CAPS},
		{"nnp", no_argument, NULL, O_NNP},
		{"deny-syscall", required_argument, NULL, O_DENY},
		{"oom", required_argument, NULL, O_OOM},
		{"umask", required_argument, NULL, O_UMASK},
		{"hostname", required_argument, NULL, O_HOSTNAME},
		{"mount", required_argument, NULL, O_MOUNT},
		{"masked", required_argument, NULL, O_MASKED},
		{"ro", required_argument, NULL, O_RO},
		{"sysctl", required_argument, NULL, O_SYSCTL},
		{"root-ro", no_argument, NULL, O_ROOT_RO},
		{"signal", required_argument, NULL, O_SIGNAL},
		{"close-before-start", no_argument, NULL, O_CLOSE_EARLY},
		{0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+e:w:u:g:t", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			strv_push(&p->env, optarg);
			break;
		case 'w':
			p->cwd = optarg;
			break;
		case 'u':
			if (sscanf(optarg, "%u:%u", &p->uid, &p->gid) != 2)
				die("-u %s: expected UID:GID", optarg);
			break;
		case 'g':
			p->groups = realloc(p->groups, (p->n_groups + 1) * sizeof(uint32_t));
			p->groups[p->n_groups++] = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			p->terminal = true;
			break;
		case O_SIZE:
			if (sscanf(optarg, "%hu:%hu", &p->rows, &p->cols) != 2)
				die("--size %s: expected ROWS:COLS", optarg);
			break;
		case O_RLIMIT: {
			struct agent_rlimit rl;
			if (sscanf(optarg, "%u:%lu:%lu", &rl.resource, &rl.soft, &rl.hard) != 3)
				die("--rlimit %s: expected RES:SOFT:HARD", optarg);
			p->rlimits = realloc(p->rlimits, (p->n_rlimits + 1) * sizeof(rl));
			p->rlimits[p->n_rlimits++] = rl;
			break;
		}
		case O_CAPS:
			p->has_caps = true;
			for (int i = 0; i < AGENT_CAP_SETS; i++)
				p->caps[i] = strtoull(optarg, NULL, 16);
			break;
		case O_NNP:
			p->no_new_privileges = true;
			break;
		case O_DENY:
			deny_syscall(p, (unsigned)strtoul(optarg, NULL, 10));
			break;
		case O_OOM:
			p->has_oom_score_adj = true;
			p->oom_score_adj = (int32_t)strtol(optarg, NULL, 10);
			break;
		case O_UMASK:
			p->has_umask = true;
			p->umask = (uint32_t)strtoul(optarg, NULL, 8);
			break;
		case O_HOSTNAME:
			p->hostname = optarg;
			break;
		case O_MOUNT:
			add_mount(p, optarg);
			break;
		case O_MASKED:
			strv_push(&p->masked, optarg);
			break;
		case O_RO:
			strv_push(&p->readonly, optarg);
			break;
		case O_SYSCTL:
			strv_push(&p->sysctls, optarg);
			break;
		case O_ROOT_RO:
			p->root_readonly = true;
			break;
		case O_SIGNAL:
			r->signal = atoi(optarg);
			break;
		case O_CLOSE_EARLY:
			r->close_before_start = true;
			break;
		default:
			exit(2);
		}
	}
	for (int i = optind; i < argc; i++)
		strv_push(&p->args, argv[i]);
	if (!p->args.n)
		die("%s", "no command: ... -- ARGS");
}

static void send_u32(int conn, uint32_t type, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	if (agent_frame_write(conn, type, le, 4) < 0)
		die("%s", "send failed");
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int answer_error(const uint8_t *p, uint32_t len)
{
	fprintf(stderr, "agent-client: ERROR %.*s\n", (int)len, (const char *)p);
	return 125;
}

/* stdin -> STDIN/STDIN_EOF; STDOUT/STDERR -> our fds; until EXIT. */
static int relay(int conn)
{
	bool in_open = true;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = conn, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		if (poll(pfd, in_open ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (in_open && pfd[1].revents) {
			char buf[4096];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n > 0) {
				agent_frame_write(conn, AGENT_MSG_STDIN, buf, (size_t)n);
			} else {
				agent_frame_write(conn, AGENT_MSG_STDIN_EOF, NULL, 0);
				in_open = false;
			}
		}
		if (!pfd[0].revents)
			continue;
		uint32_t type, len;
		uint8_t *p;
		int rc = agent_frame_read(conn, &type, &p, &len, AGENT_FRAME_MAX);
		if (rc < 0) {
			fprintf(stderr, "agent-client: connection ended without EXIT (%s)\n",
				strerror(-rc));
			return 126;
		}
		switch (type) {
		case AGENT_MSG_STDOUT:
		case AGENT_MSG_STDERR:
			if (len > AGENT_STDIO_CHUNK)
				fprintf(stderr, "agent-client: %u-byte chunk over the limit\n", len);
			if (write(type == AGENT_MSG_STDOUT ? 1 : 2, p, len) != (ssize_t)len)
				die("%s", "write output");
			break;
		case AGENT_MSG_EXIT: {
			if (len != 4)
				die("%s", "EXIT: bad payload");
			int st = (int)le32(p);
			fprintf(stderr, "agent-client: EXIT status=0x%x\n", (unsigned)st);
			free(p);
			return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
		}
		case AGENT_MSG_ERROR:
			return answer_error(p, len);
		default:
			fprintf(stderr, "agent-client: unexpected frame type %u\n", type);
		}
		free(p);
	}
}

static int request(int conn, uint32_t type, int argc, char **argv)
{
	struct agent_process p = {0};
	struct relay_opts r = {0};
	struct agent_buf b = {0};
	parse_spec(argc, argv, &p, &r);
	if (agent_process_encode(&p, &b) < 0 || agent_frame_write(conn, type, b.data, b.len) < 0)
		die("%s", "send the spec");
	uint32_t got, len;
	uint8_t *payload;
	if (agent_frame_read(conn, &got, &payload, &len, AGENT_FRAME_MAX) < 0)
		die("%s", "no answer");
	if (got == AGENT_MSG_ERROR)
		return answer_error(payload, len);
	if ((got != AGENT_MSG_READY && got != AGENT_MSG_STARTED) || len != 4)
		die("%s", "unexpected answer");
	fprintf(stderr, "agent-client: %s %u\n", got == AGENT_MSG_READY ? "READY" : "STARTED",
		le32(payload));
	if (r.close_before_start)
		return 0;
	if (type == AGENT_MSG_CREATE && agent_frame_write(conn, AGENT_MSG_START, NULL, 0) < 0)
		die("%s", "send START");
	if (r.signal)
		send_u32(conn, AGENT_MSG_SIGNAL, (uint32_t)r.signal);
	return relay(conn);
}

static int raw(int conn, int argc, char **argv)
{
	uint8_t buf[4096];
	size_t n = 0;
	if (argc < 1)
		die("%s", "raw TYPE [HEX]");
	for (const char *h = argc > 1 ? argv[1] : ""; h[0] && h[1] && n < sizeof(buf); h += 2)
		sscanf(h, "%2hhx", &buf[n++]);
	if (agent_frame_write(conn, (uint32_t)strtoul(argv[0], NULL, 0), buf, n) < 0)
		die("%s", "send");
	uint32_t type, len;
	uint8_t *p;
	int rc = agent_frame_read(conn, &type, &p, &len, AGENT_FRAME_MAX);
	if (rc < 0) {
		printf("closed\n");
		return 0;
	}
	printf("type %u: %.*s\n", type, (int)len, type == AGENT_MSG_ERROR ? (char *)p : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("%s", "usage: agent-client SOCK create|exec|ps|raw ...");
	const char *cmd = argv[2];
	int conn = connect_agent(argv[1]);
	if (!strcmp(cmd, "create"))
		return request(conn, AGENT_MSG_CREATE, argc - 2, argv + 2);
	if (!strcmp(cmd, "exec"))
		return request(conn, AGENT_MSG_EXEC, argc - 2, argv + 2);
	if (!strcmp(cmd, "raw"))
		return raw(conn, argc - 3, argv + 3);
	if (!strcmp(cmd, "ps")) {
		uint32_t type = 0, len = 0;
		uint8_t *p = NULL;
		if (agent_frame_write(conn, AGENT_MSG_PS, NULL, 0) < 0 ||
		    agent_frame_read(conn, &type, &p, &len, AGENT_FRAME_MAX) < 0)
			die("%s", "PS failed");
		if (type == AGENT_MSG_ERROR)
			return answer_error(p, len);
		fwrite(p, 1, len, stdout);
		return 0;
	}
	die("unknown command %s", cmd);
}
