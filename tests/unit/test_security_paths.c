/* LSM labels, maskedPaths / readonlyPaths (in a private mount namespace of a forked child) and user
 * namespace maps written for a child that unshared its user namespace. Needs root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/security.h"
#include "unit.h"

static char base[] = "/tmp/hyrun-paths-XXXXXX";

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int child_paths(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 1;
	char file[256], dir[256], missing[256], ro[256], rofile[256], dirfile[256];
	snprintf(file, sizeof(file), "%s/secret", base);
	snprintf(dir, sizeof(dir), "%s/secretdir", base);
	snprintf(dirfile, sizeof(dirfile), "%s/secretdir/inner", base);
	snprintf(missing, sizeof(missing), "%s/not-there", base);
	snprintf(ro, sizeof(ro), "%s/rodir", base);
	snprintf(rofile, sizeof(rofile), "%s/rodir/file", base);
	char *masked[] = {file, dir, missing};
	char *readonly[] = {ro, missing};
	struct hy_strv m = {masked, 3}, r = {readonly, 2};
	struct hy_error err = {0};
	if (security_apply_masked_paths(&m, &err) < 0) {
		fprintf(stderr, "  masked: %s\n", err.msg);
		return 2;
	}
	if (security_apply_readonly_paths(&r, &err) < 0) {
		fprintf(stderr, "  readonly: %s\n", err.msg);
		return 3;
	}
	char buf[64];
	int fd = open(file, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 0)
		return 4; /* a masked file reads empty */
	close(fd);
	if (access(dirfile, F_OK) == 0)
		return 5; /* a masked directory hides its content */
	if (open(dirfile, O_WRONLY | O_CREAT, 0600) >= 0 || errno != EROFS)
		return 6;
	if (open(rofile, O_WRONLY) >= 0 || errno != EROFS)
		return 7;
	fd = open(rofile, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 2)
		return 8; /* read-only, still readable */
	close(fd);
	struct statvfs sv;
	if (statvfs(ro, &sv) < 0 || (sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC)) !=
					(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC))
		return 9;
	char *relative[] = {"proc/kcore"};
	struct hy_strv bad = {relative, 1};
	if (security_apply_masked_paths(&bad, &err) == 0 ||
	    !strstr(err.msg, "linux.maskedPaths[0]: 'proc/kcore' is not an absolute path"))
		return 10;
	return 0;
}

