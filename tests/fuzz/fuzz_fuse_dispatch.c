/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for FUSE dispatch (vmm/fuse_server.c and the inode,
 * handle and directory tables under it) against a real share: every input
 * is a sequence of requests served, with real system calls, over a fresh
 * temporary directory, so looked-up nodes, open handles, directory streams
 * and prepared asynchronous I/O build up from one request to the next.
 * Nodeids and fhs start from 1 on a fresh server (fuse_inode.h), so a
 * fuzzer reaches objects by small numbers.
 *
 * Layout, made once per process under $ARCA_FUZZ_TMPDIR, else /dev/shm, else
 * $TMPDIR or /tmp:
 *   fuzz_fuse_dispatch.XXXXXX/marker     a file that must never change
 *   fuzz_fuse_dispatch.XXXXXX/share/     the share, re-made for every input:
 *     hello.txt, empty, dir/inner, dir/sub/, fifo (never opened), and
 *     symlinks escape-abs (-> the marker, absolute), escape-rel
 *     (-> ../marker), parent (-> ..), dangling
 *
 * Input: one config byte
 *   bit 0 read-only share, bit 1 ids_passthrough, bits 2-3 max_fds
 *   (default, 2, 5, 16), bit 4 no /proc/self/fd (proc_self_fd -1),
 *   bit 5 no INIT sent first (else a well-formed one is, so most inputs
 *   start past it), bit 6 let a FORGET underflow be logged (stderr, once per
 *   server: off by default, or the log would drown the fuzzer's), bit 7 a
 *   cache mode other than auto: cache=writeback, or cache=none where bit 1
 *   is set too
 * then records, until the input runs out:
 *   u8 ctl, u16 len, len request bytes (as many as there are)
 *   ctl 0xff alone: complete the oldest pending asynchronous I/O;
 *   bit 0: set fuse_in_header.len to the request's length;
 *   bit 1: fuse_server_submit (the io_uring engine's path) instead of
 *          fuse_server_handle: a prepared READ/WRITE/FSYNC/FALLOCATE is
 *          executed (fuse_io_execute, the same syscall as the SQE) and
 *          completed, or with bit 2 left pending (up to 4, completed by
 *          ctl 0xff, when the table is full, or at the end of the input);
 *   bits 3-4: reply space: 8 KiB, FUSE_REPLY_MAX, FUSE_MAX_IO (+ header),
 *          or 10..80 bytes (bits 5-7);
 *   bits 5-7: how the request and the reply space are cut into iovecs,
 *          each its own heap block of exactly its size (0: one piece).
 *
 * Besides crashes, sanitizer reports and leaks (fuse_server_destroy must
 * free everything), it checks after every request:
 *   - the result is one fuse_server.h documents: 0 only for FORGET,
 *     BATCH_FORGET and INTERRUPT, -EBADMSG exactly without a whole header,
 *     -ENOSPC exactly when the reply space cannot hold a header, -EBUSY only
 *     for DESTROY with I/O pending, -EINPROGRESS only from submit;
 *   - a reply is well-formed: its length is the result and fits the space,
 *     unique is the request's, error is 0 or in [-4095, -1] and an error
 *     reply has no body; a success body has its opcode's size (entry, attr,
 *     open, init, statfs, write, lseek, getxattr size), READ and READDIR
 *     return no more than asked, every dirent is whole with a name of
 *     1..255 bytes without '/' or NUL; nothing is written past the reply;
 * and after every input, once the server is torn down:
 *   - the fds open are exactly those open before the server was made;
 *   - next to the share there is still only the marker, and the marker's
 *     inode, size, mode, owner, times and bytes are unchanged;
 *   - the share holds no device node or socket, no setuid/setgid file and
 *     no setuid directory (fuse_server.h).
 * Files are bounded by RLIMIT_FSIZE (1 MiB, SIGXFSZ ignored) and
 * FALLOCATE's KEEP_SIZE lengths clamped, so a run cannot fill the disk.
 *
 *   make build/fuzz/fuzz_fuse_dispatch
 *   cp -r tests/fuzz/corpus/fuse_dispatch /tmp/c && \
 *       build/fuzz/fuzz_fuse_dispatch -max_total_time=60 /tmp/c
 *
 * Without libFuzzer, -DFUZZ_MAIN adds a main that runs the files named on
 * the command line, or with none, a fixed-seed random sweep of request
 * sequences (make fuzz-smoke).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_decode.h"
#include "fuse_server.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_fuse_dispatch: %s:%d: %s\n", __FILE__,   \
				__LINE__, #c);                                       \
			abort();                                                     \
		}                                                                    \
	} while (0)
