#!/usr/bin/env bats
# Container security settings, each proven from inside a container: capabilities,
# noNewPrivileges, seccomp (errno, argument filters, the default profile), user namespace
# mappings, masked and read-only paths, the symlink-escape guard and the sealed binary.

load helpers

setup() {
	setup_hyrun
	B=$BATS_TEST_TMPDIR/bundle
	ID=sec-$BATS_TEST_NUMBER-$$
}

teardown() {
	teardown_hyrun
	assert_no_mounts_under "$BATS_TEST_TMPDIR"
}

# status_field NAME: the line "NAME:<tab>VALUE" of /proc/self/status in the container output.
status_field() {
	echo "$output" | awk -v k="$1:" '$1 == k { print $2 }'
}

@test "capabilities: all five sets and NoNewPrivs as configured" {
	make_bundle "$B" cat /proc/self/status
	# For uid 0 the kernel makes the effective set equal the permitted one at execve, so the
	# effective set on its own is proven by the non-root test below.
	bundle_jq "$B" '.process.capabilities = {
		"bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE", "CAP_CHOWN"],
		"effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
		"permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
		"inheritable": ["CAP_NET_BIND_SERVICE"],
		"ambient": ["CAP_NET_BIND_SERVICE"]}'
	run hy run -b "$B" "$ID"
	assert_success
	# CAP_CHOWN=0 CAP_KILL=5 CAP_NET_BIND_SERVICE=10 CAP_AUDIT_WRITE=29
	assert_equal "$(status_field CapBnd)" 0000000020000421
	assert_equal "$(status_field CapPrm)" 0000000020000420
	assert_equal "$(status_field CapEff)" 0000000020000420
	assert_equal "$(status_field CapInh)" 0000000000000400
	assert_equal "$(status_field CapAmb)" 0000000000000400
	assert_equal "$(status_field NoNewPrivs)" 1
}

@test "capabilities: ambient set reaches a non-root user's program" {
	make_bundle "$B" cat /proc/self/status
	bundle_jq "$B" '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {
		"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
		"permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"],
		"ambient": ["CAP_NET_BIND_SERVICE"]}'
	run hy run -b "$B" "$ID"
	assert_success
	assert_equal "$(status_field Uid)" 1000
	assert_equal "$(status_field CapEff)" 0000000000000400
	assert_equal "$(status_field CapPrm)" 0000000000000400
	assert_equal "$(status_field CapAmb)" 0000000000000400
	assert_equal "$(status_field CapBnd)" 0000000000000400
}

@test "capabilities: none configured means none held; noNewPrivileges false is honoured" {
	make_bundle "$B" cat /proc/self/status
	bundle_jq "$B" 'del(.process.capabilities) | .process.noNewPrivileges = false'
	run hy run -b "$B" "$ID"
	assert_success
	assert_equal "$(status_field CapEff)" 0000000000000000
	assert_equal "$(status_field CapBnd)" 0000000000000000
	assert_equal "$(status_field NoNewPrivs)" 0
}

@test "capabilities: an unknown name is a config error naming the set" {
	make_bundle "$B" true
	bundle_jq "$B" '.process.capabilities.effective += ["CAP_MAKE_COFFEE"]'
	run hy run -b "$B" "$ID"
	assert_failure
	assert_output --partial "process.capabilities.effective[3]: unknown capability 'CAP_MAKE_COFFEE'"
}

@test "seccomp: a denied syscall returns the configured errno" {
	make_bundle "$B" sh -c 'grep -E "^Seccomp(_filters)?:" /proc/self/status; mkdir /tmp/d'
	bundle_jq "$B" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}'
	run hy run -b "$B" "$ID"
	assert_failure 1
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	assert_line --regexp '^Seccomp_filters:[[:space:]]+1$'
	assert_output --partial "Function not implemented"
}

@test "seccomp: an argument comparison filters only the matching calls" {
	# kill(pid, SIGUSR1) is refused; kill(pid, 0) is not.
	make_bundle "$B" sh -c 'kill -0 $$ && echo probe-ok; kill -USR1 $$; echo usr1=$?'
	bundle_jq "$B" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
		"args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}]}'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line probe-ok
	assert_line usr1=1
	assert_output --partial "Function not implemented"
}

@test "seccomp: SCMP_ACT_KILL_PROCESS kills the container process with SIGSYS" {
	# exec: the container's init itself makes the call (a pid 1 ignores plain signals, not this).
	make_bundle "$B" sh -c 'echo before; exec mkdir /tmp/x'
	bundle_jq "$B" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
	run hy run -b "$B" "$ID"
	assert_equal "$status" $((128 + 31))
	assert_line before
}

