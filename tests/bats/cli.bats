#!/usr/bin/env bats
# The CLI surface: global flags, --help, spec, features, list formats, and the error paths of
# every command (unknown ids, bad configs) leaving no state behind.

load helpers

setup() {
	setup_hyrun
	WORK=$(mktemp -d /tmp/hyrun-cli.XXXXXX)
	ID=cli-$BATS_TEST_NUMBER-$$
}

teardown() {
	teardown_hyrun
	rm -rf "$WORK"
}

# No container directory may be left under the state root.
assert_no_state() {
	run ls -A "$HYRUN_ROOT"
	assert_success
	assert_output ""
}

@test "--version names the version, the spec and the features" {
	run "$HYRUN" --version
	assert_success
	assert_line --index 0 --regexp '^hyrun version '
	assert_line --regexp '^spec: 1\.'
	assert_output --partial '+SECCOMP'
}

@test "--help lists the commands" {
	run "$HYRUN" --help
	assert_success
	for c in create start run state kill delete list exec ps spec features; do
		assert_output --partial "  $c "
	done
}

@test "every command has --help" {
	for c in create start run state kill delete list exec ps spec features; do
		run "$HYRUN" "$c" --help
		assert_success
		assert_output --partial "usage: hyrun $c"
	done
	run "$HYRUN" kill -h
	assert_success
	assert_output --partial "--all"
}

@test "unknown command and unknown option are errors" {
	run "$HYRUN" frobnicate
	assert_failure 1
	assert_output --partial "unknown command 'frobnicate'"
	run hy list --bogus
	assert_failure 1
	assert_output --partial "list: unknown option '--bogus' (see hyrun list --help)"
	run hy create
	assert_failure 1
	assert_output --partial "create: missing container id"
	run hy create --pid-file
	assert_failure 1
	assert_output --partial "needs an argument"
	run hy create --preserve-fds x "$ID"
	assert_failure 1
	assert_output --partial "--preserve-fds: expected a number"
	assert_no_state
}

@test "spec writes a valid default config and never overwrites one" {
	run hy spec --bundle "$WORK"
	assert_success
	run jq -r '.ociVersion, .root.path, .process.args[0], .process.terminal' "$WORK/config.json"
	assert_success
	assert_output $'1.0.2\nrootfs\nsh\ntrue'
	run jq -r '[.linux.namespaces[].type] | join(",")' "$WORK/config.json"
	assert_output "pid,network,ipc,uts,mount,cgroup"
	run jq -e '.linux.seccomp.defaultAction' "$WORK/config.json"
	assert_success
	echo '{"mine": true}' >"$WORK/config.json"
	run hy spec --bundle "$WORK"
	assert_failure 1
	assert_output --partial "config.json already exists"
	run cat "$WORK/config.json"
	assert_output '{"mine": true}'
	# without --bundle: the current directory
	mkdir "$WORK/cwd"
	cd "$WORK/cwd"
	run hy spec
	assert_success
	[ -s "$WORK/cwd/config.json" ]
	run hy spec --bundle "$WORK/missing"
	assert_failure 1
	assert_output --partial "missing/config.json"
}

@test "spec --rootless maps the caller in a user namespace" {
	run hy spec --rootless -b "$WORK"
	assert_success
	run jq -r '.linux.uidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' "$WORK/config.json"
	assert_output "0 $(id -u) 1"
	run jq -r '.linux.gidMappings[0].hostID' "$WORK/config.json"
	assert_output "$(id -g)"
	run jq -r '[.linux.namespaces[].type] | index("user") != null, index("network") == null' "$WORK/config.json"
	assert_output $'true\ntrue'
}

@test "features prints the OCI features document" {
	run hy features
	assert_success
	echo "$output" | jq -e '.ociVersionMin == "1.0.0" and (.ociVersionMax | startswith("1."))'
	echo "$output" | jq -e '.hooks | length == 6'
	echo "$output" | jq -e '.linux.namespaces | index("time") != null and index("user") != null'
	echo "$output" | jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") != null'
	echo "$output" | jq -e '.linux.seccomp.enabled == true and (.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null)'
	echo "$output" | jq -e '.linux.cgroup.v1 == true and .linux.apparmor.enabled == false'
	echo "$output" | jq -e '.mountOptions | index("rbind") != null'
	echo "$output" | jq -e '.annotations["io.github.seccomp.libseccomp.version"] | test("^[0-9]+\\.")'
}

@test "commands on an unknown id fail clearly and create nothing" {
	for cmd in "state" "start" "kill" "delete" "ps" "exec --process /dev/null"; do
		run hy $cmd nope-$$
		assert_failure 1
		if [ "$cmd" = "exec --process /dev/null" ]; then
			assert_output "hyrun: exec: --process: null: not a regular file"
		else
			assert_output "hyrun: container 'nope-$$' does not exist"
		fi
	done
	run hy exec nope-$$ true
	assert_failure 1
	assert_output --partial "container 'nope-$$' does not exist"
	assert_no_state
}

