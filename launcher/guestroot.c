/* SPDX-License-Identifier: MIT */
/*
 * Default guest root skeleton (see guestroot.h). Reads the host only
 * through a directory fd on host_root, with O_NOFOLLOW on every component,
 * so a symlink in the host's /etc is copied as a symlink and never makes
 * us read a file outside the allowlist.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca/abi.h"
#include "cleanup.h"
#include "guestroot.h"

/* Entry names in the archive: ARCA_GUEST_ROOT without its leading '/'. */
#define PREFIX "arca/root/"

static const struct {
	const char *path;
	unsigned mode;
} DIRS[] = {
	{ "dev", 0755 }, { "proc", 0555 }, { "sys", 0555 }, { "tmp", 01777 },
	{ "run", 0755 }, { "root", 0700 }, { "home", 0755 }, { "var", 0755 },
	{ "var/tmp", 01777 }, { "usr", 0755 }, { "etc", 0755 }, { "mnt", 0755 },
};

/* Merged-/usr links; the required ones are what every dynamic binary in
 * /usr needs (/lib64/ld-linux-x86-64.so.2 goes through lib64 on x86_64, so
 * a host that has lib64 must have it merged too). */
static const struct {
	const char *name;
	int required;
} USR_LINKS[] = {
	{ "bin", 1 }, { "sbin", 1 }, { "lib", 1 },
	{ "lib32", 0 }, { "lib64", 0 }, { "libx32", 0 },
};

