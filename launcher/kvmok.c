/* SPDX-License-Identifier: MIT */
/* See kvmok.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor.h"
#include "kvmok.h"
#include "sbstate.h"

#define STAMP_MAX 4096

int kvmok_stamp(const char *boot_id, const char *modules, uint64_t rdev, char *out,
		size_t cap)
{
	size_t idlen = boot_id ? strcspn(boot_id, "\n") : 0;
	if (!idlen)
		return -EINVAL;
	int n = snprintf(out, cap, "boot %.*s\nkvm %llu\n", (int)idlen, boot_id,
			 (unsigned long long)rdev);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	size_t len = (size_t)n;
	for (const char *l = modules; l && *l;) {
		size_t ll = strcspn(l, "\n");
		/* "NAME SIZE REFS DEPS STATE ADDRESS": the name, size and
		 * address; not the references, which each running VM moves. */
		char name[64], size[32], refs[32], deps[512], state[32], addr[32];
		char line[1024];
		if (ll >= 3 && !strncmp(l, "kvm", 3) && ll < sizeof(line)) {
			memcpy(line, l, ll);
			line[ll] = '\0';
			if (sscanf(line, "%63s %31s %31s %511s %31s %31s", name, size, refs, deps,
				   state, addr) == 6) {
				int k = snprintf(out + len, cap - len, "%s %s %s\n", name, size, addr);
				if (k < 0 || (size_t)k >= cap - len)
					return -ENOSPC;
				len += (size_t)k;
			}
		}
		l += ll;
		if (*l == '\n')
			l++;
	}
	return (int)len;
}

static int current_stamp(int kvm_fd, char *out, size_t cap)
{
	char id[64];
	struct stat st;
	_cleanup_free_ char *mods = malloc(1 << 16);
	if (!mods || fstat(kvm_fd, &st) < 0 ||
	    doctor_read_small("/proc/sys/kernel/random/boot_id", id, sizeof(id)) <= 0 ||
	    doctor_read_small("/proc/modules", mods, 1 << 16) < 0)
		return -EIO;
	return kvmok_stamp(id, mods, (uint64_t)st.st_rdev, out, cap);
}

int kvmok_check(int kvm_fd, double *ran_ms, struct arca_err *e)
{
	char dir[256], path[300], tmp[320], want[STAMP_MAX], have[STAMP_MAX];
	const char *why;
	bool keep = sbstate_rundir(dir, sizeof(dir), &why) == 0 &&
		    current_stamp(kvm_fd, want, sizeof(want)) > 0;
	*ran_ms = -1;
	if (keep) {
		snprintf(path, sizeof(path), "%s/.kvm-ok", dir);
		/* The extensions are asked every time: cheap, and they
		 * name what is missing. */
		if (doctor_read_small(path, have, sizeof(have)) > 0 && !strcmp(have, want))
			return doctor_kvm_caps(kvm_fd, e);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = doctor_kvm_runnable(kvm_fd, e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ran_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (r < 0 || !keep) {
		if (keep)
			(void)unlink(path);
		return r;
	}
	/* A new name, then rename: a reader sees the old verdict or the new. */
	snprintf(tmp, sizeof(tmp), "%s/.kvm-ok.%d", dir, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t len = strlen(want);
		bool ok = write(fd, want, len) == (ssize_t)len;
		close(fd);
		if (!ok || rename(tmp, path) < 0)
			(void)unlink(tmp);
	}
	return 0;
}
