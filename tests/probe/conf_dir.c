/* SPDX-License-Identifier: MIT */
/*
 * probe conformance: namespace and metadata checks (rename, directories,
 * links, modes, times, xattrs, special files). cwd is the check's own dir.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static int xrenameat2(const char *from, const char *to, unsigned flags)
{
	/* musl 1.2.3 has no renameat2() wrapper */
	return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

static int content_is(const char *path, const char *want)
{
	char buf[256];
	ssize_t n = read_file(AT_FDCWD, path, buf, sizeof(buf));
	return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

#define REQ_CONTENT(path, want) \
	REQ_TRUE(content_is(path, want), "%s does not contain \"%s\"", path, want)

int c_rename(void)
{
	struct stat a, b;

	REQ_OK(write_file(AT_FDCWD, "a", "A", 1, 0644));
	REQ(stat("a", &a));
	REQ(rename("a", "b"));
	REQ_ERR(stat("a", &a), ENOENT);
	REQ(stat("b", &b));
	REQ_EQ(b.st_ino, a.st_ino);
	REQ_CONTENT("b", "A");
	REQ(rename("b", "b")); /* same name: a no-op that succeeds */
	REQ_CONTENT("b", "A");
	REQ_ERR(rename("missing", "c"), ENOENT);
	return PROBE_PASS;
}

int c_rename_over(void)
{
	struct stat a, b;
	_cleanup_close_ int fd = -1;

	REQ_OK(write_file(AT_FDCWD, "a", "new", 3, 0644));
	REQ_OK(write_file(AT_FDCWD, "b", "old", 3, 0644));
	REQ(stat("a", &a));
	fd = open("b", O_RDONLY | O_CLOEXEC);
	REQ(fd);
	REQ(rename("a", "b"));
	REQ(stat("b", &b));
	REQ_EQ(b.st_ino, a.st_ino);
	REQ_CONTENT("b", "new");
	REQ_ERR(stat("a", &a), ENOENT);
	/* the replaced file lives on through its open fd, unlinked */
	REQ(fstat(fd, &b));
	REQ_EQ(b.st_nlink, 0);
	char buf[4];
	REQ_EQ(pread(fd, buf, 4, 0), 3);
	REQ_TRUE(!memcmp(buf, "old", 3), "replaced file's content changed");
	return PROBE_PASS;
}

int c_rename_dir(void)
{
	struct stat st;

	REQ(mkdir("d", 0755));
	REQ(mkdir("d/sub", 0755));
	REQ_OK(write_file(AT_FDCWD, "d/sub/f", "deep", 4, 0644));
	REQ(rename("d", "e"));
	REQ_ERR(stat("d", &st), ENOENT);
	REQ_CONTENT("e/sub/f", "deep");
	REQ(mkdir("empty", 0755));
	REQ(rename("e", "empty")); /* over an empty directory */
	REQ_CONTENT("empty/sub/f", "deep");
	REQ(mkdir("full", 0755));
	REQ_OK(write_file(AT_FDCWD, "full/x", "x", 1, 0644));
	errno = 0;
	REQ_TRUE(rename("empty", "full") < 0 && (errno == ENOTEMPTY || errno == EEXIST),
		 "rename over a non-empty dir: %s", errno ? errname(errno) : "succeeded");
	REQ_ERR(rename("empty", "empty/sub/inside"), EINVAL); /* into itself */
	REQ_ERR(rename("full/x", "empty"), EISDIR);
	REQ_ERR(rename("empty", "full/x"), ENOTDIR);
	/* a moved directory's ".." follows it */
	REQ(rename("empty/sub", "full/sub"));
	REQ_CONTENT("full/sub/../x", "x");
	return PROBE_PASS;
}

int c_rename_noreplace(void)
{
	REQ_OK(write_file(AT_FDCWD, "a", "A", 1, 0644));
	REQ_OK(write_file(AT_FDCWD, "b", "B", 1, 0644));
	errno = 0;
	if (xrenameat2("a", "b", RENAME_NOREPLACE) == 0)
		return probe_fail("RENAME_NOREPLACE over an existing file succeeded");
	if (errno == ENOSYS)
		return probe_skip("renameat2: ENOSYS (kernel)");
	REQ_TRUE(errno == EEXIST, "RENAME_NOREPLACE: %s, expected EEXIST", errname(errno));
	REQ_CONTENT("a", "A");
	REQ_CONTENT("b", "B");
	REQ(xrenameat2("a", "c", RENAME_NOREPLACE));
	REQ_CONTENT("c", "A");
	return PROBE_PASS;
}

int c_rename_exchange(void)
{
	struct stat a, b, a2, b2;

	REQ_OK(write_file(AT_FDCWD, "a", "A", 1, 0644));
	REQ(mkdir("b", 0755));
	REQ_OK(write_file(AT_FDCWD, "b/in", "in", 2, 0644));
	REQ(stat("a", &a));
	REQ(stat("b", &b));
	if (xrenameat2("a", "b", RENAME_EXCHANGE) < 0) {
		if (errno == ENOSYS)
			return probe_skip("renameat2: ENOSYS (kernel)");
		return probe_fail("RENAME_EXCHANGE file<->dir: %s", errname(errno));
	}
	REQ(stat("a", &a2));
	REQ(stat("b", &b2));
	REQ_EQ(a2.st_ino, b.st_ino);
	REQ_EQ(b2.st_ino, a.st_ino);
	REQ_CONTENT("b", "A");
	REQ_CONTENT("a/in", "in");
	REQ_ERR(xrenameat2("a", "missing", RENAME_EXCHANGE), ENOENT);
	return PROBE_PASS;
}

int c_mkdir_rmdir(void)
{
	struct stat st;

	REQ(mkdir("d", 0750));
	REQ(stat("d", &st));
	REQ_TRUE(S_ISDIR(st.st_mode), "not a directory");
	REQ_EQ(st.st_mode & 07777, 0750);
	REQ_TRUE(st.st_nlink >= 2, "st_nlink %ld", (long)st.st_nlink);
	REQ_ERR(mkdir("d", 0755), EEXIST);
	REQ(mkdir("d/e", 0755));
	REQ_ERR(rmdir("d"), ENOTEMPTY);
	REQ_ERR(unlink("d"), EISDIR);
	REQ_OK(write_file(AT_FDCWD, "f", "", 0, 0644));
	REQ_ERR(rmdir("f"), ENOTDIR);
	REQ_ERR(mkdir("f/x", 0755), ENOTDIR);
	REQ(rmdir("d/e"));
	REQ(rmdir("d"));
	REQ_ERR(stat("d", &st), ENOENT);
	REQ_ERR(rmdir("d"), ENOENT);
	return PROBE_PASS;
}

int c_readdir_small(void)
{
	static const struct {
		const char *name;
		unsigned char type;
	} want[] = { { ".", DT_DIR }, { "..", DT_DIR }, { "file", DT_REG }, { "dir", DT_DIR },
		     { "link", DT_LNK }, { "fifo", DT_FIFO } };
	int seen[ARRAY_SIZE(want)] = { 0 };
	DIR *d;
	struct dirent *de;
	int bad = 0;

	REQ_OK(write_file(AT_FDCWD, "file", "", 0, 0644));
	REQ(mkdir("dir", 0755));
	REQ(symlink("file", "link"));
	REQ(mkfifo("fifo", 0644));
	d = opendir(".");
	REQ_TRUE(d, "opendir: %s", errname(errno));
	while ((errno = 0, de = readdir(d))) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(want); i++)
			if (!strcmp(de->d_name, want[i].name))
				break;
		if (i == ARRAY_SIZE(want) ||
		    (de->d_type != DT_UNKNOWN && de->d_type != want[i].type))
			bad = 1;
		else
			seen[i]++;
	}
	int e = errno;
	closedir(d);
	REQ_TRUE(!e, "readdir: %s", errname(e));
	REQ_TRUE(!bad, "unexpected entry or wrong d_type");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		REQ_TRUE(seen[i] == 1, "%s seen %d times", want[i].name, seen[i]);
	return PROBE_PASS;
}

