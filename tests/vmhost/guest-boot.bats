#!/usr/bin/env bats
# The guest assets boot and behave: the guest kernel (PVH vmlinux and bzImage) with the agent as
# /init, under QEMU's microvm machine with KVM inside the test host (tests/vmhost/run). The agent's
# exit code N reaches QEMU's exit status as (N << 1) | 1 through isa-debug-exit on port 0xf4.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load microvm

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	for f in vmlinux bzImage initramfs-busybox.cpio; do
		[ -f "$GUEST_DIR/$f" ] || { echo "$GUEST_DIR/$f missing: make guest" >&2; return 1; }
	done
}

boot() {
	microvm "$GUEST_DIR/vmlinux" "$GUEST_INITRD" "$@"
}

@test "PVH vmlinux: the agent runs echo hello and the VM exits 0" {
	run boot -- echo hello
	assert_equal "$status" "$(microvm_status 0)"
	assert_line hello
	assert_line "hyrun-agent: exit 0"
}

@test "the command's exit code 3 becomes the VM's" {
	run boot -- sh -c 'echo before; exit 3'
	assert_equal "$status" "$(microvm_status 3)"
	assert_line before
	assert_line "hyrun-agent: exit 3"
}

@test "bzImage boots the same way" {
	run microvm "$GUEST_DIR/bzImage" "$GUEST_INITRD" -- sh -c 'echo from-bzimage; exit 5'
	assert_equal "$status" "$(microvm_status 5)"
	assert_line from-bzimage
	assert_line "hyrun-agent: exit 5"
}

@test "a command that does not exist exits 127" {
	run boot -- /no/such/command
	assert_equal "$status" "$(microvm_status 127)"
	assert_output --partial "exec /no/such/command"
	assert_line "hyrun-agent: exit 127"
}

@test "the agent mounts proc, sys, devtmpfs, devpts and tmp; 2 vCPUs; death by signal is 128+N" {
	MICROVM_CPUS=2 run boot -- sh -c "awk '{ print \$2, \$3 }' /proc/mounts; grep -c ^processor /proc/cpuinfo; kill -9 \$\$"
	assert_equal "$status" "$(microvm_status 137)"
	assert_line "/dev devtmpfs"
	assert_line "/dev/pts devpts"
	assert_line "/proc proc"
	assert_line "/sys sysfs"
	assert_line "/tmp tmpfs"
	assert_line 2
	assert_line "hyrun-agent: exit 137"
}

@test "hyrun.share: the command runs in a 9p root and its writes reach the host" {
	local share=$BATS_TEST_TMPDIR/share
	make_rootfs "$share"
	MICROVM_APPEND="quiet hyrun.share=root0" run boot \
		-fsdev "local,id=fs0,path=$share,security_model=passthrough" \
		-device virtio-9p-device,fsdev=fs0,mount_tag=root0 \
		-- sh -c 'echo written-in-guest >/from-guest; test -f /bin/busybox && ! test -e /init'
	assert_equal "$status" "$(microvm_status 0)"
	assert_equal "$(cat "$share/from-guest")" written-in-guest
}

@test "hyrun.disk: the command runs with an ext4 virtio-blk disk as its root" {
	local tree=$BATS_TEST_TMPDIR/tree img=$BATS_TEST_TMPDIR/disk.img
	make_rootfs "$tree"
	echo on-the-disk >"$tree/marker"
	mkfs.ext4 -q -F -d "$tree" "$img" 64M
	MICROVM_APPEND="quiet hyrun.disk=/dev/vda" run boot \
		-drive "file=$img,if=none,id=d0,format=raw" -device virtio-blk-device,drive=d0 \
		-- sh -c 'cat /marker; echo new >/written; grep -w ext4 /proc/mounts'
	assert_equal "$status" "$(microvm_status 0)"
	assert_line on-the-disk
	assert_output --partial "/dev/vda / ext4 "
	# The agent remounts its root read-only before the reset: the file system must be clean.
	run e2fsck -fn "$img"
	assert_success
	run debugfs -R "cat /written" "$img"
	assert_output --partial new
}

@test "virtio-console: stdio on hvc0, the exit line also on the serial console" {
	local out=$BATS_TEST_TMPDIR/hvc0.out
	run boot -device virtio-serial-device -chardev "file,id=c0,path=$out" -device virtconsole,chardev=c0 \
		-- sh -c 'echo on-hvc0; exit 4'
	assert_equal "$status" "$(microvm_status 4)"
	refute_line on-hvc0
	assert_line "hyrun-agent: exit 4"
	run tr -d '\r' <"$out" # a tty: ONLCR
	assert_line on-hvc0
	assert_line "hyrun-agent: exit 4"
}

# make_rootfs DIR: a minimal busybox root (the same layout as tests/bats/helpers.bash's).
make_rootfs() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,proc,sys,dev,tmp}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
}
