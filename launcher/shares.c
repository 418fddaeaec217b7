/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostfs.h"
#include "shares.h"

static struct arca_share *new_share(struct arca_shares *s, struct arca_err *e)
{
	if (s->n >= SHARES_MAX + SHARES_FILES_MAX) {
		arca_error(e, E2BIG, "too many shares (at most %d directories and %d files)",
			   SHARES_MAX, SHARES_FILES_MAX);
		return NULL;
	}
	struct arca_share *sh = &s->v[s->n];
	memset(sh, 0, sizeof(*sh));
	return sh;
}

int shares_normalize_guest(char *path)
{
	if (path[0] != '/')
		return -EINVAL;
	char *w = path;
	const char *r = path;
	while (*r) {
		while (*r == '/')
			r++;
		if (!*r)
			break;
		const char *end = strchr(r, '/');
		size_t len = end ? (size_t)(end - r) : strlen(r);
		/* "." and ".." would make the mount point depend on how init
		 * walks the path: refuse rather than interpret. */
		if ((len == 1 && r[0] == '.') || (len == 2 && r[0] == '.' && r[1] == '.'))
			return -EINVAL;
		*w++ = '/';
		memmove(w, r, len);
		w += len;
		r += len;
	}
	if (w == path)
		*w++ = '/';
	*w = 0;
	return 0;
}

int shares_add_volume(struct arca_shares *s, const char *arg, struct arca_err *e)
{
	struct arca_share *sh = new_share(s, e);
	if (!sh)
		return -E2BIG;
	const char *c1 = strchr(arg, ':');
	if (!c1 || c1 == arg)
		return arca_error(e, EINVAL,
				  "invalid --share '%s': expected HOST:GUEST[:ro|rw][,ids=passthrough][,cache=auto|writeback|none]",
				  arg);
	const char *c2 = strchr(c1 + 1, ':');
	size_t glen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	sh->host = strndup(arg, (size_t)(c1 - arg));
	sh->guest = strndup(c1 + 1, glen);
	if (!sh->host || !sh->guest) {
		free(sh->host);
		free(sh->guest);
		return arca_error(e, ENOMEM, "out of memory");
	}
	s->n++; /* owned by s from here on: shares_free() releases it */
	if (sh->guest[0] != '/')
		return arca_error(e, EINVAL, "share guest path must be absolute: '%s' in '%s'",
				  sh->guest, arg);
	if (shares_normalize_guest(sh->guest) < 0)
		return arca_error(e, EINVAL,
				  "share guest path may not contain '.' or '..': '%s' in '%s'",
				  sh->guest, arg);
	if (c2) {
		char opts[64];
		if (strlen(c2 + 1) >= sizeof(opts))
			return arca_error(e, EINVAL, "invalid share options in '%s'", arg);
		strcpy(opts, c2 + 1);
		char *save = NULL;
		for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!strcmp(t, "ro"))
				sh->ro = true;
			else if (!strcmp(t, "rw"))
				sh->ro = false;
			else if (!strcmp(t, "ids=passthrough"))
				sh->ids_passthrough = true;
			else if (!strcmp(t, "cache=auto"))
				sh->writeback = sh->direct_io = false;
			else if (!strcmp(t, "cache=writeback"))
				sh->writeback = true, sh->direct_io = false;
			else if (!strcmp(t, "cache=none"))
				sh->direct_io = true, sh->writeback = false;
			else
				return arca_error(e, EINVAL,
						  "unknown share option '%s' in '%s' (ro, rw, ids=passthrough, "
						  "cache=auto, cache=writeback, cache=none)",
						  t, arg);
		}
	}
	return 0;
}

static bool tag_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.';
}

int shares_add_device(struct arca_shares *s, const char *arg, struct arca_err *e)
{
	struct arca_share *sh = new_share(s, e);
	if (!sh)
		return -E2BIG;
	const char *comma = strrchr(arg, ',');
	if (!comma || strncmp(comma + 1, "tag=", 4))
		return arca_error(e, EINVAL, "invalid --fs-device '%s': expected HOST[:ro],tag=NAME",
				  arg);
	const char *tag = comma + 5;
	size_t tlen = strlen(tag);
	if (tlen == 0 || tlen > SHARE_TAG_MAX)
		return arca_error(e, EINVAL, "--fs-device tag must be 1 to %d characters: '%s'",
				  SHARE_TAG_MAX, tag);
	for (size_t i = 0; i < tlen; i++)
		if (!tag_char_ok(tag[i]))
			return arca_error(e, EINVAL,
					  "--fs-device tag may use letters, digits, '-', '_' and '.': '%s'",
					  tag);
	size_t hlen = (size_t)(comma - arg);
	bool ro = false;
	if (hlen >= 3 && !strncmp(comma - 3, ":ro", 3)) {
		ro = true;
		hlen -= 3;
	}
	if (hlen == 0)
		return arca_error(e, EINVAL, "invalid --fs-device '%s': missing HOST", arg);
	sh->host = strndup(arg, hlen);
	if (!sh->host)
		return arca_error(e, ENOMEM, "out of memory");
	memcpy(sh->tag, tag, tlen + 1);
	sh->ro = ro;
	sh->user_tag = true;
	s->n++;
	return 0;
}

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

