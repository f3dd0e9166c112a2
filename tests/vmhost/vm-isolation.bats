#!/usr/bin/env bats
# VM isolation (issue 8): the same bundle at `--isolation=container` and `--isolation=vm` (or the
# org.hyrun.isolation annotation) prints the same, exits the same (codes and signals), leaves the
# same files in the rootfs and sees the same process attributes. Each case runs at both levels and
# checks the expected value itself as well as the equality, so two equal wrong answers fail.
# Then the commands on a running VM container: exec (attached, detached, terminal) runs in the
# guest (its `uname -r` is the guest kernel's), ps, pause/resume, update, kill, and a VMM killed
# from outside cleaned up by `delete --force`.
#
# Every VM run boots a guest (seconds under the emulated test host), so the process attributes are
# read by one probe script and the exit codes are separate runs. On a machine whose /dev/kvm cannot
# boot a guest (the build machines' kvm_pvm) the container halves run and the VM halves skip;
# inside tests/vmhost/run nothing skips.

load vm-helpers

setup_file() {
	# Two long-running containers (one per level) shared by the exec/ps/pause/update tests, started
	# by the first test that needs them: one guest boot for all of those tests.
	SHARED_ROOT=$(mktemp -d /run/hyrun-vmiso-shared.XXXXXX)
	export SHARED_ROOT
}

teardown_file() {
	local id
	for id in shared-container shared-vm; do
		"$HYRUN" --root "$SHARED_ROOT" delete --force "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$SHARED_ROOT"
}

setup() {
	setup_hyrun
	B=$BATS_TEST_TMPDIR/bundle
	ID=iso-$BATS_TEST_NUMBER-$$
}

teardown() {
	teardown_hyrun
}

# ---- the table: one bundle, both levels ----

# The probe: everything a process can see of its set-up, one item per line, then writes into the
# rootfs (create, append, mkdir, unlink) and exits 42.
write_probe() {
	cat >"$1/probe.sh" <<'EOF'
echo "args=$#:$1|$2"
echo "hostname=$(hostname)"
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G | tr ' ' '\n' | sort -n | xargs)"
echo "cwd=$(pwd)"
echo "foo=$FOO"
echo "umask=$(umask)"
grep -E '^Max (open files|processes|core file size) ' /proc/self/limits | tr -s ' '
echo "read=$(cat /data/input.txt)"
echo "env:"
env | sort
echo probe-stderr >&2
echo from-the-probe >/work/out.txt
echo appended-by-the-probe >>/work/log.txt
mkdir /work/dir
rm /work/delete-me
exit 42
EOF
}

probe_bundle() {
	make_bundle "$B" /bin/sh /probe.sh "two words" x
	local r=$B/rootfs
	write_probe "$r"
	mkdir -p "$r/work" "$r/data"
	echo "read from the rootfs" >"$r/data/input.txt"
	reset_probe_files
	chown 1000:1000 "$r/work"
	# uid 1000 with two extra groups, umask 027
	bundle_jq "$B" '.root.readonly = false | .hostname = "hy-iso-test"
		| .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 4242], "umask": 23}
		| .process.cwd = "/work" | .process.env += ["FOO=bar  baz"]
		| .process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
			{"type": "RLIMIT_NPROC", "soft": 3000, "hard": 4000},
			{"type": "RLIMIT_CORE", "soft": 1024, "hard": 4096}]'
}

reset_probe_files() {
	local w=$B/rootfs/work
	rm -rf "$w/out.txt" "$w/dir"
	echo host-line >"$w/log.txt"
	echo x >"$w/delete-me"
	chown 1000:1000 "$w/log.txt" "$w/delete-me"
}

# What the probe left in the rootfs, as seen from the host; then the files are reset for the next
# level.
probe_effects() {
	local w=$B/rootfs/work
	echo "out.txt $(stat -c '%u:%g %a' "$w/out.txt" 2>&1) $(cat "$w/out.txt" 2>&1)"
	echo "log.txt $(tr '\n' '+' <"$w/log.txt")"
	echo "dir $(stat -c '%u:%g %a' "$w/dir" 2>&1)"
	[ -e "$w/delete-me" ] && echo "delete-me still there" || echo "delete-me gone"
}

