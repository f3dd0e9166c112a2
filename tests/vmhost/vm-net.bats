#!/usr/bin/env bats
# A VM container gets the network of its network namespace, transparently (as Kata does;
# sandbox-vm/host/vm_net.c, sandbox-vm/guest/agent/net.c): in a netns made like podman's (a veth
# with an address and a default route), the guest's interface has the netns's address, MTU and
# ORIGINAL MAC, pings the other end and serves the host; the same bundle at isolation container
# sees the same; after the container the netns is exactly as it was (addresses, MAC, routes, no
# tap, no bridge), also when create fails half-way; a VM container with a netns of its own (only
# lo) still runs, with no network device.
#
# The host end of the veth is 10.200.0.1/24 in the test host's own namespace; the netns end,
# called eth0 there, is 10.200.0.2/24 with MTU 1400 and a default route via 10.200.0.1.

load vm-helpers

setup() {
	setup_hyrun
	require_vm
	B=$BATS_TEST_TMPDIR/bundle
	ID=net-$BATS_TEST_NUMBER-$$
	NS=hynet$BATS_TEST_NUMBER-$$
	HOSTV=hyv$BATS_TEST_NUMBER-$$
	ip netns add "$NS"
	ip link add "$HOSTV" mtu 1400 type veth peer name eth0 netns "$NS"
	ip addr add 10.200.0.1/24 dev "$HOSTV"
	ip link set "$HOSTV" up
	ip -n "$NS" link set eth0 mtu 1400 up
	ip -n "$NS" addr add 10.200.0.2/24 dev eth0
	ip -n "$NS" route add default via 10.200.0.1
	MAC=$(ip netns exec "$NS" cat /sys/class/net/eth0/address)
	# IPv6 duplicate address detection on the link-local address is a passing state, not set-up.
	wait_until 20 bash -c "! ip -n $NS addr | grep -q tentative"
	BEFORE=$(netns_snapshot)
}

teardown() {
	teardown_hyrun
	ip netns del "$NS" 2>/dev/null || true
	ip link del "$HOSTV" 2>/dev/null || true
}

# Everything a user sees of the netns: addresses, links (flags, MTU, MAC, master), routes.
netns_snapshot() {
	ip -n "$NS" -o addr show
	ip -n "$NS" -o link show
	ip -n "$NS" route show table all
}

assert_netns_as_before() {
	local now
	now=$(netns_snapshot)
	if [ "$now" != "$BEFORE" ]; then
		echo "--- netns before:"
		echo "$BEFORE"
		echo "--- netns now:"
		echo "$now"
		fail "the network namespace is not as it was"
	fi
	run ip -n "$NS" -o link show
	refute_output --partial hyrun-tap
	refute_output --partial hyrun-br
	assert_output --partial "link/ether $MAC "
	run ip -n "$NS" -o addr show dev eth0
	assert_output --partial "inet 10.200.0.2/24"
}

# net_bundle ARGS...: the busybox bundle in the netns, isolation vm by annotation, with
# CAP_NET_RAW (ping) and a writable root.
net_bundle() {
	make_bundle "$B" "$@"
	bundle_jq "$B" '.annotations["org.hyrun.isolation"] = "vm" | .root.readonly = false
		| .linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/'"$NS"'" else . end)
		| .process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
}

