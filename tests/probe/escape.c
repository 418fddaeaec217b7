/* SPDX-License-Identifier: MIT */
/*
 * probe escape DIR MARKER: try to leave the share mounted at DIR from inside
 * the guest. The host places a file named MARKER outside the share (in the
 * share's parent) and checks afterwards that it is unchanged and that no new
 * file appeared outside. In the guest no file of that name exists, so any
 * successful read of a file named MARKER through an escape path means the
 * host side resolved something it should not have.
 *
 * Guest-local resolution is not an escape: "DIR/.." is the guest's own
 * parent of the mount point, and absolute symlinks resolve in the guest's
 * namespace. The server must never resolve a path or follow a symlink on the
 * host on the guest's behalf (the CVE-2020-35517 / CVE-2018-1000001 family
 * of path-resolution bugs in file-sharing daemons).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "probe.h"

struct esc {
	const char *dir;    /* the share's mount point, as given */
	const char *marker; /* name of the host's marker file */
	/* paths below are built in PATH_MAX buffers: DIR is limited to 900
	 * bytes at start so every composition fits */
	char work[1024]; /* DIR/probe-esc.PID */
	char out[1024];  /* a writable guest dir outside the share, or "" */
	dev_t share_dev;
	int race_ms;
};

/* Open path (relative to dfd) and read it. Not reaching it is the blocked
 * outcome; reading a file named after the marker is an escape. */
static int try_read(int dfd, const char *path, const char *how)
{
	char buf[64];
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return PROBE_PASS;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return probe_escaped("%s: opened %s (read: %s)", how, path, errname(errno));
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '.';
	return probe_escaped("%s: read %s: \"%s\"", how, path, buf);
}

/* Build "PREFIX" + "../" * ups + MARKER into buf. */
static const char *up_path(char *buf, size_t len, const char *prefix, int ups, const char *marker)
{
	size_t n = (size_t)snprintf(buf, len, "%s", prefix);
	for (int i = 0; i < ups && n + 3 < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "../");
	snprintf(buf + n, len - n, "%s", marker);
	return buf;
}

static int e_dotdot_path(struct esc *e)
{
	char prefix[PATH_MAX], p[PATH_MAX];

	snprintf(prefix, sizeof(prefix), "%s/", e->dir);
	for (int ups = 1; ups <= 12; ups++) {
		int rc = try_read(AT_FDCWD, up_path(p, sizeof(p), prefix, ups, e->marker), "path");
		if (rc != PROBE_PASS)
			return rc;
	}
	return PROBE_PASS;
}

static int e_dotdot_openat(struct esc *e)
{
	char p[PATH_MAX];
	_cleanup_close_ int dfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int wfd = open(e->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int up = -1;

	REQ(dfd);
	REQ(wfd);
	for (int ups = 1; ups <= 8; ups++) {
		int rc = try_read(dfd, up_path(p, sizeof(p), "", ups, e->marker), "openat(DIR)");
		if (rc == PROBE_PASS)
			rc = try_read(wfd, up_path(p, sizeof(p), "", ups + 1, e->marker),
				      "openat(DIR/work)");
		if (rc != PROBE_PASS)
			return rc;
	}
	/* step by step through directory fds: openat(dirfd, "..") twice */
	up = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQ(up);
	int rc = try_read(up, e->marker, "openat(openat(DIR, \"..\"))");
	if (rc != PROBE_PASS)
		return rc;
	int up2 = openat(up, "../..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQ(up2);
	rc = try_read(up2, e->marker, "openat(DIR/.., \"../..\")");
	close(up2);
	return rc;
}

static int scan_for_marker(const char *path, const struct esc *e)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (!d)
		return PROBE_PASS;
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, e->marker))
			found = 1;
	closedir(d);
	if (found)
		return probe_escaped("listing %s shows %s", path, e->marker);
	return PROBE_PASS;
}

