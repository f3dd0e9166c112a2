#!/usr/bin/env bats
# hyrun's VMM end to end with hand-made guests: a few bytes of 32-bit code in a PVH ELF (no Linux),
# which even this machine's kvm_pvm can run (HYRUN_VM_SKIP_PROBE=1 bypasses the probe that refuses
# to boot a Linux guest there). Covers loading, the PVH entry state, the serial port (output and
# input from stdin and from a Unix socket), the exit port and the i8042 reset.

load helpers

# tiny_guest OUT HEXCODE: a PVH ELF whose entry (0x100000, 32-bit protected mode) runs HEXCODE.
tiny_guest() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
code = bytes.fromhex(sys.argv[2])
load = 0x100000
note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", load)
off_note = 64 + 56 * 2
off_code = (off_note + len(note) + 15) & ~15
eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 + struct.pack(
    "<HHIQQQIHHHHHH", 2, 62, 1, load, 64, 0, 0, 64, 56, 2, 0, 0, 0)
ph_load = struct.pack("<IIQQQQQQ", 1, 7, off_code, load, load, len(code), len(code) + 4096, 16)
ph_note = struct.pack("<IIQQQQQQ", 4, 4, off_note, 0, 0, len(note), len(note), 4)
f = eh + ph_load + ph_note + note
f += b"\0" * (off_code - len(f)) + code
open(sys.argv[1], "wb").write(f)
PY
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	command -v python3 >/dev/null || skip "python3 is needed to build the tiny guests"
	export HYRUN_VM_SKIP_PROBE=1
}

tiny() {
	timeout -k 5 60 "$HYRUN" vm run --memory 16 --kernel "$@"
}

@test "tiny guest: serial output and the exit port's code" {
	# mov dx,0x3f8; mov al,'H'; out dx,al; mov al,'i'; out; mov al,'\r'; out; mov al,'\n'; out;
	# mov al,42; out 0xf4,al; hlt
	tiny_guest "$BATS_TEST_TMPDIR/g" 66BAF803B048EEB069EEB00DEEB00AEEB02AE6F4F4
	run tiny "$BATS_TEST_TMPDIR/g" -- ignored
	assert_equal "$status" 42
	assert_output "Hi"
}

@test "tiny guest: a reset through the i8042 ends the VM with status 0" {
	# mov al,0xfe; out 0x64,al; jmp $
	tiny_guest "$BATS_TEST_TMPDIR/g" B0FEE664EBFE
	run tiny "$BATS_TEST_TMPDIR/g" -- ignored
	assert_success
}

@test "tiny guest: serial input from stdin and from a Unix socket" {
	# poll LSR until data ready, read RBR, write it to the exit port
	tiny_guest "$BATS_TEST_TMPDIR/g" 66BAFD03ECA80174FB66BAF803ECE6F4F4
	run bash -c "echo A | timeout -k 5 60 '$HYRUN' vm run --memory 16 --kernel '$BATS_TEST_TMPDIR/g' --serial-input - -- x"
	assert_equal "$status" 65
	local sock=$BATS_TEST_TMPDIR/in.sock
	python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.send(b'B'); time.sleep(5)" "$sock" &
	local srv=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	run tiny "$BATS_TEST_TMPDIR/g" --serial-input "$sock" -- x
	kill "$srv" 2>/dev/null || true
	assert_equal "$status" 66
}

@test "tiny guest: 2 vCPUs start (the AP waits for INIT/SIPI), pause and resume answer" {
	# The guest polls the serial port for a byte and exits with it; the byte comes from a FIFO
	# only after the pause/resume round trip, so the VM is certainly running meanwhile.
	tiny_guest "$BATS_TEST_TMPDIR/g" 66BAFD03ECA80174FB66BAF803ECE6F4F4
	local sock=$BATS_TEST_TMPDIR/ctl.sock fifo=$BATS_TEST_TMPDIR/in.fifo
	mkfifo "$fifo"
	tiny "$BATS_TEST_TMPDIR/g" --cpus 2 --control "$sock" --serial-input "$fifo" -- x &
	local pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	run "$HYRUN" vm pause --control "$sock"
	assert_success
	run "$HYRUN" vm resume --control "$sock"
	assert_success
	run "$HYRUN" vm pause --control "$sock" --bogus
	assert_failure
	echo C >"$fifo"
	local status=0
	wait "$pid" || status=$?
	assert_equal "$status" 67
}

@test "tiny guest: a segment beyond guest memory is refused before the VM starts" {
	tiny_guest "$BATS_TEST_TMPDIR/g" F4
	python3 - "$BATS_TEST_TMPDIR/g" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<Q", b, 64 + 40, 64 << 20)  # p_memsz of PT_LOAD: 64 MiB
open(sys.argv[1], "wb").write(b)
PY
	run tiny "$BATS_TEST_TMPDIR/g" -- x
	assert_failure
	assert_output --partial "smaller than the kernel"
}

@test "tiny guest: a crash (ud2 with no IDT: triple fault) is an error, not a clean exit" {
	tiny_guest "$BATS_TEST_TMPDIR/g" 0F0B
	run tiny "$BATS_TEST_TMPDIR/g" -- x
	assert_failure
	assert_output --partial "triple-faulted"
}
