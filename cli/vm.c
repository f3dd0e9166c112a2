/* `hyrun vm run|pause|resume`: a plain microVM on hyrun's own VMM, outside any OCI bundle. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/vmm/control.h"
#include "sandbox-vm/vmm/devices/net.h"
#include "sandbox-vm/vmm/vmm.h"

#define VM_CMDLINE_MAX 2048

static void vm_usage(FILE *f)
{
	fprintf(f,
		"usage: hyrun vm run [--kernel K] [--initrd I] [--cmdline S] [--cpus N] [--memory MIB]\n"
		"                    [--disk FILE[,ro]] [--share DIR] [--vsock PATH] [--console PATH|-]\n"
		"                    [--serial PATH|-] [--serial-input PATH|-] [--control PATH] [--balloon]\n"
		"                    [--net TAP[,mac=XX:XX:XX:XX:XX:XX][,mtu=N]]...\n"
		"                    -- CMD [ARGS...]\n"
		"       hyrun vm pause|resume --control PATH\n"
		"       hyrun vm balloon CONTROL_SOCKET MIB   (MIB of guest memory to take away; needs\n"
		"                                             vm run --balloon --control PATH)\n"
		"       hyrun vm balloon-info CONTROL_SOCKET\n");
}

static bool is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

/* Appends the agent's command after " -- ", quoting words with spaces for the kernel's parser. */
static int append_command(char *cmdline, size_t size, int argc, char **argv, struct hy_error *err)
{
	size_t used = strlen(cmdline);
	int n = snprintf(cmdline + used, size - used, "%s--", used ? " " : "");
	if (n < 0 || (size_t)n >= size - used)
		return hy_error_set(err, E2BIG, "command too long for the kernel command line");
	used += (size_t)n;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strchr(a, '"') || strchr(a, '\n'))
			return hy_error_set(err, EINVAL,
					    "argument '%s': the kernel command line cannot carry '\"' or "
					    "newlines",
					    a);
		bool quote = !*a || strpbrk(a, " \t");
		n = snprintf(cmdline + used, size - used, quote ? " \"%s\"" : " %s", a);
		if (n < 0 || (size_t)n >= size - used)
			return hy_error_set(err, E2BIG,
					    "command too long for the kernel command line (%zu bytes max)",
					    size - 1);
		used += (size_t)n;
	}
	return 0;
}

static int parse_uint(const char *flag, const char *s, unsigned long long max,
		      unsigned long long *out, struct hy_error *err)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max || *s == '-')
		return hy_error_set(err, EINVAL, "%s: expected a number from 1 to %llu, got '%s'", flag,
				    max, s);
	*out = v;
	return 0;
}

enum { OPT_KERNEL = 1, OPT_INITRD, OPT_CMDLINE, OPT_CPUS, OPT_MEMORY, OPT_DISK, OPT_SHARE,
       OPT_VSOCK, OPT_CONSOLE, OPT_SERIAL, OPT_SERIAL_INPUT, OPT_CONTROL, OPT_HELP,
       OPT_NET, OPT_BALLOON };

