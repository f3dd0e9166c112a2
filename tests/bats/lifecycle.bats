#!/usr/bin/env bats
# The container lifecycle on the host kernel: create/start/run/state/kill/delete/exec/ps, the
# init's set-up (namespaces, rootfs and mounts, devices, process attributes, hooks, terminal),
# and that every error path leaves nothing behind.

load helpers

setup() {
	setup_hyrun
	WORK=$(mktemp -d /tmp/hyrun-lc.XXXXXX)
	B=$WORK/bundle
	ID=lc-$BATS_TEST_NUMBER-$$
	OUT=$WORK/out # bind-mounted into containers that must leave evidence behind
	mkdir -p "$OUT"
}

teardown() {
	teardown_hyrun
	[ -n "${WORK:-}" ] && grep -F " $WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$WORK"
}

# bundle with a read-write bind of $OUT at /out
bundle_out() {
	make_bundle "$B" "$@"
	bundle_jq "$B" ".mounts += [{\"destination\": \"/out\", \"type\": \"bind\", \"source\": \"$OUT\", \"options\": [\"rbind\", \"rw\"]}]"
}

status_of() {
	hy state "$1" | jq -r .status
}

pid_of() {
	hy state "$1" | jq -r .pid
}

# Nothing of container $1 may remain: state dir, cgroup, mounts under the work dir, processes.
assert_nothing_left() {
	local id=$1
	[ ! -e "$HYRUN_ROOT/$id" ] || fail "state dir of $id left behind"
	local d
	for d in /sys/fs/cgroup/*/hyrun/"$id" /sys/fs/cgroup/hyrun/"$id"; do
		[ ! -e "$d" ] || fail "cgroup $d left behind"
	done
	assert_no_mounts_under "$WORK"
	run pgrep -f -- "$id"
	assert_failure
}

wait_status() {
	local id=$1 want=$2 i
	for i in $(seq 100); do
		[ "$(status_of "$id")" = "$want" ] && return 0
		sleep 0.05
	done
	fail "container $id never reached status $want (now $(status_of "$id"))"
}

recvtty() {
	local bin=${HYRUN%/hyrun}/tests/recvtty
	if [ ! -x "$bin" ]; then
		bin=$WORK/recvtty
		gcc -O2 -o "$bin" "$BATS_TEST_DIRNAME/tools/recvtty.c"
	fi
	"$bin" "$@"
}

@test "run: hostname, pid 1 and output" {
	make_bundle "$B" sh -c 'hostname; echo pid=$$'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --index 0 "hyrun-test"
	assert_line --index 1 "pid=1"
	assert_nothing_left "$ID"
}

@test "run: the exit code of the process" {
	make_bundle "$B" sh -c 'exit 3'
	run hy run -b "$B" "$ID"
	assert_failure 3
	make_bundle "$B" true
	run hy run -b "$B" "$ID-b"
	assert_success
	assert_nothing_left "$ID"
}

@test "run: killed by a signal returns 128+signal" {
	make_bundle "$B" sleep 60
	hy run -b "$B" "$ID" &
	local runner=$!
	wait_status "$ID" running
	hy kill "$ID" KILL
	local rc=0
	wait $runner || rc=$?
	assert_equal "$rc" 137
	assert_nothing_left "$ID"
}

@test "run: without a pid namespace the process's own signal gives 128+signal" {
	make_bundle "$B" sh -c 'kill -TERM $$'
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "pid"))'
	run hy run -b "$B" "$ID"
	assert_failure 143
}

@test "run: signals sent to hyrun reach the container" {
	make_bundle "$B" sh -c 'trap "echo got-term; exit 42" TERM; while :; do sleep 0.1; done'
	"$HYRUN" --root "$HYRUN_ROOT" run -b "$B" "$ID" >"$WORK/log" &
	local runner=$!
	wait_status "$ID" running
	sleep 0.2
	kill -TERM $runner
	local rc=0
	wait $runner || rc=$?
	assert_equal "$rc" 42
	run cat "$WORK/log"
	assert_output "got-term"
}

@test "run --keep leaves a stopped container; run -d leaves it running" {
	make_bundle "$B" true
	run hy run --keep -b "$B" "$ID"
	assert_success
	run status_of "$ID"
	assert_output stopped
	hy delete "$ID"
	make_bundle "$B" sleep 60
	# not under `run`: the container keeps the output pipe open (as with runc)
	hy run -d -b "$B" "$ID" >/dev/null
	run status_of "$ID"
	assert_output running
	hy delete --force "$ID"
	assert_nothing_left "$ID"
}

@test "create/start: the process does not run before start; created -> running -> stopped" {
	bundle_out sh -c 'echo ran >/out/marker; read x </out/go'
	mkfifo "$OUT/go"
	hy create -b "$B" --pid-file "$WORK/pid" "$ID"
	run status_of "$ID"
	assert_output created
	[ ! -e "$OUT/marker" ]
	local pid
	pid=$(pid_of "$ID")
	[ "$pid" -gt 1 ]
	assert_equal "$(cat "$WORK/pid")" "$pid"
	[ -d /proc/$pid ]
	hy start "$ID"
	run cat "$OUT/marker"
	assert_output ran
	run status_of "$ID"
	assert_output running
	echo go >"$OUT/go"
	wait_status "$ID" stopped
	run hy state "$ID"
	assert_success
	assert_equal "$(echo "$output" | jq .pid)" 0
	hy delete "$ID"
	assert_nothing_left "$ID"
}

@test "start: on a running container fails; delete of a running one needs --force" {
	make_bundle "$B" sleep 60
	hy create -b "$B" "$ID"
	hy start "$ID"
	run hy start "$ID"
	assert_failure
	assert_output --partial "not in created state"
	run hy delete "$ID"
	assert_failure
	assert_output --partial "not stopped"
	run status_of "$ID"
	assert_output running
	hy delete --force "$ID"
	assert_nothing_left "$ID"
}

@test "delete of a created container kills its waiting init" {
	make_bundle "$B" true
	hy create -b "$B" "$ID"
	local pid
	pid=$(pid_of "$ID")
	hy delete "$ID"
	[ ! -d /proc/$pid ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
	assert_nothing_left "$ID"
}

@test "create: a duplicate id fails and leaves the first container alone" {
	make_bundle "$B" sleep 60
	hy create -b "$B" "$ID"
	run hy create -b "$B" "$ID"
	assert_failure
	assert_output --partial "already exists"
	run status_of "$ID"
	assert_output created
	hy delete --force "$ID"
	assert_nothing_left "$ID"
}

@test "kill: by name, SIG name and number; unknown id fails" {
	make_bundle "$B" sh -c 'trap "echo usr1 >>/out/sig" USR1; trap "exit 0" TERM; while :; do sleep 0.05; done'
	bundle_jq "$B" ".mounts += [{\"destination\": \"/out\", \"type\": \"bind\", \"source\": \"$OUT\", \"options\": [\"rbind\"]}]"
	hy run -d -b "$B" "$ID"
	sleep 0.2
	# one at a time: signals of one kind pending together are delivered once
	hy kill "$ID" USR1
	for i in $(seq 50); do [ "$(wc -l <"$OUT/sig" 2>/dev/null)" = 1 ] && break; sleep 0.05; done
	hy kill "$ID" SIGUSR1
	for i in $(seq 50); do [ "$(wc -l <"$OUT/sig" 2>/dev/null)" = 2 ] && break; sleep 0.05; done
	hy kill "$ID" 10
	for i in $(seq 50); do [ "$(wc -l <"$OUT/sig" 2>/dev/null)" = 3 ] && break; sleep 0.05; done
	run cat "$OUT/sig"
	assert_output $'usr1\nusr1\nusr1'
	hy kill "$ID" 15
	wait_status "$ID" stopped
	run hy kill "$ID" KILL
	assert_failure
	run hy kill nosuch-$ID KILL
	assert_failure
	assert_output --partial "does not exist"
	hy delete "$ID"
}

@test "kill --all reaches every process of the container" {
	make_bundle "$B" sh -c 'sleep 60 & sleep 60 & wait'
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "pid"))'
	hy run -d -b "$B" "$ID"
	sleep 0.3
	run hy ps --format json "$ID"
	assert_success
	[ "$(echo "$output" | jq length)" -eq 3 ]
	hy kill --all "$ID" KILL
	wait_status "$ID" stopped
	hy delete "$ID"
	assert_nothing_left "$ID"
}

@test "ps --format json lists the init's pid" {
	make_bundle "$B" sleep 60
	hy run -d -b "$B" "$ID"
	run hy ps --format json "$ID"
	assert_success
	local pid
	pid=$(pid_of "$ID")
	[ "$(echo "$output" | jq "index($pid)")" != null ]
	hy delete --force "$ID"
}

@test "mounts: options become mount flags in /proc/self/mountinfo" {
	mkdir -p "$WORK/data"
	echo hostfile >"$WORK/data/f"
	make_bundle "$B" cat /proc/self/mountinfo
	bundle_jq "$B" ".mounts += [
	  {\"destination\": \"/mnt/t\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"nodev\", \"noexec\", \"ro\", \"size=1m\", \"mode=700\"]},
	  {\"destination\": \"/mnt/ro\", \"type\": \"bind\", \"source\": \"$WORK/data\", \"options\": [\"bind\", \"ro\", \"nosuid\"]},
	  {\"destination\": \"/mnt/file\", \"source\": \"$WORK/data/f\", \"options\": [\"bind\", \"noexec\"]},
	  {\"destination\": \"/mnt/sh\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"shared\", \"strictatime\"]},
	  {\"destination\": \"/mnt/rr\", \"type\": \"bind\", \"source\": \"$WORK/data\", \"options\": [\"rbind\", \"rro\"]}
	]"
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --regexp '^[0-9]+ [0-9]+ [0-9:]+ / /mnt/t ro,nosuid,nodev,noexec,relatime .* tmpfs tmpfs .*size=1024k,mode=700'
	assert_line --regexp ' /mnt/ro ro,nosuid,relatime '
	assert_line --regexp ' /mnt/file rw,noexec,relatime '
	assert_line --regexp ' /mnt/sh rw shared:[0-9]+ '
	assert_line --regexp ' /mnt/rr ro,'
	assert_line --regexp '/rootfs / ro,relatime '
	assert_line --regexp ' / /proc rw,nosuid,nodev,noexec,relatime - proc |/ /proc rw,relatime - proc '
	assert_nothing_left "$ID"
}

@test "mounts: a bind-mounted file is visible and a read-only root refuses writes" {
	mkdir -p "$WORK/data"
	echo hostfile >"$WORK/data/f"
	make_bundle "$B" sh -c 'cat /etc/injected; touch /newfile 2>&1; echo rc=$?'
	bundle_jq "$B" ".mounts += [{\"destination\": \"/etc/injected\", \"type\": \"bind\", \"source\": \"$WORK/data/f\", \"options\": [\"bind\", \"ro\"]}]"
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --index 0 hostfile
	assert_output --partial "Read-only file system"
	assert_line rc=1
	[ ! -e "$B/rootfs/newfile" ]
}

@test "mounts: a writable root, --no-pivot and the cgroup filesystem" {
	make_bundle "$B" sh -c 'touch /newfile && echo wrote; ls /sys/fs/cgroup; cat /proc/self/mountinfo'
	bundle_jq "$B" '.root.readonly = false | .mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]'
	run hy run --no-pivot -b "$B" "$ID"
	assert_success
	assert_line wrote
	assert_line --regexp '^(memory|cgroup\.controllers)$'
	[ -e "$B/rootfs/newfile" ]
	rm -f "$B/rootfs/newfile"
	assert_nothing_left "$ID"
}

@test "mounts: without a cgroup namespace the cgroup mount is the container's own cgroup" {
	make_bundle "$B" sh -c 'test -e /sys/fs/cgroup/pids/pids.max && echo own; test -e /sys/fs/cgroup/pids/hyrun && echo host-root; touch /sys/fs/cgroup/pids/x 2>/dev/null || echo ro'
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "cgroup")) | .mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]'
	run hy run -b "$B" "$ID"
	assert_success
	assert_output $'own\nro'
	assert_nothing_left "$ID"
}

@test "mounts: a symlink in the rootfs cannot lead a mount out of it" {
	mkdir -p "$WORK/hostdir"
	make_bundle "$B" sh -c 'grep -c " /escape/sub \| /hostdir/sub " /proc/self/mountinfo || true'
	ln -s "../../../../../../../../$WORK/hostdir" "$B/rootfs/escape"
	bundle_jq "$B" '.root.readonly = false | .mounts += [{"destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs"}]'
	run hy run -b "$B" "$ID"
	# Either contained inside the rootfs or refused: never on the host directory.
	[ ! -e "$WORK/hostdir/sub" ] || fail "mount target created outside the rootfs"
	run grep -F "$WORK/hostdir" /proc/self/mountinfo
	assert_failure
	assert_nothing_left "$ID"
}

@test "devices: the defaults, the symlinks and linux.devices" {
	make_bundle "$B" sh -c 'ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/mynull; readlink /dev/ptmx; readlink /dev/fd; readlink /dev/stdin; echo x >/dev/mynull && echo ok'
	bundle_jq "$B" '.linux.devices = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 0, "gid": 0}]'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --regexp '^crw-rw-rw- .* 1, +3 .*/dev/null$'
	assert_line --regexp '^crw-rw-rw- .* 1, +5 .*/dev/zero$'
	assert_line --regexp '^crw-rw-rw- .* 5, +0 .*/dev/tty$'
	assert_line --regexp '^crw------- .* 1, +3 .*/dev/mynull$'
	assert_line pts/ptmx
	assert_line /proc/self/fd
	assert_line /proc/self/fd/0
	assert_line ok
}

