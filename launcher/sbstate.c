/* SPDX-License-Identifier: MIT */
/* See sbstate.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbstate.h"

bool sandbox_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > SANDBOX_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

int sbstate_format(const struct sbstate *s, char *buf, size_t cap)
{
	int n = snprintf(buf, cap,
			 "pid %d\npid_start %" PRIu64 "\nvmm_pid %d\nstarted_ms %" PRIu64
			 "\ncpus %u\nmemory_mib %u\nshares %s\n",
			 (int)s->pid, s->pid_start, (int)s->vmm_pid, s->started_ms, s->cpus,
			 s->memory_mib, s->shares);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static int num(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	if (*v < '0' || *v > '9')
		return -EPROTO;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return -EPROTO;
	*out = x;
	return 0;
}

int sbstate_parse(const char *buf, size_t len, struct sbstate *s)
{
	char line[1200];
	bool have_pid = false;
	memset(s, 0, sizeof(*s));
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		if (n >= sizeof(line))
			return -EPROTO;
		memcpy(line, buf + off, n);
		line[n] = 0;
		off += n + 1;
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = 0;
		const char *k = line, *v = sp + 1;
		uint64_t x;
		if (!strcmp(k, "shares")) {
			snprintf(s->shares, sizeof(s->shares), "%s", v);
			continue;
		}
		static const char *const nums[] = { "pid", "pid_start", "vmm_pid", "started_ms",
						    "cpus", "memory_mib" };
		bool known = false;
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			known |= !strcmp(k, nums[i]);
		if (!known)
			continue; /* a newer arca's key */
		if (num(v, UINT64_MAX, &x) < 0)
			return -EPROTO;
		if (!strcmp(k, "pid")) {
			if (x == 0 || x > INT32_MAX)
				return -EPROTO;
			s->pid = (pid_t)x;
			have_pid = true;
		} else if (!strcmp(k, "pid_start")) {
			s->pid_start = x;
		} else if (!strcmp(k, "vmm_pid")) {
			s->vmm_pid = x > INT32_MAX ? 0 : (pid_t)x;
		} else if (!strcmp(k, "started_ms")) {
			s->started_ms = x;
		} else if (!strcmp(k, "cpus")) {
			s->cpus = x > 1024 ? 0 : (unsigned)x;
		} else if (!strcmp(k, "memory_mib")) {
			s->memory_mib = x > UINT32_MAX ? 0 : (unsigned)x;
		}
	}
	return have_pid ? 0 : -EPROTO;
}

int sbstate_stat_starttime(const char *stat, uint64_t *out)
{
	/* "pid (comm) state ppid ...": comm may hold ") ", so the last ')'. */
	const char *p = strrchr(stat, ')');
	if (!p)
		return -EPROTO;
	p++;
	/* Field 3 (state) is the first after ')'; starttime is field 22. */
	for (int field = 2; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EPROTO;
		if (field == 21)
			break;
		while (*p && *p != ' ')
			p++;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(p, &end, 10);
	if (errno || end == p || (*end && *end != ' ' && *end != '\n'))
		return -EPROTO;
	*out = x;
	return 0;
}

static int dir_ok(const char *path, const char **why)
{
	struct stat st;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		*why = "cannot create it";
		return -errno;
	}
	if (lstat(path, &st) < 0) {
		*why = "cannot stat it";
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory";
		return -ENOTDIR;
	}
	/* Someone else's directory (a /tmp squatter) or one others can
	 * enter would let them reach our sandboxes' sockets. */
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		*why = "not ours alone (owner or mode)";
		return -EPERM;
	}
	return 0;
}

int sbstate_rundir(char *out, size_t cap, const char **why)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	*why = NULL;
	if (geteuid() == 0)
		n = snprintf(out, cap, "/run/arca");
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/arca", xdg);
	else
		n = snprintf(out, cap, "/tmp/arca-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= cap) {
		*why = "path too long";
		return -ENAMETOOLONG;
	}
	return dir_ok(out, why);
}