static int e_dotdot_listing(struct esc *e)
{
	char p[PATH_MAX];
	const char *ups[] = { "/..", "/../..", "/../../..", "/probe-esc/../..", NULL };

	for (int i = 0; ups[i]; i++) {
		snprintf(p, sizeof(p), "%s%s", e->dir, ups[i]);
		int rc = scan_for_marker(p, e);
		if (rc != PROBE_PASS)
			return rc;
	}
	return PROBE_PASS;
}

/* Symlinks created inside the share whose targets point out of it. */
static int e_symlink_read(struct esc *e, int absolute)
{
	char target[PATH_MAX], name[32];
	_cleanup_close_ int wfd = open(e->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	REQ(wfd);
	for (int ups = 0; ups <= 8; ups++) {
		if (absolute && ups == 0)
			snprintf(target, sizeof(target), "/%s", e->marker);
		else if (absolute)
			up_path(target, sizeof(target), "/", ups, e->marker);
		else
			up_path(target, sizeof(target), "", ups + 1, e->marker);
		snprintf(name, sizeof(name), "%s%d", absolute ? "abs" : "rel", ups);
		REQ(symlinkat(target, wfd, name));
		int rc = try_read(wfd, name, target);
		if (rc != PROBE_PASS)
			return rc;
	}
	/* a directory symlink pointing out, then a lookup through it */
	snprintf(target, sizeof(target), "%s", absolute ? "/" : "../..");
	REQ(symlinkat(target, wfd, absolute ? "absdir" : "reldir"));
	snprintf(target, sizeof(target), "%s/%s", absolute ? "absdir" : "reldir", e->marker);
	return try_read(wfd, target, "via a dir symlink");
}

static int e_symlink_rel_read(struct esc *e)
{
	return e_symlink_read(e, 0);
}

static int e_symlink_abs_read(struct esc *e)
{
	return e_symlink_read(e, 1);
}

/* Write through a symlink pointing out. Landing at the guest-local resolution
 * of the target is fine (the guest writing its own files); succeeding without
 * the file appearing there means it went somewhere else: the host. */
static int e_symlink_write(struct esc *e, int absolute)
{
	char target[PATH_MAX], local[PATH_MAX], link[PATH_MAX], buf[32];
	int fd;

	if (absolute) {
		if (!e->out[0])
			return probe_skip("no writable directory outside the share");
		snprintf(target, sizeof(target), "%s/probe-escape-write.%d", e->out, (int)getpid());
		snprintf(local, sizeof(local), "%s", target);
	} else {
		snprintf(target, sizeof(target), "../../probe-escape-write.%d", (int)getpid());
		snprintf(local, sizeof(local), "%s/../probe-escape-write.%d", e->dir, (int)getpid());
	}
	snprintf(link, sizeof(link), "%s/w%s", e->work, absolute ? "abs" : "rel");
	REQ(symlink(target, link));
	fd = open(link, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) /* O_EXCL never follows: must fail with EEXIST */
		fd = open(link, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return probe_note("open through the link: %s", errname(errno));
	int w = write_all(fd, "probe-escape", 12);
	close(fd);
	REQ_OK(w);
	ssize_t n = read_file(AT_FDCWD, local, buf, sizeof(buf));
	if (n == 12 && !memcmp(buf, "probe-escape", 12)) {
		unlink(local);
		return probe_note("resolved guest-locally (%s), removed", local);
	}
	return probe_escaped("write through %s -> %s succeeded but %s does not hold it", link,
			     target, local);
}

static int e_symlink_rel_write(struct esc *e)
{
	return e_symlink_write(e, 0);
}

static int e_symlink_abs_write(struct esc *e)
{
	return e_symlink_write(e, 1);
}

/* A thread swaps work/race/x between a real directory (holding a decoy
 * named MARKER) and a symlink pointing out, while the main thread opens
 * x/MARKER in a loop: a server that resolves names on the host could be
 * caught between its check and its use. */
struct race {
	char x[PATH_MAX], alt[PATH_MAX], tmp[PATH_MAX];
	volatile int stop;
	long swaps;
	int err;
};

static void *race_swapper(void *arg)
{
	struct race *r = arg;
	int exchange = 1;

	while (!r->stop) {
		if (exchange && syscall(SYS_renameat2, AT_FDCWD, r->x, AT_FDCWD, r->alt,
					RENAME_EXCHANGE) == 0) {
			r->swaps++;
			continue;
		}
		if (exchange && (errno == EINVAL || errno == ENOSYS)) {
			exchange = 0; /* no RENAME_EXCHANGE: three plain renames */
			continue;
		}
		if (exchange || rename(r->x, r->tmp) < 0 || rename(r->alt, r->x) < 0 ||
		    rename(r->tmp, r->alt) < 0) {
			r->err = errno;
			break;
		}
		r->swaps++;
	}
	return NULL;
}

static int e_symlink_race(struct esc *e, const char *target)
{
	static const char decoy[] = "inside-share";
	char base[1100], path[PATH_MAX], buf[64];
	struct race r = { .stop = 0 };
	pthread_t t;
	long opens = 0, inside = 0, misses = 0;
	int rc = PROBE_PASS;

	snprintf(base, sizeof(base), "%s/race-%s", e->work, target[0] == '/' ? "abs" : "rel");
	REQ(mkdir(base, 0755));
	snprintf(r.x, sizeof(r.x), "%s/x", base);
	snprintf(r.alt, sizeof(r.alt), "%s/alt", base);
	snprintf(r.tmp, sizeof(r.tmp), "%s/tmp", base);
	snprintf(path, sizeof(path), "%s/x/%s", base, e->marker);
	REQ(mkdir(r.x, 0755));
	REQ_OK(write_file(AT_FDCWD, path, decoy, sizeof(decoy) - 1, 0644));
	REQ(symlink(target, r.alt));
	errno = pthread_create(&t, NULL, race_swapper, &r);
	REQ_TRUE(errno == 0, "pthread_create: %s", errname(errno));
	for (long long end = now_ms() + e->race_ms; now_ms() < end;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		opens++;
		if (fd < 0) {
			misses++;
			continue;
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n == sizeof(decoy) - 1 && !memcmp(buf, decoy, (size_t)n)) {
			inside++;
			continue;
		}
		buf[n > 0 ? n : 0] = '\0';
		rc = probe_escaped("opened %s outside the share (%zd bytes: \"%.20s\")", path, n,
				   buf);
		break;
	}
	r.stop = 1;
	pthread_join(t, NULL);
	if (rc != PROBE_PASS)
		return rc;
	REQ_TRUE(!r.err, "swapper: %s after %ld swaps", errname(r.err), r.swaps);
	REQ_TRUE(r.swaps > 0 && inside > 0, "race never ran (%ld swaps, %ld decoy reads)",
		 r.swaps, inside);
	return probe_note("%ld swaps, %ld opens: %ld decoy, %ld missed", r.swaps, opens, inside,
			  misses);
}

static int e_symlink_race_rel(struct esc *e)
{
	return e_symlink_race(e, "../..");
}

static int e_symlink_race_abs(struct esc *e)
{
	return e_symlink_race(e, "/");
}

/* A directory moved between depths while ".." chains are walked from an
 * fd held inside it. */
struct depth_race {
	char deep[PATH_MAX], shallow[PATH_MAX];
	volatile int stop;
	long moves;
	int err;
};

static void *depth_mover(void *arg)
{
	struct depth_race *r = arg;

	while (!r->stop) {
		if (rename(r->deep, r->shallow) < 0 || rename(r->shallow, r->deep) < 0) {
			r->err = errno;
			break;
		}
		r->moves++;
	}
	return NULL;
}

static int e_dotdot_rename_race(struct esc *e)
{
	char p[PATH_MAX], path[PATH_MAX];
	struct depth_race r = { .stop = 0 };
	pthread_t t;
	int rc = PROBE_PASS;
	long tries = 0;
	_cleanup_close_ int bfd = -1;

	snprintf(path, sizeof(path), "%s/dr", e->work);
	REQ(mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/dr/a", e->work);
	REQ(mkdir(path, 0755));
	snprintf(r.deep, sizeof(r.deep), "%s/dr/a/b", e->work);
	snprintf(r.shallow, sizeof(r.shallow), "%s/dr/b", e->work);
	REQ(mkdir(r.deep, 0755));
	bfd = open(r.deep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQ(bfd);
	errno = pthread_create(&t, NULL, depth_mover, &r);
	REQ_TRUE(errno == 0, "pthread_create: %s", errname(errno));
	for (long long end = now_ms() + e->race_ms; rc == PROBE_PASS && now_ms() < end;) {
		for (int ups = 4; ups <= 6 && rc == PROBE_PASS; ups++, tries++)
			rc = try_read(bfd, up_path(p, sizeof(p), "", ups, e->marker), "race");
	}
	r.stop = 1;
	pthread_join(t, NULL);
	if (rc != PROBE_PASS)
		return rc;
	REQ_TRUE(!r.err, "mover: %s after %ld moves", errname(r.err), r.moves);
	return probe_note("%ld moves, %ld lookups", r.moves, tries);
}

static int e_proc_fd(struct esc *e)
{
	char p[PATH_MAX], q[PATH_MAX];
	_cleanup_close_ int dfd = open(e->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int wfd = open(e->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int viaproc = -1;

	REQ(dfd);
	REQ(wfd);
	if (access("/proc/self/fd", F_OK) < 0)
		return probe_skip("/proc not mounted");
	for (int ups = 1; ups <= 6; ups++) {
		snprintf(q, sizeof(q), "/proc/self/fd/%d/", dfd);
		int rc = try_read(AT_FDCWD, up_path(p, sizeof(p), q, ups, e->marker), "/proc fd");
		if (rc != PROBE_PASS)
			return rc;
		snprintf(q, sizeof(q), "/proc/self/fd/%d/", wfd);
		rc = try_read(AT_FDCWD, up_path(p, sizeof(p), q, ups + 1, e->marker), "/proc fd");
		if (rc != PROBE_PASS)
			return rc;
	}
	/* reopen the share through the magic link, then step out with openat */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dfd);
	viaproc = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQ(viaproc);
	for (int ups = 1; ups <= 6; ups++) {
		int rc = try_read(viaproc, up_path(p, sizeof(p), "", ups, e->marker),
				  "openat(/proc/self/fd/N)");
		if (rc != PROBE_PASS)
			return rc;
	}
	return PROBE_PASS;
}

static int e_proc_cwd(struct esc *e)
{
	char p[PATH_MAX];
	_cleanup_close_ int old = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = PROBE_PASS;

	REQ(old);
	if (access("/proc/self/cwd", F_OK) < 0)
		return probe_skip("/proc not mounted");
	REQ(chdir(e->work));
	for (int ups = 1; ups <= 8 && rc == PROBE_PASS; ups++) {
		rc = try_read(AT_FDCWD, up_path(p, sizeof(p), "/proc/self/cwd/", ups, e->marker),
			      "/proc/self/cwd");
		if (rc == PROBE_PASS)
			rc = try_read(AT_FDCWD, up_path(p, sizeof(p), "", ups, e->marker), "cwd");
	}
	REQ(fchdir(old));
	return rc;
}

/* Expect a cross-mount operation to fail; EXDEV is what the VFS returns. */
static int expect_blocked(int r, const char *what, const char *created)
{
	if (r == 0) {
		if (created)
			unlink(created);
		return probe_escaped("%s succeeded", what);
	}
	if (errno != EXDEV)
		return probe_note("%s: %s (expected EXDEV)", what, errname(errno));
	return PROBE_PASS;
}

static int outside_file(struct esc *e, char *path, size_t len)
{
	snprintf(path, len, "%s/outside-file", e->out);
	return write_file(AT_FDCWD, path, "outside", 7, 0644);
}

static int e_link_in(struct esc *e)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (!e->out[0])
		return probe_skip("no writable directory outside the share");
	REQ_OK(outside_file(e, src, sizeof(src)));
	snprintf(dst, sizeof(dst), "%s/linked-in", e->work);
	return expect_blocked(link(src, dst), "link(outside, share)", dst);
}

static int e_link_out(struct esc *e)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (!e->out[0])
		return probe_skip("no writable directory outside the share");
	snprintf(src, sizeof(src), "%s/to-link-out", e->work);
	REQ_OK(write_file(AT_FDCWD, src, "share", 5, 0644));
	snprintf(dst, sizeof(dst), "%s/linked-out", e->out);
	return expect_blocked(link(src, dst), "link(share, outside)", dst);
}

static int e_rename_out(struct esc *e)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (!e->out[0])
		return probe_skip("no writable directory outside the share");
	snprintf(src, sizeof(src), "%s/to-move-out", e->work);
	REQ_OK(write_file(AT_FDCWD, src, "share", 5, 0644));
	snprintf(dst, sizeof(dst), "%s/moved-out", e->out);
	int rc = expect_blocked(rename(src, dst), "rename(share file, outside)", dst);
	if (rc != PROBE_PASS)
		return rc;
	snprintf(src, sizeof(src), "%s/dir-to-move-out", e->work);
	REQ(mkdir(src, 0755));
	snprintf(dst, sizeof(dst), "%s/dir-moved-out", e->out);
	rc = expect_blocked(rename(src, dst), "rename(share dir, outside)", NULL);
	if (rc == PROBE_ESCAPED)
		rmdir(dst);
	return rc;
}

static int e_opath_linkat(struct esc *e)
{
	char src[PATH_MAX], dst[PATH_MAX], proc[64];
	_cleanup_close_ int fd = -1;

	if (!e->out[0])
		return probe_skip("no writable directory outside the share");
	REQ_OK(outside_file(e, src, sizeof(src)));
	fd = open(src, O_PATH | O_CLOEXEC);
	REQ(fd);
	snprintf(dst, sizeof(dst), "%s/opath-in", e->work);
	int rc = expect_blocked(linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH), "linkat(AT_EMPTY_PATH)",
				dst);
	if (rc == PROBE_ESCAPED)
		return rc;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	snprintf(dst, sizeof(dst), "%s/opath-in2", e->work);
	int rc2 = expect_blocked(linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW),
				 "linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW)", dst);
	return rc2 == PROBE_PASS ? rc : rc2;
}

