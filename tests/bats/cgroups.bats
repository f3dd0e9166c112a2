#!/usr/bin/env bats
# cgroups on a v1 or hybrid host (the build machines): every linux.resources setting read back from
# the cgroup files, the effects that can be observed (OOM kill reported by `events`, a fork bomb
# held at pids.max, pause/resume), update, events --stats, and that nothing stays behind.
# Pure cgroup v2 hosts: tests/bats/cgroups-v2.bats.

load helpers

setup() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		skip "pure cgroup v2 host: see cgroups-v2.bats"
	fi
	setup_hyrun
	ID=cg-$BATS_TEST_NUMBER-$$
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	UNIFIED=
	if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		UNIFIED=/sys/fs/cgroup/unified
	fi
}

teardown() {
	teardown_hyrun
}

# The container's directory in a v1 controller's hierarchy.
cgdir() {
	echo "/sys/fs/cgroup/$1/hyrun/$ID"
}

cgcat() {
	cat "$(cgdir "$1")/$2"
}

# Every directory the container's cgroup has (or had) on this host.
all_cgdirs() {
	local m
	for m in $(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts); do
		echo "$m/hyrun/$ID"
	done
}

# Waits up to 30 s: the KVM test host under TCG can be slow to start processes. A condition
# with $(...) must be quoted for eval, or it would be expanded once, before the first try.
wait_until() {
	local i
	for i in $(seq 1 300); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

init_pid() {
	hy state "$ID" | jq -r .pid
}

# create + start of the bundle; fails the test when the lifecycle does.
# Not under `run`: the waiting container keeps its stdio, which `run` would wait for.
create_container() {
	hy create --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/create.log" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/create.log"
		return 1
	}
}

start_container() {
	create_container
	run hy start "$ID"
	assert_success
}

counter() {
	local c
	c=$(cat "/proc/$(init_pid)/root/tmp/counter" 2>/dev/null)
	echo "${c:-0}"
}

counter_loop_bundle() {
	make_bundle "$BUNDLE" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/c.new; mv /tmp/c.new /tmp/counter; usleep 20000; done'
}

# The blkio weight file a child cgroup gets here (CFQ's, BFQ's or none: an I/O scheduler matter).
blkio_weight_file() {
	local probe=/sys/fs/cgroup/blkio/hyrun-probe-$ID f=
	mkdir "$probe"
	if [ -e "$probe/blkio.weight" ]; then
		f=blkio.weight
	elif [ -e "$probe/blkio.bfq.weight" ]; then
		f=blkio.bfq.weight
	fi
	rmdir "$probe"
	echo "$f"
}

@test "config.json resources are written to the cgroup files" {
	make_bundle "$BUNDLE" sleep 60
	local weight_file
	weight_file=$(blkio_weight_file)
	bundle_jq "$BUNDLE" '.linux.resources += {
		memory: {limit: 67108864, reservation: 33554432, swap: 134217728, swappiness: 20,
			disableOOMKiller: false},
		cpu: {shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0"},
		pids: {limit: 42},
		hugepageLimits: [{pageSize: "2MB", limit: 4194304}]}'
	[ -z "$weight_file" ] || bundle_jq "$BUNDLE" '.linux.resources.blockIO = {weight: 300}'
	[ -e /sys/fs/cgroup/hugetlb ] || [ -n "$UNIFIED" ] ||
		bundle_jq "$BUNDLE" 'del(.linux.resources.hugepageLimits)'
	create_container
	[ "$(cgcat memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(cgcat memory memory.soft_limit_in_bytes)" = 33554432 ]
	[ "$(cgcat memory memory.swappiness)" = 20 ]
	[ "$(cgcat cpu cpu.shares)" = 512 ]
	[ "$(cgcat cpu cpu.cfs_quota_us)" = 50000 ]
	[ "$(cgcat cpu cpu.cfs_period_us)" = 100000 ]
	[ "$(cgcat cpuset cpuset.cpus)" = 0 ]
	[ "$(cgcat cpuset cpuset.mems)" = 0 ]
	[ "$(cgcat pids pids.max)" = 42 ]
	# CFQ's blkio.weight is gone from current kernels; BFQ's file takes the value there.
	[ -z "$weight_file" ] || [ "$(cgcat blkio "$weight_file")" = 300 ]
	# memsw only exists with swap accounting; without it the swap value is ignored
	[ ! -e "$(cgdir memory)/memory.memsw.limit_in_bytes" ] ||
		[ "$(cgcat memory memory.memsw.limit_in_bytes)" = 134217728 ]
	# hugetlb: a v1 controller, or on hybrid hosts like these the unified mount's.
	if [ -d /sys/fs/cgroup/hugetlb ]; then
		[ "$(cgcat hugetlb hugetlb.2MB.limit_in_bytes)" = 4194304 ]
	elif [ -n "$UNIFIED" ] && grep -qw hugetlb "$UNIFIED/cgroup.controllers"; then
		[ "$(cat "$UNIFIED/hyrun/$ID/hugetlb.2MB.max")" = 4194304 ]
	fi
	# The init process is in every hierarchy, the unified one included.
	local pid
	pid=$(init_pid)
	run cat "/proc/$pid/cgroup"
	assert_line --regexp "^[0-9]+:memory:/hyrun/$ID\$"
	[ -z "$UNIFIED" ] || assert_line "0::/hyrun/$ID"
}

