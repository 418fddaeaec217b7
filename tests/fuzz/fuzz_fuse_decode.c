/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for FUSE request decoding (vmm/fuse_decode.c), the pure
 * half of the virtio-fs device: the bytes a guest's driver puts in a
 * descriptor chain, before any system call.
 *
 * The input is one flag byte (bit 0: make fuse_in_header.len match the
 * request, so most inputs get past that first check; bits 1-2: max_read;
 * bits 3-4: the scratch size), one seed that cuts the request into up to 64
 * iovecs, each its own heap block of exactly its size (a guest chain may
 * split anywhere; ASan sees a byte read past any of them), then the request.
 * The scratch buffer is also exactly as long as the size passed.
 *
 * Besides crashes and sanitizer reports, it checks:
 *   - the result is one the header documents, -EBADMSG exactly when there
 *     is no whole header, -ENOSYS exactly for opcodes outside a table
 *     written here from <linux/fuse.h>;
 *   - a decoded request says what the bytes say: the header, the fixed
 *     struct (of the size that opcode has), every name, value and the WRITE
 *     payload, and the tail is consumed exactly (nothing smuggled after a
 *     NUL or past a length);
 *   - names are single components (non-empty, <= NAME_MAX, no '/', not "."
 *     or "..") where a component is resolved, symlink targets and xattr
 *     names non-empty and bounded; the value checks (sizes <= max_read,
 *     offsets that stay positive as off_t, non-zero node ids) hold;
 *   - everything points inside the scratch buffer; and cutting the request
 *     differently (one iovec against the seeded cut) changes nothing.
 * fuse_name_ok and fuse_iov_to_buf/from_buf are checked against their
 * definitions on the same bytes.
 *
 * Dispatch against a real share (vmm/fuse_server.c and vmm/fuse_ops_*.c) is
 * fuzz_fuse_dispatch.c's.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iinclude -Icommon -Ivmm tests/fuzz/fuzz_fuse_decode.c \
 *       vmm/fuse_decode.c common/iov.c -o build/fuzz_fuse_decode
 *   cp -r tests/fuzz/corpus/fuse_decode /tmp/c && \
 *       build/fuzz_fuse_decode -max_total_time=60 /tmp/c
 * (libFuzzer adds to the corpus directory it is given: `make fuzz` gives it a copy)
 *
 * Without libFuzzer (any C compiler), -DFUZZ_MAIN adds a main that runs the
 * files named on the command line, or with none, a fixed-seed random sweep:
 *
 *   cc -DFUZZ_MAIN -D_GNU_SOURCE -Iinclude -Icommon -Ivmm \
 *       tests/fuzz/fuzz_fuse_decode.c vmm/fuse_decode.c common/iov.c \
 *       -o build/fuzz_fuse_decode_main && build/fuzz_fuse_decode_main
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_fuse_decode: %s:%d: %s\n", __FILE__,     \
				__LINE__, #c);                                       \
			abort();                                                     \
		}                                                                    \
	} while (0)

#define MAX_SEGS 64
#define MAX_REQ  (FUSE_SCRATCH_SIZE + FUSE_MAX_IO + 4096)
#define HDR      sizeof(struct fuse_in_header)

/* ---- what <linux/fuse.h> says each opcode carries ------------------------- */

enum tail { NONE, NAME, NAME2, SYMLINK, XNAME, XVALUE, FORGETS, PAYLOAD, INIT };

struct op {
	uint32_t fixed;
	uint8_t tail;
	bool node;
	bool known;
};