static int e_mknod(struct esc *e, mode_t type, dev_t dev, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", e->work, name);
	if (mknod(p, type | 0666, dev) == 0) {
		int r = lstat(p, &st);
		unlink(p);
		return probe_escaped("mknod %s %u:%u created a device node on the share (mode %o)",
				     name, major(dev), minor(dev), r == 0 ? st.st_mode : 0);
	}
	if (errno != EPERM)
		return probe_note("%s (expected EPERM)", errname(errno));
	return PROBE_PASS;
}

static int e_mknod_chr(struct esc *e)
{
	return e_mknod(e, S_IFCHR, makedev(1, 3), "chr-null");
}

static int e_mknod_blk(struct esc *e)
{
	return e_mknod(e, S_IFBLK, makedev(8, 0), "blk-sda");
}

/* The guest cannot see what the host stored; record what it is told. */
static int e_setuid_create(struct esc *e)
{
	char p[PATH_MAX];
	struct stat st;
	struct statvfs sv;

	snprintf(p, sizeof(p), "%s/suid", e->work);
	REQ_OK(write_file(AT_FDCWD, p, "#!/bin/sh\nid\n", 13, 0755));
	int r = chmod(p, 06755);
	int err = errno;
	REQ(stat(p, &st));
	REQ(statvfs(e->dir, &sv));
	return probe_note("chmod 06755: %s, guest sees mode %04o, mount %s; host must check",
			  r == 0 ? "ok" : errname(err), st.st_mode & 07777,
			  (sv.f_flag & ST_NOSUID) ? "nosuid" : "suid");
}