/* Generated: nothing of the host's users, hosts or resolver leaks in. */
static const char PASSWD[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char GROUP[] = "root:x:0:\nnogroup:x:65534:\n";
static const char HOSTS[] = "127.0.0.1\tlocalhost\n"
			    "127.0.1.1\tarca\n"
			    "::1\tlocalhost ip6-localhost ip6-loopback\n";
static const char RESOLV[] = "# arca: the guest has no network\n";
static const char HOSTNAME[] = "arca\n";
/* files only: the host's may name sss, ldap or systemd modules, which
 * would wait for daemons that do not exist in the guest. */
static const char NSSWITCH[] = "passwd: files\ngroup: files\nshadow: files\n"
			       "hosts: files dns\nnetworks: files\nprotocols: files\n"
			       "services: files\nethers: files\nrpc: files\n";

static const struct {
	const char *path, *data;
	size_t len;
} GENERATED[] = {
#define GEN(p, d) { p, d, sizeof(d) - 1 }
	GEN("etc/passwd", PASSWD),
	GEN("etc/group", GROUP),
	GEN("etc/hosts", HOSTS),
	GEN("etc/resolv.conf", RESOLV),
	GEN("etc/hostname", HOSTNAME),
	GEN("etc/nsswitch.conf", NSSWITCH),
#undef GEN
};

/* The allowlist. Strike an entry and the reason says what breaks. */
static const struct {
	const char *path;
	int dir_ok; /* may be a directory: copied recursively */
	const char *why;
} COPIED[] = {
	{ "etc/ld.so.cache", 0, "ld.so finds libraries in ld.so.conf.d directories" },
	{ "etc/alternatives", 1, "Debian's /usr/bin/awk, editor, java... link through it" },
	{ "etc/ssl/certs", 1, "CA certificates: TLS clients (curl, pip, openssl, git)" },
	{ "etc/ssl/openssl.cnf", 0, "OpenSSL's default configuration" },
	{ "etc/localtime", 0, "the host's time zone for localtime(3)" },
	{ "etc/timezone", 0, "the time zone's name (Debian tools, tzlocal)" },
	{ "etc/os-release", 0, "distribution identification (pip, platform checks)" },
	{ "etc/protocols", 0, "getprotobyname(3), Python's socket module" },
	{ "etc/services", 0, "getservbyname(3)" },
};

struct gr {
	struct cpio_buf *w;
	const struct guestroot_opts *o;
	int rootfd;
	size_t bytes, entries;
	int full_warned;
	char **dirs; /* archive directories added so far (relative, no prefix) */
	size_t ndirs;
	struct arca_err *e;
};

static void warn(struct gr *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct gr *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!g->o->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g->o->warn(g->o->warn_ctx, msg);
}

static int entry_name(char *buf, size_t n, const char *rel)
{
	int l = snprintf(buf, n, PREFIX "%s", rel);
	return l < 0 || (size_t)l >= n ? -ENAMETOOLONG : 0;
}

static int have_dir(const struct gr *g, const char *rel)
{
	for (size_t i = 0; i < g->ndirs; i++)
		if (!strcmp(g->dirs[i], rel))
			return 1;
	return 0;
}

static int add_dir(struct gr *g, const char *rel, unsigned mode)
{
	char name[PATH_MAX];
	int r = entry_name(name, sizeof(name), rel);

	if (r < 0 || have_dir(g, rel))
		return r;
	if ((r = cpio_add_dir(g->w, name, mode)) < 0)
		return r;
	char **d = realloc(g->dirs, (g->ndirs + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	g->dirs = d;
	if (!(d[g->ndirs] = strdup(rel)))
		return -ENOMEM;
	g->ndirs++;
	return 0;
}

/* Adds every parent directory of rel ("etc/ssl" for "etc/ssl/certs"). */
static int add_parents(struct gr *g, const char *rel)
{
	char buf[PATH_MAX];

	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		int r = add_dir(g, buf, 0755);
		*s = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

/* The merged-/usr links, or the error that makes HOST mode impossible. */
static int add_usr_links(struct gr *g)
{
	for (size_t i = 0; i < ARRAY_SIZE(USR_LINKS); i++) {
		const char *n = USR_LINKS[i].name;
		char target[PATH_MAX], want[32], want_abs[32];

		ssize_t len = readlinkat(g->rootfd, n, target, sizeof(target) - 1);
		if (len < 0 && errno == ENOENT && !USR_LINKS[i].required)
			continue;
		if (len < 0 && (errno == EINVAL || errno == ENOENT))
			return arca_error(g->e, ENOTSUP,
					  "host / is not merged-/usr (/%s is %s); use --root", n,
					  errno == EINVAL ? "not a symlink" : "missing");
		if (len < 0)
			return arca_error_errno(g->e, errno, "reading host /%s", n);
		target[len] = '\0';
		snprintf(want, sizeof(want), "usr/%s", n);
		snprintf(want_abs, sizeof(want_abs), "/usr/%s", n);
		if (strcmp(target, want) && strcmp(target, want_abs))
			return arca_error(g->e, ENOTSUP,
					  "host / is not merged-/usr (/%s -> %s); use --root", n,
					  target);
		char name[64];
		snprintf(name, sizeof(name), PREFIX "%s", n);
		int r = cpio_add_symlink(g->w, name, want);
		if (r < 0)
			return arca_error(g->e, -r, "adding /%s to the guest root", n);
	}
	return 0;
}

/* A host object may become guest configuration only if no one but
 * trusted_uid could have written it. Symlinks' own mode bits mean nothing
 * (always 0777 on Linux); their directory's check covers them. */
static int trusted(struct gr *g, const struct stat *st, const char *rel)
{
	if (st->st_uid != g->o->trusted_uid) {
		warn(g, "guest root: skipping /%s: owned by uid %u, not %u", rel,
		     (unsigned)st->st_uid, (unsigned)g->o->trusted_uid);
		return 0;
	}
	if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH))) {
		warn(g, "guest root: skipping /%s: group- or world-writable (mode %04o)", rel,
		     (unsigned)(st->st_mode & 07777));
		return 0;
	}
	return 1;
}

static int room_for(struct gr *g, const char *rel, size_t bytes)
{
	if (g->entries >= GUESTROOT_MAX_ENTRIES || bytes > GUESTROOT_MAX_BYTES - g->bytes) {
		if (!g->full_warned)
			warn(g, "guest root: skipping /%s (and any later file past the "
			     "limit): over %u entries or %u bytes of host files", rel,
			     GUESTROOT_MAX_ENTRIES, GUESTROOT_MAX_BYTES);
		g->full_warned = 1;
		return 0;
	}
	return 1;
}

static int read_fd(int fd, uint8_t *buf, size_t size)
{
	size_t have = 0;
	while (have < size) {
		ssize_t n = read(fd, buf + have, size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank while we read it */
		have += (size_t)n;
	}
	return 0;
}

static int copy_entry(struct gr *g, int dfd, const char *name, const char *rel, int dir_ok,
		      int depth);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's entries in sorted order (the archive is reproducible),
 * each through copy_entry. */
static int copy_dir(struct gr *g, int fd, const char *rel, int depth)
{
	DIR *d = fdopendir(fd);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				r = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && r == 0; i++) {
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]) >= sizeof(sub)) {
			warn(g, "guest root: skipping /%s/%s: path too long", rel, names[i]);
			continue;
		}
		r = copy_entry(g, dirfd(d), names[i], sub, 1, depth + 1);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

