#!/usr/bin/env bats
# podman drives hyrun through the same CLI it uses for runc (create/start/state/kill/delete/exec
# with --log-format json): run --rm with an exit code, a terminal, exec, stop and rm.
# podman flags as DESIGN.md says work here (cgroupfs manager, no network, explicit ulimits).

load helpers

setup_file() {
	command -v podman >/dev/null || skip "podman not installed"
	IMAGE=localhost/hyrun-cli-test:$$
	export IMAGE
	local dir
	dir=$(mktemp -d /tmp/hyrun-podman.XXXXXX)
	make_rootfs "$dir/rootfs"
	tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
	podman import "$dir/rootfs.tar" "$IMAGE" >/dev/null
	rm -rf "$dir"
}

teardown_file() {
	if [ -n "${IMAGE:-}" ]; then
		podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
	fi
}

setup() {
	command -v podman >/dev/null || skip "podman not installed"
	NAME=hyrun-cli-$BATS_TEST_NUMBER-$$
}

teardown() {
	podman --runtime "$HYRUN" rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
}

pod() {
	podman --cgroup-manager=cgroupfs --runtime "$HYRUN" "$@"
}

pod_run() {
	pod run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"
}

@test "podman run --rm returns the container's output and exit code" {
	run pod_run --rm --name "$NAME" "$IMAGE" sh -c 'echo hello; echo pid=$$; exit 3'
	assert_failure 3
	assert_line "hello"
	assert_line "pid=1"
	run pod ps -a --filter "name=$NAME" --format '{{.Names}}'
	assert_output ""
}

@test "podman run -it gives the container a terminal" {
	command -v script >/dev/null || skip "script(1) not installed"
	run script -qec "podman --cgroup-manager=cgroupfs --runtime $HYRUN run --rm -it --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name $NAME $IMAGE \
		sh -c 'tty; exit 5'" /dev/null
	assert_failure 5
	assert_output --regexp '/dev/pts/[0-9]+'
}

@test "podman exec, stop and rm on a detached container" {
	run pod_run -d --name "$NAME" "$IMAGE" sleep 300
	assert_success
	run pod exec "$NAME" sh -c 'echo in-exec $(cat /proc/1/cmdline | tr "\0" " ")'
	assert_success
	assert_output "in-exec sleep 300 "
	run pod exec "$NAME" sh -c 'exit 4'
	assert_failure 4
	run pod inspect --format '{{.State.Status}}' "$NAME"
	assert_output "running"
	run pod stop -t 1 "$NAME"
	assert_success
	run pod inspect --format '{{.State.Status}}' "$NAME"
	assert_output "exited"
	run pod rm "$NAME"
	assert_success
	run pod ps -a --filter "name=$NAME" --format '{{.Names}}'
	assert_output ""
}
