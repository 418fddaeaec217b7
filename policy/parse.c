/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>

#include "../launcher/jail.h"
#include "arca/limits.h"

#include <linux/kvm.h>
#include <seccomp.h>

#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Names a policy may use as values. ioctl requests come from the kernel's
 * own uapi header, so a request number can never drift from what arca-vmm
 * passes. Only names a VMM could plausibly need are listed: an unknown name
 * is an error, never a silent 0.
 */
#define KVM(n) { #n, (uint64_t)(n), 1 }
#define K(n) { #n, (uint64_t)(n), 0 }
static const struct {
	const char *name;
	uint64_t value;
	int is_ioctl;
} constants[] = {
	/* /dev/kvm */
	KVM(KVM_GET_API_VERSION), KVM(KVM_CREATE_VM), KVM(KVM_CHECK_EXTENSION),
	KVM(KVM_GET_VCPU_MMAP_SIZE), KVM(KVM_GET_SUPPORTED_CPUID), KVM(KVM_GET_MSR_INDEX_LIST),
	/* VM fd */
	KVM(KVM_CREATE_VCPU), KVM(KVM_SET_USER_MEMORY_REGION), KVM(KVM_SET_TSS_ADDR),
	KVM(KVM_SET_IDENTITY_MAP_ADDR), KVM(KVM_CREATE_IRQCHIP), KVM(KVM_CREATE_PIT2),
	KVM(KVM_IRQ_LINE), KVM(KVM_IRQ_LINE_STATUS), KVM(KVM_SIGNAL_MSI), KVM(KVM_IRQFD),
	KVM(KVM_IOEVENTFD), KVM(KVM_SET_GSI_ROUTING), KVM(KVM_GET_CLOCK), KVM(KVM_SET_CLOCK),
	KVM(KVM_GET_IRQCHIP), KVM(KVM_SET_IRQCHIP), KVM(KVM_ENABLE_CAP),
	KVM(KVM_GET_PIT2), KVM(KVM_SET_PIT2),
	/* vCPU fd */
	KVM(KVM_RUN), KVM(KVM_GET_REGS), KVM(KVM_SET_REGS), KVM(KVM_GET_SREGS),
	KVM(KVM_SET_SREGS), KVM(KVM_GET_FPU), KVM(KVM_SET_FPU), KVM(KVM_GET_MSRS),
	KVM(KVM_SET_MSRS), KVM(KVM_SET_CPUID2), KVM(KVM_GET_LAPIC), KVM(KVM_SET_LAPIC),
	KVM(KVM_GET_VCPU_EVENTS), KVM(KVM_SET_VCPU_EVENTS), KVM(KVM_SET_SIGNAL_MASK),
	KVM(KVM_INTERRUPT), KVM(KVM_NMI), KVM(KVM_GET_MP_STATE), KVM(KVM_SET_MP_STATE),
	KVM(KVM_GET_XSAVE), KVM(KVM_SET_XSAVE), KVM(KVM_GET_XCRS), KVM(KVM_SET_XCRS),
	KVM(KVM_GET_DEBUGREGS), KVM(KVM_SET_DEBUGREGS),
	/* signals */
	K(SIGUSR1), K(ARCA_VCPU_KICK_SIG),
	/* the VMM's fixed fd numbers (launcher/jail.h) */
	K(VMM_FD_SNAPSHOT),
	/* mmap/mprotect protections and flags */
	K(PROT_NONE), K(PROT_READ), K(PROT_WRITE), K(PROT_EXEC),
	K(MAP_SHARED), K(MAP_PRIVATE), K(MAP_ANONYMOUS), K(MAP_FIXED),
	K(MADV_DONTNEED),
	/* epoll_ctl operations */
	K(EPOLL_CTL_ADD), K(EPOLL_CTL_DEL), K(EPOLL_CTL_MOD),
};
#undef K
#undef KVM

int policy_constant(const char *name, uint64_t *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(constants); i++) {
		if (strcmp(constants[i].name, name) == 0) {
			*value = constants[i].value;
			return constants[i].is_ioctl;
		}
	}
	return -ENOENT;
}

struct pctx {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int perr(struct pctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->errlen)
		snprintf(c->err, c->errlen, "%s:%u: %s", c->file, c->line, msg);
	return -EINVAL;
}

