/* config.json parsing: valid configs, every validation message, isolation resolution, the
 * default spec, the example configs, and robustness against truncated input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/json.h"
#include "unit.h"

#define BASE "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}"
#define PROC(extra) "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"" extra "}"
#define LINUX(body) "\"linux\":{" body "}"

static struct hy_config *parse_ok(const char *json)
{
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	int rc = config_parse(json, strlen(json), "config.json", "/bundle", &c, &e);
	if (rc) {
		fprintf(stderr, "unexpected error: %s\n  for %s\n", e.msg, json);
		CHECK(rc == 0);
		return NULL;
	}
	CHECK(c != NULL);
	return c;
}

/* The parse must fail and the message must contain want (file and JSON path included). */
static void expect_error(const char *json, const char *want, int line)
{
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	int rc = config_parse(json, strlen(json), "config.json", "/bundle", &c, &e);
	if (rc == 0 || !strstr(e.msg, want)) {
		fprintf(stderr, "line %d: expected error containing \"%s\", got rc=%d \"%s\"\n", line,
			want, rc, e.msg);
		CHECK(0);
	} else {
		CHECK(rc < 0 && c == NULL && e.code > 0);
	}
	config_free(c);
}
#define EXPECT_ERROR(json, want) expect_error(json, want, __LINE__)

static void test_full_config(void)
{
	const char *json =
		"{" BASE ",\"hostname\":\"h1\",\"domainname\":\"d1\","
		"\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
		"\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,\"additionalGids\":[5,6]},"
		"\"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"A=1\",\"B=\"],\"cwd\":\"/tmp\","
		"\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":4096},"
		"{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615}],"
		"\"noNewPrivileges\":true,\"oomScoreAdj\":-500,\"apparmorProfile\":\"p\","
		"\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":4}},"
		"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/data\",\"source\":\"/srv\",\"options\":[\"rbind\",\"ro\"],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}],"
		"\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],\"timeout\":5}],"
		"\"poststop\":[{\"path\":\"/bin/echo\",\"env\":[\"X=1\"]}]},"
		"\"annotations\":{\"com.example\":\"v\"},"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"uts\"},{\"type\":\"mount\"},"
		"{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"user\"},{\"type\":\"time\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
		"\"timeOffsets\":{\"monotonic\":{\"secs\":-10,\"nanosecs\":5}},"
		"\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
		"\"fileMode\":438,\"uid\":0,\"gid\":0},{\"path\":\"/dev/fifo\",\"type\":\"p\"}],"
		"\"cgroupsPath\":\"/hyrun/x\",\"rootfsPropagation\":\"rslave\","
		"\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
		"\"mountLabel\":\"l\",\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
		"\"personality\":{\"domain\":\"LINUX32\"},"
		"\"resources\":{\"memory\":{\"limit\":1048576}}}}";
	struct hy_config *c = parse_ok(json);
	if (!c)
		return;
	CHECK(!strcmp(c->oci_version, "1.0.2"));
	CHECK(!strcmp(c->root_path, "/bundle/rootfs"));
	CHECK(!c->root_readonly);
	CHECK(!strcmp(c->hostname, "h1") && !strcmp(c->domainname, "d1"));
	struct hy_process *p = c->process;
	CHECK(p && p->terminal && p->has_console_size && p->console_height == 24 &&
	      p->console_width == 80);
	CHECK(p->user.uid == 1000 && p->user.gid == 100 && p->user.has_umask && p->user.umask == 18);
	CHECK(p->user.n_additional_gids == 2 && p->user.additional_gids[1] == 6);
	CHECK(p->args.n == 3 && !strcmp(p->args.v[2], "true") && p->args.v[3] == NULL);
	CHECK(p->env.n == 2 && !strcmp(p->env.v[1], "B="));
	CHECK(!strcmp(p->cwd, "/tmp"));
	CHECK(p->capabilities && p->capabilities->bounding.n == 1 &&
	      p->capabilities->permitted.n == 0);
	CHECK(p->n_rlimits == 2 && p->rlimits[0].resource == RLIMIT_NOFILE &&
	      p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 4096);
	CHECK(p->rlimits[1].resource == RLIMIT_CORE && p->rlimits[1].hard == UINT64_MAX);
	CHECK(p->no_new_privileges && p->has_oom_score_adj && p->oom_score_adj == -500);
	CHECK(p->has_io_priority && p->io_priority_class == 2 && p->io_priority == 4);
	CHECK(c->n_mounts == 2 && !strcmp(c->mounts[0].destination, "/proc") &&
	      c->mounts[1].type == NULL && c->mounts[1].options.n == 2 &&
	      c->mounts[1].n_uid_mappings == 1 && c->mounts[1].uid_mappings[0].host_id == 1000);
	CHECK(c->hooks[HY_HOOK_PRESTART].n == 1 && c->hooks[HY_HOOK_PRESTART].v[0].has_timeout &&
	      c->hooks[HY_HOOK_PRESTART].v[0].timeout == 5);
	CHECK(c->hooks[HY_HOOK_POSTSTOP].n == 1 && !c->hooks[HY_HOOK_POSTSTOP].v[0].has_timeout &&
	      c->hooks[HY_HOOK_POSTSTOP].v[0].env.n == 1);
	CHECK(c->hooks[HY_HOOK_CREATE_RUNTIME].n == 0);
	CHECK(!strcmp(config_annotation(c, "com.example"), "v"));
	CHECK(config_annotation(c, "missing") == NULL);
	CHECK(c->isolation == HY_ISOLATION_UNSET);
	struct hy_linux *l = &c->linux_;
	CHECK(c->has_linux && l->namespaces[HY_NS_PID].present && !l->namespaces[HY_NS_IPC].present);
	CHECK(!strcmp(l->namespaces[HY_NS_NETWORK].path, "/proc/1/ns/net"));
	CHECK(l->n_uid_mappings == 1 && l->uid_mappings[0].size == 65536);
	CHECK(l->n_time_offsets == 1 && l->time_offsets[0].secs == -10 &&
	      l->time_offsets[0].nanosecs == 5);
	CHECK(l->n_devices == 2 && l->devices[0].type == 'c' && l->devices[0].major == 10 &&
	      l->devices[0].minor == 229 && l->devices[0].has_file_mode &&
	      l->devices[0].file_mode == 438 && l->devices[1].type == 'p');
	CHECK(!strcmp(l->cgroups_path, "/hyrun/x") && !strcmp(l->rootfs_propagation, "rslave"));
	CHECK(l->masked_paths.n == 1 && l->readonly_paths.n == 1);
	CHECK(l->n_sysctl == 1 && !strcmp(l->sysctl[0].value, "1"));
	CHECK(l->has_personality && l->personality == 8 /* PER_LINUX32 */);
	CHECK(l->resources != NULL);
	config_free(c);
}