@test "seccomp: an unknown action is a config error naming the JSON path" {
	make_bundle "$B" true
	bundle_jq "$B" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}'
	run hy run -b "$B" "$ID"
	assert_failure
	assert_output --partial "linux.seccomp.syscalls[0].action: unknown action 'SCMP_ACT_EXPLODE'"
}

@test "seccomp: the default profile allows a normal workload and denies namespace creation" {
	make_bundle "$B" sh -c 'mkdir /tmp/w && echo hi >/tmp/w/f && cat /tmp/w/f && linux32 true && echo l32-ok; unshare -U true; echo unshare=$?'
	# Same command without a filter: unshare works there, so the filter is what refuses it.
	run hy run -b "$B" "$ID-nofilter"
	assert_success
	assert_line unshare=0
	run hy spec --bundle "$BATS_TEST_TMPDIR"
	assert_success
	assert_equal "$(jq -r .linux.seccomp.defaultAction "$BATS_TEST_TMPDIR/config.json")" SCMP_ACT_ERRNO
	bundle_jq "$B" --slurpfile spec "$BATS_TEST_TMPDIR/config.json" '.linux.seccomp = $spec[0].linux.seccomp' 2>/dev/null ||
		bundle_jq "$B" ".linux.seccomp = $(jq -c .linux.seccomp "$BATS_TEST_TMPDIR/config.json")"
	run hy run -b "$B" "$ID"
	assert_success
	assert_line hi
	assert_line l32-ok
	assert_line unshare=1
	assert_output --partial "Operation not permitted"
}

@test "seccomp: SCMP_ACT_NOTIFY hands the listener fd and state to the agent at listenerPath" {
	command -v python3 >/dev/null || skip "python3 (the test's seccomp agent) is not installed"
	make_bundle "$B" sh -c 'mkdir /tmp/n && echo mkdir-ok; [ -d /tmp/n ] || echo not-created'
	sock=$BATS_TEST_TMPDIR/agent.sock
	bundle_jq "$B" ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\",
		\"listenerPath\": \"$sock\", \"listenerMetadata\": \"hyrun-test-meta\",
		\"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
	python3 "$BATS_TEST_DIRNAME/seccomp_agent.py" "$sock" "$BATS_TEST_TMPDIR/state.json" 3>&- &
	agent=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	# create + start, so that the container's pid is known from `state` to compare with what
	# the agent was sent.
	hy create -b "$B" "$ID" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 3>&-
	pid=$(hy state "$ID" | jq .pid)
	run hy start "$ID"
	assert_success
	wait "$agent"
	run cat "$BATS_TEST_TMPDIR/out"
	# The agent answered "success" without creating anything.
	assert_line mkdir-ok
	assert_line not-created
	run jq -r '[.metadata, .fds[0], .state.id, (.pid == .state.pid), .state.pid] | @tsv' "$BATS_TEST_TMPDIR/state.json"
	assert_output "$(printf 'hyrun-test-meta\tseccompFd\t%s\ttrue\t%s' "$ID" "$pid")"
	[ "$pid" -gt 0 ]
}

@test "seccomp: exec hands its own notify fd to the agent at listenerPath" {
	command -v python3 >/dev/null || skip "python3 (the test's seccomp agent) is not installed"
	make_bundle "$B" sleep 300
	sock=$BATS_TEST_TMPDIR/agent.sock
	bundle_jq "$B" ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\",
		\"listenerPath\": \"$sock\", \"listenerMetadata\": \"hyrun-exec-meta\",
		\"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
	python3 "$BATS_TEST_DIRNAME/seccomp_agent.py" "$sock" "$BATS_TEST_TMPDIR/init.json" 3>&- &
	agent1=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	hy run -d -b "$B" "$ID" </dev/null >/dev/null 2>&1 3>&-
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/init.json" ] && break; sleep 0.1; done
	pid=$(hy state "$ID" | jq .pid)
	# A second agent on the same path serves the exec'd process.
	rm -f "$sock"
	python3 "$BATS_TEST_DIRNAME/seccomp_agent.py" "$sock" "$BATS_TEST_TMPDIR/exec.json" 3>&- &
	agent2=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	run hy exec "$ID" sh -c 'mkdir /tmp/e && echo mkdir-ok; [ -d /tmp/e ] || echo not-created'
	assert_success
	assert_line mkdir-ok
	assert_line not-created
	hy kill "$ID" KILL
	wait "$agent1" "$agent2" || true
	run jq -r '[.metadata, .fds[0], .state.id, .state.pid] | @tsv' "$BATS_TEST_TMPDIR/exec.json"
	assert_output "$(printf 'hyrun-exec-meta\tseccompFd\t%s\t%s' "$ID" "$pid")"
}

