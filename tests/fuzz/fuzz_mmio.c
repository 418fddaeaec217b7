/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the virtio-mmio register file and the device status
 * machine (vmm/virtio_mmio.c over vmm/virtio.c and vmm/virtq.c).
 *
 * No KVM: virtio_mmio_setup() wants a VM fd for the irqfd and ioeventfds,
 * so the transport is wired here the way setup wires it, minus the two
 * ioctls: real eventfds for the interrupt and the kicks, the transport ops,
 * and the kick handler, which this harness calls the way the event loop
 * would whenever a kick eventfd became readable. vmm/virtio_mmio.c is
 * included rather than linked to reach those (static) pieces.
 *
 * The input picks a dummy device (queues, queue_max, config size, offered
 * features, optional callbacks), then is a program of vCPU register
 * accesses (any offset of the 0x200 window, any length KVM passes: 0..8,
 * plus shortcuts for the usual driver steps), guest RAM writes that build
 * descriptor chains, and device side events (a config change, a device
 * error). The dummy device pops
 * every chain it is kicked for and pushes it back, failing the device on a
 * broken queue as the real ones do.
 *
 * Besides crashes and sanitizer reports it checks, after every step:
 *   - a ready queue has a valid size (<= queue_max) and rings that lie
 *     inside guest RAM, aligned (2.7), as our own translation sees them;
 *   - its layout registers do not change while it is ready (4.2.2.3);
 *   - FEATURES_OK is only ever set for a subset of the offered features
 *     with VERSION_1, and the driver's features are frozen under it;
 *   - activate() runs exactly on a DRIVER_OK transition of a device that
 *     has not failed, queue_kick() only on a running device's ready queue
 *     with a kick the guest actually wrote, config callbacks only inside
 *     config_size (the config buffer is exactly that long);
 *   - a failed device shows DEVICE_NEEDS_RESET until the driver resets it,
 *     and the fail hook runs once per failure;
 *   - status 0 resets everything; reads of the 32-bit registers with
 *     another width return zeros, and no read writes past its length.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iinclude -Icommon -Ivmm tests/fuzz/fuzz_mmio.c vmm/virtio.c \
 *       vmm/virtq.c vmm/guestmem.c vmm/evloop.c common/iov.c \
 *       -o build/fuzz_mmio
 *   cp -r tests/fuzz/corpus/mmio /tmp/c && build/fuzz_mmio -max_total_time=60 /tmp/c
 * (libFuzzer adds to the corpus directory it is given: `make fuzz` gives it a copy).
 * Its first finding, set_status() dropping NEEDS_RESET on a DRIVER_OK write,
 * is fixed and kept as corpus/mmio/seed-needs-reset-kept.
 *
 * Without libFuzzer (any C compiler), -DFUZZ_MAIN adds a main that runs the
 * files named on the command line, or with none, a fixed-seed random sweep:
 *
 *   cc -DFUZZ_MAIN -D_GNU_SOURCE -Iinclude -Icommon -Ivmm \
 *       tests/fuzz/fuzz_mmio.c vmm/virtio.c vmm/virtq.c vmm/guestmem.c \
 *       vmm/evloop.c common/iov.c -o build/fuzz_mmio_main -lpthread && \
 *       build/fuzz_mmio_main
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "../../vmm/virtio_mmio.c"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_mmio: %s:%d: %s\n", __FILE__, __LINE__, \
				#c);                                                 \
			abort();                                                     \
		}                                                                    \
	} while (0)

#define LOW_SIZE  0x10000ull
#define HIGH_SIZE 0x2000ull
#define MAX_OPS   1024u
#define NQ_MAX    16u

static uint8_t *low, *high;
static struct guest_mem gm;
static struct virtio_dev dev;
static struct virtio_mmio mmio;
static struct virtio_dev_ops ops;
static uint8_t *cfg; /* config space, exactly ops.config_size bytes */
static int irqfd, kickfds[NQ_MAX];

/* What the dummy device and the hook saw. */
static unsigned activations, resets, queue_resets, fails, kicks_ok;
static bool allow_kick[NQ_MAX];


