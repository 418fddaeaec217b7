/* SPDX-License-Identifier: MIT */
/*
 * Per-run spec codec (include/arca/abi.h). Pure code, libc headers only
 * (built with glibc for the launcher and with musl for arca-init).
 *
 * The decoder is strict even though the launcher wrote the file: the spec
 * travels through an initrd the guest kernel unpacked, and a lenient parser
 * is where "it only ever sees our own output" assumptions turn into bugs.
 * Decoding is two passes: the first validates every record and counts argv
 * and env entries without allocating, the second copies strings out. So a
 * malformed spec costs no allocation and a valid one exactly the arrays it
 * needs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "arca/limits.h"
#include "proto.h"
#include "spec.h"

#define SPEC_HDR_SIZE 8u /* le32 magic, le32 version */
#define REC_HDR_SIZE  6u /* le16 tag, le32 len */
#define SPEC_KNOWN_FLAGS (ARCA_SPEC_F_VERBOSE | ARCA_SPEC_F_TTY | ARCA_SPEC_F_AGENT | \
			  ARCA_SPEC_F_TIMES | ARCA_SPEC_F_RESTORED)
#define SHARE_KNOWN_FLAGS (ARCA_SHARE_F_RO | ARCA_SHARE_F_NOMOUNT | ARCA_SHARE_F_FILE)
#define SHARE_FIXED 6u /* le32 flags, le16 tag_len */
#define ROOT_FIXED  4u /* le32 mode */
#define DISK_KNOWN_FLAGS (ARCA_DISK_F_RO | ARCA_DISK_F_NOMOUNT)
#define DISK_FIXED  8u /* le32 flags, le16 id_len, le16 fstype_len */
#define RLIMIT_SIZE 20u /* le32 resource, le64 soft, le64 hard */
_Static_assert(ARCA_SPEC_HOST_SIZE == 8 + ARCA_SPEC_SEED_SIZE, "HOST: le64 time, seed");
/* NET: le32 flags, MAC, le16 mtu, address, u8 prefix, gateway, DNS. */
#define NET_MAC  4u
#define NET_MTU  10u
#define NET_ADDR 12u
#define NET_PREFIX 16u
#define NET_GW   17u
#define NET_DNS  21u
_Static_assert(ARCA_SPEC_NET_SIZE == NET_DNS + 4, "NET: 25 bytes");
/* NET6: le32 flags, address, u8 prefix, gateway. */
#define NET6_ADDR   4u
#define NET6_PREFIX 20u
#define NET6_GW     21u
_Static_assert(ARCA_SPEC_NET6_SIZE == NET6_GW + 16, "NET6: 37 bytes");
#define GUEST_PATH_MAX 4096u /* PATH_MAX, including the NUL */
#define NAME_MAX_ 255u       /* one path component */

/* The wire carries the kernel's numbers and its all-ones "unlimited" as they
 * are; glibc (launcher) and musl (arca-init) must agree with abi.h. */
_Static_assert(RLIM_NLIMITS == ARCA_RLIMIT_NLIMITS, "RLIM_NLIMITS differs from abi.h");
_Static_assert(sizeof(rlim_t) == sizeof(uint64_t), "rlim_t is not 64 bits");
_Static_assert((uint64_t)RLIM_INFINITY == ARCA_RLIM_INFINITY, "RLIM_INFINITY is not all ones");
_Static_assert(ARCA_RLIMITS_MAX <= ARCA_RLIMIT_NLIMITS, "a limit per resource at most");

/* ---- validation shared by both directions ---------------------------------- */

/* Indexed by resource: every one of RLIM_NLIMITS has a docker name. */
static const char *const rlimit_names[ARCA_RLIMIT_NLIMITS] = {
	[RLIMIT_CPU] = "cpu",
	[RLIMIT_FSIZE] = "fsize",
	[RLIMIT_DATA] = "data",
	[RLIMIT_STACK] = "stack",
	[RLIMIT_CORE] = "core",
	[RLIMIT_RSS] = "rss",
	[RLIMIT_NPROC] = "nproc",
	[RLIMIT_NOFILE] = "nofile",
	[RLIMIT_MEMLOCK] = "memlock",
	[RLIMIT_AS] = "as",
	[RLIMIT_LOCKS] = "locks",
	[RLIMIT_SIGPENDING] = "sigpending",
	[RLIMIT_MSGQUEUE] = "msgqueue",
	[RLIMIT_NICE] = "nice",
	[RLIMIT_RTPRIO] = "rtprio",
	[RLIMIT_RTTIME] = "rttime",
};

int spec_rlimit_ok(const struct arca_spec_rlimit *rl)
{
	return rl && rl->resource < ARCA_RLIMIT_NLIMITS && rl->soft <= rl->hard;
}

const char *spec_rlimit_name(uint32_t resource)
{
	return resource < ARCA_RLIMIT_NLIMITS ? rlimit_names[resource] : NULL;
}

int spec_rlimit_lookup(const char *name, size_t len)
{
	for (uint32_t i = 0; name && i < ARCA_RLIMIT_NLIMITS; i++)
		if (rlimit_names[i] && strlen(rlimit_names[i]) == len &&
		    !memcmp(rlimit_names[i], name, len))
			return (int)i;
	return -1;
}

int spec_tag_ok(const char *tag, size_t len)
{
	if (!tag || len < 1 || len > ARCA_TAG_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)tag[i] < 0x21 || (unsigned char)tag[i] > 0x7e)
			return 0;
	return 1;
}

/* p[0..len) is dir or below it ("/devices" is not below "/dev"). */
static int path_under(const char *p, size_t len, const char *dir)
{
	size_t n = strlen(dir);
	return len >= n && !memcmp(p, dir, n) && (len == n || p[n] == '/');
}

