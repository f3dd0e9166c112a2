#!/usr/bin/env bats
# hyrun's virtio devices as the guest sees them, through `hyrun vm run` in the KVM test host:
# virtio-blk (raw image read/write, ext4 on it, read-only, discard), virtio-console (hvc0 output
# and input), virtio-rng (/dev/hwrng) and virtio-vsock echoes in both directions through the hybrid
# Unix-socket side, with sandbox-vm/guest/tools/vsock-echo on both ends.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load microvm

HYRUN=${HYRUN:-$VMHOST_TOP/build/hyrun}
ECHO=$VMHOST_TOP/build/guest/vsock-echo

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	[ -f "$GUEST_DIR/vmlinux" ] || { echo "$GUEST_DIR/vmlinux missing: make guest" >&2; return 1; }
	make -s -C "$VMHOST_TOP" build/guest/vsock-echo >&2
	"$VMHOST_TOP/sandbox-vm/guest/mkinitramfs" --busybox "$BATS_FILE_TMPDIR/initrd.cpio" \
		"$ECHO=/bin/vsock-echo" >&2
	# Every test here needs hyrun's VMM to boot the guest: probe once, and skip (not fail) with
	# the reason while the VMM cannot boot yet.
	local out
	if ! out=$(timeout -k 5 120 "$HYRUN" vm run --kernel "$GUEST_DIR/vmlinux" \
		--initrd "$BATS_FILE_TMPDIR/initrd.cpio" -- echo probe-ok 2>&1) ||
		! grep -q '^probe-ok' <<<"$out"; then
		printf '%s\n' "$out" | tail -3 | tr '\n' ' ' >"$BATS_FILE_TMPDIR/noboot"
	fi
}

setup() {
	if [ -f "$BATS_FILE_TMPDIR/noboot" ]; then
		skip "hyrun vm run cannot boot the guest yet: $(cat "$BATS_FILE_TMPDIR/noboot")"
	fi
}

vm() {
	timeout -k 5 120 "$HYRUN" vm run --kernel "$GUEST_DIR/vmlinux" \
		--initrd "$BATS_FILE_TMPDIR/initrd.cpio" "$@"
}

@test "virtio-blk: a raw image is readable and writable in the guest" {
	local img=$BATS_TEST_TMPDIR/disk.img
	truncate -s 4M "$img"
	printf 'host-wrote-this' | dd of="$img" conv=notrunc status=none
	# (the guest command travels on the kernel command line: one line, no double quotes)
	run vm --disk "$img" -- sh -c 'head -c 15 /dev/vda; echo; cat /sys/block/vda/size /sys/block/vda/ro; printf guest-wrote-this | dd of=/dev/vda bs=512 seek=8 conv=notrunc 2>/dev/null && sync && echo wrote'
	assert_success
	assert_line host-wrote-this
	assert_line 8192
	assert_line 0
	assert_line wrote
	assert_equal "$(dd if="$img" bs=512 skip=8 count=1 status=none | head -c 16)" guest-wrote-this
}

@test "virtio-blk: an ext4 image mounts, and a file written in the guest is on the host" {
	command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null || skip "e2fsprogs missing"
	local tree=$BATS_TEST_TMPDIR/tree img=$BATS_TEST_TMPDIR/ext4.img
	mkdir -p "$tree"
	echo from-the-host >"$tree/marker"
	mkfs.ext4 -q -F -d "$tree" "$img" 16M
	run vm --disk "$img" -- sh -c 'mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && cat /mnt/marker && dd if=/dev/zero of=/mnt/big bs=64k count=64 2>/dev/null && echo from-the-guest >/mnt/new && umount /mnt && echo unmounted'
	assert_success
	assert_line from-the-host
	assert_line unmounted
	run debugfs -R 'cat /new' "$img"
	assert_output --partial from-the-guest
	run e2fsck -fn "$img"
	assert_success
}

@test "virtio-blk: ,ro gives a read-only disk that refuses writes" {
	local img=$BATS_TEST_TMPDIR/disk.img
	truncate -s 1M "$img"
	printf 'read-only-data' | dd of="$img" conv=notrunc status=none
	cp "$img" "$BATS_TEST_TMPDIR/before.img"
	run vm --disk "$img,ro" -- sh -c 'cat /sys/block/vda/ro; head -c 14 /dev/vda; echo; echo x | dd of=/dev/vda conv=notrunc 2>/dev/null && sync && echo wrote; true'
	assert_success
	assert_line 1
	assert_line read-only-data
	refute_line wrote
	cmp "$img" "$BATS_TEST_TMPDIR/before.img"
}

