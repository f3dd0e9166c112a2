#!/usr/bin/env bats
# virtio-net (sandbox-vm/vmm/devices/net.c) through `hyrun vm run --net` in the KVM test host:
# a tap on the host side (172.30.0.1/24), the guest configures eth0 (172.30.0.2/24) with busybox
# `ip`; MAC and MTU as the guest sees them, ping both ways, a TCP fetch by the host from the guest,
# bulk transfers in both directions (which run the guest out of rx buffers, and use the checksum
# and TSO offloads), a missing tap.
# Host-side tools are busybox's (nc, ping), the same binary as in the guest.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load microvm

HYRUN=${HYRUN:-$VMHOST_TOP/build/hyrun}
TAP=hytap0
HOST_IP=172.30.0.1
GUEST_IP=172.30.0.2
BULK_KIB=${NET_BULK_KIB:-4096}
# The guest's side of every test: eth0 up with its address.
GUEST_UP="ip addr add $GUEST_IP/24 dev eth0 && ip link set eth0 up"

setup_file() {
	[ -c /dev/kvm ] || { echo "no /dev/kvm: run through tests/vmhost/run" >&2; return 1; }
	for f in "$GUEST_DIR/vmlinux" "$GUEST_INITRD"; do
		[ -f "$f" ] || { echo "$f missing: make guest" >&2; return 1; }
	done
	ip link del "$TAP" 2>/dev/null || true
	ip tuntap add dev "$TAP" mode tap
	ip addr add "$HOST_IP/24" dev "$TAP"
	ip link set "$TAP" up
}

teardown_file() {
	ip link del "$TAP" 2>/dev/null || true
}

