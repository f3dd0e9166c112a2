/* Just enough of the i8042 keyboard controller for Linux's reboot=k: the pulse-reset command 0xFE
 * on port 0x64 ends the VM cleanly, as a reboot. There is no keyboard behind it.
 * The status port reads 0x01: input buffer empty, so the reboot path's kb_wait() does not spin,
 * and output buffer "full", so the i8042 driver's flush check sees no controller and gives up at
 * once (with a status of 0 it spends seconds timing out on commands nobody answers). */
#include <string.h>

#include "sandbox-vm/vmm/vm.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_CMD_RESET 0xfe

#define I8042_STATUS_IDLE 0x01

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	if (off == I8042_CMD_PORT - I8042_DATA_PORT)
		data[0] = I8042_STATUS_IDLE;
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;
	if (off == I8042_CMD_PORT - I8042_DATA_PORT && data[0] == I8042_CMD_RESET)
		vm_request_stop(vm, VM_STOP_RESET, 0, NULL);
}

static const struct bus_ops i8042_ops = {.read = i8042_read, .write = i8042_write};

int i8042_create(struct vm *vm, struct hy_error *err)
{
	/* 0x60..0x64 as one range; 0x61 (the PIT's speaker gate) is the in-kernel PIT's. KVM handles
	 * 0x61 before exiting to us, so claiming the range is harmless. */
	return bus_register(&vm->pio, I8042_DATA_PORT, I8042_CMD_PORT - I8042_DATA_PORT + 1,
			    &i8042_ops, vm, "i8042", err);
}