static void test_minimal_and_nulls(void)
{
	/* process is optional for create; null means absent (Go writes it for empty fields). */
	struct hy_config *c = parse_ok("{" BASE ",\"hostname\":null,\"mounts\":null}");
	if (c) {
		CHECK(c->process == NULL && c->hostname == NULL && c->n_mounts == 0 && !c->has_linux);
		config_free(c);
	}
	/* an absolute root.path stays as written; no bundle: relative stays relative */
	struct hy_error e = {0};
	const char *j = "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"/abs/root\",\"readonly\":true}}";
	CHECK(config_parse(j, strlen(j), "config.json", "/b", &c, &e) == 0);
	if (c) {
		CHECK(!strcmp(c->root_path, "/abs/root") && c->root_readonly);
		config_free(c);
	}
	j = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"}}";
	c = NULL;
	CHECK(config_parse(j, strlen(j), "config.json", NULL, &c, &e) == 0);
	if (c) {
		CHECK(!strcmp(c->root_path, "rootfs"));
		config_free(c);
	}
}

static void test_errors_top(void)
{
	EXPECT_ERROR("{", "config.json: invalid JSON");
	EXPECT_ERROR("", "config.json: invalid JSON");
	EXPECT_ERROR("[]", "config.json: (root): expected object");
	EXPECT_ERROR("{\"root\":{\"path\":\"r\"}}", "config.json: ociVersion: required");
	EXPECT_ERROR("{\"ociVersion\":1,\"root\":{\"path\":\"r\"}}",
		     "config.json: ociVersion: expected string");
	EXPECT_ERROR("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}",
		     "config.json: ociVersion: unsupported version \"2.0.0\"");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\"}", "config.json: root: required");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":\"r\"}", "config.json: root: expected object");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{}}", "config.json: root.path: required");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"\"}}",
		     "config.json: root.path: required");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\",\"readonly\":\"yes\"}}",
		     "config.json: root.readonly: expected boolean");
	EXPECT_ERROR("{" BASE ",\"hostname\":7}", "config.json: hostname: expected string");
	EXPECT_ERROR("{" BASE ",\"hostname\":\"h\"}",
		     "config.json: hostname: requires a uts namespace");
	EXPECT_ERROR("{" BASE ",\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		     "config.json: hostname: longer than 64 bytes");
	EXPECT_ERROR("{" BASE ",\"annotations\":[]}", "config.json: annotations: expected object");
	EXPECT_ERROR("{" BASE ",\"annotations\":{\"a\":1}}", "config.json: annotations.a: expected string");
	/* an embedded NUL would truncate the document silently */
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	const char nul[] = "{\"ociVersion\":\"1.0.2\"\0}";
	CHECK(config_parse(nul, sizeof(nul) - 1, "config.json", NULL, &c, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "NUL byte");
}

static void test_errors_process(void)
{
	EXPECT_ERROR("{" BASE ",\"process\":[]}", "config.json: process: expected object");
	EXPECT_ERROR("{" BASE ",\"process\":{\"cwd\":\"/\"}}",
		     "config.json: process.args: must contain at least one element");
	EXPECT_ERROR("{" BASE ",\"process\":{\"args\":[],\"cwd\":\"/\"}}",
		     "config.json: process.args: must contain at least one element");
	EXPECT_ERROR("{" BASE ",\"process\":{\"args\":\"sh\",\"cwd\":\"/\"}}",
		     "config.json: process.args: expected array of strings");
	EXPECT_ERROR("{" BASE ",\"process\":{\"args\":[\"sh\",1],\"cwd\":\"/\"}}",
		     "config.json: process.args[1]: expected string");
	EXPECT_ERROR("{" BASE ",\"process\":{\"args\":[\"\"],\"cwd\":\"/\"}}",
		     "config.json: process.args[0]: must not be empty");
	EXPECT_ERROR("{" BASE ",\"process\":{\"args\":[\"sh\"]}}", "config.json: process.cwd: required");
	EXPECT_ERROR("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"tmp\"}}",
		     "config.json: process.cwd: must be an absolute path, got \"tmp\"");
	EXPECT_ERROR("{" BASE "," PROC(",\"terminal\":1") "}",
		     "config.json: process.terminal: expected boolean");
	EXPECT_ERROR("{" BASE "," PROC(",\"env\":[\"NOEQ\"]") "}",
		     "config.json: process.env[0]: expected KEY=VALUE");
	EXPECT_ERROR("{" BASE "," PROC(",\"env\":[\"=x\"]") "}",
		     "config.json: process.env[0]: expected KEY=VALUE");
	EXPECT_ERROR("{" BASE "," PROC(",\"user\":{\"uid\":-1}") "}",
		     "config.json: process.user.uid: expected integer between 0 and 4294967294");
	EXPECT_ERROR("{" BASE "," PROC(",\"user\":{\"uid\":\"0\"}") "}",
		     "config.json: process.user.uid: expected integer");
	EXPECT_ERROR("{" BASE "," PROC(",\"user\":{\"gid\":4294967295}") "}",
		     "config.json: process.user.gid: expected integer between 0 and 4294967294");
	EXPECT_ERROR("{" BASE "," PROC(",\"user\":{\"umask\":512}") "}",
		     "config.json: process.user.umask: expected integer between 0 and 511");
	EXPECT_ERROR("{" BASE "," PROC(",\"user\":{\"additionalGids\":[1,-2]}") "}",
		     "config.json: process.user.additionalGids[1]: expected integer");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":{}") "}",
		     "config.json: process.rlimits: expected array");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]") "}",
		     "config.json: process.rlimits[0]: type: unknown rlimit \"RLIMIT_FOO\"");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":[{\"soft\":1,\"hard\":1}]") "}",
		     "config.json: process.rlimits[0]: type: required");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]") "}",
		     "config.json: process.rlimits[0]: soft limit 10 exceeds hard limit 5");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":5}]") "}",
		     "config.json: process.rlimits[0]: soft and hard are required");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1.5,\"hard\":5}]") "}",
		     "config.json: process.rlimits[0].soft: expected integer");
	EXPECT_ERROR("{" BASE "," PROC(",\"rlimits\":[{\"type\":\"RLIMIT_NPROC\",\"soft\":1,\"hard\":1},"
				       "{\"type\":\"RLIMIT_NPROC\",\"soft\":1,\"hard\":1}]") "}",
		     "config.json: process.rlimits[1]: type: RLIMIT_NPROC given twice");
	EXPECT_ERROR("{" BASE "," PROC(",\"oomScoreAdj\":1001") "}",
		     "config.json: process.oomScoreAdj: expected integer between -1000 and 1000");
	EXPECT_ERROR("{" BASE "," PROC(",\"consoleSize\":{\"height\":1}") "}",
		     "config.json: process.consoleSize: height and width are required");
	EXPECT_ERROR("{" BASE "," PROC(",\"ioPriority\":{\"class\":\"X\"}") "}",
		     "config.json: process.ioPriority: class: expected IOPRIO_CLASS_RT");
	EXPECT_ERROR("{" BASE "," PROC(",\"capabilities\":{\"bounding\":\"CAP_KILL\"}") "}",
		     "config.json: process.capabilities.bounding: expected array of strings");
	EXPECT_ERROR("{" BASE "," PROC(",\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}") "}",
		     "CAP_NOPE");
}

