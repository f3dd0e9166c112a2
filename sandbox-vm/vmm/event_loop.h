/* One epoll thread for all device I/O (virtqueue kicks, host sockets, serial input). The add/mod/
 * del functions are declared in virtio.h (the devices' contract); this header creates and runs it. */
#ifndef HYRUN_VMM_EVENT_LOOP_H
#define HYRUN_VMM_EVENT_LOOP_H

#include "runtime/error.h"
#include "sandbox-vm/vmm/virtio.h"

int event_loop_create(struct event_loop **out, struct hy_error *err);
/* Starts the thread. */
int event_loop_start(struct event_loop *loop, struct hy_error *err);
/* Stops and joins the thread; callbacks never run after this returns. */
void event_loop_stop(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);

#endif
