/* SPDX-License-Identifier: MIT */
/*
 * Per-run spec codec (see include/arca/abi.h). Pure code: the launcher
 * encodes, arca-init decodes. Negative errno on failure (-EINVAL bad value,
 * -EPROTO malformed input, -E2BIG over the limits, -ENOMEM).
 */
#ifndef ARCA_SPEC_H
#define ARCA_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"

/* One SHARE record: a virtio-fs device the guest mounts (or only sees). */
struct arca_spec_share {
	uint32_t flags; /* ARCA_SHARE_F_* */
	char *tag;      /* 1..ARCA_TAG_MAX bytes, see spec_tag_ok() */
	char *path;     /* guest mount point; NULL with ARCA_SHARE_F_NOMOUNT */
};

/* One DISK record: a virtio-blk device the guest mounts (or only sees). */
struct arca_spec_disk {
	uint32_t flags; /* ARCA_DISK_F_* */
	char *id;       /* 1..ARCA_DISK_ID_MAX bytes, see spec_disk_id_ok() */
	char *fstype;   /* NULL: detect; else see spec_fstype_ok() */
	char *path;     /* guest mount point; NULL with ARCA_DISK_F_NOMOUNT */
};

/* One RLIMIT record: a resource limit the command starts with (--ulimit). */
struct arca_spec_rlimit {
	uint32_t resource; /* RLIMIT_*, below ARCA_RLIMIT_NLIMITS */
	uint64_t soft, hard; /* soft <= hard; ARCA_RLIM_INFINITY: unlimited */
};

/* The NET record (--net): the guest's one interface, IPv4. Addresses are
 * four bytes in network order (a[0] is the first octet written). */
struct arca_spec_net {
	uint32_t flags;     /* 0: reserved */
	uint8_t mac[6];     /* the virtio-net device's MAC: finds the interface */
	uint16_t mtu;       /* ARCA_NET_MTU_MIN..65535 */
	uint8_t addr[4];    /* the interface's address */
	uint8_t prefix;     /* ARCA_NET_PREFIX_MIN..ARCA_NET_PREFIX_MAX */
	uint8_t gateway[4]; /* the default route's next hop, inside the prefix */
	uint8_t dns[4];     /* the resolver for /etc/resolv.conf; 0.0.0.0: none */
};

/* The CAPS record (abi.h). */
struct arca_spec_caps {
	uint32_t flags; /* ARCA_CAPS_F_* */
	uint64_t bounding, effective, permitted, inheritable, ambient;
};
/* A CAPS value as abi.h allows it: 0 or -EPROTO. */
int spec_caps_ok(const struct arca_spec_caps *c);

/* The NET6 record (--net with IPv6): the same interface's IPv6 address and
 * default route. Addresses are sixteen bytes in network order. */
struct arca_spec_net6 {
	uint32_t flags;      /* 0: reserved */
	uint8_t addr[16];    /* the guest's IPv6 address (network order) */
	uint8_t prefix;      /* ARCA_NET6_PREFIX_MIN..ARCA_NET6_PREFIX_MAX */
	uint8_t gateway[16]; /* the default route's next hop */
};

struct arca_spec {
	char **argv;    /* NULL-terminated, argc >= 1 */
	size_t argc;
	char **env;     /* NULL-terminated "KEY=VALUE" */
	size_t envc;
	char *workdir;  /* NULL: "/" */
	uint32_t flags; /* ARCA_SPEC_F_* */
	struct arca_spec_share *shares; /* nshares entries (NULL when 0) */
	size_t nshares;
	uint32_t root_mode; /* enum arca_root_mode; 0 (INITRD) when absent */
	char *root_tag;     /* NULL for ARCA_ROOT_INITRD, else the root's tag
			     * (ARCA_ROOT_DISK[_RW]: the root disk's id) */
	struct arca_spec_disk *disks; /* ndisks entries (NULL when 0) */
	size_t ndisks;
	/* The command's uid and gid (ARCA_SPEC_USER; exec -u). has_user 0:
	 * no USER record, root's 0:0. */
	int has_user;
	uint32_t uid, gid;
	/* ARCA_SPEC_RLIMIT: nrlimits entries (NULL when 0), at most
	 * ARCA_RLIMITS_MAX, each resource once; set in the command's child
	 * in this order. */
	struct arca_spec_rlimit *rlimits;
	size_t nrlimits;
	/* ARCA_SPEC_HOST: has_host 0: no HOST record. The seed is a secret
	 * of this one VM: whoever holds it and the snapshot can predict the
	 * guest's CRNG, so a holder wipes it once used. */
	int has_host;
	uint64_t host_realtime_ns;      /* the host's CLOCK_REALTIME */
	uint8_t seed[ARCA_SPEC_SEED_SIZE]; /* host randomness */
	/* ARCA_SPEC_NET: has_net 0: no NET record (no network). */
	int has_net;
	struct arca_spec_net net;
	/* ARCA_SPEC_NET6: has_net6 0: no NET6 record (IPv4 only). Only with
	 * has_net: it configures NET's interface. */
	int has_net6;
	struct arca_spec_net6 net6;
	/* ARCA_SPEC_CAPS: has_caps 0: none (the command keeps init's). */
	int has_caps;
	struct arca_spec_caps caps;
};

