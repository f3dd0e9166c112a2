# Shared fixtures for the bats suites. Each test file gets its own state root so suites never see
# each other's containers; teardown_hyrun removes whatever a test left.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

HYRUN=${HYRUN:-$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)/build/hyrun}
export HYRUN

# One state root per test (hyrun --root), removed in teardown_hyrun.
setup_hyrun() {
	HYRUN_ROOT=$(mktemp -d /run/hyrun-test.XXXXXX)
	export HYRUN_ROOT
}

hy() {
	"$HYRUN" --root "$HYRUN_ROOT" "$@"
}

teardown_hyrun() {
	local id
	if [ -n "${HYRUN_ROOT:-}" ] && [ -d "$HYRUN_ROOT" ]; then
		for id in $(ls "$HYRUN_ROOT" 2>/dev/null); do
			"$HYRUN" --root "$HYRUN_ROOT" delete --force "$id" >/dev/null 2>&1 || true
		done
		rm -rf "$HYRUN_ROOT"
	fi
}

# make_rootfs DIR: a busybox-static root filesystem with its applets as symlinks.
make_rootfs() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,var,run,usr/bin}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\ntester:x:1000:1000::/tmp:/bin/sh\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\ntester:x:1000:\n' >"$dir/etc/group"
	chmod 1777 "$dir/tmp"
}

# A busybox rootfs built once per test run and copied (hard-linked) into bundles.
rootfs_template() {
	local tpl=${BATS_RUN_TMPDIR:-/tmp}/rootfs-template
	if [ ! -x "$tpl/bin/busybox" ]; then
		make_rootfs "$tpl.tmp.$$" && mv "$tpl.tmp.$$" "$tpl" 2>/dev/null || rm -rf "$tpl.tmp.$$"
	fi
	echo "$tpl"
}

# make_bundle DIR CMD [ARGS...]: a bundle running CMD with the OCI defaults of `runc spec`
# (no terminal, the usual namespaces and mounts). Tests change it with jq (bundle_jq).
make_bundle() {
	local dir=$1
	shift
	mkdir -p "$dir"
	cp -a "$(rootfs_template)" "$dir/rootfs"
	local args
	args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
	cat >"$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $args,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "hyrun-test",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
}

# bundle_jq DIR FILTER: edits DIR/config.json in place with a jq filter.
bundle_jq() {
	local dir=$1 filter=$2 tmp
	tmp=$(mktemp)
	jq "$filter" "$dir/config.json" >"$tmp" && mv "$tmp" "$dir/config.json"
}

# No mount under the test's bundles may survive a test.
assert_no_mounts_under() {
	run grep -F " $1" /proc/self/mountinfo
	assert_failure
}