@test "probe: hostname, uid/gid/groups, cwd, env, umask, rlimits, reads and writes, exit 42 at both levels" {
	probe_bundle
	local -A effects
	iso_run container "$B" "$ID-c"
	effects[container]=$(probe_effects)
	reset_probe_files
	local want_effects
	want_effects=$(printf '%s\n' "out.txt 1000:1000 640 from-the-probe" \
		"log.txt host-line+appended-by-the-probe+" "dir 1000:1000 750" "delete-me gone")
	check_probe container
	assert_equal "${effects[container]}" "$want_effects"

	require_vm
	# the annotation alone selects vm (no --isolation flag)
	bundle_jq "$B" '.annotations = {"org.hyrun.isolation": "vm"}'
	mkdir -p "$BATS_TEST_TMPDIR/iso-vm"
	STATUS[vm]=0
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$HYRUN_ROOT" run -b "$B" "$ID-v" </dev/null \
		>"$BATS_TEST_TMPDIR/iso-vm/out" 2>"$BATS_TEST_TMPDIR/iso-vm/err" 3>&- || STATUS[vm]=$?
	OUT[vm]=$(cat "$BATS_TEST_TMPDIR/iso-vm/out")
	ERR[vm]=$(cat "$BATS_TEST_TMPDIR/iso-vm/err")
	echo "--- vm (annotation): status ${STATUS[vm]}, stdout:"
	echo "${OUT[vm]}"
	echo "--- vm: stderr:"
	echo "${ERR[vm]}"
	effects[vm]=$(probe_effects)
	echo "--- vm: rootfs: ${effects[vm]}"
	check_probe vm
	assert_equal "${effects[vm]}" "$want_effects"
	assert_same_at_both_levels
	assert_equal "${ERR[vm]}" "${ERR[container]}"
}

# check_probe LEVEL: the probe's expected output, line by line.
check_probe() {
	local level=$1
	assert_equal "${STATUS[$level]}" 42
	assert_equal "${ERR[$level]}" probe-stderr
	run echo "${OUT[$level]}"
	assert_line --index 0 "args=2:two words|x"
	assert_line --index 1 "hostname=hy-iso-test"
	assert_line --index 2 "uid=1000 gid=1000 groups=5 1000 4242"
	assert_line --index 3 "cwd=/work"
	assert_line --index 4 "foo=bar  baz"
	assert_line --index 5 "umask=0027"
	assert_line "Max core file size 1024 4096 bytes "
	assert_line "Max processes 3000 4000 processes "
	assert_line "Max open files 1000 2000 files "
	assert_line "read=read from the rootfs"
	assert_line "FOO=bar  baz"
	assert_line "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	assert_line "TERM=xterm"
	# HOME from the rootfs's /etc/passwd (tester: /tmp), as runc and crun set it
	assert_line "HOME=/tmp"
}

@test "--isolation=container overrides the bundle's org.hyrun.isolation=vm" {
	make_bundle "$B" /bin/sh -c 'uname -r'
	bundle_jq "$B" '.annotations = {"org.hyrun.isolation": "vm"}'
	iso_run container "$B" "$ID"
	assert_equal "${STATUS[container]}" 0
	assert_equal "${OUT[container]}" "$(uname -r)"
}

# exit_case SCRIPT WANT: `sh -c "echo before-exit; SCRIPT"` at both levels exits WANT. No pid
# namespace: a shell that is a namespace's init ignores its own kill -TERM/-KILL.
exit_case() {
	make_bundle "$B" /bin/sh -c "echo before-exit; $1"
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "pid"))'
	iso_run container "$B" "$ID-c"
	assert_equal "${STATUS[container]}" "$2"
	assert_equal "${OUT[container]}" before-exit
	require_vm
	iso_run vm "$B" "$ID-v"
	assert_equal "${STATUS[vm]}" "$2"
	assert_same_at_both_levels
}

