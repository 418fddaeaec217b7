/* SPDX-License-Identifier: MIT */
/*
 * probe vmm-fds PID MARKER: from the host (root), take every directory fd
 * the running arca-vmm PID holds (pidfd_getfd) and try to leave it the way
 * a compromised FUSE server could: "..", and MARKER (a file the test placed
 * in each share's parent) through "../", "../../" and "../../../". A share
 * handed over as a detached mount (launcher/sharemnt.h) stops ".." at its
 * own root, so every attempt must land back inside the share; a plain
 * directory fd of the host's tree would reach the marker.
 *
 * The VMM's own procfs fd (/proc/self/fd of its pid namespace, the FUSE
 * server's reopen path) is skipped and named: it is no share.
 *
 * Output: `ok fd N: ...` per share fd, `ESCAPED fd N: ...` per way out,
 * then `vmm-fds: N share fds, N escapes`. Exit 0, 3 on an escape, 1 when
 * no share fd was found or an fd could not be taken.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"

/* musl builds without kernel headers: <linux/magic.h>'s value. */
#define PROC_SUPER_MAGIC 0x9fa0
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int check_fd(int n, int fd, const char *marker)
{
	struct stat root, st;
	int escapes = 0;
	char path[256];

	if (fstat(fd, &root) < 0)
		return 0;
	int up = openat(fd, "..", O_PATH | O_CLOEXEC);
	if (up >= 0) {
		if (fstat(up, &st) == 0 && (st.st_dev != root.st_dev || st.st_ino != root.st_ino)) {
			printf("ESCAPED fd %d: \"..\" leads out of the share (dev %lu ino %lu)\n", n,
			       (unsigned long)st.st_dev, (unsigned long)st.st_ino);
			escapes++;
		}
		close(up);
	}
	for (int depth = 1; depth <= 3; depth++) {
		path[0] = '\0';
		for (int i = 0; i < depth; i++)
			strcat(path, "../");
		strncat(path, marker, sizeof(path) - strlen(path) - 1);
		int m = openat(fd, path, O_RDONLY | O_CLOEXEC);
		if (m >= 0) {
			printf("ESCAPED fd %d: opened %s\n", n, path);
			escapes++;
			close(m);
		}
	}
	if (!escapes)
		printf("ok fd %d: \"..\" stays at the share's root, %s unreachable\n", n, marker);
	return escapes;
}

int probe_vmm_fds(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: probe vmm-fds PID MARKER\n");
		return 2;
	}
	int pid = atoi(argv[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		printf("vmm-fds: pidfd_open %d: %s\n", pid, strerror(errno));
		return 1;
	}
	char dirpath[64];
	snprintf(dirpath, sizeof(dirpath), "/proc/%d/fd", pid);
	DIR *d = opendir(dirpath);
	if (!d) {
		printf("vmm-fds: %s: %s\n", dirpath, strerror(errno));
		return 1;
	}
	int shares = 0, escapes = 0, failed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int n = atoi(de->d_name);
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
		if (fd < 0 && errno == EBADF) {
			/* Closed since readdir listed it: the VMM opens and closes
			 * fds as the guest works (open files, ring files); one that
			 * is gone holds nothing to escape through. */
			printf("note fd %d: closed before it could be taken, skipped\n", n);
			continue;
		}
		if (fd < 0) {
			printf("vmm-fds: pidfd_getfd %d: %s\n", n, strerror(errno));
			failed++;
			continue;
		}
		struct stat st;
		struct statfs sf;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) {
				printf("note fd %d: the VMM's own procfs, skipped\n", n);
			} else {
				shares++;
				escapes += check_fd(n, fd, argv[2]);
			}
		}
		close(fd);
	}
	closedir(d);
	printf("vmm-fds: %d share fds, %d escapes\n", shares, escapes);
	if (escapes)
		return PROBE_ESCAPED;
	return shares && !failed ? 0 : 1;
}
