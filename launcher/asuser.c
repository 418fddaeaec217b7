/* SPDX-License-Identifier: MIT */
/* See asuser.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "asuser.h"

int asuser_init(struct asuser *u, uid_t uid, gid_t gid, struct arca_err *e)
{
	*u = (struct asuser){ .active = true, .uid = uid, .gid = gid };
	long max = sysconf(_SC_NGROUPS_MAX);
	if (max <= 0 || max > 65536)
		max = 65536;
	u->cap = (int)max;
	u->groups = calloc((size_t)max, sizeof(gid_t));
	u->saved = calloc((size_t)max, sizeof(gid_t));
	if (!u->groups || !u->saved) {
		asuser_free(u);
		return arca_error(e, ENOMEM, "out of memory");
	}
	struct passwd *pw = getpwuid(uid);
	int n = (int)max;
	if (!pw || getgrouplist(pw->pw_name, gid, u->groups, &n) < 0) {
		/* No passwd entry (a bare SUDO_UID) or more groups than the
		 * kernel allows: the primary group only, never more rights. */
		u->groups[0] = gid;
		n = 1;
	}
	u->ngroups = n;
	return 0;
}

int asuser_enter(struct asuser *u, struct arca_err *e)
{
	if (!u->active)
		return 0;
	int n = getgroups(u->cap, u->saved);
	if (n < 0)
		return arca_error_errno(e, errno, "getgroups");
	u->nsaved = n;
	if (setgroups((size_t)u->ngroups, u->groups) < 0)
		return arca_error_errno(e, errno, "setgroups for uid %u", (unsigned)u->uid);
	/* setfsuid/setfsgid report the previous value, not errors: read the
	 * new one back with an invalid argument (-1 changes nothing). */
	setfsgid(u->gid);
	setfsuid(u->uid);
	if ((uid_t)setfsuid((uid_t)-1) != u->uid || (gid_t)setfsgid((gid_t)-1) != u->gid) {
		asuser_leave(u);
		return arca_error(e, EPERM, "cannot take the file-system ids of uid %u",
				  (unsigned)u->uid);
	}
	return 0;
}

void asuser_leave(struct asuser *u)
{
	if (!u->active)
		return;
	setfsuid(0);
	setfsgid(0);
	if ((uid_t)setfsuid((uid_t)-1) != 0 || (gid_t)setfsgid((gid_t)-1) != 0 ||
	    setgroups((size_t)u->nsaved, u->saved) < 0) {
		fprintf(stderr, "arca: cannot return to root's file-system ids\n");
		abort();
	}
}

void asuser_free(struct asuser *u)
{
	free(u->groups);
	free(u->saved);
	u->groups = u->saved = NULL;
}
