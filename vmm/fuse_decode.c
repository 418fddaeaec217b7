/* SPDX-License-Identifier: MIT */
/* FUSE request decoding: see fuse_decode.h. Every length is checked against
 * the bytes actually present with overflow-safe arithmetic; nothing here
 * trusts a length field before comparing it with what remains. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cleanup.h"
#include "fuse_decode.h"
#include "iov.h"

/* FUSE wants all or nothing: a request or reply that does not fit its
 * iovecs is an error, not a short copy. */
ssize_t fuse_iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len)
{
	if (len > SSIZE_MAX)
		return -EOVERFLOW;
	return iov_to_buf(iov, n, skip, buf, len) < len ? -EFAULT : (ssize_t)len;
}

ssize_t fuse_iov_from_buf(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len)
{
	if (len > SSIZE_MAX)
		return -EOVERFLOW;
	return iov_from_buf(iov, n, skip, buf, len) < len ? -ENOSPC : (ssize_t)len;
}

bool fuse_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > FUSE_NAME_MAX)
		return false;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	return true;
}

/* Argument layouts after the fixed struct. */
enum tail {
	T_NONE,     /* nothing may follow */
	T_NAME,     /* one path component */
	T_NAME2,    /* two path components (RENAME, RENAME2) */
	T_SYMLINK,  /* component, then symlink target */
	T_XNAME,    /* one xattr name */
	T_XVALUE,   /* xattr name, then value of setxattr_in.size bytes */
	T_FORGETS,  /* batch_forget_in.count fuse_forget_one */
	T_PAYLOAD,  /* WRITE data, left in the iovecs */
	T_INIT,     /* fuse_init_in, possibly short (pre-7.36 kernels) */
};

struct op_desc {
	const char *name;
	uint32_t fixed;    /* size of the fixed struct */
	uint8_t tail;
	bool node;         /* needs a non-zero nodeid */
	bool modifies;
};

#define OP(op, sz, t, nd, mod) [op] = { #op, sz, t, nd, mod }
static const struct op_desc ops[] = {
	OP(FUSE_LOOKUP, 0, T_NAME, true, false),
	OP(FUSE_FORGET, sizeof(struct fuse_forget_in), T_NONE, true, false),
	OP(FUSE_GETATTR, sizeof(struct fuse_getattr_in), T_NONE, true, false),
	OP(FUSE_SETATTR, sizeof(struct fuse_setattr_in), T_NONE, true, true),
	OP(FUSE_READLINK, 0, T_NONE, true, false),
	OP(FUSE_SYMLINK, 0, T_SYMLINK, true, true),
	OP(FUSE_MKNOD, sizeof(struct fuse_mknod_in), T_NAME, true, true),
	OP(FUSE_MKDIR, sizeof(struct fuse_mkdir_in), T_NAME, true, true),
	OP(FUSE_UNLINK, 0, T_NAME, true, true),
	OP(FUSE_RMDIR, 0, T_NAME, true, true),
	OP(FUSE_RENAME, sizeof(struct fuse_rename_in), T_NAME2, true, true),
	OP(FUSE_LINK, sizeof(struct fuse_link_in), T_NAME, true, true),
	OP(FUSE_OPEN, sizeof(struct fuse_open_in), T_NONE, true, false),
	OP(FUSE_READ, sizeof(struct fuse_read_in), T_NONE, true, false),
	OP(FUSE_WRITE, sizeof(struct fuse_write_in), T_PAYLOAD, true, true),
	OP(FUSE_STATFS, 0, T_NONE, true, false),
	OP(FUSE_RELEASE, sizeof(struct fuse_release_in), T_NONE, true, false),
	OP(FUSE_FSYNC, sizeof(struct fuse_fsync_in), T_NONE, true, false),
	OP(FUSE_SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, T_XVALUE, true, true),
	OP(FUSE_GETXATTR, sizeof(struct fuse_getxattr_in), T_XNAME, true, false),
	OP(FUSE_LISTXATTR, sizeof(struct fuse_getxattr_in), T_NONE, true, false),
	OP(FUSE_REMOVEXATTR, 0, T_XNAME, true, true),
	OP(FUSE_FLUSH, sizeof(struct fuse_flush_in), T_NONE, true, false),
	OP(FUSE_INIT, 0, T_INIT, false, false),
	OP(FUSE_OPENDIR, sizeof(struct fuse_open_in), T_NONE, true, false),
	OP(FUSE_READDIR, sizeof(struct fuse_read_in), T_NONE, true, false),
	OP(FUSE_RELEASEDIR, sizeof(struct fuse_release_in), T_NONE, true, false),
	OP(FUSE_FSYNCDIR, sizeof(struct fuse_fsync_in), T_NONE, true, false),
	OP(FUSE_ACCESS, sizeof(struct fuse_access_in), T_NONE, true, false),
	OP(FUSE_CREATE, sizeof(struct fuse_create_in), T_NAME, true, true),
	OP(FUSE_INTERRUPT, sizeof(struct fuse_interrupt_in), T_NONE, false, false),
	OP(FUSE_DESTROY, 0, T_NONE, false, false),
	OP(FUSE_BATCH_FORGET, sizeof(struct fuse_batch_forget_in), T_FORGETS, false, false),
	OP(FUSE_FALLOCATE, sizeof(struct fuse_fallocate_in), T_NONE, true, true),
	OP(FUSE_READDIRPLUS, sizeof(struct fuse_read_in), T_NONE, true, false),
	OP(FUSE_RENAME2, sizeof(struct fuse_rename2_in), T_NAME2, true, true),
	OP(FUSE_LSEEK, sizeof(struct fuse_lseek_in), T_NONE, true, false),
	OP(FUSE_COPY_FILE_RANGE, sizeof(struct fuse_copy_file_range_in), T_NONE, true, true),
};