@test "the device list: deny all, the config's rules, then the standard devices" {
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" '.linux.resources.devices += [
		{allow: true, type: "c", major: 10, minor: 200, access: "rw"},
		{allow: true, type: "b", major: 7, access: "r"}]'
	create_container
	run cgcat devices devices.list
	assert_success
	refute_line "a *:* rwm"
	assert_line "c 10:200 rw"
	assert_line "b 7:* r"
	assert_line "c 1:3 rwm"
	assert_line "c 136:* rwm"
	assert_line "c *:* m"
}

@test "delete removes every cgroup directory, in every hierarchy" {
	make_bundle "$BUNDLE" sleep 60
	create_container
	local d n=0
	for d in $(all_cgdirs); do
		case $d in */systemd/*) continue ;; esac
		[ -d "$d" ]
		n=$((n + 1))
	done
	[ "$n" -ge 5 ]
	run hy delete --force "$ID"
	assert_success
	for d in $(all_cgdirs); do
		[ ! -e "$d" ]
	done
}

@test "a cgroupsPath with .. is refused and nothing is created" {
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" ".linux.cgroupsPath = \"/hyrun/../../$ID-escape\""
	run hy create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output --partial "'..' is not allowed"
	run ls -A "$HYRUN_ROOT"
	assert_output ""
	[ ! -e "/sys/fs/cgroup/memory/$ID-escape" ]
	[ ! -e "$(cgdir memory)" ]
}

@test "an absolute cgroupsPath is used as given; a relative one goes under hyrun's own cgroup" {
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" ".linux.cgroupsPath = \"/hyrun-abs-$ID/leaf\""
	create_container
	[ -d "/sys/fs/cgroup/pids/hyrun-abs-$ID/leaf" ]
	run hy delete --force "$ID"
	assert_success
	[ ! -e "/sys/fs/cgroup/pids/hyrun-abs-$ID/leaf" ]
	rmdir /sys/fs/cgroup/*/"hyrun-abs-$ID" 2>/dev/null || true

	bundle_jq "$BUNDLE" ".linux.cgroupsPath = \"hyrun-rel-$ID\""
	local own
	own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	create_container
	[ -d "/sys/fs/cgroup/memory${own%/}/hyrun-rel-$ID" ]
	run cat "/proc/$(init_pid)/cgroup"
	assert_line --regexp "^[0-9]+:memory:${own%/}/hyrun-rel-$ID\$"
	run hy delete --force "$ID"
	assert_success
	[ ! -e "/sys/fs/cgroup/memory${own%/}/hyrun-rel-$ID" ]
}

@test "--systemd-cgroup without systemd is a clear error and leaves nothing" {
	[ ! -d /run/systemd/system ] || skip "systemd is running here"
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" ".linux.cgroupsPath = \"system.slice:hyrun:$ID\""
	run hy --systemd-cgroup create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output --partial "systemd is not running"
	run ls -A "$HYRUN_ROOT"
	assert_output ""
}