# The probe: what the container sees of its network, one item per line (one line of shell:
# make_bundle takes one argument per line).
PROBE='ip -4 addr show dev eth0 | grep -o "inet [0-9./]*";
echo "mac=$(cat /sys/class/net/eth0/address)";
echo "mtu=$(cat /sys/class/net/eth0/mtu)";
ip route | awk "/^default/ {print \$1, \$2, \$3, \$4, \$5}";
if ping -c 3 -W 5 10.200.0.1 >/tmp/ping.out 2>&1; then echo ping-ok; else cat /tmp/ping.out; fi;
grep round-trip /tmp/ping.out >&2'
PROBE=${PROBE//$'\n'/ }

@test "vm: the guest has the netns's address, original MAC, MTU and default route, and pings the peer; the netns is restored after" {
	net_bundle /bin/sh -c "$PROBE"
	iso_run vm "$B" "$ID"
	assert_equal "${STATUS[vm]}" 0
	assert_equal "${OUT[vm]}" "inet 10.200.0.2/24
mac=$MAC
mtu=1400
default via 10.200.0.1 dev eth0
ping-ok"
	echo "# guest -> peer ping: ${ERR[vm]}" >&3
	assert_netns_as_before

	# The same bundle as a plain container sees the same network.
	iso_run container "$B" "$ID-c"
	assert_same_at_both_levels
	assert_netns_as_before
}

@test "vm: the host reaches a server in the guest at the netns's address (ping, HTTP transfer); kill TERM restores the netns" {
	net_bundle /bin/httpd -f -p 8080 -h /www
	mkdir -p "$B/rootfs/www"
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$B/rootfs/www/blob"
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$HYRUN_ROOT" run -d -b "$B" "$ID" \
		</dev/null >"$BATS_TEST_TMPDIR/run.log" 2>&1 3>&- ||
		{ cat "$BATS_TEST_TMPDIR/run.log"; fail "run -d failed"; }
	# While it runs: tap and bridge in the netns, the address gone from its eth0.
	run ip -n "$NS" -o link show
	assert_output --partial "hyrun-tap0"
	assert_output --partial "master hyrun-br0"
	run ip -n "$NS" -o addr show dev eth0
	refute_output --partial "10.200.0.2"

	local got=$BATS_TEST_TMPDIR/got t0 t1
	wait_until 120 curl -sSf -m 10 -o "$got" http://10.200.0.2:8080/blob ||
		{ cat "$HYRUN_ROOT/$ID/vm.log" 2>/dev/null | tail -20; fail "no HTTP answer from the guest"; }
	t0=$(date +%s%N)
	curl -sSf -m 120 -o "$got" http://10.200.0.2:8080/blob
	t1=$(date +%s%N)
	cmp "$got" "$B/rootfs/www/blob"
	echo "# host <- guest HTTP: 8 MiB in $(((t1 - t0) / 1000000)) ms: $(awk "BEGIN {printf \"%.2f\", 8 * 1e9 / ($t1 - $t0)}") MiB/s" >&3
	# Measurements (not assertions: the HTTP transfer above is the reachability check).
	echo "# host -> guest TCP connect: $(curl -sS -m 30 -o /dev/null -w '%{time_connect}' http://10.200.0.2:8080/) s" >&3
	echo "# host -> guest ping: $(busybox ping -c 5 -i 0.2 -W 5 10.200.0.2 2>&1 | grep -E 'round-trip|received' | tr '\n' ' ')" >&3

	hy kill "$ID" TERM
	wait_until 120 state_is "$ID" stopped || fail "the VM container did not stop after TERM"
	hy delete "$ID"
	assert_netns_as_before
}

@test "vm: a set-up that fails half-way (the bridge name is taken) fails create and leaves the netns as it was" {
	ip -n "$NS" link add hyrun-br0 type bridge
	BEFORE=$(netns_snapshot)
	net_bundle /bin/true
	iso_run vm "$B" "$ID"
	assert_not_equal "${STATUS[vm]}" 0
	assert_equal "${OUT[vm]}" ""
	[[ "${ERR[vm]}" == *"network: eth0: bridge hyrun-br0: create: File exists"* ]] ||
		fail "unexpected error: ${ERR[vm]}"
	local now
	now=$(netns_snapshot)
	assert_equal "$now" "$BEFORE"
}

@test "vm: a container with a network namespace of its own (only lo) has no network device" {
	make_bundle "$B" /bin/sh -c 'ls /sys/class/net; ip -4 addr show dev lo | grep -o "inet [0-9./]*"'
	iso_run vm "$B" "$ID"
	assert_equal "${STATUS[vm]}" 0
	assert_equal "${OUT[vm]}" "lo
inet 127.0.0.1/8"
}