int shares_check(struct arca_shares *s, struct arca_err *e)
{
	static const char *const forbidden[] = { "/proc", "/sys", "/dev" };
	unsigned next = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct arca_share *a = &s->v[i];
		if (a->guest) {
			if (!strcmp(a->guest, "/"))
				return arca_error(e, EINVAL,
						  "a share cannot be mounted on '/' (use --root)");
			for (size_t k = 0; k < sizeof(forbidden) / sizeof(forbidden[0]); k++)
				if (inside(a->guest, forbidden[k]))
					return arca_error(e, EINVAL,
							  "a share cannot be mounted inside %s: '%s'",
							  forbidden[k], a->guest);
		}
		if (a->user_tag && !strcmp(a->tag, SHARES_FILES_TAG))
			return arca_error(e, EINVAL, "fs tag '%s' is reserved for the files device",
					  a->tag);
		for (size_t j = 0; j < i; j++) {
			const struct arca_share *b = &s->v[j];
			if (a->guest && b->guest && !strcmp(a->guest, b->guest))
				return arca_error(e, EINVAL, "two shares on the same guest path '%s'",
						  a->guest);
			if (a->user_tag && b->user_tag && !strcmp(a->tag, b->tag))
				return arca_error(e, EINVAL, "duplicate fs tag '%s'", a->tag);
		}
	}
	/* Generated tags skip the ones the user chose. */
	for (size_t i = 0; i < s->n; i++) {
		struct arca_share *a = &s->v[i];
		if (a->user_tag)
			continue;
		for (;;) {
			snprintf(a->tag, sizeof(a->tag), "arca-%u", next++);
			bool clash = false;
			for (size_t j = 0; j < s->n; j++)
				if (j != i && s->v[j].user_tag && !strcmp(s->v[j].tag, a->tag))
					clash = true;
			if (!clash)
				break;
		}
	}
	return 0;
}

int shares_resolve(struct arca_shares *s, struct arca_err *e)
{
	for (size_t i = 0; i < s->n; i++) {
		struct arca_share *a = &s->v[i];
		char *real = realpath(a->host, NULL);
		if (!real) {
			if (errno == ENOENT)
				return arca_error(e, ENOENT, "share host path not found: '%s'", a->host);
			return arca_error_errno(e, errno, "share host path '%s'", a->host);
		}
		struct stat st;
		if (stat(real, &st) < 0) {
			int err = errno;
			free(real);
			return arca_error_errno(e, err, "share host path '%s'", a->host);
		}
		a->file = S_ISREG(st.st_mode) && a->guest;
		if (!S_ISDIR(st.st_mode) && !a->file) {
			free(real);
			if (S_ISREG(st.st_mode))
				return arca_error(e, ENOTDIR, "--fs-device host path is not a "
						  "directory: '%s'", a->host);
			return arca_error(e, ENOTDIR, "share host path is neither a directory nor "
					  "a regular file: '%s'", a->host);
		}
		free(a->host);
		a->host = real;
		/* One device serves every file, with the default cache mode:
		 * a file's guest page cache is dropped when the host file
		 * changes (cache=auto). */
		if (a->file && (a->writeback || a->direct_io))
			return arca_error(e, EINVAL, "share '%s' is a file: cache= applies to "
					  "directory shares only", a->host);
	}
	size_t dirs = 0, files = 0;
	for (size_t i = 0; i < s->n; i++)
		s->v[i].file ? files++ : dirs++;
	if (files > SHARES_FILES_MAX)
		return arca_error(e, E2BIG, "too many file shares: %zu (at most %d)", files,
				  SHARES_FILES_MAX);
	if (dirs + (files > 0) > SHARES_MAX)
		return arca_error(e, E2BIG, "too many shares: %zu directories%s (at most %d "
				  "devices; all files together take one)", dirs,
				  files ? " and the files' device" : "", SHARES_MAX);
	return 0;
}

int shares_open(const struct arca_share *sh, struct arca_err *e)
{
	/* O_PATH: the VMM's FUSE server resolves names under it one component
	 * at a time and reopens files itself; this fd grants nothing else. */
	int fd = open(sh->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "cannot open share '%s'", sh->host);
	int r = hostfs_check(fd, "share", sh->host, e);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

void shares_free(struct arca_shares *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].host);
		free(s->v[i].guest);
	}
	s->n = 0;
}
