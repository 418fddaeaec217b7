/* SPDX-License-Identifier: MIT */
/*
 * The guest's network (ARCA_SPEC_NET): the virtio-net interface, lo, the
 * default route, and the command's /etc/resolv.conf.
 *
 * IPv4 is configured with the classic socket ioctls (SIOCSIFMTU,
 * SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS, SIOCADDRT), which musl
 * declares in <sys/ioctl.h>, <net/if.h> and <net/route.h>: enough for one
 * address and one route. IPv6 (ARCA_SPEC_NET6, net6.c) goes over
 * rtnetlink, where an address can be added without DAD (IFA_F_NODAD)
 * whatever the sysctls say.
 *
 * The interface is found by its MAC, never by name: the name depends on
 * probe order and on whatever else the kernel created.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "init.h"
#include "io.h"
#include "net.h"
#include "net6.h"

_Static_assert(NET_IFNAME_MAX == IFNAMSIZ, "NET_IFNAME_MAX is IFNAMSIZ");

/* <linux/openat2.h>, which musl does not ship: struct open_how and the
 * RESOLVE_* bits (Linux 5.6; 437 on every architecture but alpha). */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
struct net_open_how {
	uint64_t flags, mode, resolve;
};
#define NET_RESOLVE_NO_MAGICLINKS 0x02
#define NET_RESOLVE_IN_ROOT       0x10

#define RESOLV_TMP ".resolv.conf.arca"

/* ---- pure helpers ---------------------------------------------------------- */

void initnet_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

int initnet_mac_match(const char *text, const uint8_t mac[6])
{
	char want[18];

	initnet_mac_format(mac, want);
	return text && !strncasecmp(text, want, 17) && (text[17] == '\0' || text[17] == '\n');
}

void initnet_netmask(unsigned prefix, uint8_t out[4])
{
	/* A shift by 32 is undefined: prefix 0 is spelled out. */
	uint32_t m = prefix == 0 ? 0 : prefix >= 32 ? ~0u : ~0u << (32 - prefix);
	out[0] = (uint8_t)(m >> 24);
	out[1] = (uint8_t)(m >> 16);
	out[2] = (uint8_t)(m >> 8);
	out[3] = (uint8_t)m;
}

