/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for split virtqueues, device side (vmm/virtq.c).
 *
 * Guest RAM is two heap blocks of exactly their size (so ASan sees a byte
 * past either), laid out as arca lays RAM out: 64 KiB at guest physical 0
 * and 8 KiB at GM_HIGH_RAM_START, with the hole between. The input picks
 * the queue (size, event-idx, ring addresses, compact or anywhere), then is
 * a program of guest and device steps: the guest writes descriptors, the
 * avail ring and raw bytes anywhere in RAM; the device pops, unpops, pushes,
 * copies and asks about notifications, in any order.
 *
 * Besides crashes and sanitizer reports, a small reference walker written
 * from the spec (2.7.5, 2.7.7, 2.7.10) predicts every virtq_pop: empty,
 * broken, or exactly which iovecs (checked against our own gpa translation,
 * so every popped iovec lies inside guest RAM), with nout + nin <=
 * VIRTQ_MAX_SEGS and <= the queue size. A broken queue stays broken (pop,
 * has_avail, enable_kick) until it is activated again; push writes the used
 * element and index it should; enable_kick and should_notify follow 2.7.10.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iinclude -Icommon -Ivmm tests/fuzz/fuzz_virtq.c vmm/virtq.c \
 *       vmm/guestmem.c common/iov.c -o build/fuzz_virtq
 *   cp -r tests/fuzz/corpus/virtq /tmp/c && build/fuzz_virtq -max_total_time=60 /tmp/c
 * (libFuzzer adds to the corpus directory it is given: `make fuzz` gives it a copy)
 *
 * Without libFuzzer (any C compiler), -DFUZZ_MAIN adds a main that runs the
 * files named on the command line, or with none, a fixed-seed random sweep:
 *
 *   cc -DFUZZ_MAIN -D_GNU_SOURCE -Iinclude -Icommon -Ivmm \
 *       tests/fuzz/fuzz_virtq.c vmm/virtq.c vmm/guestmem.c common/iov.c \
 *       -o build/fuzz_virtq_main && build/fuzz_virtq_main
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "fuzz_input.h"
#include "guestmem.h"
#include "virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_virtq: %s:%d: %s\n", __FILE__, __LINE__, \
				#c);                                                 \
			abort();                                                     \
		}                                                                    \
	} while (0)

#define LOW_SIZE  0x10000ull
#define HIGH_SIZE 0x2000ull
#define MAX_OPS   512u
#define MAX_HELD  4u /* popped, not yet pushed */

static uint8_t *low, *high;
static struct guest_mem gm;
static struct virtq vq;
static struct virtq_elem held[MAX_HELD];
static unsigned nheld;


/* A guest physical address from 16 input bits: mostly inside RAM, often at
 * an edge (end of low RAM, the hole, the high region and past it), now and
 * then one that wraps. */
static uint64_t gpa_from(uint16_t v)
{
	static const uint64_t wild[8] = {
		UINT64_MAX, UINT64_MAX - 15, 1ull << 63, GM_LOW_RAM_END,
		GM_HIGH_RAM_START + HIGH_SIZE, GM_MMIO_BASE, LOW_SIZE, GM_HIGH_RAM_START - 16,
	};
	uint64_t o = v & 0x3fff;
	switch (v >> 14) {
	case 0:
		return o * 4;
	case 1:
		return GM_HIGH_RAM_START - 0x1000 + o;
	case 2:
		return LOW_SIZE - 0x2000 + o;
	default:
		return wild[o & 7] - (o >> 3);
	}
}

static uint32_t len_from(uint16_t v)
{
	static const uint32_t wild[8] = {
		0xffffffffu, 0xfffffff0u, 0x80000000u, 0x7fffffffu,
		0x10000u, 0x10001u, 0x2000u, 0x2001u,
	};
	return v < 0xf000 ? v : wild[v & 7];
}

/* ---- the reference: our own view of guest RAM and of the spec ------------ */

/* Host address of [gpa, gpa+len) if it lies inside one region. Written
 * apart from gm_ptr() on purpose: it is what gm_ptr() is checked against. */
