#!/usr/bin/env bats
# podman (Debian 4.3) with hyrun as its OCI runtime: run --rm with output and exit codes, -it,
# exec, stop, rm. Private podman storage in a temp dir, on an image imported from a busybox
# rootfs tarball (no registry is reachable here).

load helpers

setup_file() {
	command -v podman >/dev/null || skip "podman is not installed"
	PM=$(mktemp -d /tmp/hyrun-podman.XXXXXX)
	export PM
	make_rootfs "$PM/rootfs"
	tar -C "$PM/rootfs" -cf "$PM/busybox.tar" .
	pm image import "$PM/busybox.tar" localhost/hyrun-busybox:test >/dev/null
}

teardown_file() {
	[ -n "${PM:-}" ] || return 0
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm rmi -af >/dev/null 2>&1 || true
	grep -F " $PM" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$PM"
}

# podman with private storage and hyrun as the runtime, as DESIGN.md runs it.
pm() {
	podman --root "$PM/storage" --runroot "$PM/runroot" --tmpdir "$PM/tmp" \
		--cgroup-manager=cgroupfs --events-backend=file --runtime "$HYRUN" "$@"
}

RUNOPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

setup() {
	NAME=hy-pm-$BATS_TEST_NUMBER-$$
}

teardown() {
	pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
}

@test "podman run --rm: output, hostname and pid 1 from hyrun" {
	run pm run --rm "${RUNOPTS[@]}" --hostname pmbox localhost/hyrun-busybox:test \
		sh -c 'echo hello; hostname; echo pid=$$'
	assert_success
	assert_output $'hello\npmbox\npid=1'
	run pm ps -aq
	assert_output ""
}

@test "podman run: the container's exit code" {
	run pm run --rm "${RUNOPTS[@]}" localhost/hyrun-busybox:test sh -c 'exit 7'
	assert_failure 7
}

@test "podman run -it: a terminal through the console socket" {
	run bash -c "echo typed | script -qec 'podman --root $PM/storage --runroot $PM/runroot --tmpdir $PM/tmp --cgroup-manager=cgroupfs --events-backend=file --runtime $HYRUN run --rm -it ${RUNOPTS[*]} localhost/hyrun-busybox:test sh -c \"tty; read x; echo got:\\\$x\"' /dev/null"
	assert_success
	assert_output --regexp '/dev/pts/[0-9]+'
	assert_output --partial "got:typed"
}

@test "podman exec, stop and rm" {
	pm run -d --name "$NAME" "${RUNOPTS[@]}" localhost/hyrun-busybox:test \
		sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	run pm exec "$NAME" sh -c 'echo exec-ok; hostname'
	assert_success
	assert_line --index 0 exec-ok
	run pm exec "$NAME" sh -c 'exit 4'
	assert_failure 4
	run bash -c "script -qec 'podman --root $PM/storage --runroot $PM/runroot --tmpdir $PM/tmp --cgroup-manager=cgroupfs --events-backend=file --runtime $HYRUN exec -it $NAME tty' /dev/null"
	assert_success
	assert_output --regexp '/dev/pts/[0-9]+'
	run pm stop -t 10 "$NAME"
	assert_success
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$NAME"
	assert_output "exited 0"
	run pm rm "$NAME"
	assert_success
	run pm ps -aq
	assert_output ""
}
