/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest, for the fault-injection scenarios (tests/e2e/scenarios-fault.sh).
 *
 *   probe kill-init CODE        make PID 1 (arca-init) call exit_group(CODE) through ptrace:
 *                               the guest kernel then panics ("Attempted to kill init!"),
 *                               which `kill -9 1` cannot do (the kernel protects init from
 *                               signals it has no handler for, SIGKILL included)
 *   probe mmio-abuse MODE DEVID drive the registers of the first virtio-mmio device whose
 *                               virtio device id is DEVID (2: block) with garbage, through
 *                               /dev/mem
 *
 * The devices are ACPI LNRO0005 platform devices. The guest kernel is built with
 * STRICT_DEVMEM and IO_STRICT_DEVMEM: /dev/mem maps no RAM and no region a driver holds, so
 * the device is first unbound from virtio-mmio (sysfs), which releases its region; its
 * address is then the LNRO0005 line of /proc/iomem. Rings the device must read are put in
 * a locked page of this process, whose guest-physical address /proc/self/pagemap gives
 * (root only).
 *
 * MODEs (each prints "mmio-abuse: ..." lines as it goes, flushed, since the VM may stop
 * at any write):
 *   regs          reads and writes of every offset and width, read-only registers, status
 *                 values in every order, feature and queue selectors out of range, config
 *                 space writes, a notify storm on queues that are not ready. Nothing here
 *                 breaks the protocol in a way a device must act on: the VM must run on, and
 *                 the probe exits 0 with "mmio-abuse: survived"
 *   ring-outside  a queue whose descriptor table straddles the end of guest RAM, then
 *                 QUEUE_READY: the device must refuse it (NEEDS_RESET, VM stopped)
 *   desc-outside  a valid ring whose one request has buffers far outside guest RAM and a
 *                 length of 4 GiB - 1, then a notify
 *   desc-loop     a descriptor chain that loops on itself, then a notify
 *   avail-jump    avail.idx moved 40000 entries ahead of a ring of 8, then a notify
 * The last four must end the run with exit 125 naming the device; if the VM is still
 * running 5 s after the fault, the probe prints "mmio-abuse: still running" and exits 3.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

/* <linux/virtio_mmio.h> register offsets (virtio 1.2, 4.2.2); no uapi headers under musl. */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014,
	R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038,
	R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
	R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
	R_DESC_LOW = 0x080, R_DESC_HIGH = 0x084, R_AVAIL_LOW = 0x090, R_AVAIL_HIGH = 0x094,
	R_USED_LOW = 0x0a0, R_USED_HIGH = 0x0a4, R_CONFIG = 0x100,
};
/* <linux/virtio_config.h>, <linux/virtio_ring.h> */
enum { S_ACK = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8, S_NEEDS_RESET = 64 };
enum { D_NEXT = 1, D_WRITE = 2 };
#define F_VERSION_1_HIGH 1u /* feature bit 32 */

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static volatile uint8_t *regs;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("mmio-abuse: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

static uint32_t rd(unsigned off)
{
	return *(volatile uint32_t *)(regs + off);
}

static void wr(unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(regs + off) = v;
	__sync_synchronize();
}

/* ---- kill-init ------------------------------------------------------------------------ */

int probe_kill_init(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	long code = strtol(argv[1], NULL, 0);
	if (ptrace(PTRACE_ATTACH, 1, 0, 0) < 0) {
		printf("kill-init: PTRACE_ATTACH 1: %s\n", errname(errno));
		return 1;
	}
	int st;
	if (waitpid(1, &st, __WALL) != 1 || !WIFSTOPPED(st)) {
		printf("kill-init: waitpid: %s\n", errname(errno));
		return 1;
	}
	ptrace(PTRACE_SETOPTIONS, 1, 0, (void *)PTRACE_O_TRACESYSGOOD);
	/* The attach interrupted whatever init was blocked in; it re-enters a
	 * syscall soon (the restart), and at that entry stop the syscall number
	 * becomes exit_group. */
	for (int i = 0; i < 100; i++) {
		if (ptrace(PTRACE_SYSCALL, 1, 0, 0) < 0 || waitpid(1, &st, __WALL) != 1) {
			printf("kill-init: PTRACE_SYSCALL: %s\n", errname(errno));
			return 1;
		}
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, 1, 0, &r) < 0)
			return 1;
		if ((long)r.rax != -ENOSYS)
			continue; /* an exit stop */
		r.orig_rax = 231; /* __NR_exit_group */
		r.rdi = (unsigned long)code;
		printf("kill-init: PID 1 calls exit_group(%ld) instead of syscall %llu\n", code,
		       (unsigned long long)r.orig_rax);
		fflush(stdout);
		if (ptrace(PTRACE_SETREGS, 1, 0, &r) < 0)
			return 1;
		ptrace(PTRACE_CONT, 1, 0, 0);
		sleep(10);
		printf("kill-init: still running 10 s later\n");
		return 3;
	}
	printf("kill-init: no syscall entry of PID 1 seen\n");
	return 1;
}