static int vm_run(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, OPT_KERNEL},
		{"initrd", required_argument, NULL, OPT_INITRD},
		{"cmdline", required_argument, NULL, OPT_CMDLINE},
		{"cpus", required_argument, NULL, OPT_CPUS},
		{"memory", required_argument, NULL, OPT_MEMORY},
		{"disk", required_argument, NULL, OPT_DISK},
		{"share", required_argument, NULL, OPT_SHARE},
		{"vsock", required_argument, NULL, OPT_VSOCK},
		{"console", required_argument, NULL, OPT_CONSOLE},
		{"serial", required_argument, NULL, OPT_SERIAL},
		{"serial-input", required_argument, NULL, OPT_SERIAL_INPUT},
		{"control", required_argument, NULL, OPT_CONTROL},
		{"net", required_argument, NULL, OPT_NET},
		{"balloon", no_argument, NULL, OPT_BALLOON},
		{"help", no_argument, NULL, OPT_HELP},
		{0},
	};
	struct vmm_config cfg = {.vcpus = 1, .memory_mib = 256, .guest_cid = 3,
				 .debug = cli->rt.debug};
	const char *user_cmdline = NULL;
	bool serial_given = false;
	char disk_paths[VMM_MAX_DISKS][PATH_MAX];
	char net_taps[VMM_MAX_NETS][IFNAMSIZ];
	unsigned long long v;
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			cfg.kernel = optarg;
			break;
		case OPT_INITRD:
			cfg.initrd = optarg;
			break;
		case OPT_CMDLINE:
			user_cmdline = optarg;
			break;
		case OPT_CPUS:
			if ((rc = parse_uint("--cpus", optarg, 64, &v, err)) < 0)
				return rc;
			cfg.vcpus = (unsigned)v;
			break;
		case OPT_MEMORY:
			if ((rc = parse_uint("--memory", optarg, 1ULL << 20, &v, err)) < 0)
				return rc;
			if (v < 16)
				return hy_error_set(err, EINVAL, "--memory %s: at least 16 MiB", optarg);
			cfg.memory_mib = v;
			break;
		case OPT_DISK: {
			if (cfg.n_disks == VMM_MAX_DISKS)
				return hy_error_set(err, EINVAL, "--disk: at most %d disks", VMM_MAX_DISKS);
			char *p = disk_paths[cfg.n_disks];
			snprintf(p, PATH_MAX, "%s", optarg);
			bool ro = false;
			char *comma = strrchr(p, ',');
			if (comma && !strcmp(comma, ",ro")) {
				*comma = 0;
				ro = true;
			} else if (comma && !strcmp(comma, ",rw")) {
				*comma = 0;
			}
			if (!is_file(p))
				return hy_error_errno(err, errno, "--disk %s", p);
			cfg.disks[cfg.n_disks++] = (struct vmm_disk){.path = p, .readonly = ro};
			break;
		}
		case OPT_SHARE:
			if (cfg.n_shares)
				return hy_error_set(err, EINVAL, "--share: only one shared directory");
			if (access(optarg, R_OK | X_OK) < 0)
				return hy_error_errno(err, errno, "--share %s", optarg);
			cfg.shares[cfg.n_shares++] = (struct vmm_share){.tag = "hyroot", .path = optarg};
			break;
		case OPT_VSOCK:
			cfg.vsock_path = optarg;
			break;
		case OPT_CONSOLE:
			cfg.console_path = optarg;
			break;
		case OPT_SERIAL:
			cfg.serial_path = optarg;
			serial_given = true;
			break;
		case OPT_SERIAL_INPUT:
			cfg.serial_input = optarg;
			break;
		case OPT_CONTROL:
			cfg.control_socket = optarg;
			break;
		case OPT_NET:
			if (cfg.n_nets == VMM_MAX_NETS)
				return hy_error_set(err, EINVAL, "--net: at most %d interfaces", VMM_MAX_NETS);
			if ((rc = net_spec_parse(optarg, &cfg.nets[cfg.n_nets], net_taps[cfg.n_nets], err)) < 0)
				return rc;
			cfg.n_nets++;
			break;
		case OPT_BALLOON:
			cfg.balloon = true;
			break;
		case OPT_HELP:
			vm_usage(stdout);
			return 0;
		default:
			vm_usage(stderr);
			return hy_error_set(err, EINVAL, "vm run: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		vm_usage(stderr);
		return hy_error_set(err, EINVAL, "vm run: no command given (hyrun vm run -- CMD ...)");
	}

	char kernel_buf[PATH_MAX], initrd_buf[PATH_MAX];
	if (!cfg.kernel) {
		static const char *const kernels[] = {"vmlinux", "bzImage", NULL};
		cfg.kernel = vm_find_asset(kernels, kernel_buf, sizeof(kernel_buf));
		if (!cfg.kernel)
			return hy_error_set(err, ENOENT,
					    "no guest kernel found (looked in $HYRUN_GUEST_DIR, build/guest "
					    "next to hyrun and %s/lib/hyrun); pass --kernel or run make guest",
					    HYRUN_PREFIX);
	} else if (!is_file(cfg.kernel)) {
		return hy_error_errno(err, errno, "--kernel %s", cfg.kernel);
	}
	if (!cfg.initrd) {
		static const char *const initrds[] = {"initramfs.cpio", NULL};
		cfg.initrd = vm_find_asset(initrds, initrd_buf, sizeof(initrd_buf));
	} else if (!is_file(cfg.initrd)) {
		return hy_error_errno(err, errno, "--initrd %s", cfg.initrd);
	}
	/* Without a console device the agent's output comes over the serial port, so show it. */
	if (!serial_given && !cfg.console_path)
		cfg.serial_path = "/dev/stdout";

	char cmdline[VM_CMDLINE_MAX] = "";
	snprintf(cmdline, sizeof(cmdline), "%s%s%s%s%s", cli->rt.debug ? "" : "quiet",
		 cfg.n_shares ? " hyrun.share=hyroot" : "", user_cmdline ? " " : "",
		 user_cmdline ? user_cmdline : "", "");
	if (cmdline[0] == ' ')
		memmove(cmdline, cmdline + 1, strlen(cmdline));
	if ((rc = append_command(cmdline, sizeof(cmdline), argc - optind, argv + optind, err)) < 0)
		return rc;
	cfg.cmdline = cmdline;

	/* HYRUN_VM_SKIP_PROBE=1 lets developers try guest code on a KVM the probe would refuse. */
	const char *skip = getenv("HYRUN_VM_SKIP_PROBE");
	if (!(skip && !strcmp(skip, "1")) && (rc = vmm_probe_kvm(err)) < 0)
		return rc;
	int exit_code = 0;
	fflush(stdout);
	rc = vmm_run(&cfg, &exit_code, err);
	if (rc < 0)
		return rc;
	return exit_code;
}