@test "update: usage errors name the flag" {
	run hy update --help
	assert_success
	assert_output --partial "usage: hyrun update"
	assert_output --partial "--memory-swap"
	run hy update --memory 12x "$ID"
	assert_failure
	assert_output --partial "--memory: invalid size '12x'"
	run hy update --cpu-quota abc "$ID"
	assert_failure
	assert_output --partial "--cpu-quota: expected an integer"
	run hy update --blkio-weight 5 "$ID"
	assert_failure
	assert_output --partial "--blkio-weight: expected an integer between 10 and 1000"
	run hy update --cpuset-cpus '0;1' "$ID"
	assert_failure
	assert_output --partial "--cpuset-cpus"
	run hy update "$ID"
	assert_failure
	assert_output --partial "nothing to update"
	run hy update --pids-limit 5 "$ID"
	assert_failure
	assert_output --partial "$ID"
	echo '{"memory": {"limit": "big"}}' >"$BATS_TEST_TMPDIR/bad.json"
	run hy update -r "$BATS_TEST_TMPDIR/bad.json" "$ID"
	assert_failure
	assert_output --partial "bad.json: memory.limit: expected integer"
}

@test "update changes the limits of a running container" {
	counter_loop_bundle
	bundle_jq "$BUNDLE" '.linux.resources += {memory: {limit: 33554432}, pids: {limit: 20}}'
	start_container
	run hy update --memory 64m --memory-reservation 16m --cpu-shares 256 --cpu-quota 30000 \
		--cpu-period 100000 --pids-limit 30 --cpuset-cpus 0 "$ID"
	assert_success
	[ "$(cgcat memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(cgcat memory memory.soft_limit_in_bytes)" = 16777216 ]
	[ "$(cgcat cpu cpu.shares)" = 256 ]
	[ "$(cgcat cpu cpu.cfs_quota_us)" = 30000 ]
	[ "$(cgcat pids pids.max)" = 30 ]
	[ "$(cgcat cpuset cpuset.cpus)" = 0 ]
	# memory+swap: raising both in one update orders the writes (memsw >= limit at each step)
	run hy update --memory 128m --memory-swap 256m "$ID"
	assert_success
	[ "$(cgcat memory memory.limit_in_bytes)" = 134217728 ]
	[ ! -e "$(cgdir memory)/memory.memsw.limit_in_bytes" ] ||
		[ "$(cgcat memory memory.memsw.limit_in_bytes)" = 268435456 ]
	# -r FILE and -r - (stdin) take a resources object; flags override it
	echo '{"pids": {"limit": 11}, "memory": {"limit": 100663296}}' >"$BATS_TEST_TMPDIR/r.json"
	run hy update -r "$BATS_TEST_TMPDIR/r.json" --pids-limit 12 "$ID"
	assert_success
	[ "$(cgcat pids pids.max)" = 12 ]
	[ "$(cgcat memory memory.limit_in_bytes)" = 100663296 ]
	echo '{"pids": {"limit": -1}}' | hy update -r - "$ID"
	[ "$(cgcat pids pids.max)" = max ]
	# realtime budget (kernels with RT group scheduling): the ancestors are raised for it
	if [ -e "$(cgdir cpu)/cpu.rt_runtime_us" ]; then
		run hy update --cpu-rt-period 1000000 --cpu-rt-runtime 1000 "$ID"
		assert_success
		[ "$(cgcat cpu cpu.rt_runtime_us)" = 1000 ]
		[ "$(cgcat cpu cpu.rt_period_us)" = 1000000 ]
	fi
	# the container kept running through all of it
	run hy state "$ID"
	assert_output --partial '"status": "running"'
}

@test "pause freezes every process and resume lets them continue" {
	counter_loop_bundle
	start_container
	wait_until eval '[ "$(counter)" -gt 2 ]'
	run hy pause "$ID"
	assert_success
	[ "$(cgcat freezer freezer.state)" = FROZEN ]
	run hy state "$ID"
	assert_output --partial '"status": "paused"'
	local a b
	a=$(counter)
	sleep 0.5
	b=$(counter)
	[ "$a" = "$b" ]
	# pausing twice, or resuming a running container, is refused
	run hy pause "$ID"
	assert_failure
	assert_output --partial "is paused, not running"
	run hy resume "$ID"
	assert_success
	[ "$(cgcat freezer freezer.state)" = THAWED ]
	wait_until eval '[ "$(counter)" -gt "$b" ]'
	run hy state "$ID"
	assert_output --partial '"status": "running"'
	run hy resume "$ID"
	assert_failure
	assert_output --partial "is running, not paused"
}

