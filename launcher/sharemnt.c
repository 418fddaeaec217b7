/* SPDX-License-Identifier: MIT */
/* See sharemnt.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "hostfs.h"
#include "quote.h"
#include "sharemnt.h"

/* ---- pure: /proc/self/mountinfo ------------------------------------------------------ */

/* Copy the space-terminated field at s into out, undoing the kernel's octal
 * escapes (\040 space, \011 tab, \012 newline, \134 backslash). Returns the
 * position after the field, or NULL if it does not fit or is malformed. */
static const char *field(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	while (*s && *s != ' ' && *s != '\n') {
		char ch = *s++;
		if (ch == '\\') {
			if (s[0] < '0' || s[0] > '3' || s[1] < '0' || s[1] > '7' || s[2] < '0' ||
			    s[2] > '7')
				return NULL;
			ch = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
			s += 3;
		}
		if (n + 1 >= outlen)
			return NULL;
		out[n++] = ch;
	}
	out[n] = '\0';
	return s;
}

static const char *skip_fields(const char *s, int n)
{
	while (n-- > 0) {
		while (*s && *s != ' ' && *s != '\n')
			s++;
		if (*s != ' ')
			return NULL;
		s++;
	}
	return s;
}

static bool beneath(const char *path, const char *dir)
{
	if (!strcmp(dir, "/"))
		return path[0] == '/' && path[1] != '\0';
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/' && path[n + 1] != '\0';
}

int sharemnt_find_pseudo(const char *mi, const char *dir, char *mnt, size_t mntlen, char *type,
			 size_t typelen)
{
	char point[4096], fstype[64];

	for (const char *line = mi; *line; ) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len == 0) {
			line += end ? 1 : 0;
			if (!end)
				break;
			continue;
		}
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER */
		const char *p = skip_fields(line, 4);
		if (!p || !(p = field(p, point, sizeof(point))))
			return -EINVAL;
		const char *dash = strstr(p, " - ");
		if (!dash || (end && dash > end))
			return -EINVAL;
		if (!field(dash + 3, fstype, sizeof(fstype)))
			return -EINVAL;
		if (beneath(point, dir) && hostfs_pseudo_type(fstype)) {
			snprintf(mnt, mntlen, "%s", point);
			snprintf(type, typelen, "%s", fstype);
			return 1;
		}
		if (!end)
			break;
		line = end + 1;
	}
	return 0;
}

int sharemnt_check_beneath(const char *dir, const char *what, struct arca_err *e)
{
	_cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "cannot read /proc/self/mountinfo");
	/* mountinfo is generated per read; a few hundred KiB covers hosts
	 * with thousands of mounts (container hosts). */
	size_t cap = 1 << 16, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return arca_error(e, ENOMEM, "out of memory");
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= (64u << 20))
				return arca_error(e, EFBIG, "/proc/self/mountinfo is too large");
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return arca_error(e, ENOMEM, "out of memory");
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arca_error_errno(e, errno, "reading /proc/self/mountinfo");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	char mnt[4096], type[64];
	struct quoted q1, q2;
	int r = sharemnt_find_pseudo(buf, dir, mnt, sizeof(mnt), type, sizeof(type));
	if (r < 0)
		return arca_error(e, EINVAL, "cannot parse /proc/self/mountinfo");
	if (r > 0)
		return arca_error(e, EPERM,
				  "refusing %s '%s': %s is mounted inside it (%s, a kernel pseudo-file "
				  "system that would hand the guest the host); share a directory "
				  "without it", what, quote(&q1, dir), quote(&q2, mnt), type);
	return 0;
}

/* ---- the idmapping's user namespace -------------------------------------------------- */

static int write_map(pid_t pid, const char *file, uint32_t from, uint32_t to)
{
	char path[64], line[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	/* "INSIDE OUTSIDE COUNT": on the idmapped mount, on-disk id INSIDE is
	 * seen (and written) as OUTSIDE. */
	int n = snprintf(line, sizeof(line), "%u %u 1\n", from, to);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n)
		return -errno;
	return 0;
}

int sharemnt_userns(uint32_t from_uid, uint32_t from_gid, uint32_t to_uid, uint32_t to_gid,
		    struct arca_err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return arca_error_errno(e, errno, "pipe");
	/* A child that only holds the namespace open until we have its fd:
	 * it blocks reading the pipe and exits when we close our end. */
	struct clone_args ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		char c;
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	int err = errno;
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return arca_error_errno(e, err, "creating the share idmapping's user namespace");
	}
	int r = write_map((pid_t)pid, "uid_map", from_uid, to_uid);
	if (r == 0)
		r = write_map((pid_t)pid, "gid_map", from_gid, to_gid);
	int fd = -1;
	if (r == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/ns/user", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = -errno;
	}
	close(p[1]);
	while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return arca_error_errno(e, -r, "setting up the share idmapping %u:%u -> %u:%u",
					from_uid, from_gid, to_uid, to_gid);
	return fd;
}

/* ---- the detached tree ------------------------------------------------------------------ */

int sharemnt_clone(int dfd, const char *path, unsigned flags, int userns_fd, bool *idmapped,
		   const char *what, struct arca_err *e)
{
	struct quoted q;
	unsigned at = AT_RECURSIVE | AT_SYMLINK_NOFOLLOW | (path[0] ? 0 : AT_EMPTY_PATH);
	int fd = (int)syscall(SYS_open_tree, dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | at);
	if (fd < 0) {
		if (errno == ENOSYS)
			return -ENOSYS;
		return arca_error_errno(e, errno, "cannot clone %s '%s' into a mount of its own",
					what, quote(&q, path[0] ? path : "(fd)"));
	}
	_cleanup_close_ int owned = fd;
	struct mount_attr ma = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    ((flags & SHAREMNT_RO) ? MOUNT_ATTR_RDONLY : 0),
	};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof(ma)) < 0)
		return arca_error_errno(e, errno, "cannot set the mount flags of %s '%s'", what,
					quote(&q, path[0] ? path : "(fd)"));
	if (idmapped)
		*idmapped = false;
	if (userns_fd >= 0) {
		struct mount_attr im = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &im,
			    sizeof(im)) == 0) {
			if (idmapped)
				*idmapped = true;
		} else if (errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS) {
			/* EINVAL: a file system of the tree cannot be idmapped
			 * (tmpfs before 6.3, procfs...); the caller decides
			 * whether the plain clone will do. */
			return arca_error_errno(e, errno, "cannot idmap %s '%s'", what,
						quote(&q, path[0] ? path : "(fd)"));
		}
	}
	return steal_fd(&owned);
}