@test "exit code 0 at both levels" {
	exit_case 'exit 0' 0
}

@test "exit code 1 at both levels" {
	exit_case 'false' 1
}

@test "exit code 255 at both levels" {
	exit_case 'exit 255' 255
}

@test "death by SIGTERM (kill -TERM \$\$) is 143 at both levels" {
	exit_case 'kill -TERM $$; sleep 5; echo not-reached' 143
}

@test "death by SIGKILL (kill -KILL \$\$) is 137 at both levels" {
	exit_case 'kill -KILL $$; sleep 5; echo not-reached' 137
}

# ---- commands on a running container ----

hs() {
	"$HYRUN" --root "$SHARED_ROOT" "$@"
}

# shared_start LEVEL: the long-running container shared-LEVEL (started once for the file): a
# ticker that renames a counter into /work/tick every 0.2 s; its $0 is the marker ps looks for.
shared_start() {
	local level=$1 id=shared-$1 b=$BATS_FILE_TMPDIR/bundle-$1
	SB=$b
	[ "$("$HYRUN" --root "$SHARED_ROOT" state "$id" 2>/dev/null | jq -r .status)" = running ] &&
		return 0
	rm -rf "$b"
	make_bundle "$b" /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i >/work/tick.tmp; mv /work/tick.tmp /work/tick; sleep 0.2; done' hyrun-vm-ticker
	mkdir -p "$b/rootfs/work"
	bundle_jq "$b" '.root.readonly = false'
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$SHARED_ROOT" --isolation="$level" run -d -b "$b" "$id" \
		</dev/null >"$BATS_FILE_TMPDIR/$id.log" 2>&1 3>&- ||
		{ cat "$BATS_FILE_TMPDIR/$id.log"; fail "run -d of $id failed"; }
	wait_until "$VM_TIMEOUT" test -s "$b/rootfs/work/tick" ||
		{ cat "$BATS_FILE_TMPDIR/$id.log"; fail "$id: the ticker never wrote /work/tick"; }
}

tick() {
	cat "$SB/rootfs/work/tick" 2>/dev/null || echo 0
}

@test "exec attached: uname -r is the guest kernel's in a VM container, the host's in a container; exit code, --env, --cwd, --user" {
	local guest host
	host=$(uname -r)
	shared_start container
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec shared-container uname -r
	assert_success
	assert_output "$host"
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec --env HYX=from-exec --cwd /work --user 1000:1000 \
		shared-container sh -c 'echo "$HYX"; pwd; id -u; id -g; exit 3'
	assert_equal "$status" 3
	assert_output $'from-exec\n/work\n1000\n1000'
	local container_out=$output

	require_vm
	guest=$(guest_release)
	[ -n "$guest" ] || fail "no release in $VM_GUEST_DIR/vmlinux"
	[ "$guest" != "$host" ] || fail "the guest kernel ($guest) is the host's: the test cannot tell them apart"
	shared_start vm
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec shared-vm uname -r
	assert_success
	assert_output "$guest"
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec --env HYX=from-exec --cwd /work --user 1000:1000 \
		shared-vm sh -c 'echo "$HYX"; pwd; id -u; id -g; exit 3'
	assert_equal "$status" 3
	assert_output "$container_out"
}

# exec_detached LEVEL: exec -d writes uname -r into the rootfs; DETACHED_OUT gets what it wrote.
exec_detached() {
	local id=shared-$1 pf=$BATS_TEST_TMPDIR/exec-$1.pid out=$SB/rootfs/work/exec-d.out
	rm -f "$out"
	# the relay of a detached exec keeps exec's stdio: a file, not bats' pipe
	timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec -d --pid-file "$pf" "$id" \
		sh -c 'uname -r >/work/exec-d.tmp; mv /work/exec-d.tmp /work/exec-d.out' \
		</dev/null >"$BATS_TEST_TMPDIR/exec-d.log" 2>&1 3>&- ||
		{ cat "$BATS_TEST_TMPDIR/exec-d.log"; fail "exec -d failed"; }
	[[ $(cat "$pf") =~ ^[0-9]+$ ]] || fail "--pid-file holds '$(cat "$pf")', not a pid"
	wait_until 120 test -s "$out" || fail "the detached exec never wrote $out"
	DETACHED_OUT=$(cat "$out")
}

