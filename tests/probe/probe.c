/* SPDX-License-Identifier: MIT */
/*
 * probe: multi-call test binary for the guest side of the virtio-fs tests.
 *
 *   probe conformance DIR            filesystem semantics checks on DIR
 *   probe write-tree DIR [SEED]      write the deterministic test tree
 *   probe check-tree DIR [SEED]      verify it byte for byte
 *   probe escape DIR MARKER          try to leave the share mounted at DIR
 *   probe blk-verify DEV SEED COUNT [THREADS]
 *                                    random 4 KiB writes with CRC-32C, then verify
 *   probe vmm-fds PID MARKER         (host, root) try ".." from arca-vmm's share fds
 *   probe kill-init CODE             make PID 1 exit (a hostile guest; hostile.c)
 *   probe mmio-abuse MODE DEVID      garbage into a virtio-mmio device's registers
 *
 * Static (musl) so the same file runs in the guest and on the host.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe.h"

static char probe_msg[512];

static int probe_set(int rc, const char *fmt, va_list ap)
{
	vsnprintf(probe_msg, sizeof(probe_msg), fmt, ap);
	/* one result per line: a reason must not break the line protocol */
	for (char *c = probe_msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return rc;
}

int probe_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = probe_set(PROBE_FAIL, fmt, ap);
	va_end(ap);
	return rc;
}

int probe_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = probe_set(PROBE_SKIP, fmt, ap);
	va_end(ap);
	return rc;
}

int probe_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = probe_set(PROBE_PASS, fmt, ap);
	va_end(ap);
	return rc;
}

int probe_escaped(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = probe_set(PROBE_ESCAPED, fmt, ap);
	va_end(ap);
	return rc;
}

void probe_report(struct probe_stats *st, const char *name, int rc, const char *ok_word)
{
	const char *ow = ok_word ? ok_word : "", *os = ok_word ? " " : "";

	switch (rc) {
	case PROBE_PASS:
		st->passed++;
		if (probe_msg[0])
			printf("ok %s%s%s # %s\n", ow, os, name, probe_msg);
		else
			printf("ok %s%s%s\n", ow, os, name);
		break;
	case PROBE_SKIP:
		st->skipped++;
		printf("skip %s: %s\n", name, probe_msg[0] ? probe_msg : "skipped");
		break;
	case PROBE_ESCAPED:
		st->failed++;
		printf("not ok ESCAPED %s: %s\n", name, probe_msg[0] ? probe_msg : "escaped");
		break;
	default:
		st->failed++;
		printf("not ok %s: %s\n", name, probe_msg[0] ? probe_msg : "failed");
		break;
	}
	probe_msg[0] = '\0';
	/* the e2e reads this through a virtio-console port; a crash later must
	 * not lose the lines already decided */
	fflush(stdout);
}

int probe_summary(const struct probe_stats *st)
{
	printf("probe: %u passed, %u failed, %u skipped\n", st->passed, st->failed, st->skipped);
	fflush(stdout);
	return st->failed ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: probe conformance DIR\n"
			"       probe write-tree DIR [SEED]\n"
			"       probe check-tree DIR [SEED]\n"
			"       probe escape DIR OUTSIDE_MARKER\n"
			"       probe blk-verify DEV SEED COUNT [THREADS]\n"
			"       probe vmm-fds PID MARKER\n"
			"       probe kill-init CODE\n"
			"       probe mmio-abuse regs|ring-outside|desc-outside|desc-loop|avail-jump DEVID\n");
	return 2;
}

int main(int argc, char **argv)
{
	/* modes in the checks and the tree are exact, not umask-dependent */
	umask(0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "conformance"))
		return probe_conformance(argc - 1, argv + 1);
	if (!strcmp(argv[1], "write-tree"))
		return probe_write_tree(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check-tree"))
		return probe_check_tree(argc - 1, argv + 1);
	if (!strcmp(argv[1], "escape"))
		return probe_escape(argc - 1, argv + 1);
	if (!strcmp(argv[1], "blk-verify"))
		return probe_blk_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "vmm-fds"))
		return probe_vmm_fds(argc - 1, argv + 1);
	if (!strcmp(argv[1], "kill-init"))
		return probe_kill_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mmio-abuse"))
		return probe_mmio_abuse(argc - 1, argv + 1);
	return usage();
}
