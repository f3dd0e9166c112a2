/* vm_disk.c and its use by vm_launch_prepare: the filesystem of a root image from its superblock
 * magic, the annotation org.hyrun.vm.root_disk resolved against the bundle (".." refused), the
 * errors that name the annotation (missing, a directory, unknown format), and the VMM config of
 * a disk root: vda (read-only for erofs and root.readonly), hyrun.root= on the command line, no
 * 9p root share, bind shares still numbered from hyrun0. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/vmm/vmm.h"
#include "unit.h"

static char dir[256];
static char bundle[PATH_MAX];
static char state[PATH_MAX];

#define BASE                                                                                       \
	"\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"                                 \
	"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"

static void put_le(unsigned char *p, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* A file of size bytes with magic (n bytes, little-endian) at offset; n == 0: none. */
static void make_image(const char *name, size_t size, size_t offset, uint32_t magic, size_t n)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", bundle, name);
	unsigned char *buf = calloc(1, size);
	CHECK(buf != NULL);
	if (!buf)
		return;
	if (n && offset + n <= size)
		put_le(buf + offset, magic, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, buf, size) == (ssize_t)size);
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void test_detect(void)
{
	unsigned char b[4096] = {0};
	CHECK(vm_root_fs_detect(b, sizeof(b)) == VM_ROOT_FS_NONE);
	put_le(b + 1080, 0xEF53, 2);
	CHECK(vm_root_fs_detect(b, sizeof(b)) == VM_ROOT_FS_EXT4);
	/* Too short to hold the magic: not read past the end. */
	CHECK(vm_root_fs_detect(b, 1081) == VM_ROOT_FS_NONE);
	memset(b, 0, sizeof(b));
	put_le(b + 1024, 0xE0F5E1E2, 4);
	CHECK(vm_root_fs_detect(b, sizeof(b)) == VM_ROOT_FS_EROFS);
	CHECK(vm_root_fs_detect(b, 1027) == VM_ROOT_FS_NONE);
	/* Byte order matters: big-endian magic is not erofs. */
	memset(b, 0, sizeof(b));
	b[1024] = 0xE0, b[1025] = 0xF5, b[1026] = 0xE1, b[1027] = 0xE2;
	CHECK(vm_root_fs_detect(b, sizeof(b)) == VM_ROOT_FS_NONE);
	CHECK(!strcmp(vm_root_fs_name(VM_ROOT_FS_EXT4), "ext4"));
	CHECK(!strcmp(vm_root_fs_name(VM_ROOT_FS_EROFS), "erofs"));
}

static int prepare(const char *json, struct vm_launch *l, struct hy_error *e)
{
	struct hy_config *c = NULL;
	memset(e, 0, sizeof(*e));
	int rc = config_parse(json, strlen(json), "config.json", bundle, &c, e);
	if (rc) {
		fprintf(stderr, "config_parse: %s\n  for %s\n", e->msg, json);
		CHECK(rc == 0);
		return rc;
	}
	rc = vm_launch_prepare(c, state, l, e);
	config_free(c);
	return rc;
}

static void with_disk(char *json, size_t size, const char *value, bool ro, const char *extra)
{
	snprintf(json, size,
		 "{" BASE ",\"root\":{\"path\":\"rootfs\",\"readonly\":%s},"
		 "\"annotations\":{\"org.hyrun.vm.root_disk\":\"%s\"}%s}",
		 ro ? "true" : "false", value, extra);
}

static void expect_error(const char *value, const char *want, int line)
{
	char json[PATH_MAX * 2];
	with_disk(json, sizeof(json), value, false, "");
	struct vm_launch l;
	struct hy_error e;
	int rc = prepare(json, &l, &e);
	if (rc == 0 || !strstr(e.msg, "annotations.org.hyrun.vm.root_disk") ||
	    !strstr(e.msg, want)) {
		fprintf(stderr,
			"line %d: expected an error about the annotation with \"%s\", got "
			"rc=%d \"%s\"\n",
			line, want, rc, e.msg);
		CHECK(0);
		if (rc == 0)
			vm_launch_free(&l);
		return;
	}
	CHECK(1);
}