@test "delete --force of a missing container succeeds, as with runc" {
	run hy delete --force nope-$$
	assert_success
}

@test "invalid container ids are refused" {
	run hy state ../etc
	assert_failure 1
	assert_output --partial "invalid container id '../etc'"
	run hy state 'a b'
	assert_failure 1
	assert_output --partial "only [A-Za-z0-9_.+-] allowed"
}

@test "kill checks the signal before anything else" {
	run hy kill nope-$$ SIGFOO
	assert_failure 1
	assert_output "hyrun: unknown signal 'SIGFOO'"
	run hy kill nope-$$ 99
	assert_failure 1
	assert_output "hyrun: invalid signal number '99'"
	run hy kill nope-$$ SIGRTMIN+99
	assert_failure 1
	assert_output "hyrun: signal 'SIGRTMIN+99' is out of range"
	# valid names and numbers get as far as the container lookup
	for sig in SIGRTMIN+3 RTMAX-1 TERM sigkill 9 HUP; do
		run hy kill nope-$$ "$sig"
		assert_failure 1
		assert_output "hyrun: container 'nope-$$' does not exist"
	done
	run hy kill nope-$$ KILL extra
	assert_failure 1
	assert_output --partial "unexpected argument 'extra'"
}

@test "exec argument errors" {
	run hy exec nope-$$
	assert_failure 1
	assert_output --partial "exec: missing the command to run"
	run hy exec --process "$WORK/p.json" nope-$$ true
	assert_failure 1
	assert_output --partial "--process cannot be combined with a command"
	echo '{"args":["sh"],"cwd":"relative"}' >"$WORK/p.json"
	run hy exec --process "$WORK/p.json" nope-$$
	assert_failure 1
	assert_output "hyrun: exec: --process: p.json: cwd: must be an absolute path, got \"relative\""
	assert_no_state
}

@test "create with a missing config.json names it and leaves no state" {
	mkdir -p "$WORK/b"
	run hy create --bundle "$WORK/b" "$ID"
	assert_failure 1
	assert_output --partial "config.json: not found in bundle $WORK/b"
	run hy create --bundle "$WORK/none" "$ID"
	assert_failure 1
	assert_output --partial "$WORK/none"
	assert_no_state
}

@test "create with invalid JSON fails and leaves no state" {
	make_bundle "$WORK/b" true
	echo '{"ociVersion": "1.0.2", "root": ' >"$WORK/b/config.json"
	run hy create --bundle "$WORK/b" "$ID"
	assert_failure 1
	assert_output --partial "config.json: invalid JSON"
	assert_no_state
}

@test "create with a bad field type names the JSON path and leaves no state" {
	make_bundle "$WORK/b" true
	bundle_jq "$WORK/b" '.process.terminal = "yes"'
	run hy create --bundle "$WORK/b" "$ID"
	assert_failure 1
	assert_output "hyrun: config.json: process.terminal: expected boolean"
	assert_no_state

	make_bundle "$WORK/c" true
	bundle_jq "$WORK/c" '.linux.resources.memory = {"limit": "1G"}'
	run hy create --bundle "$WORK/c" "$ID"
	assert_failure 1
	assert_output --partial "config.json: linux.resources.memory.limit: expected integer"
	assert_no_state
}

@test "create validates the config before touching anything" {
	make_bundle "$WORK/b" true
	bundle_jq "$WORK/b" '.mounts[0].destination = "proc"'
	run hy create --bundle "$WORK/b" "$ID"
	assert_failure 1
	assert_output "hyrun: config.json: mounts[0].destination: must be an absolute path, got \"proc\""
	bundle_jq "$WORK/b" '.mounts[0].destination = "/proc" | .annotations = {"org.hyrun.isolaton": "vm"}'
	run hy create --bundle "$WORK/b" "$ID"
	assert_failure 1
	assert_output "hyrun: config.json: annotations.org.hyrun.isolaton: unknown hyrun annotation"
	bundle_jq "$WORK/b" 'del(.annotations) | .process.rlimits[0].soft = 2048'
	run hy create --bundle "$WORK/b" "$ID"
	assert_failure 1
	assert_output --partial "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024"
	assert_no_state
}

@test "--log-format json writes errors as runc does" {
	run hy --log "$WORK/log.json" --log-format json state nope-$$
	assert_failure 1
	run jq -r '.level + " " + .msg' "$WORK/log.json"
	assert_success
	assert_output "error container 'nope-$$' does not exist"
	run hy --log "$WORK/log.txt" state nope-$$
	run cat "$WORK/log.txt"
	assert_output --regexp "error: container 'nope-$$' does not exist$"
	run hy --log-format yaml list
	assert_failure 1
}

