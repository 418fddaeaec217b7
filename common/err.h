/* SPDX-License-Identifier: MIT */
/*
 * Error reporting for set-up code (crun's libcrun_error_t idea, simplified):
 * a function that fails with a message worth showing the user fills a
 * struct arca_err and returns the negative errno that arca_error() gives
 * back. Only the top level prints e->msg (one line) and picks the exit code.
 */
#ifndef ARCA_ERR_H
#define ARCA_ERR_H

/* The same struct is public in <arca.h> (libarca's errors): one guard. */
#ifndef ARCA_ERR_DEFINED
#define ARCA_ERR_DEFINED
struct arca_err {
	int code;      /* positive errno, 0 when unset */
	char msg[512]; /* one line, no trailing newline */
};
#endif

/* Format the message; appends ": strerror(errnum)" when errnum != 0 and
 * with_errno is set. Returns -errnum (or -EINVAL when errnum is 0). */
int arca_error(struct arca_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int arca_error_errno(struct arca_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