static uint8_t *host_of(uint64_t gpa, uint64_t len)
{
	if (gpa < LOW_SIZE && len <= LOW_SIZE - gpa)
		return low + gpa;
	if (gpa >= GM_HIGH_RAM_START && gpa - GM_HIGH_RAM_START < HIGH_SIZE &&
	    len <= HIGH_SIZE - (gpa - GM_HIGH_RAM_START))
		return high + (gpa - GM_HIGH_RAM_START);
	if (gpa == LOW_SIZE && len == 0)
		return low + LOW_SIZE;
	if (gpa == GM_HIGH_RAM_START + HIGH_SIZE && len == 0)
		return high + HIGH_SIZE;
	return NULL;
}

static bool inside_ram(const void *p, size_t len)
{
	const uint8_t *q = p;
	if (q >= low && q <= low + LOW_SIZE && len <= (size_t)(low + LOW_SIZE - q))
		return true;
	return q >= high && q <= high + HIGH_SIZE && len <= (size_t)(high + HIGH_SIZE - q);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, host_of(gpa, 2), 2);
	return v;
}

static void wr16(uint64_t gpa, uint16_t v)
{
	memcpy(host_of(gpa, 2), &v, 2);
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, host_of(gpa, 4), 4);
	return v;
}

struct model {
	bool active, broken;
	uint16_t last_avail, used_idx, signalled;
	bool signalled_valid;
	bool popped_last; /* the last device step was a successful pop */
};
static struct model m;

#define AVAIL_IDX(q)     ((q)->avail_gpa + 2)
#define AVAIL_RING(q, i) ((q)->avail_gpa + 4 + 2ull * (i))
#define USED_IDX(q)      ((q)->used_gpa + 2)
#define USED_RING(q, i)  ((q)->used_gpa + 4 + 8ull * (i))

/* What virtq_pop must do, from the spec and virtq.h's list of refusals. */
static int model_pop(struct virtq_elem *x)
{
	uint16_t n = vq.num;
	if (m.broken)
		return -EIO;
	uint16_t pending = (uint16_t)(rd16(AVAIL_IDX(&vq)) - m.last_avail);
	if (pending == 0)
		return 0;
	if (pending > n)
		return -EIO;
	uint16_t head = rd16(AVAIL_RING(&vq, m.last_avail % n));
	if (head >= n)
		return -EIO;
	memset(x, 0, sizeof(*x));
	x->head = head;
	uint16_t i = head;
	for (unsigned visited = 0;; visited++) {
		if (visited == n)
			return -EIO; /* a loop */
		uint64_t d = vq.desc_gpa + 16ull * i;
		uint64_t addr;
		memcpy(&addr, host_of(d, 8), 8);
		uint32_t len = rd32(d + 8);
		uint16_t flags = rd16(d + 12), next = rd16(d + 14);
		if (flags & VRING_DESC_F_INDIRECT)
			return -EIO;
		bool w = flags & VRING_DESC_F_WRITE;
		if (!w && x->nin)
			return -EIO;
		if (len) {
			uint8_t *p = host_of(addr, len);
			if (!p || x->nout + x->nin == VIRTQ_MAX_SEGS)
				return -EIO;
			x->iov[x->nout + x->nin] = (struct iovec){ p, len };
			if (w) {
				x->nin++;
				x->in_len += len;
			} else {
				x->nout++;
				x->out_len += len;
			}
		}
		if (!(flags & VRING_DESC_F_NEXT))
			return 1;
		if (next >= n)
			return -EIO;
		i = next;
	}
}

static bool model_has_avail(void)
{
	return m.active && !m.broken && rd16(AVAIL_IDX(&vq)) != m.last_avail;
}

/* ---- steps ------------------------------------------------------------------ */

static void check_broken_sticks(void)
{
	struct virtq_elem e;
	CHECK(vq.broken && vq.why_broken != NULL);
	CHECK(virtq_pop(&vq, &e) == -EIO);
	CHECK(!virtq_has_avail(&vq));
	CHECK(!virtq_enable_kick(&vq));
}