static int e_xattr_priv(struct esc *e)
{
	char p[PATH_MAX];
	/* a v2 file capability blob granting nothing: harmless if stored */
	static const unsigned char cap[20] = { 0x00, 0x00, 0x00, 0x02 };

	snprintf(p, sizeof(p), "%s/xattr-priv", e->work);
	REQ_OK(write_file(AT_FDCWD, p, "", 0, 0755));
	int t = setxattr(p, "trusted.overlay.opaque", "y", 1, 0);
	int te = errno;
	int c = setxattr(p, "security.capability", cap, sizeof(cap), 0);
	int ce = errno;
	return probe_note("trusted.overlay.opaque: %s, security.capability: %s; host must check "
			  "they are not stored as such",
			  t == 0 ? "set" : errname(te), c == 0 ? "set" : errname(ce));
}

static int e_name_len(struct esc *e)
{
	char name[300], p[PATH_MAX + 64];

	memset(name, 'n', 256);
	name[256] = '\0';
	snprintf(p, sizeof(p), "%s/%s", e->work, name);
	REQ_ERR(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), ENAMETOOLONG);
	REQ_ERR(mkdir(p, 0755), ENAMETOOLONG);
	REQ_ERR(symlink("x", p), ENAMETOOLONG);
	return PROBE_PASS;
}