/* As in fuzz_virtq.c: mostly inside RAM, often at an edge, now and then
 * wild (past 4 GiB in the high word, or wrapping). */
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

/* Our own translation, apart from gm_ptr() on purpose. */
static uint8_t *host_of(uint64_t gpa, uint64_t len)
{
	if (gpa < LOW_SIZE && len <= LOW_SIZE - gpa)
		return low + gpa;
	if (gpa >= GM_HIGH_RAM_START && gpa - GM_HIGH_RAM_START < HIGH_SIZE &&
	    len <= HIGH_SIZE - (gpa - GM_HIGH_RAM_START))
		return high + (gpa - GM_HIGH_RAM_START);
	return NULL;
}

static bool inside_ram(const void *p, size_t len)
{
	const uint8_t *q = p;
	if (q >= low && q <= low + LOW_SIZE && len <= (size_t)(low + LOW_SIZE - q))
		return true;
	return q >= high && q <= high + HIGH_SIZE && len <= (size_t)(high + HIGH_SIZE - q);
}

/* ---- the dummy device ------------------------------------------------------ */

static void dev_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	CHECK(off < ops.config_size && len <= ops.config_size - off);
	memcpy(buf, cfg + off, len);
}

static void dev_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	CHECK(off < ops.config_size && len <= ops.config_size - off);
	memcpy(cfg + off, buf, len);
}

static void dev_queue_kick(struct virtio_dev *d, unsigned q)
{
	static struct virtq_elem e;
	CHECK(q < ops.nqueues && allow_kick[q]);
	CHECK(virtio_dev_running(d) && d->vqs[q].ready);
	allow_kick[q] = false;
	kicks_ok++;
	struct virtq *vq = &d->vqs[q];
	for (unsigned n = 0; n <= vq->num; n++) {
		int r = virtq_pop(vq, &e);
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			return;
		}
		if (r == 0)
			break;
		for (unsigned i = 0; i < e.nout + e.nin; i++)
			CHECK(inside_ram(e.iov[i].iov_base, e.iov[i].iov_len));
		uint8_t b[64];
		size_t got = virtq_copy_from_out(&e, 0, b, sizeof(b));
		virtq_push(vq, &e, (uint32_t)virtq_copy_to_in(&e, 0, b, got));
	}
	virtio_dev_notify(d, q);
	(void)virtq_enable_kick(vq);
}

static void dev_activate(struct virtio_dev *d)
{
	activations++;
}

static void dev_reset(struct virtio_dev *d)
{
	resets++;
}

/* Before the transport forgets the rings: the queue is still intact. */
static void dev_queue_reset(struct virtio_dev *d, unsigned q)
{
	CHECK(q < ops.nqueues && q == mmio.queue_sel && d->vqs[q].ready);
	queue_resets++;
}

static void fail_hook(void *opaque, const char *name, const char *why)
{
	CHECK(why != NULL);
	fails++;
}

/* ---- invariants ------------------------------------------------------------- */

struct qsnap {
	bool ready;
	uint16_t num;
	uint64_t desc, avail, used;
};

static void snap(struct qsnap *s)
{
	for (unsigned q = 0; q < ops.nqueues; q++) {
		const struct virtq *vq = &dev.vqs[q];
		s[q] = (struct qsnap){ vq->ready, vq->num, vq->desc_gpa, vq->avail_gpa,
				       vq->used_gpa };
	}
}