@test "list on an empty root: table header, empty json array, nothing quiet" {
	run hy list
	assert_success
	assert_output --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER$'
	run hy list --format json
	assert_success
	assert_output "[]"
	run hy list -q
	assert_success
	assert_output ""
	run hy list --format yaml
	assert_failure 1
	assert_output --partial "--format: expected table or json"
	# a root that does not exist yet is an empty list too
	run "$HYRUN" --root "$WORK/none" list -q
	assert_success
	assert_output ""
}

@test "list and state show a created container in every format" {
	make_bundle "$WORK/b" sleep 30
	# not under `run`: the waiting container keeps its stdio, which `run` would wait for
	hy create --bundle "$WORK/b" "$ID" </dev/null >"$WORK/create.log" 2>&1
	run hy list -q
	assert_output "$ID"
	run hy list --format json
	assert_success
	echo "$output" | jq -e --arg id "$ID" --arg b "$WORK/b" \
		'length == 1 and .[0].id == $id and .[0].status == "created" and .[0].bundle == $b and .[0].pid > 0'
	run hy list
	assert_line --index 1 --regexp "^$ID +[0-9]+ +created +$WORK/b +[0-9T:.-]+Z +root$"
	run hy state "$ID"
	assert_success
	echo "$output" | jq -e --arg id "$ID" \
		'.id == $id and .status == "created" and .ociVersion != null and (.pid > 0) and
		 (.rootfs | endswith("/rootfs")) and (.created | test("^[0-9]{4}-")) and .owner == "root"'
	run hy delete --force "$ID"
	assert_success
	run hy list -q
	assert_output ""
}

@test "exec builds its process from the container's config plus the flags" {
	make_bundle "$WORK/b" sleep 60
	bundle_jq "$WORK/b" '.process.env += ["FROM_CONFIG=yes"]'
	hy run -d --bundle "$WORK/b" "$ID" </dev/null >"$WORK/run.log" 2>&1
	run hy exec -e FOO=bar -e FROM_CONFIG=over --cwd /tmp -u 1000:1000 "$ID" \
		sh -c 'echo "$FOO $FROM_CONFIG $(pwd) $(id -u) $(id -g) $PATH"'
	assert_success
	assert_output "bar over /tmp 1000 1000 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	run hy exec "$ID" sh -c 'echo "$FROM_CONFIG $(id -u) $(pwd)"; exit 7'
	assert_failure 7
	assert_output "yes 0 /"
	echo '{"args":["sh","-c","echo from-file $A"],"cwd":"/","env":["A=1"]}' >"$WORK/p.json"
	run hy exec --process "$WORK/p.json" "$ID"
	assert_success
	assert_output "from-file 1"
	run hy exec -u nobody "$ID" true
	assert_failure 1
	assert_output --partial "--user: expected UID[:GID], got 'nobody'"
	run hy exec --cwd tmp "$ID" true
	assert_failure 1
	assert_output --partial "--cwd: must be an absolute path"
	# the bundle's caps: AUDIT_WRITE (29), NET_BIND_SERVICE (10), KILL (5); --cap adds
	# SYS_ADMIN (21)
	run hy exec "$ID" sh -c 'grep CapEff /proc/self/status'
	assert_success
	assert_output --regexp 'CapEff:[[:space:]]+0000000020000420$'
	run hy exec --cap CAP_SYS_ADMIN "$ID" sh -c 'grep CapEff /proc/self/status'
	assert_success
	assert_output --regexp 'CapEff:[[:space:]]+0000000020200420$'
	run hy exec --cap CAP_NOPE "$ID" true
	assert_failure 1
	assert_output --partial "CAP_NOPE"
	run hy ps --format json "$ID"
	assert_success
	echo "$output" | jq -e 'length == 1 and (.[0] > 1)'
	run hy ps "$ID"
	assert_success
	assert_line --index 0 --regexp 'PID'
	assert_output --partial "sleep 60"
	run hy kill "$ID" KILL
	assert_success
	run hy delete --force "$ID"
	assert_success
}

@test "a relative --root names the same directory from anywhere" {
	make_bundle "$WORK/b" sleep 30
	mkdir -p "$WORK/elsewhere"
	(cd "$WORK" && "$HYRUN" --root rel create --bundle b "$ID" </dev/null >"$WORK/create.log" 2>&1)
	run "$HYRUN" --root "$WORK/rel" list -q
	assert_output "$ID"
	run "$HYRUN" --root "$WORK/rel" state "$ID"
	assert_success
	echo "$output" | jq -e --arg b "$WORK/b" '.bundle == $b and .status == "created"'
	run "$HYRUN" --root "$WORK/rel" delete --force "$ID"
	assert_success
	run "$HYRUN" --root "$WORK/rel" list -q
	assert_output ""
}
