/* SPDX-License-Identifier: MIT */
/*
 * Guest bring-up for arca-init: filesystems, kernel modules and the
 * virtio-console ports. Static musl: no kernel uapi headers, raw syscall
 * numbers from <sys/syscall.h>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "init.h"

/* ---- filesystems ---------------------------------------------------------- */

struct mnt {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
	int required; /* the rest of boot cannot work without it */
};

static const struct mnt mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 1 },
	/* /sys is how we find the ports by name. */
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 1 },
	/* devtmpfs: the kernel creates /dev/vportNpM itself, no udev needed. */
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 1 },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "mode=0620,ptmxmode=0666", 0 },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0 },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0 },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0 },
};

/* devtmpfs does not provide these; programs and shells expect them. */
static const struct {
	const char *target, *path;
} dev_links[] = {
	{ "/proc/self/fd", "/dev/fd" },
	{ "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" },
	{ "/proc/self/fd/2", "/dev/stderr" },
};

int sysinit_mounts(struct arca_err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		const struct mnt *m = &mounts[i];
		int err = 0;

		if (mkdir(m->dst, 0755) < 0 && errno != EEXIST)
			err = errno;
		else if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0 &&
			 errno != EBUSY) /* EBUSY: already mounted, fine */
			err = errno;
		if (err && m->required)
			return arca_error_errno(e, err, "mounting %s on %s", m->type, m->dst);
		if (err)
			init_log("mounting %s on %s failed: %s", m->type, m->dst,
				 strerror(err));
	}
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlink(dev_links[i].target, dev_links[i].path) < 0 && errno != EEXIST)
			init_log("symlink %s: %s", dev_links[i].path, strerror(errno));
	init_log("filesystems mounted");
	return 0;
}

void sysinit_std_fds(void)
{
	for (;;) {
		int fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			return;
		if (fd > 2) {
			close(fd);
			return;
		}
	}
}

/* ---- kernel modules --------------------------------------------------------- */

int init_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size < 0 || (unsigned long long)st.st_size > max)
		return -E2BIG;

	size_t size = (size_t)st.st_size, have = 0;
	_cleanup_free_ char *buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	while (have < size) {
		ssize_t n = read(fd, buf + have, size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		have += (size_t)n;
	}
	buf[have] = '\0';
	*out = steal_pointer(&buf);
	*out_len = have;
	return 0;
}

static int load_module(const char *name, struct arca_err *e)
{
	char path[PATH_MAX];
	int n = name[0] == '/' ? snprintf(path, sizeof(path), "%s", name)
			       : snprintf(path, sizeof(path), "/lib/modules/%s", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error(e, ENAMETOOLONG, "module name too long: %.64s", name);

	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "module %s", path);
	/* finit_module (not init_module): the kernel reads the file itself,
	 * no copy through our memory. No parameters, no flags. */
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		return arca_error_errno(e, errno, "loading module %s", path);
	init_log("loaded %s", name);
	return 0;
}