static void check_state(void)
{
	const uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;
	/* A failed device says so until the driver resets it: no status
	 * write may clear NEEDS_RESET (corpus/mmio/seed-needs-reset-kept). */
	if (dev.failed)
		CHECK(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (dev.status & VIRTIO_CONFIG_S_FEATURES_OK)
		CHECK(!(dev.driver_features & ~ops.features) && (dev.driver_features & v1));
	CHECK(!(__atomic_load_n(&mmio.isr, __ATOMIC_SEQ_CST) &
		~(uint32_t)(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)));
	for (unsigned q = 0; q < ops.nqueues; q++) {
		const struct virtq *vq = &dev.vqs[q];
		if (!vq->ready)
			continue;
		uint16_t n = vq->num;
		CHECK(n >= 1 && n <= ops.queue_max && n <= VIRTQ_MAX_SIZE && !(n & (n - 1)));
		CHECK(!(vq->desc_gpa & 15) && !(vq->avail_gpa & 1) && !(vq->used_gpa & 3));
		CHECK(host_of(vq->desc_gpa, 16ull * n) == (uint8_t *)vq->desc && vq->desc);
		CHECK(host_of(vq->avail_gpa, 6ull + 2 * n) == (uint8_t *)vq->avail && vq->avail);
		CHECK(host_of(vq->used_gpa, 6ull + 8 * n) == (uint8_t *)vq->used && vq->used);
		CHECK(vq->gm == &gm);
	}
}

/* The event loop's part: a kick eventfd that became readable runs the
 * handler; the interrupt eventfd is the guest's business (drained). */
static void run_loop(void)
{
	uint64_t v;
	for (unsigned q = 0; q < ops.nqueues; q++)
		if (read(kickfds[q], &v, sizeof(v)) == sizeof(v))
			on_kick(&mmio.kick[q], EPOLLIN);
	(void)!read(irqfd, &v, sizeof(v));
}

/* ---- vCPU accesses ---------------------------------------------------------- */

static uint32_t rd(uint64_t off, uint32_t len)
{
	uint8_t b[16];
	uint32_t v;
	memset(b, 0xa5, sizeof(b));
	virtio_mmio_read(&mmio, off, b, len);
	for (unsigned i = len; i < sizeof(b); i++)
		CHECK(b[i] == 0xa5);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		bool in = c < ops.config_size && len <= ops.config_size - c;
		for (unsigned i = 0; i < len; i++)
			CHECK(b[i] == (in ? cfg[c + i] : 0));
		return 0;
	}
	if (len != 4 || (off & 3)) {
		for (unsigned i = 0; i < len; i++)
			CHECK(b[i] == 0);
		return 0;
	}
	memcpy(&v, b, 4);
	const struct virtq *vq = mmio.queue_sel < ops.nqueues ? &dev.vqs[mmio.queue_sel] : NULL;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: CHECK(v == 0x74726976); break;
	case VIRTIO_MMIO_VERSION: CHECK(v == 2); break;
	case VIRTIO_MMIO_DEVICE_ID: CHECK(v == ops.device_id); break;
	case VIRTIO_MMIO_STATUS: CHECK(v == dev.status); break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: CHECK(v == (vq ? ops.queue_max : 0)); break;
	case VIRTIO_MMIO_QUEUE_READY: CHECK(v == (vq ? vq->ready : 0)); break;
	case VIRTIO_MMIO_INTERRUPT_STATUS: CHECK(v == mmio.isr); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: CHECK(v == (vq ? (uint32_t)vq->desc_gpa : 0)); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		CHECK(v == (vq ? (uint32_t)(vq->used_gpa >> 32) : 0));
		break;
	default:
		break;
	}
	return v;
}