#define O(code, sz, t, nd) [code] = { sz, t, nd, true }
static const struct op optab[] = {
	O(FUSE_LOOKUP, 0, NAME, true),
	O(FUSE_FORGET, sizeof(struct fuse_forget_in), NONE, true),
	O(FUSE_GETATTR, sizeof(struct fuse_getattr_in), NONE, true),
	O(FUSE_SETATTR, sizeof(struct fuse_setattr_in), NONE, true),
	O(FUSE_READLINK, 0, NONE, true),
	O(FUSE_SYMLINK, 0, SYMLINK, true),
	O(FUSE_MKNOD, sizeof(struct fuse_mknod_in), NAME, true),
	O(FUSE_MKDIR, sizeof(struct fuse_mkdir_in), NAME, true),
	O(FUSE_UNLINK, 0, NAME, true),
	O(FUSE_RMDIR, 0, NAME, true),
	O(FUSE_RENAME, sizeof(struct fuse_rename_in), NAME2, true),
	O(FUSE_LINK, sizeof(struct fuse_link_in), NAME, true),
	O(FUSE_OPEN, sizeof(struct fuse_open_in), NONE, true),
	O(FUSE_READ, sizeof(struct fuse_read_in), NONE, true),
	O(FUSE_WRITE, sizeof(struct fuse_write_in), PAYLOAD, true),
	O(FUSE_STATFS, 0, NONE, true),
	O(FUSE_RELEASE, sizeof(struct fuse_release_in), NONE, true),
	O(FUSE_FSYNC, sizeof(struct fuse_fsync_in), NONE, true),
	/* The short form: FUSE_SETXATTR_EXT is never offered. */
	O(FUSE_SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, XVALUE, true),
	O(FUSE_GETXATTR, sizeof(struct fuse_getxattr_in), XNAME, true),
	O(FUSE_LISTXATTR, sizeof(struct fuse_getxattr_in), NONE, true),
	O(FUSE_REMOVEXATTR, 0, XNAME, true),
	O(FUSE_FLUSH, sizeof(struct fuse_flush_in), NONE, true),
	O(FUSE_INIT, 0, INIT, false),
	O(FUSE_OPENDIR, sizeof(struct fuse_open_in), NONE, true),
	O(FUSE_READDIR, sizeof(struct fuse_read_in), NONE, true),
	O(FUSE_RELEASEDIR, sizeof(struct fuse_release_in), NONE, true),
	O(FUSE_FSYNCDIR, sizeof(struct fuse_fsync_in), NONE, true),
	O(FUSE_ACCESS, sizeof(struct fuse_access_in), NONE, true),
	O(FUSE_CREATE, sizeof(struct fuse_create_in), NAME, true),
	O(FUSE_INTERRUPT, sizeof(struct fuse_interrupt_in), NONE, false),
	O(FUSE_DESTROY, 0, NONE, false),
	O(FUSE_BATCH_FORGET, sizeof(struct fuse_batch_forget_in), FORGETS, false),
	O(FUSE_FALLOCATE, sizeof(struct fuse_fallocate_in), NONE, true),
	O(FUSE_READDIRPLUS, sizeof(struct fuse_read_in), NONE, true),
	O(FUSE_RENAME2, sizeof(struct fuse_rename2_in), NAME2, true),
	O(FUSE_LSEEK, sizeof(struct fuse_lseek_in), NONE, true),
	O(FUSE_COPY_FILE_RANGE, sizeof(struct fuse_copy_file_range_in), NONE, true),
};
#define NOPS (sizeof(optab) / sizeof(optab[0]))

static const struct op *op_of(uint32_t opcode)
{
	return opcode < NOPS && optab[opcode].known ? &optab[opcode] : NULL;
}

/* ---- the request, flat and cut --------------------------------------------- */

static uint8_t req[MAX_REQ];
static size_t req_len;
static struct iovec segs[MAX_SEGS];
static int nsegs;

static void free_segs(void)
{
	for (int i = 0; i < nsegs; i++)
		free(segs[i].iov_base);
	nsegs = 0;
}

static void cut(uint64_t seed)
{
	size_t off = 0;
	free_segs();
	while (off < req_len || nsegs == 0) {
		size_t left = req_len - off, len;
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (nsegs == MAX_SEGS - 1)
			len = left;
		else if (seed % 4 == 0)
			len = 0; /* empty segments are legal in a chain */
		else
			len = 1 + (seed >> 8) % (seed % 3 ? 48 : 4096);
		if (len > left)
			len = left;
		void *p = malloc(len ? len : 1);
		if (!p)
			abort();
		memcpy(p, req + off, len);
		segs[nsegs++] = (struct iovec){ p, len };
		off += len;
		if (off == req_len && seed % 7)
			break;
	}
}

/* ---- invariants ------------------------------------------------------------- */

static bool component_ok(const char *s, size_t n)
{
	return n >= 1 && n <= 255 && !memchr(s, '/', n) && strcmp(s, ".") && strcmp(s, "..");
}

/* A NUL-terminated string at p inside scratch[0..lim): its length. */
static size_t str_in(const char *p, const uint8_t *scratch, size_t lim)
{
	CHECK((const uint8_t *)p >= scratch && (const uint8_t *)p < scratch + lim);
	const char *nul = memchr(p, 0, (size_t)(scratch + lim - (const uint8_t *)p));
	CHECK(nul != NULL);
	return (size_t)(nul - p);
}

