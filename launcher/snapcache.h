/* SPDX-License-Identifier: MIT */
/*
 * Warm starts, the launcher's side: which snapshot a run may start from,
 * and storing the one a run makes (arca-vmm --restore-fd/--snapshot-fd,
 * vmm/warm.h).
 *
 * A snapshot is DIR/snap-KVER-<16 hex>.arca in the cache. The key folds
 * in everything the saved guest depends on: the kernel and base initrd
 * files (identity), the per-run skeleton archive (content), the kernel
 * command line, cpus, memory, the shares' tags and count, the arca-vmm
 * binary, the host's kernel release and the CPUID KVM offers. Any change
 * makes another name, so a snapshot is never used for a VM it was not
 * made for; stale ones age out (SNAPCACHE_KEEP newest are kept).
 *
 * Before use a snapshot is checked like every cached input (a regular
 * file owned by root, us or the sudo user, not group/other-writable) and
 * its header must say it is complete and the right size (vmm/snapshot.h):
 * one that fails is removed and the run makes a new one.
 */
#ifndef ARCA_SNAPCACHE_H
#define ARCA_SNAPCACHE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define SNAPCACHE_KEEP 8

struct snapcache_key {
	int kvm_fd;          /* KVM_GET_SUPPORTED_CPUID */
	int kernel_fd, initrd_fd, vmm_fd; /* identities (fstat) */
	uint64_t skeleton_hash;
	const char *kver, *cmdline;
	unsigned cpus, memory_mib;
	const char *const *tags; /* the shares' virtio-fs tags, in device order */
	size_t ntags;
};

struct snapcache {
	char path[PATH_MAX];   /* the snapshot's name in the cache */
	char tmp[PATH_MAX];    /* saving: the file being written */
	int fd;                /* restore: read-only; save: read-write; -1 */
	bool restore;
	uint32_t ncpus, nmmio;
	uint64_t mem_size;
	char note[PATH_MAX + 600]; /* why an existing snapshot was refused */
};

/* Pick: restore from the cached snapshot when it passes the checks, else
 * a new temporary file to save into. 0 or -errno with e set. */
int snapcache_open(const char *dir, const struct snapcache_key *k, uid_t extra_owner,
		   struct snapcache *sc, struct arca_err *e);
/* After the VMM exited: a saved snapshot that is complete goes into the
 * cache (synced, renamed), anything else is removed. Returns 1 when one
 * was stored, 0 when not, never fails the run. */
int snapcache_finish(struct snapcache *sc);
void snapcache_close(struct snapcache *sc);

/* Pure: mask what KVM_GET_SUPPORTED_CPUID reports about the host CPU the
 * call ran on (APIC IDs), which is not the host's identity. */
struct kvm_cpuid2;
void snapcache_cpuid_stable(struct kvm_cpuid2 *c);

/* Pure: the key's hash. */
uint64_t snapcache_hash(const struct snapcache_key *k, const void *cpuid, size_t cpuid_len,
			const char *host_release);

#endif
