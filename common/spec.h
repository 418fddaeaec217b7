/* SPDX-License-Identifier: MIT */
/*
 * Per-run spec codec (see include/arca/abi.h). Pure code: the launcher
 * encodes, arca-init decodes. Negative errno on failure (-EINVAL bad value,
 * -EPROTO malformed input, -E2BIG over the limits, -ENOMEM).
 */
#ifndef ARCA_SPEC_H
#define ARCA_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"

struct arca_spec {
	char **argv;    /* NULL-terminated, argc >= 1 */
	size_t argc;
	char **env;     /* NULL-terminated "KEY=VALUE" */
	size_t envc;
	char *workdir;  /* NULL: "/" */
	uint32_t flags; /* ARCA_SPEC_F_* */
};

/* Encode into a malloc'ed buffer (*out, *out_len). Strings must not contain
 * NUL (they are C strings, so they cannot) and at most ARCA_SPEC_MAX_STRING
 * bytes each. */
int spec_encode(const struct arca_spec *s, uint8_t **out, size_t *out_len);

/* Decode buf[0..len) into *s; all strings are freshly allocated and
 * NUL-terminated. Rejects bad magic/version, truncated records, NUL inside
 * strings, unknown tags, zero argv entries, duplicate WORKDIR/FLAGS.
 * Errors: -EPROTO malformed (also: empty argv[0], ENV without "KEY=",
 * empty WORKDIR, FLAGS not 4 bytes or with unknown bits), -EPROTONOSUPPORT
 * right magic but another ARCA_ABI_VERSION, -E2BIG file over
 * ARCA_SPEC_MAX_SIZE or a string over ARCA_SPEC_MAX_STRING, -ENOMEM.
 * On failure *s is left zeroed (nothing to free). A missing FLAGS record
 * means flags 0. spec_encode always writes FLAGS and refuses (-EINVAL) what
 * spec_decode would reject. */
int spec_decode(const uint8_t *buf, size_t len, struct arca_spec *s);

void spec_free(struct arca_spec *s);

#endif