static void step_pop(void)
{
	static struct virtq_elem e, want;
	int exp = model_pop(&want);
	int rc = virtq_pop(&vq, &e);
	CHECK(rc == exp);
	m.popped_last = false;
	if (rc < 0) {
		m.broken = true;
		check_broken_sticks();
		return;
	}
	if (rc == 0) {
		CHECK(!virtq_has_avail(&vq));
		return;
	}
	CHECK(e.head == want.head && e.head < vq.num);
	CHECK(e.nout == want.nout && e.nin == want.nin);
	CHECK(e.nout + e.nin <= VIRTQ_MAX_SEGS && e.nout + e.nin <= vq.num);
	CHECK(e.out_len == want.out_len && e.in_len == want.in_len);
	for (unsigned i = 0; i < e.nout + e.nin; i++) {
		CHECK(e.iov[i].iov_base == want.iov[i].iov_base);
		CHECK(e.iov[i].iov_len == want.iov[i].iov_len && e.iov[i].iov_len > 0);
		CHECK(inside_ram(e.iov[i].iov_base, e.iov[i].iov_len));
	}
	m.last_avail++;
	if (nheld == MAX_HELD) {
		/* Complete the oldest to make room, as a device would. */
		virtq_push(&vq, &held[0], 0);
		m.used_idx++;
		memmove(&held[0], &held[1], sizeof(held[0]) * (MAX_HELD - 1));
		nheld--;
	}
	held[nheld++] = e;
	m.popped_last = true;
}

static void step_unpop(void)
{
	/* The API allows it only for the element popped last, not pushed. */
	if (!m.popped_last)
		return;
	virtq_unpop(&vq);
	m.last_avail--;
	nheld--;
	m.popped_last = false;
}

static void step_push(uint8_t which, uint32_t written)
{
	if (!nheld)
		return;
	unsigned k = which % nheld;
	const struct virtq_elem *e = &held[k];
	uint16_t slot = m.used_idx % vq.num;
	virtq_push(&vq, e, written);
	m.used_idx++;
	CHECK(rd32(USED_RING(&vq, slot)) == e->head);
	CHECK(rd32(USED_RING(&vq, slot) + 4) == (written < e->in_len ? written : e->in_len));
	CHECK(rd16(USED_IDX(&vq)) == m.used_idx);
	memmove(&held[k], &held[k + 1], sizeof(held[0]) * (nheld - k - 1));
	nheld--;
	m.popped_last = false;
}

static void step_enable_kick(void)
{
	bool rc = virtq_enable_kick(&vq);
	/* Judged after the call: the guest may have laid the used ring over
	 * the avail index, and the device re-checks after its own store. */
	CHECK(rc == model_has_avail());
	if (m.broken)
		return;
	if (vq.event_idx)
		CHECK(rd16(USED_RING(&vq, vq.num)) == m.last_avail);
	else
		CHECK(rd16(vq.used_gpa) == 0);
}

static void step_should_notify(void)
{
	bool exp;
	if (!vq.event_idx) {
		exp = !(rd16(vq.avail_gpa) & VRING_AVAIL_F_NO_INTERRUPT);
	} else {
		uint16_t old = m.signalled, new_idx = m.used_idx;
		uint16_t ev = rd16(AVAIL_RING(&vq, vq.num));
		exp = !m.signalled_valid || (uint16_t)(new_idx - ev - 1) < (uint16_t)(new_idx - old);
		m.signalled = new_idx;
		m.signalled_valid = true;
	}
	CHECK(virtq_should_notify(&vq) == exp);
}