@test "exec -d --pid-file: the detached process runs in the guest" {
	shared_start container
	exec_detached container
	assert_equal "$DETACHED_OUT" "$(uname -r)"
	require_vm
	shared_start vm
	exec_detached vm
	assert_equal "$DETACHED_OUT" "$(guest_release)"
}

# exec_terminal LEVEL: exec -t with the pty master sent to recvtty; recvtty's output in $output.
exec_terminal() {
	local id=shared-$1 sock=$BATS_TEST_TMPDIR/tty-$1.sock log=$BATS_TEST_TMPDIR/tty-$1.out
	[ -x "$RECVTTY" ] || fail "$RECVTTY missing: make build/tests/recvtty"
	"$RECVTTY" "$sock" >"$log" 2>&1 3>&- &
	local rpid=$!
	wait_until 10 test -S "$sock" || fail "recvtty did not listen"
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec -t --console-socket "$sock" "$id" \
		sh -c 'tty; uname -r'
	assert_success
	local i
	for ((i = 0; i < 100; i++)); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.2; done
	kill "$rpid" 2>/dev/null || true
	wait "$rpid" || true
	run tr -d '\r' <"$log"
}

@test "exec -t --console-socket: a terminal inside the guest" {
	shared_start container
	exec_terminal container
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line "$(uname -r)"
	require_vm
	shared_start vm
	exec_terminal vm
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line "$(guest_release)"
}

@test "ps lists the guest's process, which is not a process of the host" {
	require_vm
	shared_start vm
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" ps shared-vm
	assert_success
	assert_line --regexp 'hyrun-vm-ticker'
	# the container's own ticker is a host process; the VM's is not
	run pgrep -f 'hyrun-vm-ticker'
	local host_pids=$output
	if [ "$(state_of_shared shared-container)" = running ]; then
		[ "$(echo "$host_pids" | wc -w)" -eq 1 ] ||
			fail "host processes with the marker: '$host_pids' (want only the container-level ticker)"
	else
		[ -z "$host_pids" ] || fail "host processes with the marker: '$host_pids'"
	fi
}

state_of_shared() {
	"$HYRUN" --root "$SHARED_ROOT" state "$1" 2>/dev/null | jq -r .status
}

# pause_resume LEVEL: pause stops the ticker, resume lets it go on.
pause_resume() {
	local id=shared-$1 a b
	wait_until 60 eval '[ "$(tick)" -gt 1 ]' || fail "$id does not tick"
	run hs pause "$id"
	assert_success
	assert_equal "$(state_of_shared "$id")" paused
	a=$(tick)
	sleep 2
	b=$(tick)
	assert_equal "$b" "$a"
	run hs resume "$id"
	assert_success
	assert_equal "$(state_of_shared "$id")" running
	wait_until 60 eval '[ "$(tick)" -gt "$b" ]' || fail "$id did not go on after resume"
}

@test "pause stops the guest, resume lets it go on" {
	shared_start container
	pause_resume container
	require_vm
	shared_start vm
	pause_resume vm
}

@test "update --memory above a VM container's boot memory: a clear one-line error, still running" {
	require_vm
	shared_start vm
	# The guest booted with the default 256 MiB; the balloon can only take memory away
	# (vm-balloon.bats covers shrinking and growing back).
	run hs update --memory 1g shared-vm
	assert_failure
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^hyrun: .*memory.*booted with 256 MiB'
	assert_equal "$(state_of_shared shared-vm)" running
	# and the guest still answers
	run timeout 120 "$HYRUN" --root "$SHARED_ROOT" exec shared-vm echo still-there
	assert_success
	assert_output still-there
}

