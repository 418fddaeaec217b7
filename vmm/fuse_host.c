/* SPDX-License-Identifier: MIT */
/*
 * arca-fuse-host: serve a share directory over /dev/fuse on this host with
 * the same fuse_server the virtio-fs device uses, so the backend is tested
 * against a real kernel FUSE client without a VM. Test harness, not a
 * product: it runs as root and mounts nosuid,nodev.
 *
 *   arca-fuse-host [--ro] [--ids=passthrough] [--host-ids=UID:GID]
 *                  [--guest-ids=UID:GID] [--max-fds=N] [--split=BYTES]
 *                  [--cache=writeback|none] [--daemon] SHARE_DIR MOUNTPOINT
 *
 * --split cuts every request and reply buffer into BYTES-sized iovec
 * segments (as a guest's descriptor chain may), to run the iovec slicing
 * against real traffic. --daemon returns once the mount is in place.
 * Exits 0 when the file system is unmounted (read() gives ENODEV).
 * Like arca-vmm it serves without CAP_FSETID, so the host kernel clears
 * set-id bits on its writes (the server negotiates HANDLE_KILLPRIV_V2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "fuse_server.h"

#define BUF_SIZE (FUSE_MAX_IO + 128u * 1024u)

static void usage(void)
{
	fprintf(stderr, "usage: arca-fuse-host [--ro] [--ids=passthrough] [--host-ids=UID:GID] "
			"[--guest-ids=UID:GID] [--max-fds=N] [--split=BYTES] [--cache=writeback|none] [--daemon] "
			"SHARE_DIR MOUNTPOINT\n");
	exit(2);
}

/* Serve as arca-vmm does, without CAP_FSETID (fuse_node.c, fuse_mode_strip). */
static int drop_fsetid(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective &= ~(1u << CAP_FSETID);
	d[0].permitted &= ~(1u << CAP_FSETID);
	d[0].inheritable &= ~(1u << CAP_FSETID);
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static void parse_ids(const char *v, uint32_t *u, uint32_t *g)
{
	unsigned long a, b;
	char *end;
	a = strtoul(v, &end, 10);
	if (*end != ':')
		usage();
	b = strtoul(end + 1, &end, 10);
	if (*end || a > UINT32_MAX - 1 || b > UINT32_MAX - 1)
		usage();
	*u = (uint32_t)a;
	*g = (uint32_t)b;
}

/* Cut buf[0..len) into seg-sized iovecs; seg 0 means one segment. */
static int split(void *buf, size_t len, size_t seg, struct iovec *iov, int max)
{
	int n = 0;
	if (!seg)
		seg = len;
	for (size_t off = 0; off < len && n < max; off += seg, n++) {
		iov[n].iov_base = (char *)buf + off;
		iov[n].iov_len = len - off < seg ? len - off : seg;
	}
	return n;
}

static int serve(struct fuse_server *s, int fuse_fd, size_t seg)
{
	_cleanup_free_ char *in = malloc(BUF_SIZE);
	_cleanup_free_ char *out = malloc(BUF_SIZE);
	_cleanup_free_ struct iovec *iv = calloc(2 * FUSE_MAX_IOV, sizeof(*iv));
	if (!in || !out || !iv)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fuse_fd, in, BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue; /* ENOENT: the request was interrupted */
			return errno == ENODEV ? 0 : -errno;
		}
		int nin = split(in, (size_t)n, seg, iv, FUSE_MAX_IOV);
		int nout = split(out, BUF_SIZE, seg, iv + FUSE_MAX_IOV, FUSE_MAX_IOV);
		ssize_t r = fuse_server_handle(s, iv, nin, iv + FUSE_MAX_IOV, nout);
		if (r < 0) {
			fprintf(stderr, "arca-fuse-host: request dropped: %s\n", strerror((int)-r));
			continue;
		}
		if (r == 0)
			continue;
		if (write(fuse_fd, out, (size_t)r) < 0 && errno != ENOENT)
			fprintf(stderr, "arca-fuse-host: reply: %s\n", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct fuse_server_config c = {
		.host_uid = getuid(), .host_gid = getgid(),
		.max_fds = FUSE_SERVER_DEFAULT_MAX_FDS,
	};
	bool daemon = false;
	size_t seg = 0;
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--ro"))
			c.read_only = true;
		else if (!strcmp(a, "--ids=passthrough"))
			c.ids_passthrough = true;
		else if (!strncmp(a, "--host-ids=", 11))
			parse_ids(a + 11, &c.host_uid, &c.host_gid);
		else if (!strncmp(a, "--guest-ids=", 12))
			parse_ids(a + 12, &c.guest_uid, &c.guest_gid);
		else if (!strncmp(a, "--max-fds=", 10))
			c.max_fds = (unsigned)strtoul(a + 10, NULL, 10);
		else if (!strncmp(a, "--split=", 8))
			seg = strtoul(a + 8, NULL, 10);
		else if (!strcmp(a, "--cache=writeback"))
			c.writeback = true;
		else if (!strcmp(a, "--cache=none"))
			c.direct_io = true;
		else if (!strcmp(a, "--daemon"))
			daemon = true;
		else
			usage();
	}
	if (argc - i != 2)
		usage();
	/* Each segment count must stay within FUSE_MAX_IOV. */
	if (seg && BUF_SIZE / seg + 1 > FUSE_MAX_IOV) {
		fprintf(stderr, "arca-fuse-host: --split must be at least %u\n", BUF_SIZE / FUSE_MAX_IOV + 1);
		return 2;
	}
	const char *share = argv[i], *mnt = argv[i + 1];
	int ret;

	c.root_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.root_fd < 0) {
		fprintf(stderr, "arca-fuse-host: %s: %s\n", share, strerror(errno));
		return 1;
	}
	int fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0) {
		fprintf(stderr, "arca-fuse-host: /dev/fuse: %s\n", strerror(errno));
		return 1;
	}
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other",
		 fuse_fd);
	if (mount("arca", mnt, "fuse.arca", MS_NOSUID | MS_NODEV, opts) < 0) {
		fprintf(stderr, "arca-fuse-host: mount %s: %s\n", mnt, strerror(errno));
		return 1;
	}
	if (daemon) {
		/* The kernel sends INIT only once something touches the mount;
		 * the mount itself is in place, so the parent can return. */
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0)
			return 0;
		setsid();
	}
	/* Opened by the serving process itself: a /proc/self/fd opened
	 * before fork() names the parent's fd table. */
	c.proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if ((ret = drop_fsetid()) < 0) {
		fprintf(stderr, "arca-fuse-host: dropping CAP_FSETID: %s\n", strerror(-ret));
		return 1;
	}
	struct fuse_server *s = malloc(sizeof(*s));
	if (!s)
		return 1;
	ret = fuse_server_init(s, &c);
	if (ret < 0) {
		fprintf(stderr, "arca-fuse-host: init: %s\n", strerror(-ret));
		return 1;
	}
	ret = serve(s, fuse_fd, seg);
	fuse_server_destroy(s);
	free(s);
	close(c.proc_self_fd);
	if (ret < 0) {
		fprintf(stderr, "arca-fuse-host: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
