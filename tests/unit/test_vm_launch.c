/* vm_launch_prepare: a VM container's VMM configuration and CREATE spec from config.json — VM size
 * from annotations and linux.resources, kernel annotation and asset lookup, 9p shares for bind
 * mounts (one per directory, file binds through their parent), pass-through mounts, container
 * parts of the spec, and errors naming the field. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/vmm/vmm.h"
#include "unit.h"

static char dir[256]; /* temp dir: a fake guest dir, a bundle, bind sources */
static char bundle[PATH_MAX];
static char state[PATH_MAX];

#define BASE                                                                                       \
	"\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"                                 \
	"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
}

static struct hy_config *parse(const char *json)
{
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	int rc = config_parse(json, strlen(json), "config.json", bundle, &c, &e);
	if (rc) {
		fprintf(stderr, "config_parse: %s\n  for %s\n", e.msg, json);
		CHECK(rc == 0);
	}
	return c;
}

/* Prepares json; returns the launch (caller frees) or NULL with *msg set on error. */
static int prepare(const char *json, struct vm_launch *l, struct hy_error *e)
{
	struct hy_config *c = parse(json);
	if (!c)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	int rc = vm_launch_prepare(c, state, l, e);
	config_free(c);
	return rc;
}

static void expect_error(const char *json, const char *want, int line)
{
	struct vm_launch l;
	struct hy_error e;
	int rc = prepare(json, &l, &e);
	if (rc == 0 || !strstr(e.msg, want)) {
		fprintf(stderr, "line %d: expected an error containing \"%s\", got rc=%d \"%s\"\n",
			line, want, rc, e.msg);
		CHECK(0);
		if (rc == 0)
			vm_launch_free(&l);
		return;
	}
	CHECK(1);
}

static void test_defaults(void)
{
	struct vm_launch l;
	struct hy_error e;
	CHECK(prepare("{" BASE "}", &l, &e) == 0);
	const struct vmm_config *v = vm_launch_vmm_config(&l);
	CHECK(v && v->vcpus == 1 && v->memory_mib == VM_DEFAULT_MEMORY_MIB);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/vmlinux", dir);
	CHECK(v && !strcmp(v->kernel, want));
	snprintf(want, sizeof(want), "%s/initramfs.cpio", dir);
	CHECK(v && v->initrd && !strcmp(v->initrd, want));
	snprintf(want, sizeof(want), "%s/vm.sock", state);
	CHECK(v && !strcmp(v->vsock_path, want));
	snprintf(want, sizeof(want), "%s/vm.log", state);
	CHECK(v && !strcmp(v->serial_path, want));
	CHECK(v && v->console_path == NULL);
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.oci=1");
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.share=rootfs");
	CHECK(strstr(v->cmdline, "share_ro") == NULL);
	snprintf(want, sizeof(want), "%s/rootfs", bundle);
	CHECK(v->n_shares == 1 && !strcmp(v->shares[0].tag, "rootfs") &&
	      !strcmp(v->shares[0].path, want) && !v->shares[0].readonly);
	CHECK(l.spec.args.n == 1 && !strcmp(l.spec.args.v[0], "sh"));
	vm_launch_free(&l);
}

static void test_sizes(void)
{
	struct vm_launch l;
	struct hy_error e;
	/* Annotations win over linux.resources. */
	CHECK(prepare("{" BASE ",\"annotations\":{\"org.hyrun.vm.vcpus\":\"3\","
		      "\"org.hyrun.vm.memory_mib\":\"300\"},\"linux\":{\"resources\":{\"cpu\":"
		      "{\"quota\":400000,\"period\":100000},\"memory\":{\"limit\":1073741824}}}}",
		      &l, &e) == 0);
	const struct vmm_config *v = vm_launch_vmm_config(&l);
	CHECK(v->vcpus == 3 && v->memory_mib == 300);
	vm_launch_free(&l);
	/* ceil(quota/period) vCPUs; memory limit minus the VMM overhead. */
	CHECK(prepare("{" BASE ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":150000,"
		      "\"period\":100000},\"memory\":{\"limit\":536870912}}}}",
		      &l, &e) == 0);
	v = vm_launch_vmm_config(&l);
	CHECK(v->vcpus == 2 && v->memory_mib == 512 - VM_VMM_OVERHEAD_MIB);
	vm_launch_free(&l);
	/* quota -1 (no limit): one vCPU. */
	CHECK(prepare("{" BASE ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":-1,"
		      "\"period\":100000}}}}",
		      &l, &e) == 0);
	CHECK(vm_launch_vmm_config(&l)->vcpus == 1);
	vm_launch_free(&l);
	expect_error("{" BASE ",\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864}}}}",
		     "linux.resources.memory.limit", __LINE__);
	expect_error("{" BASE ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":10000000,"
		     "\"period\":100000}}}}",
		     "linux.resources.cpu", __LINE__);
	expect_error("{" BASE ",\"annotations\":{\"org.hyrun.vm.memory_mib\":\"32\"}}",
		     "org.hyrun.vm.memory_mib", __LINE__);
}