# kill_term LEVEL: `run --keep` in the background; kill TERM; run returns 143, state says stopped.
kill_term() {
	local level=$1 id=$ID-$1 log=$BATS_TEST_TMPDIR/kill-$1.log
	rm -f "$B/rootfs/work/started"
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$HYRUN_ROOT" --isolation="$level" run --keep -b "$B" "$id" \
		</dev/null >"$log" 2>&1 3>&- &
	local pid=$!
	wait_until "$VM_TIMEOUT" test -e "$B/rootfs/work/started" ||
		{ cat "$log"; fail "$id never started"; }
	assert_equal "$(state_of "$id")" running
	run hy kill "$id" TERM
	assert_success
	local rc=0
	wait "$pid" || rc=$?
	cat "$log"
	assert_equal "$rc" 143
	assert_equal "$(state_of "$id")" stopped
	run hy delete "$id"
	assert_success
	[ ! -e "$HYRUN_ROOT/$id" ] || fail "state dir of $id left after delete"
}

@test "kill TERM ends the process: run returns 143 and state says stopped, at both levels" {
	make_bundle "$B" /bin/sh -c 'touch /work/started; exec sleep 7919'
	mkdir -p "$B/rootfs/work"
	bundle_jq "$B" '.root.readonly = false | .linux.namespaces |= map(select(.type != "pid"))'
	kill_term container
	require_vm
	kill_term vm
}

proc_gone() {
	[ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

@test "the VMM killed from outside (kill -9 of state.pid): delete --force leaves nothing behind" {
	require_vm
	local cg=hyrun-vmiso-kill-$$
	make_bundle "$B" /bin/sh -c 'touch /work/started; exec sleep 7919'
	mkdir -p "$B/rootfs/work"
	bundle_jq "$B" ".root.readonly = false | .linux.cgroupsPath = \"/$cg\""
	local links_before
	links_before=$(ls /sys/class/net)
	# the detached VMM keeps run's stdio: a file, not bats' pipe
	local log=$BATS_TEST_TMPDIR/run-d.log
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$HYRUN_ROOT" --isolation=vm run -d -b "$B" "$ID" \
		</dev/null >"$log" 2>&1 3>&- || { cat "$log"; fail "run -d failed"; }
	wait_until "$VM_TIMEOUT" test -e "$B/rootfs/work/started" || fail "the guest process never started"
	assert_equal "$(state_of "$ID")" running
	[ -S "$HYRUN_ROOT/$ID/vm.sock" ] || fail "no vm.sock in the state dir: $(ls "$HYRUN_ROOT/$ID")"
	run find /sys/fs/cgroup -name "$cg" -type d
	[ -n "$output" ] || fail "no cgroup $cg while the container runs"
	local pid
	pid=$(pid_of "$ID")
	# Seen once in a long test-host run: the VMM gone before the kill. Keep what it said.
	[ "$pid" != 0 ] || fail "the VMM ended by itself; run -d: $(cat "$log"); vm.log: $(tail -20 \
		"$HYRUN_ROOT/$ID/vm.log" 2>&1); dmesg: $(dmesg | tail -20)"
	grep -q hyrun "/proc/$pid/cmdline" || fail "state.pid $pid is not hyrun's VMM: $(tr '\0' ' ' <"/proc/$pid/cmdline")"

	kill -9 "$pid"
	wait_until 30 proc_gone "$pid" || fail "the VMM $pid survived kill -9"
	run hy delete --force "$ID"
	assert_success
	[ ! -e "$HYRUN_ROOT/$ID" ] || fail "state dir left: $(ls -la "$HYRUN_ROOT/$ID")"
	run find "$HYRUN_ROOT" -name vm.sock
	assert_output ""
	run find /sys/fs/cgroup -name "$cg"
	assert_output ""
	run grep -E " ($B|$HYRUN_ROOT)" /proc/self/mountinfo
	assert_failure
	run pgrep -f -- "$B"
	assert_failure
	assert_equal "$(ls /sys/class/net)" "$links_before"
}
