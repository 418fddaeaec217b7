/* SPDX-License-Identifier: MIT */
/*
 * Pure readers of host facts for `arca doctor` and arca run's KVM check:
 * they parse text the caller read (/proc/cpuinfo, a sysctl) and format the
 * doctor's report, so cmocka tests them with any input. No I/O here.
 */
#ifndef ARCA_HOSTINFO_H
#define ARCA_HOSTINFO_H

#include <stdbool.h>
#include <stddef.h>

/* Hardware virtualization flags of the first CPU in /proc/cpuinfo text. */
#define HOST_VIRT_VMX 0x1u /* Intel VT-x */
#define HOST_VIRT_SVM 0x2u /* AMD-V */
/* HOST_VIRT_* bits (0: neither), or -ENOENT when the text has no "flags"
 * line (not x86, or not cpuinfo at all). */
int host_cpu_virt(const char *cpuinfo, size_t len);

/* A sysctl's text ("2\n"): an optional '-', digits, an optional newline;
 * nothing else. 0 or -EINVAL. */
int host_parse_sysctl_long(const char *text, long *out);

/* kernel.io_uring_disabled (Linux 6.6+): 0 everyone, 1 only root and the
 * io_uring_group, 2 nobody. The phrase for the doctor's line. */
const char *host_io_uring_disabled_text(long v);

enum doctor_status { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

#define DOCTOR_TEXT_MAX 320

/* One line of `arca doctor`: ok / warn (arca works, with less) / fail
 * (arca run cannot work here until `fix` is done). */
struct doctor_check {
	const char *name;              /* short stable id: "kvm-guest" */
	enum doctor_status status;
	char detail[DOCTOR_TEXT_MAX];  /* what was found */
	char fix[DOCTOR_TEXT_MAX];     /* what to do; empty when ok */
};

/* True when no check failed: `arca doctor` exits 0. */
bool doctor_passed(const struct doctor_check *c, size_t n);

/* The report as text, one line per check ("ok    name  detail", and
 * " -- fix: ..." after a warning or failure), then a summary line.
 * Returns the length it needed (snprintf-style; out may be too small). */
size_t doctor_format_text(const struct doctor_check *c, size_t n, char *out, size_t cap);

/* The report as one JSON object:
 *   {"ok":BOOL,"checks":[{"name":S,"status":"ok"|"warn"|"fail","detail":S,"fix":S},...]}
 * with strings escaped per RFC 8259. Returns the length it needed. */
size_t doctor_format_json(const struct doctor_check *c, size_t n, char *out, size_t cap);

#endif