#define CHECK_SYS(c) CHECK((c) >= 0)

#define HDR       sizeof(struct fuse_in_header)
#define OHDR      sizeof(struct fuse_out_header)
#define MAX_REQ   (FUSE_SCRATCH_SIZE + FUSE_MAX_IO + 4096)
#define MAX_SEGS  64
#define MAX_OSEGS 16
#define NPENDING  4
#define POISON    0xa5
#define FSIZE_MAX (1u << 20)

/* ---- the share and what is next to it ------------------------------------------- */

static char base[PATH_MAX - 64], share[PATH_MAX], marker[PATH_MAX];
static struct stat marker_st;
static const char marker_text[] = "outside the share: never to change\n";

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CHECK_SYS(fd);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void remove_tree(int parent, const char *name);

static void cleanup_base(void)
{
	struct stat st;
	if (lstat(share, &st) == 0)
		remove_tree(AT_FDCWD, share);
	unlink(marker);
	rmdir(base);
}

static void setup_once(void)
{
	if (base[0])
		return;
	/* tmpfs when there is one: on ext4 mounted with discard every input
	 * took 15 times longer (the unlinks). */
	const char *tmp = getenv("ARCA_FUZZ_TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/fuzz_fuse_dispatch.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(base) != NULL);
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(marker, sizeof(marker), "%s/marker", base);
	write_file(marker, marker_text);
	atexit(cleanup_base);
	CHECK_SYS(lstat(marker, &marker_st));
	/* Files stay small whatever the offsets and sizes asked for. */
	struct rlimit rl = { FSIZE_MAX, FSIZE_MAX };
	CHECK_SYS(setrlimit(RLIMIT_FSIZE, &rl));
	signal(SIGXFSZ, SIG_IGN);
}

static void populate(void)
{
	char p[PATH_MAX + 32];
	CHECK_SYS(mkdir(share, 0755));
	snprintf(p, sizeof(p), "%s/hello.txt", share);
	write_file(p, "hello, world\n");
	snprintf(p, sizeof(p), "%s/empty", share);
	write_file(p, "");
	snprintf(p, sizeof(p), "%s/dir", share);
	CHECK_SYS(mkdir(p, 0755));
	snprintf(p, sizeof(p), "%s/dir/inner", share);
	write_file(p, "inner\n");
	snprintf(p, sizeof(p), "%s/dir/sub", share);
	CHECK_SYS(mkdir(p, 0700));
	/* Opening a FIFO for reading would block: the server must never. */
	snprintf(p, sizeof(p), "%s/fifo", share);
	CHECK_SYS(mkfifo(p, 0644));
	snprintf(p, sizeof(p), "%s/escape-abs", share);
	CHECK_SYS(symlink(marker, p));
	snprintf(p, sizeof(p), "%s/escape-rel", share);
	CHECK_SYS(symlink("../marker", p));
	snprintf(p, sizeof(p), "%s/parent", share);
	CHECK_SYS(symlink("..", p));
	snprintf(p, sizeof(p), "%s/dangling", share);
	CHECK_SYS(symlink("nowhere", p));
}

/* Check what the guest left in the share (see the header), then remove it. */
static void remove_tree(int parent, const char *name)
{
	struct stat st;
	CHECK_SYS(fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW));
	mode_t t = st.st_mode & S_IFMT;
	CHECK(t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFIFO);
	if (t == S_IFDIR)
		CHECK(!(st.st_mode & S_ISUID));
	else if (t != S_IFLNK)
		CHECK(!(st.st_mode & (S_ISUID | S_ISGID)));
	if (t != S_IFDIR) {
		CHECK_SYS(unlinkat(parent, name, 0));
		return;
	}
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	CHECK_SYS(fd);
	DIR *d = fdopendir(fd);
	CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			remove_tree(fd, e->d_name);
	closedir(d);
	CHECK_SYS(unlinkat(parent, name, AT_REMOVEDIR));
}

