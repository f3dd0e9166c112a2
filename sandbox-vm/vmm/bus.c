/* PIO/MMIO range registration and dispatch. */
#include "sandbox-vm/vmm/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name, uint64_t limit)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->limit = limit;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name, struct hy_error *err)
{
	if (len == 0 || base >= bus->limit || len > bus->limit - base)
		return hy_error_set(err, EINVAL, "%s range 0x%llx+0x%llx for %s is outside the bus",
				    bus->name, (unsigned long long)base, (unsigned long long)len, name);
	if (bus->n == BUS_MAX_RANGES)
		return hy_error_set(err, ENOSPC, "%s bus is full (registering %s)", bus->name, name);
	unsigned pos = 0;
	while (pos < bus->n && bus->ranges[pos].base < base)
		pos++;
	const struct bus_range *prev = pos ? &bus->ranges[pos - 1] : NULL;
	const struct bus_range *next = pos < bus->n ? &bus->ranges[pos] : NULL;
	if ((prev && base - prev->base < prev->len) || (next && next->base - base < len))
		return hy_error_set(err, EBUSY, "%s range 0x%llx+0x%llx for %s overlaps %s",
				    bus->name, (unsigned long long)base, (unsigned long long)len, name,
				    (prev && base - prev->base < prev->len) ? prev->name : next->name);
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->n - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){base, len, ops, opaque, name};
	bus->n++;
	return 0;
}

static const struct bus_range *find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned lo = 0, hi = bus->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else /* the whole access must fall inside the range */
			return len <= r->len - (addr - r->base) ? r : NULL;
	}
	return NULL;
}

bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = find(bus, addr, len);
	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = find(bus, addr, len);
	if (!r)
		return false;
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return true;
}
