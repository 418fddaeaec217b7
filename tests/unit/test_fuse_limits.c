/* SPDX-License-Identifier: MIT */
/* FUSE server limits a hostile guest meets: the READDIR memory budget
 * (refusal with ENOMEM, refund on RELEASEDIR), the handle reserve within
 * max_fds, and set-id bits never reaching the host. */
#include "fuse_fixture.h"
#include "fuse_dir.h"
#include "fuse_ops.h"

static int setattr_mode(struct fx *f, uint64_t nodeid, uint32_t mode)
{
	struct msg m;
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = mode };
	msg_start(&m, FUSE_SETATTR, nodeid);
	msg_add(&m, &sa, sizeof(sa));
	return call(f, &m);
}

static int mkobj(struct fx *f, uint32_t opcode, const char *name, uint32_t mode)
{
	struct msg m;
	msg_start(&m, opcode, 1);
	if (opcode == FUSE_MKDIR) {
		struct fuse_mkdir_in a = { .mode = mode };
		msg_add(&m, &a, sizeof(a));
	} else {
		struct fuse_mknod_in a = { .mode = mode };
		msg_add(&m, &a, sizeof(a));
	}
	msg_str(&m, name);
	return call(f, &m);
}

static uint32_t host_mode(struct fx *f, const char *name)
{
	struct stat st;
	assert_int_equal(fstatat(f->dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st.st_mode & 07777;
}

static int readdir_at(struct fx *f, uint64_t nodeid, uint64_t fh, uint64_t off)
{
	struct msg m;
	struct fuse_read_in r = { .fh = fh, .offset = off, .size = 4096 };
	msg_start(&m, FUSE_READDIR, nodeid);
	msg_add(&m, &r, sizeof(r));
	return call(f, &m);
}

static int releasedir(struct fx *f, uint64_t nodeid, uint64_t fh)
{
	return release_fh(f, FUSE_RELEASEDIR, nodeid, fh);
}

/* Pure: what each kind of object may keep. */
static void test_mode_strip(void **state)
{
	(void)state;
	assert_int_equal(fuse_mode_strip(S_IFREG | 06755, false), 0755);
	assert_int_equal(fuse_mode_strip(07777, false), 01777);
	assert_int_equal(fuse_mode_strip(06755, true), 02755);
	assert_int_equal(fuse_mode_strip(04000, true), 0);
	assert_int_equal(fuse_mode_strip(0xffffffffu, true), 03777);
	assert_int_equal(fuse_mode_strip(0644, false), 0644);
}

static void test_setid_never_reaches_host(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh, dnode;

	/* CREATE */
	assert_int_equal(create(f, "c", 06755, &node, &fh), 0);
	assert_int_equal(host_mode(f, "c"), 0755);
	/* SETATTR on a file: both bits go, the rest stays */
	assert_int_equal(setattr_mode(f, node, S_IFREG | 07755), 0);
	assert_int_equal(host_mode(f, "c"), 01755);
	struct fuse_attr_out *ao = body(f);
	assert_int_equal(ao->attr.mode & 07777, 01755); /* the reply tells the truth */
	assert_int_equal(setattr_mode(f, node, 02711), 0);
	assert_int_equal(host_mode(f, "c"), 0711);
	/* MKNOD (regular file) */
	assert_int_equal(mkobj(f, FUSE_MKNOD, "n", S_IFREG | 06700), 0);
	assert_int_equal(host_mode(f, "n"), 0700);
	/* MKDIR: no set-id bit in the mkdirat mode; the share root has no
	 * S_ISGID to inherit */
	assert_int_equal(mkobj(f, FUSE_MKDIR, "d", 07755), 0);
	assert_int_equal(host_mode(f, "d"), 01755);
	/* SETATTR on a directory: setgid kept, setuid stripped */
	assert_int_equal(lookup(f, 1, "d", &dnode, NULL), 0);
	assert_int_equal(setattr_mode(f, dnode, S_IFDIR | 06755), 0);
	assert_int_equal(host_mode(f, "d"), 02755);
	/* a host file that already has the bits is not the guest's doing,
	 * but the guest cannot re-add them once cleared */
	assert_int_equal(setattr_mode(f, node, 04755), 0);
	assert_int_equal(host_mode(f, "c"), 0755);
}

/* Pure: the reserve for a few max_fds values; and inodes never take it. */
static void test_handle_reserve(void **state)
{
	(void)state;
	assert_int_equal(fuse_handle_reserve(2), 0);
	assert_int_equal(fuse_handle_reserve(8), 2);
	assert_int_equal(fuse_handle_reserve(4096), 1024);
	assert_int_equal(fuse_handle_reserve(65536), 1024);
	assert_int_equal(fuse_handle_reserve(FUSE_MAX_FDS_LIMIT), FUSE_HANDLE_RESERVE_MAX);

	struct fuse_tables t = { .max_fds = 8, .inode_max_fds = 6, .nfds = 6, .ninode_fds = 6 };
	assert_false(fuse_tables_room(&t, 1, 0));  /* inodes at their part */
	assert_true(fuse_tables_room(&t, 0, 2));   /* the reserve */
	assert_false(fuse_tables_room(&t, 0, 3));
	assert_false(fuse_tables_room(&t, 1, 1));  /* CREATE */
	t.nfds = 4;
	t.ninode_fds = 2;                        /* handles may pass the reserve */
	assert_true(fuse_tables_room(&t, 0, 4));
	assert_false(fuse_tables_room(&t, 0, 5));
	assert_true(fuse_tables_room(&t, 4, 0));
	assert_false(fuse_tables_room(&t, 4, 1));
}

/* Handles past the reserve draw on the inodes' part too; inodes then wait
 * for handles to close. */
static void test_handles_share_the_rest(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh[8];
	int k;

	fuse_server_destroy(f->s);
	free(f->s);
	assert_int_equal(server_up(f, false, 8), 0);
	assert_int_equal(do_init(f), 0);
	host_write(f, "a", "1");
	host_write(f, "b", "1");
	assert_int_equal(lookup(f, 1, "a", &node, NULL), 0);
	for (k = 0; k < 8; k++)
		if (open_node(f, node, FUSE_OPEN, O_RDONLY, &fh[k]) < 0)
			break;
	assert_int_equal(k, 6);                   /* 8 - the root - "a" */
	uint64_t n2;
	assert_int_equal(lookup(f, 1, "b", &n2, NULL), -EMFILE);
	struct msg m;
	struct fuse_release_in rel = { .fh = fh[0] };
	msg_start(&m, FUSE_RELEASE, node);
	msg_add(&m, &rel, sizeof(rel));
	assert_int_equal(call(f, &m), 0);
	assert_int_equal(lookup(f, 1, "b", &n2, NULL), 0);
}

/* A share whose stream budget holds one window: a second directory's
 * READDIR is refused with ENOMEM (nothing allocated), and works once the
 * first directory is released. */
static void test_readdir_budget(void **state)
{
	struct fx *f = *state;
	int pfd = f->s->cfg.proc_self_fd;
	uint64_t da, db, fa, fb;

	fuse_server_destroy(f->s);
	struct fuse_server_config c = {
		.root_fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC),
		.proc_self_fd = pfd,
		.host_uid = getuid(), .host_gid = getgid(), .max_fds = 64,
		.dir_mem_max = sizeof(struct fuse_dir_stream) + FUSE_DIR_READ,
	};
	assert_int_equal(fuse_server_init(f->s, &c), 0);
	assert_int_equal(do_init(f), 0);
	assert_int_equal(mkdirat(f->dfd, "A", 0755), 0);
	assert_int_equal(mkdirat(f->dfd, "B", 0755), 0);
	assert_int_equal(lookup(f, 1, "A", &da, NULL), 0);
	assert_int_equal(lookup(f, 1, "B", &db, NULL), 0);
	assert_int_equal(open_node(f, da, FUSE_OPENDIR, O_RDONLY, &fa), 0);
	assert_int_equal(open_node(f, db, FUSE_OPENDIR, O_RDONLY, &fb), 0);
	/* opening costs no stream memory; the first READDIR does */
	assert_int_equal(f->s->t.dir_mem.used, 0);
	assert_int_equal(readdir_at(f, da, fa, 0), 0);
	assert_true(f->oh.len > sizeof(f->oh));   /* "." and ".." at least */
	assert_int_equal(f->s->t.dir_mem.used, c.dir_mem_max);
	assert_int_equal(readdir_at(f, db, fb, 0), -ENOMEM);
	assert_int_equal(f->s->t.dir_mem.used, c.dir_mem_max);
	assert_int_equal(releasedir(f, da, fa), 0);
	assert_int_equal(f->s->t.dir_mem.used, 0);
	assert_int_equal(readdir_at(f, db, fb, 0), 0);
	assert_true(f->oh.len > sizeof(f->oh));
	assert_int_equal(releasedir(f, db, fb), 0);
	assert_int_equal(f->s->t.dir_mem.used, 0);
}

/* A guest kernel's paging: page-sized READDIR(PLUS) requests, each from
 * the last entry it consumed, until an empty reply; then rewinddir and the
 * same again. Every entry is seen once per pass, and the stream's window
 * stays small. */
static void test_readdir_paging(void **state)
{
	struct fx *f = *state;
	enum { N = 700 };
	static unsigned char seen[N];
	uint64_t fh;
	char name[32];

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "entry-%d", i);
		host_write(f, name, "");
	}
	assert_int_equal(open_node(f, 1, FUSE_OPENDIR, O_RDONLY, &fh), 0);
	memset(seen, 0, sizeof(seen));
	for (int pass = 0; pass < 4; pass++) {
		bool plus = pass & 1;
		uint64_t off = 0;
		unsigned replies = 0;
		for (;;) {
			struct msg m;
			struct fuse_read_in r = { .fh = fh, .offset = off, .size = 4096 };
			msg_start(&m, plus ? FUSE_READDIRPLUS : FUSE_READDIR, 1);
			msg_add(&m, &r, sizeof(r));
			assert_int_equal(call(f, &m), 0);
			assert_true(++replies < 2 * N);
			size_t len = f->oh.len - sizeof(f->oh), pos = 0;
			if (len == 0)
				break;
			while (pos < len) {
				struct fuse_dirent *d;
				size_t rec;
				if (plus) {
					struct fuse_direntplus *dp = (void *)((char *)body(f) + pos);
					d = &dp->dirent;
					rec = FUSE_DIRENTPLUS_SIZE(dp);
					if (dp->entry_out.nodeid)
						forget(f, dp->entry_out.nodeid, 1);
				} else {
					d = (void *)((char *)body(f) + pos);
					rec = FUSE_DIRENT_SIZE(d);
				}
				assert_true(pos + rec <= len);
				int n;
				char nm[64] = { 0 };
				memcpy(nm, d->name, d->namelen < 63 ? d->namelen : 63);
				if (sscanf(nm, "entry-%d", &n) == 1) {
					assert_true(n >= 0 && n < N);
					seen[n]++;
				}
				off = d->off;
				pos += rec;
			}
			assert_true(f->s->t.dir_mem.used <= 8192 + 256);
		}
		for (int i = 0; i < N; i++)
			assert_int_equal(seen[i], pass + 1);
	}
	assert_int_equal(releasedir(f, 1, fh), 0);
	assert_int_equal(f->s->t.dir_mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_strip),
		cmocka_unit_test_setup_teardown(test_setid_never_reaches_host, setup, teardown),
		cmocka_unit_test(test_handle_reserve),
		cmocka_unit_test_setup_teardown(test_handles_share_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_paging, setup, teardown),
	};
	return cmocka_run_group_tests_name("fuse_limits", tests, NULL, NULL);
}