static void check_outside(void)
{
	struct stat st;
	CHECK_SYS(lstat(marker, &st));
	CHECK(st.st_ino == marker_st.st_ino && st.st_dev == marker_st.st_dev);
	CHECK(st.st_mode == marker_st.st_mode && st.st_nlink == marker_st.st_nlink);
	CHECK(st.st_uid == marker_st.st_uid && st.st_gid == marker_st.st_gid);
	CHECK(st.st_size == marker_st.st_size);
	CHECK(st.st_mtim.tv_sec == marker_st.st_mtim.tv_sec &&
	      st.st_mtim.tv_nsec == marker_st.st_mtim.tv_nsec);
	CHECK(st.st_ctim.tv_sec == marker_st.st_ctim.tv_sec &&
	      st.st_ctim.tv_nsec == marker_st.st_ctim.tv_nsec);
	char buf[sizeof(marker_text) + 8];
	int fd = open(marker, O_RDONLY | O_CLOEXEC);
	CHECK_SYS(fd);
	CHECK(read(fd, buf, sizeof(buf)) == (ssize_t)strlen(marker_text));
	close(fd);
	CHECK(memcmp(buf, marker_text, strlen(marker_text)) == 0);

	DIR *d = opendir(base);
	CHECK(d != NULL);
	struct dirent *e;
	unsigned n = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		CHECK(!strcmp(e->d_name, "marker") || !strcmp(e->d_name, "share"));
		n++;
	}
	closedir(d);
	CHECK(n == 2);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- iovecs: each segment its own exact heap block ------------------------------ */

struct segs {
	struct iovec v[MAX_SEGS];
	int n;
	size_t len;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Cut len bytes (from src, or poison) into at most max segments. */
static void segs_make(struct segs *sg, const uint8_t *src, size_t len, unsigned cut, int max)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull * (cut + 1);
	size_t off = 0;
	sg->n = 0;
	sg->len = len;
	while (off < len || sg->n == 0) {
		size_t l = len - off;
		uint64_t x = xorshift(&seed);
		if (cut && sg->n < max - 1) {
			size_t want = x % 4 == 0 ? 0 : 1 + (x >> 8) % (x % 3 ? 40 : 8192);
			if (want < l)
				l = want;
		}
		uint8_t *p = malloc(l ? l : 1);
		CHECK(p != NULL);
		if (src)
			memcpy(p, src + off, l);
		else
			memset(p, POISON, l);
		sg->v[sg->n++] = (struct iovec){ p, l };
		off += l;
	}
}

static void segs_free(struct segs *sg)
{
	for (int i = 0; i < sg->n; i++)
		free(sg->v[i].iov_base);
	sg->n = 0;
}

/* The first n bytes of sg, flat. */
static void segs_flat(const struct segs *sg, uint8_t *to, size_t n)
{
	for (int i = 0; i < sg->n && n; i++) {
		size_t l = sg->v[i].iov_len < n ? sg->v[i].iov_len : n;
		memcpy(to, sg->v[i].iov_base, l);
		to += l;
		n -= l;
	}
}