/* ---- finding and mapping the device --------------------------------------------------- */

/* The LNRO0005 device whose virtio child has device id devid; its name in name. */
static int find_device(unsigned devid, char *name, size_t cap)
{
	DIR *d = opendir("/sys/bus/platform/devices");
	if (!d)
		return -errno;
	struct dirent *e;
	int r = -ENOENT;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "LNRO0005:", 9))
			continue;
		char p[512];
		snprintf(p, sizeof(p), "/sys/bus/platform/devices/%s", e->d_name);
		DIR *sub = opendir(p);
		if (!sub)
			continue;
		struct dirent *v;
		while ((v = readdir(sub))) {
			if (strncmp(v->d_name, "virtio", 6))
				continue;
			char f[1024], buf[32];
			if ((size_t)snprintf(f, sizeof(f), "%s/%s/device", p, v->d_name) >= sizeof(f))
				continue;
			ssize_t n = read_file(AT_FDCWD, f, buf, sizeof(buf) - 1);
			if (n > 0) {
				buf[n] = 0;
				if (strtoul(buf, NULL, 0) == devid && strlen(e->d_name) < cap) {
					memcpy(name, e->d_name, strlen(e->d_name) + 1);
					r = 0;
				}
			}
		}
		closedir(sub);
		if (r == 0)
			break;
	}
	closedir(d);
	return r;
}

/* The start of the /proc/iomem line named `name`, and the end of the last System RAM. */
static int iomem_lookup(const char *name, uint64_t *base, uint64_t *ram_end)
{
	FILE *f = fopen("/proc/iomem", "r");
	if (!f)
		return -errno;
	char line[256];
	*base = 0;
	*ram_end = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char what[200];
		if (sscanf(line, " %llx-%llx : %199[^\n]", &a, &b, what) != 3)
			continue;
		if (!strcmp(what, name) && !*base)
			*base = a;
		if (!strcmp(what, "System RAM") && b + 1 > *ram_end)
			*ram_end = b + 1;
	}
	fclose(f);
	return *base && *ram_end ? 0 : -ENOENT;
}

/* Guest-physical address of a locked page of ours (root: pagemap shows PFNs). */
static int page_gpa(void *p, uint64_t *gpa)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t ent;
	int r = pread_all(fd, &ent, sizeof(ent), (off_t)((uintptr_t)p / 4096 * 8));
	close(fd);
	if (r < 0)
		return r;
	if (!(ent >> 63) || !(ent & ((1ull << 55) - 1)))
		return -EPERM;
	*gpa = (ent & ((1ull << 55) - 1)) * 4096;
	return 0;
}

/* ---- the attacks ---------------------------------------------------------------------- */