static int name_works(struct esc *e, const char *name)
{
	char p[PATH_MAX + 300];
	struct stat st;
	struct dirent *de;
	int seen = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/%s", e->work, name);
	REQ_OK(write_file(AT_FDCWD, p, "n", 1, 0644));
	REQ(stat(p, &st));
	d = opendir(e->work);
	REQ_TRUE(d, "opendir: %s", errname(errno));
	while ((de = readdir(d)))
		seen += !strcmp(de->d_name, name);
	closedir(d);
	REQ_TRUE(seen == 1, "readdir returned the name %d times", seen);
	REQ(unlink(p));
	return PROBE_PASS;
}

static int e_name_255(struct esc *e)
{
	char name[256];

	memset(name, 'm', 255);
	name[255] = '\0';
	return name_works(e, name);
}

static int e_name_ctrl(struct esc *e)
{
	static const char *const names[] = { "ctl\x01\x02\x1f\x7f", "new\nline", "tab\tname",
					     "bad-utf8-\xff\xfe\xc3", "back\\slash", "...",
					     "..hidden", ". ." };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		int rc = name_works(e, names[i]);
		if (rc != PROBE_PASS)
			return rc;
	}
	return PROBE_PASS;
}

static int e_name_utf8(struct esc *e)
{
	return name_works(e, "\xc3\xbcn\xc3\xaf\x63\xc3\xb8\x64\xc3\xa9-\xe5\x90\x8d\xe5\x89\x8d-"
			     "\xf0\x9f\x99\x82");
}

