#include "runtime/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int normalized_code(int code)
{
	if (code < 0)
		code = -code;
	return code ? code : EINVAL;
}

int hy_error_set(struct hy_error *err, int code, const char *fmt, ...)
{
	code = normalized_code(code);
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return -code;
}

int hy_error_errno(struct hy_error *err, int errnum, const char *fmt, ...)
{
	errnum = normalized_code(errnum);
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
		err->code = errnum;
	}
	return -errnum;
}

int hy_error_prefix(struct hy_error *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	char prefix[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char old[HY_ERROR_MSG_MAX];
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable here: the context matters more than the tail of the message. */
	size_t plen = strnlen(prefix, sizeof(prefix));
	size_t olen = strnlen(old, sizeof(old) - 1);
	size_t cap = sizeof(err->msg) - 1, pos = 0;
	memcpy(err->msg, prefix, plen < cap ? plen : cap);
	pos = plen < cap ? plen : cap;
	if (pos + 2 <= cap) {
		memcpy(err->msg + pos, ": ", 2);
		pos += 2;
	}
	size_t take = olen < cap - pos ? olen : cap - pos;
	memcpy(err->msg + pos, old, take);
	pos += take;
	err->msg[pos] = '\0';
	err->code = normalized_code(err->code);
	return -err->code;
}

void hy_error_clear(struct hy_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
