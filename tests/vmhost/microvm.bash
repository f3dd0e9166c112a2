# Helpers for booting the guest kernel + agent under QEMU's microvm machine inside the test host
# (the reference VMM that hyrun's own is compared against). Sourced by tests/vmhost/*.bats and
# tests/bench/qemu-microvm.

VMHOST_TOP=${VMHOST_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GUEST_DIR=${HYRUN_GUEST_DIR:-$VMHOST_TOP/build/guest}

# guest_initrd OUT: the agent's initramfs plus busybox (guest commands need a shell and echo).
guest_initrd() {
	"$VMHOST_TOP/sandbox-vm/guest/mkinitramfs" --busybox "$1"
}

# microvm KERNEL INITRD "KERNEL ARGS" [QEMU ARGS...] -- CMD...: boots the guest; the agent runs CMD.
# acpi=off makes QEMU announce its virtio-mmio devices on the kernel command line (our guest kernel
# has no ACPI). The agent's exit code N comes back as QEMU's status (N << 1) | 1 (isa-debug-exit).
microvm() {
	local kernel=$1 initrd=$2 append=$3
	shift 3
	local qemu_args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		qemu_args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	timeout -k 5 "${MICROVM_TIMEOUT:-120}" qemu-system-x86_64 \
		-M microvm,acpi=off -enable-kvm -cpu host -m "${MICROVM_MEMORY:-256}" -smp "${MICROVM_CPUS:-1}" \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=1 \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 reboot=k panic=-1 $append -- $*" \
		"${qemu_args[@]}" </dev/null
}
