/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "hostfs.h"
#include "quote.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163 /* <linux/magic.h>, Linux 4.1+ */
#endif
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570 /* fs/configfs/mount.c */
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

const char *hostfs_pseudo_name(int64_t t)
{
	switch (t) {
	case PROC_SUPER_MAGIC: return "procfs";
	case SYSFS_MAGIC: return "sysfs";
	case DEBUGFS_MAGIC: return "debugfs";
	case TRACEFS_MAGIC: return "tracefs";
	case SECURITYFS_MAGIC: return "securityfs";
	case CGROUP_SUPER_MAGIC: return "cgroupfs";
	case CGROUP2_SUPER_MAGIC: return "cgroup2fs";
	case BPF_FS_MAGIC: return "bpffs";
	case DEVPTS_SUPER_MAGIC: return "devpts";
	case EFIVARFS_MAGIC: return "efivarfs";
	case PSTOREFS_MAGIC: return "pstore";
	case CONFIGFS_MAGIC: return "configfs";
	default: return NULL;
	}
}

bool hostfs_pseudo_type(const char *t)
{
	/* hostfs_pseudo_name()'s set, plus what only a name tells apart:
	 * devtmpfs (tmpfs's magic), and binfmt_misc, fusectl, nsfs, rpc_pipefs
	 * and mqueue, which expose host kernel state or objects. */
	static const char *const names[] = {
		"proc", "sysfs", "debugfs", "tracefs", "securityfs", "cgroup", "cgroup2",
		"bpf", "devpts", "efivarfs", "pstore", "configfs", "devtmpfs", "binfmt_misc",
		"fusectl", "nsfs", "rpc_pipefs", "mqueue",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(t, names[i]))
			return true;
	return false;
}

int hostfs_check(int fd, const char *what, const char *path, struct arca_err *e)
{
	struct quoted q;
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return arca_error_errno(e, errno, "%s '%s'", what, quote(&q, path));
	const char *name = hostfs_pseudo_name((int64_t)sf.f_type);
	if (name)
		return arca_error(e, EPERM,
				  "refusing %s '%s': it is on %s, a kernel pseudo-file system that "
				  "would hand the guest the host", what, quote(&q, path), name);
	/* devtmpfs reports tmpfs's magic: compare with the host's /dev itself. */
	struct stat st, dev;
	int dfd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		int same = fstat(fd, &st) == 0 && fstat(dfd, &dev) == 0 && st.st_dev == dev.st_dev;
		close(dfd);
		if (same)
			return arca_error(e, EPERM,
					  "refusing %s '%s': it is on the host's /dev (devtmpfs), which "
					  "would hand the guest the host's devices", what, quote(&q, path));
	}
	return 0;
}