static void wr(uint64_t off, uint32_t len, uint32_t v)
{
	uint8_t b[8] = { 0 };
	struct qsnap before[NQ_MAX];
	uint32_t status = dev.status;
	bool failed = dev.failed;
	uint64_t features = dev.driver_features;
	unsigned acts = activations, rsts = resets, qrsts = queue_resets;
	uint32_t sel = mmio.queue_sel;
	bool reg = off < VIRTIO_MMIO_CONFIG && len == 4 && !(off & 3);

	memcpy(b, &v, sizeof(v));
	snap(before);
	if (reg && off == VIRTIO_MMIO_QUEUE_NOTIFY && v < ops.nqueues)
		allow_kick[v] = true;
	virtio_mmio_write(&mmio, off, b, len);

	if (reg && off == VIRTIO_MMIO_STATUS && v == 0) {
		CHECK(resets == rsts + 1 && dev.status == 0 && !dev.failed);
		CHECK(dev.driver_features == 0 && mmio.isr == 0 && mmio.queue_sel == 0);
		for (unsigned q = 0; q < ops.nqueues; q++)
			CHECK(!dev.vqs[q].ready && dev.vqs[q].num == 0 && !dev.vqs[q].desc);
	} else {
		CHECK(resets == rsts);
	}
	bool to_driver_ok = reg && off == VIRTIO_MMIO_STATUS &&
			    (v & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(activations == acts + (to_driver_ok && !failed));
	/* queue_reset() runs for a ready queue the driver resets, only. */
	bool queue_reset = ops.queue_reset && reg && off == VIRTIO_MMIO_QUEUE_READY && v == 0 &&
			   sel < ops.nqueues && before[sel].ready;
	CHECK(queue_resets == qrsts + queue_reset);
	if (status & VIRTIO_CONFIG_S_FEATURES_OK && dev.status & VIRTIO_CONFIG_S_FEATURES_OK)
		CHECK(dev.driver_features == features);
	/* A ready queue's layout is frozen until it is reset. */
	bool resetting = reg && ((off == VIRTIO_MMIO_STATUS && v == 0) ||
				 (off == VIRTIO_MMIO_QUEUE_READY && v == 0));
	for (unsigned q = 0; q < ops.nqueues && !resetting; q++) {
		const struct virtq *vq = &dev.vqs[q];
		if (before[q].ready)
			CHECK(vq->ready && vq->num == before[q].num &&
			      vq->desc_gpa == before[q].desc && vq->avail_gpa == before[q].avail &&
			      vq->used_gpa == before[q].used);
	}
	run_loop();
	check_state();
}

/* Register offsets the shortcut selects from. */
static const uint16_t regs[] = {
	VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID,
	VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
	VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INTERRUPT_ACK,
	VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
	VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, VIRTIO_MMIO_QUEUE_USED_LOW,
	VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_MMIO_SHM_SEL, VIRTIO_MMIO_SHM_LEN_LOW,
	VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG, 0x1fc,
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static const uint32_t lens[8] = { 4, 4, 4, 1, 2, 8, 0, 3 };

/* ---- the guest's side of a queue -------------------------------------------- */

static void guest_desc(struct in *in)
{
	const struct virtq *vq = &dev.vqs[get8(in) % ops.nqueues];
	uint16_t n = vq->num ? vq->num : 1;
	uint16_t i = get16(in) % n;
	uint64_t addr = gpa_from(get16(in));
	uint32_t len = get16(in);
	uint16_t flags = get8(in) & 7, next = get16(in);
	uint8_t *p = host_of(vq->desc_gpa + 16ull * i, 16);
	if (!p)
		return;
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void guest_publish(struct in *in)
{
	const struct virtq *vq = &dev.vqs[get8(in) % ops.nqueues];
	uint16_t n = vq->num ? vq->num : 1, head = get16(in), idx;
	uint8_t *a = host_of(vq->avail_gpa, 4);
	if (!a)
		return;
	memcpy(&idx, a + 2, 2);
	uint8_t *slot = host_of(vq->avail_gpa + 4 + 2ull * (idx % n), 2);
	if (slot)
		memcpy(slot, &head, 2);
	idx++;
	memcpy(a + 2, &idx, 2);
}

static void guest_poke(struct in *in)
{
	uint64_t gpa = gpa_from(get16(in));
	uint8_t n = get8(in) % 16;
	uint8_t *p = host_of(gpa, n);
	for (unsigned k = 0; k < n; k++) {
		uint8_t b = get8(in);
		if (p)
			p[k] = b;
	}
}

/* ---- driver shortcuts (each one a series of register writes) --------------- */

static void drv_queue(struct in *in)
{
	static const uint32_t nums[8] = { 1, 2, 8, 16, 256, 1024, 0, 3 };
	uint8_t f = get8(in);
	uint64_t d = gpa_from(get16(in)), a = gpa_from(get16(in)), u = gpa_from(get16(in));
	if (f & 0x80) { /* a sane compact layout */
		uint32_t n = nums[(f >> 4) & 7];
		d = 0x8000;
		a = d + 16ull * n;
		u = (a + 6 + 2ull * n + 3) & ~3ull;
	}
	wr(VIRTIO_MMIO_QUEUE_SEL, 4, f & 15);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4, nums[(f >> 4) & 7]);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 4, (uint32_t)d);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, (uint32_t)(d >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4, (uint32_t)a);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 4, (uint32_t)(a >> 32));
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 4, (uint32_t)u);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 4, (uint32_t)(u >> 32));
	wr(VIRTIO_MMIO_QUEUE_READY, 4, 1);
}