static void test_errors_mounts_hooks(void)
{
	EXPECT_ERROR("{" BASE ",\"mounts\":{}}", "config.json: mounts: expected array");
	EXPECT_ERROR("{" BASE ",\"mounts\":[1]}", "config.json: mounts[0]: expected object");
	EXPECT_ERROR("{" BASE ",\"mounts\":[{\"type\":\"tmpfs\"}]}",
		     "config.json: mounts[0].destination: required");
	EXPECT_ERROR("{" BASE ",\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"rel\"}]}",
		     "config.json: mounts[1].destination: must be an absolute path, got \"rel\"");
	EXPECT_ERROR("{" BASE ",\"mounts\":[{\"destination\":\"/a\",\"options\":\"ro\"}]}",
		     "config.json: mounts[0].options: expected array of strings");
	EXPECT_ERROR("{" BASE ",\"mounts\":[{\"destination\":\"/a\",\"uidMappings\":"
		     "[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]}",
		     "config.json: mounts[0]: uidMappings and gidMappings must be given together");
	EXPECT_ERROR("{" BASE ",\"hooks\":[]}", "config.json: hooks: expected object");
	EXPECT_ERROR("{" BASE ",\"hooks\":{\"prestart\":{}}}",
		     "config.json: hooks.prestart: expected array");
	EXPECT_ERROR("{" BASE ",\"hooks\":{\"createRuntime\":[{\"args\":[]}]}}",
		     "config.json: hooks.createRuntime[0].path: required");
	EXPECT_ERROR("{" BASE ",\"hooks\":{\"poststart\":[{\"path\":\"/a\"},{\"path\":\"bin/x\"}]}}",
		     "config.json: hooks.poststart[1].path: must be an absolute path, got \"bin/x\"");
	EXPECT_ERROR("{" BASE ",\"hooks\":{\"poststop\":[{\"path\":\"/a\",\"timeout\":0}]}}",
		     "config.json: hooks.poststop[0].timeout: must be greater than zero");
	EXPECT_ERROR("{" BASE ",\"hooks\":{\"startContainer\":[{\"path\":\"/a\",\"timeout\":\"5\"}]}}",
		     "config.json: hooks.startContainer[0].timeout: expected integer");
	EXPECT_ERROR("{" BASE ",\"hooks\":{\"createContainer\":[{\"path\":\"/a\",\"env\":[3]}]}}",
		     "config.json: hooks.createContainer[0].env[0]: expected string");
}