@test "process: user uid, gid, additionalGids and umask" {
	make_bundle "$B" sh -c 'id -u; id -g; id -G; umask'
	bundle_jq "$B" '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 63}'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --index 0 1000
	assert_line --index 1 1000
	assert_line --index 2 "1000 5 65534"
	assert_line --index 3 0077
}

@test "process: rlimits, env, cwd and oomScoreAdj" {
	make_bundle "$B" sh -c 'grep -E "open files|processes" /proc/self/limits; echo "$FOO"; pwd; cat /proc/self/oom_score_adj; echo "home=$HOME"'
	bundle_jq "$B" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}, {"type": "RLIMIT_NPROC", "soft": 77, "hard": 88}]
	  | .process.env += ["FOO=bar baz"] | .process.cwd = "/tmp/work" | .process.oomScoreAdj = 432'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --regexp '^Max open files +512 +1000 +files'
	assert_line --regexp '^Max processes +77 +88 +processes'
	assert_line "bar baz"
	assert_line /tmp/work
	assert_line 432
	assert_line home=/root
}

@test "process: hostname, domainname and sysctl" {
	make_bundle "$B" sh -c 'hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax'
	bundle_jq "$B" '.hostname = "box" | .domainname = "example.org" | .linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}'
	run hy run -b "$B" "$ID"
	assert_success
	assert_output $'box\nexample.org\n1\n12345'
}

