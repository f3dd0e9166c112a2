/* vsock-echo: a static test helper for virtio-vsock, used in the guest (AF_VSOCK) and on the host
 * (the Unix-socket side of hyrun's hybrid vsock), by tests/vmhost/devices.bats.
 *
 *   vsock-echo listen PORT [COUNT]        guest: echo COUNT (default 1) connections on vsock PORT
 *   vsock-echo connect CID PORT DATA      guest: connect to CID:PORT, send DATA, print the reply
 *   vsock-echo uds-echo PATH [COUNT]      host: listen on Unix PATH (the "<uds>_<port>" side)
 *   vsock-echo uds-connect PATH PORT DATA host: "CONNECT PORT" through hyrun's Unix socket, retrying
 *                                         until the guest listens, then send DATA, print the reply
 *   vsock-echo sum N                      what "@N" echoed back prints, for comparison
 *
 * DATA "@N" sends N pseudo-random bytes and prints "bytes N sum S" for what came back instead of
 * the bytes themselves, so large transfers (flow control) can be compared on both sides. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t checksum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + p[i];
	return sum;
}

/* DATA as bytes: literal, or "@N" pattern bytes. */
static uint8_t *make_data(const char *arg, size_t *len, int *counted)
{
	if (arg[0] != '@') {
		*len = strlen(arg);
		*counted = 0;
		return (uint8_t *)strdup(arg);
	}
	*len = strtoul(arg + 1, NULL, 10);
	*counted = 1;
	uint8_t *p = malloc(*len ? *len : 1);
	uint32_t x = 12345;
	for (size_t i = 0; i < *len; i++) {
		x = x * 1103515245 + 12345;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

/* Sends data, half-closes, and reads the reply to EOF at the same time (an echo peer would block
 * if we wrote everything before reading). */
static void pump(int fd, const uint8_t *data, size_t len, int counted, const uint8_t *pre,
		 size_t pre_len)
{
	size_t sent = 0, got = pre_len;
	uint32_t sum = checksum(0, pre, pre_len);
	if (!counted && pre_len)
		fwrite(pre, 1, pre_len, stdout);
	int wr_open = 1;
	if (len == 0) {
		shutdown(fd, SHUT_WR);
		wr_open = 0;
	}
	static uint8_t buf[65536];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (wr_open ? POLLOUT : 0)};
		if (poll(&p, 1, 30000) <= 0) {
			fprintf(stderr, "vsock-echo: timeout (sent %zu, got %zu)\n", sent, got);
			exit(1);
		}
		if (wr_open && (p.revents & POLLOUT)) {
			ssize_t w = send(fd, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN)
				die("send");
			if (w > 0)
				sent += (size_t)w;
			if (sent == len) {
				shutdown(fd, SHUT_WR);
				wr_open = 0;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r < 0)
				die("recv");
			if (r == 0)
				break;
			got += (size_t)r;
			sum = checksum(sum, buf, (size_t)r);
			if (!counted)
				fwrite(buf, 1, (size_t)r, stdout);
		}
	}
	if (counted)
		printf("bytes %zu sum %u\n", got, sum);
	else
		printf("\n");
	fflush(stdout);
}

static void echo_conn(int fd)
{
	static uint8_t buf[65536];
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t off = 0; off < r;) {
			ssize_t w = send(fd, buf + off, (size_t)(r - off), MSG_NOSIGNAL);
			if (w <= 0)
				return;
			off += w;
		}
	}
	shutdown(fd, SHUT_WR);
}

static void serve(int lfd, int count)
{
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			die("accept");
		echo_conn(c);
		close(c);
	}
}

static void unix_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		fprintf(stderr, "vsock-echo: path too long: %s\n", path);
		exit(2);
	}
	strcpy(a->sun_path, path);
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Reads hyrun's "OK <port>\n" byte by byte (what follows is the guest's data); returns 0, or -1
 * when the guest refused (EOF). */
static int read_ok(int fd)
{
	char line[64];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t r = recv(fd, line + n, 1, 0);
		if (r <= 0)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	if (strncmp(line, "OK ", 3) != 0) {
		fprintf(stderr, "vsock-echo: unexpected reply: %s", line);
		exit(1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "listen")) {
		int lfd = socket(AF_VSOCK, SOCK_STREAM, 0);
		struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
					.svm_port = (unsigned)strtoul(argv[2], NULL, 10)};
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0)
			die("vsock listen");
		serve(lfd, argc > 3 ? atoi(argv[3]) : 1);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "connect")) {
		int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		struct sockaddr_vm a = {.svm_family = AF_VSOCK,
					.svm_cid = (unsigned)strtoul(argv[2], NULL, 10),
					.svm_port = (unsigned)strtoul(argv[3], NULL, 10)};
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("vsock connect");
		size_t len;
		int counted;
		uint8_t *data = make_data(argv[4], &len, &counted);
		pump(fd, data, len, counted, NULL, 0);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "uds-echo")) {
		struct sockaddr_un a;
		unix_addr(&a, argv[2]);
		unlink(argv[2]);
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0)
			die("unix listen");
		serve(lfd, argc > 3 ? atoi(argv[3]) : 1);
		unlink(argv[2]);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "uds-connect")) {
		struct sockaddr_un a;
		unix_addr(&a, argv[2]);
		size_t len;
		int counted;
		uint8_t *data = make_data(argv[4], &len, &counted);
		/* The VMM may not be up yet, nor the guest's listener: retry for a minute. */
		for (int attempt = 0; attempt < 300; attempt++, msleep(200)) {
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (fd < 0)
				die("socket");
			if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
				close(fd);
				continue;
			}
			char cmd[32];
			int n = snprintf(cmd, sizeof(cmd), "CONNECT %s\n", argv[3]);
			if (send(fd, cmd, (size_t)n, MSG_NOSIGNAL) != n || read_ok(fd) < 0) {
				close(fd);
				continue;
			}
			pump(fd, data, len, counted, NULL, 0);
			return 0;
		}
		fprintf(stderr, "vsock-echo: no connection through %s to port %s\n", argv[2], argv[3]);
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "sum")) {
		char spec[32];
		snprintf(spec, sizeof(spec), "@%s", argv[2]);
		size_t len;
		int counted;
		uint8_t *data = make_data(spec, &len, &counted);
		printf("bytes %zu sum %u\n", len, checksum(0, data, len));
		return 0;
	}
	fprintf(stderr, "usage: vsock-echo listen PORT [COUNT] | connect CID PORT DATA |\n"
			"       uds-echo PATH [COUNT] | uds-connect PATH PORT DATA\n");
	return 2;
}