/* Encode into a malloc'ed buffer (*out, *out_len). Strings must not contain
 * NUL (they are C strings, so they cannot) and at most ARCA_SPEC_MAX_STRING
 * bytes each. */
int spec_encode(const struct arca_spec *s, uint8_t **out, size_t *out_len);

/* Decode buf[0..len) into *s; all strings are freshly allocated and
 * NUL-terminated. Rejects bad magic/version, truncated records, NUL inside
 * strings, unknown tags, zero argv entries, duplicate WORKDIR/FLAGS.
 * Errors: -EPROTO malformed (also: empty argv[0], ENV without "KEY=",
 * empty WORKDIR, FLAGS not 4 bytes or with unknown bits), -EPROTONOSUPPORT
 * right magic but another ARCA_ABI_VERSION, -E2BIG file over
 * ARCA_SPEC_MAX_SIZE or a string over ARCA_SPEC_MAX_STRING, -ENOMEM.
 * On failure *s is left zeroed (nothing to free). A missing FLAGS record
 * means flags 0. spec_encode always writes FLAGS and refuses (-EINVAL) what
 * spec_decode would reject.
 *
 * SHARE/ROOT (layout in abi.h) are -EPROTO when: shorter than their fixed
 * part, unknown share flag bits, a bad tag (spec_tag_ok), a mounted share
 * whose path fails spec_guest_path_ok or a NOMOUNT share with a path, more
 * than ARCA_SPEC_MAX_SHARES shares, two mounted shares on one path, one tag
 * used twice (shares and root together), a second ROOT record, an unknown
 * root mode, a tag with ARCA_ROOT_INITRD or none with another mode.
 * spec_encode writes a ROOT record only when root_mode is not INITRD.
 *
 * DISK records (layout in abi.h) are -EPROTO when: shorter than their fixed
 * part or with a length field past the record's end, unknown flag bits, a
 * bad id (spec_disk_id_ok) or fstype (spec_fstype_ok, when not empty), a
 * NOMOUNT disk with a path or an fstype, a mounted disk whose path fails
 * spec_guest_path_ok, more than ARCA_SPEC_MAX_DISKS disks, one id used
 * twice (the ROOT record's disk id included), a mounted path used by two
 * disks or by a disk and a share. ARCA_ROOT_DISK[_RW] take a disk id
 * (spec_disk_id_ok) where the other modes take a tag; share tags and disk
 * ids are separate names and may be equal.
 *
 * RLIMIT records are -EPROTO when: not exactly 20 bytes, a resource not
 * below ARCA_RLIMIT_NLIMITS, soft above hard, a resource given twice, more
 * than ARCA_RLIMITS_MAX records. spec_encode refuses (-EINVAL) the same,
 * and writes the records last, so a spec without limits is unchanged.
 *
 * A HOST record is -EPROTO when not exactly ARCA_SPEC_HOST_SIZE bytes or
 * given twice. spec_encode writes it only with has_host, after everything
 * else, so a spec without one is unchanged. The decoder does not wipe buf:
 * a caller whose spec has a seed wipes both buf and s->seed after use.
 *
 * A NET record is -EPROTO when not exactly ARCA_SPEC_NET_SIZE bytes, given
 * twice, or failing spec_net_ok. spec_encode writes it only with has_net
 * (-EINVAL when !spec_net_ok), after RLIMIT and before HOST, so a spec
 * without one is unchanged.
 *
 * A NET6 record is -EPROTO when not exactly ARCA_SPEC_NET6_SIZE bytes,
 * given twice, failing spec_net6_ok, or in a spec without a NET record
 * (before or after it: checked once every record is read). spec_encode
 * writes it only with has_net6 (-EINVAL when !spec_net6_ok or without
 * has_net), right after NET, so a spec without one is unchanged. */