@test "virtio-blk: blkdiscard punches the range on the host (reads back as zeros)" {
	local img=$BATS_TEST_TMPDIR/disk.img
	head -c 4M /dev/urandom >"$img"
	run vm --disk "$img" -- sh -c 'cat /sys/block/vda/queue/discard_max_bytes; blkdiscard -o 1048576 -l 1048576 /dev/vda && echo discarded'
	assert_success
	assert_line discarded
	refute_line 0
	assert_equal "$(dd if="$img" bs=1M skip=1 count=1 status=none | tr -d '\0' | wc -c)" 0
	[ "$(dd if="$img" bs=1M skip=2 count=1 status=none | tr -d '\0' | wc -c)" -gt 0 ]
}

@test "virtio-console: the command's output goes through hvc0 to --console FILE" {
	run vm --console "$BATS_TEST_TMPDIR/console.txt" -- sh -c 'test -c /dev/hvc0 && echo via-hvc0'
	assert_success
	grep -q '^via-hvc0' "$BATS_TEST_TMPDIR/console.txt"
}

@test "virtio-console: --console - carries stdin into the guest and output back" {
	# Typed once the guest is reading, as a user would; our end of the fifo keeps it open.
	local in=$BATS_TEST_TMPDIR/in out=$BATS_TEST_TMPDIR/out
	mkfifo "$in"
	vm --console - -- sh -c 'echo ready; read -r line; echo got:$line' <"$in" >"$out" 2>&1 &
	local pid=$!
	local wfd # (not fd 3: bats reports through it)
	exec {wfd}<>"$in" # read-write: never blocks, even if the VMM failed to start
	for _ in $(seq 500); do grep -q '^ready' "$out" && break; sleep 0.2; done
	echo typed-on-the-host >&"$wfd"
	exec {wfd}>&-
	wait "$pid"
	run tr -d "\r" <"$out" # the guest tty turns \n into \r\n
	assert_line ready
	assert_line got:typed-on-the-host
}

@test "virtio-rng: /dev/hwrng is the virtio source and gives bytes" {
	run vm -- sh -c 'cat /sys/class/misc/hw_random/rng_current; head -c 4096 /dev/hwrng | wc -c; [ $(head -c 32 /dev/hwrng | md5sum | cut -c1-32) != $(head -c 32 /dev/hwrng | md5sum | cut -c1-32) ] && echo differ'
	assert_success
	assert_line --partial virtio_rng
	assert_line 4096
	assert_line differ
}

@test "virtio-vsock: host-initiated echo (CONNECT through the Unix socket)" {
	local sock=$BATS_TEST_TMPDIR/v.sock
	vm --vsock "$sock" -- vsock-echo listen 52 2 >"$BATS_TEST_TMPDIR/guest.out" 2>&1 &
	local pid=$!
	run timeout 90 "$ECHO" uds-connect "$sock" 52 hello-guest
	assert_success
	assert_output hello-guest
	# a bigger transfer, many times the 4 KiB rx buffers and the credit windows
	run timeout 90 "$ECHO" uds-connect "$sock" 52 @2000000
	assert_success
	assert_output "$("$ECHO" sum 2000000)"
	wait "$pid"
	grep -q ready "$BATS_TEST_TMPDIR/guest.out"
}

@test "virtio-vsock: guest-initiated echo (host listens on <uds>_<port>)" {
	local sock=$BATS_TEST_TMPDIR/v.sock
	"$ECHO" uds-echo "${sock}_53" 2 >/dev/null &
	local srv=$!
	for _ in $(seq 50); do [ -S "${sock}_53" ] && break; sleep 0.1; done
	run vm --vsock "$sock" -- sh -c 'vsock-echo connect 2 53 hello-host && vsock-echo connect 2 53 @1000000'
	assert_success
	assert_line hello-host
	assert_line "$("$ECHO" sum 1000000)"
	wait "$srv"
}

@test "virtio-vsock: a guest connect to a port nobody listens on is refused" {
	run vm --vsock "$BATS_TEST_TMPDIR/v.sock" -- sh -c 'vsock-echo connect 2 54 x; echo status=$?'
	assert_success
	assert_line status=1
	assert_output --partial "vsock connect"
}
