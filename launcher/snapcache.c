/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "../vmm/snapshot.h"
#include "initrd.h"
#include "io.h"
#include "jail.h"
#include "../vmm/kvm_caps.h"
#include "snapcache.h"

#define SNAPCACHE_FORMAT "arca-snapshot-1"

uint64_t snapcache_hash(const struct snapcache_key *k, const void *cpuid, size_t cpuid_len,
			const char *host_release)
{
	uint64_t h = initrd_fnv1a(INITRD_FNV_OFFSET, SNAPCACHE_FORMAT, sizeof(SNAPCACHE_FORMAT));
	const int fds[3] = { k->kernel_fd, k->initrd_fd, k->vmm_fd };
	for (int i = 0; i < 3; i++) {
		struct stat st;
		memset(&st, 0, sizeof(st));
		if (fstat(fds[i], &st) == 0)
			h = cache_key_stat(h, &st);
	}
	h = initrd_fnv1a(h, &k->skeleton_hash, sizeof(k->skeleton_hash));
	h = initrd_fnv1a(h, k->kver, strlen(k->kver) + 1);
	h = initrd_fnv1a(h, k->cmdline, strlen(k->cmdline) + 1);
	uint32_t v[3] = { k->cpus, k->memory_mib, (uint32_t)k->ntags };
	h = initrd_fnv1a(h, v, sizeof(v));
	for (size_t i = 0; i < k->ntags; i++)
		h = initrd_fnv1a(h, k->tags[i], strlen(k->tags[i]) + 1);
	h = initrd_fnv1a(h, host_release, strlen(host_release) + 1);
	return initrd_fnv1a(h, cpuid, cpuid_len);
}

void snapcache_cpuid_stable(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *x = &c->entries[i];
		switch (x->function) {
		case 0x1: /* EBX[31:24]: the initial APIC ID */
			x->ebx &= 0x00ffffffu;
			break;
		case 0xb: /* EDX: the x2APIC ID */
		case 0x1f:
			x->edx = 0;
			break;
		case 0x8000001e: /* EAX: extended APIC ID; EBX: core/unit ID */
			x->eax = 0;
			x->ebx = 0;
			break;
		default:
			break;
		}
	}
}

/* What KVM offers this host's guests: another CPU or KVM makes the saved
 * vCPU state meaningless. KVM fills a few fields by running CPUID on
 * whichever host CPU the call lands on (found by the e2e: the key changed
 * between runs): those are masked. */
/* Is name "snap-KVER-<16 hex>.arca", or a temporary ".snap-..." one? */
static bool is_snap_name(const char *name)
{
	size_t n = strlen(name);
	return (strncmp(name, "snap-", 5) == 0 || strncmp(name, ".snap-", 6) == 0) &&
	       (n > 5 && (strstr(name, ".arca") != NULL));
}

/* Keep the SNAPCACHE_KEEP newest snapshots (and temporary files of runs
 * that were killed, for an hour); best effort. */