/* Whether sg holds only poison from byte skip on. */
static bool segs_poisoned_from(const struct segs *sg, size_t skip)
{
	static uint8_t poison[FUSE_MAX_IO + 4096];
	if (!poison[0])
		memset(poison, POISON, sizeof(poison));
	for (int i = 0; i < sg->n; i++) {
		size_t l = sg->v[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		if (memcmp((uint8_t *)sg->v[i].iov_base + skip, poison, l - skip))
			return false;
		skip = 0;
	}
	return true;
}

/* ---- replies ---------------------------------------------------------------- */

/* What a reply is checked against: the request as the server decodes it. */
struct sent {
	int dec;                     /* fuse_decode's result */
	struct fuse_in_header h;     /* valid unless dec == -EBADMSG */
	union {
		struct fuse_read_in read;
		struct fuse_getxattr_in xattr;
		uint8_t raw[128];
	} arg;
	uint32_t payload_len;
};

static uint64_t dscratch[FUSE_SCRATCH_SIZE / 8];

static void sent_decode(struct sent *sn, uint8_t *q, size_t len)
{
	struct fuse_req r;
	struct iovec v = { q, len };
	memset(sn, 0, sizeof(*sn));
	sn->dec = fuse_decode(&v, 1, dscratch, sizeof(dscratch), FUSE_MAX_IO, &r);
	if (sn->dec == -EBADMSG)
		return;
	sn->h = r.h;
	if (sn->dec == 0 && r.arg)
		memcpy(sn->arg.raw, r.arg, r.arg_len < sizeof(sn->arg) ? r.arg_len : sizeof(sn->arg));
	sn->payload_len = r.payload_len;
}

static void check_dirents(const uint8_t *p, size_t n, bool plus)
{
	size_t off = 0;
	while (off < n) {
		size_t fixed = plus ? offsetof(struct fuse_direntplus, dirent.name)
				    : offsetof(struct fuse_dirent, name);
		CHECK(n - off >= fixed);
		struct fuse_dirent d;
		memcpy(&d, p + off + (plus ? offsetof(struct fuse_direntplus, dirent) : 0),
		       sizeof(d));
		CHECK(d.namelen >= 1 && d.namelen <= 255);
		size_t rec = plus ? FUSE_DIRENTPLUS_SIZE(&(struct fuse_direntplus){ .dirent = d })
				  : FUSE_DIRENT_SIZE(&d);
		CHECK(n - off >= rec);
		const uint8_t *name = p + off + fixed;
		CHECK(!memchr(name, '/', d.namelen) && !memchr(name, 0, d.namelen));
		off += rec;
	}
}

/* The body size a successful reply to op has; -1: variable, checked apart. */
static long body_size(const struct sent *sn)
{
	switch (sn->h.opcode) {
	case FUSE_INIT:
		return sizeof(struct fuse_init_out);
	case FUSE_LOOKUP:
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_SYMLINK:
	case FUSE_LINK:
		return sizeof(struct fuse_entry_out);
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		return sizeof(struct fuse_attr_out);
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		return sizeof(struct fuse_open_out);
	case FUSE_CREATE:
		return sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out);
	case FUSE_STATFS:
		return sizeof(struct fuse_statfs_out);
	case FUSE_WRITE:
	case FUSE_COPY_FILE_RANGE:
		return sizeof(struct fuse_write_out);
	case FUSE_LSEEK:
		return sizeof(struct fuse_lseek_out);
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
		return sn->arg.xattr.size == 0 ? (long)sizeof(struct fuse_getxattr_out) : -1;
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_READLINK:
		return -1;
	default:
		return 0;
	}
}

static uint8_t flat[FUSE_MAX_IO + 4096];

/* r: what fuse_server_handle/submit/fuse_io_complete returned, out: the
 * reply space it was given. */
static void check_reply(const struct sent *sn, ssize_t r, const struct segs *out)
{
	CHECK(r >= (ssize_t)OHDR && (size_t)r <= out->len);
	CHECK(sn->dec != -EBADMSG);
	segs_flat(out, flat, (size_t)r);
	struct fuse_out_header oh;
	memcpy(&oh, flat, OHDR);
	CHECK(oh.len == (uint32_t)r);
	CHECK(oh.unique == sn->h.unique);
	CHECK(oh.error <= 0 && oh.error >= -4095);
	if (oh.error) {
		/* A body that did not fit may have been written in part before
		 * the -EINVAL reply: virtio lets a device write more than the
		 * used length (2.7.8.2 "MAY write more than len bytes"). */
		CHECK(oh.len == OHDR);
		return;
	}
	CHECK(segs_poisoned_from(out, (size_t)r));
	CHECK(sn->dec == 0);
	const uint8_t *body = flat + OHDR;
	size_t n = (size_t)r - OHDR;
	long want = body_size(sn);
	if (want >= 0) {
		CHECK(n == (size_t)want);
	} else {
		switch (sn->h.opcode) {
		case FUSE_READ:
			CHECK(n <= sn->arg.read.size);
			break;
		case FUSE_READDIR:
		case FUSE_READDIRPLUS:
			CHECK(n <= sn->arg.read.size);
			check_dirents(body, n, sn->h.opcode == FUSE_READDIRPLUS);
			break;
		case FUSE_READLINK:
			CHECK(n >= 1 && n < FUSE_PATH_MAX);
			break;
		default: /* GETXATTR, LISTXATTR with a size */
			CHECK(n <= sn->arg.xattr.size);
			break;
		}
	}
	switch (sn->h.opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_CREATE: {
		struct fuse_entry_out e;
		memcpy(&e, body, sizeof(e));
		CHECK(e.nodeid != 0);
		uint32_t t = e.attr.mode & S_IFMT;
		CHECK(t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFIFO);
		if (sn->h.opcode == FUSE_MKDIR)
			CHECK(t == S_IFDIR);
		if (sn->h.opcode == FUSE_SYMLINK)
			CHECK(t == S_IFLNK);
		if (sn->h.opcode == FUSE_CREATE) {
			struct fuse_open_out o;
			memcpy(&o, body + sizeof(e), sizeof(o));
			CHECK(t == S_IFREG && o.fh != 0);
		}
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_out o;
		memcpy(&o, body, sizeof(o));
		CHECK(o.fh != 0);
		break;
	}
	case FUSE_WRITE: {
		struct fuse_write_out w;
		memcpy(&w, body, sizeof(w));
		CHECK(w.size <= sn->payload_len);
		break;
	}
	default:
		break;
	}
}

