/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"

const char *quoten(struct quoted *q, const char *v, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len && v[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			q->s[n++] = (char)c;
		} else {
			snprintf(q->s + n, sizeof(q->s) - n, "\\x%02x", c);
			n += 4;
		}
	}
	if (i < len && v[i]) {
		memcpy(q->s + n, "...", 3);
		n += 3;
	}
	q->s[n] = '\0';
	return q->s;
}

const char *quote(struct quoted *q, const char *v)
{
	return quoten(q, v, SIZE_MAX);
}
