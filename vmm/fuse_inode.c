/* SPDX-License-Identifier: MIT */
/* FUSE inode and handle tables: see fuse_inode.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse_dir.h"
#include "fuse_inode.h"
#include "lazymem.h"

static uint64_t make_id(uint32_t gen, unsigned slot)
{
	return ((uint64_t)gen << 32) | ((uint64_t)slot + 1);
}

/* Split an id; false if its slot is outside cap. */
static bool split_id(uint64_t id, unsigned cap, unsigned *slot, uint32_t *gen)
{
	uint64_t s = id & 0xffffffffu;
	if (s == 0 || s > cap)
		return false;
	*slot = (unsigned)(s - 1);
	*gen = (uint32_t)(id >> 32);
	return true;
}

static unsigned hash(const struct fuse_tables *t, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return (unsigned)(h >> 32) & (t->nbuckets - 1);
}

unsigned fuse_handle_reserve(unsigned max_fds)
{
	unsigned r = max_fds / 4;
	return r < FUSE_HANDLE_RESERVE_MAX ? r : FUSE_HANDLE_RESERVE_MAX;
}

bool fuse_tables_room(const struct fuse_tables *t, unsigned inodes, unsigned handles)
{
	unsigned n = inodes + handles;
	return n <= t->max_fds - t->nfds && inodes <= t->inode_max_fds - t->ninode_fds;
}

