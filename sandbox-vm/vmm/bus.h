/* The PIO and MMIO buses: devices register address ranges with an ops table; vCPU exits are
 * dispatched here. Ranges may not overlap or wrap; registration happens before vCPUs start, so
 * dispatch needs no lock (devices lock their own state). */
#ifndef HYRUN_VMM_BUS_H
#define HYRUN_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"

#define BUS_MAX_RANGES 64

struct bus_ops {
	/* `offset` is relative to the range's base; len is 1..8. Reads fill data[0..len). */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "PIO" or "MMIO", for error messages */
	uint64_t limit;   /* highest address + 1 (0x10000 for PIO) */
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	unsigned n;
};

void bus_init(struct bus *bus, const char *name, uint64_t limit);
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name, struct hy_error *err);
/* Returns false when no device claims the address (reads then see all ones). */
bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
