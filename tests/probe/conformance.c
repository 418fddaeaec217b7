/* SPDX-License-Identifier: MIT */
/*
 * probe conformance DIR [CHECK...]: run each check in its own fresh
 * directory DIR/probe-conf.PID/NAME (cwd), then remove it. The removal of
 * the whole work directory is itself the last check ("cleanup").
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance.h"

static const struct {
	const char *name;
	int (*fn)(void);
} checks[] = {
	{ "create", c_create },
	{ "write_read", c_write_read },
	{ "append", c_append },
	{ "pread_pwrite", c_pread_pwrite },
	{ "stat_after_write", c_stat_after_write },
	{ "o_excl", c_o_excl },
	{ "o_trunc", c_o_trunc },
	{ "open_errors", c_open_errors },
	{ "unlink_open", c_unlink_open },
	{ "rename", c_rename },
	{ "rename_over", c_rename_over },
	{ "rename_dir", c_rename_dir },
	{ "rename_noreplace", c_rename_noreplace },
	{ "rename_exchange", c_rename_exchange },
	{ "mkdir_rmdir", c_mkdir_rmdir },
	{ "readdir_small", c_readdir_small },
	{ "readdir_many", c_readdir_many },
	{ "readdir_unlink", c_readdir_unlink },
	{ "hardlink", c_hardlink },
	{ "symlink_relative", c_symlink_relative },
	{ "symlink_absolute", c_symlink_absolute },
	{ "chmod", c_chmod },
	{ "utimens", c_utimens },
	{ "truncate", c_truncate },
	{ "sparse_seek", c_sparse_seek },
	{ "offset_5g", c_offset_5g },
	{ "fallocate", c_fallocate },
	{ "fallocate_keep_size", c_fallocate_keep_size },
	{ "punch_hole", c_punch_hole },
	{ "copy_file_range", c_copy_file_range },
	{ "xattr", c_xattr },
	{ "mmap_read", c_mmap_read },
	{ "mmap_write", c_mmap_write },
	{ "fsync", c_fsync },
	{ "statfs", c_statfs },
	{ "access", c_access },
	{ "mkfifo", c_mkfifo },
	{ "mknod_chr", c_mknod_chr },
	{ "cwd", c_cwd },
	{ "append_concurrent", c_append_concurrent },
	{ "large_file", c_large_file },
};

static int selected(int argc, char **argv, const char *name)
{
	if (argc <= 2)
		return 1;
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static int run_one(int workfd, const char *name, int (*fn)(void))
{
	int rc, r;

	if (mkdirat(workfd, name, 0755) < 0)
		return probe_fail("setup: mkdir %s: %s", name, errname(errno));
	if (fchdir(workfd) < 0 || chdir(name) < 0)
		return probe_fail("setup: chdir %s: %s", name, errname(errno));
	rc = fn();
	if (fchdir(workfd) < 0 && rc == PROBE_PASS)
		return probe_fail("fchdir back: %s", errname(errno));
	r = remove_tree(workfd, name);
	if (r < 0 && rc == PROBE_PASS)
		return probe_fail("passed, but removing its directory failed: %s", errname(-r));
	return rc;
}

int probe_conformance(int argc, char **argv)
{
	struct probe_stats st = { 0 };
	char work[64];
	_cleanup_close_ int dirfd = -1, workfd = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: probe conformance DIR [CHECK...]\n");
		return 2;
	}
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "probe: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	snprintf(work, sizeof(work), "probe-conf.%d", (int)getpid());
	if (mkdirat(dirfd, work, 0755) < 0 ||
	    (workfd = openat(dirfd, work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "probe: %s/%s: %s\n", argv[1], work, strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		if (!selected(argc, argv, checks[i].name))
			continue;
		probe_report(&st, checks[i].name, run_one(workfd, checks[i].name, checks[i].fn), NULL);
	}
	if (fchdir(dirfd) < 0)
		probe_report(&st, "cleanup", probe_fail("fchdir: %s", errname(errno)), NULL);
	else {
		int r = remove_tree(dirfd, work);
		probe_report(&st, "cleanup", r < 0 ? probe_fail("remove %s: %s", work, errname(-r))
						   : PROBE_PASS, NULL);
	}
	return probe_summary(&st);
}