static const struct op_desc *op_lookup(uint32_t opcode)
{
	if (opcode >= ARRAY_SIZE(ops) || !ops[opcode].name)
		return NULL;
	return &ops[opcode];
}

bool fuse_opcode_modifies(uint32_t opcode)
{
	const struct op_desc *d = op_lookup(opcode);
	return d && d->modifies;
}

const char *fuse_opcode_name(uint32_t opcode)
{
	const struct op_desc *d = op_lookup(opcode);
	return d ? d->name + 5 : "?"; /* skip "FUSE_" */
}

/* One NUL-terminated string at p[0..avail): returns its length (without
 * NUL) or -EINVAL when no NUL is present. */
static ssize_t cstr(const char *p, size_t avail)
{
	const char *nul = memchr(p, '\0', avail);
	return nul ? nul - p : -EINVAL;
}

/* Exactly one component filling p[0..len) including its NUL: a second NUL
 * inside or bytes after the NUL are rejected (a name smuggled after a NUL
 * would otherwise be invisible to the checks but not to a later parser). */
static int one_name(const char *p, size_t len, bool component, size_t max)
{
	ssize_t n = cstr(p, len);
	if (n < 0 || (size_t)n + 1 != len)
		return -EINVAL;
	if ((size_t)n > max)
		return -ENAMETOOLONG;
	if (component ? !fuse_name_ok(p, (size_t)n) : n == 0)
		return -EINVAL;
	return 0;
}

static bool off_ok(uint64_t off, uint64_t len)
{
	/* off_t is signed: offsets at or beyond 2^63, or ranges ending there,
	 * would turn negative in pread/fallocate. */
	return off <= INT64_MAX && len <= (uint64_t)INT64_MAX - off;
}

static int check_values(const struct fuse_req *r, uint32_t max_read)
{
	switch (r->h.opcode) {
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		const struct fuse_read_in *a = r->arg;
		if (a->size > max_read)
			return -EINVAL;
		/* A directory offset is an opaque d_off cookie (ext4's last one
		 * is INT64_MAX): only its sign matters to lseek. */
		if (r->h.opcode != FUSE_READ)
			return a->offset <= INT64_MAX ? 0 : -EINVAL;
		return off_ok(a->offset, a->size) ? 0 : -EINVAL;
	}
	case FUSE_WRITE: {
		const struct fuse_write_in *a = r->arg;
		/* The declared size must be exactly the payload present: a larger
		 * size would make pwritev read past the request. */
		if (a->size != r->payload_len || a->size > FUSE_MAX_IO)
			return -EINVAL;
		return off_ok(a->offset, a->size) ? 0 : -EINVAL;
	}
	case FUSE_SETATTR: {
		const struct fuse_setattr_in *a = r->arg;
		if ((a->valid & FATTR_SIZE) && a->size > INT64_MAX)
			return -EINVAL;
		return 0;
	}
	case FUSE_FALLOCATE: {
		const struct fuse_fallocate_in *a = r->arg;
		return off_ok(a->offset, a->length) ? 0 : -EINVAL;
	}
	case FUSE_LSEEK: {
		const struct fuse_lseek_in *a = r->arg;
		return a->offset <= INT64_MAX ? 0 : -EINVAL;
	}
	case FUSE_COPY_FILE_RANGE: {
		const struct fuse_copy_file_range_in *a = r->arg;
		if (a->flags != 0 || a->nodeid_out == 0)
			return -EINVAL;
		return off_ok(a->off_in, 0) && off_ok(a->off_out, 0) ? 0 : -EINVAL;
	}
	case FUSE_LINK: {
		const struct fuse_link_in *a = r->arg;
		return a->oldnodeid ? 0 : -EINVAL;
	}
	case FUSE_RENAME: {
		const struct fuse_rename_in *a = r->arg;
		return a->newdir ? 0 : -EINVAL;
	}
	case FUSE_RENAME2: {
		const struct fuse_rename2_in *a = r->arg;
		return a->newdir ? 0 : -EINVAL;
	}
	default:
		return 0;
	}
}