static int run_child(int (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_paths(void)
{
	if (!mkdtemp(base)) {
		CHECK(0);
		return;
	}
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/secretdir", base);
	mkdir(sub, 0755);
	write_file(sub, "inner", "hidden");
	snprintf(sub, sizeof(sub), "%s/rodir", base);
	mkdir(sub, 0755);
	write_file(sub, "file", "ro");
	write_file(base, "secret", "s3cret");
	int rc = run_child(child_paths);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "  child_paths: %d\n", rc);
	/* Nothing leaked to this mount namespace: the host file is unchanged and writable. */
	char p[300];
	snprintf(p, sizeof(p), "%s/rodir/file", base);
	CHECK(access(p, W_OK) == 0);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	CHECK(system(cmd) == 0);
}

static void test_map_id(void)
{
	struct hy_id_mapping m[] = {{0, 100000, 1000}, {1000, 1000, 1}};
	uint32_t h = 0;
	CHECK(userns_map_id(m, 2, 0, &h) && h == 100000);
	CHECK(userns_map_id(m, 2, 999, &h) && h == 100999);
	CHECK(userns_map_id(m, 2, 1000, &h) && h == 1000);
	CHECK(!userns_map_id(m, 2, 1001, &h));
	CHECK(userns_map_id(NULL, 0, 42, &h) && h == 42);
}

static void test_write_mappings(void)
{
	int go[2], done[2];
	if (pipe(go) < 0 || pipe(done) < 0) {
		CHECK(0);
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(done[1], "u", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		FILE *f = fopen("/proc/self/uid_map", "r");
		unsigned a = 9, b = 9, n = 9;
		if (!f || fscanf(f, "%u %u %u", &a, &b, &n) != 3 || a != 0 || b != 0 || n != 1)
			_exit(3);
		fclose(f);
		f = fopen("/proc/self/gid_map", "r");
		if (!f || fscanf(f, "%u %u %u", &a, &b, &n) != 3 || a != 0 || b != 0 || n != 1)
			_exit(4);
		fclose(f);
		_exit(getuid() == 0 && getgid() == 0 ? 0 : 5);
	}
	char c;
	CHECK(read(done[0], &c, 1) == 1);
	struct hy_id_mapping uid[] = {{0, 0, 1}}, gid[] = {{0, 0, 1}};
	struct hy_linux lnx = {
	    .uid_mappings = uid, .n_uid_mappings = 1, .gid_mappings = gid, .n_gid_mappings = 1};
	struct hy_error err = {0};
	int rc = userns_write_mappings(pid, &lnx, &err);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK(write(go[1], "g", 1) == 1);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);

	struct hy_id_mapping zero[] = {{0, 0, 0}}, wrap[] = {{0, 4294967000u, 1000}};
	struct hy_linux bad = {.uid_mappings = zero, .n_uid_mappings = 1};
	CHECK(userns_write_mappings(getpid(), &bad, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "linux.uidMappings[0].size: must not be 0");
	bad.uid_mappings = wrap;
	CHECK(userns_write_mappings(getpid(), &bad, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "linux.uidMappings[0]: range goes beyond");
	bad.n_uid_mappings = 0;
	CHECK(userns_write_mappings(getpid(), &bad, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "linux.uidMappings: required");
}

/* As an unprivileged user: the own-id mapping is written directly (with setgroups denied),
 * anything wider goes through newuidmap and fails with a message saying what is needed. */
static int child_unprivileged_maps(void)
{
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		return 1;
	/* Changing uid made us non-dumpable (root-owned /proc files); a user's own hyrun is not. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	int go[2], ready[2];
	if (pipe(go) < 0 || pipe(ready) < 0)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (unshare(CLONE_NEWUSER) < 0 || write(ready[1], "r", 1) != 1 ||
		    read(go[0], &c, 1) != 1)
			_exit(1);
		char buf[16] = "";
		int fd = open("/proc/self/setgroups", O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 || strncmp(buf, "deny", 4))
			_exit(2);
		_exit(getuid() == 0 && getgid() == 0 ? 0 : 3);
	}
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 3;
	struct hy_error err = {0};
	struct hy_id_mapping wide[] = {{0, 100000, 65536}}, own[] = {{0, 1000, 1}};
	struct hy_linux lnx = {
	    .uid_mappings = wide, .n_uid_mappings = 1, .gid_mappings = own, .n_gid_mappings = 1};
	int rc = userns_write_mappings(pid, &lnx, &err);
	int result = 0;
	if (rc == 0 || !strstr(err.msg, "linux.uidMappings:") || !strstr(err.msg, "newuidmap")) {
		fprintf(stderr, "  wide mapping as non-root: rc %d: %s\n", rc, err.msg);
		result = 4;
	}
	lnx.uid_mappings = own;
	if (userns_write_mappings(pid, &lnx, &err) < 0) {
		fprintf(stderr, "  own mapping as non-root: %s\n", err.msg);
		result = 5;
	}
	if (write(go[1], "g", 1) != 1)
		result = 6;
	int st = 0;
	waitpid(pid, &st, 0);
	if (!result && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		result = 10 + (WIFEXITED(st) ? WEXITSTATUS(st) : 0);
	return result;
}

static void test_unprivileged_maps(void)
{
	int rc = run_child(child_unprivileged_maps);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "  child_unprivileged_maps: %d\n", rc);
}

/* An idmapped bind mount shows a file owned by uid 0 on disk as owned by the host uid that
 * container root maps to. */
static char idmap_dir[] = "/tmp/hyrun-idmap-XXXXXX";

static int child_idmap(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 1;
	char src[128], dst[128], file[160];
	snprintf(src, sizeof(src), "%s/src", idmap_dir);
	snprintf(dst, sizeof(dst), "%s/dst", idmap_dir);
	snprintf(file, sizeof(file), "%s/dst/owned-by-0", idmap_dir);
	struct hy_id_mapping map[] = {{0, 100000, 65536}};
	struct hy_error err = {0};
	int userns = -1;
	if (userns_create_mapped_fd(map, 1, map, 1, "mounts[0]", &userns, &err) < 0) {
		fprintf(stderr, "  %s\n", err.msg);
		return 2;
	}
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
	if (tree < 0)
		return 3;
	if (userns_idmap_mount(tree, userns, false, "mounts[0]", &err) < 0) {
		fprintf(stderr, "  %s\n", err.msg);
		return 4;
	}
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, 4 /* MOVE_MOUNT_F_EMPTY_PATH */) < 0)
		return 5;
	struct stat st;
	if (stat(file, &st) < 0)
		return 6;
	return st.st_uid == 100000 && st.st_gid == 100000 ? 0 : 7;
}

static void test_idmap_mount(void)
{
	if (!mkdtemp(idmap_dir)) {
		CHECK(0);
		return;
	}
	char p[200];
	snprintf(p, sizeof(p), "%s/src", idmap_dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dst", idmap_dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/src", idmap_dir);
	write_file(p, "owned-by-0", "x");
	int rc = run_child(child_idmap);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "  child_idmap: %d\n", rc);
	struct hy_error err = {0};
	int fd = -1;
	struct hy_id_mapping bad[] = {{0, 0, 0}};
	CHECK(userns_create_mapped_fd(bad, 1, bad, 1, "mounts[2]", &fd, &err) < 0 && fd == -1);
	CHECK_STR_CONTAINS(err.msg, "mounts[2].uidMappings[0].size: must not be 0");
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", idmap_dir);
	CHECK(system(cmd) == 0);
}

static void test_rootfs_owner(void)
{
	char dir[] = "/tmp/hyrun-owner-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	struct hy_id_mapping map[] = {{0, 100000, 65536}};
	struct hy_linux lnx = {
	    .uid_mappings = map, .n_uid_mappings = 1, .gid_mappings = map, .n_gid_mappings = 1};
	lnx.namespaces[HY_NS_USER].present = true;
	struct hy_error err = {0};
	CHECK(chmod(dir, 0700) == 0); /* owned by host root, unmapped, not searchable */
	CHECK(userns_check_rootfs_owner(dir, &lnx, &err) == -EACCES);
	CHECK_STR_CONTAINS(err.msg, "chown it to 100000:100000");
	CHECK(chown(dir, 100000, 100000) == 0);
	CHECK(userns_check_rootfs_owner(dir, &lnx, &err) == 0);
	CHECK(chown(dir, 0, 0) == 0 && chmod(dir, 0755) == 0);
	CHECK(userns_check_rootfs_owner(dir, &lnx, &err) == 0);
	/* A rootfs the container owns, below a directory it cannot enter: the parent is named. */
	char rootfs[64];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	CHECK(mkdir(rootfs, 0755) == 0 && chown(rootfs, 100000, 100000) == 0);
	CHECK(chmod(dir, 0700) == 0);
	CHECK(userns_check_rootfs_owner(rootfs, &lnx, &err) == -EACCES);
	char expect[96];
	snprintf(expect, sizeof(expect), "root.path: %s is owned by host uid 0 gid 0 (mode 0700)",
		 dir);
	CHECK_STR_CONTAINS(err.msg, expect);
	CHECK(chmod(dir, 0711) == 0);
	CHECK(userns_check_rootfs_owner(rootfs, &lnx, &err) == 0);
	lnx.namespaces[HY_NS_USER].present = false;
	CHECK(chmod(dir, 0700) == 0);
	CHECK(userns_check_rootfs_owner(rootfs, &lnx, &err) == 0);
	rmdir(rootfs);
	rmdir(dir);
}

static void test_lsm(void)
{
	struct hy_error err = {0};
	struct hy_process p = {0};
	CHECK(lsm_apply_process_labels(&p, NULL, &err) == 0);
	p.apparmor_profile = "bad\nprofile";
	CHECK(lsm_apply_process_labels(&p, NULL, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "process.apparmorProfile: label contains a control character");
	p.apparmor_profile = "hyrun-test";
	bool aa = access("/sys/kernel/security/apparmor", F_OK) == 0 ||
		  access("/sys/module/apparmor/parameters/enabled", F_OK) == 0;
	if (!aa) {
		CHECK(lsm_apply_process_labels(&p, NULL, &err) == -ENOTSUP);
		CHECK_STR_CONTAINS(err.msg, "process.apparmorProfile 'hyrun-test' requested but "
					    "AppArmor is not enabled on this host");
	}
	p.apparmor_profile = NULL;
	if (access("/sys/fs/selinux/enforce", F_OK) != 0) {
		p.selinux_label = "system_u:system_r:container_t:s0";
		CHECK(lsm_apply_process_labels(&p, NULL, &err) == -ENOTSUP);
		CHECK_STR_CONTAINS(err.msg,
				   "process.selinuxLabel 'system_u:system_r:container_t:s0' "
				   "requested but SELinux is not enabled on this host");
		p.selinux_label = NULL;
		CHECK(lsm_apply_process_labels(&p, "system_u:object_r:container_file_t:s0", &err) ==
		      -ENOTSUP);
		CHECK_STR_CONTAINS(err.msg,
				   "linux.mountLabel 'system_u:object_r:container_file_t:s0' "
				   "requested but SELinux is not enabled");
	}
}

int main(void)
{
	test_map_id();
	test_lsm();
	if (geteuid() != 0) {
		printf("test_security_paths: not root, skipping mount and user namespace tests\n");
		return UNIT_DONE();
	}
	test_paths();
	test_write_mappings();
	test_unprivileged_maps();
	test_idmap_mount();
	test_rootfs_owner();
	return UNIT_DONE();
}
