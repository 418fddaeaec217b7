/* SPDX-License-Identifier: MIT */
/*
 * The guest's initramfs comes in two concatenated newc archives:
 *   base: /init (arca-init), busybox and its applet links, the directory
 *         skeleton, /etc/passwd and /etc/group, the kernel modules arca-init
 *         loads (/lib/modules/NAME.ko) and their load order (/arca/modules).
 *         It depends only on the kernel and the host's files, so it is built
 *         once and cached per kernel version.
 *   spec: /arca/spec, the per-run spec, built in memory for every run.
 */
#ifndef ARCA_INITRD_H
#define ARCA_INITRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"
#include "kernel.h"
#include "kmod.h"
#include "paths.h"
#include "spec.h"

/* Bump when the base archive's layout changes: it is part of the cache key. */
#define INITRD_FORMAT "arca-base-initrd-1"

/*
 * Open (building and caching it first if needed) the base initrd for kernel
 * k with the wanted modules and their dependencies. The cache file is
 * CACHE_DIR/base-KVER-KEY.cpio, KEY a 64-bit FNV-1a hash of INITRD_FORMAT,
 * the kernel version, the wanted module names and the size, mtime and inode
 * of arca-init, busybox and every module file. A new archive is written to a
 * temporary file and renamed into place (concurrent runs are safe: each
 * writes the same bytes), then older base-KVER-*.cpio files are removed.
 * Returns an O_RDONLY|O_CLOEXEC fd, or -errno with e set.
 */
/* Cache helpers (also for the decompressed kernel, launcher/kcache.c).
 * cache_store writes data to DIR/NAME through a temporary file and a
 * rename, mode 0644, and returns an O_RDONLY fd of it (opened before the
 * rename: a concurrent cleanup cannot pull it away) or -errno with e set.
 * cache_remove_stale removes DIR's "PREFIX-KVER-<16 hex>SUFFIX" files but
 * KEEP (best effort). cache_key_stat folds a file's identity (size, mtime,
 * inode, device) into an FNV-1a hash. */
int cache_store(const char *dir, const char *name, const void *data, size_t len,
		struct arca_err *e);
void cache_remove_stale(const char *dir, const char *prefix, const char *kver,
			const char *suffix, const char *keep);
uint64_t cache_key_stat(uint64_t h, const struct stat *st);

int initrd_base_open(const struct arca_paths *p, const struct arca_kernel *k,
		     const char *const *modules, size_t nmodules, struct arca_err *e);

/*
 * The same with a variant: more modules than a run usually needs (the
 * filesystem of a --disk fstype=). The archive is cached as
 * base-KVER+VARIANT-KEY.cpio, so it neither replaces nor is replaced by the
 * plain one (each keeps only its own newest). variant: NULL (plain, as
 * initrd_base_open) or [a-z0-9+_] naming what was added.
 */
int initrd_base_open_variant(const struct arca_paths *p, const struct arca_kernel *k,
			     const char *const *modules, size_t nmodules, const char *variant,
			     struct arca_err *e);

/*
 * Which module of kernel k a filesystem type (mount -t TYPE) needs: 0 when
 * none (built in: modules.builtin.modinfo has an alias fs-TYPE; or that file
 * is missing and nothing better is known), 1 with the module's name in mod
 * (the module named TYPE, else the filesystem module declaring alias
 * fs-TYPE, as request_module("fs-TYPE") finds it), -ENOENT with e set when
 * the kernel has no such filesystem.
 */
int initrd_fs_module(const struct arca_kernel *k, const char *fstype, char mod[KMOD_NAME_MAX],
		     struct arca_err *e);

/*
 * The per-run archive holding /arca/spec (spec_encode() of s), in a sealed
 * memfd (no writes, no resizing, no further seals): the VMM can map it
 * without fearing that it changes underneath. Returns the fd, offset 0, or
 * -errno with e set.
 */
int initrd_spec_memfd(const struct arca_spec *s, struct arca_err *e);
/* Warm starts: the same archive without /arca/spec (arca-init then takes
 * the spec from the control channel), *hash set to its FNV-1a (a snapshot
 * is only good for the same skeleton); and the raw spec (spec_encode's
 * bytes) in a sealed memfd, for arca-vmm's --spec-fd. */
int initrd_spec_memfd_ex(const struct arca_spec *s, bool with_spec, uint64_t *hash,
			 struct arca_err *e);
int initrd_spec_raw_memfd(const struct arca_spec *s, struct arca_err *e);

/* Pure: 64-bit FNV-1a, chainable (start with INITRD_FNV_OFFSET). */
#define INITRD_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t initrd_fnv1a(uint64_t h, const void *data, size_t len);

#endif
