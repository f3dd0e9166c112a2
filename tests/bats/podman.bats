#!/usr/bin/env bats
# podman (Debian 4.3) with hyrun as its OCI runtime: run --rm with output and exit codes, -it,
# exec, stop, rm. Private podman storage in a temp dir, on an image imported from a busybox
# rootfs tarball (no registry is reachable here).

load helpers
load podman-storage

setup_file() {
	podman_storage_setup localhost/hyrun-busybox:test
}

teardown_file() {
	podman_storage_teardown
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
	run bash -c "echo typed | script -qec '$(pm_cmdline) run --rm -it ${RUNOPTS[*]} localhost/hyrun-busybox:test sh -c \"tty; read x; echo got:\\\$x\"' /dev/null"
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
	run bash -c "script -qec '$(pm_cmdline) exec -it $NAME tty' /dev/null"
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
