# Helpers for booting the guest kernel + agent under QEMU's microvm machine inside the test host
# (the reference VMM that hyrun's own is compared against). Sourced by tests/vmhost/*.bats and
# tests/bench/qemu-microvm.

VMHOST_TOP=${VMHOST_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GUEST_DIR=${HYRUN_GUEST_DIR:-$VMHOST_TOP/build/guest}

# guest_initrd OUT: the agent's initramfs plus busybox (guest commands need a shell and echo).
guest_initrd() {
	"$VMHOST_TOP/sandbox-vm/guest/mkinitramfs" --busybox "$1"
}

# microvm_status N: QEMU's exit status when the agent reports exit code N through isa-debug-exit
# ((N << 1) | 1, truncated to 8 bits by exit()).
microvm_status() {
	echo $(((($1 << 1) | 1) & 255))
}

# microvm KERNEL INITRD [QEMU ARGS...] -- CMD [ARGS...]: boots the guest; its agent runs CMD. Extra
# kernel parameters come from $MICROVM_APPEND (default "quiet": every serial byte is an exit to the
# nested VMM, so a verbose boot is seconds slower). acpi=off makes QEMU announce its virtio-mmio
# devices on the kernel command line (the guest kernel has no ACPI). Prints the serial console
# (the agent's stdio unless a virtio-console exists) without carriage returns; returns QEMU's status.
microvm() {
	local kernel=$1 initrd=$2 qemu_args=() cmdline='' arg
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		qemu_args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	# The kernel splits its command line at blanks, except inside double quotes (which it strips);
	# there is no escape for a double quote itself.
	for arg in "$@"; do
		case $arg in
		*'"'*) echo "microvm: a double quote cannot go through the kernel command line: $arg" >&2; return 2 ;;
		'' | *[[:space:]]*) arg="\"$arg\"" ;;
		esac
		cmdline+=" $arg"
	done
	timeout -k 5 "${MICROVM_TIMEOUT:-180}" qemu-system-x86_64 \
		-M microvm,acpi=off -enable-kvm -cpu host -m "${MICROVM_MEMORY:-256}" -smp "${MICROVM_CPUS:-1}" \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=1 \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 reboot=k panic=-1 ${MICROVM_APPEND-quiet} --$cmdline" \
		"${qemu_args[@]}" </dev/null | tr -d '\r'
	return "${PIPESTATUS[0]}"
}
