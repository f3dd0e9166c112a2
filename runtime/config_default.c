/* The default config.json written by `hyrun spec`: the same container `crun spec` / `runc spec`
 * describe (sh on a terminal, the usual namespaces, mounts, masked paths), plus hyrun's default
 * seccomp profile. The rootless variant maps the calling user to root in a user namespace and
 * drops what an unprivileged user cannot set up (network namespace, sysfs, cgroup mount). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "runtime/config_internal.h"
#include "runtime/seccomp.h"


static const char spec_head[] =
	"{\"ociVersion\":\"1.0.2\","
	"\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"\"TERM=xterm\"],\"cwd\":\"/\","
	"\"capabilities\":{"
	"\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
	"\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"hyrun\","
	"\"mounts\":["
	"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},";

static const char devpts_root[] =
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\","
	"\"gid=5\"]},";
/* gid 5 (tty) does not exist in a user namespace mapping only the caller. */
static const char devpts_rootless[] =
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\"]},";

static const char shm_mqueue[] =
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},";

static const char sys_root[] =
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
	"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],";
/* sysfs cannot be mounted without owning the network namespace: bind the host's instead. */
static const char sys_rootless[] =
	"{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
	"\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}],";

static const char linux_paths[] =
	"\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
	"\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
	"\"/sys/firmware\",\"/proc/scsi\"],"
	"\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
	"\"/proc/sysrq-trigger\"]";

static char *build_compact(bool rootless)
{
	char *s = NULL;
	int n;
	if (rootless) {
		unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
		n = asprintf(&s,
			     "%s%s%s%s\"linux\":{"
			     "\"uidMappings\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}],"
			     "\"gidMappings\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}],"
			     "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
			     "{\"type\":\"mount\"},{\"type\":\"cgroup\"},{\"type\":\"user\"}],%s}}",
			     spec_head, devpts_rootless, shm_mqueue, sys_rootless, uid, gid,
			     linux_paths);
	} else {
		n = asprintf(&s,
			     "%s%s%s%s\"linux\":{"
			     "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
			     "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
			     "{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],%s}}",
			     spec_head, devpts_root, shm_mqueue, sys_root, linux_paths);
	}
	return n < 0 ? NULL : s;
}

/* Emits root with linux.seccomp (when a profile exists) added at the end of "linux". */
static int gen_spec(yajl_gen g, yajl_val root, yajl_val seccomp)
{
	if (yajl_gen_map_open(g) != yajl_gen_status_ok)
		return -EINVAL;
	for (size_t i = 0; i < root->u.object.len; i++) {
		const char *k = root->u.object.keys[i];
		yajl_val v = root->u.object.values[i];
		if (yajl_gen_string(g, (const unsigned char *)k, strlen(k)) != yajl_gen_status_ok)
			return -EINVAL;
		if (strcmp(k, "linux") || !seccomp) {
			if (json_gen_tree(g, v))
				return -EINVAL;
			continue;
		}
		if (yajl_gen_map_open(g) != yajl_gen_status_ok)
			return -EINVAL;
		for (size_t j = 0; j < v->u.object.len; j++) {
			const char *lk = v->u.object.keys[j];
			if (yajl_gen_string(g, (const unsigned char *)lk, strlen(lk)) !=
				    yajl_gen_status_ok ||
			    json_gen_tree(g, v->u.object.values[j]))
				return -EINVAL;
		}
		if (yajl_gen_string(g, (const unsigned char *)"seccomp", 7) != yajl_gen_status_ok ||
		    json_gen_tree(g, seccomp) || yajl_gen_map_close(g) != yajl_gen_status_ok)
			return -EINVAL;
	}
	return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -EINVAL;
}

char *config_default_spec_json(bool rootless, struct hy_error *err)
{
	char *compact = build_compact(rootless);
	if (!compact) {
		hy_error_set(err, ENOMEM, "spec: out of memory");
		return NULL;
	}
	yajl_val root = NULL, seccomp = NULL;
	int rc = json_parse_buf(compact, strlen(compact), "default spec", &root, err);
	free(compact);
	if (rc)
		return NULL;
	const char *profile = seccomp_default_profile_json();
	if (profile &&
	    json_parse_buf(profile, strlen(profile), "default seccomp profile", &seccomp, err)) {
		yajl_tree_free(root);
		return NULL;
	}
	char *out = NULL;
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, "\t");
		if (!gen_spec(g, root, seccomp)) {
			const unsigned char *buf;
			size_t len;
			yajl_gen_get_buf(g, &buf, &len);
			out = strndup((const char *)buf, len);
		}
		yajl_gen_free(g);
	}
	yajl_tree_free(root);
	yajl_tree_free(seccomp);
	if (!out)
		hy_error_set(err, ENOMEM, "spec: cannot generate the default config");
	return out;
}
