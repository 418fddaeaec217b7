/* SPDX-License-Identifier: MIT */
/*
 * Build-time policy compiler: parses the policy files (parse.c) and writes a
 * C source with one classic-BPF seccomp program per thread class plus the
 * x86_64 syscall-name table the SIGSYS reporter prints from. arca-vmm
 * embeds the result, so libseccomp (its parser, its allocator) is a build
 * dependency only and never runs inside the confined process.
 *
 *   compile [--default-action=trap|log] -o OUT.c CLASS=FILE...
 *
 * Default action TRAP: arca-vmm's SIGSYS handler names the call and exits
 * 125. LOG (debugging a too-tight policy) lets every call through and
 * leaves an audit record in the kernel log. A foreign architecture (i386
 * or x32 syscall entry) kills the process outright: those numbers mean
 * different calls and nothing in arca-vmm uses them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/filter.h>
#include <seccomp.h>

#include "parse.h"

#define MAX_CLASSES 6
#define MAX_SYSCALL_NR 1024

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *nb = cap > (1u << 24) ? NULL : realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	int err = ferror(f) ? EIO : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	if (err) {
		free(buf);
		return -err;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int build(const struct policy *p, uint32_t def, struct sock_filter **prog, size_t *n)
{
	int r;
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return -ENOMEM;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
		/* The policies, the uapi ioctl numbers and the name table are
		 * x86_64's; build on x86_64 (or teach this to add the arch). */
		r = -ENOTSUP;
		goto out;
	}
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		goto out;
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct policy_rule *rule = &p->rules[i];
		struct scmp_arg_cmp cmp[POLICY_MAX_CONDS];
		for (unsigned j = 0; j < rule->ncond; j++) {
			const struct policy_cond *c = &rule->cond[j];
			cmp[j] = (struct scmp_arg_cmp){ .arg = c->arg };
			switch (c->op) {
			case POLICY_EQ:
				cmp[j].op = SCMP_CMP_EQ;
				cmp[j].datum_a = c->value;
				break;
			case POLICY_NE:
				cmp[j].op = SCMP_CMP_NE;
				cmp[j].datum_a = c->value;
				break;
			case POLICY_MASKED_EQ:
				cmp[j].op = SCMP_CMP_MASKED_EQ;
				cmp[j].datum_a = c->mask;
				cmp[j].datum_b = c->value;
				break;
			}
		}
		r = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, rule->nr, rule->ncond, cmp);
		if (r < 0) {
			fprintf(stderr, "policy: line %u (%s): libseccomp rejected the rule: %s\n",
				rule->line, rule->name, strerror(-r));
			goto out;
		}
	}

	FILE *tmp = tmpfile();
	if (!tmp) {
		r = -errno;
		goto out;
	}
	if ((r = seccomp_export_bpf(ctx, fileno(tmp))) == 0) {
		long size = lseek(fileno(tmp), 0, SEEK_END);
		if (size <= 0 || size % (long)sizeof(struct sock_filter) ||
		    size / (long)sizeof(struct sock_filter) > BPF_MAXINSNS) {
			r = -E2BIG;
		} else {
			*n = (size_t)size / sizeof(struct sock_filter);
			*prog = malloc((size_t)size);
			if (!*prog)
				r = -ENOMEM;
			else if (pread(fileno(tmp), *prog, (size_t)size, 0) != size)
				r = -EIO;
		}
	}
	fclose(tmp);
out:
	seccomp_release(ctx);
	return r;
}

static void emit_filter(FILE *o, const char *cls, const char *file, const struct policy *p,
			const struct sock_filter *prog, size_t n)
{
	fprintf(o, "/* %s: %u syscalls, %u ioctl requests, %zu BPF instructions */\n", file,
		policy_count_syscalls(p), policy_count_ioctls(p), n);
	fprintf(o, "const struct sock_filter vmm_%s_filter[] = {\n", cls);
	for (size_t i = 0; i < n; i++)
		fprintf(o, "\t{ 0x%04x, %u, %u, 0x%08x },\n", prog[i].code, prog[i].jt, prog[i].jf,
			prog[i].k);
	fprintf(o, "};\nconst unsigned short vmm_%s_filter_len = %zu;\n", cls, n);
	fprintf(o, "const unsigned vmm_%s_nsyscalls = %u;\n", cls, policy_count_syscalls(p));
	fprintf(o, "const unsigned vmm_%s_nioctls = %u;\n\n", cls, policy_count_ioctls(p));
}