int fuse_tables_init(struct fuse_tables *t, int root_fd, unsigned max_fds)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (max_fds < 2 || max_fds > FUSE_MAX_FDS_LIMIT)
		return -EINVAL;
	if (fstat(root_fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	t->icap = max_fds;
	t->hcap = max_fds;
	/* Chains of about 16 at the largest table: the bucket array is
	 * initialised (touched) up front, the slot arrays are not. */
	t->nbuckets = 64;
	while (t->nbuckets * 16 < max_fds && t->nbuckets < (1u << 16))
		t->nbuckets <<= 1;
	/* Sized for max_fds (64 Ki) but used from the bottom up: only the
	 * slots ever used cost memory. */
	t->inodes = lazymem_alloc(t->icap * sizeof(*t->inodes));
	t->handles = lazymem_alloc(t->hcap * sizeof(*t->handles));
	t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
	if (!t->inodes || !t->handles || !t->buckets) {
		lazymem_free(t->inodes, t->icap * sizeof(*t->inodes));
		lazymem_free(t->handles, t->hcap * sizeof(*t->handles));
		free(t->buckets);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < t->nbuckets; i++)
		t->buckets[i] = -1;
	t->ifree = t->hfree = -1;
	t->max_fds = max_fds;
	t->inode_max_fds = max_fds - fuse_handle_reserve(max_fds);
	t->dir_mem.max = FUSE_DIR_BUDGET_DEFAULT;

	/* The root takes slot 0 with generation 0: nodeid FUSE_ROOT_ID. */
	struct fuse_inode *r = &t->inodes[0];
	t->ihwm = 1;
	r->fd = root_fd;
	r->type = S_IFDIR;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->nlookup = 1;
	unsigned b = hash(t, r->dev, r->ino);
	r->next = t->buckets[b];
	t->buckets[b] = 0;
	t->nfds = 1;
	t->ninode_fds = 1;
	return 0;
}

static void unhash(struct fuse_tables *t, unsigned slot)
{
	struct fuse_inode *i = &t->inodes[slot];
	int *pp = &t->buckets[hash(t, i->dev, i->ino)];
	while (*pp != -1) {
		if (*pp == (int)slot) {
			*pp = i->next;
			return;
		}
		pp = &t->inodes[*pp].next;
	}
}

static void inode_free(struct fuse_tables *t, unsigned slot)
{
	struct fuse_inode *i = &t->inodes[slot];
	unhash(t, slot);
	close(i->fd);
	t->nfds--;
	t->ninode_fds--;
	i->fd = -1;
	i->gen++; /* stale nodeids of this slot no longer match */
	i->nlookup = 0;
	i->nhandles = 0;
	i->ndirect = 0;
	i->next = t->ifree;
	t->ifree = (int)slot;
}

static void inode_maybe_free(struct fuse_tables *t, unsigned slot)
{
	struct fuse_inode *i = &t->inodes[slot];
	if (slot != 0 && i->nlookup == 0 && i->nhandles == 0)
		inode_free(t, slot);
}

static void handle_close(struct fuse_tables *t, unsigned slot)
{
	struct fuse_handle *h = &t->handles[slot];
	unsigned islot = h->islot;
	close(h->fd);
	t->nfds--;
	h->fd = -1;
	fuse_dir_free(h->ds);
	h->ds = NULL;
	h->gen++;
	h->released = false;
	h->inflight = 0;
	h->next = t->hfree;
	t->hfree = (int)slot;
	if (t->inodes[islot].nhandles > 0)
		t->inodes[islot].nhandles--;
	if (h->direct && t->inodes[islot].ndirect > 0)
		t->inodes[islot].ndirect--;
	h->direct = false;
	inode_maybe_free(t, islot);
}

void fuse_tables_reset(struct fuse_tables *t)
{
	for (unsigned i = 0; i < t->hhwm; i++)
		if (t->handles[i].fd >= 0)
			handle_close(t, i);
	for (unsigned i = 1; i < t->ihwm; i++)
		if (t->inodes[i].fd >= 0)
			inode_free(t, i);
	t->inodes[0].nlookup = 1;
}

void fuse_tables_destroy(struct fuse_tables *t)
{
	if (!t->inodes)
		return;
	fuse_tables_reset(t);
	close(t->inodes[0].fd);
	lazymem_free(t->inodes, t->icap * sizeof(*t->inodes));
	lazymem_free(t->handles, t->hcap * sizeof(*t->handles));
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct fuse_inode *fuse_inode_get(struct fuse_tables *t, uint64_t nodeid)
{
	unsigned slot;
	uint32_t gen;

	/* Slots above the high-water mark were never handed out. */
	if (!split_id(nodeid, t->ihwm, &slot, &gen))
		return NULL;
	struct fuse_inode *i = &t->inodes[slot];
	if (i->fd < 0 || i->gen != gen)
		return NULL;
	return i;
}

uint64_t fuse_inode_id(const struct fuse_tables *t, const struct fuse_inode *i)
{
	return make_id(i->gen, (unsigned)(i - t->inodes));
}

int fuse_inode_insert(struct fuse_tables *t, int fd, const struct stat *st, uint64_t *nodeid)
{
	for (int s = t->buckets[hash(t, st->st_dev, st->st_ino)]; s != -1; s = t->inodes[s].next) {
		struct fuse_inode *i = &t->inodes[s];
		if (i->dev == st->st_dev && i->ino == st->st_ino) {
			/* Same object already known (hard link, repeated lookup):
			 * keep the first fd, one fd per object. */
			close(fd);
			i->nlookup++;
			*nodeid = make_id(i->gen, (unsigned)s);
			return 0;
		}
	}
	if (!fuse_tables_room(t, 1, 0) || (t->ifree < 0 && t->ihwm == t->icap)) {
		close(fd);
		return -EMFILE;
	}
	unsigned slot;
	if (t->ifree >= 0) {
		slot = (unsigned)t->ifree;
		t->ifree = t->inodes[slot].next;
	} else {
		slot = t->ihwm++; /* fresh calloc'ed slot: generation 0 */
	}
	struct fuse_inode *i = &t->inodes[slot];
	i->fd = fd;
	i->type = st->st_mode & S_IFMT;
	i->dev = st->st_dev;
	i->ino = st->st_ino;
	i->nlookup = 1;
	i->nhandles = 0;
	i->ndirect = 0;
	unsigned b = hash(t, i->dev, i->ino);
	i->next = t->buckets[b];
	t->buckets[b] = (int)slot;
	t->nfds++;
	t->ninode_fds++;
	*nodeid = make_id(i->gen, slot);
	return 0;
}

void fuse_inode_forget(struct fuse_tables *t, uint64_t nodeid, uint64_t n)
{
	struct fuse_inode *i = fuse_inode_get(t, nodeid);
	if (!i)
		return;
	if (n > i->nlookup) {
		if (!t->underflow_logged) {
			fprintf(stderr, "arca-vmm: fuse: FORGET of %llu references, %llu held (clamped; logged once)\n",
				(unsigned long long)n, (unsigned long long)i->nlookup);
			t->underflow_logged = true;
		}
		n = i->nlookup;
	}
	i->nlookup -= n;
	inode_maybe_free(t, (unsigned)(i - t->inodes));
}

int fuse_handle_new(struct fuse_tables *t, uint64_t nodeid, int fd, bool dir, uint64_t *fh)
{
	struct fuse_inode *i = fuse_inode_get(t, nodeid);
	if (!i) {
		close(fd);
		return -EINVAL;
	}
	if (!fuse_tables_room(t, 0, 1) || (t->hfree < 0 && t->hhwm == t->hcap)) {
		close(fd);
		return -EMFILE;
	}
	unsigned slot;
	if (t->hfree >= 0) {
		slot = (unsigned)t->hfree;
		t->hfree = t->handles[slot].next;
	} else {
		slot = t->hhwm++;
	}
	struct fuse_handle *h = &t->handles[slot];
	h->fd = fd;
	h->islot = (uint32_t)(i - t->inodes);
	h->dir = dir;
	h->ds = NULL; /* created by the first READDIR */
	h->released = false;
	h->direct = false;
	h->inflight = 0;
	h->next = -1;
	i->nhandles++;
	t->nfds++;
	*fh = make_id(h->gen, slot);
	return 0;
}

void fuse_handle_mark_direct(struct fuse_tables *t, struct fuse_handle *h)
{
	if (h->direct)
		return;
	h->direct = true;
	t->inodes[h->islot].ndirect++;
}

struct fuse_handle *fuse_handle_get(struct fuse_tables *t, uint64_t fh, uint64_t nodeid, bool dir)
{
	unsigned slot;
	uint32_t gen;

	if (!split_id(fh, t->hhwm, &slot, &gen))
		return NULL;
	struct fuse_handle *h = &t->handles[slot];
	if (h->fd < 0 || h->gen != gen || h->released || h->dir != dir)
		return NULL;
	struct fuse_inode *i = fuse_inode_get(t, nodeid);
	if (!i || (unsigned)(i - t->inodes) != h->islot)
		return NULL;
	return h;
}

int fuse_handle_release(struct fuse_tables *t, uint64_t fh, uint64_t nodeid, bool dir)
{
	struct fuse_handle *h = fuse_handle_get(t, fh, nodeid, dir);
	if (!h)
		return -EBADF;
	if (h->inflight) {
		h->released = true;
		return 0;
	}
	handle_close(t, (unsigned)(h - t->handles));
	return 0;
}

void fuse_handle_hold(struct fuse_handle *h)
{
	h->inflight++;
}

void fuse_handle_unhold(struct fuse_tables *t, struct fuse_handle *h)
{
	if (h->inflight > 0)
		h->inflight--;
	if (h->inflight == 0 && h->released)
		handle_close(t, (unsigned)(h - t->handles));
}
