/* linux.seccomp: parse errors name the JSON path; filters loaded in forked children really
 * deny, allow and compare arguments; the embedded default profile parses and loads. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/json.h"
#include "runtime/seccomp.h"
#include "unit.h"

static int parse(const char *json, struct hy_seccomp **out, struct hy_error *err)
{
	yajl_val v = NULL;
	*out = NULL;
	int rc = json_parse_buf(json, strlen(json), "config.json", &v, err);
	if (rc < 0)
		return rc;
	rc = seccomp_config_parse(v, "config.json", "linux.seccomp", out, err);
	yajl_tree_free(v);
	return rc;
}

static void expect_error(const char *json, const char *needle)
{
	struct hy_seccomp *s = NULL;
	struct hy_error err = {0};
	int rc = parse(json, &s, &err);
	CHECK(rc < 0);
	CHECK(s == NULL);
	CHECK_STR_CONTAINS(err.msg, needle);
	if (!strstr(err.msg, needle))
		fprintf(stderr, "  message was: %s\n", err.msg);
	seccomp_config_free(s);
}

static void test_parse_errors(void)
{
	expect_error("[]", "config.json: linux.seccomp: expected object");
	expect_error("{}", "linux.seccomp.defaultAction: required");
	expect_error("{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
		     "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_NOPE'");
	expect_error("{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/x\"}",
		     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":5}",
		     "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
		     "linux.seccomp.defaultErrnoRet: expected integer between 0 and 65535");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":65536}",
		     "linux.seccomp.defaultErrnoRet: expected integer between 0 and 65535");
	expect_error(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
	    "\"SCMP_ARCH_VAX\"]}",
	    "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_VAX'");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"x\"}",
		     "linux.seccomp.architectures: expected array");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_X\"]}",
		     "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_X'");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerMetadata\":\"m\"}",
		     "linux.seccomp.listenerMetadata: must not be set without listenerPath");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"rel/sock\"}",
		     "linux.seccomp.listenerPath: must be an absolute path");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
		     "linux.seccomp.syscalls: expected array");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":"
		     "\"SCMP_ACT_ERRNO\"}]}",
		     "linux.seccomp.syscalls[0].names: needs at least one syscall name");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\","
		     "\"Bad Name\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
		     "linux.seccomp.syscalls[0].names[1]: invalid syscall name 'Bad Name'");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}",
		     "linux.seccomp.syscalls[0].action: required");
	expect_error(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
	    "\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}]}",
	    "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take "
	    "an errno, not SCMP_ACT_KILL");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":"
		     "\"SCMP_CMP_EQ\"}]}]}",
		     "linux.seccomp.syscalls[0].args[0].index: expected integer between 0 and 5");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":"
		     "\"SCMP_CMP_APPROX\"}]}]}",
		     "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_APPROX'");
	expect_error(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
	    "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
	    "linux.seccomp.syscalls[0].args[0].value: required");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		     "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		     "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
}

static void test_parse_ok(void)
{
	struct hy_seccomp *s = NULL;
	struct hy_error err = {0};
	int rc =
	    parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
		  "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
		  "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],\"listenerPath\":\"/run/l.sock\","
		  "\"listenerMetadata\":\"meta\",\"syscalls\":[{\"names\":[\"read\",\"write\"],"
		  "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"ioctl\"],\"action\":"
		  "\"SCMP_ACT_NOTIFY\",\"args\":[{\"index\":1,\"value\":18446744073709551615,"
		  "\"valueTwo\":7,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
		  &s, &err);
	CHECK(rc == 0);
	if (rc < 0) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK(!strcmp(s->default_action, "SCMP_ACT_ERRNO"));
	CHECK(s->has_default_errno_ret && s->default_errno_ret == 38);
	CHECK(s->architectures.n == 2);
	CHECK(s->flags.n == 1);
	CHECK(!strcmp(s->listener_path, "/run/l.sock"));
	CHECK(!strcmp(s->listener_metadata, "meta"));
	CHECK(s->n_syscalls == 2);
	CHECK(s->syscalls[0].names.n == 2 && !strcmp(s->syscalls[0].names.v[1], "write"));
	CHECK(s->syscalls[1].n_args == 1);
	CHECK(s->syscalls[1].args[0].index == 1);
	CHECK(s->syscalls[1].args[0].value == UINT64_MAX);
	CHECK(s->syscalls[1].args[0].value_two == 7);
	CHECK(!strcmp(s->syscalls[1].args[0].op, "SCMP_CMP_MASKED_EQ"));
	seccomp_config_free(s);
}

/* When set, filters are compiled by seccomp_prepare with this cache before the fork. */
static const char *prepare_cache_dir;

