/* hyrun features: the OCI "features" document (runtime-spec features.md) describing what
 * this build supports, for callers that adapt their configs (containerd, podman). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <yajl/yajl_gen.h>

#include "cli/cli.h"

static const char usage[] = "usage: hyrun features\n\n"
			    "Prints the OCI features JSON of this runtime.\n\n"
			    "options:\n"
			    "  -h, --help   show this help\n";

static const char *const hook_names[] = {"prestart",	    "createRuntime", "createContainer",
					 "startContainer", "poststart",	     "poststop"};

static const char *const mount_options[] = {
	"async",       "atime",	     "bind",	     "defaults",    "dev",	  "diratime",
	"dirsync",     "exec",	     "iversion",     "lazytime",    "loud",	  "mand",
	"noatime",     "nodev",	     "nodiratime",   "noexec",	    "noiversion", "nolazytime",
	"nomand",      "norelatime", "nostrictatime", "nosuid",	    "nosymfollow", "private",
	"rbind",       "relatime",   "remount",	     "ro",	    "rprivate",	  "rshared",
	"rslave",      "runbindable", "rw",	     "shared",	    "silent",	  "slave",
	"strictatime", "suid",	     "symfollow",    "sync",	    "unbindable",
};

static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network",
					 "pid",	   "time", "user",  "uts"};

static const char *const seccomp_actions[] = {
	"SCMP_ACT_ALLOW",	 "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",	  "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
	"SCMP_ACT_TRAP",
};

static const char *const seccomp_operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
						"SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
						"SCMP_CMP_NE"};

static const char *const seccomp_archs[] = {
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",	  "SCMP_ARCH_MIPS",	"SCMP_ARCH_MIPS64",
	"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PPC",     "SCMP_ARCH_PPC64",	  "SCMP_ARCH_PPC64LE",	"SCMP_ARCH_RISCV64",
	"SCMP_ARCH_S390",    "SCMP_ARCH_S390X",	  "SCMP_ARCH_X32",	"SCMP_ARCH_X86",
	"SCMP_ARCH_X86_64",
};

static const char *const seccomp_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC",
					    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					    "SECCOMP_FILTER_FLAG_LOG"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void str_array(yajl_gen g, const char *key, const char *const *v, size_t n)
{
	str(g, key);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		str(g, v[i]);
	yajl_gen_array_close(g);
}

static void kbool(yajl_gen g, const char *key, bool v)
{
	str(g, key);
	yajl_gen_bool(g, v);
}

static void enabled_only(yajl_gen g, const char *key, bool v)
{
	str(g, key);
	yajl_gen_map_open(g);
	kbool(g, "enabled", v);
	yajl_gen_map_close(g);
}

/* Every capability the running kernel knows, by libcap's names (upper-cased, as in configs). */
static void capabilities(yajl_gen g)
{
	str(g, "capabilities");
	yajl_gen_array_open(g);
	int max = cap_max_bits();
	for (int i = 0; i < max; i++) {
		char *name = cap_to_name((cap_value_t)i);
		if (name && !strncmp(name, "cap_", 4)) {
			for (char *p = name; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			str(g, name);
		}
		cap_free(name);
	}
	yajl_gen_array_close(g);
}

static void linux_features(yajl_gen g)
{
	str(g, "linux");
	yajl_gen_map_open(g);
	str_array(g, "namespaces", namespaces, N(namespaces));
	capabilities(g);
	str(g, "cgroup");
	yajl_gen_map_open(g);
	kbool(g, "v1", true);
	kbool(g, "v2", true);
	kbool(g, "systemd", false);
	kbool(g, "systemdUser", false);
	kbool(g, "rdma", false);
	yajl_gen_map_close(g);
	str(g, "seccomp");
	yajl_gen_map_open(g);
	kbool(g, "enabled", true);
	str_array(g, "actions", seccomp_actions, N(seccomp_actions));
	str_array(g, "operators", seccomp_operators, N(seccomp_operators));
	str_array(g, "archs", seccomp_archs, N(seccomp_archs));
	str_array(g, "knownFlags", seccomp_flags, N(seccomp_flags));
	str_array(g, "supportedFlags", seccomp_flags, N(seccomp_flags));
	yajl_gen_map_close(g);
	enabled_only(g, "apparmor", false);
	enabled_only(g, "selinux", false);
	enabled_only(g, "intelRdt", false);
	str(g, "mountExtensions");
	yajl_gen_map_open(g);
	enabled_only(g, "idmap", false);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void annotations(yajl_gen g)
{
	char ver[64];
	const struct scmp_version *v = seccomp_version();
	snprintf(ver, sizeof(ver), "%u.%u.%u", v ? v->major : 0, v ? v->minor : 0,
		 v ? v->micro : 0);
	str(g, "annotations");
	yajl_gen_map_open(g);
	str(g, "io.github.seccomp.libseccomp.version");
	str(g, ver);
	str(g, "org.hyrun.version");
	str(g, HYRUN_VERSION);
	str(g, "org.hyrun.isolation");
	str(g, "container,vm");
	yajl_gen_map_close(g);
}

int cmd_features(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		return cli_usage_error(err, "features", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error(err, "features", "unexpected argument '%s'", argv[optind]);
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return hy_error_set(err, ENOMEM, "features: out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "    ");
	yajl_gen_map_open(g);
	str(g, "ociVersionMin");
	str(g, "1.0.0");
	str(g, "ociVersionMax");
	str(g, "1.2.0");
	str_array(g, "hooks", hook_names, N(hook_names));
	str_array(g, "mountOptions", mount_options, N(mount_options));
	linux_features(g);
	annotations(g);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);
	fputc('\n', stdout);
	yajl_gen_free(g);
	return 0;
}