enum { MANY = 2000 };

static int count_entries(DIR *d, unsigned char *seen, int unlink_seen, int *extra)
{
	struct dirent *de;

	*extra = 0;
	while ((errno = 0, de = readdir(d))) {
		char *end;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strncmp(de->d_name, "entry-", 6)) {
			(*extra)++;
			continue;
		}
		long i = strtol(de->d_name + 6, &end, 10);
		if (*end || i < 0 || i >= MANY) {
			(*extra)++;
			continue;
		}
		if (seen[i] < 255)
			seen[i]++;
		if (unlink_seen && unlinkat(dirfd(d), de->d_name, 0) < 0)
			return -errno;
	}
	return -errno;
}

int c_readdir_many(void)
{
	unsigned char seen[MANY] = { 0 };
	char name[32];
	int extra, r;
	DIR *d;

	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "entry-%d", i);
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		REQ_TRUE(fd >= 0, "create %s: %s", name, errname(errno));
		close(fd);
	}
	d = opendir(".");
	REQ_TRUE(d, "opendir: %s", errname(errno));
	r = count_entries(d, seen, 0, &extra);
	/* a second pass after rewinddir must see the same set */
	rewinddir(d);
	if (r == 0)
		r = count_entries(d, seen, 0, &extra);
	closedir(d);
	REQ_OK(r);
	REQ_EQ(extra, 0);
	for (int i = 0; i < MANY; i++)
		REQ_TRUE(seen[i] == 2, "entry-%d seen %d times in two passes", i, seen[i]);
	return PROBE_PASS;
}

