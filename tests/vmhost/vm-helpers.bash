# Helpers for the VM-isolation suites (vm-isolation.bats, podman-vm.bats): run one bundle at both
# isolation levels and capture what it did, the guest kernel's release, waiting.
#
#   vm_can_boot                 true where a guest kernel can boot (inside the test host, or real KVM)
#   require_vm                  skips the rest of a test on a machine that cannot boot a guest
#                               (the host's kvm_pvm); never skips inside the test host
#   guest_release               `uname -r` of build/guest's kernel (what a VM container sees)
#   iso_run LEVEL BUNDLE ID     `hyrun --isolation=LEVEL run` in the foreground, stdin closed;
#                               fills OUT[LEVEL], ERR[LEVEL], STATUS[LEVEL]
#   wait_until SECONDS CMD...   retries CMD every 0.2 s; 1 when it never succeeded
#   state_of ID / pid_of ID     status / pid from `hyrun state`
#
# Sources tests/bats/helpers.bash (hy, setup_hyrun, make_bundle, bundle_jq, busybox rootfs).

VM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HYRUN=${HYRUN:-$VM_TOP/build/hyrun}
# shellcheck source=../bats/helpers.bash
source "$VM_TOP/tests/bats/helpers.bash"

VM_GUEST_DIR=${HYRUN_GUEST_DIR:-$VM_TOP/build/guest}
# shellcheck disable=SC2034 # used by the files that load this one
RECVTTY=$VM_TOP/build/tests/recvtty
# A guest boot under the emulated host takes seconds, tens of them under load.
VM_TIMEOUT=${VM_TIMEOUT:-300}

# A /dev/kvm that boots Linux: the test host (tests/vmhost/run exports VMHOST_INSIDE), or
# hardware virtualization that is not the build machines' kvm_pvm.
vm_can_boot() {
	[ -n "${VMHOST_INSIDE:-}" ] && return 0
	[ -c /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && ! grep -q '^kvm_pvm ' /proc/modules
}

require_vm() {
	if ! vm_can_boot; then
		skip "this machine's /dev/kvm cannot boot a guest kernel (run through tests/vmhost/run)"
	fi
	[ -c /dev/kvm ] || fail "no /dev/kvm in the test host"
	[ -f "$VM_GUEST_DIR/vmlinux" ] || fail "$VM_GUEST_DIR/vmlinux missing: make guest"
}

# The release string the guest kernel reports, read from its banner ("Linux version R (...").
guest_release() {
	strings "$VM_GUEST_DIR/vmlinux" | sed -n 's/^Linux version \([^ ]*\) .*/\1/p' | head -n 1
}

declare -gA OUT ERR STATUS

# iso_run LEVEL BUNDLE ID: LEVEL is container or vm (the global --isolation flag).
iso_run() {
	local level=$1 bundle=$2 id=$3 dir=$BATS_TEST_TMPDIR/iso-$1
	mkdir -p "$dir"
	STATUS[$level]=0
	timeout -k 5 "$VM_TIMEOUT" "$HYRUN" --root "$HYRUN_ROOT" --isolation="$level" \
		run -b "$bundle" "$id" </dev/null >"$dir/out" 2>"$dir/err" 3>&- || STATUS[$level]=$?
	OUT[$level]=$(cat "$dir/out")
	ERR[$level]=$(cat "$dir/err")
	# shown by bats when an assertion below fails
	echo "--- $level: status ${STATUS[$level]}, stdout:"
	echo "${OUT[$level]}"
	echo "--- $level: stderr:"
	echo "${ERR[$level]}"
}

# assert_same_at_both_levels: stdout and status of the last container and vm iso_run are equal.
assert_same_at_both_levels() {
	assert_equal "${OUT[vm]}" "${OUT[container]}"
	assert_equal "${STATUS[vm]}" "${STATUS[container]}"
}

wait_until() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

state_of() {
	hy state "$1" 2>/dev/null | jq -r .status
}

pid_of() {
	hy state "$1" | jq -r .pid
}

state_is() {
	[ "$(state_of "$1")" = "$2" ]
}
