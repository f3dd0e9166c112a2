/* virtio-rng internals shared with its unit test. */
#ifndef HYRUN_DEVICES_RNG_H
#define HYRUN_DEVICES_RNG_H

#include "sandbox-vm/vmm/devices/dev_io.h"

#define RNG_MAX_PER_REQUEST (64u * 1024)

/* Fills the chain's writable segments with random bytes; returns how many. */
uint32_t virtio_rng_fill(const struct virtq_chain *chain);

#endif