static void trim(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct { char name[256]; time_t mtime; } keep[SNAPCACHE_KEEP + 1];
	size_t nkeep = 0;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (!is_snap_name(de->d_name) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (de->d_name[0] == '.') {
			if (now - st.st_mtime > 3600)
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		/* Insert by mtime, newest first; what falls off the end goes. */
		size_t i = nkeep;
		while (i > 0 && keep[i - 1].mtime < st.st_mtime)
			i--;
		if (i >= SNAPCACHE_KEEP) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (nkeep == SNAPCACHE_KEEP) {
			unlinkat(dirfd(d), keep[SNAPCACHE_KEEP - 1].name, 0);
			nkeep--;
		}
		memmove(&keep[i + 1], &keep[i], (nkeep - i) * sizeof(keep[0]));
		snprintf(keep[i].name, sizeof(keep[i].name), "%s", de->d_name);
		keep[i].mtime = st.st_mtime;
		nkeep++;
	}
	closedir(d);
}

/* The snapshot's own header: complete, of this build, for this VM, and
 * the file of exactly its size. */
static int header_ok(const struct snapcache *sc, int fd, const char **reason)
{
	struct stat st;
	struct snap_header h;
	memset(&h, 0, sizeof(h));
	*reason = "unreadable";
	/* The whole header, or the file is not one (a short read is -EIO). */
	if (fstat(fd, &st) < 0 || pread_all(fd, &h, sizeof(h), 0) < 0)
		return -EIO;
	return snap_header_check(&h, (uint64_t)st.st_size, sc->ncpus, sc->nmmio, sc->mem_size,
				 reason);
}

/* The checks every cached input gets, plus the snapshot's own header. */
static int check_existing(struct snapcache *sc, int fd, uid_t extra_owner)
{
	struct arca_err why = { 0 };
	if (jail_check_input_fd(fd, sc->path, "snapshot", extra_owner, &why) < 0) {
		snprintf(sc->note, sizeof(sc->note), "%s", why.msg);
		return -EPERM;
	}
	const char *reason;
	if (header_ok(sc, fd, &reason) < 0) {
		snprintf(sc->note, sizeof(sc->note), "snapshot %s: %s", sc->path, reason);
		return -EINVAL;
	}
	return 0;
}

int snapcache_open(const char *dir, const struct snapcache_key *k, uid_t extra_owner,
		   struct snapcache *sc, struct arca_err *e)
{
	memset(sc, 0, sizeof(*sc));
	sc->fd = -1;
	sc->ncpus = k->cpus;
	sc->nmmio = 1 + (uint32_t)k->ntags; /* the console, then one per share */
	sc->mem_size = (uint64_t)k->memory_mib << 20;

	struct kvm_cpuid2 *cpuid = NULL;
	size_t clen = 0;
	if (kvm_supported_cpuid(k->kvm_fd, &cpuid) == 0) {
		snapcache_cpuid_stable(cpuid);
		clen = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	}
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	uint64_t h = snapcache_hash(k, cpuid, clen, u.release);
	free(cpuid);
	int n = snprintf(sc->path, sizeof(sc->path), "%s/snap-%s-%016" PRIx64 ".arca", dir,
			 k->kver, h);
	int n2 = snprintf(sc->tmp, sizeof(sc->tmp), "%s/.snap-%s-%016" PRIx64 ".arca.XXXXXX",
			  dir, k->kver, h);
	if (n < 0 || (size_t)n >= sizeof(sc->path) || n2 < 0 || (size_t)n2 >= sizeof(sc->tmp))
		return arca_error(e, ENAMETOOLONG, "cache path too long: %s", dir);

	int fd = open(sc->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		if (check_existing(sc, fd, extra_owner) == 0) {
			sc->fd = fd;
			sc->restore = true;
			sc->tmp[0] = 0;
			return 0;
		}
		close(fd);
		/* Refused: made again by this run (a foreign or broken file
		 * we cannot remove fails the rename below instead). */
		unlink(sc->path);
	} else if (errno != ENOENT) {
		snprintf(sc->note, sizeof(sc->note), "snapshot %s: %s", sc->path, strerror(errno));
		unlink(sc->path);
	}
	fd = mkostemps(sc->tmp, 0, O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "cannot create a snapshot in %s", dir);
	sc->fd = fd;
	return 0;
}

int snapcache_finish(struct snapcache *sc)
{
	int stored = 0;
	if (sc->restore || !sc->tmp[0] || sc->fd < 0)
		return 0;
	const char *reason;
	if (header_ok(sc, sc->fd, &reason) == 0 && fchmod(sc->fd, 0600) == 0 &&
	    fsync(sc->fd) == 0 && rename(sc->tmp, sc->path) == 0)
		stored = 1;
	else
		unlink(sc->tmp);
	sc->tmp[0] = 0;
	/* The directory, for the next run: */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", sc->path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		trim(dir);
	}
	return stored;
}

void snapcache_close(struct snapcache *sc)
{
	if (sc->tmp[0])
		unlink(sc->tmp);
	sc->tmp[0] = 0;
	if (sc->fd >= 0)
		close(sc->fd);
	sc->fd = -1;
}
