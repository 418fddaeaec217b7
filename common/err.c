/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static int verror(struct arca_err *e, int errnum, int with_errno,
		  const char *fmt, va_list ap)
{
	if (errnum <= 0)
		errnum = EINVAL;
	if (e) {
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		if (with_errno && n >= 0 && (size_t)n < sizeof(e->msg))
			snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s",
				 strerror(errnum));
		e->code = errnum;
	}
	return -errnum;
}

int arca_error(struct arca_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = verror(e, errnum, 0, fmt, ap);
	va_end(ap);
	return r;
}

int arca_error_errno(struct arca_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = verror(e, errnum, 1, fmt, ap);
	va_end(ap);
	return r;
}
