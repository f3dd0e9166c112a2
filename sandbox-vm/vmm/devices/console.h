/* virtio-console internals shared with its unit test. */
#ifndef HYRUN_DEVICES_CONSOLE_H
#define HYRUN_DEVICES_CONSOLE_H

#include "sandbox-vm/vmm/devices/dev_io.h"

#define CONSOLE_RXQ 0 /* receiveq: host to guest */
#define CONSOLE_TXQ 1 /* transmitq: guest to host */
#define CONSOLE_F_SIZE (1ULL << 0)
#define CONSOLE_CONFIG_SIZE 12 /* cols, rows, max_nr_ports (emerg_wr not offered) */

#endif