/* POSIX: an entry neither added nor removed during the iteration is
 * returned exactly once. Unlinking only already-returned entries must not
 * make the server skip the rest (index-based offsets get this wrong). */
int c_readdir_unlink(void)
{
	unsigned char seen[MANY] = { 0 };
	char name[32];
	int extra, r, missing = 0, first = -1;
	DIR *d;

	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "entry-%d", i);
		REQ_OK(write_file(AT_FDCWD, name, "", 0, 0644));
	}
	d = opendir(".");
	REQ_TRUE(d, "opendir: %s", errname(errno));
	r = count_entries(d, seen, 1, &extra);
	closedir(d);
	REQ_OK(r);
	for (int i = 0; i < MANY; i++) {
		REQ_TRUE(seen[i] <= 1, "entry-%d returned %d times", i, seen[i]);
		if (!seen[i] && missing++ == 0)
			first = i;
	}
	REQ_TRUE(!missing, "%d entries never returned while unlinking (first entry-%d)",
		 missing, first);
	return PROBE_PASS;
}

int c_hardlink(void)
{
	struct stat a, b;

	REQ_OK(write_file(AT_FDCWD, "a", "one", 3, 0644));
	REQ(link("a", "b"));
	REQ(stat("a", &a));
	REQ(stat("b", &b));
	REQ_EQ(a.st_ino, b.st_ino);
	REQ_EQ(a.st_nlink, 2);
	REQ_EQ(b.st_nlink, 2);
	REQ_OK(write_file(AT_FDCWD, "b", "two", 3, 0644));
	REQ_CONTENT("a", "two");
	REQ(mkdir("d", 0755));
	REQ(link("a", "d/c"));
	REQ(stat("a", &a));
	REQ_EQ(a.st_nlink, 3);
	REQ(unlink("b"));
	REQ(stat("d/c", &b));
	REQ_EQ(b.st_nlink, 2);
	REQ_ERR(link("a", "d/c"), EEXIST);
	REQ_ERR(link("d", "d2"), EPERM);
	REQ_ERR(link("missing", "m"), ENOENT);
	return PROBE_PASS;
}