static int e_symlink_loop(struct esc *e)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/loop", e->work);
	REQ(symlink("loop", p));
	REQ_ERR(open(p, O_RDONLY | O_CLOEXEC), ELOOP);
	return PROBE_PASS;
}

static int e_mountpoint(struct esc *e)
{
	char p[PATH_MAX];
	struct stat up;

	snprintf(p, sizeof(p), "%s/..", e->dir);
	REQ(stat(p, &up));
	if (up.st_dev == e->share_dev)
		return probe_skip("%s is not the share's mount point", e->dir);
	snprintf(p, sizeof(p), "%s.probe-moved", e->dir);
	if (rename(e->dir, p) == 0) {
		rename(p, e->dir);
		return probe_escaped("renamed the share's mount point");
	}
	REQ_ERR(rmdir(e->dir), EBUSY);
	return PROBE_PASS;
}

static int e_bind_mount(struct esc *e)
{
	return probe_skip("bind mounts need privileges and act on the guest's own namespace");
}

/* Find a writable guest directory on another filesystem than the share. */
static void find_outside(struct esc *e)
{
	const char *cands[] = { getenv("TMPDIR"), "/tmp", "/run", "/dev/shm", "/" };
	char p[900];
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(cands); i++) {
		if (!cands[i] || stat(cands[i], &st) < 0 || st.st_dev == e->share_dev)
			continue;
		snprintf(p, sizeof(p), "%s/probe-esc-out.XXXXXX", cands[i]);
		if (mkdtemp(p)) {
			snprintf(e->out, sizeof(e->out), "%s", p);
			return;
		}
	}
}

