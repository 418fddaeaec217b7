/* SPDX-License-Identifier: MIT */
/* Virtqueue chain walking against well-formed and hostile rings, over a
 * real guest-memory layout (no mocks): loops, out-of-RAM buffers, lengths
 * that overflow, too many descriptors, bad indices, ordering violations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_ring.h>

#include "guestmem.h"
#include "virtq.h"

#define RAM   (1u << 20)
#define QSZ   16u
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define BUF   0x10000u

struct fx {
	uint8_t *ram;
	struct guest_mem gm;
	struct virtq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ram = aligned_alloc(4096, RAM);
	memset(f->ram, 0, RAM);
	assert_int_equal(gm_layout(&f->gm, f->ram, RAM), 0);
	f->vq.num = QSZ;
	f->vq.desc_gpa = DESC;
	f->vq.avail_gpa = AVAIL;
	f->vq.used_gpa = USED;
	assert_int_equal(virtq_activate(&f->vq, &f->gm), 0);
	f->vq.ready = true;
	f->desc = (void *)(f->ram + DESC);
	f->avail = (void *)(f->ram + AVAIL);
	f->used = (void *)(f->ram + USED);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->ram);
	free(f);
	return 0;
}

static void set_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	f->desc[i].addr = addr;
	f->desc[i].len = len;
	f->desc[i].flags = flags;
	f->desc[i].next = next;
}

static void publish(struct fx *f, uint16_t head)
{
	f->avail->ring[f->avail->idx % QSZ] = head;
	f->avail->idx++;
}

static void test_empty(void **state)
{
	struct fx *f = *state;
	struct virtq_elem e;
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
	assert_false(virtq_has_avail(&f->vq));
}

static void test_simple_chain(void **state)
{
	struct fx *f = *state;
	struct virtq_elem e;
	memcpy(f->ram + BUF, "hello", 5);
	set_desc(f, 0, BUF, 5, VRING_DESC_F_NEXT, 3);
	set_desc(f, 3, BUF + 0x100, 64, VRING_DESC_F_WRITE, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_int_equal(e.head, 0);
	assert_int_equal(e.nout, 1);
	assert_int_equal(e.nin, 1);
	assert_int_equal(e.out_len, 5);
	assert_int_equal(e.in_len, 64);
	assert_ptr_equal(e.iov[0].iov_base, f->ram + BUF);
	char buf[8] = { 0 };
	assert_int_equal(virtq_copy_from_out(&e, 0, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(virtq_copy_to_in(&e, 0, "world", 5), 5);
	assert_memory_equal(f->ram + BUF + 0x100, "world", 5);
	virtq_push(&f->vq, &e, 5);
	assert_int_equal(f->used->idx, 1);
	assert_int_equal(f->used->ring[0].id, 0);
	assert_int_equal(f->used->ring[0].len, 5);
	/* written is clamped to the writable size */
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	virtq_push(&f->vq, &e, 100000);
	assert_int_equal(f->used->ring[1].len, 64);
}

static void expect_broken(struct fx *f)
{
	struct virtq_elem e;
	assert_int_equal(virtq_pop(&f->vq, &e), -EIO);
	assert_true(f->vq.broken);
	assert_non_null(f->vq.why_broken);
	/* stays broken */
	assert_int_equal(virtq_pop(&f->vq, &e), -EIO);
}

static void test_loop(void **state)
{
	struct fx *f = *state;
	set_desc(f, 0, BUF, 8, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, VRING_DESC_F_NEXT, 0);
	publish(f, 0);
	expect_broken(f);
}

static void test_self_loop_zero_len(void **state)
{
	struct fx *f = *state;
	/* zero-length descriptors add no segment, so only the loop bound
	 * stops this one */
	set_desc(f, 2, BUF, 0, VRING_DESC_F_NEXT, 2);
	publish(f, 2);
	expect_broken(f);
}

static void test_out_of_ram(void **state)
{
	struct fx *f = *state;
	set_desc(f, 0, RAM - 4, 8, 0, 0);
	publish(f, 0);
	expect_broken(f);
}

static void test_len_overflow(void **state)
{
	struct fx *f = *state;
	/* addr + len wraps around 2^64 */
	set_desc(f, 0, UINT64_MAX - 2, 0xffffffff, 0, 0);
	publish(f, 0);
	expect_broken(f);
}

static void test_huge_len(void **state)
{
	struct fx *f = *state;
	set_desc(f, 0, BUF, 0xffffffff, VRING_DESC_F_WRITE, 0);
	publish(f, 0);
	expect_broken(f);
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;
	publish(f, QSZ);
	expect_broken(f);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;
	set_desc(f, 0, BUF, 8, VRING_DESC_F_NEXT, 0xffff);
	publish(f, 0);
	expect_broken(f);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;
	set_desc(f, 0, BUF, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, 0, 0);
	publish(f, 0);
	expect_broken(f);
}