static int check_symlink(const char *target, const char *content)
{
	char buf[PATH_MAX];
	struct stat st;
	ssize_t n;
	_cleanup_close_ int fd = -1;

	REQ(symlink(target, "l"));
	n = readlink("l", buf, sizeof(buf));
	REQ(n);
	REQ_TRUE((size_t)n == strlen(target) && !memcmp(buf, target, (size_t)n),
		 "readlink returned %.*s", (int)n, buf);
	REQ(lstat("l", &st));
	REQ_TRUE(S_ISLNK(st.st_mode), "lstat: not a symlink (mode %o)", st.st_mode);
	REQ_EQ(st.st_size, strlen(target));
	REQ(stat("l", &st));
	REQ_TRUE(S_ISREG(st.st_mode), "stat does not follow the link");
	REQ_CONTENT("l", content);
	fd = open("l", O_WRONLY | O_APPEND | O_CLOEXEC);
	REQ(fd);
	REQ_EQ(write(fd, "+", 1), 1);
	REQ_ERR(open("l", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ELOOP);
	REQ_ERR(readlink(".", buf, sizeof(buf)), EINVAL);
	return PROBE_PASS;
}

int c_symlink_relative(void)
{
	struct stat st;

	REQ(mkdir("d", 0755));
	REQ_OK(write_file(AT_FDCWD, "d/t", "rel", 3, 0644));
	int r = check_symlink("./d/../d/t", "rel");
	if (r != PROBE_PASS)
		return r;
	REQ_CONTENT("d/t", "rel+");
	REQ(symlink("nowhere", "dangling"));
	REQ_ERR(stat("dangling", &st), ENOENT);
	REQ(lstat("dangling", &st));
	/* O_CREAT through a dangling link creates the target */
	REQ_OK(write_file(AT_FDCWD, "dangling", "made", 4, 0644));
	REQ_CONTENT("nowhere", "made");
	return PROBE_PASS;
}

int c_symlink_absolute(void)
{
	char target[PATH_MAX];

	REQ_TRUE(getcwd(target, sizeof(target) - 2), "getcwd: %s", errname(errno));
	REQ_TRUE(strlen(target) + 2 < sizeof(target), "cwd too long");
	strcat(target, "/t");
	REQ_OK(write_file(AT_FDCWD, "t", "abs", 3, 0644));
	int r = check_symlink(target, "abs");
	if (r != PROBE_PASS)
		return r;
	REQ_CONTENT("t", "abs+");
	return PROBE_PASS;
}

int c_chmod(void)
{
	struct stat st;
	_cleanup_close_ int fd = -1;

	REQ_OK(write_file(AT_FDCWD, "f", "", 0, 0644));
	REQ(chmod("f", 0600));
	REQ(stat("f", &st));
	REQ_EQ(st.st_mode & 07777, 0600);
	fd = open("f", O_RDONLY | O_CLOEXEC);
	REQ(fd);
	REQ(fchmod(fd, 0755));
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_mode & 07777, 0755);
	REQ(stat("f", &st));
	REQ_EQ(st.st_mode & 07777, 0755);
	REQ(chmod("f", 0));
	REQ(stat("f", &st));
	REQ_EQ(st.st_mode & 07777, 0);
	REQ(mkdir("d", 0755));
	REQ(chmod("d", 01777));
	REQ(stat("d", &st));
	REQ_EQ(st.st_mode & 07777, 01777);
	REQ_TRUE(S_ISDIR(st.st_mode), "chmod changed the file type");
	return PROBE_PASS;
}

