/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "timeline.h"

struct out {
	char *p;
	size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->len < o->cap ? o->p + o->len : NULL,
			  o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* b - a in ms if both are known and in order, else a negative value. */
static double span(uint64_t a, uint64_t b)
{
	return a && b && b >= a ? (double)(b - a) / 1e6 : -1;
}

static void step(struct out *o, const char *what, double ms)
{
	if (ms >= 0)
		put(o, "arca:   %-52s %9.1f\n", what, ms);
	else
		put(o, "arca:   %-52s %9s\n", what, "?");
}

int timeline_format(const struct timeline *t, char *out, size_t cap)
{
	struct out o = { out, cap, 0 };
	const uint64_t *g = t->g;

	if (cap)
		out[0] = '\0';
	/* The guest's marks count only if every one is there and in order:
	 * a run that failed early has gaps, a hostile guest any values. */
	bool guest = true;
	for (unsigned i = 0; i < ARCA_MARK_NR; i++)
		if (!g[i] || (i && g[i] < g[i - 1]))
			guest = false;
	/* HELLO is sent just before ARCA_MARK_PORTS: that instant on both
	 * clocks ties the guest's steps to the host's. The kernel's own part
	 * is what the host saw until HELLO less arca-init's steps before it:
	 * the guest's clock is no use for the kernel itself, which runs its
	 * decompressor before that clock exists and its early boot on a
	 * jiffies clock that lags when timer ticks come late. */
	double to_hello = span(t->run_ns, t->hello_ns);
	double after_hello = span(t->hello_ns, t->end_ns);
	double g_head = guest ? span(g[ARCA_MARK_INIT], g[ARCA_MARK_PORTS]) : -1;
	double g_tail = guest ? span(g[ARCA_MARK_PORTS], g[ARCA_MARK_SYNCED]) : -1;
	double kern = guest && to_hello >= 0 && to_hello >= g_head ? to_hello - g_head : -1;
	double exit = guest && after_hello >= 0 && after_hello >= g_tail ? after_hello - g_tail : -1;
	if (t->restored) {
		/* The kernel's step is the guest's resuming: HELLO to EXIT on
		 * the host less arca-init's steps in between; the exit step
		 * is then the host's own, EXIT to the VM's end. */
		double to_exit = span(t->hello_ns, t->exit_ns);
		kern = guest && to_exit >= 0 && to_exit >= g_tail ? to_exit - g_tail : -1;
		exit = kern >= 0 ? span(t->exit_ns, t->end_ns) : -1;
	}
	uint64_t first = t->launch_ns && t->launch_ns <= t->vmm_ns ? t->launch_ns : t->vmm_ns;

	put(&o, "arca: boot breakdown, ms (arca-init's steps by the guest's clock):\n");
	if (t->launch_ns)
		step(&o, "launcher: inputs, initrd, cgroup, KVM self-test, jail",
		     span(t->launch_ns, t->vmm_ns));
	step(&o, "arca-vmm: set-up, kernel and initrd loaded", span(t->vmm_ns, t->run_ns));
	if (!guest) {
		step(&o, "guest: kernel boot and arca-init until HELLO", to_hello);
		step(&o, "guest: the rest, until the VM ended", after_hello);
		put(&o, "arca:   (arca-init's step times are missing or out of order)\n");
	} else {
		step(&o, t->restored ? "restored guest: resuming, until its spec was read"
				     : "kernel: boot until arca-init (its decompressor included)",
		     kern);
		step(&o, "arca-init: kernel modules", span(g[ARCA_MARK_INIT], g[ARCA_MARK_MODULES]));
		step(&o, "arca-init: console ports", span(g[ARCA_MARK_MODULES], g[ARCA_MARK_PORTS]));
		step(&o, "arca-init: spec, shares, disks, the command's root",
		     span(g[ARCA_MARK_PORTS], g[ARCA_MARK_ROOT]));
		step(&o, "arca-init: starting the command", span(g[ARCA_MARK_ROOT], g[ARCA_MARK_SPAWN]));
		step(&o, "the command", span(g[ARCA_MARK_SPAWN], g[ARCA_MARK_CMD_EXIT]));
		step(&o, "its output drained", span(g[ARCA_MARK_CMD_EXIT], g[ARCA_MARK_DRAINED]));
		step(&o, "arca-init: unmount, sync", span(g[ARCA_MARK_DRAINED], g[ARCA_MARK_SYNCED]));
		step(&o, "exit: EXIT sent, the VM stopped", exit);
	}
	step(&o, "total", span(first, t->end_ns));
	return (int)o.len;
}
