#!/usr/bin/env bats
# The virtio-9p root (`hyrun vm run --share DIR`), inside the KVM test host: what the guest does
# in its root shows up in DIR on the host, and host symlinks pointing outside DIR are only text
# to the guest, never followed by the server.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load microvm

HYRUN=${HYRUN:-$VMHOST_TOP/build/hyrun}

# A busybox root for the guest, plus a sentinel directory next to it that must stay untouched.
make_root() {
	local root=$1 a
	mkdir -p "$root"/{bin,etc,proc,sys,dev}
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	echo share-marker >"$root/etc/marker"
}

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	for f in "$GUEST_DIR/vmlinux" "$GUEST_INITRD"; do
		[ -f "$f" ] || { echo "$f missing: make guest" >&2; return 1; }
	done
	# Only while the VMM cannot boot a guest at all are these tests skipped; a boot that works
	# without --share and fails with it is a failure of this part.
	if ! timeout -k 5 120 "$HYRUN" vm run --kernel "$GUEST_DIR/vmlinux" \
		--initrd "$GUEST_INITRD" -- true </dev/null >/dev/null 2>&1; then
		skip "hyrun vm run cannot boot a guest yet (probe without --share failed)"
	fi
}

setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	OUTSIDE=$BATS_TEST_TMPDIR/outside
	make_root "$ROOT"
	mkdir -p "$OUTSIDE"
	echo host-secret >"$OUTSIDE/secret"
	chmod 0640 "$OUTSIDE/secret"
	SENTINEL_STAT=$(stat -c '%s %a %u %g %Y %h' "$OUTSIDE/secret")
}

# guest SCRIPT: runs SCRIPT (a file, since the kernel command line carries no newlines or quotes)
# with sh in the guest, its root being ROOT. The serial console's CRs are dropped.
guest() {
	printf '%s\n' "$1" >"$ROOT/test.sh"
	local rc=0
	timeout -k 5 180 "$HYRUN" vm run --kernel "$GUEST_DIR/vmlinux" \
		--initrd "$GUEST_INITRD" --share "$ROOT" -- sh /test.sh \
		</dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 || rc=$?
	tr -d '\r' <"$BATS_TEST_TMPDIR/out"
	return $rc
}

# The sentinel directory holds exactly the one file, unchanged.
assert_outside_untouched() {
	assert_equal "$(ls -A "$OUTSIDE")" secret
	assert_equal "$(stat -c '%s %a %u %g %Y %h' "$OUTSIDE/secret")" "$SENTINEL_STAT"
	assert_equal "$(cat "$OUTSIDE/secret")" host-secret
}

@test "9p root: a file the guest writes in / appears in the shared directory" {
	run guest 'echo x > /f && cat /f && cat /etc/marker'
	assert_success
	assert_line x
	assert_line share-marker
	[ -f "$ROOT/f" ]
	assert_equal "$(cat "$ROOT/f")" x
}

@test "9p root: mkdir, rename, hard and symbolic links, chmod, chown and rm reach the host" {
	run guest 'set -e
		mkdir /d
		echo y > /d/g
		mv /d/g /d/h
		ln /d/h /d/hard
		ln -s h /d/soft
		chmod 600 /d/h
		chown 1234:567 /d/h
		rm /d/hard
		cat /d/soft
		mkdir /d/e
		rmdir /d/e
		touch -d "2001-02-03 04:05:06" /d/h
		ls /d'
	assert_success
	assert_line y
	assert_equal "$(cat "$ROOT/d/h")" y
	assert_equal "$(stat -c '%a %u %g' "$ROOT/d/h")" "600 1234 567"
	assert_equal "$(date -r "$ROOT/d/h" +%Y)" 2001
	assert_equal "$(readlink "$ROOT/d/soft")" h
	[ ! -e "$ROOT/d/g" ] && [ ! -e "$ROOT/d/hard" ] && [ ! -e "$ROOT/d/e" ]
}

@test "9p root: a 1 MiB file written by the guest has the same checksum on the host" {
	run guest 'dd if=/dev/urandom of=/big bs=65536 count=16 2>/dev/null && md5sum /big'
	assert_success
	local sum
	sum=$(md5sum <"$ROOT/big" | cut -d' ' -f1)
	assert_line --partial "$sum"
	assert_equal "$(stat -c %s "$ROOT/big")" 1048576
}

@test "9p root: host symlinks to outside the share are text to the guest, never followed" {
	ln -s "$OUTSIDE" "$ROOT/abs"
	ln -s ../outside "$ROOT/rel"
	ln -s "$OUTSIDE/secret" "$ROOT/abs_file"
	run guest "cat /abs/secret; cat /rel/secret; cat /abs_file; cat ../../../outside/secret
		echo pwn > /abs/pwned; echo pwn > /rel/pwned; echo pwn > /abs_file
		ln -s / /link && cat /link/etc/marker
		readlink /abs
		cd / && cat ../../etc/marker
		mkdir -p '$OUTSIDE' && echo inside > /abs/pwned && echo made-inside
		true"
	assert_success
	refute_output --partial host-secret
	assert_line share-marker
	assert_line "$OUTSIDE"
	assert_line made-inside
	# What the guest wrote "through" the links landed inside the share, under the same path.
	assert_equal "$(cat "$ROOT$OUTSIDE/pwned")" inside
	[ -L "$ROOT/abs" ] && [ -L "$ROOT/abs_file" ]
	assert_equal "$(readlink "$ROOT/abs_file")" "$OUTSIDE/secret"
	assert_outside_untouched
}

@test "9p root: the guest cannot make device nodes that would open host hardware" {
	run guest 'mknod /sda b 8 0 && echo made-block; mknod /fifo p && echo made-fifo; true'
	assert_success
	refute_line made-block
	assert_line made-fifo
	[ ! -e "$ROOT/sda" ] && [ -p "$ROOT/fifo" ]
	assert_outside_untouched
}
