/* SPDX-License-Identifier: MIT */
/* Pure parts of the privilege separation; see privsep.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "arca/limits.h"
#include "privsep.h"

int privsep_parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		/* Checked per digit, so v never exceeds 10 * 2^32 + 9. */
		if (v >= UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int privsep_parse_user(const char *s, uint32_t *uid, uint32_t *gid)
{
	char ubuf[16];
	const char *colon = s ? strchr(s, ':') : NULL;
	uint32_t u, g;
	int r;

	if (!s)
		return -EINVAL;
	if (colon) {
		size_t n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(ubuf))
			return n == 0 ? -EINVAL : -ERANGE;
		memcpy(ubuf, s, n);
		ubuf[n] = '\0';
		if ((r = privsep_parse_id(ubuf, &u)) < 0 ||
		    (r = privsep_parse_id(colon + 1, &g)) < 0)
			return r;
	} else {
		if ((r = privsep_parse_id(s, &u)) < 0)
			return r;
		g = u;
	}
	if (u == 0 || g == 0)
		return -EINVAL;
	*uid = u;
	*gid = g;
	return 0;
}

void privsep_pick_ids(uint32_t opt_uid, uint32_t opt_gid, const char *sudo_uid,
		      const char *sudo_gid, struct privsep_ids *out)
{
	uint32_t u, g;

	if (opt_uid) {
		*out = (struct privsep_ids){ opt_uid, opt_gid ? opt_gid : opt_uid,
					     PRIVSEP_SRC_OPTION };
		return;
	}
	/* sudo sets both; a half-set or malformed pair is not sudo's and is
	 * ignored rather than trusted in part. */
	if (privsep_parse_id(sudo_uid, &u) == 0 && privsep_parse_id(sudo_gid, &g) == 0 &&
	    u != 0 && g != 0) {
		*out = (struct privsep_ids){ u, g, PRIVSEP_SRC_SUDO };
		return;
	}
	*out = (struct privsep_ids){ PRIVSEP_NOBODY, PRIVSEP_NOBODY, PRIVSEP_SRC_NOBODY };
}

int privsep_limits(unsigned cpus, unsigned memory_mib, struct privsep_limits *l)
{
	uint64_t mib;

	if (!cpus || !memory_mib)
		return -EINVAL;
	/* unsigned + 256 fits 64 bits; * 2^20 cannot overflow 64 bits for
	 * any 32-bit memory_mib. */
	mib = (uint64_t)memory_mib + PRIVSEP_MEM_OVERHEAD_MIB;
	l->memory_max = mib << 20;
	l->pids_max = (uint32_t)cpus + PRIVSEP_PIDS_EXTRA;
	l->cpu_weight = 100;
	return 0;
}

int privsep_nofile(unsigned cpus, unsigned nshares, unsigned ndisks, uint64_t hard,
		   bool can_raise, struct privsep_nofile *out)
{
	/* All terms are bounded (cpus, nshares and ndisks are 32-bit, the
	 * per-share and per-disk sums below 2^34), so none of this overflows
	 * 64 bits. */
	uint64_t base = PRIVSEP_NOFILE_BASE + 2ull * cpus +
			ndisks * ((uint64_t)PRIVSEP_NOFILE_PER_DISK + 2ull * cpus);
	uint64_t per = (uint64_t)ARCA_FS_MAX_FDS + PRIVSEP_NOFILE_PER_SHARE;

	memset(out, 0, sizeof(*out));
	if (!cpus)
		return -EINVAL;
	out->want = base + nshares * per;
	out->need = base + nshares * ((uint64_t)ARCA_FS_MIN_FDS + PRIVSEP_NOFILE_PER_SHARE);
	out->share_fds = ARCA_FS_MAX_FDS;
	if (out->want <= hard || can_raise) {
		out->limit = out->want;
		return 0;
	}
	out->limit = hard;
	out->clamped = true;
	if (hard < out->need) {
		out->share_fds = 0;
		return -EMFILE;
	}
	if (nshares) {
		uint64_t each = (hard - base) / nshares - PRIVSEP_NOFILE_PER_SHARE;
		/* hard >= need makes each >= ARCA_FS_MIN_FDS; hard < want makes
		 * it < ARCA_FS_MAX_FDS. */
		out->share_fds = (uint32_t)each;
	}
	return 0;
}

int privsep_cgroup_name(pid_t owner, char *buf, size_t cap)
{
	int n;

	if (owner <= 0)
		return -EINVAL;
	n = snprintf(buf, cap, "run-%ld", (long)owner);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

int privsep_cgroup_parse(const char *name, pid_t *owner)
{
	uint32_t v;

	if (strncmp(name, "run-", 4) != 0 || name[4] == '0')
		return -EINVAL; /* no leading zeros: one name per pid */
	if (privsep_parse_id(name + 4, &v) < 0 || v == 0 || v > INT_MAX)
		return -EINVAL;
	*owner = (pid_t)v;
	return 0;
}

int privsep_idmap_line(uint32_t id, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%u %u 1\n", id, id);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
