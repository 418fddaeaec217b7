/* SPDX-License-Identifier: MIT */
/* Pure host-fact parsers and the doctor's report formats; see hostinfo.h. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hostinfo.h"

/* Is `word` one of the space-separated words in [p, end)? */
static bool has_word(const char *p, const char *end, const char *word)
{
	size_t wl = strlen(word);
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - w) == wl && !memcmp(w, word, wl))
			return true;
	}
	return false;
}

int host_cpu_virt(const char *cpuinfo, size_t len)
{
	const char *p = cpuinfo, *end = cpuinfo + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		/* "flags\t\t: fpu vme ..." — the key, optional blanks, a colon.
		 * Not "vmx flags" (Linux 5.8+ lists VMX features there). */
		if ((size_t)(eol - p) > 5 && !memcmp(p, "flags", 5) &&
		    (p[5] == ' ' || p[5] == '\t' || p[5] == ':')) {
			const char *q = p + 5;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			if (q < eol && *q == ':') {
				int v = 0;
				if (has_word(q + 1, eol, "vmx"))
					v |= HOST_VIRT_VMX;
				if (has_word(q + 1, eol, "svm"))
					v |= HOST_VIRT_SVM;
				return v;
			}
		}
		p = eol + 1;
	}
	return -ENOENT;
}

int host_parse_sysctl_long(const char *text, long *out)
{
	const char *p = text;
	bool neg = false;
	long v = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, *p - '0', &v))
			return -EINVAL;
	}
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*out = neg ? -v : v;
	return 0;
}

const char *host_io_uring_disabled_text(long v)
{
	switch (v) {
	case 0:
		return "io_uring enabled for everyone";
	case 1:
		return "io_uring only for root and kernel.io_uring_group";
	case 2:
		return "io_uring disabled for everyone";
	default:
		return "io_uring_disabled has an unknown value";
	}
}

bool doctor_passed(const struct doctor_check *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].status == DOCTOR_FAIL)
			return false;
	return true;
}

/* An output buffer that counts what it would need (snprintf-style). */
struct obuf {
	char *p;
	size_t cap, len;
};

static void ob_putc(struct obuf *b, char ch)
{
	if (b->len + 1 < b->cap)
		b->p[b->len] = ch;
	b->len++;
	if (b->cap)
		b->p[b->len < b->cap ? b->len : b->cap - 1] = '\0';
}

static void ob_puts(struct obuf *b, const char *s)
{
	while (*s)
		ob_putc(b, *s++);
}

static const char *status_word(enum doctor_status s)
{
	return s == DOCTOR_OK ? "ok" : s == DOCTOR_WARN ? "warn" : "fail";
}

size_t doctor_format_text(const struct doctor_check *c, size_t n, char *out, size_t cap)
{
	struct obuf b = { out, cap, 0 };
	unsigned nwarn = 0, nfail = 0;
	char pad[32];

	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* FAIL in capitals: it is what a reader scans for. */
		ob_puts(&b, c[i].status == DOCTOR_OK ? "ok  " :
			    c[i].status == DOCTOR_WARN ? "warn" : "FAIL");
		snprintf(pad, sizeof(pad), "  %-12s ", c[i].name);
		ob_puts(&b, pad);
		ob_puts(&b, c[i].detail);
		if (c[i].status != DOCTOR_OK && c[i].fix[0]) {
			ob_puts(&b, " -- fix: ");
			ob_puts(&b, c[i].fix);
		}
		ob_putc(&b, '\n');
		nwarn += c[i].status == DOCTOR_WARN;
		nfail += c[i].status == DOCTOR_FAIL;
	}
	snprintf(pad, sizeof(pad), "%u", nfail);
	if (nfail) {
		ob_puts(&b, "arca doctor: ");
		ob_puts(&b, pad);
		ob_puts(&b, nfail == 1 ? " check failed: 'arca run' cannot work on this host\n"
				       : " checks failed: 'arca run' cannot work on this host\n");
	} else {
		snprintf(pad, sizeof(pad), "%u", nwarn);
		ob_puts(&b, "arca doctor: 'arca run' can work on this host");
		if (nwarn) {
			ob_puts(&b, " (");
			ob_puts(&b, pad);
			ob_puts(&b, nwarn == 1 ? " warning)" : " warnings)");
		}
		ob_putc(&b, '\n');
	}
	return b.len;
}

/* A JSON string: quotes, backslash and control characters escaped; bytes
 * >= 0x80 pass through (the texts are UTF-8 or ASCII). */
static void ob_json_string(struct obuf *b, const char *s)
{
	char esc[8];
	ob_putc(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			ob_putc(b, '\\');
			ob_putc(b, (char)ch);
		} else if (ch == '\n') {
			ob_puts(b, "\\n");
		} else if (ch == '\t') {
			ob_puts(b, "\\t");
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			ob_puts(b, esc);
		} else {
			ob_putc(b, (char)ch);
		}
	}
	ob_putc(b, '"');
}

size_t doctor_format_json(const struct doctor_check *c, size_t n, char *out, size_t cap)
{
	struct obuf b = { out, cap, 0 };

	if (cap)
		out[0] = '\0';
	ob_puts(&b, "{\"ok\":");
	ob_puts(&b, doctor_passed(c, n) ? "true" : "false");
	ob_puts(&b, ",\"checks\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			ob_putc(&b, ',');
		ob_puts(&b, "{\"name\":");
		ob_json_string(&b, c[i].name);
		ob_puts(&b, ",\"status\":");
		ob_json_string(&b, status_word(c[i].status));
		ob_puts(&b, ",\"detail\":");
		ob_json_string(&b, c[i].detail);
		ob_puts(&b, ",\"fix\":");
		ob_json_string(&b, c[i].fix);
		ob_putc(&b, '}');
	}
	ob_puts(&b, "]}\n");
	return b.len;
}