static void step_copy(uint8_t which, uint16_t off, uint16_t len, bool to_in)
{
	static uint8_t buf[0x10000], ref[0x10000];
	if (!nheld)
		return;
	const struct virtq_elem *e = &held[which % nheld];
	uint64_t total = to_in ? e->in_len : e->out_len;
	size_t exp = off >= total ? 0 : (total - off < len ? (size_t)(total - off) : len);
	if (to_in) {
		memset(buf, 0x5a, len);
		CHECK(virtq_copy_to_in(e, off, buf, len) == exp);
		return;
	}
	CHECK(virtq_copy_from_out(e, off, buf, len) == exp);
	/* Same bytes as walking the iovecs ourselves. */
	size_t skip = off, done = 0;
	for (unsigned i = 0; i < e->nout && done < exp; i++) {
		size_t l = e->iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t t = l - skip < exp - done ? l - skip : exp - done;
		memcpy(ref + done, (uint8_t *)e->iov[i].iov_base + skip, t);
		done += t;
		skip = 0;
	}
	CHECK(done == exp && memcmp(buf, ref, exp) == 0);
}

/* (Re)activate the queue from the transport's point of view. */
static void activate(uint16_t num, bool event_idx, uint64_t d, uint64_t a, uint64_t u)
{
	virtq_reset(&vq);
	vq.num = num;
	vq.desc_gpa = d;
	vq.avail_gpa = a;
	vq.used_gpa = u;
	vq.event_idx = event_idx;
	int exp = 0;
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		exp = -EINVAL;
	else if ((d & 15) || (a & 1) || (u & 3) || !host_of(d, 16ull * num) ||
		 !host_of(a, 6ull + 2 * num) || !host_of(u, 6ull + 8 * num))
		exp = -EFAULT;
	int rc = virtq_activate(&vq, &gm);
	CHECK(rc == exp);
	memset(&m, 0, sizeof(m));
	nheld = 0;
	m.active = rc == 0;
	vq.ready = m.active;
	if (!m.active) {
		struct virtq_elem e;
		CHECK(virtq_pop(&vq, &e) == 0);
		CHECK(!virtq_has_avail(&vq) && !virtq_enable_kick(&vq));
		return;
	}
	CHECK((uint8_t *)vq.desc == host_of(d, 0) && (uint8_t *)vq.avail == host_of(a, 0) &&
	      (uint8_t *)vq.used == host_of(u, 0));
}

static const uint16_t sizes[16] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 8, 0, 3, 2048, 1000,
};