/* Split a line (already stripped of its comment) into whitespace-separated
 * tokens, in place. */
static int tokenize(char *s, char **tok, unsigned max)
{
	unsigned n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return (int)n;
		if (n == max)
			return -E2BIG;
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = 0;
	}
}

static bool valid_ident(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

/* NUMBER or NAME, several joined by '|' without spaces. *ioctl is set when
 * a KVM request name was used. */
static int parse_value(struct pctx *c, const char *tok, uint64_t *out, int *ioctl)
{
	uint64_t v = 0;
	char buf[64];
	size_t n = strlen(tok);
	if (n == 0 || n >= sizeof(buf))
		return perr(c, "bad value '%s'", tok);
	memcpy(buf, tok, n + 1);
	char *save = NULL;
	unsigned parts = 0;
	for (char *p = strtok_r(buf, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
		parts++;
		if (isdigit((unsigned char)p[0])) {
			char *end;
			errno = 0;
			unsigned long long x = strtoull(p, &end, 0);
			if (errno || *end || p[0] == '-')
				return perr(c, "bad number '%s'", p);
			v |= x;
			continue;
		}
		if (!valid_ident(p))
			return perr(c, "bad value '%s'", p);
		uint64_t x;
		int r = policy_constant(p, &x);
		if (r < 0)
			return strncmp(p, "KVM_", 4) == 0
				       ? perr(c, "unknown ioctl request '%s'", p)
				       : perr(c, "unknown constant '%s'", p);
		if (r == 1)
			*ioctl = 1;
		v |= x;
	}
	/* "a||b", "|a", "a|" leave empty parts strtok skips: reject them. */
	if (parts == 0 || tok[0] == '|' || tok[n - 1] == '|' || strstr(tok, "||"))
		return perr(c, "bad value '%s'", tok);
	*out = v;
	return 0;
}

static int parse_arg(struct pctx *c, const char *tok, unsigned *arg)
{
	if (strncmp(tok, "arg", 3) != 0 || tok[3] < '0' || tok[3] > '5' || tok[4])
		return perr(c, "expected arg0..arg5, got '%s'", tok);
	*arg = (unsigned)(tok[3] - '0');
	return 0;
}

/* tok[0..n): one condition, 3 tokens (argN OP V) or 5 (argN & M == V). */
static int parse_cond(struct pctx *c, char **tok, unsigned n, struct policy_cond *cond,
		      int *ioctl)
{
	int r;
	memset(cond, 0, sizeof(*cond));
	if ((r = parse_arg(c, tok[0], &cond->arg)) < 0)
		return r;
	if (n == 3) {
		if (strcmp(tok[1], "==") == 0)
			cond->op = POLICY_EQ;
		else if (strcmp(tok[1], "!=") == 0)
			cond->op = POLICY_NE;
		else
			return perr(c, "expected == or != after %s, got '%s'", tok[0], tok[1]);
		return parse_value(c, tok[2], &cond->value, ioctl);
	}
	if (n == 5) {
		if (strcmp(tok[1], "&") != 0 || strcmp(tok[3], "==") != 0)
			return perr(c, "expected '%s & MASK == VALUE'", tok[0]);
		int dummy = 0;
		cond->op = POLICY_MASKED_EQ;
		if ((r = parse_value(c, tok[2], &cond->mask, &dummy)) < 0 ||
		    (r = parse_value(c, tok[4], &cond->value, &dummy)) < 0)
			return r;
		if (cond->value & ~cond->mask)
			return perr(c, "value has bits outside the mask: never matches");
		return 0;
	}
	return perr(c, "malformed condition (want 'argN == V', 'argN != V' or 'argN & M == V')");
}

static int parse_entry(struct pctx *c, char *s, struct policy *p)
{
	char *tok[32];
	int n = tokenize(s, tok, ARRAY_SIZE(tok));
	if (n < 0)
		return perr(c, "too many tokens");
	if (p->nrules == POLICY_MAX_RULES)
		return perr(c, "too many rules (max %d)", POLICY_MAX_RULES);

	struct policy_rule *rule = &p->rules[p->nrules];
	memset(rule, 0, sizeof(*rule));
	rule->line = c->line;
	if (!valid_ident(tok[0]) || strlen(tok[0]) >= sizeof(rule->name))
		return perr(c, "bad syscall name '%s'", tok[0]);
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, tok[0]);
	/* Negative numbers are libseccomp's pseudo-syscalls: names that exist
	 * on some architecture but not on x86_64. */
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return perr(c, "unknown x86_64 system call '%s'", tok[0]);
	strcpy(rule->name, tok[0]);
	rule->nr = nr;

	unsigned start = 1;
	while (start < (unsigned)n) {
		unsigned end = start;
		while (end < (unsigned)n && strcmp(tok[end], "&&") != 0)
			end++;
		if (end == start)
			return perr(c, "empty condition");
		if (rule->ncond == POLICY_MAX_CONDS)
			return perr(c, "more than %d conditions", POLICY_MAX_CONDS);
		struct policy_cond *cond = &rule->cond[rule->ncond];
		int is_ioctl = 0;
		int r = parse_cond(c, &tok[start], end - start, cond, &is_ioctl);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < rule->ncond; i++)
			if (rule->cond[i].arg == cond->arg)
				return perr(c, "two conditions on arg%u in one entry", cond->arg);
		if (is_ioctl) {
			if (strcmp(rule->name, "ioctl") != 0 || cond->arg != 1 || cond->op != POLICY_EQ)
				return perr(c, "ioctl request names only fit 'ioctl arg1 == NAME'");
			rule->is_ioctl_request = 1;
		}
		rule->ncond++;
		if (end < (unsigned)n && end + 1 == (unsigned)n)
			return perr(c, "dangling &&");
		start = end + 1;
	}

	/* A bare entry allows every argument: mixing it with conditional ones
	 * for the same syscall would make the conditions meaningless. */
	for (unsigned i = 0; i < p->nrules; i++) {
		struct policy_rule *o = &p->rules[i];
		if (o->nr != rule->nr)
			continue;
		if (o->ncond == 0 || rule->ncond == 0)
			return perr(c, "'%s' already allowed on line %u; an unconditional entry "
				    "cannot be combined with others", rule->name, o->line);
		if (o->ncond == rule->ncond &&
		    memcmp(o->cond, rule->cond, rule->ncond * sizeof(rule->cond[0])) == 0)
			return perr(c, "duplicate of line %u", o->line);
	}
	p->nrules++;
	return 0;
}