# Background host helpers started by a test; killed by PID in teardown.
HELPERS=()
teardown() {
	local p
	for p in "${HELPERS[@]}"; do
		pkill -P "$p" 2>/dev/null || true # a helper subshell's own nc or ping
		kill "$p" 2>/dev/null || true
	done
	for p in "${HELPERS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}

vm() {
	timeout -k 5 "${VM_RUN_TIMEOUT:-240}" "$HYRUN" vm run --kernel "$GUEST_DIR/vmlinux" \
		--initrd "$GUEST_INITRD" "$@" </dev/null
}

# busybox nc keeps its stdin open as the other direction of the connection and quits when the
# peer half-closes; a FIFO opened read-write never ends and never delivers, so each side sends
# only what it is told to and runs until the other side is done.
hold_fifo() {
	[ -p "$BATS_TEST_TMPDIR/hold" ] || mkfifo "$BATS_TEST_TMPDIR/hold"
	echo "$BATS_TEST_TMPDIR/hold"
}

@test "virtio-net: the guest sees its MAC and MTU, and pings the host through the tap" {
	run vm --net "$TAP,mac=52:54:00:12:34:56,mtu=1400" -- sh -c "cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu && $GUEST_UP && ping -c 3 -W 10 $HOST_IP"
	assert_success
	assert_line 52:54:00:12:34:56
	assert_line 1400
	assert_output --regexp '3 packets transmitted, 3 packets received'
}

@test "virtio-net: without mac=, a random locally administered unicast MAC" {
	run vm --net "$TAP" -- sh -c 'cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu'
	assert_success
	assert_line 1500
	# second hex digit: bit 1 (local) set, bit 0 (multicast) clear -> 2, 6, a or e
	assert grep -Eq '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$' <<<"$output"
}

@test "virtio-net: the host pings the guest and fetches data from a guest TCP server" {
	local hold got=$BATS_TEST_TMPDIR/got
	hold=$(hold_fifo)
	# Host side, in the background: wait for the guest to answer pings, then fetch from it.
	# (fd 3 closed: bats waits for it)
	(
		for ((i = 0; i < 200; i++)); do
			busybox ping -c 1 -W 1 "$GUEST_IP" >/dev/null 2>&1 && { echo ping-ok >"$got.ping"; break; }
			sleep 0.5
		done
		for ((i = 0; i < 100; i++)); do
			busybox nc -w 3 "$GUEST_IP" 7000 <>"$hold" >"$got" 2>/dev/null
			grep -q guest-says-hi "$got" && break
			sleep 0.5
		done
	) 3>&- &
	HELPERS+=($!)
	run vm --net "$TAP" -- sh -c "$GUEST_UP && echo guest-says-hi | nc -l -p 7000 && echo served"
	assert_success
	assert_line served
	assert [ -f "$got.ping" ]
	assert_equal "$(cat "$got")" guest-says-hi
}

# Busybox `time` prints "real\t0m 1.23s" on stderr; MiB/s to two decimals for KIB kibibytes.
rate() {
	awk -v kib="$1" -v t="$2" 'BEGIN { split(t, a, "m "); s = a[1] * 60 + a[2]; if (s <= 0) s = 0.01; printf "%.2f", kib / 1024 / s }'
}

@test "virtio-net: bulk transfers both ways arrive intact, through the offloads" {
	local hold blob=$BATS_TEST_TMPDIR/blob up=$BATS_TEST_TMPDIR/up
	hold=$(hold_fifo)
	head -c "$((BULK_KIB * 1024))" /dev/urandom >"$blob"
	local want
	want=$(md5sum <"$blob" | cut -d' ' -f1)
	# host -> guest: served once on port 7001; guest -> host: received once on port 7002.
	busybox nc -l -p 7001 <"$blob" >/dev/null 2>&1 3>&- &
	HELPERS+=($!)
	busybox nc -l -p 7002 <>"$hold" >"$up" 2>/dev/null 3>&- &
	HELPERS+=($!)
	# Guest: download (timed), checksum; make a file of its own, checksum it, upload (timed).
	local cmd="$GUEST_UP && mkdir -p /tmp && mkfifo /tmp/hold && sleep 1"
	cmd+=" && time nc $HOST_IP 7001 <>/tmp/hold >/tmp/down && echo down \$(md5sum </tmp/down)"
	cmd+=" && head -c $((BULK_KIB * 1024)) /dev/urandom >/tmp/up && echo up \$(md5sum </tmp/up)"
	cmd+=" && time nc $HOST_IP 7002 </tmp/up && echo done"
	run timeout -k 5 600 "$HYRUN" --debug vm run --kernel "$GUEST_DIR/vmlinux" \
		--initrd "$GUEST_INITRD" --net "$TAP" -- sh -c "$cmd" </dev/null
	assert_success
	assert_line done
	assert_line --partial "down $want"
	local up_sum
	up_sum=$(md5sum <"$up" | cut -d' ' -f1)
	assert_line --partial "up $up_sum"
	assert_equal "$(stat -c %s "$up")" "$((BULK_KIB * 1024))"
	# The VMM's counters (--debug): nothing dropped or broken on the way.
	assert_output --regexp 'virtio-net hytap0: rx [0-9]+ frames [0-9]+ bytes, 0 errors, [0-9]+ stalls'
	assert_output --regexp 'tx [0-9]+ frames [0-9]+ bytes, 0 dropped, 0 errors'
	# Offloads in use both ways: without TSO no frame exceeds 1514 bytes, so neither can the
	# average (host->guest: the tap hands GSO frames up; guest->host: the guest's TSO).
	local line rxf rxb txf txb
	line=$(grep 'virtio-net hytap0:' <<<"$output")
	read -r rxf rxb txf txb < <(sed -E 's/.*rx ([0-9]+) frames ([0-9]+) bytes.*tx ([0-9]+) frames ([0-9]+) bytes.*/\1 \2 \3 \4/' <<<"$line")
	# Throughput (TCG: only relative numbers mean anything), in the test's log and a file.
	local times down_t up_t
	times=$(grep -E '^real' <<<"$output" | sed 's/^real[[:space:]]*//')
	down_t=$(sed -n 1p <<<"$times")
	up_t=$(sed -n 2p <<<"$times")
	{
		echo "host->guest: ${BULK_KIB} KiB in $down_t = $(rate "$BULK_KIB" "$down_t") MiB/s"
		echo "guest->host: ${BULK_KIB} KiB in $up_t = $(rate "$BULK_KIB" "$up_t") MiB/s"
		echo "average frame: rx $((rxb / rxf)) tx $((txb / txf)) bytes"
		grep 'virtio-net hytap0:' <<<"$output"
	} >"$BATS_FILE_TMPDIR/throughput"
	sed 's/^/# /' "$BATS_FILE_TMPDIR/throughput" >&3 # TAP comments
	mkdir -p "$VMHOST_TOP/build/tests" && cp "$BATS_FILE_TMPDIR/throughput" "$VMHOST_TOP/build/tests/net-throughput.txt"
	assert [ "$((rxb / rxf))" -gt 1514 ]
	assert [ "$((txb / txf))" -gt 1514 ]
}

@test "virtio-net: a missing tap is a clear error and no VM starts" {
	run vm --net nosuchtap9 -- echo should-not-run
	assert_failure
	assert_output --partial "--net nosuchtap9: no such tap device"
	refute_output --partial should-not-run
	# not created behind our back either
	run ip link show nosuchtap9
	assert_failure
}

@test "virtio-net: --net rejects a malformed mac or mtu before booting" {
	run vm --net "$TAP,mac=01:00:5e:00:00:01" -- true
	assert_failure
	assert_output --partial "mac must be a unicast"
	run vm --net "$TAP,mtu=20" -- true
	assert_failure
	assert_output --partial "mtu must be 68 to 65535"
	run vm --net "$TAP,speed=10" -- true
	assert_failure
	assert_output --partial "unknown option 'speed=10'"
}