static void drv_features(struct in *in)
{
	uint8_t f = get8(in);
	uint64_t want = f & 1 ? ops.features : ops.features & ~(1ull << VIRTIO_RING_F_EVENT_IDX);
	if (f & 2)
		want |= 1ull << (get8(in) % 64);
	wr(VIRTIO_MMIO_STATUS, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)want);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)(want >> 32));
	wr(VIRTIO_MMIO_STATUS, 4,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}

/* ---- set-up ------------------------------------------------------------------ */

static void setup(struct in *in)
{
	static const uint16_t qmax[8] = { 256, 1024, 1, 2, 16, 128, 0, 3 };
	uint8_t f = get8(in), g = get8(in), h = get8(in);

	memset(&ops, 0, sizeof(ops));
	ops.name = "fuzz";
	ops.device_id = 26;
	ops.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (h & 0x80)
		ops.features |= 1ull << (h % 64);
	ops.nqueues = 1 + f % NQ_MAX;
	ops.queue_max = qmax[(f >> 4) & 7];
	ops.config_size = g & 0x3f;
	ops.config_read = dev_config_read;
	ops.config_write = f & 0x80 ? dev_config_write : NULL;
	ops.queue_kick = dev_queue_kick;
	ops.activate = dev_activate;
	ops.reset = dev_reset;
	ops.queue_reset = g & 0x40 ? dev_queue_reset : NULL;

	free(cfg);
	cfg = malloc(ops.config_size ? ops.config_size : 1);
	if (!cfg)
		abort();
	for (uint32_t i = 0; i < ops.config_size; i++)
		cfg[i] = (uint8_t)(i * 7 + 1);

	if (virtio_dev_init(&dev, &ops, NULL, &gm) != 0)
		abort();
	virtio_dev_on_fail(&dev, fail_hook, NULL);
	/* virtio_mmio_setup() without the KVM ioctls. */
	memset(&mmio, 0, sizeof(mmio));
	mmio.dev = &dev;
	mmio.base = GM_MMIO_BASE;
	mmio.gsi = 5;
	mmio.irqfd = irqfd;
	dev.tops = &mmio_tops;
	dev.transport = &mmio;
	for (unsigned q = 0; q < ops.nqueues; q++) {
		mmio.kickfd[q] = kickfds[q];
		mmio.kick[q] = (struct virtio_mmio_kick){ &mmio, q };
	}
	activations = resets = queue_resets = fails = kicks_ok = 0;
	memset(allow_kick, 0, sizeof(allow_kick));
}