/*
 * Copies dfd/name to PREFIX rel. Returns 0 when copied or skipped (with a
 * warning where that is worth saying), -errno for what must stop the run
 * (the archive's own errors, out of memory).
 */
static int copy_entry(struct gr *g, int dfd, const char *name, const char *rel, int dir_ok,
		      int depth)
{
	char ename[PATH_MAX];
	struct stat st;
	int r;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			warn(g, "guest root: skipping /%s: %s", rel, strerror(errno));
		return 0;
	}
	if (!trusted(g, &st, rel))
		return 0;
	if ((r = entry_name(ename, sizeof(ename), rel)) < 0) {
		warn(g, "guest root: skipping /%s: path too long", rel);
		return 0;
	}

	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (len < 0) {
			warn(g, "guest root: skipping /%s: %s", rel, strerror(errno));
			return 0;
		}
		target[len] = '\0';
		if (!room_for(g, rel, (size_t)len))
			return 0;
		g->entries++;
		g->bytes += (size_t)len;
		return cpio_add_symlink(g->w, ename, target);
	}

	if (S_ISDIR(st.st_mode)) {
		if (!dir_ok || depth > GUESTROOT_MAX_DEPTH) {
			warn(g, "guest root: skipping directory /%s", rel);
			return 0;
		}
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st2;
		if (fd < 0 || fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino ||
		    st2.st_dev != st.st_dev) {
			warn(g, "guest root: skipping /%s: changed or unreadable", rel);
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (!room_for(g, rel, 0)) {
			close(fd);
			return 0;
		}
		g->entries++;
		if ((r = add_dir(g, rel, st.st_mode & 0755)) < 0) {
			close(fd);
			return r;
		}
		return copy_dir(g, fd, rel, depth); /* takes fd */
	}

	if (!S_ISREG(st.st_mode)) {
		warn(g, "guest root: skipping /%s: not a regular file, directory or symlink", rel);
		return 0;
	}
	size_t want = (unsigned long long)st.st_size > GUESTROOT_MAX_BYTES ? SIZE_MAX
									 : (size_t)st.st_size;
	if (!room_for(g, rel, want))
		return 0;

	/* O_NONBLOCK: if it became a FIFO since the fstatat, open does not
	 * hang; the fstat below then refuses it. */
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					O_CLOEXEC);
	struct stat st2;
	if (fd < 0 || fstat(fd, &st2) < 0 || !S_ISREG(st2.st_mode) ||
	    st2.st_ino != st.st_ino || st2.st_dev != st.st_dev || st2.st_size != st.st_size ||
	    !trusted(g, &st2, rel)) {
		warn(g, "guest root: skipping /%s: changed or unreadable", rel);
		return 0;
	}
	size_t size = (size_t)st.st_size;
	_cleanup_free_ uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	if ((r = read_fd(fd, buf, size)) < 0) {
		warn(g, "guest root: skipping /%s: %s", rel, strerror(-r));
		return 0;
	}
	g->entries++;
	g->bytes += size;
	/* Read bits and the owner's execute bit survive; no setuid/sticky. */
	return cpio_add_file(g->w, ename, st.st_mode & 0755, buf, size);
}