int c_utimens(void)
{
	const struct timespec set[2] = { { 1000000000, 123456789 }, { 1200000000, 987654321 } };
	const struct timespec omit_now[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	const struct timespec now_omit[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	struct stat st;
	time_t t0;
	_cleanup_close_ int fd = -1;

	REQ_OK(write_file(AT_FDCWD, "f", "t", 1, 0644));
	REQ(utimensat(AT_FDCWD, "f", set, 0));
	REQ(stat("f", &st));
	REQ_EQ(st.st_atim.tv_sec, 1000000000);
	REQ_EQ(st.st_mtim.tv_sec, 1200000000);
	/* nanoseconds may be rounded to the fs granularity, never above */
	REQ_TRUE(st.st_atim.tv_nsec <= 123456789 && st.st_mtim.tv_nsec <= 987654321,
		 "nsec rounded up: %ld %ld", st.st_atim.tv_nsec, st.st_mtim.tv_nsec);
	if (st.st_mtim.tv_nsec != 987654321 || st.st_atim.tv_nsec != 123456789)
		probe_note("nanoseconds not kept exactly (%ld, %ld)", st.st_atim.tv_nsec,
			   st.st_mtim.tv_nsec);
	t0 = time(NULL);
	REQ(utimensat(AT_FDCWD, "f", omit_now, 0));
	REQ(stat("f", &st));
	REQ_EQ(st.st_atim.tv_sec, 1000000000);
	REQ_TRUE(st.st_mtim.tv_sec >= t0 - 2 && st.st_mtim.tv_sec <= time(NULL) + 2,
		 "UTIME_NOW mtime %lld, now %lld", (long long)st.st_mtim.tv_sec, (long long)t0);
	fd = open("f", O_RDONLY | O_CLOEXEC);
	REQ(fd);
	REQ(futimens(fd, set));
	REQ(futimens(fd, now_omit));
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_mtim.tv_sec, 1200000000);
	REQ_TRUE(st.st_atim.tv_sec >= t0 - 2, "UTIME_NOW atime %lld",
		 (long long)st.st_atim.tv_sec);
	/* on a symlink itself, not its target */
	REQ(symlink("f", "l"));
	REQ(utimensat(AT_FDCWD, "l", set, AT_SYMLINK_NOFOLLOW));
	REQ(lstat("l", &st));
	REQ_EQ(st.st_mtim.tv_sec, 1200000000);
	REQ(stat("f", &st));
	REQ_TRUE(st.st_mtim.tv_sec == 1200000000, "(target mtime)");
	return PROBE_PASS;
}

int c_xattr(void)
{
	char buf[256];
	ssize_t n;

	REQ_OK(write_file(AT_FDCWD, "f", "", 0, 0644));
	if (setxattr("f", "user.probe", "value1", 6, 0) < 0) {
		if (errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS)
			return probe_skip("user xattrs: %s", errname(errno));
		return probe_fail("setxattr: %s", errname(errno));
	}
	REQ_EQ(getxattr("f", "user.probe", NULL, 0), 6);
	n = getxattr("f", "user.probe", buf, sizeof(buf));
	REQ_EQ(n, 6);
	REQ_TRUE(!memcmp(buf, "value1", 6), "value differs");
	REQ_ERR(getxattr("f", "user.probe", buf, 2), ERANGE);
	REQ(setxattr("f", "user.other", "", 0, 0));
	n = listxattr("f", buf, sizeof(buf));
	REQ(n);
	int found = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		found += !strcmp(buf + i, "user.probe") + !strcmp(buf + i, "user.other");
	REQ_EQ(found, 2);
	REQ_ERR(setxattr("f", "user.probe", "x", 1, XATTR_CREATE), EEXIST);
	REQ_ERR(setxattr("f", "user.none", "x", 1, XATTR_REPLACE), ENODATA);
	REQ(setxattr("f", "user.probe", "v2", 2, XATTR_REPLACE));
	REQ_EQ(getxattr("f", "user.probe", buf, sizeof(buf)), 2);
	REQ(removexattr("f", "user.probe"));
	REQ_ERR(getxattr("f", "user.probe", buf, sizeof(buf)), ENODATA);
	REQ_ERR(removexattr("f", "user.probe"), ENODATA);
	return PROBE_PASS;
}

int c_statfs(void)
{
	struct statfs a, b;
	_cleanup_close_ int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	REQ(fd);
	REQ(statfs(".", &a));
	REQ(fstatfs(fd, &b));
	REQ_EQ(a.f_type, b.f_type);
	REQ_TRUE(a.f_bsize > 0, "f_bsize %ld", (long)a.f_bsize);
	REQ_TRUE(a.f_bfree <= a.f_blocks && a.f_bavail <= a.f_blocks,
		 "free %llu / avail %llu > blocks %llu", (unsigned long long)a.f_bfree,
		 (unsigned long long)a.f_bavail, (unsigned long long)a.f_blocks);
	REQ_TRUE(a.f_namelen >= 255, "f_namelen %ld", (long)a.f_namelen);
	return probe_note("f_type %#lx bsize %ld blocks %llu", (unsigned long)a.f_type,
			  (long)a.f_bsize, (unsigned long long)a.f_blocks);
}

int c_access(void)
{
	REQ_OK(write_file(AT_FDCWD, "f", "", 0, 0644));
	REQ_OK(write_file(AT_FDCWD, "x", "", 0, 0755));
	REQ(access("f", F_OK));
	REQ(access("f", R_OK | W_OK));
	REQ_ERR(access("missing", F_OK), ENOENT);
	/* even root needs one x bit to execute */
	if (geteuid() == 0)
		REQ_ERR(access("f", X_OK), EACCES);
	REQ(access("x", X_OK));
	REQ(faccessat(AT_FDCWD, "x", R_OK, AT_EACCESS));
	return PROBE_PASS;
}

int c_mkfifo(void)
{
	struct stat st;

	REQ(mkfifo("p", 0640));
	REQ(lstat("p", &st));
	REQ_TRUE(S_ISFIFO(st.st_mode), "mode %o is not a FIFO", st.st_mode);
	REQ_EQ(st.st_mode & 07777, 0640);
	/* I/O through a FIFO on the share is not required: record it */
	int fd = open("p", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return probe_note("open(O_RDWR): %s", errname(errno));
	char c = 0;
	ssize_t w = write(fd, "z", 1), r = read(fd, &c, 1);
	close(fd);
	return probe_note("open O_RDWR ok, write %zd read %zd%s", w, r,
			  c == 'z' ? " (pipe works)" : "");
}

int c_mknod_chr(void)
{
	struct statfs sf;
	struct stat st;

	REQ(statfs(".", &sf));
	if (mknod("null", S_IFCHR | 0666, makedev(1, 3)) == 0) {
		REQ(lstat("null", &st));
		/* root on a plain local filesystem may create device nodes; a
		 * share must refuse them (they would be host device nodes) */
		if (sf.f_type != PROBE_FUSE_SUPER_MAGIC)
			return probe_skip("created on a non-FUSE fs as uid %d; policy applies to "
					  "the share only",
					  (int)geteuid());
		return probe_fail("mknod(S_IFCHR 1:3) succeeded on the share (mode %o)",
				  st.st_mode);
	}
	REQ_TRUE(errno == EPERM, "mknod(S_IFCHR): %s, expected EPERM", errname(errno));
	return PROBE_PASS;
}

int c_cwd(void)
{
	char here[PATH_MAX], back[PATH_MAX];

	REQ_TRUE(getcwd(here, sizeof(here)), "getcwd: %s", errname(errno));
	REQ(mkdir("d", 0755));
	REQ(chdir("d"));
	REQ_TRUE(getcwd(back, sizeof(back)), "getcwd in d: %s", errname(errno));
	REQ_TRUE(strlen(back) == strlen(here) + 2 && !strncmp(back, here, strlen(here)),
		 "getcwd %s under %s", back, here);
	REQ(chdir(".."));
	REQ_TRUE(getcwd(back, sizeof(back)) && !strcmp(back, here), "chdir .. went to %s", back);
	return PROBE_PASS;
}