static void init_once(void)
{
	low = malloc(LOW_SIZE);
	high = malloc(HIGH_SIZE);
	if (!low || !high)
		abort();
	gm.r[0] = (struct gm_region){ .gpa = 0, .size = LOW_SIZE, .host = low };
	gm.r[1] = (struct gm_region){ .gpa = GM_HIGH_RAM_START, .size = HIGH_SIZE, .host = high };
	gm.nr = 2;
	gm.base = low;
	gm.size = LOW_SIZE + HIGH_SIZE;
	irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irqfd < 0)
		abort();
	for (unsigned q = 0; q < NQ_MAX; q++)
		if ((kickfds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t drain;
	if (!low)
		init_once();
	/* Nothing left over from the previous input. */
	for (unsigned q = 0; q < NQ_MAX; q++)
		(void)!read(kickfds[q], &drain, sizeof(drain));
	(void)!read(irqfd, &drain, sizeof(drain));
	memset(low, 0, LOW_SIZE);
	memset(high, 0, HIGH_SIZE);

	struct in in = { data, size };
	setup(&in);
	check_state();

	for (unsigned n = 0; in.n && n < MAX_OPS; n++) {
		uint8_t op = get8(&in);
		unsigned fails_before = fails;
		bool was_failed = dev.failed;
		switch (op % 12) {
		case 0:
		case 1: { /* a known register, 32-bit */
			uint16_t off = regs[get8(&in) % NREGS];
			wr(off, 4, get32(&in));
			break;
		}
		case 2: { /* anywhere in the window, any width */
			uint16_t off = get16(&in) % VIRTIO_MMIO_SIZE;
			uint32_t len = lens[get8(&in) % 8];
			wr(off, len, get32(&in));
			break;
		}
		case 3: { /* reads */
			uint8_t s = get8(&in);
			if (s & 0x80)
				rd(get16(&in) % VIRTIO_MMIO_SIZE, lens[s % 8]);
			else
				rd(regs[s % NREGS], 4);
			break;
		}
		case 4:
			drv_features(&in);
			break;
		case 5:
			drv_queue(&in);
			break;
		case 6:
			wr(VIRTIO_MMIO_STATUS, 4, get8(&in));
			break;
		case 7:
			guest_desc(&in);
			break;
		case 8:
			guest_publish(&in);
			wr(VIRTIO_MMIO_QUEUE_NOTIFY, 4, get8(&in) % (ops.nqueues + 1));
			break;
		case 9:
			guest_poke(&in);
			break;
		case 10: /* the device: a config change, or an error of its own */
			pthread_mutex_lock(&dev.lock);
			if (op & 0x80)
				virtio_dev_fail(&dev, "fuzz: device error");
			else
				dev.tops->signal_config(&dev);
			pthread_mutex_unlock(&dev.lock);
			run_loop();
			check_state();
			break;
		default: /* the whole usual bring-up */
			drv_features(&in);
			drv_queue(&in);
			wr(VIRTIO_MMIO_STATUS, 4, 0xf);
			break;
		}
		/* The hook runs once per failure, never for a device already
		 * failed. */
		if (was_failed)
			CHECK(fails == fails_before);
		CHECK(fails <= fails_before + 1);
		/* Every kick the guest wrote was either delivered or refused
		 * because the device or queue was not running. */
		for (unsigned q = 0; q < ops.nqueues; q++)
			allow_kick[q] = false;
	}
	pthread_mutex_destroy(&dev.lock);
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

int main(int argc, char **argv)
{
	static uint8_t in[8192];

	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	/* No corpus: a bring-up first most of the time, then random steps
	 * weighted towards chains and kicks. */
	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		in[n++] = fuzz_rnd8() % 4 ? (uint8_t)(fuzz_rnd8() % 2) : fuzz_rnd8();
		in[n++] = fuzz_rnd8() % 2 ? 8 : fuzz_rnd8();
		in[n++] = fuzz_rnd8();
		if (fuzz_rnd8() % 4) {
			in[n++] = 11;
			in[n++] = (uint8_t)(fuzz_rnd8() % 2);
			in[n++] = (uint8_t)(0x80 | (fuzz_rnd8() % 4) << 4);
			for (int k = 0; k < 6; k++)
				in[n++] = fuzz_rnd8();
		}
		while (n < 400) {
			uint8_t r = fuzz_rnd8() % 8;
			if (r < 3) {
				in[n++] = 7;
				in[n++] = 0;
				in[n++] = fuzz_rnd8() % 8;
				in[n++] = 0;
				in[n++] = fuzz_rnd8();
				in[n++] = fuzz_rnd8() % 0x20;
				in[n++] = fuzz_rnd8();
				in[n++] = 0;
				in[n++] = fuzz_rnd8() % 4;
				in[n++] = fuzz_rnd8() % 8;
				in[n++] = 0;
			} else if (r < 5) {
				in[n++] = 8;
				in[n++] = 0;
				in[n++] = fuzz_rnd8() % 8;
				in[n++] = 0;
				in[n++] = fuzz_rnd8() % 2;
			} else {
				for (unsigned k = 1 + fuzz_rnd8() % 8; k; k--)
					in[n++] = fuzz_rnd8();
			}
		}
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("fuzz_mmio: 20000 random programs, all invariants held\n");
	return 0;
}
#endif
