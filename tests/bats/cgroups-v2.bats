#!/usr/bin/env bats
# cgroups on a pure cgroup v2 host: the OCI -> v2 conversions read back from the files, the eBPF
# device program, cgroup.freeze, cgroup.kill, unified passthrough, stats and cleanup.
#
# On a pure v2 host (the KVM test host booted with VMHOST_CGROUP=v2, see cgroups/cgroups.mk) every
# hyrun command runs as is. On a hybrid host (the build machines) each command runs in a private
# mount namespace with the cgroup2 hierarchy mounted at /sys/fs/cgroup, so hyrun sees a pure v2
# layout; there the hierarchy only offers the controllers the v1 mounts left to it (hugetlb on
# these machines), and the checks for the others are skipped with that reason.

load helpers

setup() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		V2=/sys/fs/cgroup
		PRIVATE=
	elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		V2=/sys/fs/cgroup/unified
		PRIVATE=1
	else
		skip "no cgroup2 hierarchy on this host"
	fi
	setup_hyrun
	ID=cg2-$BATS_TEST_NUMBER-$$
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	DIR=$V2/hyrun/$ID
}

teardown() {
	[ -z "${HYRUN_ROOT:-}" ] && return
	local id
	for id in $(ls "$HYRUN_ROOT" 2>/dev/null); do
		hy2 delete --force "$id" >/dev/null 2>&1 || true
	done
	teardown_hyrun
}

# hyrun as it runs on a pure v2 host.
hy2() {
	if [ -n "$PRIVATE" ]; then
		unshare -m --propagation private sh -c \
			'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' sh \
			"$HYRUN" --root "$HYRUN_ROOT" "$@"
	else
		"$HYRUN" --root "$HYRUN_ROOT" "$@"
	fi
}

has_ctrl() {
	grep -qw "$1" "$V2/cgroup.controllers"
}

# Waits up to 30 s: the KVM test host under TCG can be slow to start processes.
wait_until() {
	local i
	for i in $(seq 1 300); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# Not under `run`: the waiting container keeps its stdio, which `run` would wait for.
create_container() {
	hy2 create --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/create.log" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/create.log"
		return 1
	}
}

start_container() {
	create_container
	run hy2 start "$ID"
	assert_success
}

init_pid() {
	hy2 state "$ID" | jq -r .pid
}

counter() {
	local c
	c=$(cat "/proc/$(init_pid)/root/tmp/counter" 2>/dev/null)
	echo "${c:-0}"
}

@test "v2: resources are written with the OCI conversions" {
	make_bundle "$BUNDLE" sleep 60
	local res='{}'
	has_ctrl memory && res=$(jq -c '. + {memory: {limit: 67108864, reservation: 33554432,
		swap: 134217728}}' <<<"$res")
	has_ctrl cpu && res=$(jq -c '. + {cpu: {shares: 1024, quota: 50000, period: 100000}}' <<<"$res")
	has_ctrl cpuset && res=$(jq -c '.cpu += {cpus: "0", mems: "0"}' <<<"$res")
	has_ctrl pids && res=$(jq -c '. + {pids: {limit: 42}}' <<<"$res")
	has_ctrl io && res=$(jq -c '. + {blockIO: {weight: 500}}' <<<"$res")
	has_ctrl hugetlb && res=$(jq -c '. + {hugepageLimits: [{pageSize: "2MB", limit: 4194304}]}' <<<"$res")
	bundle_jq "$BUNDLE" ".linux.resources += $res"
	create_container
	[ -d "$DIR" ]
	grep -qx "$(init_pid)" "$DIR/cgroup.procs"
	if has_ctrl memory; then
		[ "$(cat "$DIR/memory.max")" = 67108864 ]
		[ "$(cat "$DIR/memory.low")" = 33554432 ]
		# OCI swap is memory+swap; memory.swap.max is the swap alone
		[ ! -e "$DIR/memory.swap.max" ] || [ "$(cat "$DIR/memory.swap.max")" = 67108864 ]
	fi
	if has_ctrl cpu; then
		[ "$(cat "$DIR/cpu.weight")" = 39 ] # 1 + (1024 - 2) * 9999 / 262142
		[ "$(cat "$DIR/cpu.max")" = "50000 100000" ]
	fi
	if has_ctrl cpuset; then
		[ "$(cat "$DIR/cpuset.cpus")" = 0 ]
	fi
	has_ctrl pids && [ "$(cat "$DIR/pids.max")" = 42 ]
	if has_ctrl io; then
		if [ -e "$DIR/io.weight" ]; then
			[ "$(cat "$DIR/io.weight")" = "default 4950" ] # 1 + (500 - 10) * 9999 / 990
		else
			[ "$(cat "$DIR/io.bfq.weight")" = "default 500" ]
		fi
	fi
	has_ctrl hugetlb && [ "$(cat "$DIR/hugetlb.2MB.max")" = 4194304 ]
	true
}

