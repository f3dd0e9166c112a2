#!/usr/bin/env bats
# `hyrun vm run` on a machine whose /dev/kvm cannot boot a guest kernel (kvm_pvm, or no hardware
# virtualization) fails at once with a message that says so and points at tests/vmhost. On a
# machine with a real KVM the probe passes and the test is skipped.

load helpers

@test "vm run on a /dev/kvm that cannot run a guest kernel fails with a clear message" {
	if [ -c /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && ! grep -q '^kvm_pvm ' /proc/modules 2>/dev/null; then
		skip "this machine's /dev/kvm can run guests (tests/vmhost covers it)"
	fi
	printf '\x7fELF' >"$BATS_TEST_TMPDIR/vmlinux"
	run "$HYRUN" vm run --kernel "$BATS_TEST_TMPDIR/vmlinux" -- true
	assert_failure
	assert_output --partial "cannot run a guest kernel"
	assert_output --partial "tests/vmhost/run"
}

@test "vm run: usage errors name the flag" {
	run "$HYRUN" vm run --cpus 0 -- true
	assert_failure
	assert_output --partial "--cpus"
	run "$HYRUN" vm run --kernel /nonexistent/vmlinux -- true
	assert_failure
	assert_output --partial "--kernel /nonexistent/vmlinux"
	run "$HYRUN" vm run --kernel "$BATS_TEST_FILENAME"
	assert_failure
	assert_output --partial "no command given"
	run "$HYRUN" vm pause
	assert_failure
	assert_output --partial "--control"
	run "$HYRUN" vm pause --control "$BATS_TEST_TMPDIR/nothing.sock"
	assert_failure
	assert_output --partial "nothing.sock"
}