static void test_kernel(void)
{
	struct vm_launch l;
	struct hy_error e;
	char json[PATH_MAX + 256];
	snprintf(json, sizeof(json),
		 "{" BASE ",\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"annotations\":{"
		 "\"org.hyrun.vm.kernel\":\"%s/bzImage\",\"org.hyrun.vm.kernel_cmdline\":"
		 "\"loglevel=7 foo=bar\"}}",
		 dir);
	CHECK(prepare(json, &l, &e) == 0);
	const struct vmm_config *v = vm_launch_vmm_config(&l);
	CHECK_STR_CONTAINS(v->kernel, "/bzImage");
	CHECK_STR_CONTAINS(v->cmdline, "hyrun.share_ro=1");
	CHECK_STR_CONTAINS(v->cmdline, "loglevel=7 foo=bar");
	CHECK(v->shares[0].readonly && l.spec.root_readonly);
	vm_launch_free(&l);
	/* Relative to the bundle, and missing: the annotation is named. */
	expect_error("{" BASE ",\"annotations\":{\"org.hyrun.vm.kernel\":\"no-such-kernel\"}}",
		     "annotations.org.hyrun.vm.kernel", __LINE__);
	/* No kernel anywhere. */
	char saved[PATH_MAX + 16];
	snprintf(saved, sizeof(saved), "%s/vmlinux.off", dir);
	char cur[PATH_MAX + 16];
	snprintf(cur, sizeof(cur), "%s/vmlinux", dir);
	char bz[PATH_MAX + 16], bzoff[PATH_MAX + 16];
	snprintf(bz, sizeof(bz), "%s/bzImage", dir);
	snprintf(bzoff, sizeof(bzoff), "%s/bzImage.off", dir);
	CHECK(rename(cur, saved) == 0 && rename(bz, bzoff) == 0);
	expect_error("{" BASE "}", "no guest kernel", __LINE__);
	CHECK(rename(saved, cur) == 0 && rename(bzoff, bz) == 0);
}