@test "process: a missing executable fails at create with a clear error" {
	make_bundle "$B" /no/such/binary
	run hy create -b "$B" "$ID"
	assert_failure
	assert_output --partial "/no/such/binary"
	assert_nothing_left "$ID"
	make_bundle "$B" nosuchcommand
	run hy run -b "$B" "$ID"
	assert_failure
	assert_output --partial 'executable file not found in $PATH'
	assert_nothing_left "$ID"
}

@test "namespaces: joining another container's namespaces by path" {
	make_bundle "$B" sleep 60
	hy run -d -b "$B" "$ID"
	local pid
	pid=$(pid_of "$ID")
	make_bundle "$WORK/b2" sh -c 'for n in uts net pid; do readlink /proc/self/ns/$n; done; hostname; echo pid=$$; ps -o comm | grep -c sleep'
	bundle_jq "$WORK/b2" "del(.hostname) | .linux.namespaces = [{\"type\": \"mount\"}, {\"type\": \"ipc\"},
	  {\"type\": \"uts\", \"path\": \"/proc/$pid/ns/uts\"}, {\"type\": \"network\", \"path\": \"/proc/$pid/ns/net\"},
	  {\"type\": \"pid\", \"path\": \"/proc/$pid/ns/pid\"}]"
	run hy run -b "$WORK/b2" "$ID-b"
	assert_success
	assert_line --index 0 "$(readlink /proc/$pid/ns/uts)"
	assert_line --index 1 "$(readlink /proc/$pid/ns/net)"
	assert_line --index 2 "$(readlink /proc/$pid/ns/pid)"
	assert_line --index 3 hyrun-test
	refute_line pid=1
	assert_line --index 5 1
	hy delete --force "$ID"
	assert_nothing_left "$ID-b"
}

@test "namespaces: user namespace with mappings, time namespace offsets" {
	chmod 755 "$WORK" # the container's root is host uid 200000: it must reach the rootfs
	make_bundle "$B" sh -c 'id -u; cat /proc/self/uid_map; cut -d. -f1 /proc/uptime'
	bundle_jq "$B" '.linux.namespaces += [{"type": "user"}, {"type": "time"}]
	  | .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
	  | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
	  | .linux.timeOffsets = {"boottime": {"secs": 8640000, "nanosecs": 0}}'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --index 0 0
	assert_line --index 1 --regexp '^ +0 +200000 +65536$'
	[ "${lines[2]}" -ge 8640000 ]
	assert_nothing_left "$ID"
}

@test "exec: joins the user namespace first, then runs as the asked user" {
	chmod 755 "$WORK"
	make_bundle "$B" sleep 60
	bundle_jq "$B" '.linux.namespaces += [{"type": "user"}]
	  | .linux.uidMappings = [{"containerID": 0, "hostID": 300000, "size": 65536}]
	  | .linux.gidMappings = [{"containerID": 0, "hostID": 300000, "size": 65536}]'
	hy run -d -b "$B" "$ID"
	local pid
	pid=$(pid_of "$ID")
	run hy exec "$ID" sh -c 'id -u; readlink /proc/self/ns/user; cat /proc/self/uid_map'
	assert_success
	assert_line --index 0 0
	assert_line --index 1 "$(readlink /proc/$pid/ns/user)"
	assert_line --index 2 --regexp '^ +0 +300000 +65536$'
	run hy exec --user 1000:1000 "$ID" id -u
	assert_output 1000
	hy delete --force "$ID"
	assert_nothing_left "$ID"
}

@test "hooks: all six kinds run in the spec's order with the state on stdin" {
	bundle_out sh -c 'echo process >>/out/log'
	local k
	for k in prestart createRuntime createContainer poststart poststop; do
		bundle_jq "$B" ".hooks.$k = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"jq -r '\\\"$k \\\\(.id) \\\\(.status) \\\\(.pid > 0)\\\"' >>$OUT/log\"]}]"
	done
	# startContainer runs inside the container: /out is its view of $OUT.
	bundle_jq "$B" '.hooks.startContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >>/out/log"]}]'
	run hy run -b "$B" "$ID"
	assert_success
	# The process and poststart both run once the process is executed: no order between them.
	run grep -c '^process$' "$OUT/log"
	assert_output 1
	run grep -v '^process$' "$OUT/log"
	assert_output "prestart $ID creating true
createRuntime $ID creating true
createContainer $ID creating true
startContainer
poststart $ID running true
poststop $ID stopped false"
	assert_nothing_left "$ID"
}

@test "hooks: a failing createRuntime hook fails create and leaves nothing" {
	make_bundle "$B" true
	bundle_jq "$B" '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]}]'
	run hy create -b "$B" "$ID"
	assert_failure
	assert_output --partial "createRuntime hook"
	assert_nothing_left "$ID"
}

@test "hooks: a failing startContainer hook fails start; the process never runs" {
	bundle_out sh -c 'echo process >/out/ran'
	bundle_jq "$B" '.hooks.startContainer = [{"path": "/bin/false"}]'
	hy create -b "$B" "$ID"
	run hy start "$ID"
	assert_failure
	assert_output --partial "startContainer hook"
	[ ! -e "$OUT/ran" ]
	hy delete --force "$ID"
	assert_nothing_left "$ID"
}

@test "terminal: the pty master goes to --console-socket" {
	make_bundle "$B" sh -c 'tty; read line; echo "got $line"; stty size'
	bundle_jq "$B" '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 101}'
	recvtty "$WORK/console.sock" $'hello\n' >"$WORK/tty.out" &
	local rpid=$!
	for i in $(seq 100); do [ -S "$WORK/console.sock" ] && break; sleep 0.02; done
	hy run -d --console-socket "$WORK/console.sock" -b "$B" "$ID"
	wait $rpid
	run tr -d '\r' <"$WORK/tty.out"
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line "got hello"
	assert_line "33 101"
	hy delete --force "$ID"
}

@test "terminal: detached without --console-socket is refused" {
	make_bundle "$B" true
	bundle_jq "$B" '.process.terminal = true'
	run hy run -d -b "$B" "$ID"
	assert_failure
	assert_output --partial "console-socket"
	assert_nothing_left "$ID"
}

@test "terminal: run in the foreground relays the caller's terminal" {
	make_bundle "$B" sh -c 'tty; read x; echo "in:$x"'
	bundle_jq "$B" '.process.terminal = true'
	run bash -c "echo typed | script -qec '$HYRUN --root $HYRUN_ROOT run -b $B $ID' /dev/null"
	assert_success
	assert_output --regexp '/dev/pts/[0-9]+'
	assert_output --partial "in:typed"
	assert_nothing_left "$ID"
}

@test "LISTEN_FDS and --preserve-fds pass fds 3.. on" {
	echo sock-data >"$WORK/f3"
	echo extra-data >"$WORK/f4"
	make_bundle "$B" sh -c 'echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; cat <&4; ls /proc/self/fd | sort -n | tr "\n" " "'
	run sh -c "LISTEN_FDS=1 LISTEN_PID=\$\$ exec '$HYRUN' --root '$HYRUN_ROOT' run --preserve-fds 1 -b '$B' '$ID' 3<'$WORK/f3' 4<'$WORK/f4'"
	assert_success
	assert_line --index 0 "1 1"
	assert_line --index 1 sock-data
	assert_line --index 2 extra-data
	assert_line --index 3 --regexp '^0 1 2 3 4 [0-9]+ $'
}

@test "exec: joins every namespace and the cgroup; exit code" {
	make_bundle "$B" sleep 60
	hy run -d -b "$B" "$ID"
	local pid
	pid=$(pid_of "$ID")
	run hy exec "$ID" sh -c 'for n in ipc mnt net pid uts cgroup; do readlink /proc/self/ns/$n; done; hostname; cat /proc/self/cgroup | grep -c hyrun/'"$ID"'; exit 5'
	assert_failure 5
	local n i=0
	for n in ipc mnt net pid uts cgroup; do
		assert_line --index $i "$(readlink /proc/$pid/ns/$n)"
		i=$((i + 1))
	done
	assert_line --index 6 hyrun-test
	hy delete --force "$ID"
}

@test "exec: the cgroup of the exec'd process is the container's" {
	make_bundle "$B" sleep 60
	bundle_jq "$B" '.linux.namespaces |= map(select(.type != "cgroup"))'
	hy run -d -b "$B" "$ID"
	run hy exec "$ID" cat /proc/self/cgroup
	assert_success
	assert_line --regexp "^[0-9]+:pids:/hyrun/$ID\$"
	hy delete --force "$ID"
}

@test "exec: -d with --pid-file, --env, --cwd, --user" {
	make_bundle "$B" sleep 60
	hy run -d -b "$B" "$ID"
	hy exec -d --pid-file "$WORK/epid" "$ID" sleep 30
	local epid
	epid=$(cat "$WORK/epid")
	[ -d /proc/$epid ]
	run hy ps --format json "$ID"
	[ "$(echo "$output" | jq "index($epid)")" != null ]
	run hy exec --env A=b --cwd /tmp --user 1000:1000 "$ID" sh -c 'echo $A; pwd; id -u'
	assert_success
	assert_output $'b\n/tmp\n1000'
	hy delete --force "$ID"
	[ ! -d /proc/$epid ] || [ "$(awk '{print $3}' /proc/$epid/stat)" = Z ]
}

@test "exec: -t relays a terminal; unknown id and stopped container fail" {
	make_bundle "$B" sleep 60
	hy run -d -b "$B" "$ID"
	run bash -c "script -qec '$HYRUN --root $HYRUN_ROOT exec -t $ID tty' /dev/null"
	assert_success
	assert_output --regexp '/dev/pts/[0-9]+'
	run hy exec nosuch-$ID true
	assert_failure
	hy kill "$ID" KILL
	wait_status "$ID" stopped
	run hy exec "$ID" true
	assert_failure
	hy delete "$ID"
}

@test "errors: invalid JSON, a bad field type, a missing rootfs leave nothing behind" {
	make_bundle "$B" true
	echo '{ not json' >"$B/config.json"
	run hy create -b "$B" "$ID"
	assert_failure
	assert_nothing_left "$ID"
	make_bundle "$B" true
	bundle_jq "$B" '.process.user.uid = "zero"'
	run hy create -b "$B" "$ID"
	assert_failure
	assert_output --partial "process.user.uid"
	assert_nothing_left "$ID"
	make_bundle "$B" true
	rm -rf "$B/rootfs"
	run hy create -b "$B" "$ID"
	assert_failure
	assert_nothing_left "$ID"
	make_bundle "$B" true
	bundle_jq "$B" '.mounts += [{"destination": "/x", "type": "bind", "source": "/no/such/dir", "options": ["bind"]}]'
	run hy create -b "$B" "$ID"
	assert_failure
	assert_output --partial "mounts[7]"
	assert_nothing_left "$ID"
}

@test "errors: unknown ids for start, state, delete, kill, ps" {
	for c in start state delete ps; do
		run hy $c "nosuch-$ID"
		assert_failure
		assert_output --partial "does not exist"
	done
}

@test "start: an init that exits at once is still started (pidfd taken before the fifo is opened)" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	command -v strace >/dev/null || skip "strace is not installed"
	make_bundle "$B" true
	# A subreaper reaps the init the moment it exits, and strace delays start's pidfd_open by
	# 300 ms: taken after the fifo open (which lets the init run `true`), it finds no process.
	cat >"$WORK/reap.py" <<'PY'
import ctypes, json, os, subprocess, sys, threading
hy, root, cid = sys.argv[1:4]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
subprocess.run([hy, "--root", root, "create", "-b", sys.argv[4], cid], check=True,
               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pid = json.loads(subprocess.run([hy, "--root", root, "state", cid], check=True,
                                capture_output=True).stdout)["pid"]
threading.Thread(target=lambda: os.waitpid(pid, 0), daemon=True).start()
r = subprocess.run(["strace", "-o", "/dev/null", "-e", "inject=pidfd_open:delay_enter=300000",
                    hy, "--root", root, "start", cid], capture_output=True, text=True)
sys.stdout.write(r.stderr)
sys.exit(r.returncode)
PY
	run python3 "$WORK/reap.py" "$HYRUN" "$HYRUN_ROOT" "$ID" "$B" 3>&-
	assert_success
	assert_output ""
	run status_of "$ID"
	assert_output stopped
}

@test "delete --force: a corrupt state.json still deletes the container and kills its init" {
	make_bundle "$B" sleep 300
	hy run -d -b "$B" "$ID" </dev/null >/dev/null 2>&1 3>&-
	pid=$(hy state "$ID" | jq .pid)
	cg=$(jq -r .hyrun.cgroupPath "$HYRUN_ROOT/$ID/state.json")
	[ -n "$cg" ] && [ "$cg" != null ]
	kill -0 "$pid"
	# Valid JSON with a field of the wrong type: state/delete cannot read it any more.
	jq '.ociVersion = 7' "$HYRUN_ROOT/$ID/state.json" >"$WORK/st" && cp "$WORK/st" "$HYRUN_ROOT/$ID/state.json"
	run hy state "$ID"
	assert_failure
	run hy delete "$ID"
	assert_failure
	run timeout 20 "$HYRUN" --root "$HYRUN_ROOT" delete --force "$ID"
	assert_success
	[ ! -e "$HYRUN_ROOT/$ID" ]
	# The init (found through the pid and its start time) and the cgroup are gone.
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$pid"
	assert_failure
	run bash -c "ls -d /sys/fs/cgroup/*/$cg 2>/dev/null"
	assert_output ""
}

@test "delete --force: an unparsable state.json is removed anyway" {
	make_bundle "$B" sleep 300
	hy create -b "$B" "$ID" </dev/null >/dev/null 2>&1 3>&-
	pid=$(hy state "$ID" | jq .pid)
	cg=$(jq -r .hyrun.cgroupPath "$HYRUN_ROOT/$ID/state.json")
	printf '{"ociVersion": "1.0.2", "id": ' >"$HYRUN_ROOT/$ID/state.json"
	run timeout 20 "$HYRUN" --root "$HYRUN_ROOT" delete --force "$ID"
	assert_success
	[ ! -e "$HYRUN_ROOT/$ID" ]
	run hy list -q
	refute_output --partial "$ID"
	# Without its state hyrun cannot know the init or the cgroup: the test removes both itself,
	# so that nothing stays behind on the machine.
	kill -9 "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	local d
	for d in /sys/fs/cgroup/*/"$cg"; do
		[ ! -d "$d" ] || rmdir "$d"
	done
}

@test "create: the init keeps only stdio, LISTEN_FDS/--preserve-fds and exec.fifo, and delete --force does not block" {
	make_bundle "$B" sleep 300
	# fd 7 and 9 are the caller's, not passed on: the waiting init must not hold them.
	mkfifo "$WORK/pipe"
	hy create -b "$B" --preserve-fds 1 "$ID" 3<"$B/config.json" 7>"$WORK/seven" 9<>"$WORK/pipe" </dev/null >/dev/null 2>&1
	pid=$(hy state "$ID" | jq .pid)
	run ls /proc/$pid/fd
	assert_success
	refute_line 7
	refute_line 9
	assert_line 3
	run readlink /proc/$pid/fd/3
	assert_output "$B/config.json"
	# No copy of the state lock: it is only taken by hyrun commands, never held by the init.
	run bash -c "ls -l /proc/$pid/fd | grep -c '$HYRUN_ROOT/$ID/lock'"
	assert_output 0
	run timeout 10 "$HYRUN" --root "$HYRUN_ROOT" delete --force "$ID"
	assert_success
	[ ! -e "$HYRUN_ROOT/$ID" ]
}

@test "seccomp: the compiled filter is cached under the root and reused, not listed as a container" {
	make_bundle "$B" sh -c 'grep ^Seccomp: /proc/self/status'
	bundle_jq "$B" ".linux.seccomp = $(jq -c . "$BATS_TEST_DIRNAME/../../configs/seccomp-default.json")"
	run hy run -b "$B" "$ID"
	assert_success
	assert_output "Seccomp:	2"
	run bash -c "ls $HYRUN_ROOT/.seccomp-cache/*.bpf | wc -l"
	assert_output 1
	f=$(ls "$HYRUN_ROOT"/.seccomp-cache/*.bpf)
	m1=$(stat -c %Y.%i "$f")
	sleep 1.1
	run hy run -b "$B" "$ID-2"
	assert_success
	assert_output "Seccomp:	2"
	# Reused: the same file, not rewritten.
	assert_equal "$(stat -c %Y.%i "$f")" "$m1"
	run hy list -q
	assert_output ""
}