@test "pause of a created (not started) container is refused" {
	make_bundle "$BUNDLE" sleep 60
	create_container
	run hy pause "$ID"
	assert_failure
	assert_output --partial "is created, not running"
	run hy pause --help
	assert_success
	assert_output --partial "usage: hyrun pause ID"
	run hy resume
	assert_failure
	assert_output --partial "missing container id"
}

@test "a process over its memory limit is OOM-killed and events reports it" {
	# tail buffers an endless line of zeros: memory grows until the limit.
	make_bundle "$BUNDLE" sh -c 'while [ ! -e /tmp/go ]; do usleep 20000; done; tail /dev/zero'
	bundle_jq "$BUNDLE" '.linux.resources += {memory: {limit: 16777216, swap: 16777216}}'
	start_container
	hy events --interval 1s "$ID" >"$BATS_TEST_TMPDIR/events" 2>&1 &
	local events_pid=$!
	# events is listening once it printed its first stats: only then may the memory grow
	wait_until grep -q '"type":"stats"' "$BATS_TEST_TMPDIR/events"
	touch "/proc/$(init_pid)/root/tmp/go"
	wait_until grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events"
	run cat "$BATS_TEST_TMPDIR/events"
	assert_line "{\"type\":\"oom\",\"id\":\"$ID\"}"
	# the counter in the cgroup agrees, and events exits once the container stopped
	run cgcat memory memory.oom_control
	assert_line --regexp '^oom_kill [1-9]'
	wait_until [ ! -d "/proc/$events_pid" ] || kill "$events_pid"
	run hy state "$ID"
	assert_output --partial '"status": "stopped"'
}

@test "a fork bomb stops at the pids limit" {
	# busybox sh gives up at the first failed fork: the forking shell is a child, so that the
	# init survives to report.
	make_bundle "$BUNDLE" sh -c \
		'sh -c "i=0; while [ \$i -lt 40 ]; do sleep 30 & i=\$((i+1)); done; sleep 30"; echo forked >/tmp/done; exec sleep 60'
	bundle_jq "$BUNDLE" '.linux.resources += {pids: {limit: 10}}'
	start_container
	wait_until eval '[ -e "/proc/$(init_pid)/root/tmp/done" ]'
	[ "$(cgcat pids pids.current)" -le 10 ]
	[ "$(cgcat pids pids.current)" -ge 9 ]
	run cgcat pids pids.events
	assert_line --regexp '^max [1-9]'
}

@test "events --stats prints runc's stats JSON" {
	make_bundle "$BUNDLE" sleep 60
	bundle_jq "$BUNDLE" '.linux.resources += {memory: {limit: 67108864}, pids: {limit: 50}}'
	start_container
	run hy events --stats "$ID"
	assert_success
	echo "$output" | jq -e --arg id "$ID" '
		.type == "stats" and .id == $id and
		(.data.cpu.usage.total | type) == "number" and
		(.data.cpu.usage.percpu | type) == "array" and
		(.data.cpu.usage.kernel | type) == "number" and
		(.data.cpu.usage.user | type) == "number" and
		(.data.cpu.throttling.periods | type) == "number" and
		.data.memory.usage.limit == 67108864 and
		(.data.memory.usage.usage | type) == "number" and
		(.data.memory.swap.limit | type) == "number" and
		(.data.memory.raw | type) == "object" and
		.data.pids.current >= 1 and .data.pids.limit == 50 and
		(.data.blkio.ioServiceBytesRecursive | type) == "array" and
		(.data.hugetlb | type) == "object"'
	run hy events --interval 0 "$ID"
	assert_failure
	assert_output --partial "--interval: expected a positive duration"
	run hy events --stats "nosuch-$ID"
	assert_failure
	assert_output --partial "nosuch-$ID"
}

@test "the init and an exec'd process are in the container's cgroup in every hierarchy" {
	make_bundle "$BUNDLE" sleep 60
	start_container
	hy exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 50
	local pid n
	for pid in $(init_pid) $(cat "$BATS_TEST_TMPDIR/exec.pid"); do
		# Every hierarchy hyrun manages (all but systemd's named one) has the container's path.
		run awk -F: -v want="/hyrun/$ID" '$2 != "name=systemd" && $3 != want' "/proc/$pid/cgroup"
		assert_output ""
		n=$(grep -vc name=systemd "/proc/$pid/cgroup")
		[ "$n" -ge 5 ]
	done
}