int spec_guest_path_ok(const char *p, size_t len)
{
	/* "/" itself is refused: a share on / would hide the root arca-init
	 * assembled (use a ROOT record for that). */
	if (!p || len < 2 || len >= GUEST_PATH_MAX || p[0] != '/' || p[len - 1] == '/')
		return 0;
	if (memchr(p, '\0', len))
		return 0;
	/* Components between slashes: none empty ("//"), none "." or "..".
	 * arca-init creates the path component by component beneath the
	 * command's root; ".." there would climb out of it. */
	for (size_t i = 1; i <= len;) {
		const char *slash = memchr(p + i, '/', len - i);
		size_t j = slash ? (size_t)(slash - p) : len;
		size_t c = j - i;
		if (c == 0 || c > NAME_MAX_)
			return 0;
		if (p[i] == '.' && (c == 1 || (c == 2 && p[i + 1] == '.')))
			return 0;
		i = j + 1;
	}
	/* init mounts these itself before any share; a share over them would
	 * replace the kernel's interfaces (or the device nodes) under the
	 * command. */
	static const char *const reserved[] = { "/proc", "/sys", "/dev" };
	for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++)
		if (path_under(p, len, reserved[k]))
			return 0;
	return 1;
}

int spec_disk_id_ok(const char *id, size_t len)
{
	if (!id || len < 1 || len > ARCA_DISK_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int spec_fstype_ok(const char *fstype, size_t len)
{
	if (!fstype || len < 1 || len > ARCA_DISK_FSTYPE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = fstype[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* An IPv4 address in host order, from its four network-order bytes. */
static uint32_t ip4(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* Not "this network" (0/8), loopback (127/8), multicast or reserved
 * (224/3, the limited broadcast among them): an address the kernel would
 * refuse on an interface, or that no packet could be routed to. */
static int ip4_unicast(uint32_t a)
{
	return (a >> 24) != 0 && (a >> 24) != 127 && a < 0xe0000000u;
}

int spec_net_ok(const struct arca_spec_net *n)
{
	static const uint8_t zero[6];

	if (!n || n->flags != 0)
		return 0;
	/* The kernel gives an interface a random MAC when the device's is
	 * not a valid unicast one: the guest would never find it. */
	if ((n->mac[0] & 1) || !memcmp(n->mac, zero, sizeof(zero)))
		return 0;
	if (n->mtu < ARCA_NET_MTU_MIN)
		return 0;
	if (n->prefix < ARCA_NET_PREFIX_MIN || n->prefix > ARCA_NET_PREFIX_MAX)
		return 0;
	uint32_t mask = ~0u << (32 - n->prefix); /* prefix 1..30: shift 2..31 */
	uint32_t a = ip4(n->addr), gw = ip4(n->gateway), dns = ip4(n->dns);
	if (!ip4_unicast(a) || !ip4_unicast(gw) || a == gw)
		return 0;
	/* The default route's next hop must be on the link (the prefix's
	 * connected route), and neither end may be the prefix's network or
	 * broadcast address. */
	if ((a & mask) != (gw & mask))
		return 0;
	if ((a & ~mask) == 0 || (a & ~mask) == ~mask || (gw & ~mask) == 0 ||
	    (gw & ~mask) == ~mask)
		return 0;
	/* A resolver may be anywhere routable, loopback included (one the
	 * command runs itself). */
	if (dns && ((dns >> 24) == 0 || dns >= 0xe0000000u))
		return 0;
	return 1;
}

/* IPv6 address classes (RFC 4291 section 2.4), on sixteen network-order
 * bytes. */
static int ip6_zeros(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return 0;
	return 1;
}

static int ip6_unspecified(const uint8_t a[16])
{
	return ip6_zeros(a, 16);
}

static int ip6_loopback(const uint8_t a[16])
{
	return ip6_zeros(a, 15) && a[15] == 1;
}

static int ip6_multicast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static int ip6_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* 1 when a and b agree on their first `bits` bits (bits <= 128). */
static int ip6_same_prefix(const uint8_t a[16], const uint8_t b[16], unsigned bits)
{
	size_t whole = bits / 8;
	unsigned rest = bits % 8;

	if (memcmp(a, b, whole))
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return !((a[whole] ^ b[whole]) & mask);
}

#define CAPS_ALL ((UINT64_C(1) << (ARCA_CAP_LAST + 1)) - 1)

int spec_caps_ok(const struct arca_spec_caps *c)
{
	const uint64_t m[5] = { c->bounding, c->effective, c->permitted, c->inheritable,
				c->ambient };
	if (c->flags & ~(ARCA_CAPS_F_NO_NEW_PRIVS | ARCA_CAPS_F_SET))
		return -EPROTO;
	for (size_t i = 0; i < 5; i++)
		if ((m[i] & ~CAPS_ALL) || (!(c->flags & ARCA_CAPS_F_SET) && m[i]))
			return -EPROTO;
	/* What capset and PR_CAP_AMBIENT_RAISE would refuse anyway. */
	if ((c->effective & ~c->permitted) || (c->ambient & ~(c->permitted & c->inheritable)))
		return -EPROTO;
	return 0;
}

static void caps_put(uint8_t *p, const struct arca_spec_caps *c)
{
	proto_put_le32(p, c->flags);
	proto_put_le64(p + 4, c->bounding);
	proto_put_le64(p + 12, c->effective);
	proto_put_le64(p + 20, c->permitted);
	proto_put_le64(p + 28, c->inheritable);
	proto_put_le64(p + 36, c->ambient);
}

static void caps_get(const uint8_t *p, struct arca_spec_caps *c)
{
	c->flags = proto_le32(p);
	c->bounding = proto_le64(p + 4);
	c->effective = proto_le64(p + 12);
	c->permitted = proto_le64(p + 20);
	c->inheritable = proto_le64(p + 28);
	c->ambient = proto_le64(p + 36);
}

int spec_net6_ok(const struct arca_spec_net6 *n)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!n || n->flags != 0)
		return -EPROTO;
	if (n->prefix < ARCA_NET6_PREFIX_MIN || n->prefix > ARCA_NET6_PREFIX_MAX)
		return -EPROTO;
	/* The guest's own address must be one packets can be routed to and
	 * from beyond the link: not unspecified or loopback (both inside
	 * ::/96), not multicast, not link-local (every interface has its
	 * own fe80:: address already; one from the host would say nothing
	 * about routing), and not an address that stands for an IPv4 one
	 * (RFC 4291 2.5.5): ::ffff:0:0/96, which sockets use for IPv4
	 * peers, and ::/96, the deprecated IPv4-compatible form. */
	if (ip6_zeros(n->addr, 12) || !memcmp(n->addr, v4mapped, sizeof(v4mapped)) ||
	    ip6_multicast(n->addr) || ip6_link_local(n->addr))
		return -EPROTO;
	if (ip6_unspecified(n->gateway) || ip6_loopback(n->gateway) ||
	    ip6_multicast(n->gateway) || !memcmp(n->gateway, n->addr, 16))
		return -EPROTO;
	/* The next hop must be on the link, without a route of its own to
	 * reach it: a link-local address (with the interface named in the
	 * route, as arca-init does), or one inside the prefix, whose
	 * connected route the address brings. */
	if (!ip6_link_local(n->gateway) && !ip6_same_prefix(n->addr, n->gateway, n->prefix))
		return -EPROTO;
	return 0;
}

static void net6_split(const uint8_t *v, struct arca_spec_net6 *n)
{
	n->flags = proto_le32(v);
	memcpy(n->addr, v + NET6_ADDR, 16);
	n->prefix = v[NET6_PREFIX];
	memcpy(n->gateway, v + NET6_GW, 16);
}

static void net6_put(uint8_t *v, const struct arca_spec_net6 *n)
{
	proto_put_le32(v, n->flags);
	memcpy(v + NET6_ADDR, n->addr, 16);
	v[NET6_PREFIX] = n->prefix;
	memcpy(v + NET6_GW, n->gateway, 16);
}

static void net_split(const uint8_t *v, struct arca_spec_net *n)
{
	n->flags = proto_le32(v);
	memcpy(n->mac, v + NET_MAC, sizeof(n->mac));
	n->mtu = proto_le16(v + NET_MTU);
	memcpy(n->addr, v + NET_ADDR, 4);
	n->prefix = v[NET_PREFIX];
	memcpy(n->gateway, v + NET_GW, 4);
	memcpy(n->dns, v + NET_DNS, 4);
}

static void net_put(uint8_t *v, const struct arca_spec_net *n)
{
	proto_put_le32(v, n->flags);
	memcpy(v + NET_MAC, n->mac, sizeof(n->mac));
	proto_put_le16(v + NET_MTU, n->mtu);
	memcpy(v + NET_ADDR, n->addr, 4);
	v[NET_PREFIX] = n->prefix;
	memcpy(v + NET_GW, n->gateway, 4);
	memcpy(v + NET_DNS, n->dns, 4);
}

static int share_ok(uint32_t flags, const char *tag, size_t tag_len, const char *path,
		    size_t path_len)
{
	if (flags & ~SHARE_KNOWN_FLAGS)
		return 0;
	if (!spec_tag_ok(tag, tag_len))
		return 0;
	if (flags & ARCA_SHARE_F_NOMOUNT)
		return path_len == 0 && !(flags & ARCA_SHARE_F_FILE);
	return spec_guest_path_ok(path, path_len);
}

/* An empty fstype means "detect"; a NOMOUNT disk is never mounted, so it
 * has neither a path nor a type. */
static int disk_ok(uint32_t flags, const char *id, size_t id_len, const char *fstype,
		   size_t fstype_len, const char *path, size_t path_len)
{
	if (flags & ~DISK_KNOWN_FLAGS)
		return 0;
	if (!spec_disk_id_ok(id, id_len))
		return 0;
	if (fstype_len && !spec_fstype_ok(fstype, fstype_len))
		return 0;
	if (flags & ARCA_DISK_F_NOMOUNT)
		return path_len == 0 && fstype_len == 0;
	return spec_guest_path_ok(path, path_len);
}

static int root_is_disk(uint32_t mode)
{
	return mode == ARCA_ROOT_DISK || mode == ARCA_ROOT_DISK_RW;
}

static int root_ok(uint32_t mode, const char *tag, size_t tag_len)
{
	switch (mode) {
	case ARCA_ROOT_INITRD:
		return tag_len == 0;
	case ARCA_ROOT_HOST:
	case ARCA_ROOT_DIR:
	case ARCA_ROOT_DIR_RW:
		return spec_tag_ok(tag, tag_len);
	case ARCA_ROOT_DISK:
	case ARCA_ROOT_DISK_RW:
		return spec_disk_id_ok(tag, tag_len);
	default:
		return 0;
	}
}

/* Checks across records, on already individually valid values: the guest
 * must never have to pick between two devices with one tag or id, or two
 * mounts on one path. Quadratic, over at most ARCA_SPEC_MAX_SHARES +
 * ARCA_SPEC_MAX_DISKS entries. Share tags and disk ids name different
 * things (a virtio-fs tag, a virtio-blk serial) and may coincide. */
static int mounts_consistent(const struct arca_spec *s)
{
	const char *fs_root = root_is_disk(s->root_mode) ? NULL : s->root_tag;
	const char *disk_root = root_is_disk(s->root_mode) ? s->root_tag : NULL;

	if (s->nshares > ARCA_SPEC_MAX_SHARES || s->ndisks > ARCA_SPEC_MAX_DISKS)
		return 0;
	for (size_t i = 0; i < s->ndisks; i++) {
		const struct arca_spec_disk *a = &s->disks[i];
		if (disk_root && !strcmp(disk_root, a->id))
			return 0;
		for (size_t j = 0; j < i; j++) {
			const struct arca_spec_disk *b = &s->disks[j];
			if (!strcmp(a->id, b->id))
				return 0;
			if (a->path && b->path && !strcmp(a->path, b->path))
				return 0;
		}
		for (size_t j = 0; a->path && j < s->nshares; j++)
			if (s->shares[j].path && !strcmp(a->path, s->shares[j].path))
				return 0;
	}
	for (size_t i = 0; i < s->nshares; i++) {
		const struct arca_spec_share *a = &s->shares[i];
		if (fs_root && !strcmp(fs_root, a->tag))
			return 0;
		for (size_t j = 0; j < i; j++) {
			const struct arca_spec_share *b = &s->shares[j];
			/* FILE records share the files device's tag, which no
			 * directory share may use. */
			bool fa = a->flags & ARCA_SHARE_F_FILE, fb = b->flags & ARCA_SHARE_F_FILE;
			if (fa && fb ? strcmp(a->tag, b->tag) != 0 : !strcmp(a->tag, b->tag))
				return 0;
			if (a->path && b->path && !strcmp(a->path, b->path))
				return 0;
		}
	}
	return 1;
}

/* ---- encoding ------------------------------------------------------------ */

/* "KEY=VALUE" with a non-empty KEY: what execve's environment expects. */
static int env_entry_ok(const char *e, size_t len)
{
	const char *eq = memchr(e, '=', len);
	return eq && eq != e;
}

/* Adds one record of `len` bytes to *total, refusing to pass the limit.
 * Each step adds at most 6 + ARCA_SPEC_MAX_STRING to a value that is at
 * most ARCA_SPEC_MAX_SIZE, so the sum never overflows size_t. */
static int account(size_t *total, size_t len)
{
	if (len > ARCA_SPEC_MAX_STRING)
		return -E2BIG;
	*total += REC_HDR_SIZE + len;
	if (*total > ARCA_SPEC_MAX_SIZE)
		return -E2BIG;
	return 0;
}

static uint8_t *put_record(uint8_t *p, uint16_t tag, const void *val, size_t len)
{
	proto_put_le16(p, tag);
	proto_put_le32(p + 2, (uint32_t)len);
	if (len)
		memcpy(p + REC_HDR_SIZE, val, len);
	return p + REC_HDR_SIZE + len;
}

int spec_encode(const struct arca_spec *s, uint8_t **out, size_t *out_len)
{
	size_t total = SPEC_HDR_SIZE;
	int r;

	if (!s || !out || !out_len || !s->argv || s->argc < 1)
		return -EINVAL;
	if (s->envc && !s->env)
		return -EINVAL;
	if (s->flags & ~SPEC_KNOWN_FLAGS)
		return -EINVAL;

	for (size_t i = 0; i < s->argc; i++) {
		if (!s->argv[i])
			return -EINVAL;
		/* argv[0] is looked up in PATH: an empty name can never run. */
		if (i == 0 && !s->argv[0][0])
			return -EINVAL;
		r = account(&total, strlen(s->argv[i]));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < s->envc; i++) {
		if (!s->env[i])
			return -EINVAL;
		size_t n = strlen(s->env[i]);
		if (!env_entry_ok(s->env[i], n))
			return -EINVAL;
		r = account(&total, n);
		if (r < 0)
			return r;
	}
	if (s->workdir) {
		if (!s->workdir[0])
			return -EINVAL;
		r = account(&total, strlen(s->workdir));
		if (r < 0)
			return r;
	}
	r = account(&total, 4);
	if (r < 0)
		return r;
	if (s->has_user && (r = account(&total, 8)) < 0)
		return r;
	if (s->has_caps && (spec_caps_ok(&s->caps) < 0 ||
			    (r = account(&total, ARCA_SPEC_CAPS_SIZE)) < 0))
		return r < 0 ? r : -EINVAL;

	if (s->nshares && !s->shares)
		return -EINVAL;
	for (size_t i = 0; i < s->nshares; i++) {
		const struct arca_spec_share *sh = &s->shares[i];
		if (!sh->tag)
			return -EINVAL;
		size_t tl = strlen(sh->tag), pl = sh->path ? strlen(sh->path) : 0;
		/* NOMOUNT means no path at all, not an empty one. */
		if ((sh->flags & ARCA_SHARE_F_NOMOUNT) ? sh->path != NULL : sh->path == NULL)
			return -EINVAL;
		if (!share_ok(sh->flags, sh->tag, tl, sh->path, pl))
			return -EINVAL;
		r = account(&total, SHARE_FIXED + tl + pl);
		if (r < 0)
			return r;
	}
	if (s->ndisks && !s->disks)
		return -EINVAL;
	for (size_t i = 0; i < s->ndisks; i++) {
		const struct arca_spec_disk *d = &s->disks[i];
		if (!d->id)
			return -EINVAL;
		size_t il = strlen(d->id), fl = d->fstype ? strlen(d->fstype) : 0,
		       pl = d->path ? strlen(d->path) : 0;
		/* As for shares: NOMOUNT means no path at all; an fstype is
		 * NULL or a real name, never "". */
		if ((d->flags & ARCA_DISK_F_NOMOUNT) ? d->path != NULL : d->path == NULL)
			return -EINVAL;
		if (d->fstype && !fl)
			return -EINVAL;
		if (!disk_ok(d->flags, d->id, il, d->fstype, fl, d->path, pl))
			return -EINVAL;
		r = account(&total, DISK_FIXED + il + fl + pl);
		if (r < 0)
			return r;
	}
	size_t root_tl = s->root_tag ? strlen(s->root_tag) : 0;
	if (!root_ok(s->root_mode, s->root_tag, root_tl))
		return -EINVAL;
	if (!mounts_consistent(s))
		return -EINVAL;
	if (s->root_mode != ARCA_ROOT_INITRD) {
		r = account(&total, ROOT_FIXED + root_tl);
		if (r < 0)
			return r;
	}
	if ((s->nrlimits && !s->rlimits) || s->nrlimits > ARCA_RLIMITS_MAX)
		return -EINVAL;
	uint32_t rl_seen = 0;
	for (size_t i = 0; i < s->nrlimits; i++) {
		const struct arca_spec_rlimit *rl = &s->rlimits[i];
		if (!spec_rlimit_ok(rl) || (rl_seen & (1u << rl->resource)))
			return -EINVAL;
		rl_seen |= 1u << rl->resource;
		r = account(&total, RLIMIT_SIZE);
		if (r < 0)
			return r;
	}
	if (s->has_net && !spec_net_ok(&s->net))
		return -EINVAL;
	if (s->has_net && (r = account(&total, ARCA_SPEC_NET_SIZE)) < 0)
		return r;
	/* NET6 configures NET's interface: without one, there is none. */
	if (s->has_net6 && (!s->has_net || spec_net6_ok(&s->net6) < 0))
		return -EINVAL;
	if (s->has_net6 && (r = account(&total, ARCA_SPEC_NET6_SIZE)) < 0)
		return r;
	if (s->has_host && (r = account(&total, ARCA_SPEC_HOST_SIZE)) < 0)
		return r;

	uint8_t *buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	uint8_t *p = buf;
	proto_put_le32(p, ARCA_SPEC_MAGIC);
	proto_put_le32(p + 4, ARCA_ABI_VERSION);
	p += SPEC_HDR_SIZE;
	for (size_t i = 0; i < s->argc; i++)
		p = put_record(p, ARCA_SPEC_ARGV, s->argv[i], strlen(s->argv[i]));
	for (size_t i = 0; i < s->envc; i++)
		p = put_record(p, ARCA_SPEC_ENV, s->env[i], strlen(s->env[i]));
	if (s->workdir)
		p = put_record(p, ARCA_SPEC_WORKDIR, s->workdir, strlen(s->workdir));
	uint8_t fl[4];
	proto_put_le32(fl, s->flags);
	p = put_record(p, ARCA_SPEC_FLAGS, fl, sizeof(fl));
	if (s->has_user) {
		uint8_t ids[8];
		proto_put_le32(ids, s->uid);
		proto_put_le32(ids + 4, s->gid);
		p = put_record(p, ARCA_SPEC_USER, ids, sizeof(ids));
	}
	if (s->has_caps) {
		uint8_t cv[ARCA_SPEC_CAPS_SIZE];
		caps_put(cv, &s->caps);
		p = put_record(p, ARCA_SPEC_CAPS, cv, sizeof(cv));
	}
	for (size_t i = 0; i < s->nshares; i++) {
		const struct arca_spec_share *sh = &s->shares[i];
		size_t tl = strlen(sh->tag), pl = sh->path ? strlen(sh->path) : 0;
		proto_put_le16(p, ARCA_SPEC_SHARE);
		proto_put_le32(p + 2, (uint32_t)(SHARE_FIXED + tl + pl));
		p += REC_HDR_SIZE;
		proto_put_le32(p, sh->flags);
		proto_put_le16(p + 4, (uint16_t)tl);
		memcpy(p + SHARE_FIXED, sh->tag, tl);
		if (pl)
			memcpy(p + SHARE_FIXED + tl, sh->path, pl);
		p += SHARE_FIXED + tl + pl;
	}
	for (size_t i = 0; i < s->ndisks; i++) {
		const struct arca_spec_disk *d = &s->disks[i];
		size_t il = strlen(d->id), tl = d->fstype ? strlen(d->fstype) : 0,
		       pl = d->path ? strlen(d->path) : 0;
		proto_put_le16(p, ARCA_SPEC_DISK);
		proto_put_le32(p + 2, (uint32_t)(DISK_FIXED + il + tl + pl));
		p += REC_HDR_SIZE;
		proto_put_le32(p, d->flags);
		proto_put_le16(p + 4, (uint16_t)il);
		memcpy(p + 6, d->id, il);
		p += 6 + il;
		proto_put_le16(p, (uint16_t)tl);
		if (tl)
			memcpy(p + 2, d->fstype, tl);
		if (pl)
			memcpy(p + 2 + tl, d->path, pl);
		p += 2 + tl + pl;
	}
	if (s->root_mode != ARCA_ROOT_INITRD) {
		proto_put_le16(p, ARCA_SPEC_ROOT);
		proto_put_le32(p + 2, (uint32_t)(ROOT_FIXED + root_tl));
		p += REC_HDR_SIZE;
		proto_put_le32(p, s->root_mode);
		memcpy(p + ROOT_FIXED, s->root_tag, root_tl);
		p += ROOT_FIXED + root_tl;
	}
	for (size_t i = 0; i < s->nrlimits; i++) {
		uint8_t v[RLIMIT_SIZE];
		proto_put_le32(v, s->rlimits[i].resource);
		proto_put_le64(v + 4, s->rlimits[i].soft);
		proto_put_le64(v + 12, s->rlimits[i].hard);
		p = put_record(p, ARCA_SPEC_RLIMIT, v, sizeof(v));
	}
	/* Only with --net: a spec without it is byte for byte what it was. */
	if (s->has_net) {
		uint8_t v[ARCA_SPEC_NET_SIZE];
		net_put(v, &s->net);
		p = put_record(p, ARCA_SPEC_NET, v, sizeof(v));
	}
	if (s->has_net6) {
		uint8_t v[ARCA_SPEC_NET6_SIZE];
		net6_put(v, &s->net6);
		p = put_record(p, ARCA_SPEC_NET6, v, sizeof(v));
	}
	/* Last: a spec without HOST is byte for byte what it always was. */
	if (s->has_host) {
		uint8_t *v = p + REC_HDR_SIZE;
		proto_put_le16(p, ARCA_SPEC_HOST);
		proto_put_le32(p + 2, ARCA_SPEC_HOST_SIZE);
		proto_put_le64(v, s->host_realtime_ns);
		memcpy(v + 8, s->seed, ARCA_SPEC_SEED_SIZE);
		p = v + ARCA_SPEC_HOST_SIZE;
	}

	*out = buf;
	*out_len = (size_t)(p - buf);
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

struct rec {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
};

/*
 * Reads the record at *off. Every comparison is done as "len > remaining"
 * on values already known to be in range, never as "off + len > size",
 * so a hostile le32 length cannot wrap the arithmetic.
 */
static int next_record(const uint8_t *buf, size_t size, size_t *off, struct rec *r)
{
	size_t left = size - *off; /* *off <= size is an invariant */

	if (left < REC_HDR_SIZE)
		return -EPROTO; /* truncated record header */
	r->tag = proto_le16(buf + *off);
	r->len = proto_le32(buf + *off + 2);
	left -= REC_HDR_SIZE;
	if (r->len > left)
		return -EPROTO; /* value runs past the end of the file */
	r->val = buf + *off + REC_HDR_SIZE;
	*off += REC_HDR_SIZE + (size_t)r->len;
	return 0;
}

struct counts {
	size_t argc, envc, nshares, ndisks, nrlimits;
	int seen_workdir, seen_flags, seen_root, seen_user, seen_host, seen_net, seen_net6;
	int seen_caps;
	uint32_t rlimits_seen; /* bit per resource */
};

static void rlimit_split(const struct rec *r, struct arca_spec_rlimit *rl)
{
	rl->resource = proto_le32(r->val);
	rl->soft = proto_le64(r->val + 4);
	rl->hard = proto_le64(r->val + 12);
}

/* A SHARE record's fields (pointers into the record). */
struct share_rec {
	uint32_t flags;
	const char *tag, *path;
	size_t tag_len, path_len;
};

static int share_split(const struct rec *r, struct share_rec *sr)
{
	if (r->len < SHARE_FIXED)
		return -EPROTO;
	sr->flags = proto_le32(r->val);
	sr->tag_len = proto_le16(r->val + 4);
	/* r->len >= SHARE_FIXED, so the subtraction cannot wrap. */
	if (sr->tag_len > r->len - SHARE_FIXED)
		return -EPROTO;
	sr->tag = (const char *)r->val + SHARE_FIXED;
	sr->path = sr->tag + sr->tag_len;
	sr->path_len = r->len - SHARE_FIXED - sr->tag_len;
	if (!share_ok(sr->flags, sr->tag, sr->tag_len, sr->path, sr->path_len))
		return -EPROTO;
	return 0;
}

/* A DISK record's fields (pointers into the record). */
struct disk_rec {
	uint32_t flags;
	const char *id, *fstype, *path;
	size_t id_len, fstype_len, path_len;
};

static int disk_split(const struct rec *r, struct disk_rec *dr)
{
	/* flags, id_len, at least the fstype_len after the id. Every
	 * subtraction below is of a value already checked to be smaller. */
	if (r->len < DISK_FIXED)
		return -EPROTO;
	dr->flags = proto_le32(r->val);
	dr->id_len = proto_le16(r->val + 4);
	size_t left = r->len - 6;
	if (dr->id_len > left - 2)
		return -EPROTO;
	dr->id = (const char *)r->val + 6;
	left -= dr->id_len;
	dr->fstype_len = proto_le16(r->val + 6 + dr->id_len);
	left -= 2;
	if (dr->fstype_len > left)
		return -EPROTO;
	dr->fstype = dr->id + dr->id_len + 2;
	dr->path = dr->fstype + dr->fstype_len;
	dr->path_len = left - dr->fstype_len;
	if (!disk_ok(dr->flags, dr->id, dr->id_len, dr->fstype, dr->fstype_len, dr->path,
		     dr->path_len))
		return -EPROTO;
	return 0;
}

/* Validates one record; counts ARGV, ENV, SHARE and DISK entries and notes
 * singletons. */
static int check_record(const struct rec *r, struct counts *c)
{
	struct share_rec sr;
	struct disk_rec dr;
	struct arca_spec_rlimit rl;

	switch (r->tag) {
	case ARCA_SPEC_ARGV:
	case ARCA_SPEC_ENV:
	case ARCA_SPEC_WORKDIR:
		if (r->len > ARCA_SPEC_MAX_STRING)
			return -E2BIG;
		/* An embedded NUL would silently truncate the C string the
		 * guest acts on ("/bin/true\0-rf /" style confusion). */
		if (memchr(r->val, '\0', r->len))
			return -EPROTO;
		break;
	case ARCA_SPEC_FLAGS:
	case ARCA_SPEC_SHARE:
	case ARCA_SPEC_ROOT:
	case ARCA_SPEC_DISK:
	case ARCA_SPEC_USER:
	case ARCA_SPEC_RLIMIT:
	case ARCA_SPEC_HOST:
	case ARCA_SPEC_NET:
	case ARCA_SPEC_NET6:
	case ARCA_SPEC_CAPS:
		break;
	default:
		return -EPROTO; /* host and guest are built together */
	}

	switch (r->tag) {
	case ARCA_SPEC_ARGV:
		if (c->argc == 0 && r->len == 0)
			return -EPROTO;
		c->argc++;
		break;
	case ARCA_SPEC_ENV:
		if (!env_entry_ok((const char *)r->val, r->len))
			return -EPROTO;
		c->envc++;
		break;
	case ARCA_SPEC_WORKDIR:
		if (c->seen_workdir || r->len == 0)
			return -EPROTO;
		c->seen_workdir = 1;
		break;
	case ARCA_SPEC_FLAGS:
		if (c->seen_flags || r->len != 4)
			return -EPROTO;
		if (proto_le32(r->val) & ~SPEC_KNOWN_FLAGS)
			return -EPROTO;
		c->seen_flags = 1;
		break;
	case ARCA_SPEC_USER:
		if (c->seen_user || r->len != 8)
			return -EPROTO;
		c->seen_user = 1;
		break;
	case ARCA_SPEC_CAPS: {
		struct arca_spec_caps cv;
		if (c->seen_caps || r->len != ARCA_SPEC_CAPS_SIZE)
			return -EPROTO;
		caps_get(r->val, &cv);
		if (spec_caps_ok(&cv) < 0)
			return -EPROTO;
		c->seen_caps = 1;
		break;
	}
	case ARCA_SPEC_SHARE:
		if (c->nshares >= ARCA_SPEC_MAX_SHARES)
			return -EPROTO;
		if (share_split(r, &sr) < 0)
			return -EPROTO;
		c->nshares++;
		break;
	case ARCA_SPEC_DISK:
		if (c->ndisks >= ARCA_SPEC_MAX_DISKS)
			return -EPROTO;
		if (disk_split(r, &dr) < 0)
			return -EPROTO;
		c->ndisks++;
		break;
	case ARCA_SPEC_ROOT:
		if (c->seen_root || r->len < ROOT_FIXED)
			return -EPROTO;
		if (!root_ok(proto_le32(r->val), (const char *)r->val + ROOT_FIXED,
			     r->len - ROOT_FIXED))
			return -EPROTO;
		c->seen_root = 1;
		break;
	case ARCA_SPEC_RLIMIT:
		/* Twice the same resource would leave which one applies to
		 * the order of setrlimit calls: refuse it instead. */
		if (r->len != RLIMIT_SIZE || c->nrlimits >= ARCA_RLIMITS_MAX)
			return -EPROTO;
		rlimit_split(r, &rl);
		if (!spec_rlimit_ok(&rl) || (c->rlimits_seen & (1u << rl.resource)))
			return -EPROTO;
		c->rlimits_seen |= 1u << rl.resource;
		c->nrlimits++;
		break;
	case ARCA_SPEC_HOST:
		/* Twice would leave which seed and time apply to the order. */
		if (c->seen_host || r->len != ARCA_SPEC_HOST_SIZE)
			return -EPROTO;
		c->seen_host = 1;
		break;
	case ARCA_SPEC_NET: {
		/* One interface: a second record would leave which address
		 * the guest gets to the order. */
		struct arca_spec_net n;
		if (c->seen_net || r->len != ARCA_SPEC_NET_SIZE)
			return -EPROTO;
		net_split(r->val, &n);
		if (!spec_net_ok(&n))
			return -EPROTO;
		c->seen_net = 1;
		break;
	}
	case ARCA_SPEC_NET6: {
		/* As for NET: one address, whatever the order. That a NET
		 * record comes with it is checked once all are read. */
		struct arca_spec_net6 n;
		if (c->seen_net6 || r->len != ARCA_SPEC_NET6_SIZE)
			return -EPROTO;
		net6_split(r->val, &n);
		if (spec_net6_ok(&n) < 0)
			return -EPROTO;
		c->seen_net6 = 1;
		break;
	}
	}
	return 0;
}

static char *dup_bytes(const void *p, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static char *dup_value(const struct rec *r)
{
	return dup_bytes(r->val, r->len);
}

int spec_decode(const uint8_t *buf, size_t len, struct arca_spec *s)
{
	struct counts c = { 0 };
	size_t off;
	int r;
	struct rec rec;
	struct share_rec sr;
	struct disk_rec dr;

	if (!s)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	if (!buf && len)
		return -EINVAL;
	if (len > ARCA_SPEC_MAX_SIZE)
		return -E2BIG;
	if (len < SPEC_HDR_SIZE)
		return -EPROTO;
	if (proto_le32(buf) != ARCA_SPEC_MAGIC)
		return -EPROTO;
	if (proto_le32(buf + 4) != ARCA_ABI_VERSION)
		return -EPROTONOSUPPORT;

	/* Pass 1: validate and count. */
	for (off = SPEC_HDR_SIZE; off < len;) {
		r = next_record(buf, len, &off, &rec);
		if (r < 0)
			return r;
		r = check_record(&rec, &c);
		if (r < 0)
			return r;
	}
	if (c.argc == 0)
		return -EPROTO;
	/* NET6 names no interface of its own: it needs NET's MAC. */
	if (c.seen_net6 && !c.seen_net)
		return -EPROTO;

	/* Pass 2: copy out. argc, envc < len / 6 <= 16 MiB / 6, nshares
	 * <= ARCA_SPEC_MAX_SHARES, ndisks <= ARCA_SPEC_MAX_DISKS and nrlimits
	 * <= ARCA_RLIMITS_MAX, so the array sizes below cannot overflow. */
	s->argv = calloc(c.argc + 1, sizeof(char *));
	s->env = calloc(c.envc + 1, sizeof(char *));
	if (!s->argv || !s->env)
		goto nomem;
	if (c.nshares && !(s->shares = calloc(c.nshares, sizeof(*s->shares))))
		goto nomem;
	if (c.ndisks && !(s->disks = calloc(c.ndisks, sizeof(*s->disks))))
		goto nomem;
	if (c.nrlimits && !(s->rlimits = calloc(c.nrlimits, sizeof(*s->rlimits))))
		goto nomem;
	for (off = SPEC_HDR_SIZE; off < len;) {
		/* Already validated: cannot fail. */
		(void)next_record(buf, len, &off, &rec);
		char *str;
		switch (rec.tag) {
		case ARCA_SPEC_ARGV:
			if (!(str = dup_value(&rec)))
				goto nomem;
			s->argv[s->argc++] = str;
			break;
		case ARCA_SPEC_ENV:
			if (!(str = dup_value(&rec)))
				goto nomem;
			s->env[s->envc++] = str;
			break;
		case ARCA_SPEC_WORKDIR:
			if (!(s->workdir = dup_value(&rec)))
				goto nomem;
			break;
		case ARCA_SPEC_FLAGS:
			s->flags = proto_le32(rec.val);
			break;
		case ARCA_SPEC_USER:
			s->has_user = 1;
			s->uid = proto_le32(rec.val);
			s->gid = proto_le32(rec.val + 4);
			break;
		case ARCA_SPEC_CAPS:
			s->has_caps = 1;
			caps_get(rec.val, &s->caps); /* validated in pass 1 */
			break;
		case ARCA_SPEC_SHARE: {
			(void)share_split(&rec, &sr); /* validated in pass 1 */
			struct arca_spec_share *sh = &s->shares[s->nshares++];
			sh->flags = sr.flags;
			if (!(sh->tag = dup_bytes(sr.tag, sr.tag_len)))
				goto nomem;
			if (!(sr.flags & ARCA_SHARE_F_NOMOUNT) &&
			    !(sh->path = dup_bytes(sr.path, sr.path_len)))
				goto nomem;
			break;
		}
		case ARCA_SPEC_DISK: {
			(void)disk_split(&rec, &dr); /* validated in pass 1 */
			struct arca_spec_disk *d = &s->disks[s->ndisks++];
			d->flags = dr.flags;
			if (!(d->id = dup_bytes(dr.id, dr.id_len)))
				goto nomem;
			if (dr.fstype_len && !(d->fstype = dup_bytes(dr.fstype, dr.fstype_len)))
				goto nomem;
			if (!(dr.flags & ARCA_DISK_F_NOMOUNT) &&
			    !(d->path = dup_bytes(dr.path, dr.path_len)))
				goto nomem;
			break;
		}
		case ARCA_SPEC_ROOT:
			s->root_mode = proto_le32(rec.val);
			if (s->root_mode != ARCA_ROOT_INITRD &&
			    !(s->root_tag = dup_bytes(rec.val + ROOT_FIXED,
						      rec.len - ROOT_FIXED)))
				goto nomem;
			break;
		case ARCA_SPEC_RLIMIT:
			rlimit_split(&rec, &s->rlimits[s->nrlimits++]); /* validated */
			break;
		case ARCA_SPEC_HOST:
			s->has_host = 1;
			s->host_realtime_ns = proto_le64(rec.val);
			memcpy(s->seed, rec.val + 8, ARCA_SPEC_SEED_SIZE);
			break;
		case ARCA_SPEC_NET:
			s->has_net = 1;
			net_split(rec.val, &s->net); /* validated in pass 1 */
			break;
		case ARCA_SPEC_NET6:
			s->has_net6 = 1;
			net6_split(rec.val, &s->net6); /* validated in pass 1 */
			break;
		}
	}
	/* Cross-record checks need every tag and path: done on the copies
	 * (costs an allocation for a malformed spec, once, at boot). */
	if (!mounts_consistent(s)) {
		spec_free(s);
		return -EPROTO;
	}
	return 0;

nomem:
	spec_free(s);
	return -ENOMEM;
}

void spec_free(struct arca_spec *s)
{
	if (!s)
		return;
	if (s->argv)
		for (size_t i = 0; s->argv[i]; i++)
			free(s->argv[i]);
	if (s->env)
		for (size_t i = 0; s->env[i]; i++)
			free(s->env[i]);
	free(s->argv);
	free(s->env);
	free(s->workdir);
	for (size_t i = 0; s->shares && i < s->nshares; i++) {
		free(s->shares[i].tag);
		free(s->shares[i].path);
	}
	free(s->shares);
	for (size_t i = 0; s->disks && i < s->ndisks; i++) {
		free(s->disks[i].id);
		free(s->disks[i].fstype);
		free(s->disks[i].path);
	}
	free(s->disks);
	free(s->root_tag);
	free(s->rlimits);
	memset(s, 0, sizeof(*s));
}
