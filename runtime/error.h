/* hy_error: the one error convention shared by every part of hyrun.
 *
 * A function that can fail returns 0 on success or a negative errno-style code, and fills the
 * caller's struct hy_error with a message naming what failed (file, JSON path, syscall).
 * Callers higher up add context with hy_error_prefix(); the CLI prints the message once.
 * Library code never prints errors and never calls exit(). */
#ifndef HYRUN_ERROR_H
#define HYRUN_ERROR_H

#include <stddef.h>

#define HY_ERROR_MSG_MAX 2048

struct hy_error {
	int code; /* positive errno value (EINVAL when no errno applies) */
	char msg[HY_ERROR_MSG_MAX];
};

/* Sets the message; returns -code (-EINVAL when code is 0) so callers can `return hy_error_set(...)`. */
int hy_error_set(struct hy_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like hy_error_set, appending ": strerror(errnum)". */
int hy_error_errno(struct hy_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the existing message; returns -err->code. */
int hy_error_prefix(struct hy_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void hy_error_clear(struct hy_error *err);

#endif
