#!/usr/bin/env bats
# exec, ps and update on a VM container, in the KVM test host. One VM container (booted once in
# setup_file: every guest boot costs seconds of nested virtualization) serves every test:
# exec runs inside the guest (its kernel, not the host's), attached and detached, with a
# terminal through --console-socket or the caller's own tty, with --env/--cwd/--user, and
# returns the guest process's exit code; ps lists the guest's processes; update refuses memory
# above the boot size (the balloon cases: vm-balloon.bats) and applies the cgroup limits around
# the VMM.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load vm-helpers

ID=vmexec

setup_file() {
	vm_can_boot || skip "this machine's /dev/kvm cannot boot a guest kernel (run through tests/vmhost/run)"
	[ -f "$VM_GUEST_DIR/vmlinux" ] || { echo "build/guest/vmlinux missing: make guest" >&2; return 1; }
	export HYRUN_ROOT BUNDLE=$BATS_FILE_TMPDIR/bundle
	HYRUN_ROOT=$(mktemp -d /run/hyrun-vmexec.XXXXXX)
	make_bundle "$BUNDLE" sh -c 'echo up >/root/up; exec sleep 100000'
	bundle_jq "$BUNDLE" '.annotations["org.hyrun.isolation"] = "vm" | .root.readonly = false'
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$HYRUN_ROOT" run -d -b "$BUNDLE" "$ID" </dev/null 3>&-
	wait_until "$VM_TIMEOUT" test -e "$BUNDLE/rootfs/root/up"
}

teardown_file() {
	teardown_hyrun
}

# A console-socket receiver (tests/bats/tools/recvtty.c) listening at $1, writing input $2.
recvtty_at() {
	local bin=$RECVTTY
	if [ ! -x "$bin" ]; then
		bin=$BATS_FILE_TMPDIR/recvtty
		[ -x "$bin" ] || gcc -O2 -o "$bin" "$VM_TOP/tests/bats/tools/recvtty.c"
	fi
	"$bin" "$@"
}

# gone PID: no such process, or only its zombie (the relay's parent is whoever adopted it).
gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

wait_socket() {
	wait_until 10 test -S "$1"
}

@test "vm exec: runs inside the guest (its kernel release, not the host's)" {
	local want
	want=$(guest_release)
	[ -n "$want" ]
	[ "$want" != "$(uname -r)" ]
	run hy exec "$ID" uname -r
	assert_success
	assert_output "$want"
}

@test "vm exec: exit codes, death by signal, stdin/stdout/stderr apart" {
	run hy exec "$ID" sh -c 'exit 7'
	assert_equal "$status" 7
	run hy exec "$ID" sh -c 'kill -USR1 $$'
	assert_equal "$status" $((128 + 10))
	run bash -c "printf 'line1\nline2\n' | '$HYRUN' --root '$HYRUN_ROOT' exec '$ID' sh -c 'cat; echo to-err >&2' 2>'$BATS_TEST_TMPDIR/err'"
	assert_success
	assert_output $'line1\nline2'
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output to-err
}

@test "vm exec: --env, --cwd, --user land in the guest process" {
	run hy exec --env A=b --cwd /tmp --user 1000:1001 "$ID" sh -c 'echo $A; pwd; id -u; id -g'
	assert_success
	assert_output $'b\n/tmp\n1000\n1001'
}

@test "vm exec: a missing program fails with the guest's reason" {
	run hy exec "$ID" /no/such/program
	assert_failure
	assert_output --partial /no/such/program
}

@test "vm exec -d: the pid file names a host relay that lives as long as the guest process" {
	local pf=$BATS_TEST_TMPDIR/pid
	hy exec -d --pid-file "$pf" "$ID" sh -c 'echo $$ >/root/bg; exec sleep 1000'
	local relay
	relay=$(cat "$pf")
	[ "$relay" -gt 0 ]
	kill -0 "$relay"
	wait_until 60 test -s "$BUNDLE/rootfs/root/bg"
	local guest_pid
	guest_pid=$(cat "$BUNDLE/rootfs/root/bg")
	run hy exec "$ID" sh -c "kill -0 $guest_pid && echo alive"
	assert_output alive
	# A signal to the relay (what conmon sends) reaches the guest process; both end.
	kill -TERM "$relay"
	wait_until 60 gone "$relay"
	run hy exec "$ID" sh -c "kill -0 $guest_pid 2>/dev/null && echo alive || echo gone"
	assert_output gone
}

@test "vm exec -t --console-socket: the guest's terminal, attached and detached" {
	local sock=$BATS_TEST_TMPDIR/console.sock
	recvtty_at "$sock" $'hello\n' >"$BATS_TEST_TMPDIR/tty.out" &
	local rpid=$!
	wait_socket "$sock"
	run hy exec -t --console-socket "$sock" "$ID" sh -c 'tty; read line; echo "got $line"; exit 4'
	assert_equal "$status" 4
	wait $rpid
	run tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out"
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line "got hello"

	rm -f "$sock"
	recvtty_at "$sock" >"$BATS_TEST_TMPDIR/tty2.out" &
	rpid=$!
	wait_socket "$sock"
	hy exec -t -d --console-socket "$sock" --pid-file "$BATS_TEST_TMPDIR/pid" "$ID" sh -c 'tty; echo detached-ok'
	[ -s "$BATS_TEST_TMPDIR/pid" ]
	wait $rpid
	run tr -d '\r' <"$BATS_TEST_TMPDIR/tty2.out"
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line detached-ok
}

@test "vm exec -t in the foreground relays the caller's terminal" {
	run script -qec "'$HYRUN' --root '$HYRUN_ROOT' exec -t '$ID' sh -c 'tty; exit 3'" /dev/null
	assert_equal "$status" 3
	assert_output --regexp '/dev/pts/[0-9]+'
}

@test "vm ps: the guest's processes; --format json gives guest pids" {
	run hy ps "$ID"
	assert_success
	assert_line --index 0 --regexp '^ *PID +PPID +UID +CMD'
	assert_line --regexp 'sleep 100000'
	local table_out=$output
	run hy ps --format json "$ID"
	assert_success
	local n
	n=$(jq 'length' <<<"$output")
	[ "$n" -ge 1 ]
	# The pid of `sleep` in the table is one of the json pids.
	local sleep_pid
	sleep_pid=$(awk '/sleep 100000/ {print $1; exit}' <<<"$table_out")
	jq -e --argjson p "$sleep_pid" 'index($p) != null' <<<"$output"
	run hy ps "$ID" -o pid
	assert_failure
	assert_output --partial 'not supported for a VM container'
}

@test "vm update: memory cannot grow above the boot size; pids goes to the VMM's cgroup" {
	run hy update --memory 512m "$ID"
	assert_failure
	assert_output --partial 'memory limit 512 MiB: the guest booted with 256 MiB and cannot grow above it'
	run hy update --pids-limit 200 "$ID"
	assert_success
}
