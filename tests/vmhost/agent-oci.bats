#!/usr/bin/env bats
# The guest agent's OCI mode (hyrun.oci=1), driven without the runtime: `hyrun vm run` boots the
# guest with a busybox root shared over 9p, and build/guest/agent-client speaks the vsock protocol
# (sandbox-vm/proto/agent_proto.h) through the VMM's hybrid vsock socket. One guest boot serves
# most tests (setup_file: CREATE + START of an init that waits for /stop; the tests EXEC into it;
# the last one ends it); two more boots check how a failed CREATE and a host that hangs up before
# START end the VM.

bats_require_minimum_version 1.5.0 # run --separate-stderr

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load microvm

HYRUN=${HYRUN:-$VMHOST_TOP/build/hyrun}
CLIENT=$VMHOST_TOP/build/guest/agent-client

# make_rootfs DIR: a busybox root with what the tests look at.
make_rootfs() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,proc,sys,dev,tmp,etc,data,ro-dir,mnt}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
	echo shared-through-9p >"$dir/data/hello.txt"
	echo do-not-show >"$dir/etc/secret"
	chmod 1777 "$dir/tmp"
}

# boot_vm ROOT DIR: `hyrun vm run` in OCI mode in the background; its pid in DIR/vm.pid, its serial
# console in DIR/vm.log, its exit status in DIR/vm.status once it ends.
boot_vm() {
	local root=$1 dir=$2
	(
		set +e # bats runs with errexit: the status must still be written
		# (bind() does not follow the symlink: the real path)
		timeout -k 5 900 "$HYRUN" vm run --cmdline 'hyrun.oci=1' --share "$root" \
			--vsock "$(readlink "$dir/v.sock")" --memory 256 -- oci >"$dir/vm.log" 2>&1
		echo $? >"$dir/vm.status"
	) 3>&- &
	echo $! >"$dir/vm.pid"
}

