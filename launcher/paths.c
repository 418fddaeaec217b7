/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "paths.h"

void paths_free(struct arca_paths *p)
{
	free(p->exe_dir);
	free(p->vmm);
	free(p->init);
	free(p->busybox);
	free(p->cache_dir);
	memset(p, 0, sizeof(*p));
}

int paths_mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *s = buf + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		char saved = *s;
		*s = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = saved;
		if (!saved)
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static char *join(const char *a, const char *b)
{
	char *r;
	return asprintf(&r, "%s/%s", a, b) < 0 ? NULL : r;
}

static int dir_writable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && access(path, W_OK) == 0;
}

/*
 * The cache holds the base initrd the guest boots with: whoever can write
 * there can replace the guest's init. Refuse a directory that someone other
 * than us (or root) owns or that others can write to.
 */
static int check_cache_dir(const char *dir, struct arca_err *e)
{
	int r = paths_mkdir_p(dir, 0700);
	if (r < 0)
		return arca_error_errno(e, -r, "cannot create cache directory %s", dir);
	struct stat st;
	if (stat(dir, &st) < 0)
		return arca_error_errno(e, errno, "cannot stat cache directory %s", dir);
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022))
		return arca_error(e, EPERM,
				  "cache directory %s is writable by other users (chmod go-w it or set ARCA_CACHE_DIR)",
				  dir);
	if (access(dir, W_OK | X_OK) < 0)
		return arca_error_errno(e, errno, "cache directory %s is not writable", dir);
	return 0;
}

void paths_from_env(struct arca_paths_in *in)
{
	*in = (struct arca_paths_in){
		.libexec = getenv("ARCA_LIBEXEC"),
		.busybox = getenv("ARCA_BUSYBOX"),
		.cache_dir = getenv("ARCA_CACHE_DIR"),
		.kernel = getenv("ARCA_KERNEL"),
	};
}

static char *default_cache_dir(const char *exe_dir, const char *env)
{
	if (env && *env)
		return strdup(env);

	_cleanup_free_ char *build = join(exe_dir, "build");
	if (build && dir_writable(build))
		return join(build, "cache");

	/* XDG base directory spec: relative values are invalid, ignore them. */
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/')
		return join(xdg, "arca");
	const char *home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/')
		return NULL;
	char *r;
	return asprintf(&r, "%s/.cache/arca", home) < 0 ? NULL : r;
}

int paths_resolve(struct arca_paths *p, struct arca_err *e)
{
	struct arca_paths_in in;
	paths_from_env(&in);
	return paths_resolve_in(p, &in, e);
}

int paths_resolve_in(struct arca_paths *p, const struct arca_paths_in *in, struct arca_err *e)
{
	memset(p, 0, sizeof(*p));
	if (in->exe_dir && *in->exe_dir) {
		p->exe_dir = strdup(in->exe_dir);
		if (!p->exe_dir)
			goto nomem;
		goto have_exe;
	}

	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return arca_error_errno(e, errno, "cannot read /proc/self/exe");
	if ((size_t)n >= sizeof(exe) - 1)
		return arca_error(e, ENAMETOOLONG, "path of the arca executable is too long");
	exe[n] = 0;
	p->exe_dir = strdup(dirname(exe));
	if (!p->exe_dir)
		goto nomem;
have_exe:;
	const char *libexec = in->libexec;
	if (!libexec || !*libexec)
		libexec = p->exe_dir;
	p->vmm = join(libexec, "arca-vmm");
	p->init = join(libexec, "arca-init");
	const char *bb = in->busybox;
	p->busybox = strdup(bb && *bb ? bb : "/bin/busybox");
	if (!p->vmm || !p->init || !p->busybox)
		goto nomem;

	p->cache_dir = default_cache_dir(p->exe_dir, in->cache_dir);
	if (!p->cache_dir)
		return arca_error(e, ENOENT,
				  "no cache directory: set ARCA_CACHE_DIR, XDG_CACHE_HOME or HOME");
	return check_cache_dir(p->cache_dir, e);

nomem:
	return arca_error(e, ENOMEM, "out of memory resolving paths");
}
