/* The virtio-mmio transport (virtio 1.2 section 4.2, version 2 register layout). One 4 KiB window
 * and one IRQ per device; queue kicks arrive through ioeventfd on the event loop, interrupts leave
 * through irqfd. */
#ifndef HYRUN_VMM_VIRTIO_MMIO_H
#define HYRUN_VMM_VIRTIO_MMIO_H

#include <stdint.h>

#include "runtime/error.h"
#include "sandbox-vm/vmm/virtio.h"

struct vm;
struct virtio_mmio;

/* Takes ownership of dev (destroyed with the transport, also on failure). Registers the window at
 * `base` on the VM's MMIO bus and appends "virtio_mmio.device=4K@0xBASE:IRQ" to cmdline. */
int virtio_mmio_create(struct vm *vm, struct virtio_dev *dev, uint64_t base, uint32_t irq,
		       char *cmdline, size_t cmdline_size, struct virtio_mmio **out,
		       struct hy_error *err);
void virtio_mmio_destroy(struct virtio_mmio *t);

#endif