static const struct {
	const char *name;
	int (*fn)(struct esc *);
	const char *ok_word; /* "blocked" for attempts, NULL where it must work */
} attempts[] = {
	{ "dotdot_path", e_dotdot_path, "blocked" },
	{ "dotdot_openat", e_dotdot_openat, "blocked" },
	{ "dotdot_listing", e_dotdot_listing, "blocked" },
	{ "symlink_rel_read", e_symlink_rel_read, "blocked" },
	{ "symlink_abs_read", e_symlink_abs_read, "blocked" },
	{ "symlink_rel_write", e_symlink_rel_write, "blocked" },
	{ "symlink_abs_write", e_symlink_abs_write, "blocked" },
	{ "symlink_race_rel", e_symlink_race_rel, "blocked" },
	{ "symlink_race_abs", e_symlink_race_abs, "blocked" },
	{ "dotdot_rename_race", e_dotdot_rename_race, "blocked" },
	{ "proc_self_fd", e_proc_fd, "blocked" },
	{ "proc_self_cwd", e_proc_cwd, "blocked" },
	{ "link_in", e_link_in, "blocked" },
	{ "link_out", e_link_out, "blocked" },
	{ "rename_out", e_rename_out, "blocked" },
	{ "opath_linkat", e_opath_linkat, "blocked" },
	{ "mknod_chr", e_mknod_chr, "blocked" },
	{ "mknod_blk", e_mknod_blk, "blocked" },
	{ "mountpoint", e_mountpoint, "blocked" },
	{ "symlink_loop", e_symlink_loop, "blocked" },
	{ "name_256", e_name_len, "blocked" },
	{ "setuid_create", e_setuid_create, "recorded" },
	{ "xattr_privileged", e_xattr_priv, "recorded" },
	{ "bind_mount", e_bind_mount, "blocked" },
	{ "name_255", e_name_255, NULL },
	{ "name_ctrl", e_name_ctrl, NULL },
	{ "name_utf8", e_name_utf8, NULL },
};

int probe_escape(int argc, char **argv)
{
	struct probe_stats st = { 0 };
	struct esc e = { .race_ms = 1000 };
	struct stat sb;
	const char *ms = getenv("PROBE_RACE_MS");

	if (argc != 3 || !argv[2][0] || strchr(argv[2], '/') || strlen(argv[2]) > NAME_MAX) {
		fprintf(stderr, "usage: probe escape DIR OUTSIDE_MARKER (a file name)\n");
		return 2;
	}
	if (strlen(argv[1]) > 900) {
		fprintf(stderr, "probe: DIR longer than 900 bytes\n");
		return 2;
	}
	e.dir = argv[1];
	e.marker = argv[2];
	if (ms && atoi(ms) > 0 && atoi(ms) <= 60000)
		e.race_ms = atoi(ms);
	if (stat(e.dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "probe: %s: not a directory\n", e.dir);
		return 2;
	}
	e.share_dev = sb.st_dev;
	snprintf(e.work, sizeof(e.work), "%s/probe-esc.%d", e.dir, (int)getpid());
	if (mkdir(e.work, 0755) < 0) {
		fprintf(stderr, "probe: mkdir %s: %s\n", e.work, strerror(errno));
		return 2;
	}
	find_outside(&e);
	for (size_t i = 0; i < ARRAY_SIZE(attempts); i++)
		probe_report(&st, attempts[i].name, attempts[i].fn(&e), attempts[i].ok_word);
	int r = remove_tree(AT_FDCWD, e.work);
	probe_report(&st, "cleanup", r < 0 ? probe_fail("remove %s: %s", e.work, errname(-r))
					   : PROBE_PASS,
		     NULL);
	if (e.out[0])
		remove_tree(AT_FDCWD, e.out);
	return probe_summary(&st);
}