static void test_errors_linux(void)
{
	EXPECT_ERROR("{" BASE ",\"linux\":[]}", "config.json: linux: expected object");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":{}") "}",
		     "config.json: linux.namespaces: expected array");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"foo\"}]") "}",
		     "config.json: linux.namespaces[1]: type: unknown namespace type \"foo\"");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"ipc\"},{\"type\":\"ipc\"}]") "}",
		     "config.json: linux.namespaces[1]: type: namespace \"ipc\" given twice");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{}]") "}",
		     "config.json: linux.namespaces[0]: type: required");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"net\"}]") "}",
		     "unknown namespace type \"net\"");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"network\",\"path\":\"ns\"}]") "}",
		     "config.json: linux.namespaces[0]: path: must be an absolute path");
	EXPECT_ERROR("{" BASE "," LINUX("\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}],"
					"\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]") "}",
		     "config.json: linux.uidMappings: id mappings require a user namespace");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"user\"}]") "}",
		     "config.json: linux.namespaces: a new user namespace requires linux.uidMappings");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"user\"}],"
					"\"uidMappings\":[{\"containerID\":0,\"hostID\":1}]") "}",
		     "config.json: linux.uidMappings[0]: containerID, hostID and size are required");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"user\"}],"
					"\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}]") "}",
		     "config.json: linux.uidMappings[0]: size: must be greater than 0");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"user\"}],"
					"\"uidMappings\":[{\"containerID\":4294967295,\"hostID\":1,\"size\":1}]") "}",
		     "config.json: linux.uidMappings[0]: id range exceeds");
	EXPECT_ERROR("{" BASE "," LINUX("\"timeOffsets\":{\"monotonic\":{\"secs\":1}}") "}",
		     "config.json: linux.timeOffsets: requires a time namespace");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"time\"}],"
					"\"timeOffsets\":{\"realtime\":{\"secs\":1}}") "}",
		     "config.json: linux.timeOffsets.realtime: unknown clock");
	EXPECT_ERROR("{" BASE "," LINUX("\"namespaces\":[{\"type\":\"time\"}],"
					"\"timeOffsets\":{\"boottime\":{\"nanosecs\":1000000000}}") "}",
		     "config.json: linux.timeOffsets.boottime.nanosecs: expected integer between 0 and 999999999");
	EXPECT_ERROR("{" BASE "," LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"x\",\"major\":1,\"minor\":1}]") "}",
		     "config.json: linux.devices[0]: type: expected \"c\", \"b\", \"u\" or \"p\", got \"x\"");
	EXPECT_ERROR("{" BASE "," LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1}]") "}",
		     "config.json: linux.devices[0]: major and minor are required for type \"c\"");
	EXPECT_ERROR("{" BASE "," LINUX("\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]") "}",
		     "config.json: linux.devices[0]: path: must be an absolute path");
	EXPECT_ERROR("{" BASE "," LINUX("\"devices\":[{\"type\":\"c\",\"major\":1,\"minor\":1}]") "}",
		     "config.json: linux.devices[0]: path: required");
	EXPECT_ERROR("{" BASE "," LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"b\",\"major\":-1,\"minor\":1}]") "}",
		     "config.json: linux.devices[0].major: expected integer between 0 and 4294967295");
	EXPECT_ERROR("{" BASE "," LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"fileMode\":65535}]") "}",
		     "config.json: linux.devices[0].fileMode: expected integer between 0 and 4095");
	EXPECT_ERROR("{" BASE "," LINUX("\"rootfsPropagation\":\"sideways\"") "}",
		     "config.json: linux.rootfsPropagation: unknown propagation \"sideways\"");
	EXPECT_ERROR("{" BASE "," LINUX("\"maskedPaths\":[\"/ok\",\"proc/kcore\"]") "}",
		     "config.json: linux.maskedPaths[1]: must be an absolute path");
	EXPECT_ERROR("{" BASE "," LINUX("\"readonlyPaths\":\"/proc\"") "}",
		     "config.json: linux.readonlyPaths: expected array of strings");
	EXPECT_ERROR("{" BASE "," LINUX("\"sysctl\":{\"kernel.x\":1}") "}",
		     "config.json: linux.sysctl.kernel.x: expected string");
	EXPECT_ERROR("{" BASE "," LINUX("\"personality\":{\"domain\":\"BSD\"}") "}",
		     "config.json: linux.personality.domain: expected \"LINUX\" or \"LINUX32\"");
	EXPECT_ERROR("{" BASE "," LINUX("\"cgroupsPath\":5") "}",
		     "config.json: linux.cgroupsPath: expected string");
	EXPECT_ERROR("{" BASE "," LINUX("\"resources\":{\"memory\":{\"limit\":\"1G\"}}") "}",
		     "config.json: linux.resources.memory.limit: expected integer");
	EXPECT_ERROR("{" BASE "," LINUX("\"resources\":[]") "}",
		     "config.json: linux.resources: expected object");
	EXPECT_ERROR("{" BASE "," LINUX("\"seccomp\":{\"defaultAction\":5}") "}",
		     "config.json: linux.seccomp.defaultAction");
}

