/* SPDX-License-Identifier: MIT */
/* Host end of the control channel: decodes the guest's frames (hostile
 * input: common/proto.c rejects malformed streams) and records the
 * command's fate. */
#ifndef ARCA_CTL_H
#define ARCA_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct ctl {
	struct proto_decoder dec;
	bool hello;
	bool have_exit;
	int exit_code;     /* 0..255, 128+N for signal N */
	uint32_t exit_kind, exit_value; /* as reported: enum arca_exit_kind */
	bool failed;       /* protocol error: exit 125 */
	bool verbose;      /* print LOG frames */
	bool have_times;   /* TIMES arrived (verbose runs) */
	uint64_t hello_ns; /* host CLOCK_MONOTONIC when HELLO arrived, 0: not yet */
	uint64_t exit_ns;  /* likewise for EXIT (the breakdown's last steps) */
	uint64_t times[ARCA_MARK_NR]; /* arca-init's marks: the guest's word */
	void (*on_exit)(void *opaque);
	void *opaque;
	/* Optional, set after ctl_init: the first HELLO arrived (called
	 * with the console's lock held: it may only note it). */
	void (*on_hello)(void *opaque);
	void *hello_opaque;
};

void ctl_init(struct ctl *c, bool verbose, void (*on_exit)(void *), void *opaque);
/* Feed bytes from the control port (console_control_cb). */
void ctl_feed(void *opaque, const uint8_t *data, size_t len);
/* Copy guest text into out, replacing control characters (a hostile guest
 * must not drive the user's terminal through our error messages): ASCII
 * controls but tab, and every byte that is not part of well-formed UTF-8
 * or that encodes a C1 control (U+0080..U+009F, e.g. CSI as C2 9B), become
 * '?'. Trailing CR/LF are dropped; out is NUL-terminated. */
void ctl_sanitize(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