/* Runs fn in a child that has loaded the filter; returns the child's exit status, or 128+sig. */
static int in_filtered_child(const char *json, int (*fn)(void))
{
	struct hy_seccomp *s = NULL;
	struct hy_error err = {0};
	if (parse(json, &s, &err) < 0) {
		fprintf(stderr, "  parse: %s\n", err.msg);
		return -1;
	}
	if (prepare_cache_dir && seccomp_prepare(s, prepare_cache_dir, &err) < 0) {
		fprintf(stderr, "  prepare: %s\n", err.msg);
		seccomp_config_free(s);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(100);
		if (hy_seccomp_load(s, NULL, &err) < 0) {
			fprintf(stderr, "  load: %s\n", err.msg);
			_exit(101);
		}
		_exit(fn());
	}
	seccomp_config_free(s);
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int mkdir_gives_enosys(void)
{
	return mkdir("/proc/hyrun-test-never", 0700) < 0 && errno == ENOSYS ? 0 : 1;
}

static int getppid_then_exit(void)
{
	(void)getppid();
	return 0;
}

static int default_profile_behaviour(void)
{
	char dir[] = "/tmp/hyrun-seccomp-XXXXXX";
	if (!mkdtemp(dir))
		return 1; /* mkdir allowed */
	rmdir(dir);
	if (unshare(0x10000000 /* CLONE_NEWUSER */) == 0 || errno != EPERM)
		return 2;
	if (syscall(435 /* clone3 */, NULL, 0) == 0 || errno != ENOSYS)
		return 3;
	if (personality(0xffffffff) < 0)
		return 4;
	if (personality(ADDR_NO_RANDOMIZE) >= 0 || errno != EPERM)
		return 5;
	pid_t pid = fork(); /* clone without namespace flags is allowed */
	if (pid < 0)
		return 6;
	if (pid == 0)
		_exit(0);
	int st;
	waitpid(pid, &st, 0);
	if (syscall(SYS_clone, 0x20000000 /* CLONE_NEWPID */ | SIGCHLD, 0, 0, 0, 0) >= 0 ||
	    errno != EPERM)
		return 7;
	if (syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, 0) == 0 || errno != EPERM)
		return 8;
	return 0;
}

/* Bit i set when umask(args[i]) was caught by the rule (it never fails otherwise). */
static int umask_matches(void)
{
	static const unsigned long args[] = {1, 2, 3, 0x12};
	int bits = 0;
	for (int i = 0; i < 4; i++)
		if (syscall(SYS_umask, args[i]) < 0 && errno == 77)
			bits |= 1 << i;
	return bits;
}

static void test_operators(void)
{
	static const struct {
		const char *op;
		const char *value;
		int expect;
	} cases[] = {
	    {"SCMP_CMP_EQ", "2", 0x2},
	    {"SCMP_CMP_NE", "2", 0xd},
	    {"SCMP_CMP_LT", "2", 0x1},
	    {"SCMP_CMP_LE", "2", 0x3},
	    {"SCMP_CMP_GE", "2", 0xe},
	    {"SCMP_CMP_GT", "2", 0xc},
	    {"SCMP_CMP_MASKED_EQ", "3,\"valueTwo\":2", 0xa},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[512];
		snprintf(
		    json, sizeof(json),
		    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"umask\"],"
		    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":77,\"args\":[{\"index\":0,"
		    "\"value\":%s,\"op\":\"%s\"}]}]}",
		    cases[i].value, cases[i].op);
		int got = in_filtered_child(json, umask_matches);
		CHECK(got == cases[i].expect);
		if (got != cases[i].expect)
			fprintf(stderr, "  %s: got 0x%x, want 0x%x\n", cases[i].op, got,
				cases[i].expect);
	}
	/* Two comparisons of one argument: any of them matches (runc's reading). */
	int got = in_filtered_child(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"umask\"],"
	    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":77,\"args\":[{\"index\":0,\"value\":1,"
	    "\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":3,\"op\":\"SCMP_CMP_EQ\"}]}]}",
	    umask_matches);
	CHECK(got == 0x5);
}