@test "exec --cap adds a capability to the exec'd process only" {
	make_bundle "$B" sleep 30
	hy run -d -b "$B" "$ID" </dev/null >/dev/null 2>&1 3>&-
	run hy exec --cap CAP_SYS_ADMIN "$ID" cat /proc/self/status
	assert_success
	# CAP_SYS_ADMIN=21 on top of the bundle's KILL, NET_BIND_SERVICE, AUDIT_WRITE
	assert_equal "$(status_field CapEff)" 0000000020200420
	assert_equal "$(status_field CapBnd)" 0000000020200420
	run hy exec "$ID" cat /proc/self/status
	assert_equal "$(status_field CapEff)" 0000000020000420
	run hy exec --cap CAP_BOGUS "$ID" true
	assert_failure
	assert_output --partial "--cap: unknown capability 'CAP_BOGUS'"
	hy kill "$ID" KILL
}

@test "user namespace: id and uid_map inside the container follow the mappings" {
	make_bundle "$B" sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map; touch /made-in-ns && echo write-ok'
	chown -R 100000:100000 "$B/rootfs"
	# The container's root (host uid 100000) must be able to reach the bundle.
	local d=$B
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	bundle_jq "$B" '.root.readonly = false | .linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line "uid=0(root) gid=0(root)"
	assert_line --regexp '^ +0 +100000 +65536$'
	assert_line write-ok
	# Seen from the host, the container's root is uid 100000.
	assert_equal "$(stat -c %u:%g "$B/rootfs/made-in-ns")" 100000:100000
}

@test "maskedPaths: a masked file reads empty and a masked directory is empty" {
	make_bundle "$B" sh -c 'echo "[$(cat /secret-file)]"; ls -A /secret-dir | wc -l; touch /secret-dir/x; echo touch=$?'
	echo topsecret >"$B/rootfs/secret-file"
	mkdir "$B/rootfs/secret-dir" && echo hidden >"$B/rootfs/secret-dir/inner"
	bundle_jq "$B" '.linux.maskedPaths += ["/secret-file", "/secret-dir", "/not/there"]'
	run hy run -b "$B" "$ID"
	assert_success
	assert_line "[]"
	assert_line 0
	assert_line touch=1
	refute_output --partial topsecret
}

@test "readonlyPaths: writes are refused, reads work, the rest stays writable" {
	make_bundle "$B" sh -c 'cat /data/f; echo x >/data/f; echo write=$?; echo y >/other/f && echo other-ok; echo 1 >/proc/sys/kernel/domainname; echo sys=$?'
	bundle_jq "$B" '.root.readonly = false | .linux.readonlyPaths += ["/data"]'
	mkdir "$B/rootfs/data" "$B/rootfs/other" && echo original >"$B/rootfs/data/f"
	run hy run -b "$B" "$ID"
	assert_success
	assert_line original
	assert_line write=1
	assert_line other-ok
	assert_line sys=1
	assert_output --partial "Read-only file system"
	assert_equal "$(cat "$B/rootfs/data/f")" original
}

@test "rootfs symlink escape: a mount destination through a symlink to the host is refused" {
	make_bundle "$B" true
	mkdir "$BATS_TEST_TMPDIR/host-dir"
	ln -s "$BATS_TEST_TMPDIR/host-dir" "$B/rootfs/evil"
	bundle_jq "$B" '.mounts += [{"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}]'
	run hy run -b "$B" "$ID"
	assert_failure
	assert_output --partial "/evil"
	# Nothing was created or mounted on the host side of the symlink.
	run ls -A "$BATS_TEST_TMPDIR/host-dir"
	assert_output ""
	run grep -F "$BATS_TEST_TMPDIR/host-dir" /proc/self/mountinfo
	assert_failure
}

@test "sealed binary: a created container's init runs from a sealed memfd, not the host file" {
	make_bundle "$B" true
	# The created init keeps create's stdio until start: keep bats' pipes out of it.
	hy create -b "$B" "$ID" </dev/null >"$BATS_TEST_TMPDIR/create.log" 2>&1 3>&-
	pid=$(hy state "$ID" | jq -r .pid)
	run readlink "/proc/$pid/exe"
	assert_output --partial "memfd:hyrun"
	refute_output --partial "$HYRUN"
	# While created, the init holds the state lock that delete waits for: end it first.
	kill -KILL "$pid"
	hy delete --force "$ID"
}

