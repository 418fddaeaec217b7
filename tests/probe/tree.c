/* SPDX-License-Identifier: MIT */
/*
 * probe write-tree DIR [SEED] / probe check-tree DIR [SEED]: a deterministic
 * tree (sizes around page boundaries, 1 MiB + 3, nested dirs, UTF-8 and
 * space in names, a symlink, an empty dir, an executable) with PRNG content
 * seeded by SEED and the path, so one side of the share writes it and the
 * other side verifies it byte for byte, modes and all.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"

enum kind { T_DIR, T_FILE, T_LINK };

static const struct tree_entry {
	enum kind kind;
	const char *path;
	size_t size;	    /* T_FILE */
	mode_t mode;	    /* T_DIR, T_FILE */
	const char *target; /* T_LINK */
} tree[] = {
	/* parents before children: write-tree creates in this order */
	{ T_DIR, "a", 0, 0755, NULL },
	{ T_DIR, "a/b", 0, 0755, NULL },
	{ T_DIR, "a/b/c", 0, 0700, NULL },
	{ T_DIR, "names", 0, 0755, NULL },
	{ T_DIR, "empty-dir", 0, 0750, NULL },
	{ T_FILE, "empty", 0, 0644, NULL },
	{ T_FILE, "one", 1, 0644, NULL },
	{ T_FILE, "page-1", 4095, 0644, NULL },
	{ T_FILE, "page", 4096, 0644, NULL },
	{ T_FILE, "page+1", 4097, 0600, NULL },
	{ T_FILE, "big", (1 << 20) + 3, 0644, NULL },
	{ T_FILE, "exec", 100, 0755, NULL },
	{ T_FILE, "a/mid", 65537, 0644, NULL },
	{ T_FILE, "a/b/sibling", 8191, 0444, NULL },
	{ T_FILE, "a/b/c/deep", 12345, 0640, NULL },
	{ T_FILE, "names/\xc3\xbcn\xc3\xaf\x63\xc3\xb8\x64\xc3\xa9 \xe5\x90\x8d\xe5\x89\x8d", 777,
	  0644, NULL },
	{ T_FILE, "names/with space", 10, 0644, NULL },
	{ T_LINK, "link", 0, 0, "a/mid" },
	{ T_LINK, "a/b/c/up", 0, 0, "../../../one" },
};

static uint64_t entry_seed(uint64_t seed, const char *path)
{
	return fnv1a(fnv1a(FNV1A_INIT, &seed, sizeof(seed)), path, strlen(path));
}

static int parse_args(int argc, char **argv, const char *cmd, uint64_t *seed)
{
	char *end;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: probe %s DIR [SEED]\n", cmd);
		return -1;
	}
	*seed = 1;
	if (argc == 3) {
		*seed = strtoull(argv[2], &end, 0);
		if (!*argv[2] || *end) {
			fprintf(stderr, "probe: bad seed %s\n", argv[2]);
			return -1;
		}
	}
	return 0;
}

static int write_entry(int dfd, const struct tree_entry *t, uint64_t seed)
{
	_cleanup_free_ unsigned char *buf = NULL;
	struct prng p;

	switch (t->kind) {
	case T_DIR:
		if (mkdirat(dfd, t->path, t->mode) < 0 && errno != EEXIST)
			return probe_fail("mkdir: %s", errname(errno));
		/* mkdir on an existing dir keeps the old mode: set it */
		REQ(fchmodat(dfd, t->path, t->mode, 0));
		return PROBE_PASS;
	case T_LINK:
		if (unlinkat(dfd, t->path, 0) < 0 && errno != ENOENT)
			return probe_fail("unlink old: %s", errname(errno));
		REQ(symlinkat(t->target, dfd, t->path));
		return PROBE_PASS;
	case T_FILE:
		break;
	}
	buf = malloc(t->size ? t->size : 1);
	REQ_TRUE(buf, "out of memory");
	prng_seed(&p, entry_seed(seed, t->path));
	prng_fill(&p, buf, t->size);
	/* an earlier run may have left a read-only file: replace it */
	if (unlinkat(dfd, t->path, 0) < 0 && errno != ENOENT)
		return probe_fail("unlink old: %s", errname(errno));
	REQ_OK(write_file(dfd, t->path, buf, t->size, t->mode));
	REQ(fchmodat(dfd, t->path, t->mode, 0));
	return PROBE_PASS;
}

