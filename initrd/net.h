/* SPDX-License-Identifier: MIT */
/*
 * arca-init's side of `arca run --net` (ARCA_SPEC_NET, include/arca/abi.h):
 * the virtio-net interface configured from the NET record before the
 * command's root is assembled, and the command's /etc/resolv.conf once it
 * is. Built with musl in arca-init, with the host's libc in the unit test
 * (tests/unit/test_initnet.c), which reaches the pure helpers below.
 *
 * Errors: negative errno, with one line in err (for arca-init's ERROR
 * frame: a did-not-start error, 125).
 */
#ifndef ARCA_INITNET_H
#define ARCA_INITNET_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* How long to wait for the interface after the modules were loaded: the
 * virtio_net probe usually ends inside the module's init, but the driver
 * core may finish it asynchronously. */
#define NET_WAIT_MS 2000

/* Where the resolv.conf bind-mounted over a user's own root's lives: init's
 * /run (a tmpfs the command's root does not show). */
#define NET_RESOLV_STAGE_DIR "/run/arca"
#define NET_RESOLV_STAGE     NET_RESOLV_STAGE_DIR "/resolv.conf"

/*
 * Finds the interface whose MAC is n->mac, brings lo up (unless it is),
 * sets the interface's MTU, address and netmask, brings it up and adds the
 * default route via n->gateway. Waits up to NET_WAIT_MS for the interface.
 * Two interfaces with the MAC is an error (no guessing). Logs one line
 * ("net: eth0 10.213.0.2/30 via 10.213.0.1 mtu 1500 dns 10.213.0.1").
 *
 * With n6 (the NET6 record; NULL without one), the same interface gets
 * IPv6 too (net6.h): its DAD, router advertisement and autoconfiguration
 * sysctls set to 0 before it comes up, then n6's address without DAD and
 * the default route via n6->gateway; n->mtu below NET6_MTU_MIN is an error
 * before anything is touched. Logs a second line ("net: eth0
 * fd00:a::2/64 via fe80::1").
 */
int initnet_configure(const struct arca_spec_net *n, const struct arca_spec_net6 *n6,
		      char *err, size_t errlen);

/*
 * With a DNS server in n: makes the command's /etc/resolv.conf name it.
 * root is the command's root directory ("/" for ARCA_ROOT_INITRD), already
 * assembled; root_mode says whose files those are:
 *   - INITRD, HOST, DIR, DISK (the initramfs, the launcher's skeleton, an
 *     overlay whose upper layer is a tmpfs): <root>/etc/resolv.conf is
 *     replaced (a new file renamed over it: a symlink there is replaced,
 *     never followed), /etc created when missing;
 *   - DIR_RW, DISK_RW (the user's own root, written through): never
 *     written. NET_RESOLV_STAGE is bind-mounted over the file that
 *     etc/resolv.conf resolves to inside the root (symlinks followed with
 *     the root as /), when that is a regular file; otherwise nothing is
 *     done and a line is logged.
 * Without a DNS server (0.0.0.0) nothing is touched.
 */
int initnet_resolv(const struct arca_spec_net *n, uint32_t root_mode, const char *root,
		   char *err, size_t errlen);

/* "net: " and the formatted text into err, then ": strerror(errnum)"
 * unless errnum is 0; returns -errnum (-EINVAL for 0). For net.c and
 * net6.c. */
int initnet_say(char *err, size_t errlen, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- pure helpers (and the parts that work below a directory fd) ---------- */

/* "52:54:00:12:34:56" (lower case, as sysfs shows it); out: 18 bytes. */
void initnet_mac_format(const uint8_t mac[6], char out[18]);

/* 1 when text (the content of /sys/class/net/IF/address: the MAC, then a
 * newline or the end) is mac, in either case; else 0. */
int initnet_mac_match(const char *text, const uint8_t mac[6]);

/* The netmask of prefix (0..32) as four network-order bytes. */
void initnet_netmask(unsigned prefix, uint8_t out[4]);

/* "A.B.C.D" of four network-order bytes; out: 16 bytes. */
void initnet_ip_format(const uint8_t a[4], char out[16]);

/* The resolv.conf text for dns ("nameserver A.B.C.D\n" after a comment
 * that says where it comes from). Returns its length, or -ENOSPC. */
int initnet_resolv_text(const uint8_t dns[4], char *buf, size_t len);

/* The log line's text: "IF A.B.C.D/P via G mtu M dns D" (dns "none" when
 * 0.0.0.0). Returns its length, or -ENOSPC. */
int initnet_summary(const struct arca_spec_net *n, const char *ifname, char *buf,
		    size_t len);

/* Looks once through the directory sysnet (an fd of /sys/class/net, or a
 * test's tree) for entries whose "address" file matches mac. Returns how
 * many matched, the first one's name in name (IFNAMSIZ bytes), or a
 * negative errno when the directory cannot be read. */
#define NET_IFNAME_MAX 16 /* IFNAMSIZ */
int initnet_find_if(int sysnet, const uint8_t mac[6], char name[NET_IFNAME_MAX]);

/* Replaces etc/resolv.conf below the directory rootfd with text: a new
 * file etc/.resolv.conf.arca, renamed over it; etc is created when
 * missing. Never follows a symlink: etc being one is -ELOOP (or
 * -ENOTDIR), etc/resolv.conf being one is replaced. */
int initnet_resolv_write(int rootfd, const char *text);

/* An O_PATH fd (*out) of the file etc/resolv.conf names below rootfd,
 * symlinks resolved with rootfd as "/" (openat2 RESOLVE_IN_ROOT): they
 * cannot lead out of it. -ENOENT when nothing is there (a dangling link
 * among them), -EINVAL when it is not a regular file. */
int initnet_resolv_target(int rootfd, int *out);

#endif
