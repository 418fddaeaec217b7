/* SPDX-License-Identifier: MIT */
/*
 * Shares: `-v HOST:GUEST[:OPTS]` (a virtio-fs device that arca-init mounts
 * at GUEST) and `--fs-device HOST[:ro],tag=NAME` (a device only; the user
 * mounts it). Attaching a device and mounting it are separate things: the
 * list holds devices, `guest` says whether and where init mounts one.
 *
 * Parsing and validation of the words are pure; shares_resolve() looks at
 * the host (realpath, stat) and shares_open() opens the directory the VMM
 * will serve — the VMM itself never opens a host path.
 */
#ifndef ARCA_SHARES_H
#define ARCA_SHARES_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define SHARE_TAG_MAX 36 /* virtio-fs config space: 36 bytes */
#define SHARES_MAX 7     /* + the console = 8 virtio-mmio devices, + root */
/* Files (-v FILE:GUEST) all travel on one virtio-fs device, the files
 * device: it counts once towards SHARES_MAX, whatever the number of files. */
#define SHARES_FILES_MAX 32
#define SHARES_FILES_TAG "arca-files"

struct arca_share {
	char *host;           /* as given, then realpath after shares_resolve() */
	char *guest;          /* normalized absolute path; NULL: not mounted by init */
	char tag[SHARE_TAG_MAX + 1];
	bool ro;
	bool ids_passthrough;
	bool writeback;       /* cache=writeback: the guest caches writes (docs: arca(1)) */
	bool direct_io;       /* cache=none: no guest page cache for file data */
	bool user_tag;        /* tag chosen with --fs-device tag= */
	bool file;            /* HOST is a regular file (after shares_resolve) */
};

struct arca_shares {
	struct arca_share v[SHARES_MAX + SHARES_FILES_MAX];
	size_t n;
};

/* -v / --share HOST:GUEST[:OPTS], OPTS a comma list of ro, rw,
 * ids=passthrough, cache=auto (default), cache=writeback, cache=none. */
int shares_add_volume(struct arca_shares *s, const char *arg, struct arca_err *e);
/* --fs-device HOST[:ro],tag=NAME */
int shares_add_device(struct arca_shares *s, const char *arg, struct arca_err *e);
/* Normalize an absolute guest path in place ("//" and a trailing "/"
 * collapse); -EINVAL for a relative path or a "." or ".." component. */
int shares_normalize_guest(char *path);
/* Cross-checks (pure): two shares on one GUEST, GUEST "/" or inside /proc,
 * /sys or /dev, duplicate tags; gives every share without a user tag a
 * generated one ("arca-N"). */
int shares_check(struct arca_shares *s, struct arca_err *e);
/* Host side: HOST must exist and be a directory, or a regular file for a
 * -v share (then `file` is set; no cache= option, at most
 * SHARES_FILES_MAX files); at most SHARES_MAX devices in all, the files
 * device counting once. Replaces host by its realpath. */
int shares_resolve(struct arca_shares *s, struct arca_err *e);
/* O_PATH|O_DIRECTORY fd of the share's (resolved) host directory. */
int shares_open(const struct arca_share *sh, struct arca_err *e);
void shares_free(struct arca_shares *s);

#endif
