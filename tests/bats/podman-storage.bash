# Private podman storage for tests with hyrun as the OCI runtime (tests/bats/podman.bats and
# tests/vmhost/podman-vm.bats): a temp dir holding podman's root, runroot and tmpdir, and an image
# imported from a busybox rootfs tarball (no registry is reachable here). Needs make_rootfs and
# $HYRUN from the caller's helpers.

# podman_storage_setup IMAGE: from setup_file; exports PM.
podman_storage_setup() {
	command -v podman >/dev/null || skip "podman is not installed"
	PM=$(mktemp -d /tmp/hyrun-podman.XXXXXX)
	export PM
	make_rootfs "$PM/rootfs"
	tar -C "$PM/rootfs" -cf "$PM/busybox.tar" .
	pm image import "$PM/busybox.tar" "$1" >/dev/null
}

# From teardown_file: containers, images, podman's leftover mounts and the directory.
podman_storage_teardown() {
	[ -n "${PM:-}" ] || return 0
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm rmi -af >/dev/null 2>&1 || true
	grep -F " $PM" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$PM"
}

# The podman command line with that storage and hyrun, as DESIGN.md runs it.
PM_ARGS='--cgroup-manager=cgroupfs --events-backend=file'
pm_cmdline() {
	echo "podman --root $PM/storage --runroot $PM/runroot --tmpdir $PM/tmp $PM_ARGS --runtime $HYRUN"
}

# podman itself; bounded by $PM_TIMEOUT seconds when set (VM containers boot under emulation).
pm() {
	local t=()
	[ -z "${PM_TIMEOUT:-}" ] || t=(timeout -k 5 "$PM_TIMEOUT")
	# shellcheck disable=SC2046 # the command line is words without spaces inside
	"${t[@]}" $(pm_cmdline) "$@"
}