static void abuse_regs(void)
{
	unsigned x = 0x9e3779b9u;
	/* every offset of the page, every width */
	for (unsigned off = 0; off < 4096; off++) {
		(void)*(volatile uint8_t *)(regs + off);
		if (!(off & 1))
			(void)*(volatile uint16_t *)(regs + off);
		if (!(off & 3))
			(void)*(volatile uint32_t *)(regs + off);
		if (!(off & 7))
			(void)*(volatile uint64_t *)(regs + off);
	}
	say("read 4096 offsets in 1/2/4/8-byte widths; magic 0x%08x version %u device %u",
	    rd(R_MAGIC), rd(R_VERSION), rd(R_DEVICE_ID));
	/* read-only registers, odd widths and misaligned writes */
	const unsigned ro[] = { R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR_ID, R_DEV_FEATURES,
				R_QUEUE_NUM_MAX, R_INT_STATUS, 0x0fc, 0x1fc, 0x200, 0xffc };
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		wr(ro[i], 0xffffffffu);
	for (unsigned off = 0; off < 0x100; off += 4) {
		if (off == R_STATUS || off == R_QUEUE_READY || off == R_QUEUE_NOTIFY)
			continue;
		*(volatile uint8_t *)(regs + off + 1) = 0xa5;
		*(volatile uint16_t *)(regs + off + 2) = 0xa5a5;
		*(volatile uint64_t *)(regs + (off & ~7u)) = 0xa5a5a5a5a5a5a5a5ull;
	}
	say("wrote read-only registers and odd widths; magic now 0x%08x", rd(R_MAGIC));
	/* selectors out of range, then queue registers that then have no queue */
	wr(R_DEV_FEATURES_SEL, 0xdeadbeef);
	(void)rd(R_DEV_FEATURES);
	wr(R_DRV_FEATURES_SEL, 0xdeadbeef);
	wr(R_DRV_FEATURES, 0xffffffff);
	for (uint32_t sel = 16; sel; sel = sel < 0x80000000u ? sel << 1 : 0) {
		wr(R_QUEUE_SEL, sel);
		wr(R_QUEUE_NUM, 0xffffffff);
		wr(R_DESC_LOW, 0xfffff000);
		wr(R_DESC_HIGH, 0xffffffff);
		wr(R_QUEUE_READY, 1);
		if (rd(R_QUEUE_READY) || rd(R_QUEUE_NUM_MAX))
			say("queue %u (none) reads ready %u max %u", sel, rd(R_QUEUE_READY),
			    rd(R_QUEUE_NUM_MAX));
	}
	wr(R_QUEUE_SEL, 0xffffffff);
	wr(R_QUEUE_READY, 1);
	say("queue selectors 16..2^31 and 2^32-1: no queue became ready");
	/* FEATURES_OK with features the device never offered must not stick */
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, 0xffffffff);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 0xffffffff);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	say("FEATURES_OK with all 64 feature bits: status reads 0x%x", rd(R_STATUS));
	/* status values in every order, DRIVER_OK with no queue set up */
	for (unsigned i = 0; i < 2000; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t v = x >> 8;
		if (!(i % 97))
			v = 0;
		wr(R_STATUS, v);
		(void)rd(R_STATUS);
	}
	wr(R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	say("2000 random status writes; DRIVER_OK without FEATURES_OK: status 0x%x", rd(R_STATUS));
	/* config space: every offset, garbage */
	for (unsigned off = R_CONFIG; off < 0x200; off++)
		*(volatile uint8_t *)(regs + off) = 0xff;
	for (unsigned off = R_CONFIG; off < 0x200; off += 4)
		wr(off, 0xffffffff);
	say("config space written with 0xff");
	/* a notify storm: every queue index, ready or not, with a bogus interrupt ack */
	for (unsigned i = 0; i < 20000; i++) {
		wr(R_QUEUE_NOTIFY, i < 10000 ? (i & 0x1f) : 0xffff0000u + i);
		if (!(i & 255))
			wr(R_INT_ACK, 0xffffffff);
	}
	say("20000 notifies on queues that are not ready");
	wr(R_STATUS, 0);
	say("status after reset 0x%x", rd(R_STATUS));
}

/* reset, ACK, DRIVER, VERSION_1 only, FEATURES_OK; queue 0 of num entries at the three
 * addresses, READY, DRIVER_OK. Returns false if the device refused the features. */