int policy_parse(const char *file, const char *text, size_t len, struct policy *out,
		 char *err, size_t errlen)
{
	struct pctx c = { .file = file, .err = err, .errlen = errlen };
	bool commented = false; /* this paragraph has a comment so far */
	size_t pos = 0;

	if (errlen)
		err[0] = 0;
	memset(out, 0, sizeof(*out));
	while (pos < len) {
		char line[512];
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		c.line++;
		if (end - pos >= sizeof(line))
			return perr(&c, "line too long");
		if (memchr(text + pos, 0, end - pos))
			return perr(&c, "NUL byte in line");
		memcpy(line, text + pos, end - pos);
		line[end - pos] = 0;
		pos = end < len ? end + 1 : end;

		char *hash = strchr(line, '#');
		bool has_comment = hash != NULL;
		if (hash) {
			/* A comment needs words, not a bare '#'. */
			const char *t = hash + 1;
			while (*t == ' ' || *t == '\t' || *t == '#')
				t++;
			has_comment = *t != 0;
			*hash = 0;
		}
		for (char *s = line; *s; s++)
			if (*s == '\r' || (!isprint((unsigned char)*s) && *s != '\t'))
				return perr(&c, "unexpected control character");
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s) {
			if (!hash)
				commented = false; /* blank line ends the paragraph */
			else if (has_comment)
				commented = true;
			continue;
		}
		if (!commented && !has_comment)
			return perr(&c, "entry '%s' has no '# why' comment in its paragraph", s);
		int r = parse_entry(&c, s, out);
		if (r < 0)
			return r;
	}
	if (out->nrules == 0) {
		c.line = 0;
		return perr(&c, "no entries");
	}
	return 0;
}

unsigned policy_count_syscalls(const struct policy *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nrules; i++) {
		bool seen = false;
		for (unsigned j = 0; j < i && !seen; j++)
			seen = p->rules[j].nr == p->rules[i].nr;
		n += !seen;
	}
	return n;
}

unsigned policy_count_ioctls(const struct policy *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nrules; i++)
		n += p->rules[i].is_ioctl_request; /* duplicates are rejected */
	return n;
}