static void setup_queue(struct in *in)
{
	uint8_t f = get8(in);
	uint16_t num = sizes[f & 15];
	uint64_t d, a, u;
	if (f & 0x20) {
		d = gpa_from(get16(in));
		a = gpa_from(get16(in));
		u = gpa_from(get16(in));
	} else {
		/* What a driver does: rings packed at the top of low RAM,
		 * buffers below. */
		d = 0x8000;
		a = d + 16ull * num;
		u = (a + 6 + 2ull * num + 3) & ~3ull;
	}
	activate(num, f & 0x10, d, a, u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!low) {
		low = malloc(LOW_SIZE);
		high = malloc(HIGH_SIZE);
		if (!low || !high)
			abort();
		gm.r[0] = (struct gm_region){ .gpa = 0, .size = LOW_SIZE, .host = low };
		gm.r[1] = (struct gm_region){ .gpa = GM_HIGH_RAM_START, .size = HIGH_SIZE,
					      .host = high };
		gm.nr = 2;
		gm.base = low;
		gm.size = LOW_SIZE + HIGH_SIZE;
	}
	memset(low, 0, LOW_SIZE);
	memset(high, 0, HIGH_SIZE);

	struct in in = { data, size };
	setup_queue(&in);

	for (unsigned ops = 0; in.n && ops < MAX_OPS; ops++) {
		uint8_t op = get8(&in);
		if (!m.active && (op & 15) != 13)
			continue;
		switch (op & 15) {
		case 0: { /* guest: one descriptor */
			uint16_t i = get16(&in) % vq.num;
			uint64_t addr = gpa_from(get16(&in));
			uint32_t len = len_from(get16(&in));
			uint16_t flags = get8(&in) & 7, next = get16(&in);
			uint8_t *p = host_of(vq.desc_gpa + 16ull * i, 16);
			memcpy(p, &addr, 8);
			memcpy(p + 8, &len, 4);
			memcpy(p + 12, &flags, 2);
			memcpy(p + 14, &next, 2);
			break;
		}
		case 1: { /* guest: make a head available */
			uint16_t idx = rd16(AVAIL_IDX(&vq));
			wr16(AVAIL_RING(&vq, idx % vq.num), get16(&in));
			wr16(AVAIL_IDX(&vq), (uint16_t)(idx + 1));
			break;
		}
		case 2: /* guest: any avail index */
			wr16(AVAIL_IDX(&vq), get16(&in));
			break;
		case 3: /* guest: avail flags and used_event */
			wr16(vq.avail_gpa, get16(&in));
			wr16(AVAIL_RING(&vq, vq.num), get16(&in));
			break;
		case 4: { /* guest: raw bytes anywhere in RAM */
			uint64_t gpa = gpa_from(get16(&in));
			uint8_t n = get8(&in) % 32;
			uint8_t *p = host_of(gpa, n);
			for (unsigned k = 0; k < n; k++) {
				uint8_t b = get8(&in);
				if (p)
					p[k] = b;
			}
			break;
		}
		case 5:
		case 6:
			step_pop();
			break;
		case 7:
			step_unpop();
			break;
		case 8: {
			uint8_t which = get8(&in);
			step_push(which, len_from(get16(&in)));
			break;
		}
		case 9:
			step_enable_kick();
			break;
		case 10:
			step_should_notify();
			break;
		case 11:
			CHECK(virtq_has_avail(&vq) == model_has_avail());
			break;
		case 12: {
			uint8_t which = get8(&in);
			uint16_t off = get16(&in), len = get16(&in);
			step_copy(which, off, len, which & 0x80);
			break;
		}
		case 13: /* transport: reset and set up again */
			setup_queue(&in);
			break;
		default: /* a burst: pop everything, push it all back */
			for (unsigned k = 0; k < vq.num + 1u && !m.broken; k++) {
				step_pop();
				if (!m.popped_last)
					break;
				step_push(0, 1);
			}
			step_should_notify();
			step_enable_kick();
			break;
		}
		if (m.broken)
			check_broken_sticks();
	}
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

int main(int argc, char **argv)
{
	static uint8_t in[8192];

	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	/* No corpus: small queues and programs made mostly of well-formed
	 * descriptor writes, publishes and pops, so chains get popped. */
	for (unsigned iter = 0; iter < 50000; iter++) {
		size_t n = 0;
		in[n++] = (uint8_t)((fuzz_rnd8() % 6) | (fuzz_rnd8() & 0x10) | (fuzz_rnd8() % 8 ? 0 : 0x20));
		while (n < 600) {
			uint8_t r = fuzz_rnd8() % 8, op = fuzz_rnd8() % 16;
			if (r == 0) { /* a descriptor in low RAM, lengths small */
				in[n++] = 0;
				in[n++] = fuzz_rnd8() % 8;
				in[n++] = 0;
				in[n++] = fuzz_rnd8();
				in[n++] = fuzz_rnd8() % 0x20;
				in[n++] = fuzz_rnd8();
				in[n++] = fuzz_rnd8() % 4;
				in[n++] = fuzz_rnd8();
				in[n++] = fuzz_rnd8() % 8;
				in[n++] = 0;
			} else if (r == 1) {
				in[n++] = 1;
				in[n++] = fuzz_rnd8() % 8;
				in[n++] = 0;
			} else if (r < 4) {
				in[n++] = 5;
			} else if (r == 4) {
				in[n++] = 8;
				in[n++] = fuzz_rnd8();
				in[n++] = fuzz_rnd8();
				in[n++] = fuzz_rnd8() % 4;
			} else {
				in[n++] = op;
				for (unsigned k = fuzz_rnd8() % 8; k; k--)
					in[n++] = fuzz_rnd8();
			}
		}
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("fuzz_virtq: 50000 random programs, all invariants held\n");
	return 0;
}
#endif