static bool bring_up(uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, 0);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, F_VERSION_1_HIGH);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK)) {
		say("the device refused VERSION_1 alone (status 0x%x)", rd(R_STATUS));
		return false;
	}
	wr(R_QUEUE_SEL, 0);
	say("queue 0: max %u; %u entries, desc 0x%llx avail 0x%llx used 0x%llx", rd(R_QUEUE_NUM_MAX),
	    num, (unsigned long long)desc, (unsigned long long)avail, (unsigned long long)used);
	wr(R_QUEUE_NUM, num);
	wr(R_DESC_LOW, (uint32_t)desc);
	wr(R_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(R_AVAIL_LOW, (uint32_t)avail);
	wr(R_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(R_USED_LOW, (uint32_t)used);
	wr(R_USED_HIGH, (uint32_t)(used >> 32));
	wr(R_QUEUE_READY, 1);
	say("QUEUE_READY written; ready reads %u, status 0x%x", rd(R_QUEUE_READY), rd(R_STATUS));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return true;
}

static int still_running(void)
{
	for (int i = 0; i < 50; i++) {
		if (rd(R_STATUS) & S_NEEDS_RESET)
			say("status has NEEDS_RESET (0x%x)", rd(R_STATUS));
		usleep(100000);
	}
	say("still running");
	return 3;
}

int probe_mmio_abuse(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	const char *mode = argv[1];
	unsigned devid = (unsigned)strtoul(argv[2], NULL, 0);
	char name[64];
	uint64_t base = 0, ram_end = 0;
	int r = find_device(devid, name, sizeof(name));
	if (r < 0) {
		say("no LNRO0005 device with virtio id %u: %s", devid, errname(-r));
		return 1;
	}
	char unbind[] = "/sys/bus/platform/drivers/virtio-mmio/unbind";
	int fd = open(unbind, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, name, strlen(name)) < 0) {
		say("unbinding %s: %s", name, errname(errno));
		return 1;
	}
	close(fd);
	if ((r = iomem_lookup(name, &base, &ram_end)) < 0) {
		say("%s or System RAM not in /proc/iomem", name);
		return 1;
	}
	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		say("/dev/mem: %s", errname(errno));
		return 1;
	}
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);
	if (m == MAP_FAILED) {
		say("mmap /dev/mem at 0x%llx: %s", (unsigned long long)base, errname(errno));
		return 1;
	}
	regs = m;
	say("%s unbound, registers at 0x%llx mapped; guest RAM ends at 0x%llx; device id %u",
	    name, (unsigned long long)base, (unsigned long long)ram_end, rd(R_DEVICE_ID));
	if (rd(R_MAGIC) != 0x74726976u || rd(R_DEVICE_ID) != devid) {
		say("not a virtio-mmio device of id %u there (magic 0x%x)", devid, rd(R_MAGIC));
		return 1;
	}

	/* The lines so far must reach the host before a fault stops the VM. */
	sleep(1);
	if (!strcmp(mode, "regs")) {
		abuse_regs();
		say("survived");
		return 0;
	}
	/* The rest: rings in a page of ours. desc at 0, avail at 512, used at 1024. */
	uint8_t *pg = aligned_alloc(4096, 4096);
	uint64_t gpa = 0;
	if (!pg || mlock(pg, 4096) < 0) {
		say("mlock: %s", errname(errno));
		return 1;
	}
	memset(pg, 0, 4096);
	if ((r = page_gpa(pg, &gpa)) < 0) {
		say("pagemap: %s", errname(-r));
		return 1;
	}
	if (!strcmp(mode, "ring-outside")) {
		/* 8 descriptors (128 bytes) starting 64 bytes before the end of RAM */
		if (!bring_up(8, ram_end - 64, gpa + 512, gpa + 1024))
			return 1;
		return still_running();
	}
	struct vdesc *desc = (struct vdesc *)pg;
	uint16_t *avail = (uint16_t *)(pg + 512); /* flags, idx, ring[8] */
	const uint16_t num = 8;
	if (!strcmp(mode, "desc-outside")) {
		desc[0] = (struct vdesc){ 0xfffffffffff00000ull, 0xffffffffu, D_NEXT, 1 };
		desc[1] = (struct vdesc){ ram_end + 0x100000, 0xffffffffu, D_NEXT | D_WRITE, 2 };
		desc[2] = (struct vdesc){ ram_end - 1, 1, D_WRITE, 0 };
	} else if (!strcmp(mode, "desc-loop")) {
		desc[0] = (struct vdesc){ gpa + 2048, 16, D_NEXT, 1 };
		desc[1] = (struct vdesc){ gpa + 2048, 16, D_NEXT, 0 };
	} else if (strcmp(mode, "avail-jump")) {
		say("unknown mode %s", mode);
		return 2;
	}
	if (!bring_up(num, gpa, gpa + 512, gpa + 1024))
		return 1;
	avail[2] = 0; /* ring[0]: head 0 */
	__sync_synchronize();
	avail[1] = !strcmp(mode, "avail-jump") ? 40000 : 1;
	__sync_synchronize();
	say("%s: avail.idx %u, notifying queue 0", mode, avail[1]);
	wr(R_QUEUE_NOTIFY, 0);
	return still_running();
}