static int decode_tail(struct fuse_req *r, const struct op_desc *d, const char *t, size_t tl)
{
	int ret;
	ssize_t n;

	switch (d->tail) {
	case T_NONE:
		return tl == 0 ? 0 : -EINVAL;
	case T_NAME:
		if ((ret = one_name(t, tl, true, FUSE_NAME_MAX)) < 0)
			return ret;
		r->name = t;
		return 0;
	case T_NAME2:
	case T_SYMLINK:
		if ((n = cstr(t, tl)) < 0)
			return -EINVAL;
		if ((ret = one_name(t, (size_t)n + 1, true, FUSE_NAME_MAX)) < 0)
			return ret;
		r->name = t;
		t += n + 1;
		tl -= (size_t)n + 1;
		if (d->tail == T_NAME2)
			ret = one_name(t, tl, true, FUSE_NAME_MAX);
		else /* a target is any non-empty text: the guest resolves it */
			ret = one_name(t, tl, false, FUSE_PATH_MAX - 1);
		if (ret < 0)
			return ret;
		r->name2 = t;
		return 0;
	case T_XNAME:
		if ((ret = one_name(t, tl, false, FUSE_XATTR_NAME_MAX)) < 0)
			return ret;
		r->name = t;
		return 0;
	case T_XVALUE: {
		const struct fuse_setxattr_in *a = r->arg;
		if ((n = cstr(t, tl)) < 0)
			return -EINVAL;
		if ((ret = one_name(t, (size_t)n + 1, false, FUSE_XATTR_NAME_MAX)) < 0)
			return ret;
		r->name = t;
		tl -= (size_t)n + 1;
		if (a->size > FUSE_XATTR_SIZE_MAX)
			return -E2BIG;
		if (a->size != tl)
			return -EINVAL;
		r->value = t + n + 1;
		r->value_len = a->size;
		return 0;
	}
	case T_FORGETS: {
		const struct fuse_batch_forget_in *a = r->arg;
		uint64_t need = (uint64_t)a->count * sizeof(struct fuse_forget_one);
		if (need != tl)
			return -EINVAL;
		r->value = t;
		r->value_len = a->count;
		return 0;
	}
	}
	return -EINVAL;
}

int fuse_decode(const struct iovec *in, int nin, void *scratch, size_t scratch_len,
		uint32_t max_read, struct fuse_req *r)
{
	memset(r, 0, sizeof(*r));
	ssize_t total = iov_total(in, nin);
	if (total < (ssize_t)sizeof(r->h))
		return -EBADMSG;
	if (fuse_iov_to_buf(in, nin, 0, &r->h, sizeof(r->h)) < 0)
		return -EBADMSG;

	/* From here on r->h.unique is known: errors are replied to. */
	if (r->h.len != (uint64_t)total)
		return -EINVAL;
	const struct op_desc *d = op_lookup(r->h.opcode);
	if (!d)
		return -ENOSYS;
	if (d->node && r->h.nodeid == 0)
		return -EINVAL;

	/* Request extensions (security context, supplementary groups) sit at
	 * the end; we negotiate none, but skip them rather than misparse. */
	size_t ext = (size_t)r->h.total_extlen * 8;
	size_t args_len = r->h.len - sizeof(r->h);
	if (ext > args_len)
		return -EINVAL;
	args_len -= ext;

	size_t fixed = d->fixed;
	if (d->tail == T_INIT) {
		/* Kernels before 7.36 send the 16-byte fuse_init_in. */
		if (args_len < offsetof(struct fuse_init_in, flags2))
			return -EINVAL;
		fixed = args_len < sizeof(struct fuse_init_in) ? args_len : sizeof(struct fuse_init_in);
		args_len = fixed;
	}
	if (args_len < fixed)
		return -EINVAL;

	size_t copy = d->tail == T_PAYLOAD ? fixed : args_len;
	if (copy > scratch_len)
		return -E2BIG;
	if (fuse_iov_to_buf(in, nin, sizeof(r->h), scratch, copy) < 0)
		return -EINVAL; /* cannot happen: total was checked */
	r->arg = fixed ? scratch : NULL;
	r->arg_len = fixed;

	int ret;
	if (d->tail == T_PAYLOAD) {
		r->payload_off = sizeof(r->h) + fixed;
		if (args_len - fixed > UINT32_MAX)
			return -EINVAL;
		r->payload_len = (uint32_t)(args_len - fixed);
	} else if (d->tail != T_INIT) {
		ret = decode_tail(r, d, (const char *)scratch + fixed, args_len - fixed);
		if (ret < 0)
			return ret;
	}
	return check_values(r, max_read);
}
