/* The guest exit port (VMM_EXIT_PORT, 0xf4, where QEMU puts isa-debug-exit): the agent writes its
 * command's exit code there just before rebooting. We end the VM at once with that code: the
 * agent has already flushed its output through the (synchronous) serial port. */
#include "sandbox-vm/vmm/vm.h"

static void exit_port_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	/* The exit status is one byte, whatever width the guest used for the write. */
	vm_request_stop(opaque, VM_STOP_EXIT_PORT, data[0], NULL);
}

static const struct bus_ops exit_port_ops = {.write = exit_port_write};

int exit_port_create(struct vm *vm, struct hy_error *err)
{
	return bus_register(&vm->pio, VMM_EXIT_PORT, 4, &exit_port_ops, vm, "exit port", err);
}