static void test_actions(void)
{
	/* errnoRet, and an unknown syscall name next to a real one is skipped, not fatal. */
	CHECK(in_filtered_child("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
				"[\"no_such_syscall_anywhere\",\"mkdir\"],\"action\":"
				"\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}",
				mkdir_gives_enosys) == 0);
	/* defaultErrnoRet */
	CHECK(
	    in_filtered_child("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
			      "\"syscalls\":[{\"names\":[\"exit\",\"exit_group\",\"brk\",\"mmap\","
			      "\"munmap\",\"mprotect\",\"madvise\",\"fstat\",\"newfstatat\","
			      "\"write\",\"read\",\"openat\",\"close\",\"sigaltstack\","
			      "\"rt_sigaction\",\"rt_sigprocmask\",\"getpid\",\"gettid\","
			      "\"tgkill\",\"prctl\",\"futex\",\"sched_yield\"],\"action\":"
			      "\"SCMP_ACT_ALLOW\"}]}",
			      mkdir_gives_enosys) == 0);
	static const struct {
		const char *action;
		int status;
	} kills[] = {
	    {"SCMP_ACT_KILL_PROCESS", 128 + SIGSYS},
	    {"SCMP_ACT_KILL", 128 + SIGSYS},
	    {"SCMP_ACT_KILL_THREAD", 128 + SIGSYS},
	    {"SCMP_ACT_TRAP", 128 + SIGSYS},
	    {"SCMP_ACT_LOG", 0},
	    {"SCMP_ACT_ALLOW", 0},
	    /* No tracer: the kernel fails the syscall with ENOSYS and the process lives. */
	    {"SCMP_ACT_TRACE", 0},
	};
	for (size_t i = 0; i < sizeof(kills) / sizeof(kills[0]); i++) {
		char json[256];
		snprintf(json, sizeof(json),
			 "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
			 "[\"getppid\"],\"action\":\"%s\"}]}",
			 kills[i].action);
		int st = in_filtered_child(json, getppid_then_exit);
		CHECK(st == kills[i].status);
		if (st != kills[i].status)
			fprintf(stderr, "  %s: status %d, want %d\n", kills[i].action, st,
				kills[i].status);
	}
}

