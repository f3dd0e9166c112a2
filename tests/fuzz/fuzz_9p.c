/* libFuzzer target for the 9P2000.L server: an input is one mode byte (even: read-only server
 * on a fixed tree holding symlinks that point outside; odd: writable server on a directory
 * emptied after each run, with bounded fids, creations and file sizes) followed by 9P messages,
 * each taken as framed by its own size field (clamped to what is left, so truncated and
 * oversized frames are exercised too). The session is opened with Tversion + Tattach(fid 0)
 * first so that the fuzzer starts deep. After every input a sentinel directory next to the
 * shares must be unchanged: anything else is a containment bug and aborts. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/p9_server.h"

static char base[128], ro_dir[160], rw_dir[160], outside[160];
static uint8_t resp[P9_MSIZE_MAX];

static void put_file(const char *dir, const char *name, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		abort();
	close(fd);
}

static void put_link(const char *target, const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (symlink(target, p) < 0)
		abort();
}

static void setup(void)
{
	/* tmpfs when available: the fuzzer issues fsyncs that would hit a real disk. */
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(base, sizeof(base), "%s/fuzz_9p.XXXXXX", tmp);
	if (!mkdtemp(base))
		abort();
	snprintf(ro_dir, sizeof(ro_dir), "%s/ro", base);
	snprintf(rw_dir, sizeof(rw_dir), "%s/rw", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	if (mkdir(ro_dir, 0755) || mkdir(rw_dir, 0755) || mkdir(outside, 0755))
		abort();
	put_file(outside, "secret", "SECRET");
	put_file(ro_dir, "hello", "hello world");
	char sub[200];
	snprintf(sub, sizeof(sub), "%s/sub", ro_dir);
	if (mkdir(sub, 0755))
		abort();
	put_file(sub, "inner", "inner");
	put_link(outside, ro_dir, "abs");
	put_link("../outside", ro_dir, "rel");
	put_link("../../outside", sub, "up");
	char fifo[200];
	snprintf(fifo, sizeof(fifo), "%s/fifo", ro_dir);
	if (mkfifo(fifo, 0644))
		abort();
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void check_sentinel(void)
{
	DIR *d = opendir(outside);
	if (!d)
		abort();
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(e->d_name, "secret"))
			abort(); /* something was created outside the share */
		n++;
	}
	closedir(d);
	char p[256];
	snprintf(p, sizeof(p), "%s/secret", outside);
	struct stat st;
	if (n != 1 || lstat(p, &st) || !S_ISREG(st.st_mode) || st.st_size != 6 ||
	    (st.st_mode & 07777) != 0644 || st.st_uid != getuid() || st.st_nlink != 1)
		abort();
	if (lstat(outside, &st) || (st.st_mode & 07777) != 0755)
		abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void reset_rw(void)
{
	chmod(rw_dir, 0755);
	/* Directories the guest made unsearchable still go: root ignores modes here. */
	nftw(rw_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void send(struct p9_server *s, const uint8_t *msg, size_t len)
{
	size_t out;
	uint32_t before = p9_server_msize(s);
	if (p9_server_handle(s, msg, len, resp, sizeof(resp), &out) != 0 || out < 7 ||
	    out > sizeof(resp))
		abort();
	uint32_t size = (uint32_t)resp[0] | (uint32_t)resp[1] << 8 | (uint32_t)resp[2] << 16 |
			(uint32_t)resp[3] << 24;
	uint32_t after = p9_server_msize(s);
	uint32_t limit = before > after ? before : after;
	if (size != out || out > (limit > P9_MSIZE_MIN ? limit : P9_MSIZE_MIN))
		abort(); /* a response larger than the negotiated msize */
}

static int rm_all(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void cleanup(void)
{
	nftw(base, rm_all, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
		atexit(cleanup);
	}
	if (size < 1)
		return 0;
	bool rw = data[0] & 1;
	struct p9_server_config cfg = {
		.root = rw ? rw_dir : ro_dir,
		.readonly = !rw,
		.max_fids = 64,
		.max_creates = 32,
		.max_file_size = 65536,
	};
	int fds_before = count_fds();
	struct p9_server *s;
	struct hy_error err;
	if (p9_server_create(&cfg, &s, &err) < 0)
		abort();
	static const uint8_t hello[] = {
		/* Tversion msize=65536 "9P2000.L" */
		21, 0, 0, 0, 100, 0xff, 0xff, 0, 0, 1, 0, 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L',
		/* Tattach fid 0, afid NOFID, uname "", aname "", n_uname 0 */
		23, 0, 0, 0, 104, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	send(s, hello, 21);
	send(s, hello + 21, 23);
	size_t pos = 1;
	for (int n = 0; n < 64 && size - pos >= 4; n++) {
		uint32_t len = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8 |
			       (uint32_t)data[pos + 2] << 16 | (uint32_t)data[pos + 3] << 24;
		if (len < 4)
			len = 4;
		if (len > size - pos)
			len = (uint32_t)(size - pos);
		send(s, data + pos, len);
		pos += len;
	}
	p9_server_destroy(s);
	check_sentinel();
	if (count_fds() != fds_before)
		abort(); /* a descriptor outlived the server */
	if (rw)
		reset_rw();
	return 0;
}