static void test_errors(void)
{
	expect_error("missing.ext4", "No such file", __LINE__);
	expect_error("rootfs", "is a directory", __LINE__);
	expect_error("zero.img", "unknown format", __LINE__);
	expect_error("short.img", "unknown format", __LINE__);
	expect_error("../outside.ext4", "may not leave the bundle", __LINE__);
	expect_error("rootfs/../../outside.ext4", "may not leave the bundle", __LINE__);
	/* Empty: refused when the config is parsed, naming the annotation too. */
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	const char *json = "{" BASE ",\"annotations\":{\"org.hyrun.vm.root_disk\":\"\"}}";
	CHECK(config_parse(json, strlen(json), "config.json", bundle, &c, &e) < 0 &&
	      strstr(e.msg, "org.hyrun.vm.root_disk"));
	config_free(c);
}

static void test_launch(void)
{
	char json[PATH_MAX * 2], want[PATH_MAX + 64];
	struct vm_launch l;
	struct hy_error e;
	/* ext4, writable: vda read-write, no 9p root; a bind share is hyrun0. */
	with_disk(
	    json, sizeof(json), "rootfs.ext4", false,
	    ",\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\"}]");
	if (prepare(json, &l, &e) != 0) {
		fprintf(stderr, "ext4: %s\n", e.msg);
		CHECK(0);
		return;
	}
	const struct vmm_config *v = vm_launch_vmm_config(&l);
	snprintf(want, sizeof(want), "%s/rootfs.ext4", bundle);
	CHECK(v->n_disks == 1 && !strcmp(v->disks[0].path, want) && !v->disks[0].readonly);
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.root=/dev/vda hyrun.rootfstype=ext4");
	CHECK(!strstr(v->cmdline, "hyrun.share") && !strstr(v->cmdline, "root_ro"));
	CHECK(v->n_shares == 1 && !strcmp(v->shares[0].tag, "hyrun0"));
	CHECK(l.spec.n_mounts == 1 && !strcmp(l.spec.mounts[0].source, "hyrun0"));
	vm_launch_free(&l);
	/* ext4, root.readonly: the disk read-only too. */
	with_disk(json, sizeof(json), "./rootfs.ext4", true, "");
	CHECK(prepare(json, &l, &e) == 0);
	v = vm_launch_vmm_config(&l);
	CHECK(v->n_disks == 1 && v->disks[0].readonly);
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.rootfstype=ext4 hyrun.root_ro=1");
	vm_launch_free(&l);
	/* erofs, absolute path, writable root: the disk is read-only, the guest overlays it. */
	snprintf(want, sizeof(want), "%s/rootfs.erofs", bundle);
	with_disk(json, sizeof(json), want, false, "");
	CHECK(prepare(json, &l, &e) == 0);
	v = vm_launch_vmm_config(&l);
	CHECK(v->n_disks == 1 && v->disks[0].readonly && !strcmp(v->disks[0].path, want));
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.root=/dev/vda hyrun.rootfstype=erofs");
	CHECK(!strstr(v->cmdline, "root_ro"));
	vm_launch_free(&l);
	/* A ".." that stays inside the bundle is fine. */
	with_disk(json, sizeof(json), "data/../rootfs.erofs", false, "");
	CHECK(prepare(json, &l, &e) == 0);
	vm_launch_free(&l);
	/* Without the annotation: the 9p root as before. */
	CHECK(prepare("{" BASE "}", &l, &e) == 0);
	v = vm_launch_vmm_config(&l);
	CHECK(v->n_disks == 0 && v->n_shares == 1 && !strcmp(v->shares[0].tag, VM_ROOT_TAG));
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.share=rootfs");
	vm_launch_free(&l);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_vm_disk.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	char p[PATH_MAX + 32];
	mkdir(bundle, 0755);
	snprintf(p, sizeof(p), "%s/rootfs", bundle);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/data", bundle);
	mkdir(p, 0755);
	static const char *const assets[] = {"vmlinux", "initramfs.cpio"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, assets[i]);
		int fd = open(p, O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	setenv("HYRUN_GUEST_DIR", dir, 1);
	make_image("rootfs.ext4", 4096, 1080, 0xEF53, 2);
	make_image("rootfs.erofs", 4096, 1024, 0xE0F5E1E2, 4);
	make_image("zero.img", 4096, 0, 0, 0);
	make_image("short.img", 100, 0, 0, 0);
	make_image("../outside.ext4", 4096, 1080, 0xEF53, 2);

	test_detect();
	test_errors();
	test_launch();

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return UNIT_DONE();
}