static void test_flags(void)
{
	CHECK(
	    in_filtered_child("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":["
			      "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
			      "\"SECCOMP_FILTER_FLAG_TSYNC\"],\"syscalls\":[{\"names\":[\"mkdir\"],"
			      "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}",
			      mkdir_gives_enosys) == 0);
}

static void test_default_profile(void)
{
	const char *json = seccomp_default_profile_json();
	CHECK(json && strstr(json, "\"defaultAction\""));
	CHECK(in_filtered_child(json, default_profile_behaviour) == 0);
}

/* SCMP_ACT_NOTIFY: the listener fd and the container process state reach the agent at
 * listenerPath, and the agent's answer becomes the syscall's result. */
static void test_notify_listener(void)
{
	char dir[] = "/tmp/hyrun-notify-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	char sock_path[64], json[512];
	snprintf(sock_path, sizeof(sock_path), "%s/agent.sock", dir);
	snprintf(json, sizeof(json),
		 "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"%s\","
		 "\"listenerMetadata\":\"MKNOD=/dev/null\",\"flags\":"
		 "[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],\"syscalls\":[{\"names\":"
		 "[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		 sock_path);
	int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, sock_path);
	CHECK(bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CHECK(listen(lsock, 1) == 0);
	struct hy_seccomp *s = NULL;
	struct hy_error err = {0};
	CHECK(parse(json, &s, &err) == 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = -1;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || hy_seccomp_load(s, &fd, &err) < 0 ||
		    fd < 0)
			_exit(10);
		if (seccomp_send_listener(s, fd,
					  "{\"ociVersion\":\"1.2.0\",\"id\":\"nt\","
					  "\"status\":\"creating\",\"pid\":4242}",
					  &err) < 0)
			_exit(11);
		close(fd);
		_exit(getppid() == 4242 ? 0 : 12);
	}
	int conn = accept(lsock, NULL, NULL);
	CHECK(conn >= 0);
	char buf[2048] = "";
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	CHECK(n > 0);
	size_t total = n > 0 ? (size_t)n : 0;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int nfd = -1;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&nfd, CMSG_DATA(c), sizeof(int));
	while (n > 0 && total < sizeof(buf) - 1) {
		n = read(conn, buf + total, sizeof(buf) - 1 - total);
		if (n > 0)
			total += (size_t)n;
	}
	buf[total] = '\0';
	CHECK(nfd >= 0);
	yajl_val v = yajl_tree_parse(buf, NULL, 0);
	CHECK(v != NULL);
	const char *kmeta[] = {"metadata", NULL}, *kfd[] = {"fds", NULL}, *kpid[] = {"pid", NULL},
		   *kid[] = {"state", "id", NULL};
	yajl_val meta = yajl_tree_get(v, kmeta, yajl_t_string);
	yajl_val fds = yajl_tree_get(v, kfd, yajl_t_array);
	yajl_val jpid = yajl_tree_get(v, kpid, yajl_t_number);
	yajl_val id = yajl_tree_get(v, kid, yajl_t_string);
	CHECK(meta && YAJL_IS_STRING(meta) && !strcmp(meta->u.string, "MKNOD=/dev/null"));
	CHECK(fds && fds->u.array.len == 1 && YAJL_IS_STRING(fds->u.array.values[0]) &&
	      !strcmp(fds->u.array.values[0]->u.string, "seccompFd"));
	CHECK(jpid && YAJL_GET_INTEGER(jpid) == 4242);
	CHECK(id && YAJL_IS_STRING(id) && !strcmp(id->u.string, "nt"));
	yajl_tree_free(v);
	if (nfd >= 0) {
		struct seccomp_notif req;
		memset(&req, 0, sizeof(req));
		CHECK(ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0);
		struct seccomp_notif_resp resp = {.id = req.id, .val = 4242};
		CHECK(ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0);
		close(nfd);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (conn >= 0)
		close(conn);
	close(lsock);
	unlink(sock_path);
	rmdir(dir);
	seccomp_config_free(s);
}

static int mkdir_gives_99(void)
{
	return mkdir("/proc/hyrun-test-never", 0700) < 0 && errno == 99 ? 0 : 1;
}

/* seccomp_prepare: the compiled program is cached by content, reused from the cache (proven
 * by planting a different program there), and an entry others could write is not trusted. */
static void test_prepare_cache(void)
{
	char dir[] = "/tmp/hyrun-bpfcache-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	char cache[64];
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	const char *json = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
			   "[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}";
	prepare_cache_dir = cache;
	CHECK(in_filtered_child(json, mkdir_gives_enosys) == 0);
	struct stat st;
	CHECK(stat(cache, &st) == 0 && (st.st_mode & 0777) == 0700);
	char cmd[256], entry[256] = "";
	snprintf(cmd, sizeof(cmd), "ls %s/*.bpf", cache);
	FILE *ls = popen(cmd, "r");
	CHECK(ls && fgets(entry, sizeof(entry), ls));
	if (ls)
		pclose(ls);
	entry[strcspn(entry, "\n")] = '\0';
	/* Keep the stored description, replace the program: nr == mkdir ? ERRNO(99) : ALLOW */
	struct {
		char magic[8];
		uint32_t flags, n;
		uint64_t key_len;
	} head;
	struct {
		uint16_t code;
		uint8_t jt, jf;
		uint32_t k;
	} insn[4] = {{0x20, 0, 0, 0},
		     {0x15, 0, 1, SYS_mkdir},
		     {0x06, 0, 0, 0x00050063},
		     {0x06, 0, 0, 0x7fff0000}};
	FILE *f = fopen(entry, "r+");
	CHECK(f && fread(&head, sizeof(head), 1, f) == 1);
	if (f) {
		char *key = malloc(head.key_len);
		CHECK(key && fread(key, head.key_len, 1, f) == 1);
		head.n = 4;
		rewind(f);
		CHECK(ftruncate(fileno(f), 0) == 0);
		CHECK(fwrite(&head, sizeof(head), 1, f) == 1 &&
		      fwrite(key, head.key_len, 1, f) == 1 &&
		      fwrite(insn, sizeof(insn), 1, f) == 1);
		free(key);
		fclose(f);
	}
	CHECK(chmod(entry, 0600) == 0);
	CHECK(in_filtered_child(json, mkdir_gives_99) == 0);
	CHECK(chmod(entry, 0666) == 0);
	CHECK(in_filtered_child(json, mkdir_gives_enosys) == 0);
	/* Without a cache directory the filter is compiled and works all the same. */
	prepare_cache_dir = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	test_parse_errors();
	test_parse_ok();
	test_operators();
	test_actions();
	test_flags();
	test_default_profile();
	test_notify_listener();
	test_prepare_cache();
	return UNIT_DONE();
}
