#!/usr/bin/env bats
# The virtio-balloon of hyrun's VMM and `hyrun update --memory` on a VM container: one container
# booted with a 288 MiB limit (256 MiB guest + the VMM's 32 MiB) for the whole file (each boot costs
# tens of seconds under the emulated test host). Shrinking takes MemTotal away in the guest (the
# driver without DEFLATE_ON_OOM removes ballooned pages from totalram), sets the cgroup limit, and
# releases the host pages the guest had touched (the VMM's RSS drops); growing gives them back;
# above the boot size is an error. Then `hyrun vm run --balloon` driven through the control socket.
# Numbers (RSS before/after, time to reach the target) are printed as "# ..." lines.

load vm-helpers

MIB=$((1024 * 1024))

setup_file() {
	BROOT=$(mktemp -d /run/hyrun-balloon.XXXXXX)
	export BROOT
}

teardown_file() {
	"$HYRUN" --root "$BROOT" delete --force balloon-vm >/dev/null 2>&1 || true
	rm -rf "$BROOT"
}

hb() {
	"$HYRUN" --root "$BROOT" "$@"
}

# The shared VM container: sleeps; /fill is a 200 MiB tmpfs in the guest to dirty guest memory.
start_vm() {
	require_vm
	local b=$BATS_FILE_TMPDIR/bundle
	[ "$(hb state balloon-vm 2>/dev/null | jq -r .status)" = running ] && return 0
	rm -rf "$b"
	make_bundle "$b" /bin/sh -c 'while :; do sleep 1; done'
	mkdir -p "$b/rootfs/fill"
	bundle_jq "$b" ".linux.resources.memory.limit = $((288 * MIB))"
	bundle_jq "$b" '.mounts += [{"destination": "/fill", "type": "tmpfs", "source": "tmpfs",
		"options": ["size=200m"]}]'
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$BROOT" --isolation=vm run -d -b "$b" balloon-vm \
		</dev/null >"$BATS_FILE_TMPDIR/run.log" 2>&1 3>&- ||
		{ cat "$BATS_FILE_TMPDIR/run.log"; fail "run -d balloon-vm failed"; }
	wait_until "$VM_TIMEOUT" bx true || fail "the guest never answered exec"
}

bx() {
	timeout 120 "$HYRUN" --root "$BROOT" exec balloon-vm "$@"
}

mem_total_kib() {
	bx cat /proc/meminfo | awk '/^MemTotal:/ {print $2}'
}

vmm_pid() {
	hb state balloon-vm | jq -r .pid
}

rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# The cgroup v2 memory.max of the VMM's cgroup.
memory_max() {
	local cg
	cg=$(awk -F: '$1 == "0" {print $3}' "/proc/$(vmm_pid)/cgroup")
	cat "/sys/fs/cgroup$cg/memory.max"
}

control() {
	echo "$BROOT/balloon-vm/vm.ctl"
}

# Measurements, shown in the bats output.
note() {
	echo "# $*" >&3
}

@test "update --memory shrinks a VM container: MemTotal drops by the balloon, memory.max follows, the VMM's RSS drops" {
	start_vm
	local t0 t1 pid rss0 rss1 start end
	t0=$(mem_total_kib)
	echo "$t0" >"$BATS_FILE_TMPDIR/memtotal-boot"
	note "MemTotal at boot: $t0 kB"
	[ "$t0" -gt $((200 * 1024)) ] && [ "$t0" -le $((256 * 1024)) ] || fail "MemTotal $t0 kB for a 256 MiB guest"
	# Dirty 150 MiB of guest memory, then free it in the guest: the host still holds the pages.
	run bx sh -c 'dd if=/dev/zero of=/fill/f bs=1M count=150 2>/dev/null && sync && rm /fill/f && echo filled'
	assert_success
	assert_output filled
	pid=$(vmm_pid)
	rss0=$(rss_kib "$pid")
	echo "VMM RSS before: $rss0 kB"
	[ "$rss0" -gt $((150 * 1024)) ] || fail "the VMM's RSS ($rss0 kB) does not show the 150 MiB the guest touched"

	# 160 MiB: 128 MiB for the guest, the balloon takes 128 MiB.
	start=$(date +%s.%N)
	run hb update --memory 160m balloon-vm
	end=$(date +%s.%N)
	assert_success
	note "shrink 256 -> 128 MiB guest: update returned after $(echo "$end - $start" | bc) s"
	run "$HYRUN" vm balloon-info "$(control)"
	assert_success
	assert_output --regexp 'memory_mib=256 target_mib=128 actual_mib=128 '
	assert_output --regexp 'rejected_pfns=0( |$)'
	assert_equal "$(memory_max)" $((160 * MIB))

	t1=$(mem_total_kib)
	echo "MemTotal after: $t1 kB"
	local drop=$((t0 - t1))
	[ "$drop" -ge $((126 * 1024)) ] && [ "$drop" -le $((130 * 1024)) ] ||
		fail "MemTotal dropped by $drop kB, expected about $((128 * 1024))"

	rss1=$(rss_kib "$pid")
	note "VMM RSS: $rss0 kB before inflating, $rss1 kB after (limit $((160 * 1024)) kB)"
	[ "$rss1" -lt $((rss0 - 64 * 1024)) ] || fail "the VMM's RSS only went from $rss0 to $rss1 kB"
	[ "$rss1" -lt $((160 * 1024)) ]
	# the guest still works
	run bx echo still-there
	assert_output still-there
}