@test "v2: a resource whose controller the hierarchy lacks is a clear error" {
	has_ctrl memory && skip "the memory controller is available here"
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" '.linux.resources += {memory: {limit: 67108864}}'
	run hy2 create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output --partial "the memory cgroup controller is not available"
	run ls -A "$HYRUN_ROOT"
	assert_output ""
	[ ! -e "$DIR" ]
}

@test "v2: unified keys are written as given; core files and unknown files are refused" {
	make_bundle "$BUNDLE" sleep 60
	local key=pids.max val=33
	if ! has_ctrl pids; then
		has_ctrl hugetlb || skip "neither pids nor hugetlb on this cgroup2 hierarchy"
		key=hugetlb.2MB.max val=8388608
	fi
	bundle_jq "$BUNDLE" ".linux.resources.unified = {\"$key\": \"$val\"}"
	create_container
	[ "$(cat "$DIR/$key")" = "$val" ]
	run hy2 delete --force "$ID"
	assert_success

	bundle_jq "$BUNDLE" '.linux.resources.unified = {"cgroup.procs": "1"}'
	run hy2 create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output --partial "cgroup core file may not be set"
	bundle_jq "$BUNDLE" '.linux.resources.unified = {"nosuch.knob": "1"}'
	run hy2 create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output --partial "unified key 'nosuch.knob': no such file"
	run ls -A "$HYRUN_ROOT"
	assert_output ""
	[ ! -e "$DIR" ]
}

@test "v2: the eBPF device program denies what the device list does not allow" {
	# /dev/kmsg (c 1:11) takes writes without any capability: a refused open is the cgroup's
	make_bundle "$BUNDLE" sh -c \
		'(echo hyrun-cgroups-v2-test >/dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; echo x >/dev/null && echo null-ok'
	# the node exists in the container, but the (default deny) device list does not allow it
	bundle_jq "$BUNDLE" '.linux.devices = [{path: "/dev/kmsg", type: "c", major: 1, minor: 11}]'
	run hy2 run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_line kmsg-denied
	assert_line null-ok
	# allowed for reading only: writing stays refused
	bundle_jq "$BUNDLE" '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "r"}]'
	run hy2 run --bundle "$BUNDLE" "$ID-b"
	assert_success
	assert_line kmsg-denied
	bundle_jq "$BUNDLE" '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "w"}]'
	run hy2 run --bundle "$BUNDLE" "$ID-c"
	assert_success
	assert_line kmsg-open
}

@test "v2: pause and resume through cgroup.freeze" {
	make_bundle "$BUNDLE" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/c.new; mv /tmp/c.new /tmp/counter; usleep 20000; done'
	start_container
	wait_until eval '[ "$(counter)" -gt 2 ]'
	run hy2 pause "$ID"
	assert_success
	grep -qx "frozen 1" "$DIR/cgroup.events"
	local a b
	a=$(counter)
	sleep 0.5
	b=$(counter)
	[ "$a" = "$b" ]
	run hy2 resume "$ID"
	assert_success
	grep -qx "frozen 0" "$DIR/cgroup.events"
	wait_until eval '[ "$(counter)" -gt "$b" ]'
}

@test "v2: kill --all reaches every process; delete removes the cgroup" {
	make_bundle "$BUNDLE" sh -c 'sleep 60 & sleep 60 & sleep 60 & wait'
	start_container
	wait_until eval '[ "$(wc -l <"$DIR/cgroup.procs")" -ge 4 ]'
	run hy2 kill --all "$ID" KILL
	assert_success
	wait_until eval '[ "$(wc -l <"$DIR/cgroup.procs")" -eq 0 ]'
	run hy2 delete "$ID"
	assert_success
	[ ! -e "$DIR" ]
}

