/* The control socket: a Unix stream socket taking one-line requests ("pause", "resume",
 * "balloon MIB", "balloon-info") and answering "ok" (balloon-info: "ok key=value ...") or
 * "error: <why>". Served on the event loop. */
#ifndef HYRUN_VMM_CONTROL_H
#define HYRUN_VMM_CONTROL_H

#include <stddef.h>

#include "runtime/error.h"

/* The longest answer line, newline included. */
#define CONTROL_ANSWER_MAX 1024

struct vm;

int control_start(struct vm *vm, const char *path, struct hy_error *err);
/* Closes and unlinks the socket (after the event loop has stopped). */
void control_stop(struct vm *vm);

/* Client: sends one request, returns 0 on "ok[ TEXT]" with TEXT in answer (truncated to size;
 * answer may be NULL when size is 0), or the error the VMM answered. "balloon-info" answers
 * "ok memory_mib=M target_mib=T actual_mib=A ..." (control.c). vmm_control_request (vmm.h) is
 * this without the answer. */
int vmm_control_query(const char *socket_path, const char *request, char *answer, size_t size,
		      struct hy_error *err);

#endif
