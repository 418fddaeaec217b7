/* SPDX-License-Identifier: MIT */
/* probe conformance: the checks, one function each, run in a fresh dir. */
#ifndef ARCA_PROBE_CONFORMANCE_H
#define ARCA_PROBE_CONFORMANCE_H

#include "probe.h"

/* conf_file.c */
int c_create(void);
int c_write_read(void);
int c_append(void);
int c_pread_pwrite(void);
int c_stat_after_write(void);
int c_o_excl(void);
int c_o_trunc(void);
int c_open_errors(void);
int c_unlink_open(void);
int c_truncate(void);
int c_sparse_seek(void);
int c_offset_5g(void);
int c_fallocate(void);
int c_fallocate_keep_size(void);
int c_punch_hole(void);
int c_copy_file_range(void);
int c_mmap_read(void);
int c_mmap_write(void);
int c_fsync(void);
int c_append_concurrent(void);
int c_large_file(void);

/* conf_dir.c */
int c_rename(void);
int c_rename_over(void);
int c_rename_dir(void);
int c_rename_noreplace(void);
int c_rename_exchange(void);
int c_mkdir_rmdir(void);
int c_readdir_small(void);
int c_readdir_many(void);
int c_readdir_unlink(void);
int c_hardlink(void);
int c_symlink_relative(void);
int c_symlink_absolute(void);
int c_chmod(void);
int c_utimens(void);
int c_xattr(void);
int c_statfs(void);
int c_access(void);
int c_mkfifo(void);
int c_mknod_chr(void);
int c_cwd(void);

#endif
