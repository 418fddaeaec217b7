/* SPDX-License-Identifier: MIT */
/*
 * Opening user-named paths with the invoking user's rights (issue 11,
 * item 3). Under sudo, arca runs as root, but a share, --root, a disk image
 * or a --kernel the user names must be opened as that user would open them:
 * `sudo arca -v /etc:/e` must not hand the guest what the user cannot read.
 *
 * How: the file-system ids (setfsuid/setfsgid) and the supplementary groups
 * of the user, for the span of the opens. A non-zero fsuid also clears the
 * file-system capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
 * CAP_FOWNER...) from the effective set, and setting fsuid back to 0
 * restores them (capabilities(7), "Effect of user ID changes"), so every
 * permission check in between is the user's. The launcher is
 * single-threaded, so the process-wide setgroups() is safe.
 */
#ifndef ARCA_ASUSER_H
#define ARCA_ASUSER_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

struct asuser {
	bool active;            /* false: asuser_enter/leave do nothing */
	uid_t uid;
	gid_t gid;
	gid_t *groups, *saved;  /* the user's groups; root's, restored on leave */
	int ngroups, nsaved;
	int cap;                /* entries in groups[] and saved[] each */
};

/* Prepare for uid:gid and the groups of its passwd entry (only the primary
 * group if it has none). 0 or a negative errno with e set. */
int asuser_init(struct asuser *u, uid_t uid, gid_t gid, struct arca_err *e);
/* Act as the user from here on (file-system ids and groups). 0 or a
 * negative errno with e set; on failure nothing changed. */
int asuser_enter(struct asuser *u, struct arca_err *e);
/* Back to root. Failing here would leave a half-privileged launcher, so it
 * aborts the process instead (never seen: root may always set these). */
void asuser_leave(struct asuser *u);
void asuser_free(struct asuser *u);

#endif
