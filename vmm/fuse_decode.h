/* SPDX-License-Identifier: MIT */
/*
 * FUSE request decoding and validation: pure functions over iovecs, no
 * syscalls, so cmocka drives them with hostile input.
 *
 * A request arrives as the kernel (or a guest's virtio-fs driver) wrote it:
 * fuse_in_header, the opcode's argument struct(s), NUL-terminated names, and
 * for WRITE the payload. The iovec segments may split anywhere (a guest
 * descriptor chain), so everything except the WRITE payload is first copied
 * into an aligned scratch buffer owned by the caller. The copy is also the
 * double-fetch defence: a guest cannot change a length after it was checked,
 * because every later read is from the copy. The WRITE payload is never
 * copied: fuse_req.payload describes where it lies in the caller's iovecs.
 *
 * Protocol: <linux/fuse.h> as shipped by the build machine (7.38 on Debian 12).
 * We negotiate at most that minor and at least FUSE_DECODE_MIN_MINOR, so the
 * argument structs have their current sizes (no compat sizes except
 * fuse_setxattr_in, whose long form exists only with FUSE_SETXATTR_EXT,
 * which we never offer, and fuse_init_in, which old kernels send short).
 */
#ifndef ARCA_FUSE_DECODE_H
#define ARCA_FUSE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "iov.h"

#include <linux/fuse.h>

#define FUSE_DECODE_MIN_MINOR 27u     /* virtio-fs needs 7.27+; simplifies compat */
/* max_write we offer and the largest READ: 256 pages, the most a FUSE
 * request carries (the kernel's FUSE_MAX_MAX_PAGES), so a request with its
 * headers is a chain of up to 259 entries: the share's queue offers 1024
 * (no indirect descriptors) and chains of up to VIRTQ_MAX_SEGS are taken.
 * Half this (128 pages, when the queue had 256 entries) took a request per
 * 512 KiB, and a stream's cost is mostly per request. */
#define FUSE_MAX_IO           (1u << 20)
/* The read-ahead window INIT's reply allows (bytes): the guest's kernel
 * sets a share's window to the smaller of the one it had and this when
 * the reply arrives, which may be after arca-init widened it to 1 MiB
 * (initrd/init.h INITROOT_SHARE_READAHEAD_KB); echoing the kernel's 128 KiB
 * proposal narrowed it back then (seen under the ASan build's slower VMM).
 * The kernel's min makes a larger value harmless. */
#define FUSE_MAX_READAHEAD    (1u << 20)
#define FUSE_MAX_IOV          264         /* segments in one READ/WRITE: VIRTQ_MAX_SEGS */
#define FUSE_NAME_MAX         255u        /* NAME_MAX */
#define FUSE_PATH_MAX         4096u       /* PATH_MAX, incl. NUL: symlink targets */
#define FUSE_XATTR_NAME_MAX   255u
#define FUSE_XATTR_SIZE_MAX   65536u
/* Everything but a WRITE payload must fit here: header + setxattr_in +
 * xattr name + 64 KiB value is the largest request. */
#define FUSE_SCRATCH_SIZE     (80u * 1024u)

/* Copy len bytes starting skip bytes into iov to/from buf. Returns len, or
 * -EFAULT (reading) / -ENOSPC (writing) when the iovecs are too short. */
ssize_t fuse_iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len);
ssize_t fuse_iov_from_buf(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len);

/* A single path component the server may resolve under a parent: non-empty,
 * at most NAME_MAX, no '/', not "." or "..". (CVE-2020-35517-style escapes
 * and the classic "../" traversal: the server never resolves more than one
 * component, and never one that leaves the parent.) */
bool fuse_name_ok(const char *name, size_t len);

struct fuse_req {
	struct fuse_in_header h;
	const void *arg;         /* opcode's fixed struct, in scratch; NULL if none */
	size_t arg_len;          /* its size (fuse_init_in may be short: see INIT) */
	const char *name;        /* first NUL-terminated string, validated */
	const char *name2;       /* second one: RENAME new name, SYMLINK target */
	const void *value;       /* SETXATTR value */
	uint32_t value_len;
	/* WRITE: the payload is bytes [payload_off, payload_off+payload_len) of
	 * the request iovecs. */
	size_t payload_off;
	uint32_t payload_len;
};

/*
 * Decode and validate a request. scratch must be FUSE_SCRATCH_SIZE bytes,
 * 8-byte aligned; r's pointers point into it.
 * Returns 0, or:
 *   -EBADMSG  no complete fuse_in_header: nothing to reply to (unique unknown);
 *   other -errno: r->h is valid and the caller replies with that error
 *     (-EINVAL bad lengths/names/offsets, -ENOSYS unknown opcode,
 *      -ENAMETOOLONG, -E2BIG request larger than scratch, -EOVERFLOW).
 * max_read bounds READ/READDIR sizes (the server's reply capacity).
 */
int fuse_decode(const struct iovec *in, int nin, void *scratch, size_t scratch_len,
		uint32_t max_read, struct fuse_req *r);

/* Opcodes that modify the share (EROFS on read-only shares). */
bool fuse_opcode_modifies(uint32_t opcode);
const char *fuse_opcode_name(uint32_t opcode);

#endif