# wait_for_file FILE: until it exists (the VM ended), at most 300 s.
wait_for_file() {
	for _ in $(seq 1500); do
		[ -e "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# new_dir: a directory for one VM's files, in the project tree (visible on the build machine when
# a run must be looked at), with v.sock, the VMM's vsock socket, a symlink to a short path in /tmp:
# a Unix socket cannot live on the 9p project share, and its path must fit sun_path.
new_dir() {
	local dir sock
	mkdir -p "$VMHOST_TOP/build/vmtmp"
	dir=$(mktemp -d "$VMHOST_TOP/build/vmtmp/aoci.XXXXXX")
	sock=$(mktemp -d /tmp/aoci.XXXXXX)
	ln -s "$sock/v.sock" "$dir/v.sock"
	echo "$dir"
}

remove_dir() {
	rm -rf "$(dirname "$(readlink "$1/v.sock")")" "$1"
}

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	make -s -C "$VMHOST_TOP" build/guest/agent-client >&2
	export VMDIR
	VMDIR=$(new_dir)
	make_rootfs "$VMDIR/root"
	boot_vm "$VMDIR/root" "$VMDIR"
	printf 'bye\n' >"$VMDIR/init.in"
	# The init: output on both streams, then waits for /stop, reads its stdin, exits 7.
	(
		set +e
		timeout -k 5 600 "$CLIENT" "$VMDIR/v.sock" create --hostname agent-test \
			--mount proc:proc:/proc:14 \
			--mount sysfs:sysfs:/sys:15 \
			--mount tmpfs:tmpfs:/dev:2:mode=755 \
			--mount devpts:devpts:/dev/pts:10:newinstance,ptmxmode=0666,mode=0620 \
			--mount tmpfs:shm:/dev/shm:14:mode=1777 \
			--mount mqueue:mqueue:/dev/mqueue:14 \
			--mount cgroup:cgroup:/sys/fs/cgroup:15 \
			--mount 9p:hyroot/data:/mnt/data:4097 \
			--mount 9p:hyroot/data/hello.txt:/etc/hello.txt:4096 \
			--masked /etc/secret --masked /proc/kcore --ro /ro-dir \
			--sysctl kernel.domainname=agent-domain \
			-e PATH=/bin -- sh -c 'echo init-out; echo init-err >&2; while [ ! -e /stop ]; do sleep 0.2; done; read line; echo got:$line; exit 7' \
			<"$VMDIR/init.in" >"$VMDIR/init.out" 2>"$VMDIR/init.err"
		echo $? >"$VMDIR/init.status"
	) 3>&- &
	for _ in $(seq 1500); do
		grep -q init-out "$VMDIR/init.out" 2>/dev/null && break
		[ -e "$VMDIR/init.status" ] && break
		sleep 0.2
	done
}

teardown_file() {
	[ -n "${VMDIR:-}" ] || return 0
	[ -e "$VMDIR/vm.status" ] || kill "$(cat "$VMDIR/vm.pid")" 2>/dev/null || true
	echo "# vm.log:" >&3
	sed 's/^/#   /' "$VMDIR/vm.log" >&3 2>/dev/null || true
	remove_dir "$VMDIR"
}

# Every request has a deadline: a wedged agent must fail the test, not hang the suite.
client() {
	timeout -k 5 120 "$CLIENT" "$VMDIR/v.sock" "$@"
}

@test "CREATE and START: the init runs, both output streams reach the host" {
	assert [ ! -e "$VMDIR/init.status" ]
	run cat "$VMDIR/init.out"
	assert_output init-out
	run cat "$VMDIR/init.err"
	assert_line --regexp '^agent-client: READY [0-9]+$'
	assert_line init-err
}

@test "EXEC runs in the guest: its kernel, the CREATE hostname and sysctl" {
	run client exec -- sh -c 'uname -r; hostname; cat /proc/sys/kernel/domainname'
	assert_success
	refute_line "$(uname -r)"
	assert_line --regexp '^[0-9]+\.[0-9]+\.[0-9]+'
	assert_line agent-test
	assert_line agent-domain
	assert_line --regexp '^agent-client: STARTED [0-9]+$'
}

@test "EXEC: the environment is the spec's (+HOME when it has none, as runc); args[0] is found without a PATH" {
	run --separate-stderr client exec -e A=1 -e 'B=two words' -- env
	assert_success
	# No HOME in the spec: the container's /etc/passwd entry of the uid, else "/" (this root
	# has no passwd; the VM-vs-container suite checks a passwd home).
	assert_equal "$output" "A=1
B=two words
HOME=/"
	run --separate-stderr client exec -e HOME=/given -e A=1 -- env
	assert_success
	assert_equal "$output" "HOME=/given
A=1"
}

@test "EXEC: uid, gid, groups, cwd, umask, rlimits and oom_score_adj" {
	run --separate-stderr client exec -u 1000:1001 -g 10 -g 20 -w /tmp --umask 027 \
		--rlimit 7:123:456 --oom 300 -e PATH=/bin \
		-- sh -c 'id -u; id -g; id -G; pwd; umask; ulimit -Sn; ulimit -Hn; cat /proc/self/oom_score_adj'
	assert_success
	assert_equal "$output" "1000
1001
1001 10 20
/tmp
0027
123
456
300"
}

@test "EXEC: capabilities survive the uid change, bounding set and ambient included" {
	run --separate-stderr client exec -u 1000:1000 --caps 400 -e PATH=/bin \
		-- grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status
	assert_success
	for set in Inh Prm Eff Bnd Amb; do
		assert_line --regexp "^Cap$set:[[:space:]]+0000000000000400$"
	done
}

@test "EXEC: seccomp with and without no_new_privs" {
	# 170 = sethostname on x86_64
	run --separate-stderr client exec --nnp --deny-syscall 170 -e PATH=/bin \
		-- sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; hostname x || echo denied'
	assert_success
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	assert_line denied
	run --separate-stderr client exec --deny-syscall 170 -e PATH=/bin \
		-- sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; hostname x || echo denied'
	assert_success
	assert_line --regexp '^NoNewPrivs:[[:space:]]+0$'
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	assert_line denied
}

@test "CREATE's mounts: proc, sysfs, devtmpfs for a tmpfs /dev, devpts, 9p binds, masked and read-only paths" {
	run --separate-stderr client exec -e PATH=/bin -- sh -c '
		cut -d" " -f2,3 /proc/mounts
		cat /mnt/data/hello.txt /etc/hello.txt
		touch /mnt/data/new 2>/dev/null || echo bind-is-ro
		echo "secret:$(cat /etc/secret)"
		touch /ro-dir/x 2>/dev/null || echo ro-path
		test -c /dev/null && test -L /dev/fd && echo dev-ok'
	assert_success
	assert_line "/proc proc"
	assert_line "/sys sysfs"
	assert_line "/dev devtmpfs"
	assert_line "/dev/pts devpts"
	assert_line "/dev/shm tmpfs"
	assert_line "/mnt/data 9p"
	assert_line "/etc/hello.txt 9p"
	[ "$(grep -c '^shared-through-9p$' <<<"$output")" -eq 2 ]
	assert_line bind-is-ro
	assert_line "secret:"
	assert_line ro-path
	assert_line dev-ok
	assert [ ! -e "$VMDIR/root/data/new" ]
}

@test "EXEC: stdin in, exit code out; a SIGNAL kills; a missing program is an ERROR" {
	run --separate-stderr client exec -e PATH=/bin -- sh -c 'cat; exit 3' <<<"line-one"
	assert_equal "$status" 3
	assert_output line-one
	run client exec --signal 9 -e PATH=/bin -- sleep 100
	assert_equal "$status" 137
	run client exec -e PATH=/bin -- no-such-cmd
	assert_equal "$status" 125
	assert_output --partial 'ERROR exec: "no-such-cmd": executable file not found in $PATH'
	run client exec -- /no/such
	assert_equal "$status" 125
	assert_output --partial 'ERROR exec: "/no/such": No such file or directory'
}

@test "EXEC with a terminal: a pty of the container's devpts, the size from the spec" {
	run --separate-stderr client exec -t --size 33:101 -e PATH=/bin \
		-- sh -c 'stty size; tty; test -t 0 && test -t 2 && echo is-tty'
	assert_success
	run tr -d '\r' <<<"$output" # the pty turns \n into \r\n
	assert_line "33 101"
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line is-tty
}

@test "PS lists the container's processes, not the agent's" {
	client exec -e PATH=/bin -- sleep 60 >/dev/null 2>&1 3>&- &
	local bg=$!
	for _ in $(seq 100); do
		run client ps
		grep -q 'sleep 60' <<<"$output" && break
		sleep 0.2
	done
	assert_success
	assert_line --index 0 "PID PPID UID CMD"
	assert_line --regexp '^[0-9]+ [0-9]+ 0 sleep 60$'
	assert_line --regexp '^[0-9]+ [0-9]+ 0 sh -c echo init-out'
	refute_line --regexp '^1 '
	refute_output --partial hyrun-agent
	kill "$bg" 2>/dev/null || true
}

@test "bad frames are refused and the agent keeps serving" {
	run client raw 99
	assert_output --partial "expected CREATE, EXEC or PS as the first frame"
	run client raw 3 ffff
	assert_output --partial "EXEC: truncated field"
	run client raw 1 01000100000078
	assert_output --partial "the container was already created"
	run --separate-stderr client exec -- /bin/echo still-serving
	assert_success
	assert_output still-serving
}

@test "the init's exit ends the VM with its code after all its output" {
	touch "$VMDIR/root/stop"
	wait_for_file "$VMDIR/init.status"
	assert_equal "$(cat "$VMDIR/init.status")" 7
	run cat "$VMDIR/init.out"
	assert_output "init-out
got:bye"
	wait_for_file "$VMDIR/vm.status"
	assert_equal "$(cat "$VMDIR/vm.status")" 7
	grep -E 'listening on vsock port 1024 at [0-9.]+ s' "$VMDIR/vm.log" >&3 || true
}

@test "a failed CREATE answers ERROR naming the mount, and the VM ends with 125" {
	local dir
	dir=$(new_dir)
	make_rootfs "$dir/root"
	boot_vm "$dir/root" "$dir"
	run client_in "$dir" create --mount proc:proc:/proc:14 --mount nosuchfs:x:/x -- /bin/true
	assert_equal "$status" 125
	assert_output --partial "ERROR mount nosuchfs on /x: No such device"
	wait_for_file "$dir/vm.status"
	assert_equal "$(cat "$dir/vm.status")" 125
	remove_dir "$dir"
}

@test "a host that hangs up before START deletes the container: the VM ends with 137" {
	local dir
	dir=$(new_dir)
	make_rootfs "$dir/root"
	boot_vm "$dir/root" "$dir"
	run client_in "$dir" create --close-before-start -- /bin/true
	assert_success
	assert_output --regexp 'READY [0-9]+'
	wait_for_file "$dir/vm.status"
	assert_equal "$(cat "$dir/vm.status")" 137
	remove_dir "$dir"
}

client_in() {
	local dir=$1
	shift
	timeout -k 5 120 "$CLIENT" "$dir/v.sock" "$@"
}
