#!/usr/bin/env bats
# hyrun's own VMM (`hyrun vm run`) boots the guest kernel + agent inside the KVM test host:
# PVH vmlinux and bzImage, 1 and 2 vCPUs, the agent's output and exit code, guest reboot, the
# control socket, and a virtio-blk disk read through the virtio-mmio transport.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load microvm

HYRUN=${HYRUN:-$VMHOST_TOP/build/hyrun}

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	for f in "$GUEST_DIR/vmlinux" "$GUEST_DIR/bzImage" "$GUEST_INITRD"; do
		[ -f "$f" ] || { echo "$f missing: make guest" >&2; return 1; }
	done
}

# The agent + busybox initramfs (guest commands need a shell); stdin closed like a batch job.
vm() {
	timeout -k 5 120 "$HYRUN" vm run --initrd "$GUEST_INITRD" "$@" </dev/null
}

@test "vm run: PVH vmlinux, the agent's output and exit code 0" {
	run vm --kernel "$GUEST_DIR/vmlinux" -- echo hello from the guest
	assert_success
	assert_line "hello from the guest"
	assert_line "hyrun-agent: exit 0"
}

@test "vm run: the command's exit code 3 is hyrun's" {
	run vm --kernel "$GUEST_DIR/vmlinux" -- sh -c 'echo before; exit 3'
	assert_equal "$status" 3
	assert_line before
}

@test "vm run: bzImage through the 64-bit boot protocol, exit code 5" {
	run vm --kernel "$GUEST_DIR/bzImage" -- sh -c 'echo from-bzimage; exit 5'
	assert_equal "$status" 5
	assert_line from-bzimage
}

@test "vm run: 2 vCPUs (PVH) appear in /proc/cpuinfo" {
	run vm --kernel "$GUEST_DIR/vmlinux" --cpus 2 -- sh -c 'grep -c ^processor /proc/cpuinfo'
	assert_success
	assert_line 2
}

@test "vm run: 2 vCPUs with bzImage, 1 vCPU shows 1" {
	run vm --kernel "$GUEST_DIR/bzImage" --cpus 2 -- sh -c 'grep -c ^processor /proc/cpuinfo'
	assert_success
	assert_line 2
	run vm --kernel "$GUEST_DIR/vmlinux" --cpus 1 -- sh -c 'grep -c ^processor /proc/cpuinfo'
	assert_success
	assert_line 1
}

@test "vm run: a guest reboot ends the VMM (status 0, nothing after it runs)" {
	run vm --kernel "$GUEST_DIR/vmlinux" -- sh -c 'echo rebooting; reboot -f; sleep 100; echo not-reached'
	assert_success
	assert_line rebooting
	refute_line not-reached
}

@test "vm run: the default kernel and initrd come from HYRUN_GUEST_DIR" {
	# The shipped initramfs holds only the agent (no shell): a missing command gives 127.
	HYRUN_GUEST_DIR=$GUEST_DIR run -127 timeout -k 5 120 "$HYRUN" vm run -- /no/such/command
	assert_equal "$status" 127
	assert_line "hyrun-agent: exit 127"
}

@test "vm run: the kernel log goes to --serial FILE, the kernel command line carries the args" {
	run vm --kernel "$GUEST_DIR/vmlinux" --serial "$BATS_TEST_TMPDIR/serial.log" \
		--cmdline "hyrun.test=1" -- sh -c 'cat /proc/cmdline >&2; exit 0'
	assert_success
	grep -q "hyrun.test=1" "$BATS_TEST_TMPDIR/serial.log"
	grep -q "virtio_mmio.device=4K@0xd0000000" "$BATS_TEST_TMPDIR/serial.log" ||
		grep -q "console=ttyS0" "$BATS_TEST_TMPDIR/serial.log"
}

@test "vm run: a virtio-blk disk is readable through virtio-mmio, read-only when asked" {
	printf 'hyrun-disk-magic' >"$BATS_TEST_TMPDIR/disk.img"
	truncate -s 1M "$BATS_TEST_TMPDIR/disk.img"
	run vm --kernel "$GUEST_DIR/vmlinux" --disk "$BATS_TEST_TMPDIR/disk.img,ro" -- \
		sh -c 'head -c 16 /dev/vda; echo; echo x | dd of=/dev/vda 2>/dev/null && echo wrote'
	assert_line hyrun-disk-magic
	refute_line wrote
}

@test "vm run --share DIR: the directory is the guest's root over virtio-9p, writes reach the host" {
	local root=$BATS_TEST_TMPDIR/root
	mkdir -p "$root/bin"
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	echo from-the-host >"$root/hello.txt"
	run vm --kernel "$GUEST_DIR/vmlinux" --share "$root" -- /bin/sh -c '/bin/busybox cat /hello.txt; echo from-the-guest >/written.txt'
	assert_success
	assert_line from-the-host
	[ "$(cat "$root/written.txt")" = from-the-guest ]
}

@test "vm pause/resume through the control socket" {
	local sock=$BATS_TEST_TMPDIR/ctl.sock out=$BATS_TEST_TMPDIR/out.txt
	vm --kernel "$GUEST_DIR/vmlinux" --control "$sock" -- \
		sh -c 'i=0; while [ $i -lt 400 ]; do echo tick $i; i=$((i+1)); sleep 0.05; done' >"$out" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do grep -q "tick 1" "$out" 2>/dev/null && break; sleep 0.2; done
	run "$HYRUN" vm pause --control "$sock"
	assert_success
	local n1 n2
	n1=$(grep -c tick "$out")
	sleep 3
	n2=$(grep -c tick "$out")
	assert_equal "$n1" "$n2"
	run "$HYRUN" vm resume --control "$sock"
	assert_success
	for _ in $(seq 50); do [ "$(grep -c tick "$out")" -gt "$n2" ] && break; sleep 0.2; done
	[ "$(grep -c tick "$out")" -gt "$n2" ]
	kill "$pid" 2>/dev/null || true
	wait "$pid" || true
}

@test "vm run: a kernel that is not ELF or bzImage is refused with a clear error" {
	head -c 4096 /dev/zero >"$BATS_TEST_TMPDIR/junk"
	run vm --kernel "$BATS_TEST_TMPDIR/junk" -- true
	assert_failure
	assert_output --partial "neither an ELF vmlinux nor a bzImage"
}

@test "vm run: memory smaller than the kernel is refused" {
	run vm --kernel "$GUEST_DIR/vmlinux" --memory 16 -- true
	assert_failure
	assert_output --partial "smaller than the kernel"
}