static void test_indirect_refused(void **state)
{
	struct fx *f = *state;
	set_desc(f, 0, BUF, 16, VRING_DESC_F_INDIRECT, 0);
	publish(f, 0);
	expect_broken(f);
}

static void test_avail_idx_runaway(void **state)
{
	struct fx *f = *state;
	f->avail->idx = QSZ + 1;
	expect_broken(f);
}

static void test_too_many_segments(void **state)
{
	struct fx *f = *state;
	/* a big queue so the chain can be longer than VIRTQ_MAX_SEGS
	 * without being a loop */
	f->vq.num = 512;
	f->vq.desc_gpa = 0x40000;
	f->vq.avail_gpa = 0x44000;
	f->vq.used_gpa = 0x48000;
	assert_int_equal(virtq_activate(&f->vq, &f->gm), 0);
	f->vq.ready = true;
	struct vring_desc *d = (void *)(f->ram + 0x40000);
	struct vring_avail *a = (void *)(f->ram + 0x44000);
	for (unsigned i = 0; i < VIRTQ_MAX_SEGS + 1; i++) {
		d[i].addr = BUF;
		d[i].len = 1;
		d[i].flags = i < VIRTQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0;
		d[i].next = (uint16_t)(i + 1);
	}
	a->ring[0] = 0;
	a->idx = 1;
	expect_broken(f);
	assert_string_equal(f->vq.why_broken, "descriptor chain too long");
}

static void test_max_segments_ok(void **state)
{
	struct fx *f = *state;
	f->vq.num = 512;
	f->vq.desc_gpa = 0x40000;
	f->vq.avail_gpa = 0x44000;
	f->vq.used_gpa = 0x48000;
	assert_int_equal(virtq_activate(&f->vq, &f->gm), 0);
	f->vq.ready = true;
	struct vring_desc *d = (void *)(f->ram + 0x40000);
	struct vring_avail *a = (void *)(f->ram + 0x44000);
	for (unsigned i = 0; i < VIRTQ_MAX_SEGS; i++) {
		d[i].addr = BUF + i;
		d[i].len = 1;
		d[i].flags = i + 1 < VIRTQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0;
		d[i].next = (uint16_t)(i + 1);
	}
	a->ring[0] = 0;
	a->idx = 1;
	struct virtq_elem e;
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_int_equal(e.nout, VIRTQ_MAX_SEGS);
	assert_int_equal(e.out_len, VIRTQ_MAX_SEGS);
}