static int vm_control(int argc, char **argv, const char *request, struct hy_error *err)
{
	static const struct option opts[] = {
		{"control", required_argument, NULL, OPT_CONTROL},
		{0},
	};
	const char *path = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != OPT_CONTROL)
			return hy_error_set(err, EINVAL, "vm %s: unknown option '%s'", request,
					    argv[optind - 1]);
		path = optarg;
	}
	if (!path && optind < argc)
		path = argv[optind];
	if (!path)
		return hy_error_set(err, EINVAL, "vm %s: --control PATH is required", request);
	return vmm_control_request(path, request, err);
}

/* vm balloon SOCKET MIB / vm balloon-info SOCKET (prints the VMM's key=value answer). */
static int vm_balloon(int argc, char **argv, struct hy_error *err)
{
	bool info = !strcmp(argv[0], "balloon-info");
	if (argc != (info ? 2 : 3))
		return hy_error_set(err, EINVAL, info ? "usage: hyrun vm balloon-info CONTROL_SOCKET"
						      : "usage: hyrun vm balloon CONTROL_SOCKET MIB");
	if (!info) {
		unsigned long long mib;
		int rc = strcmp(argv[2], "0") ? parse_uint("vm balloon", argv[2], 1ULL << 20, &mib, err)
					      : (mib = 0, 0);
		if (rc < 0)
			return rc;
		char req[48];
		snprintf(req, sizeof(req), "balloon %llu", mib);
		return vmm_control_request(argv[1], req, err);
	}
	char answer[CONTROL_ANSWER_MAX];
	int rc = vmm_control_query(argv[1], "balloon-info", answer, sizeof(answer), err);
	if (rc == 0)
		printf("%s\n", answer);
	return rc;
}

int cmd_vm(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		vm_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? hy_error_set(err, EINVAL, "vm: expected run, pause or resume") : 0;
	}
	if (!strcmp(argv[1], "run"))
		return vm_run(cli, argc - 1, argv + 1, err);
	if (!strcmp(argv[1], "pause") || !strcmp(argv[1], "resume"))
		return vm_control(argc - 1, argv + 1, argv[1], err);
	if (!strcmp(argv[1], "balloon") || !strcmp(argv[1], "balloon-info"))
		return vm_balloon(argc - 1, argv + 1, err);
	return hy_error_set(err, EINVAL, "vm: unknown subcommand '%s' (expected run, pause or resume)",
			    argv[1]);
}
