/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"

static int write_at(int dirfd, const char *file, const char *val)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(val);
	if (fd < 0)
		return -errno;
	if (write(fd, val, n) != (ssize_t)n)
		return -errno;
	return 0;
}

/* Is controller `c` listed in dirfd's cgroup.controllers? */
static bool has_controller(int dirfd, const char *c)
{
	char buf[512], *save = NULL;
	_cleanup_close_ int fd = openat(dirfd, "cgroup.controllers", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, c))
			return true;
	return false;
}

static const char *const controllers[] = { "memory", "pids", "cpu" };

/* Let the children of dirfd use our controllers (best effort: a host whose
 * cgroup root lacks one simply runs without that limit). */
static void enable_controllers(int dirfd)
{
	char buf[16];
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		if (!has_controller(dirfd, controllers[i]))
			continue;
		snprintf(buf, sizeof(buf), "+%s", controllers[i]);
		(void)write_at(dirfd, "cgroup.subtree_control", buf);
	}
}

static bool skippable(int err)
{
	/* Not ours to create: no cgroup2, read-only sysfs, not delegated. */
	return err == EACCES || err == EPERM || err == EROFS || err == ENOENT;
}

int cgroup_create(const struct privsep_limits *l, struct arca_cgroup *cg, struct arca_err *e)
{
	struct statfs sf;
	char name[32], val[32];

	cg->dirfd = -1;
	cg->path[0] = '\0';
	if (statfs(CGROUP_ROOT, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
		return 0; /* cgroup v1 or none: skipped */
	_cleanup_close_ int root = open(CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return 0;
	if (mkdirat(root, "arca", 0755) < 0 && errno != EEXIST)
		return skippable(errno) ? 0
					: arca_error_errno(e, errno, "cannot create %s", CGROUP_BASE);
	_cleanup_close_ int base = openat(root, "arca", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base < 0)
		return 0;
	/* The root and arca/ must pass the controllers down; arca/ itself holds
	 * no process, as cgroup v2's no-internal-process rule requires. Only
	 * root may change the top level; a delegated arca/ is already set. */
	if (geteuid() == 0) {
		enable_controllers(root);
		enable_controllers(base);
	}
	privsep_cgroup_name(getpid(), name, sizeof(name));
	if (mkdirat(base, name, 0755) < 0) {
		if (skippable(errno))
			return 0;
		if (errno != EEXIST) /* EEXIST: a dead run had our pid; reuse */
			return arca_error_errno(e, errno, "cannot create %s/%s", CGROUP_BASE, name);
	}
	snprintf(cg->path, sizeof(cg->path), "%s/%s", CGROUP_BASE, name);
	int dirfd = openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int err = errno;
		unlinkat(base, name, AT_REMOVEDIR);
		return arca_error_errno(e, err, "cannot open %s", cg->path);
	}
	cg->dirfd = dirfd;

	/* A controller the parent does not pass down is not limited here; one
	 * that is offered must take its limit, or the run would silently be
	 * less contained than asked. */
	struct { const char *ctl, *file; uint64_t v; } lim[] = {
		{ "memory", "memory.max", l->memory_max },
		{ "pids", "pids.max", l->pids_max },
		{ "cpu", "cpu.weight", l->cpu_weight },
	};
	for (size_t i = 0; i < ARRAY_SIZE(lim); i++) {
		if (!has_controller(dirfd, lim[i].ctl))
			continue;
		snprintf(val, sizeof(val), "%llu", (unsigned long long)lim[i].v);
		int r = write_at(dirfd, lim[i].file, val);
		if (r < 0) {
			arca_error_errno(e, -r, "cannot set %s/%s", cg->path, lim[i].file);
			cgroup_destroy(cg);
			return r;
		}
	}
	/* Guest RAM must not escape memory.max through swap. */
	if (has_controller(dirfd, "memory"))
		(void)write_at(dirfd, "memory.swap.max", "0");
	return 0;
}

/* rmdir, retrying briefly: the last task leaves the cgroup asynchronously
 * after it is reaped. */
static int rmdir_retry(int base, const char *name)
{
	for (int i = 0; i < 50; i++) {
		if (unlinkat(base, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return -EBUSY;
}

void cgroup_destroy(struct arca_cgroup *cg)
{
	if (cg->dirfd < 0)
		return;
	close(cg->dirfd);
	cg->dirfd = -1;
	_cleanup_close_ int base = open(CGROUP_BASE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *name = strrchr(cg->path, '/');
	if (base >= 0 && name)
		(void)rmdir_retry(base, name + 1);
}

int cgroup_gc(void)
{
	_cleanup_close_ int base = open(CGROUP_BASE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base < 0)
		return 0;
	DIR *d = fdopendir(dup(base));
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t owner;
		if (privsep_cgroup_parse(de->d_name, &owner) < 0 || owner == getpid())
			continue;
		/* EPERM means alive (someone else's); only ESRCH means gone. A
		 * reused pid keeps a stale directory until that process ends:
		 * harmless, an empty cgroup costs nothing. */
		if (kill(owner, 0) == 0 || errno != ESRCH)
			continue;
		/* The VMM dies with its arca (PDEATHSIG); cgroup.kill (5.14+)
		 * covers a straggler. */
		_cleanup_close_ int cg = openat(base, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg >= 0)
			(void)write_at(cg, "cgroup.kill", "1");
		if (rmdir_retry(base, de->d_name) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
