/* SPDX-License-Identifier: MIT */
/*
 * Quoting user-given values (argv, paths) for arca's one-line error
 * messages: they must stay one line and must not carry terminal escapes
 * into the user's terminal, so bytes outside printable ASCII (and the
 * backslash) are shown as \xNN, and long values are cut with "...".
 * Pure; the result lives in the caller's struct quoted.
 */
#ifndef ARCA_QUOTE_H
#define ARCA_QUOTE_H

#include <stddef.h>

#define QUOTE_MAX 120 /* input bytes shown before "..." (paths run long) */

struct quoted {
	char s[QUOTE_MAX * 4 + 4];
};

/* At most len bytes of v (stopping at a NUL). */
const char *quoten(struct quoted *q, const char *v, size_t len);
/* The C string v. */
const char *quote(struct quoted *q, const char *v);

#endif