static bool off_ok(uint64_t off, uint64_t len)
{
	return off <= INT64_MAX && len <= INT64_MAX - off;
}

static void check_ok(const struct fuse_req *r, const uint8_t *scratch, size_t scratch_len,
		     uint32_t max_read)
{
	const struct op *o = op_of(r->h.opcode);
	CHECK(o != NULL);
	CHECK(r->h.len == req_len && memcmp(&r->h, req, HDR) == 0);
	CHECK(!o->node || r->h.nodeid != 0);
	CHECK((size_t)r->h.total_extlen * 8 <= req_len - HDR);
	size_t args = req_len - HDR - (size_t)r->h.total_extlen * 8;
	size_t fixed = o->tail == INIT ? (args < sizeof(struct fuse_init_in) ? args
							  : sizeof(struct fuse_init_in))
				       : o->fixed;
	CHECK(r->arg_len == fixed && args >= fixed);
	CHECK(fixed ? r->arg == scratch : r->arg == NULL);
	CHECK(fixed <= scratch_len && memcmp(scratch, req + HDR, fixed) == 0);
	CHECK(strcmp(fuse_opcode_name(r->h.opcode), "?") != 0);

	/* The tail, consumed exactly; copied bytes are the request's. */
	const char *end = (const char *)scratch + args;
	size_t n, n2;
	switch (o->tail) {
	case NONE:
		CHECK(args == fixed && !r->name && !r->name2 && !r->value);
		break;
	case NAME:
	case XNAME:
		CHECK(r->name == (const char *)scratch + fixed && !r->name2);
		n = str_in(r->name, scratch, scratch_len);
		CHECK(r->name + n + 1 == end);
		if (o->tail == NAME)
			CHECK(component_ok(r->name, n));
		else
			CHECK(n >= 1 && n <= FUSE_XATTR_NAME_MAX);
		break;
	case NAME2:
	case SYMLINK:
		CHECK(r->name == (const char *)scratch + fixed);
		n = str_in(r->name, scratch, scratch_len);
		CHECK(component_ok(r->name, n));
		CHECK(r->name2 == r->name + n + 1);
		n2 = str_in(r->name2, scratch, scratch_len);
		CHECK(r->name2 + n2 + 1 == end);
		if (o->tail == NAME2)
			CHECK(component_ok(r->name2, n2));
		else
			CHECK(n2 >= 1 && n2 < FUSE_PATH_MAX);
		break;
	case XVALUE: {
		const struct fuse_setxattr_in *a = r->arg;
		CHECK(r->name == (const char *)scratch + fixed);
		n = str_in(r->name, scratch, scratch_len);
		CHECK(n >= 1 && n <= FUSE_XATTR_NAME_MAX);
		CHECK(r->value == r->name + n + 1 && r->value_len == a->size);
		CHECK(a->size <= FUSE_XATTR_SIZE_MAX);
		CHECK((const char *)r->value + r->value_len == end);
		break;
	}
	case FORGETS: {
		const struct fuse_batch_forget_in *a = r->arg;
		CHECK(r->value == scratch + fixed && r->value_len == a->count);
		CHECK(fixed + (uint64_t)a->count * sizeof(struct fuse_forget_one) == args);
		break;
	}
	case PAYLOAD: {
		const struct fuse_write_in *a = r->arg;
		CHECK(r->payload_off == HDR + fixed && r->payload_len == args - fixed);
		CHECK(r->payload_off + r->payload_len <= req_len);
		CHECK(a->size == r->payload_len && a->size <= FUSE_MAX_IO);
		CHECK(off_ok(a->offset, a->size));
		break;
	}
	case INIT:
		CHECK(args >= 16);
		break;
	}
	if (r->name)
		CHECK(memcmp(r->name, req + HDR + (size_t)((const uint8_t *)r->name - scratch),
			     strlen(r->name) + 1) == 0);

	/* The value checks. */
	switch (r->h.opcode) {
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		const struct fuse_read_in *a = r->arg;
		CHECK(a->size <= max_read && a->offset <= INT64_MAX);
		if (r->h.opcode == FUSE_READ)
			CHECK(off_ok(a->offset, a->size));
		break;
	}
	case FUSE_SETATTR: {
		const struct fuse_setattr_in *a = r->arg;
		CHECK(!(a->valid & FATTR_SIZE) || a->size <= INT64_MAX);
		break;
	}
	case FUSE_FALLOCATE: {
		const struct fuse_fallocate_in *a = r->arg;
		CHECK(off_ok(a->offset, a->length));
		break;
	}
	case FUSE_LSEEK: {
		const struct fuse_lseek_in *a = r->arg;
		CHECK(a->offset <= INT64_MAX);
		break;
	}
	case FUSE_COPY_FILE_RANGE: {
		const struct fuse_copy_file_range_in *a = r->arg;
		CHECK(a->flags == 0 && a->nodeid_out != 0);
		CHECK(a->off_in <= INT64_MAX && a->off_out <= INT64_MAX);
		break;
	}
	case FUSE_LINK:
		CHECK(((const struct fuse_link_in *)r->arg)->oldnodeid != 0);
		break;
	case FUSE_RENAME:
		CHECK(((const struct fuse_rename_in *)r->arg)->newdir != 0);
		break;
	case FUSE_RENAME2:
		CHECK(((const struct fuse_rename2_in *)r->arg)->newdir != 0);
		break;
	default:
		break;
	}
}

