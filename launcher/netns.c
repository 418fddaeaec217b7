/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces by fd, TAP creation inside one, ip_forward. See
 * netns.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "netns.h"

#define SELF_NETNS "/proc/thread-self/ns/net"
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

int netns_new(int *fd)
{
	_cleanup_close_ int self = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int nfd = -1;
	int err = 0;

	if (self < 0)
		return -errno;
	/* CAP_SYS_ADMIN: a namespace is only made by moving into it; the
	 * thread comes straight back, the fd keeps the namespace alive. */
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	nfd = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		err = -errno;
	if (setns(self, CLONE_NEWNET) < 0)
		return -errno;
	if (err)
		return err;
	*fd = steal_fd(&nfd);
	return 0;
}

int netns_run(int nsfd, int (*fn)(void *arg), void *arg)
{
	if (nsfd < 0)
		return fn(arg);

	_cleanup_close_ int self = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return -errno;
	int r = fn(arg);
	/* Going back to a namespace we were just in can only fail if our
	 * capabilities were dropped by fn; the caller must then stop. */
	if (setns(self, CLONE_NEWNET) < 0)
		return -errno;
	return r;
}

struct tap_ctx {
	const char *name;
	int fd;
};

static int tap_open(void *arg)
{
	struct tap_ctx *t = arg;
	struct ifreq ifr = { 0 };
	int hdr = NETNS_VNET_HDR_SIZE;

	if (strlen(t->name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	/* tun_chr_open takes the opener's netns: the link is made there at
	 * TUNSETIFF, wherever the fd goes afterwards (to the VMM). */
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memcpy(ifr.ifr_name, t->name, strlen(t->name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	t->fd = steal_fd(&fd);
	return 0;
}

int tap_create(int nsfd, const char *name, int *tapfd)
{
	struct tap_ctx t = { name, -1 };
	int r = netns_run(nsfd, tap_open, &t);
	if (r < 0) {
		if (t.fd >= 0)
			close(t.fd);
		return r;
	}
	*tapfd = t.fd;
	return 0;
}

struct sysctl_ctx {
	const char *path;
	const char *value;
	bool only_if_zero; /* write only when it reads "0" */
	bool changed;
};

/* /proc/sys/net/ files answer for the netns of the thread that opens them
 * (net_ctl_header_lookup uses current's), hence opened inside. */
static int sysctl_do(void *arg)
{
	struct sysctl_ctx *s = arg;
	char cur[16] = { 0 };

	if (s->only_if_zero) {
		_cleanup_close_ int rfd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (rfd < 0)
			return -errno;
		ssize_t n = read(rfd, cur, sizeof(cur) - 1);
		if (n < 0)
			return -errno;
		if (cur[0] != '0')
			return 0;
	}
	_cleanup_close_ int fd = open(s->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, s->value, strlen(s->value));
	if (r < 0)
		return r;
	s->changed = true;
	return 0;
}

int netns_sysctl_write(int nsfd, const char *path, const char *value)
{
	struct sysctl_ctx s = { path, value, false, false };
	return netns_run(nsfd, sysctl_do, &s);
}

int netns_ip_forward(int nsfd, bool *changed)
{
	struct sysctl_ctx s = { IP_FORWARD, "1\n", true, false };
	int r = netns_run(nsfd, sysctl_do, &s);
	if (r == 0 && changed)
		*changed = s.changed;
	return r;
}