/* ---- one input ---------------------------------------------------------------- */

struct pending {
	struct fuse_io io;
	struct sent sn;
	struct segs in, out;
};

static struct pending pend[NPENDING];
static unsigned npend;
static uint8_t req[MAX_REQ];
static struct segs in_sg, out_sg;

static void complete_oldest(struct fuse_server *s)
{
	struct pending *p = &pend[0];
	ssize_t r = fuse_io_complete(s, &p->io, fuse_io_execute(&p->io), p->out.v, p->out.n);
	check_reply(&p->sn, r, &p->out);
	segs_free(&p->in);
	segs_free(&p->out);
	npend--;
	memmove(&pend[0], &pend[1], npend * sizeof(pend[0]));
}

/* A KEEP_SIZE fallocate is not bounded by RLIMIT_FSIZE: keep it small. */
static void clamp_fallocate(uint8_t *q, size_t len)
{
	struct fuse_in_header h;
	struct fuse_fallocate_in a;
	if (len < HDR + sizeof(a))
		return;
	memcpy(&h, q, HDR);
	if (h.opcode != FUSE_FALLOCATE)
		return;
	memcpy(&a, q + HDR, sizeof(a));
	if ((a.mode & FALLOC_FL_KEEP_SIZE) && a.length > FSIZE_MAX && a.offset <= INT64_MAX &&
	    a.length <= INT64_MAX - a.offset) {
		a.length %= FSIZE_MAX;
		memcpy(q + HDR, &a, sizeof(a));
	}
}

static size_t out_space(uint8_t ctl)
{
	switch ((ctl >> 3) & 3) {
	case 0:
		return 8192 + OHDR;
	case 1:
		return FUSE_REPLY_MAX + OHDR;
	case 2:
		return FUSE_MAX_IO + OHDR;
	default:
		return 10 + 10u * (ctl >> 5);
	}
}

