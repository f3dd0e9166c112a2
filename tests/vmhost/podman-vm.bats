#!/usr/bin/env bats
# podman (Debian 4.3) with hyrun as its OCI runtime and `--annotation org.hyrun.isolation=vm`
# (issue 8): run --rm with output and exit code, run -d + exec (inside the guest: its `uname -r`
# is the guest kernel's) + stop. Private podman storage (tests/bats/podman-storage.bash); an
# image imported from a busybox rootfs tarball (no registry is reachable). Needs a /dev/kvm that
# boots guests: runs inside tests/vmhost/run, skips elsewhere.

load vm-helpers
load ../bats/podman-storage

setup_file() {
	podman_storage_setup localhost/hyrun-busybox:vm
}

teardown_file() {
	podman_storage_teardown
}

# Bounded: a VM container's guest boots under emulation.
PM_TIMEOUT=$VM_TIMEOUT

RUNOPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
VMOPTS=(--annotation org.hyrun.isolation=vm)
IMAGE=localhost/hyrun-busybox:vm

setup() {
	NAME=hy-pmvm-$BATS_TEST_NUMBER-$$
}

teardown() {
	pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
}

@test "podman works here with hyrun as the runtime (info, and a container-level run)" {
	run pm info --format '{{.Host.OCIRuntime.Path}} {{.Host.CgroupManager}}'
	assert_success
	assert_output "$HYRUN cgroupfs"
	run pm run --rm "${RUNOPTS[@]}" "$IMAGE" sh -c 'echo container-level; uname -r'
	assert_success
	assert_output "$(printf 'container-level\n%s' "$(uname -r)")"
}

@test "podman run --rm with the vm annotation: output from the guest kernel and the exit code" {
	require_vm
	run pm run --rm "${RUNOPTS[@]}" "${VMOPTS[@]}" --hostname pmvm "$IMAGE" \
		sh -c 'echo hello-from-the-vm; hostname; uname -r; exit 7'
	assert_equal "$status" 7
	assert_output "$(printf 'hello-from-the-vm\npmvm\n%s' "$(guest_release)")"
	run pm ps -aq
	assert_output ""
}

@test "podman run -d with the vm annotation, exec inside the guest, stop and rm" {
	require_vm
	run pm run -d --name "$NAME" "${RUNOPTS[@]}" "${VMOPTS[@]}" "$IMAGE" \
		sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
	assert_success
	run pm inspect --format '{{.State.Status}}' "$NAME"
	assert_output running
	run pm exec "$NAME" uname -r
	assert_success
	assert_output "$(guest_release)"
	run pm exec "$NAME" sh -c 'echo exec-ok; exit 4'
	assert_equal "$status" 4
	assert_output exec-ok
	run pm stop -t 30 "$NAME"
	assert_success
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$NAME"
	assert_output "exited 0"
	run pm rm "$NAME"
	assert_success
	run pm ps -aq
	assert_output ""
}