static struct hy_config *with_annotations(const char *ann, struct hy_error *e)
{
	char json[2048];
	snprintf(json, sizeof(json), "{" BASE ",\"annotations\":{%s}}", ann);
	struct hy_config *c = NULL;
	hy_error_clear(e);
	if (config_parse(json, strlen(json), "config.json", "/bundle", &c, e))
		return NULL;
	return c;
}

static void test_isolation(void)
{
	struct hy_error e;
	struct hy_config *c = with_annotations("", &e);
	CHECK(c && c->isolation == HY_ISOLATION_UNSET);
	config_free(c);
	c = with_annotations("\"org.hyrun.isolation\":\"vm\"", &e);
	CHECK(c && c->isolation == HY_ISOLATION_VM);
	config_free(c);
	c = with_annotations("\"org.hyrun.isolation\":\"container\"", &e);
	CHECK(c && c->isolation == HY_ISOLATION_CONTAINER);
	config_free(c);
	/* crun's krun handler means vm, unless org.hyrun.isolation says otherwise (first wins) */
	c = with_annotations("\"run.oci.handler\":\"krun\"", &e);
	CHECK(c && c->isolation == HY_ISOLATION_VM);
	config_free(c);
	c = with_annotations("\"run.oci.handler\":\"krun\",\"org.hyrun.isolation\":\"container\"", &e);
	CHECK(c && c->isolation == HY_ISOLATION_CONTAINER);
	config_free(c);
	c = with_annotations("\"run.oci.handler\":\"wasm\"", &e);
	CHECK(c && c->isolation == HY_ISOLATION_UNSET);
	config_free(c);
	c = with_annotations("\"org.hyrun.isolation\":\"kvm\"", &e);
	CHECK(c == NULL);
	CHECK_STR_CONTAINS(e.msg, "config.json: annotations.org.hyrun.isolation: expected \"container\" or \"vm\", got \"kvm\"");
	c = with_annotations("\"org.hyrun.vm.vcpu\":\"2\"", &e);
	CHECK(c == NULL);
	CHECK_STR_CONTAINS(e.msg, "config.json: annotations.org.hyrun.vm.vcpu: unknown hyrun annotation");
	c = with_annotations("\"org.hyrun.isolation\":\"vm\",\"org.hyrun.vm.vcpus\":\"4\","
			     "\"org.hyrun.vm.memory_mib\":\"512\",\"org.hyrun.vm.kernel\":\"k/vmlinux\","
			     "\"org.hyrun.vm.kernel_cmdline\":\"quiet\"",
			     &e);
	CHECK(c && c->vm.vcpus == 4 && c->vm.memory_mib == 512);
	CHECK(c && !strcmp(c->vm.kernel, "/bundle/k/vmlinux") && !strcmp(c->vm.kernel_cmdline, "quiet"));
	config_free(c);
	c = with_annotations("\"org.hyrun.vm.kernel\":\"/boot/vmlinux\"", &e);
	CHECK(c && !strcmp(c->vm.kernel, "/boot/vmlinux") && c->vm.vcpus == 0 && c->vm.memory_mib == 0);
	config_free(c);
	const char *bad[] = {"\"org.hyrun.vm.vcpus\":\"0\"", "\"org.hyrun.vm.vcpus\":\"256\"",
			     "\"org.hyrun.vm.vcpus\":\"-1\"", "\"org.hyrun.vm.vcpus\":\"2x\"",
			     "\"org.hyrun.vm.memory_mib\":\"\"",
			     "\"org.hyrun.vm.memory_mib\":\"99999999999999999999999\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = with_annotations(bad[i], &e);
		CHECK(c == NULL);
		CHECK_STR_CONTAINS(e.msg, "expected integer between 1 and");
	}
	c = with_annotations("\"org.hyrun.vm.kernel\":\"\"", &e);
	CHECK(c == NULL);
	CHECK_STR_CONTAINS(e.msg, "annotations.org.hyrun.vm.kernel: expected a path");
}