static void one_request(struct fuse_server *s, uint8_t ctl, const uint8_t *q, size_t len)
{
	memcpy(req, q, len);
	if ((ctl & 1) && len >= 4) {
		uint32_t l = (uint32_t)len;
		memcpy(req, &l, 4);
	}
	clamp_fallocate(req, len);
	struct sent sn;
	sent_decode(&sn, req, len);
	bool async = ctl & 2;
	if (async && npend == NPENDING)
		complete_oldest(s);
	segs_make(&in_sg, req, len, ctl >> 5, MAX_SEGS);
	segs_make(&out_sg, NULL, out_space(ctl), ctl >> 5, MAX_OSEGS);
	struct pending *p = &pend[npend];
	ssize_t r = async ? fuse_server_submit(s, in_sg.v, in_sg.n, out_sg.v, out_sg.n, &p->io)
			  : fuse_server_handle(s, in_sg.v, in_sg.n, out_sg.v, out_sg.n);
	uint32_t op = sn.h.opcode;
	if (r == -EINPROGRESS) {
		CHECK(async && sn.dec == 0);
		CHECK(op == FUSE_READ || op == FUSE_WRITE || op == FUSE_FSYNC || op == FUSE_FALLOCATE);
		p->sn = sn;
		p->in = in_sg;
		p->out = out_sg;
		in_sg.n = out_sg.n = 0;
		npend++;
		if (!(ctl & 4)) /* with others pending, this one waits: out of order */
			complete_oldest(s);
		return;
	}
	if (r == -EBADMSG)
		CHECK(len < HDR && out_sg.len >= OHDR);
	else if (r == -ENOSPC)
		CHECK(out_sg.len < OHDR);
	else if (r == -EBUSY)
		CHECK(op == FUSE_DESTROY && npend > 0);
	else if (r == 0)
		CHECK(op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INTERRUPT);
	else
		check_reply(&sn, r, &out_sg);
	if (out_sg.len < OHDR)
		CHECK(r == -ENOSPC);
	else if (len < HDR)
		CHECK(r == -EBADMSG);
	segs_free(&in_sg);
	segs_free(&out_sg);
}

static void send_init(struct fuse_server *s)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} m = {
		.h = { .len = sizeof(m), .opcode = FUSE_INIT, .unique = 1 },
		.i = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
		       .max_readahead = 1u << 17, .flags = ~0u },
	};
	one_request(s, 1, (const uint8_t *)&m, sizeof(m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned max_fds[4] = { 0, 2, 5, 16 };
	static struct fuse_server *s;
	struct in in = { data, size };

	setup_once();
	if (!s)
		CHECK((s = malloc(sizeof(*s))) != NULL);
	populate();
	uint8_t cfg = get8(&in);
	int fds_before = count_fds();
	struct fuse_server_config c = {
		.root_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC),
		.proc_self_fd = (cfg & 16) ? -1 : open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC),
		.read_only = cfg & 1,
		.ids_passthrough = cfg & 2,
		.writeback = (cfg & 128) && !(cfg & 2),
		.direct_io = (cfg & 128) && (cfg & 2),
		.host_uid = getuid(), .host_gid = getgid(),
		.guest_uid = 1000, .guest_gid = 1000,
		.max_fds = max_fds[(cfg >> 2) & 3],
	};
	CHECK_SYS(c.root_fd);
	CHECK(fuse_server_init(s, &c) == 0);
	/* Its one line on stderr per server would flood a fuzzer's log. */
	if (!(cfg & 64))
		s->t.underflow_logged = true;
	if (!(cfg & 32))
		send_init(s);
	while (in.n) {
		uint8_t ctl = get8(&in);
		if (ctl == 0xff) {
			if (npend)
				complete_oldest(s);
			continue;
		}
		size_t len = get16(&in);
		if (len > in.n)
			len = in.n;
		one_request(s, ctl, in.p, len);
		in.p += len;
		in.n -= len;
	}
	while (npend)
		complete_oldest(s);
	fuse_server_destroy(s);
	if (c.proc_self_fd >= 0)
		close(c.proc_self_fd);
	CHECK(count_fds() == fds_before);
	check_outside();
	remove_tree(AT_FDCWD, share);
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