int spec_decode(const uint8_t *buf, size_t len, struct arca_spec *s);

void spec_free(struct arca_spec *s);

/*
 * Validation shared by the encoder, the decoder, the launcher (to reject a
 * bad -v before anything starts) and arca-init. Each returns 1 when valid.
 *
 * spec_tag_ok: 1..ARCA_TAG_MAX bytes, each 0x21..0x7e (printable ASCII, no
 * space: the tag is a mount source and appears in log lines).
 *
 * spec_guest_path_ok: a share's guest mount point (len bytes, no NUL):
 * absolute, normalized (no "." or ".." component, no "//", no trailing
 * "/"), not "/" itself, shorter than 4096 bytes, and not /proc, /sys, /dev
 * or below them (init's own mounts; a share there would hide or replace
 * the kernel's interfaces the command relies on).
 */
int spec_tag_ok(const char *tag, size_t len);
int spec_guest_path_ok(const char *path, size_t len);

/*
 * spec_disk_id_ok: 1..ARCA_DISK_ID_MAX bytes of [A-Za-z0-9._-] (the
 * virtio-blk serial, shown in /sys/block/vdX/serial and used as the name
 * of /dev/disk/by-id/virtio-ID: no '/', no space, nothing to escape).
 *
 * spec_fstype_ok: 1..ARCA_DISK_FSTYPE_MAX bytes of [a-z0-9] (the names in
 * /proc/filesystems that a block device can carry: ext4, xfs, vfat, ...).
 */
int spec_disk_id_ok(const char *id, size_t len);
int spec_fstype_ok(const char *fstype, size_t len);

/*
 * Resource limits by docker's --ulimit names (core, cpu, data, fsize,
 * locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime,
 * sigpending, stack, as), one table for the launcher's parser and
 * arca-init's messages.
 *
 * spec_rlimit_ok: 1 when rl's resource is below ARCA_RLIMIT_NLIMITS and
 * its soft limit is not above its hard one.
 * spec_rlimit_name: the name of resource, or NULL for none.
 * spec_rlimit_lookup: the resource named name[0..len), or -1.
 */
int spec_rlimit_ok(const struct arca_spec_rlimit *rl);
const char *spec_rlimit_name(uint32_t resource);
int spec_rlimit_lookup(const char *name, size_t len);

/*
 * spec_net_ok: 1 when n is a NET record arca-init can apply (abi.h): flags
 * 0; a unicast MAC, not all zeros; MTU ARCA_NET_MTU_MIN..65535; prefix
 * ARCA_NET_PREFIX_MIN..ARCA_NET_PREFIX_MAX; address and gateway unicast
 * (not 0/8, 127/8, 224/3) host addresses of the prefix (neither its
 * network nor its broadcast address), in the same prefix, different; DNS
 * 0.0.0.0 or outside 0/8 and 224/3. The launcher checks its --net values
 * with it too.
 */
int spec_net_ok(const struct arca_spec_net *n);

/*
 * spec_net6_ok: 0 when n is a NET6 record arca-init can apply (abi.h),
 * else -EPROTO (unlike the predicates above, which return 1 when valid:
 * test it with `< 0`). Valid: flags 0; prefix ARCA_NET6_PREFIX_MIN..
 * ARCA_NET6_PREFIX_MAX; the address global unicast or unique-local (not
 * ::, ::1, ff00::/8, fe80::/10, ::ffff:0:0/96, ::/96); the gateway not ::,
 * ::1, multicast or the address, and either link-local (fe80::/10) or
 * inside the address's prefix. The launcher checks its IPv6 plan with it
 * too.
 */
int spec_net6_ok(const struct arca_spec_net6 *n);

#endif