int sysinit_modules(struct arca_err *e)
{
	_cleanup_free_ char *list = NULL;
	size_t len;
	int r = init_read_file(ARCA_MODULES_PATH, 1u << 20, &list, &len);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return arca_error_errno(e, -r, "reading %s", ARCA_MODULES_PATH);

	for (char *line = list, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* Trim surrounding blanks and a stray CR; skip blanks/comments. */
		while (*line == ' ' || *line == '\t')
			line++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		r = load_module(line, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- virtio-console ports ------------------------------------------------- */

#define PORTS_DIR "/sys/class/virtio-ports"

static const char *const port_names[ARCA_NR_PORTS] = {
	[ARCA_PORT_STDIN] = ARCA_PORT_NAME_STDIN,
	[ARCA_PORT_STDOUT] = ARCA_PORT_NAME_STDOUT,
	[ARCA_PORT_STDERR] = ARCA_PORT_NAME_STDERR,
	[ARCA_PORT_CONTROL] = ARCA_PORT_NAME_CONTROL,
};

long long init_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Index of the port whose sysfs name is in dir/entry/name, or -1. The name
 * is empty until the host's PORT_NAME control message has arrived. */
static int port_index(int dfd, const char *entry)
{
	char path[NAME_MAX + 8], name[64];

	if ((size_t)snprintf(path, sizeof(path), "%s/name", entry) >= sizeof(path))
		return -1;
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, name, sizeof(name) - 1);
	if (n <= 0)
		return -1;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	for (int i = 0; i < (int)ARCA_NR_PORTS; i++)
		if (!strcmp(name, port_names[i]))
			return i;
	return -1;
}

/* One pass over PORTS_DIR; fills dev[i] for newly named ports. Returns the
 * number of ports known so far. */
static int scan_ports(char dev[ARCA_NR_PORTS][NAME_MAX + 8])
{
	int known = 0;

	for (unsigned i = 0; i < ARCA_NR_PORTS; i++)
		known += dev[i][0] != '\0';
	DIR *d = opendir(PORTS_DIR); /* absent until virtio_console loads */
	if (!d)
		return known;
	struct dirent *de;
	while (known < (int)ARCA_NR_PORTS && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int i = port_index(dirfd(d), de->d_name);
		/* First port with a name wins; a second one of the same
		 * name (a VMM bug) is ignored rather than trusted. */
		if (i < 0 || dev[i][0])
			continue;
		snprintf(dev[i], NAME_MAX + 8, "/dev/%s", de->d_name);
		known++;
	}
	closedir(d);
	return known;
}

static void sleep_2ms(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

int sysinit_open_ports(int fds[ARCA_NR_PORTS], struct arca_err *e)
{
	char dev[ARCA_NR_PORTS][NAME_MAX + 8];
	long long deadline = init_now_ms() + PORT_WAIT_MS;
	unsigned polls = 0;

	memset(dev, 0, sizeof(dev));
	for (unsigned i = 0; i < ARCA_NR_PORTS; i++)
		fds[i] = -1;

	/* Port names arrive asynchronously (virtio-console control queue)
	 * after the driver probed; there is no event to wait on in sysfs,
	 * so poll. Opening can also briefly race the devtmpfs node. */
	for (;;) {
		int known = scan_ports(dev), opened = 0;

		for (unsigned i = 0; i < ARCA_NR_PORTS; i++) {
			if (fds[i] < 0 && dev[i][0]) {
				/* The control port carries frames both ways: EXIT and
				 * LOG out, SIGNAL in (init.c). */
				int mode = i == ARCA_PORT_STDIN     ? O_RDONLY :
					   i == ARCA_PORT_CONTROL ? O_RDWR : O_WRONLY;
				fds[i] = open(dev[i], mode | O_CLOEXEC | O_NOCTTY);
				if (fds[i] < 0 && errno != ENOENT) {
					int err = errno;
					return arca_error_errno(e, err, "opening %s (%s)",
								dev[i], port_names[i]);
				}
			}
			opened += fds[i] >= 0;
		}
		if (opened == (int)ARCA_NR_PORTS)
			break;
		if (init_now_ms() >= deadline) {
			char missing[128] = "";
			for (unsigned i = 0; i < ARCA_NR_PORTS; i++)
				if (fds[i] < 0) {
					size_t l = strlen(missing);
					snprintf(missing + l, sizeof(missing) - l, " %s",
						 port_names[i]);
				}
			return arca_error(e, ETIMEDOUT,
					  "virtio-console ports missing after %d ms:%s (%d named)",
					  PORT_WAIT_MS, missing, known);
		}
		sleep_2ms();
		polls++;
	}
	init_log("ports open after %u polls: %s %s %s %s", polls, dev[0], dev[1], dev[2],
		 dev[3]);
	return 0;
}