static const char *const names[] = {
	"hello.txt", "empty", "dir", "inner", "sub", "fifo", "escape-abs", "escape-rel",
	"parent", "dangling", "new", "x", "..", "a/b", "",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static size_t put(uint8_t *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return n;
}

static size_t put_name(uint8_t *p)
{
	const char *s = names[fuzz_rnd8() % NNAMES];
	return put(p, s, strlen(s) + 1);
}

static uint64_t small_id(void)
{
	return fuzz_rnd8() % 16 ? 1u + fuzz_rnd8() % 5u : (uint64_t)fuzz_rnd8() << 32 | 1;
}

/* One random, mostly well-formed request at p: its length. */
static size_t random_request(uint8_t *p, uint64_t unique)
{
	static const uint32_t ops[] = {
		FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
		FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
		FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_SETXATTR,
		FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_REMOVEXATTR, FUSE_FLUSH, FUSE_INIT,
		FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_ACCESS,
		FUSE_CREATE, FUSE_INTERRUPT, FUSE_DESTROY, FUSE_BATCH_FORGET, FUSE_FALLOCATE,
		FUSE_READDIRPLUS, FUSE_RENAME2, FUSE_LSEEK, FUSE_COPY_FILE_RANGE,
	};
	struct fuse_in_header h = { .unique = unique, .nodeid = small_id(),
				    .opcode = ops[fuzz_rnd8() % (sizeof(ops) / sizeof(ops[0]))] };
	/* Mostly lookups (objects to work on), rarely DESTROY (forgets all). */
	if (fuzz_rnd8() % 4 == 0)
		h.opcode = FUSE_LOOKUP;
	if (h.opcode == FUSE_DESTROY && fuzz_rnd8() % 4)
		h.opcode = FUSE_OPEN;
	uint8_t a[128] = { 0 };
	size_t n = HDR, fixed = 0;
	uint64_t fh = small_id(), v;
	uint32_t u;
	switch (h.opcode) {
	case FUSE_SETATTR:
		fixed = sizeof(struct fuse_setattr_in);
		u = fuzz_rnd8() | (uint32_t)fuzz_rnd8() << 8;
		memcpy(a, &u, 4);
		memcpy(a + 8, &fh, 8);
		v = fuzz_rnd8() * 100u;
		memcpy(a + 16, &v, 8);
		u = 0100000 | 0644 | (fuzz_rnd8() % 4 ? 0 : 06000);
		memcpy(a + offsetof(struct fuse_setattr_in, mode), &u, 4);
		break;
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_CREATE:
		fixed = h.opcode == FUSE_MKDIR ? sizeof(struct fuse_mkdir_in)
		      : h.opcode == FUSE_MKNOD ? sizeof(struct fuse_mknod_in)
					       : sizeof(struct fuse_create_in);
		u = h.opcode == FUSE_CREATE ? 2u | (fuzz_rnd8() % 2 ? O_EXCL : 0) : 0;
		memcpy(a, &u, 4);
		u = (fuzz_rnd8() % 4 ? 0100000 : (uint32_t)fuzz_rnd8() << 12) | 06755;
		memcpy(a + (h.opcode == FUSE_CREATE ? 4 : 0), &u, 4);
		break;
	case FUSE_OPEN:
		fixed = sizeof(struct fuse_open_in);
		a[0] = fuzz_rnd8() % 3;
		a[1] = fuzz_rnd8() % 4 ? 0 : 2; /* O_TRUNC */
		break;
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		fixed = sizeof(struct fuse_read_in);
		memcpy(a, &fh, 8);
		v = fuzz_rnd8() % 4 ? 0 : fuzz_rnd8();
		memcpy(a + 8, &v, 8);
		u = fuzz_rnd8() % 2 ? 4096 : fuzz_rnd8();
		memcpy(a + 16, &u, 4);
		break;
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_LSEEK:
		fixed = h.opcode == FUSE_FLUSH ? sizeof(struct fuse_flush_in)
		      : h.opcode == FUSE_LSEEK ? sizeof(struct fuse_lseek_in)
		      : h.opcode == FUSE_FSYNC || h.opcode == FUSE_FSYNCDIR ? sizeof(struct fuse_fsync_in)
									     : sizeof(struct fuse_release_in);
		memcpy(a, &fh, 8);
		if (h.opcode == FUSE_LSEEK)
			a[16] = fuzz_rnd8() % 5;
		break;
	case FUSE_FALLOCATE:
		fixed = sizeof(struct fuse_fallocate_in);
		memcpy(a, &fh, 8);
		v = fuzz_rnd8() * 64u;
		memcpy(a + 16, &v, 8);
		a[24] = fuzz_rnd8() % 4;
		break;
	case FUSE_COPY_FILE_RANGE:
		fixed = sizeof(struct fuse_copy_file_range_in);
		memcpy(a, &fh, 8);
		v = small_id();
		memcpy(a + 16, &v, 8);
		v = small_id();
		memcpy(a + 24, &v, 8);
		v = fuzz_rnd8();
		memcpy(a + 40, &v, 8);
		break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_LINK:
		fixed = h.opcode == FUSE_RENAME2 ? sizeof(struct fuse_rename2_in) : 8;
		v = small_id();
		memcpy(a, &v, 8);
		if (h.opcode == FUSE_RENAME2)
			a[8] = fuzz_rnd8() % 8;
		break;
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_SETXATTR:
		fixed = h.opcode == FUSE_SETXATTR ? FUSE_COMPAT_SETXATTR_IN_SIZE
						  : sizeof(struct fuse_getxattr_in);
		u = h.opcode == FUSE_SETXATTR ? fuzz_rnd8() % 8 : fuzz_rnd8() % 2 ? 0 : 256;
		memcpy(a, &u, 4);
		break;
	case FUSE_FORGET:
	case FUSE_ACCESS:
	case FUSE_INTERRUPT:
		fixed = 8;
		a[0] = fuzz_rnd8() % 3;
		break;
	case FUSE_GETATTR:
		fixed = sizeof(struct fuse_getattr_in);
		a[0] = fuzz_rnd8() % 2; /* FUSE_GETATTR_FH */
		memcpy(a + 8, &fh, 8);
		break;
	case FUSE_BATCH_FORGET:
		fixed = 8;
		a[0] = 1;
		break;
	case FUSE_INIT:
		fixed = sizeof(struct fuse_init_in);
		u = FUSE_KERNEL_VERSION;
		memcpy(a, &u, 4);
		u = FUSE_KERNEL_MINOR_VERSION;
		memcpy(a + 4, &u, 4);
		break;
	case FUSE_WRITE:
		fixed = sizeof(struct fuse_write_in);
		memcpy(a, &fh, 8);
		v = fuzz_rnd8() % 4 ? 0 : fuzz_rnd8();
		memcpy(a + 8, &v, 8);
		u = fuzz_rnd8() % 64;
		memcpy(a + 16, &u, 4);
		break;
	default:
		break;
	}
	n += put(p + n, a, fixed);
	switch (h.opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_LINK:
	case FUSE_CREATE:
		n += put_name(p + n);
		break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_SYMLINK:
		n += put_name(p + n);
		n += put_name(p + n);
		break;
	case FUSE_GETXATTR:
	case FUSE_REMOVEXATTR:
	case FUSE_SETXATTR:
	{
		const char *x = fuzz_rnd8() % 4 ? "user.k" : "trusted.x";
		n += put(p + n, x, strlen(x) + 1);
	}
		if (h.opcode == FUSE_SETXATTR)
			for (unsigned k = a[0]; k; k--)
				p[n++] = 'v';
		break;
	case FUSE_BATCH_FORGET:
		v = small_id();
		n += put(p + n, &v, 8);
		v = 1;
		n += put(p + n, &v, 8);
		break;
	case FUSE_WRITE:
		memcpy(&u, a + 16, 4);
		memset(p + n, 'w', u);
		n += u;
		break;
	default:
		break;
	}
	h.len = (uint32_t)n;
	memcpy(p, &h, HDR);
	return n;
}

int main(int argc, char **argv)
{
	static uint8_t buf[MAX_REQ + 1024];

	if (argc > 1)
		return fuzz_run_files(argc, argv, buf, sizeof(buf));
	/* No corpus: sequences of up to 24 mostly well-formed requests on
	 * small nodeids and fhs, in varied cuts and reply spaces. */
	unsigned iters = 2000;
	for (unsigned iter = 0; iter < iters; iter++) {
		size_t n = 0;
		buf[n++] = fuzz_rnd8() % 4 ? fuzz_rnd8() & 0x0f : fuzz_rnd8();
		for (unsigned k = 1 + fuzz_rnd8() % 24; k; k--) {
			uint8_t ctl = fuzz_rnd8();
			if (fuzz_rnd8() % 2)
				ctl &= 0xe7; /* mostly the big reply space */
			if (ctl == 0xff) {
				buf[n++] = ctl;
				continue;
			}
			buf[n++] = ctl | 1;
			size_t l = random_request(buf + n + 2, iter * 100u + k);
			if (fuzz_rnd8() % 32 == 0)
				l = fuzz_rnd8() % (l + 1);
			uint16_t l16 = (uint16_t)l;
			memcpy(buf + n, &l16, 2);
			n += 2 + l;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_fuse_dispatch: %u random request sequences, all invariants held\n", iters);
	return 0;
}
#endif