static void emit_names(FILE *o)
{
	int max = -1;
	fprintf(o, "const char *const vmm_syscall_names[] = {\n");
	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (!name)
			continue;
		fprintf(o, "\t[%d] = \"%s\",\n", nr, name);
		max = nr;
		free(name);
	}
	fprintf(o, "};\nconst unsigned vmm_syscall_names_len = %d;\n", max + 1);
}

static int usage(void)
{
	fprintf(stderr, "usage: compile [--default-action=trap|log] -o OUT.c CLASS=FILE...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint32_t def = SCMP_ACT_TRAP;
	const char *cls[MAX_CLASSES], *file[MAX_CLASSES];
	unsigned ncls = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "--default-action=trap") == 0) {
			def = SCMP_ACT_TRAP;
		} else if (strcmp(argv[i], "--default-action=log") == 0) {
			def = SCMP_ACT_LOG;
		} else if (strchr(argv[i], '=') && argv[i][0] != '-' && ncls < MAX_CLASSES) {
			char *eq = strchr(argv[i], '=');
			*eq = 0;
			cls[ncls] = argv[i];
			file[ncls++] = eq + 1;
		} else {
			return usage();
		}
	}
	if (!out || ncls == 0)
		return usage();

	static struct policy pol[MAX_CLASSES];
	struct sock_filter *prog[MAX_CLASSES] = { 0 };
	size_t nprog[MAX_CLASSES];
	for (unsigned i = 0; i < ncls; i++) {
		char *text = NULL, err[512];
		size_t len = 0;
		int r = read_file(file[i], &text, &len);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", file[i], strerror(-r));
			return 1;
		}
		r = policy_parse(file[i], text, len, &pol[i], err, sizeof(err));
		free(text);
		if (r < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if ((r = build(&pol[i], def, &prog[i], &nprog[i])) < 0) {
			fprintf(stderr, "%s: building the filter failed: %s\n", file[i], strerror(-r));
			return 1;
		}
		printf("  POLICY  %s: %u syscalls, %u ioctl requests, %zu BPF instructions%s\n",
		       file[i], policy_count_syscalls(&pol[i]), policy_count_ioctls(&pol[i]),
		       nprog[i], def == SCMP_ACT_LOG ? " (default action LOG: DEBUG ONLY)" : "");
	}

	/* Write to a temporary name and rename: a failed run never leaves a
	 * half-written source that make would consider up to date. */
	char tmpname[4096];
	if (snprintf(tmpname, sizeof(tmpname), "%s.tmp", out) >= (int)sizeof(tmpname))
		return 1;
	FILE *o = fopen(tmpname, "we");
	if (!o) {
		perror(tmpname);
		return 1;
	}
	fprintf(o, "/* Generated by policy/compile from");
	for (unsigned i = 0; i < ncls; i++)
		fprintf(o, " %s", file[i]);
	fprintf(o, ". Do not edit. */\n");
	fprintf(o, "#include \"seccomp_policies.h\"\n\n");
	fprintf(o, "const unsigned vmm_filter_default_log = %d;\n\n", def == SCMP_ACT_LOG);
	for (unsigned i = 0; i < ncls; i++) {
		emit_filter(o, cls[i], file[i], &pol[i], prog[i], nprog[i]);
		free(prog[i]);
	}
	emit_names(o);
	if (fclose(o) != 0 || rename(tmpname, out) != 0) {
		perror(out);
		unlink(tmpname);
		return 1;
	}
	return 0;
}