static int check_entry(int dfd, const struct tree_entry *t, uint64_t seed)
{
	_cleanup_free_ unsigned char *want = NULL, *got = NULL;
	struct stat st;
	struct prng p;
	char link[PATH_MAX];
	ssize_t n;

	REQ(fstatat(dfd, t->path, &st, AT_SYMLINK_NOFOLLOW));
	switch (t->kind) {
	case T_DIR:
		REQ_TRUE(S_ISDIR(st.st_mode), "not a directory (mode %o)", st.st_mode);
		REQ_TRUE((st.st_mode & 07777) == t->mode, "mode %04o, expected %04o", st.st_mode & 07777, t->mode);
		return PROBE_PASS;
	case T_LINK:
		REQ_TRUE(S_ISLNK(st.st_mode), "not a symlink (mode %o)", st.st_mode);
		n = readlinkat(dfd, t->path, link, sizeof(link));
		REQ(n);
		REQ_TRUE((size_t)n == strlen(t->target) && !memcmp(link, t->target, (size_t)n),
			 "target %.*s, expected %s", (int)n, link, t->target);
		return PROBE_PASS;
	case T_FILE:
		break;
	}
	REQ_TRUE(S_ISREG(st.st_mode), "not a regular file (mode %o)", st.st_mode);
	REQ_TRUE((st.st_mode & 07777) == t->mode, "mode %04o, expected %04o", st.st_mode & 07777, t->mode);
	REQ_EQ(st.st_size, t->size);
	want = malloc(t->size + 1);
	got = malloc(t->size + 1);
	REQ_TRUE(want && got, "out of memory");
	prng_seed(&p, entry_seed(seed, t->path));
	prng_fill(&p, want, t->size);
	/* read one byte more than expected: a longer file must show up */
	n = read_file(dfd, t->path, got, t->size + 1);
	REQ_OK(n < 0 ? (int)n : 0);
	REQ_EQ(n, t->size);
	for (size_t i = 0; i < t->size; i++)
		REQ_TRUE(want[i] == got[i], "first difference at byte %zu", i);
	return PROBE_PASS;
}

static int known(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(tree); i++)
		if (!strcmp(tree[i].path, path))
			return 1;
	return 0;
}

/* Report every entry under rel that the tree does not name. */
static void find_extra(struct probe_stats *st, int dfd, const char *rel)
{
	char path[PATH_MAX];
	struct dirent *de;
	int fd = openat(dfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		probe_report(st, *rel ? rel : ".", probe_fail("open dir: %s", errname(errno)), NULL);
		return;
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (!known(path)) {
			probe_report(st, path, probe_fail("unexpected entry"), NULL);
			continue;
		}
		struct stat s;
		if (fstatat(dfd, path, &s, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(s.st_mode))
			find_extra(st, dfd, path);
	}
	if (errno)
		probe_report(st, *rel ? rel : ".", probe_fail("readdir: %s", errname(errno)), NULL);
	closedir(d);
}

static int tree_main(int argc, char **argv, int check)
{
	struct probe_stats st = { 0 };
	uint64_t seed;
	_cleanup_close_ int dfd = -1;

	if (parse_args(argc, argv, check ? "check-tree" : "write-tree", &seed) < 0)
		return 2;
	if (!check && mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "probe: mkdir %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "probe: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(tree); i++) {
		int rc = check ? check_entry(dfd, &tree[i], seed) : write_entry(dfd, &tree[i], seed);
		probe_report(&st, tree[i].path, rc, NULL);
	}
	if (check)
		find_extra(&st, dfd, "");
	else if (syncfs(dfd) < 0)
		probe_report(&st, "syncfs", probe_fail("%s", errname(errno)), NULL);
	return probe_summary(&st);
}

int probe_write_tree(int argc, char **argv)
{
	return tree_main(argc, argv, 0);
}

int probe_check_tree(int argc, char **argv)
{
	return tree_main(argc, argv, 1);
}
