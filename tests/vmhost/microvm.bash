# Helpers for booting the guest kernel + agent under QEMU's microvm machine inside the test host
# (the reference VMM that hyrun's own is compared against). Sourced by tests/vmhost/*.bats and
# tests/bench/qemu-microvm.

VMHOST_TOP=${VMHOST_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GUEST_DIR=${HYRUN_GUEST_DIR:-$VMHOST_TOP/build/guest}

# The agent's initramfs plus busybox (guest commands need a shell and echo), built by `make guest`.
# shellcheck disable=SC2034 # used by the files that source this one
GUEST_INITRD=$GUEST_DIR/initramfs-busybox.cpio

# microvm_status N: QEMU's exit status when the agent reports exit code N through isa-debug-exit
# ((N << 1) | 1, truncated to 8 bits by exit()).
microvm_status() {
	echo $(((($1 << 1) | 1) & 255))
}

# microvm KERNEL INITRD [QEMU ARGS...] -- CMD [ARGS...]: boots the guest; its agent runs CMD. Extra
# kernel parameters come from $MICROVM_APPEND (default "quiet": every serial byte is an exit to the
# nested VMM, so a verbose boot is seconds slower). Prints the serial console (the agent's stdio
# unless a virtio-console exists) without carriage returns; returns QEMU's status.
#
# virtio-mmio devices: the guest kernel has no ACPI, so they must be on its command line. QEMU's
# own announcement (auto-kernel-cmdline) is appended at the END of the command line, i.e. after
# `--`, where the kernel hands it to init as arguments; so it is turned off and the 8 transports of
# microvm without ACPI (512 bytes each from 0xfeb00000, IRQ 5 + index) are announced here, before
# `--`. Empty transports are skipped by the kernel (device id 0).
microvm() {
	local kernel=$1 initrd=$2 qemu_args=() cmdline='' devices='' arg i
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
		virtio-*-device* | vhost-*-device*) devices=yes ;;
		esac
		qemu_args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	if [ -n "$devices" ]; then
		devices=''
		for ((i = 0; i < 8; i++)); do
			devices+=" virtio_mmio.device=512@0x$(printf %x $((0xfeb00000 + 512 * i))):$((5 + i))"
		done
	fi
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
		-M microvm,acpi=off,auto-kernel-cmdline=off -enable-kvm -cpu host -m "${MICROVM_MEMORY:-256}" -smp "${MICROVM_CPUS:-1}" \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=1 \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 reboot=k panic=-1 ${MICROVM_APPEND-quiet}$devices --$cmdline" \
		"${qemu_args[@]}" </dev/null | tr -d '\r'
	return "${PIPESTATUS[0]}"
}