static void test_activate_rejects(void **state)
{
	struct fx *f = *state;
	struct virtq q = { .num = 0, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	assert_int_equal(virtq_activate(&q, &f->gm), -EINVAL);
	q.num = 12; /* not a power of two */
	assert_int_equal(virtq_activate(&q, &f->gm), -EINVAL);
	q.num = 2048; /* above VIRTQ_MAX_SIZE */
	assert_int_equal(virtq_activate(&q, &f->gm), -EINVAL);
	q.num = 16;
	q.desc_gpa = DESC + 8; /* misaligned */
	assert_int_equal(virtq_activate(&q, &f->gm), -EFAULT);
	q.desc_gpa = RAM - 16; /* table runs past RAM */
	assert_int_equal(virtq_activate(&q, &f->gm), -EFAULT);
	q.desc_gpa = DESC;
	q.used_gpa = UINT64_MAX - 3;
	assert_int_equal(virtq_activate(&q, &f->gm), -EFAULT);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;
	struct virtq_elem e;
	f->vq.event_idx = true;
	set_desc(f, 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	uint16_t *used_event = &f->avail->ring[QSZ];
	uint16_t *avail_event = (uint16_t *)&f->used->ring[QSZ];

	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	virtq_push(&f->vq, &e, 1);
	assert_true(virtq_should_notify(&f->vq)); /* first one always */
	/* driver wants an interrupt only after used idx passes 5 */
	*used_event = 5;
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	virtq_push(&f->vq, &e, 1);
	assert_false(virtq_should_notify(&f->vq));
	for (int i = 0; i < 4; i++) {
		publish(f, 0);
		assert_int_equal(virtq_pop(&f->vq, &e), 1);
		virtq_push(&f->vq, &e, 1);
	}
	assert_true(virtq_should_notify(&f->vq));
	/* enable_kick publishes avail_event and reports pending buffers */
	assert_false(virtq_enable_kick(&f->vq));
	assert_int_equal(*avail_event, f->vq.last_avail);
	publish(f, 0);
	assert_true(virtq_enable_kick(&f->vq));
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;
	struct virtq_elem e;
	set_desc(f, 0, BUF, 8, 0, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	virtq_push(&f->vq, &e, 0);
	f->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(virtq_should_notify(&f->vq));
	f->avail->flags = 0;
	assert_true(virtq_should_notify(&f->vq));
}

static void test_unpop(void **state)
{
	struct fx *f = *state;
	struct virtq_elem e;
	set_desc(f, 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	virtq_unpop(&f->vq);
	assert_true(virtq_has_avail(&f->vq));
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
}

/* Several chains popped, the last two given back at once: they come out
 * again in their order, and nothing else is lost or repeated. */
static void test_unpop_n(void **state)
{
	struct fx *f = *state;
	struct virtq_elem e;
	for (uint16_t i = 0; i < 4; i++) {
		set_desc(f, i, BUF + 0x100u * i, 8, VRING_DESC_F_WRITE, 0);
		publish(f, i);
	}
	for (uint16_t i = 0; i < 4; i++)
		assert_int_equal(virtq_pop(&f->vq, &e), 1);
	virtq_unpop_n(&f->vq, 2);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_int_equal(e.head, 2);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_int_equal(e.head, 3);
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
	virtq_unpop_n(&f->vq, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
}

/* fill writes entries behind used->idx without publishing; flush publishes
 * them together (and wraps around the ring like push). */
static void test_fill_flush(void **state)
{
	struct fx *f = *state;
	virtq_fill(&f->vq, 0, 5, 100);
	virtq_fill(&f->vq, 1, 6, 200);
	virtq_fill(&f->vq, 2, 7, 300);
	assert_int_equal(f->used->idx, 0);
	assert_int_equal(f->used->ring[1].id, 6);
	virtq_flush(&f->vq, 3);
	assert_int_equal(f->used->idx, 3);
	assert_int_equal(f->used->ring[0].id, 5);
	assert_int_equal(f->used->ring[2].len, 300);
	/* wrap: entries QSZ-1 and 0 of the ring */
	for (unsigned i = 3; i < QSZ - 1; i++) {
		virtq_fill(&f->vq, 0, 1, 1);
		virtq_flush(&f->vq, 1);
	}
	virtq_fill(&f->vq, 0, 9, 9);
	virtq_fill(&f->vq, 1, 10, 10);
	virtq_flush(&f->vq, 2);
	assert_int_equal(f->used->idx, QSZ + 1);
	assert_int_equal(f->used->ring[QSZ - 1].id, 9);
	assert_int_equal(f->used->ring[0].id, 10);
}

static void test_gm_ptr_bounds(void **state)
{
	(void)state;
	static uint8_t ram[2 << 20];
	struct guest_mem gm;
	assert_int_equal(gm_layout(&gm, ram, sizeof(ram)), 0);
	assert_ptr_equal(gm_ptr(&gm, 0, sizeof(ram)), ram);
	assert_null(gm_ptr(&gm, 1, sizeof(ram)));
	assert_null(gm_ptr(&gm, sizeof(ram), 1));
	assert_non_null(gm_ptr(&gm, sizeof(ram), 0));
	assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	assert_null(gm_ptr(&gm, 4096, UINT64_MAX));
	assert_int_equal(gm_layout(&gm, ram, 4097), -EINVAL);
	/* a 4 GiB layout splits around the MMIO hole (pointers unused) */
	assert_int_equal(gm_layout(&gm, ram, 4ull << 30), 0);
	assert_int_equal(gm.nr, 2);
	assert_int_equal(gm.r[1].gpa, GM_HIGH_RAM_START);
	assert_int_equal(gm.r[1].size, (4ull << 30) - GM_LOW_RAM_END);
	assert_null(gm_ptr(&gm, GM_LOW_RAM_END, 1)); /* the hole */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_empty),
		T(test_simple_chain),
		T(test_loop),
		T(test_self_loop_zero_len),
		T(test_out_of_ram),
		T(test_len_overflow),
		T(test_huge_len),
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_readable_after_writable),
		T(test_indirect_refused),
		T(test_avail_idx_runaway),
		T(test_too_many_segments),
		T(test_max_segments_ok),
		T(test_activate_rejects),
		T(test_event_idx),
		T(test_no_interrupt_flag),
		T(test_unpop),
		T(test_unpop_n),
		T(test_fill_flush),
		cmocka_unit_test(test_gm_ptr_bounds),
	};
	return cmocka_run_group_tests_name("virtq", tests, NULL, NULL);
}