static void test_default_spec(void)
{
	for (int rootless = 0; rootless < 2; rootless++) {
		struct hy_error e = {0};
		char *s = config_default_spec_json(rootless, &e);
		CHECK(s != NULL);
		if (!s)
			continue;
		struct hy_config *c = NULL;
		CHECK(config_parse(s, strlen(s), "config.json", "/b", &c, &e) == 0);
		if (c) {
			CHECK(!strcmp(c->process->args.v[0], "sh") && c->process->terminal);
			CHECK(!strcmp(c->root_path, "/b/rootfs") && c->root_readonly);
			CHECK(c->linux_.namespaces[HY_NS_MOUNT].present);
			CHECK(c->linux_.namespaces[HY_NS_USER].present == (rootless == 1));
			CHECK(c->linux_.namespaces[HY_NS_NETWORK].present == (rootless == 0));
			if (rootless) {
				CHECK(c->linux_.n_uid_mappings == 1 &&
				      c->linux_.uid_mappings[0].host_id == getuid() &&
				      c->linux_.uid_mappings[0].container_id == 0);
				CHECK(c->linux_.n_gid_mappings == 1 &&
				      c->linux_.gid_mappings[0].host_id == getgid());
			}
			CHECK(c->linux_.masked_paths.n > 0 && c->n_mounts >= 5);
			config_free(c);
		}
		free(s);
	}
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

static void test_load_and_process_file(void)
{
	char dir[] = "/tmp/hyrun-test-config.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256];
	struct hy_config *c = NULL;
	struct hy_error e = {0};
	CHECK(config_load(dir, &c, &e) == -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "config.json: not found in bundle");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	write_file(path, "{" BASE "," PROC("") "}");
	CHECK(config_load(dir, &c, &e) == 0);
	if (c) {
		char want[300];
		snprintf(want, sizeof(want), "%s/rootfs", dir);
		CHECK(!strcmp(c->root_path, want) && !strcmp(c->bundle, dir));
		config_free(c);
	}
	write_file(path, "{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"terminal\":\"no\"}}");
	c = NULL;
	CHECK(config_load(dir, &c, &e) < 0 && c == NULL);
	CHECK_STR_CONTAINS(e.msg, "config.json: process.terminal: expected boolean");
	CHECK(config_load("/nonexistent-hyrun-bundle", &c, &e) == -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "/nonexistent-hyrun-bundle");

	snprintf(path, sizeof(path), "%s/process.json", dir);
	write_file(path, "{\"args\":[\"ls\",\"-l\"],\"cwd\":\"/tmp\",\"env\":[\"A=b\"],\"terminal\":true}");
	struct hy_process *p = NULL;
	CHECK(config_parse_process_file(path, &p, &e) == 0);
	if (p) {
		CHECK(p->args.n == 2 && !strcmp(p->cwd, "/tmp") && p->terminal && p->env.n == 1);
		config_process_free(p);
	}
	write_file(path, "{\"args\":[\"ls\"],\"cwd\":\"rel\"}");
	p = NULL;
	CHECK(config_parse_process_file(path, &p, &e) < 0 && p == NULL);
	CHECK_STR_CONTAINS(e.msg, "process.json: cwd: must be an absolute path");
	write_file(path, "{\"args\":[],\"cwd\":\"/\"}");
	CHECK(config_parse_process_file(path, &p, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "process.json: args: must contain at least one element");
	write_file(path, "[1]");
	CHECK(config_parse_process_file(path, &p, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "process.json: (root): expected object");
	unlink(path);
	CHECK(config_parse_process_file(path, &p, &e) == -ENOENT);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	unlink(path);
	rmdir(dir);
}

/* The example configs in configs/ are valid for this parser. */
static void test_example_configs(void)
{
	const char *names[] = {"docker-style.json", "system-container.json", "vm.json"};
	for (size_t i = 0; i < 3; i++) {
		char path[256];
		snprintf(path, sizeof(path), "configs/%s", names[i]);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		if (!f) {
			fprintf(stderr, "cannot open %s (run from the project root)\n", path);
			continue;
		}
		char *buf = NULL;
		size_t cap = 0;
		ssize_t len = getdelim(&buf, &cap, '\0', f);
		fclose(f);
		struct hy_config *c = NULL;
		struct hy_error e = {0};
		int rc = config_parse(buf, len > 0 ? (size_t)len : 0, names[i], "/b", &c, &e);
		if (rc)
			fprintf(stderr, "%s: %s\n", path, e.msg);
		CHECK(rc == 0);
		if (c && !strcmp(names[i], "vm.json"))
			CHECK(c->isolation == HY_ISOLATION_VM);
		if (c && strcmp(names[i], "vm.json"))
			CHECK(c->isolation != HY_ISOLATION_VM);
		config_free(c);
		free(buf);
	}
}

static void test_json_getters(void)
{
	yajl_val v = NULL;
	struct hy_error e = {0};
	const char *j = "{\"big\":18446744073709551615,\"over\":18446744073709551616,"
			"\"neg\":-1,\"frac\":1.5,\"exp\":1e3,\"i\":-42,\"s\":\"x\",\"n\":null}";
	CHECK(json_parse_buf(j, strlen(j), "t.json", &v, &e) == 0);
	uint64_t u = 0;
	int64_t i = 0;
	bool present = true;
	CHECK(json_get_u64(v, "big", "t.json", "", UINT64_MAX, &u, &present, &e) == 0 &&
	      u == UINT64_MAX && present);
	CHECK(json_get_u64(v, "over", "t.json", "", UINT64_MAX, &u, NULL, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "t.json: over: expected integer between 0 and");
	CHECK(json_get_u64(v, "neg", "t.json", "a.b", 10, &u, NULL, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "t.json: a.b.neg: expected integer between 0 and 10");
	CHECK(json_get_u64(v, "frac", "t.json", "", 10, &u, NULL, &e) < 0);
	CHECK(json_get_i64(v, "exp", "t.json", "", &i, NULL, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "t.json: exp: expected integer");
	CHECK(json_get_i64(v, "i", "t.json", "", &i, &present, &e) == 0 && i == -42 && present);
	CHECK(json_get_i64(v, "s", "t.json", "", &i, NULL, &e) < 0);
	/* absent and null keys leave *out alone and report not present */
	u = 7;
	CHECK(json_get_u64(v, "n", "t.json", "", 10, &u, &present, &e) == 0 && u == 7 && !present);
	CHECK(json_get_u64(v, "zz", "t.json", "", 10, &u, &present, &e) == 0 && u == 7 && !present);
	char *s = NULL;
	CHECK(json_get_string(v, "i", "t.json", "p", &s, &e) < 0 && s == NULL);
	CHECK_STR_CONTAINS(e.msg, "t.json: p.i: expected string");
	char *k = json_path_key("linux", "seccomp"), *x = json_path_index("mounts", 3);
	CHECK(k && !strcmp(k, "linux.seccomp") && x && !strcmp(x, "mounts[3]"));
	free(k);
	free(x);
	yajl_tree_free(v);
	/* Nesting deep enough to overflow yajl's recursion is refused up front; brackets inside
	 * strings do not count. */
	char deep[1200];
	size_t k2 = 0;
	for (int d = 0; d < 129; d++)
		deep[k2++] = '[';
	for (int d = 0; d < 129; d++)
		deep[k2++] = ']';
	CHECK(json_parse_buf(deep, k2, "deep.json", &v, &e) == -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "deep.json: invalid JSON: nested deeper than 128 levels");
	CHECK(json_parse_buf(deep + 1, k2 - 2, "deep.json", &v, &e) == 0);
	yajl_tree_free(v);
	const char *brackets = "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"]";
	CHECK(json_parse_buf(brackets, strlen(brackets), "s.json", &v, &e) == 0);
	yajl_tree_free(v);
	CHECK(json_parse_file("/nonexistent-hyrun.json", "n.json", &v, &e) == -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "n.json: open /nonexistent-hyrun.json");
	CHECK(json_parse_file("/tmp", "d.json", &v, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "d.json: not a regular file");
}

/* Every prefix of a valid config is either an error or a valid config: no crash, no leak
 * (ASan), and every error names the file. */
static void test_truncations(void)
{
	char *s = config_default_spec_json(false, NULL);
	CHECK(s != NULL);
	if (!s)
		return;
	size_t len = strlen(s);
	int errors = 0;
	for (size_t cut = 0; cut < len; cut += 7) {
		struct hy_config *c = NULL;
		struct hy_error e = {0};
		if (config_parse(s, cut, "config.json", "/b", &c, &e) < 0) {
			errors++;
			if (strncmp(e.msg, "config.json: ", 13))
				CHECK(0);
		}
		config_free(c);
	}
	CHECK(errors > 0);
	free(s);
}

int main(void)
{
	test_full_config();
	test_minimal_and_nulls();
	test_errors_top();
	test_errors_process();
	test_errors_mounts_hooks();
	test_errors_linux();
	test_isolation();
	test_default_spec();
	test_load_and_process_file();
	test_example_configs();
	test_json_getters();
	test_truncations();
	return UNIT_DONE();
}