@test "sealed binary: a hyrun on a read-only mount runs as it is, and the host file stays unwritable" {
	make_bundle "$B" true
	ro=$BATS_TEST_TMPDIR/ro
	mkdir -p "$ro"
	cp "$HYRUN" "$ro/hyrun"
	# A private mount namespace: the read-only bind mount goes away with the script.
	cat >"$BATS_TEST_TMPDIR/ro.sh" <<'EOF'
set -e
mount --bind "$ro" "$ro"
mount -o remount,bind,ro "$ro"
"$ro/hyrun" --root "$HYRUN_ROOT" create -b "$B" "$ID" </dev/null >/dev/null 2>&1 3>&-
pid=$("$ro/hyrun" --root "$HYRUN_ROOT" state "$ID" | jq -r .pid)
readlink "/proc/$pid/exe"
if echo x 2>&1 >>"/proc/$pid/exe"; then echo WRITABLE; fi
kill -KILL "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
# Not executing any more, the file still cannot be written: the mount is what protects it.
if echo x 2>&1 >>"$ro/hyrun"; then echo WRITABLE; fi
"$ro/hyrun" --root "$HYRUN_ROOT" delete --force "$ID"
EOF
	ro=$ro B=$B ID=$ID run unshare -m --propagation private bash "$BATS_TEST_TMPDIR/ro.sh"
	assert_success
	assert_line "$ro/hyrun"
	assert_output --partial "Read-only file system"
	refute_output --partial WRITABLE
	refute_output --partial memfd:hyrun
}

@test "rootless: an unprivileged user runs a container with a user namespace of its own ids" {
	getent passwd 1000 >/dev/null || skip "no user 1000 on this host"
	make_bundle "$B" sh -c 'id; cat /proc/self/uid_map'
	bundle_jq "$B" 'del(.linux.resources) | .linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]
		| .mounts |= map(select(.destination != "/sys"))'
	local d=$B
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	chown -R 1000:1000 "$B"
	root=$(mktemp -d /tmp/hyrun-rootless.XXXXXX)
	chown 1000:1000 "$root"
	run setpriv --reuid 1000 --regid 1000 --clear-groups "$HYRUN" --root "$root" run -b "$B" "$ID"
	rm -rf "$root"
	assert_success
	assert_line "uid=0(root) gid=0(root)"
	assert_line --regexp '^ +0 +1000 +1$'
}

@test "rootless: a setting that needs root names itself (linux.resources)" {
	getent passwd 1000 >/dev/null || skip "no user 1000 on this host"
	make_bundle "$B" true
	bundle_jq "$B" '.linux.resources = {"pids": {"limit": 10}} | .linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]
		| .mounts |= map(select(.destination != "/sys"))'
	local d=$B
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	chown -R 1000:1000 "$B"
	root=$(mktemp -d /tmp/hyrun-rootless.XXXXXX)
	chown 1000:1000 "$root"
	run setpriv --reuid 1000 --regid 1000 --clear-groups "$HYRUN" --root "$root" run -b "$B" "$ID"
	left=$(ls -A "$root")
	rm -rf "$root"
	assert_failure
	assert_output --partial "linux.resources: cgroups need root or a delegated cgroup"
	assert_equal "$left" ""
}

@test "user namespace: a rootfs the container's root cannot enter is refused before the clone" {
	make_bundle "$B" true
	chmod 0700 "$B/rootfs"
	bundle_jq "$B" '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	run hy run -b "$B" "$ID"
	assert_failure
	assert_output --partial "root.path: $B/rootfs is owned by host uid 0"
	assert_output --partial "chown it to 100000:100000"
	run hy list -q
	assert_output ""
}

@test "idmapped mount: a bind mount with uidMappings shows a host-root file as the mapped id" {
	make_bundle "$B" sh -c 'stat -c "%u:%g" /idm/owned-by-0; ls -ln /plain/owned-by-0 | awk "{print \$3\":\"\$4}"'
	mkdir -p "$BATS_TEST_TMPDIR/src"
	touch "$BATS_TEST_TMPDIR/src/owned-by-0"
	chown 0:0 "$BATS_TEST_TMPDIR/src/owned-by-0"
	bundle_jq "$B" ".mounts += [{\"destination\": \"/idm\", \"type\": \"bind\",
		\"source\": \"$BATS_TEST_TMPDIR/src\", \"options\": [\"bind\", \"idmap\"],
		\"uidMappings\": [{\"containerID\": 0, \"hostID\": 4321, \"size\": 1}],
		\"gidMappings\": [{\"containerID\": 0, \"hostID\": 4322, \"size\": 1}]},
		{\"destination\": \"/plain\", \"type\": \"bind\",
		\"source\": \"$BATS_TEST_TMPDIR/src\", \"options\": [\"bind\"]}]"
	run hy run -b "$B" "$ID"
	assert_success
	assert_line --index 0 "4321:4322"
	assert_line --index 1 "0:0"
	# The host's view of the file is unchanged.
	assert_equal "$(stat -c %u:%g "$BATS_TEST_TMPDIR/src/owned-by-0")" 0:0
}