@test "update --memory grows it back: MemTotal returns, memory.max follows" {
	start_vm
	local t0 boot
	t0=$(mem_total_kib)
	boot=$(cat "$BATS_FILE_TMPDIR/memtotal-boot")
	run hb update --memory 288m balloon-vm
	assert_success
	assert_equal "$(memory_max)" $((288 * MIB))
	local start=$SECONDS
	wait_until 60 eval '[ "$(mem_total_kib)" -eq "$boot" ]' ||
		fail "MemTotal is $(mem_total_kib) kB, was $t0 kB before growing and $boot kB at boot"
	note "grow back to 256 MiB: MemTotal back to $boot kB within $((SECONDS - start)) s"
	run "$HYRUN" vm balloon-info "$(control)"
	assert_output --regexp 'target_mib=0 actual_mib=0 '
}

@test "update --memory above the boot size: a clear error naming it, nothing changed" {
	start_vm
	local before
	before=$(memory_max)
	run hb update --memory 512m balloon-vm
	assert_failure
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^hyrun: .*booted with 256 MiB.*at most 288 MiB'
	assert_equal "$(memory_max)" "$before"
	run hb update --memory 64m balloon-vm
	assert_failure
	assert_output --partial "at least 96 MiB"
	assert_equal "$(state_of_b)" running
}

state_of_b() {
	hb state balloon-vm | jq -r .status
}

@test "update --memory when the guest does not give the memory back: an error after the wait, the cgroup limit is not lowered" {
	start_vm
	local before start
	before=$(memory_max)
	# A guest that never inflates: its vCPUs parked through the VMM's control socket.
	run "$HYRUN" vm pause "$(control)"
	assert_success
	start=$SECONDS
	run hb update --memory 160m balloon-vm
	assert_failure
	assert_output --regexp 'memory limit 160 MiB: the limit stays as it was: the guest gave back only 0 of 128 MiB within 10 s'
	note "a guest that does not inflate: update failed after $((SECONDS - start)) s"
	assert_equal "$(memory_max)" "$before"
	# the balloon went back to its old size; the guest goes on once resumed
	run "$HYRUN" vm balloon-info "$(control)"
	assert_output --regexp 'target_mib=0 '
	run "$HYRUN" vm resume "$(control)"
	assert_success
	run bx echo still-there
	assert_output still-there
	assert_equal "$(state_of_b)" running
}

@test "vm run --balloon: the control socket's balloon takes MemTotal away from a plain VM and gives it back" {
	require_vm
	local sock=$BATS_TEST_TMPDIR/ctl.sock out=$BATS_TEST_TMPDIR/out.txt
	# The guest reports when 64 MiB are gone, then waits for them to come back. One line without
	# double quotes: the command travels on the kernel command line.
	local script
	script=$(cat <<'EOF'
mt() { awk '/^MemTotal/ {print $2}' /proc/meminfo; }; a=$(mt); echo start $a; i=0; while [ $((a - $(mt))) -lt 65536 ]; do sleep 0.2; i=$((i+1)); [ $i -gt 1500 ] && exit 3; done; echo now $(mt); while [ $(mt) -ne $a ]; do sleep 0.2; i=$((i+1)); [ $i -gt 3000 ] && exit 4; done; echo back; exit 0
EOF
)
	timeout -k 5 600 "$HYRUN" vm run --initrd "$VM_GUEST_DIR/initramfs-busybox.cpio" --memory 256 \
		--balloon --control "$sock" -- sh -c "$script" </dev/null >"$out" 2>&1 &
	local pid=$!
	wait_until 120 grep -q '^start' "$out" || { kill "$pid"; cat "$out"; fail "the guest did not start"; }
	run "$HYRUN" vm balloon "$sock" 64
	assert_success
	local start=$SECONDS
	wait_until 120 eval '"$HYRUN" vm balloon-info "$sock" 2>/dev/null | grep -q "actual_mib=64 "' ||
		{ kill "$pid"; cat "$out"; fail "balloon-info: $("$HYRUN" vm balloon-info "$sock")"; }
	note "vm run: the 64 MiB balloon reached its target within $((SECONDS - start)) s"
	run "$HYRUN" vm balloon-info "$sock"
	note "balloon-info: $output"
	assert_output --regexp 'rejected_pfns=0( |$)'
	# the guest's statistics (stats queue)
	assert_output --regexp ' free_memory=[0-9]+ total_memory=[0-9]+'
	run "$HYRUN" vm balloon "$sock" 1000
	assert_failure
	assert_output --partial "keeps at least"
	wait_until 120 grep -q '^now' "$out" || { kill "$pid"; cat "$out"; fail "the guest never saw 64 MiB go"; }
	run "$HYRUN" vm balloon "$sock" 0
	assert_success
	wait "$pid" || { cat "$out"; fail "the guest did not get its memory back"; }
	cat "$out"
	local a b
	# (the serial console may end lines with \r)
	a=$(tr -d '\r' <"$out" | sed -n 's/^start \([0-9]*\)$/\1/p')
	b=$(tr -d '\r' <"$out" | sed -n 's/^now \([0-9]*\)$/\1/p')
	[ $((a - b)) -eq $((64 * 1024)) ] || fail "MemTotal went from $a to $b kB"
	tr -d '\r' <"$out" | grep -qx back
}