/*
 * Opens the directory holding rel's last component, checking each
 * directory on the way like a copied file: a writable /etc/ssl would let
 * anyone swap in certs. Returns the fd (and *leaf), 0 for "skip" (-1 fd),
 * -errno on failure.
 */
static int open_parent(struct gr *g, const char *rel, const char **leaf, int *out)
{
	char buf[PATH_MAX];
	_cleanup_close_ int dfd = openat(g->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*out = -1;
	if (dfd < 0)
		return -errno;
	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	char *comp = buf;
	for (char *slash; (slash = strchr(comp, '/')); comp = slash + 1) {
		*slash = '\0';
		int next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			if (errno != ENOENT)
				warn(g, "guest root: skipping /%s: /%s: %s", rel, buf,
				     strerror(errno));
			return 0;
		}
		close(dfd);
		dfd = next;
		struct stat st;
		if (fstat(dfd, &st) < 0)
			return -errno;
		if (!trusted(g, &st, buf))
			return 0;
		*slash = '/';
	}
	*leaf = rel + (comp - buf);
	*out = steal_fd(&dfd);
	return 0;
}

static int add_copied(struct gr *g)
{
	for (size_t i = 0; i < ARRAY_SIZE(COPIED); i++) {
		const char *leaf;
		int dfd, r = open_parent(g, COPIED[i].path, &leaf, &dfd);
		if (r < 0)
			return arca_error_errno(g->e, -r, "guest root: /%s", COPIED[i].path);
		if (dfd < 0)
			continue;
		struct stat st;
		/* Parents in the archive only for what exists: no empty
		 * /etc/ssl in the guest of a host without one. */
		if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
			r = add_parents(g, COPIED[i].path);
		if (r == 0)
			r = copy_entry(g, dfd, leaf, COPIED[i].path, COPIED[i].dir_ok, 0);
		close(dfd);
		if (r < 0)
			return arca_error_errno(g->e, -r, "guest root: copying /%s",
						COPIED[i].path);
	}
	return 0;
}

int guestroot_add(struct cpio_buf *w, const struct guestroot_opts *o, struct arca_err *e)
{
	struct gr g = { .w = w, .o = o, .rootfd = -1, .e = e };
	int r;

	if (!w || !o || !o->host_root)
		return arca_error(e, EINVAL, "guestroot_add: bad arguments");
	g.rootfd = open(o->host_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.rootfd < 0)
		return arca_error_errno(e, errno, "opening host root %s", o->host_root);

	r = cpio_add_dir(w, "arca", 0755);
	if (r == 0)
		r = cpio_add_dir(w, "arca/root", 0755);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(DIRS); i++)
		r = add_dir(&g, DIRS[i].path, DIRS[i].mode);
	if (r < 0) {
		r = arca_error(e, -r, "building the guest root skeleton");
		goto out;
	}
	if ((r = add_usr_links(&g)) < 0)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(GENERATED); i++) {
		char name[64];
		snprintf(name, sizeof(name), PREFIX "%s", GENERATED[i].path);
		if ((r = cpio_add_file(w, name, 0644, GENERATED[i].data, GENERATED[i].len)) < 0)
			break;
	}
	/* df, mount and friends read /etc/mtab. */
	if (r == 0)
		r = cpio_add_symlink(w, PREFIX "etc/mtab", "../proc/self/mounts");
	if (r < 0) {
		r = arca_error(e, -r, "building the guest /etc");
		goto out;
	}
	r = add_copied(&g);
out:
	close(g.rootfd);
	for (size_t i = 0; i < g.ndirs; i++)
		free(g.dirs[i]);
	free(g.dirs);
	return r;
}
