#!/usr/bin/env bats
# Smoke tests of the VM backend's lifecycle in the KVM test host (the full container-vs-VM
# comparison is vm-isolation.bats): create fails cleanly when the guest cannot boot, run returns
# the guest process's output and exit code, kill TERM reaches the guest process, and killing the
# VMM from outside then delete --force leaves no state dir, socket, cgroup or process.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bats/helpers

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	local top
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	for f in vmlinux initramfs.cpio; do
		[ -f "$top/build/guest/$f" ] || { echo "build/guest/$f missing: make guest" >&2; return 1; }
	done
}

setup() {
	setup_hyrun
	BUNDLE=$BATS_TEST_TMPDIR/bundle
}

teardown() {
	teardown_hyrun
}

# vm_bundle CMD...: the helpers' bundle, isolated in a VM, with a writable root (the guest writes
# what the tests read back). Its ambient capabilities go: how the guest applies capabilities is
# vm-isolation.bats's subject, not the lifecycle's.
vm_bundle() {
	make_bundle "$BUNDLE" "$@"
	bundle_jq "$BUNDLE" '.annotations["org.hyrun.isolation"] = "vm" | .root.readonly = false |
		del(.process.capabilities.ambient)'
}

# No cgroup directory named after the container, no process whose cgroup is it.
assert_no_cgroup() {
	run find /sys/fs/cgroup -type d -name "$1"
	assert_output ''
}

# wait_stopped ID: until `state` says stopped (the guest process exited and the VM powered off).
wait_stopped() {
	local i
	for i in $(seq 1 600); do
		[ "$(hy state "$1" | jq -r .status)" = stopped ] && return 0
		sleep 0.2
	done
	hy state "$1" >&2
	return 1
}

@test "vm create: a kernel that does not boot fails create cleanly, naming the cause" {
	vm_bundle /bin/true
	echo 'not a kernel' >"$BUNDLE/junk"
	bundle_jq "$BUNDLE" '.annotations["org.hyrun.vm.kernel"] = "junk"'
	run hy create --bundle "$BUNDLE" vmbad
	assert_failure
	assert_output --partial 'isolation vm'
	assert_output --partial 'junk'
	[ ! -e "$HYRUN_ROOT/vmbad" ]
	assert_no_cgroup vmbad
	run pgrep -f "create --bundle $BUNDLE"
	assert_failure
}

@test "vm create: a missing kernel annotation file is named" {
	vm_bundle /bin/true
	bundle_jq "$BUNDLE" '.annotations["org.hyrun.vm.kernel"] = "/no/such/vmlinux"'
	run hy create --bundle "$BUNDLE" vmmissing
	assert_failure
	assert_output --partial 'annotations.org.hyrun.vm.kernel: /no/such/vmlinux'
	[ ! -e "$HYRUN_ROOT/vmmissing" ]
	assert_no_cgroup vmmissing
}

@test "vm run: the guest process's output and exit code" {
	vm_bundle sh -c 'echo out-line; echo err-line >&2; exit 7'
	run hy run --bundle "$BUNDLE" vmrun
	assert_equal "$status" 7
	assert_line out-line
	assert_line err-line
	[ ! -e "$HYRUN_ROOT/vmrun" ]
	assert_no_cgroup vmrun
}

@test "vm run: death by signal is 128+N, as for a container" {
	vm_bundle sh -c 'kill -USR1 $$'
	run hy run --bundle "$BUNDLE" vmsig
	assert_equal "$status" $((128 + 10))
}

@test "vm create/start/state/kill TERM: the signal reaches the guest process" {
	vm_bundle sh -c 'trap "echo got-term >/root/term; exit 3" TERM; echo up >/root/up; while :; do sleep 0.1; done'
	hy create --bundle "$BUNDLE" vmkill
	run hy state vmkill
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" created
	local pid
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 0 ]
	[ -e "$HYRUN_ROOT/vmkill/vm.sock" ]
	[ ! -e "$BUNDLE/rootfs/root/up" ] # nothing runs before start
	hy start vmkill
	assert_equal "$(hy state vmkill | jq -r .status)" running
	local i
	for i in $(seq 1 300); do
		[ -e "$BUNDLE/rootfs/root/up" ] && break
		sleep 0.2
	done
	[ -e "$BUNDLE/rootfs/root/up" ]
	hy kill vmkill TERM
	wait_stopped vmkill
	run cat "$BUNDLE/rootfs/root/term"
	assert_output got-term
	hy delete vmkill
	[ ! -e "$HYRUN_ROOT/vmkill" ]
	assert_no_cgroup vmkill
	run kill -0 "$pid"
	assert_failure
}

@test "vm kill -9 of the VMM, then delete --force: nothing is left" {
	vm_bundle sleep 1000
	hy run -d --bundle "$BUNDLE" vmdead
	local pid
	pid=$(hy state vmdead | jq -r .pid)
	[ -e "$HYRUN_ROOT/vmdead/vm.sock" ]
	kill -9 "$pid"
	wait_stopped vmdead
	hy delete --force vmdead
	[ ! -e "$HYRUN_ROOT/vmdead" ]
	assert_no_cgroup vmdead
	run kill -0 "$pid"
	assert_failure
}

@test "vm run: stdin reaches the guest process; a terminal is a pty in the guest" {
	vm_bundle sh -c 'read line; echo "got:$line"; test -t 0 || echo no-tty'
	run hy run --bundle "$BUNDLE" vmstdin <<<"piped-input"
	assert_success
	assert_line got:piped-input
	assert_line no-tty
	bundle_jq "$BUNDLE" '.process.terminal = true | .process.args = ["sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; exit 4"]'
	run hy run --bundle "$BUNDLE" vmtty </dev/null
	assert_equal "$status" 4
	assert_output --partial is-a-tty
}

@test "vm pause/resume: the cgroup freezer stops the guest and lets it go on" {
	vm_bundle sh -c 'i=0; while :; do i=$((i+1)); echo $i >/root/count.tmp; mv /root/count.tmp /root/count; sleep 0.2; done'
	hy run -d --bundle "$BUNDLE" vmpause
	local i a b c
	for i in $(seq 1 300); do
		[ -s "$BUNDLE/rootfs/root/count" ] && break
		sleep 0.2
	done
	[ -s "$BUNDLE/rootfs/root/count" ]
	hy pause vmpause
	assert_equal "$(hy state vmpause | jq -r .status)" paused
	a=$(cat "$BUNDLE/rootfs/root/count")
	sleep 2
	b=$(cat "$BUNDLE/rootfs/root/count")
	assert_equal "$b" "$a"
	hy resume vmpause
	assert_equal "$(hy state vmpause | jq -r .status)" running
	for i in $(seq 1 300); do
		c=$(cat "$BUNDLE/rootfs/root/count")
		[ "$c" != "$b" ] && break
		sleep 0.2
	done
	[ "$c" -gt "$b" ]
	hy delete --force vmpause
	[ ! -e "$HYRUN_ROOT/vmpause" ]
	assert_no_cgroup vmpause
}