@test "v2: events --stats reads the v2 files" {
	make_bundle "$BUNDLE" sleep 60
	has_ctrl pids && bundle_jq "$BUNDLE" '.linux.resources += {pids: {limit: 50}}'
	start_container
	run hy2 events --stats "$ID"
	assert_success
	echo "$output" | jq -e '.type == "stats" and (.data.cpu.usage.total | type) == "number"
		and (.data.hugetlb | type) == "object" and (.data.memory.usage | type) == "object"'
	if has_ctrl pids; then
		echo "$output" | jq -e '.data.pids.limit == 50 and .data.pids.current >= 1'
	fi
	if has_ctrl hugetlb; then
		echo "$output" | jq -e '.data.hugetlb["2MB"].usage == 0'
	fi
}

@test "v2: update changes memory.max, cpu.max, cpu.weight and pids.max of a running container" {
	has_ctrl memory && has_ctrl cpu && has_ctrl pids ||
		skip "needs the memory, cpu and pids controllers on the cgroup2 hierarchy"
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" '.linux.resources += {memory: {limit: 33554432}, pids: {limit: 20}}'
	start_container
	run hy2 update --memory 64m --cpu-quota 30000 --cpu-period 100000 --cpu-shares 2048 \
		--pids-limit 30 "$ID"
	assert_success
	[ "$(cat "$DIR/memory.max")" = 67108864 ]
	[ "$(cat "$DIR/cpu.max")" = "30000 100000" ]
	[ "$(cat "$DIR/cpu.weight")" = 79 ] # 1 + (2048 - 2) * 9999 / 262142
	[ "$(cat "$DIR/pids.max")" = 30 ]
	# changing only the period keeps the quota
	run hy2 update --cpu-period 50000 "$ID"
	assert_success
	[ "$(cat "$DIR/cpu.max")" = "30000 50000" ]
	run hy2 update --memory -1 --pids-limit -1 "$ID"
	assert_success
	[ "$(cat "$DIR/memory.max")" = max ]
	[ "$(cat "$DIR/pids.max")" = max ]
}

@test "v2: a process over memory.max is OOM-killed and events reports it" {
	has_ctrl memory || skip "no memory controller on this cgroup2 hierarchy"
	make_bundle "$BUNDLE" sh -c 'while [ ! -e /tmp/go ]; do usleep 20000; done; tail /dev/zero'
	bundle_jq "$BUNDLE" '.linux.resources += {memory: {limit: 16777216, swap: 16777216}}'
	start_container
	hy2 events --interval 1s "$ID" >"$BATS_TEST_TMPDIR/events" 2>&1 &
	# events is listening once it printed its first stats: only then may the memory grow
	wait_until grep -q '"type":"stats"' "$BATS_TEST_TMPDIR/events"
	touch "/proc/$(init_pid)/root/tmp/go"
	wait_until grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events"
	run cat "$BATS_TEST_TMPDIR/events"
	assert_line "{\"type\":\"oom\",\"id\":\"$ID\"}"
	run cat "$DIR/memory.events"
	assert_line --regexp '^oom_kill [1-9]'
}

@test "v2: a fork bomb stops at pids.max" {
	has_ctrl pids || skip "no pids controller on this cgroup2 hierarchy"
	make_bundle "$BUNDLE" sh -c \
		'sh -c "i=0; while [ \$i -lt 40 ]; do sleep 30 & i=\$((i+1)); done; sleep 30"; echo forked >/tmp/done; exec sleep 60'
	bundle_jq "$BUNDLE" '.linux.resources += {pids: {limit: 10}}'
	start_container
	wait_until eval '[ -e "/proc/$(init_pid)/root/tmp/done" ]'
	[ "$(cat "$DIR/pids.current")" -le 10 ]
	run cat "$DIR/pids.events"
	assert_line --regexp '^max [1-9]'
}

@test "v2: the init and an exec'd process are born in the container's cgroup" {
	make_bundle "$BUNDLE" sleep 60
	start_container
	hy2 exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 50
	local pid
	for pid in $(init_pid) $(cat "$BATS_TEST_TMPDIR/exec.pid"); do
		run grep '^0::' "/proc/$pid/cgroup"
		assert_output "0::/hyrun/$ID"
	done
	run cat "$DIR/cgroup.procs"
	assert_line "$(init_pid)"
	assert_line "$(cat "$BATS_TEST_TMPDIR/exec.pid")"
}