void initnet_ip_format(const uint8_t a[4], char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static int dns_none(const uint8_t dns[4])
{
	return !(dns[0] | dns[1] | dns[2] | dns[3]);
}

int initnet_resolv_text(const uint8_t dns[4], char *buf, size_t len)
{
	char ip[16];

	initnet_ip_format(dns, ip);
	int n = snprintf(buf, len, "# arca run --net: written by arca-init\nnameserver %s\n", ip);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int initnet_summary(const struct arca_spec_net *n, const char *ifname, char *buf, size_t len)
{
	char a[16], gw[16], dns[16];

	initnet_ip_format(n->addr, a);
	initnet_ip_format(n->gateway, gw);
	if (dns_none(n->dns))
		snprintf(dns, sizeof(dns), "none");
	else
		initnet_ip_format(n->dns, dns);
	int r = snprintf(buf, len, "%s %s/%u via %s mtu %u dns %s", ifname, a, n->prefix, gw,
			 n->mtu, dns);
	return r < 0 || (size_t)r >= len ? -ENOSPC : r;
}

/* ---- below a directory fd (unit-tested on temp dirs) ------------------------ */

/* A sysfs attribute: one read (sysfs hands out the whole value at once),
 * NUL-terminated. */
static int read_attr(int dfd, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int initnet_find_if(int sysnet, const uint8_t mac[6], char name[NET_IFNAME_MAX])
{
	int found = 0;

	int dfd = dup(sysnet);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int err = errno;
		close(dfd);
		return -err;
	}
	/* The fd is reused for every scan: start over each time. */
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[NET_IFNAME_MAX + 16], addr[64];
		if (de->d_name[0] == '.' || strlen(de->d_name) >= NET_IFNAME_MAX)
			continue;
		/* %.15s: the length was checked above; it tells the compiler. */
		snprintf(path, sizeof(path), "%.15s/address", de->d_name);
		if (read_attr(dirfd(d), path, addr, sizeof(addr)) < 0 ||
		    !initnet_mac_match(addr, mac))
			continue;
		if (found++ == 0)
			snprintf(name, NET_IFNAME_MAX, "%.15s", de->d_name);
	}
	closedir(d);
	return found;
}

/* etc below rootfd as an O_PATH fd, created when missing, never through a
 * symlink. */
static int open_etc(int rootfd, int *out)
{
	int fd = openat(rootfd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(rootfd, "etc", 0755) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(rootfd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		int err = errno;
		struct stat st;
		/* O_PATH | O_NOFOLLOW opens a symlink itself, which O_DIRECTORY
		 * then refuses as ENOTDIR: say what it is. */
		if (err == ENOTDIR && fstatat(rootfd, "etc", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return -ELOOP;
		return -err;
	}
	*out = fd;
	return 0;
}

int initnet_resolv_write(int rootfd, const char *text)
{
	_cleanup_close_ int etc = -1;
	struct stat root_st, etc_st;

	int r = open_etc(rootfd, &etc);
	if (r < 0)
		return r;
	/* A share or a disk mounted on /etc is someone's own directory:
	 * never written (the caller bind-mounts over its file instead). */
	if (fstat(rootfd, &root_st) < 0 || fstat(etc, &etc_st) < 0)
		return -errno;
	if (root_st.st_dev != etc_st.st_dev)
		return -EXDEV;

	/* A new file renamed over the old name: a symlink there (systemd's
	 * ../run/systemd/resolve/stub-resolv.conf) is replaced, not followed
	 * to wherever it points. */
	(void)unlinkat(etc, RESOLV_TMP, 0);
	_cleanup_close_ int fd = openat(etc, RESOLV_TMP,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, strlen(text));
	/* Readable by every user whatever init's umask. */
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0 && renameat(etc, RESOLV_TMP, etc, "resolv.conf") < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(etc, RESOLV_TMP, 0);
	return r;
}

int initnet_resolv_target(int rootfd, int *out)
{
	/* The root's own symlinks lead where they would for the command,
	 * which sees rootfd as "/": never out of it (an absolute link, "..")
	 * and never through /proc's magic links. */
	struct net_open_how how = { .flags = O_PATH | O_CLOEXEC,
				    .resolve = NET_RESOLVE_IN_ROOT | NET_RESOLVE_NO_MAGICLINKS };
	struct stat st;

	*out = -1;
	long fd = syscall(SYS_openat2, rootfd, "etc/resolv.conf", &how, sizeof(how));
	if (fd < 0)
		return -errno;
	int r = fstat((int)fd, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (r < 0) {
		close((int)fd);
		return r;
	}
	*out = (int)fd;
	return 0;
}

/* ---- the interface ------------------------------------------------------- */

int initnet_say(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "net: ");

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		n += vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, ": %s", strerror(errnum));
	return -(errnum ? errnum : EINVAL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void ifreq_for(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

/* A struct sockaddr holding an AF_INET address (through memcpy: struct
 * sockaddr_in has a stricter alignment than the struct sockaddr fields of
 * struct ifreq and struct rtentry). */
static void sockaddr_ip4(struct sockaddr *sa, const uint8_t a[4])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	_Static_assert(sizeof(sin) <= sizeof(*sa), "sockaddr_in fits a sockaddr");
	memcpy(&sin.sin_addr, a, 4);
	memcpy(sa, &sin, sizeof(sin));
}

static int if_up(int sk, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;

	ifreq_for(&ifr, name);
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return initnet_say(err, errlen, errno, "%s: SIOCGIFFLAGS", name);
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
		return initnet_say(err, errlen, errno, "%s: bringing it up (SIOCSIFFLAGS)", name);
	return 0;
}

/* Waits up to NET_WAIT_MS for the interface with n->mac. */
static int wait_if(const struct arca_spec_net *n, char name[NET_IFNAME_MAX], char *err,
		   size_t errlen)
{
	char mac[18];
	long long t0 = init_now_ms();
	int found;

	initnet_mac_format(n->mac, mac);
	_cleanup_close_ int sysnet = open("/sys/class/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sysnet < 0)
		return initnet_say(err, errlen, errno, "/sys/class/net");
	while ((found = initnet_find_if(sysnet, n->mac, name)) == 0 &&
	       init_now_ms() - t0 < NET_WAIT_MS)
		sleep_ms(5);
	if (found < 0)
		return initnet_say(err, errlen, -found, "reading /sys/class/net");
	if (found == 0)
		return initnet_say(err, errlen, ENODEV,
				   "no interface with MAC %s after %d ms "
				   "(is virtio_net among the modules?)",
				   mac, NET_WAIT_MS);
	/* A failover master (VIRTIO_NET_F_STANDBY) shares its slave's MAC:
	 * which one to configure is not something to guess. */
	if (found > 1)
		return initnet_say(err, errlen, EEXIST, "%d interfaces with MAC %s (%s among them)",
				   found, mac, name);
	if (init_now_ms() - t0 > 0)
		init_log("net: %s (MAC %s) found after %lld ms", name, mac, init_now_ms() - t0);
	return 0;
}

int initnet_configure(const struct arca_spec_net *n, const struct arca_spec_net6 *n6,
		      char *err, size_t errlen)
{
	char name[NET_IFNAME_MAX] = "", line[128];
	struct ifreq ifr;
	uint8_t mask[4];

	int r = wait_if(n, name, err, errlen);
	if (r < 0)
		return r;
	/* Said before anything changes: the kernel would refuse the address
	 * with a bare EINVAL (no IPv6 on a link below 1280 bytes). */
	if (n6 && n->mtu < NET6_MTU_MIN)
		return initnet_say(err, errlen, 0, "%s: IPv6 needs an MTU of %u at least, not %u",
				   name, NET6_MTU_MIN, n->mtu);
	_cleanup_close_ int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return initnet_say(err, errlen, errno, "socket(AF_INET)");
	/* The kernel gives lo 127.0.0.1/8 itself when it comes up. */
	if ((r = if_up(sk, "lo", err, errlen)) < 0)
		return r;

	ifreq_for(&ifr, name);
	ifr.ifr_mtu = n->mtu;
	if (ioctl(sk, SIOCSIFMTU, &ifr) < 0)
		return initnet_say(err, errlen, errno, "%s: MTU %u (SIOCSIFMTU)", name, n->mtu);
	/* Address, then netmask (SIOCSIFADDR alone gives the classful one),
	 * then up: the prefix's connected route appears with the right
	 * mask, and the default route's gateway is on it. */
	ifreq_for(&ifr, name);
	sockaddr_ip4(&ifr.ifr_addr, n->addr);
	if (ioctl(sk, SIOCSIFADDR, &ifr) < 0)
		return initnet_say(err, errlen, errno, "%s: address (SIOCSIFADDR)", name);
	ifreq_for(&ifr, name);
	initnet_netmask(n->prefix, mask);
	sockaddr_ip4(&ifr.ifr_netmask, mask);
	if (ioctl(sk, SIOCSIFNETMASK, &ifr) < 0)
		return initnet_say(err, errlen, errno, "%s: netmask /%u (SIOCSIFNETMASK)", name,
				   n->prefix);
	/* Before it comes up: the kernel starts DAD for its link-local
	 * address and solicits routers the moment it does. /proc is
	 * init's own mount (sysinit_mounts), made before this. */
	if (n6) {
		_cleanup_close_ int procsys = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (procsys < 0)
			init_log("net: /proc/sys: %s: IPv6 sysctls left as they are",
				 strerror(errno));
		else
			(void)initnet6_sysctls(procsys, name);
	}
	if ((r = if_up(sk, name, err, errlen)) < 0)
		return r;

	static const uint8_t any[4];
	struct rtentry rt;
	memset(&rt, 0, sizeof(rt));
	sockaddr_ip4(&rt.rt_dst, any);
	sockaddr_ip4(&rt.rt_genmask, any);
	sockaddr_ip4(&rt.rt_gateway, n->gateway);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = name;
	if (ioctl(sk, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return initnet_say(err, errlen, errno, "%s: default route (SIOCADDRT)", name);

	if (initnet_summary(n, name, line, sizeof(line)) > 0)
		init_log("net: %s", line);

	if (!n6)
		return 0;
	if ((r = initnet6_apply(n6, name, err, errlen)) < 0)
		return r;
	if (initnet6_summary(n6, line, sizeof(line)) > 0)
		init_log("net: %s %s", name, line);
	return 0;
}

/* ---- resolv.conf ------------------------------------------------------------ */

/* The user's own root (or a share or disk on /etc): the file is never
 * written; a tmpfs file is mounted over it for this boot. */
static int resolv_bind(int rootfd, const char *shown, const char *text, char *err,
		       size_t errlen)
{
	_cleanup_close_ int target = -1;
	char proc[32];

	int r = initnet_resolv_target(rootfd, &target);
	if (r < 0) {
		init_log("net: %s/etc/resolv.conf: %s: left as it is (not arca's to write); "
			 "the command is not told the DNS server",
			 shown, r == -EINVAL ? "not a regular file" : strerror(-r));
		return 0;
	}
	if (mkdir(NET_RESOLV_STAGE_DIR, 0755) < 0 && errno != EEXIST)
		return initnet_say(err, errlen, errno, "mkdir %s", NET_RESOLV_STAGE_DIR);
	_cleanup_close_ int fd = open(NET_RESOLV_STAGE,
				      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return initnet_say(err, errlen, errno, "%s", NET_RESOLV_STAGE);
	if ((r = write_all(fd, text, strlen(text))) < 0)
		return initnet_say(err, errlen, -r, "writing %s", NET_RESOLV_STAGE);
	/* The fd's magic link: exactly the file resolved above, whatever
	 * the path names by now. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", target);
	if (mount(NET_RESOLV_STAGE, proc, NULL, MS_BIND, NULL) < 0)
		return initnet_say(err, errlen, errno, "bind-mounting %s over %s/etc/resolv.conf",
				   NET_RESOLV_STAGE, shown);
	init_log("net: %s/etc/resolv.conf: %s mounted over it", shown, NET_RESOLV_STAGE);
	return 0;
}

int initnet_resolv(const struct arca_spec_net *n, uint32_t root_mode, const char *root,
		   char *err, size_t errlen)
{
	char text[128];

	if (dns_none(n->dns))
		return 0;
	/* "/" shows as "" in front of "/etc/resolv.conf". */
	const char *shown = strcmp(root, "/") ? root : "";
	if (initnet_resolv_text(n->dns, text, sizeof(text)) < 0)
		return initnet_say(err, errlen, ENOSPC, "resolv.conf");
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return initnet_say(err, errlen, errno, "opening the root %s", root);

	if (root_mode == ARCA_ROOT_DIR_RW || root_mode == ARCA_ROOT_DISK_RW)
		return resolv_bind(rootfd, shown, text, err, errlen);
	/* The initramfs, the launcher's skeleton or an overlay's tmpfs upper
	 * layer: ours to write. */
	int r = initnet_resolv_write(rootfd, text);
	if (r == -EXDEV)
		return resolv_bind(rootfd, shown, text, err, errlen);
	if (r < 0)
		return initnet_say(err, errlen, -r, "writing %s/etc/resolv.conf%s", shown,
				   r == -ELOOP ? " (/etc is a symlink)" : "");
	init_log("net: %s/etc/resolv.conf written", shown);
	return 0;
}