static void test_mounts(void)
{
	struct vm_launch l;
	struct hy_error e;
	char json[8192];
	/* Two binds from data/ (one directory share), a file bind from etc/ (its parent shared,
	 * source TAG/basename), a relative bind source, pass-through proc and tmpfs. */
	snprintf(json, sizeof(json),
		 "{" BASE ",\"mounts\":["
		 "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		 "{\"destination\":\"/a\",\"type\":\"bind\",\"source\":\"%s/data\","
		 "\"options\":[\"rbind\",\"ro\"]},"
		 "{\"destination\":\"/b\",\"source\":\"%s/data\",\"options\":[\"bind\"]},"
		 "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"%s/etc/hosts\","
		 "\"options\":[\"bind\",\"ro\"]},"
		 "{\"destination\":\"/r\",\"type\":\"bind\",\"source\":\"data\",\"options\":"
		 "[\"ro\"]},"
		 "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":"
		 "[\"nosuid\",\"mode=755\"]}],"
		 "\"hostname\":\"vmhost\",\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],"
		 "\"maskedPaths\":[\"/proc/kcore\"],"
		 "\"readonlyPaths\":[\"/proc/sys\"],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}",
		 dir, dir, dir);
	if (prepare(json, &l, &e) != 0) {
		fprintf(stderr, "mounts: %s\n", e.msg);
		CHECK(0);
		return;
	}
	const struct vmm_config *v = vm_launch_vmm_config(&l);
	CHECK(v->n_shares == 4);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/data", dir);
	CHECK(!strcmp(v->shares[1].tag, "hyrun0") && !strcmp(v->shares[1].path, want));
	CHECK(!v->shares[1].readonly); /* /b binds it read-write */
	snprintf(want, sizeof(want), "%s/etc", dir);
	CHECK(!strcmp(v->shares[2].tag, "hyrun1") && !strcmp(v->shares[2].path, want));
	CHECK(v->shares[2].readonly);
	snprintf(want, sizeof(want), "%s/data", bundle);
	CHECK(!strcmp(v->shares[3].tag, "hyrun2") && !strcmp(v->shares[3].path, want));
	CHECK(l.spec.n_mounts == 6);
	const struct agent_mount *m = l.spec.mounts;
	CHECK(!strcmp(m[0].type, "proc") && !strcmp(m[0].dest, "/proc"));
	CHECK(!strcmp(m[1].type, "9p") && !strcmp(m[1].source, "hyrun0") &&
	      !strcmp(m[1].dest, "/a"));
	CHECK((m[1].flags & (MS_RDONLY | MS_BIND | MS_REC)) == (MS_RDONLY | MS_BIND | MS_REC));
	CHECK(!strcmp(m[2].source, "hyrun0") && !(m[2].flags & MS_RDONLY));
	CHECK(!strcmp(m[3].source, "hyrun1/hosts") && !strcmp(m[3].dest, "/etc/hosts"));
	CHECK(!strcmp(m[4].source, "hyrun2"));
	CHECK(!strcmp(m[5].type, "tmpfs") && m[5].data && !strcmp(m[5].data, "mode=755") &&
	      (m[5].flags & MS_NOSUID));
	CHECK(l.spec.hostname && !strcmp(l.spec.hostname, "vmhost"));
	CHECK(l.spec.masked.n == 1 && !strcmp(l.spec.masked.v[0], "/proc/kcore"));
	CHECK(l.spec.readonly.n == 1 && !strcmp(l.spec.readonly.v[0], "/proc/sys"));
	CHECK(l.spec.sysctls.n == 1 && !strcmp(l.spec.sysctls.v[0], "net.ipv4.ip_forward=1"));
	vm_launch_free(&l);

	expect_error("{" BASE ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"overlay\","
		     "\"source\":\"overlay\"}]}",
		     "mounts[0].type: \"overlay\"", __LINE__);
	expect_error("{" BASE ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\","
		     "\"source\":\"/no/such/dir\"}]}",
		     "mounts[0].source", __LINE__);
	/* Eight distinct directories: one more than the VM can share next to the root. */
	size_t o = (size_t)snprintf(json, sizeof(json), "{" BASE ",\"mounts\":[");
	for (int i = 0; i < 8; i++) {
		char d[PATH_MAX + 16];
		snprintf(d, sizeof(d), "%s/many%d", dir, i);
		mkdir(d, 0755);
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "%s{\"destination\":\"/m%d\",\"type\":\"bind\",\"source\":"
				      "\"%s\"}",
				      i ? "," : "", i, d);
	}
	snprintf(json + o, sizeof(json) - o, "]}");
	expect_error(json, "mounts[7]: more than 7 distinct bind-mount source directories",
		     __LINE__);
}

static void test_socket_path(void)
{
	char saved[PATH_MAX];
	snprintf(saved, sizeof(saved), "%s", state);
	snprintf(state, sizeof(state), "/run/hyrun/%0120d", 7);
	expect_error("{" BASE "}", "too long for a Unix socket", __LINE__);
	snprintf(state, sizeof(state), "%s", saved);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_vm_launch.XXXXXX");
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
	snprintf(p, sizeof(p), "%s/data", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/hosts", dir);
	touch(p);
	snprintf(p, sizeof(p), "%s/vmlinux", dir);
	touch(p);
	snprintf(p, sizeof(p), "%s/bzImage", dir);
	touch(p);
	snprintf(p, sizeof(p), "%s/initramfs.cpio", dir);
	touch(p);
	setenv("HYRUN_GUEST_DIR", dir, 1);

	test_defaults();
	test_sizes();
	test_kernel();
	test_mounts();
	test_socket_path();

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return UNIT_DONE();
}