/* Pointer into scratch as an offset, for comparing two decodes. */
static ptrdiff_t rel(const void *p, const uint8_t *scratch)
{
	return p ? (const uint8_t *)p - scratch : -1;
}

static void check_helpers(uint16_t skip, uint16_t len)
{
	static uint8_t buf[0x10000];
	/* fuse_name_ok against its definition, on the request's own bytes. */
	size_t n = req_len < 300 ? req_len : 300;
	for (size_t k = 0; k <= n && k < 300; k += 1 + k / 8) {
		char name[301];
		memcpy(name, req, k);
		name[k] = 0;
		bool want = k >= 1 && k <= FUSE_NAME_MAX && !memchr(name, '/', k) &&
			    !memchr(req, 0, k) && strcmp(name, ".") && strcmp(name, "..");
		CHECK(fuse_name_ok(name, k) == want);
	}
	/* All-or-nothing copies. */
	bool fits = (size_t)skip <= req_len && len <= req_len - skip;
	ssize_t r = fuse_iov_to_buf(segs, nsegs, skip, buf, len);
	CHECK(r == (fits ? (ssize_t)len : -EFAULT));
	if (fits)
		CHECK(memcmp(buf, req + skip, len) == 0);
	r = fuse_iov_from_buf(segs, nsegs, skip, buf, len);
	CHECK(r == (fits ? (ssize_t)len : -ENOSPC));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t max_reads[4] = { FUSE_MAX_IO, 4096, 0, UINT32_MAX };
	static const size_t scratch_lens[4] = { FUSE_SCRATCH_SIZE, 4096, 256, 48 };
	static struct fuse_req r1, r2;

	if (size < 2)
		return 0;
	uint8_t f = data[0];
	uint64_t seed = 0x9e3779b97f4a7c15ull * (data[1] + 1u);
	uint32_t max_read = max_reads[(f >> 1) & 3];
	size_t scratch_len = scratch_lens[(f >> 3) & 3];
	data += 2;
	size -= 2;
	req_len = size < MAX_REQ ? size : MAX_REQ;
	memcpy(req, data, req_len);
	if ((f & 1) && req_len >= 4) {
		uint32_t l = (uint32_t)req_len;
		memcpy(req, &l, 4);
	}

	uint8_t *scratch = malloc(scratch_len);
	if (!scratch)
		abort();
	cut(seed);
	int rc = fuse_decode(segs, nsegs, scratch, scratch_len, max_read, &r1);
	switch (rc) {
	case 0:
	case -EBADMSG:
	case -EINVAL:
	case -ENOSYS:
	case -ENAMETOOLONG:
	case -E2BIG:
		break;
	default:
		CHECK(!"unexpected result");
	}
	CHECK((rc == -EBADMSG) == (req_len < HDR));
	if (rc != -EBADMSG)
		CHECK(memcmp(&r1.h, req, HDR) == 0);
	if (req_len >= HDR && r1.h.len == req_len)
		CHECK((rc == -ENOSYS) == (op_of(r1.h.opcode) == NULL));
	if (rc == 0)
		check_ok(&r1, scratch, scratch_len, max_read);
	CHECK(fuse_opcode_modifies(r1.h.opcode) == false || op_of(r1.h.opcode) != NULL);

	/* The same request in one piece decodes the same. */
	struct fuse_req a = r1;
	struct iovec whole = { req, req_len };
	int rc2 = fuse_decode(&whole, 1, scratch, scratch_len, max_read, &r2);
	CHECK(rc2 == rc);
	if (rc == 0) {
		CHECK(memcmp(&a.h, &r2.h, HDR) == 0 && a.arg_len == r2.arg_len);
		CHECK(rel(a.arg, scratch) == rel(r2.arg, scratch));
		CHECK(rel(a.name, scratch) == rel(r2.name, scratch));
		CHECK(rel(a.name2, scratch) == rel(r2.name2, scratch));
		CHECK(rel(a.value, scratch) == rel(r2.value, scratch) && a.value_len == r2.value_len);
		CHECK(a.payload_off == r2.payload_off && a.payload_len == r2.payload_len);
	}
	check_helpers((uint16_t)(seed >> 16), (uint16_t)(seed >> 40));
	free(scratch);
	free_segs();
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

static const char *const names[] = {
	"a", "file.txt", ".", "..", "a/b", "", ".hidden", "user.x", "security.capability",
};

int main(int argc, char **argv)
{
	static uint8_t in[MAX_REQ + 2];

	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	/* No corpus: headers for known opcodes with a small, mostly zero
	 * fixed struct, then zero to two of a few names, sometimes a
	 * payload, a value field or a count that matches. */
	for (unsigned iter = 0; iter < 100000; iter++) {
		size_t n = 0;
		in[n++] = (uint8_t)(fuzz_rnd8() % 8 ? (fuzz_rnd8() & 0x1e) | 1 : fuzz_rnd8());
		in[n++] = fuzz_rnd8();
		uint8_t *h = in + n;
		struct fuse_in_header hdr = { 0 };
		hdr.opcode = fuzz_rnd8() % 16 ? fuzz_rnd8() % NOPS : fuzz_rnd8();
		hdr.unique = iter;
		hdr.nodeid = fuzz_rnd8() % 8 ? 1 + fuzz_rnd8() % 4 : 0;
		hdr.total_extlen = fuzz_rnd8() % 16 ? 0 : fuzz_rnd8() % 3;
		n += HDR;
		const struct op *o = op_of(hdr.opcode);
		size_t fixed = o ? o->fixed : fuzz_rnd8() % 64;
		if (o && o->tail == INIT)
			fixed = fuzz_rnd8() % 2 ? 64 : 16;
		memset(in + n, 0, fixed);
		for (size_t k = 0; k < fixed; k++)
			if (fuzz_rnd8() % 8 == 0)
				in[n + k] = fuzz_rnd8() % 4 ? fuzz_rnd8() % 4 : fuzz_rnd8();
		uint8_t *arg = in + n;
		n += fixed;
		for (unsigned k = fuzz_rnd8() % 3; k; k--) {
			const char *s = names[fuzz_rnd8() % (sizeof(names) / sizeof(names[0]))];
			size_t l = strlen(s) + (fuzz_rnd8() % 8 != 0);
			memcpy(in + n, s, l);
			n += l;
		}
		if (o && o->tail == PAYLOAD) {
			uint32_t l = fuzz_rnd8() % 200;
			memset(in + n, 0xab, l);
			n += l;
			memcpy(arg + 16, &l, 4);
		}
		if (o && o->tail == XVALUE && fuzz_rnd8() % 2) {
			uint32_t l = fuzz_rnd8() % 32;
			n += l;
			memcpy(arg, &l, 4);
		}
		if (o && o->tail == FORGETS) {
			uint32_t c = fuzz_rnd8() % 5;
			memset(in + n, 0, 16 * c);
			n += 16 * c;
			memcpy(arg, &c, 4);
		}
		if (fuzz_rnd8() % 8 == 0)
			for (unsigned k = fuzz_rnd8() % 9; k; k--)
				in[n++] = fuzz_rnd8();
		n += 8 * hdr.total_extlen;
		memcpy(h, &hdr, HDR);
		if (fuzz_rnd8() % 32 == 0)
			n = 2 + fuzz_rnd8() % (n - 1);
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("fuzz_fuse_decode: 100000 random requests, all invariants held\n");
	return 0;
}
#endif
