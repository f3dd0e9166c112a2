/* The control socket: a Unix stream socket taking one-line requests ("pause", "resume") and
 * answering "ok" or "error: <why>". Served on the event loop. */
#ifndef HYRUN_VMM_CONTROL_H
#define HYRUN_VMM_CONTROL_H

#include "runtime/error.h"

struct vm;

int control_start(struct vm *vm, const char *path, struct hy_error *err);
/* Closes and unlinks the socket (after the event loop has stopped). */
void control_stop(struct vm *vm);

#endif
