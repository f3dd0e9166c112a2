/* The PIO/MMIO bus (range checks, overlaps, dispatch) and the legacy devices behind it: the 8250
 * UART as Linux's driver probes it, the i8042 reset and the exit port. No KVM needed: the VM is a
 * bare struct vm whose IRQ line calls fail harmlessly. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/vmm/bus.h"
#include "sandbox-vm/vmm/vm.h"
#include "unit.h"

static int hits;
static uint64_t last_off;

static void rd(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	hits++;
	last_off = off;
	memset(data, 0xab, len);
}

static void wr(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	hits++;
	last_off = off;
}

static const struct bus_ops ops = {.read = rd, .write = wr};

static void test_bus(void)
{
	struct bus bus;
	struct hy_error err = {0};
	bus_init(&bus, "PIO", 0x10000);
	CHECK(bus_register(&bus, 0x100, 0x10, &ops, NULL, "a", &err) == 0);
	CHECK(bus_register(&bus, 0x200, 0x10, &ops, NULL, "b", &err) == 0);
	CHECK(bus_register(&bus, 0x108, 0x10, &ops, NULL, "c", &err) < 0); /* overlaps a */
	CHECK_STR_CONTAINS(err.msg, "overlaps a");
	CHECK(bus_register(&bus, 0xf8, 0x10, &ops, NULL, "d", &err) < 0); /* overlaps a from below */
	CHECK(bus_register(&bus, 0xfff0, 0x20, &ops, NULL, "e", &err) < 0); /* past the bus end */
	CHECK(bus_register(&bus, 0x300, 0, &ops, NULL, "f", &err) < 0);
	CHECK(bus_register(&bus, 0x110, 0x10, &ops, NULL, "g", &err) == 0); /* adjacent is fine */

	uint8_t buf[8];
	hits = 0;
	CHECK(bus_read(&bus, 0x104, buf, 4) && hits == 1 && last_off == 4 && buf[0] == 0xab);
	CHECK(!bus_read(&bus, 0x150, buf, 2) && buf[0] == 0xff && buf[1] == 0xff); /* unclaimed */
	CHECK(!bus_read(&bus, 0x10e, buf, 4)); /* straddles the end of a range */
	CHECK(bus_write(&bus, 0x20f, buf, 1) && last_off == 0xf);
	CHECK(!bus_write(&bus, 0x210, buf, 1));

	struct bus mmio;
	bus_init(&mmio, "MMIO", 1ULL << 52);
	CHECK(bus_register(&mmio, 0xd0000000, 0x1000, &ops, NULL, "v", &err) == 0);
	CHECK(!bus_read(&mmio, UINT64_MAX - 2, buf, 8));
	CHECK(bus_register(&mmio, UINT64_MAX - 10, 0x100, &ops, NULL, "w", &err) < 0);
}

static uint8_t in8(struct vm *vm, uint16_t port)
{
	uint8_t v;
	bus_read(&vm->pio, port, &v, 1);
	return v;
}

static void out8(struct vm *vm, uint16_t port, uint8_t v)
{
	bus_write(&vm->pio, port, &v, 1);
}

static void test_legacy_devices(void)
{
	static struct vm vm;
	struct hy_error err = {0};
	memset(&vm, 0, sizeof(vm));
	vm.kvm.vm_fd = vm.kvm.sys_fd = -1;
	pthread_mutex_init(&vm.lock, NULL);
	pthread_cond_init(&vm.cond, NULL);
	bus_init(&vm.pio, "PIO", 0x10000);
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	CHECK(serial_create(&vm, p[1], -1, &err) == 0);
	CHECK(i8042_create(&vm, &err) == 0);
	CHECK(exit_port_create(&vm, &err) == 0);
	CHECK(serial_create(&vm, -1, -1, &err) < 0); /* 0x3f8 is taken */

	/* What Linux's 8250 autoconfig checks. */
	out8(&vm, 0x3ff, 0x5a);
	CHECK(in8(&vm, 0x3ff) == 0x5a); /* scratch */
	out8(&vm, 0x3f9, 0x0f);
	CHECK(in8(&vm, 0x3f9) == 0x0f); /* IER keeps its low bits */
	out8(&vm, 0x3f9, 0);
	out8(&vm, 0x3fc, 0x10 | 0x0a);  /* loopback with RTS|OUT2 */
	CHECK((in8(&vm, 0x3fe) & 0xf0) == 0x90);
	out8(&vm, 0x3fc, 0);
	out8(&vm, 0x3fa, 0x01); /* FIFO enable: a 16550A answers with IIR bits 7:6 set */
	CHECK((in8(&vm, 0x3fa) & 0xc0) == 0xc0);
	CHECK(in8(&vm, 0x3fd) & 0x60); /* THR empty, transmitter empty */
	CHECK(in8(&vm, 0x3fd) != 0xff);
	/* Enabling the THR-empty interrupt raises it; reading IIR clears it. */
	out8(&vm, 0x3f9, 0x02);
	CHECK((in8(&vm, 0x3fa) & 0x0f) == 0x02);
	CHECK((in8(&vm, 0x3fa) & 0x0f) == 0x01);
	out8(&vm, 0x3f9, 0);
	/* The divisor latch does not disturb IER. */
	out8(&vm, 0x3fb, 0x80);
	out8(&vm, 0x3f8, 0x01);
	out8(&vm, 0x3f9, 0x00);
	CHECK(in8(&vm, 0x3f8) == 0x01);
	out8(&vm, 0x3fb, 0x03);
	CHECK(in8(&vm, 0x3f9) == 0);

	/* Output: CRLF becomes LF, a lone CR stays; flushed per line. */
	const char *text = "ab\r\ncd\rx\n";
	for (const char *c = text; *c; c++)
		out8(&vm, 0x3f8, (uint8_t)*c);
	char got[32] = {0};
	CHECK(read(p[0], got, sizeof(got) - 1) > 0);
	CHECK(!strcmp(got, "ab\ncd\rx\n"));

	/* The i8042 looks idle; 0xfe on 0x64 is a reset; the exit port carries a code. */
	CHECK(in8(&vm, 0x64) == 0x01);
	CHECK(vm.stop_reason == VM_RUNNING);
	out8(&vm, 0xf4, 7);
	CHECK(vm.stop_reason == VM_STOP_EXIT_PORT && vm.exit_code == 7);
	out8(&vm, 0x64, 0xfe); /* the first stop reason wins */
	CHECK(vm.stop_reason == VM_STOP_EXIT_PORT);
	vm.stop_reason = VM_RUNNING;
	out8(&vm, 0x64, 0xfe);
	CHECK(vm.stop_reason == VM_STOP_RESET);

	serial_destroy(vm.serial);
	close(p[0]);
}

int main(void)
{
	test_bus();
	test_legacy_devices();
	return UNIT_DONE();
}
