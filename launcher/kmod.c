/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "kmod.h"

int kmod_name_normalize(const char *name, char out[KMOD_NAME_MAX])
{
	size_t i;
	if (!name || !*name)
		return -EINVAL;
	for (i = 0; name[i]; i++) {
		char c = name[i];
		if (i + 1 >= KMOD_NAME_MAX)
			return -EINVAL;
		if (c == '-')
			c = '_';
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_'))
			return -EINVAL;
		out[i] = c;
	}
	out[i] = 0;
	return 0;
}

static int same_char(char a, char b)
{
	if (a == '-')
		a = '_';
	if (b == '-')
		b = '_';
	return a == b;
}

/* Compare name[0..n) with the C string b, '-' == '_'. */
static int name_eq_n(const char *a, size_t n, const char *b)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!b[i] || !same_char(a[i], b[i]))
			return 0;
	return b[i] == 0;
}

int kmod_name_eq(const char *a, const char *b)
{
	return name_eq_n(a, strlen(a), b);
}

/* ---- ELF ------------------------------------------------------------------ */

/* Is [off, off+size) inside a buffer of len bytes? Overflow-safe. */
static int in_bounds(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int read_shdr(const uint8_t *ko, size_t len, uint64_t shoff, uint64_t i,
		     Elf64_Shdr *sh)
{
	/* i < shnum and the table was checked to fit, but check again: cheap. */
	if (i > (len / sizeof(*sh)))
		return -ENOEXEC;
	uint64_t off = shoff + i * sizeof(*sh);
	if (off < shoff || !in_bounds(off, sizeof(*sh), len))
		return -ENOEXEC;
	memcpy(sh, ko + off, sizeof(*sh)); /* memcpy: no alignment assumptions */
	return 0;
}

/* Find the named section's contents inside ko. */
static int elf_section(const uint8_t *ko, size_t len, const char *want,
		       const uint8_t **sec, size_t *slen)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh0, strsh, sh;

	if (!ko || len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, ko, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_type != ET_REL ||
	    eh.e_machine != EM_X86_64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_shoff == 0)
		return -ENOEXEC;

	if (read_shdr(ko, len, eh.e_shoff, 0, &sh0) < 0)
		return -ENOEXEC;
	/* ELF extended numbering: counts too big for the header live in
	 * section 0 (gABI "Sections", SHN_XINDEX). */
	uint64_t shnum = eh.e_shnum ? eh.e_shnum : sh0.sh_size;
	uint64_t shstrndx = eh.e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh.e_shstrndx;
	if (shnum == 0 || eh.e_shoff > len ||
	    shnum > (len - eh.e_shoff) / sizeof(Elf64_Shdr) || shstrndx >= shnum)
		return -ENOEXEC;

	if (read_shdr(ko, len, eh.e_shoff, shstrndx, &strsh) < 0 ||
	    strsh.sh_type == SHT_NOBITS || !in_bounds(strsh.sh_offset, strsh.sh_size, len))
		return -ENOEXEC;
	const char *strtab = (const char *)ko + strsh.sh_offset;
	uint64_t strsize = strsh.sh_size;

	for (uint64_t i = 1; i < shnum; i++) {
		if (read_shdr(ko, len, eh.e_shoff, i, &sh) < 0)
			return -ENOEXEC;
		if (sh.sh_name >= strsize)
			return -ENOEXEC;
		const char *nm = strtab + sh.sh_name;
		size_t room = strsize - sh.sh_name;
		size_t nlen = strnlen(nm, room);
		if (nlen == room) /* not NUL-terminated inside .shstrtab */
			return -ENOEXEC;
		if (strcmp(nm, want) != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS || !in_bounds(sh.sh_offset, sh.sh_size, len))
			return -ENOEXEC;
		*sec = ko + sh.sh_offset;
		*slen = sh.sh_size;
		return 0;
	}
	return -ENOENT;
}

int kmod_modinfo_get(const uint8_t *ko, size_t len, const char *key,
		     const uint8_t **val, size_t *vlen)
{
	const uint8_t *mi;
	size_t milen;
	int r = elf_section(ko, len, ".modinfo", &mi, &milen);
	if (r < 0)
		return -ENOEXEC; /* no .modinfo: not a kernel module */

	size_t klen = strlen(key);
	/* .modinfo holds "key=value" strings separated by one or more NULs
	 * (alignment padding). The last one may lack its NUL in a corrupt
	 * file: every scan stays inside [mi, mi + milen). */
	size_t i = 0;
	while (i < milen) {
		if (mi[i] == 0) {
			i++;
			continue;
		}
		const uint8_t *s = mi + i;
		const uint8_t *nul = memchr(s, 0, milen - i);
		size_t slen = nul ? (size_t)(nul - s) : milen - i;
		if (slen > klen && memcmp(s, key, klen) == 0 && s[klen] == '=') {
			*val = s + klen + 1;
			*vlen = slen - klen - 1;
			return 0;
		}
		i += slen;
	}
	return -ENOENT;
}

int kmod_modinfo_has(const uint8_t *ko, size_t len, const char *key, const char *value)
{
	const uint8_t *mi;
	size_t milen, klen = strlen(key), vlen = strlen(value);

	if (elf_section(ko, len, ".modinfo", &mi, &milen) < 0)
		return -ENOEXEC;
	/* The same walk as kmod_modinfo_get, comparing whole entries. */
	for (size_t i = 0; i < milen;) {
		if (mi[i] == 0) {
			i++;
			continue;
		}
		const uint8_t *s = mi + i;
		const uint8_t *nul = memchr(s, 0, milen - i);
		size_t slen = nul ? (size_t)(nul - s) : milen - i;
		if (slen == klen + 1 + vlen && !memcmp(s, key, klen) && s[klen] == '=' &&
		    !memcmp(s + klen + 1, value, vlen))
			return 1;
		i += slen;
	}
	return 0;
}

int kmod_depends(const uint8_t *ko, size_t len, char **out)
{
	const uint8_t *v;
	size_t vlen;
	int r = kmod_modinfo_get(ko, len, "depends", &v, &vlen);
	if (r == -ENOENT) {
		v = (const uint8_t *)"";
		vlen = 0;
	} else if (r < 0) {
		return r;
	}
	*out = strndup((const char *)v, vlen);
	return *out ? 0 : -ENOMEM;
}

/* ---- modules.order / modules.builtin ---------------------------------------- */

int kmod_list_find(const char *text, size_t len, const char *name,
		   const char **path, size_t *plen)
{
	size_t i = 0;
	while (i < len) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		i += ll + 1;

		/* basename without ".ko" (also accept compressed suffixes, so
		 * the caller can say why such a module is unusable) */
		const char *base = line;
		for (size_t j = 0; j < ll; j++)
			if (line[j] == '/')
				base = line + j + 1;
		size_t bl = ll - (size_t)(base - line);
		const char *dot = memchr(base, '.', bl);
		if (!dot || strncmp(dot, ".ko", 3) != 0)
			continue;
		if (name_eq_n(base, (size_t)(dot - base), name)) {
			*path = line;
			*plen = ll;
			return 1;
		}
	}
	return 0;
}

/* ---- resolution ---------------------------------------------------------- */

enum { ST_VISITING = 1, ST_DONE, ST_BUILTIN };

struct node {
	char name[KMOD_NAME_MAX];
	int state;
};

struct resolver {
	kmod_lookup_fn lookup;
	void *ctx;
	struct arca_err *e;
	struct node *nodes; /* KMOD_MAX_MODULES */
	size_t nnodes;
	struct kmod_list *out;
};

static int visit(struct resolver *r, const char *raw, const char *parent)
{
	char name[KMOD_NAME_MAX];
	if (kmod_name_normalize(raw, name) < 0) {
		if (parent)
			return arca_error(r->e, EINVAL,
					  "module %s: invalid dependency name '%.64s'",
					  parent, raw);
		return arca_error(r->e, EINVAL, "invalid module name '%.64s'", raw);
	}

	for (size_t i = 0; i < r->nnodes; i++) {
		if (strcmp(r->nodes[i].name, name) != 0)
			continue;
		if (r->nodes[i].state == ST_VISITING)
			return arca_error(r->e, ELOOP, "module dependency cycle through %s%s%s",
					  name, parent ? " (needed by " : "",
					  parent ? parent : "");
		return 0;
	}
	if (r->nnodes >= KMOD_MAX_MODULES)
		return arca_error(r->e, E2BIG, "module %s: more than %d modules needed",
				  name, KMOD_MAX_MODULES);
	size_t self = r->nnodes++;
	memcpy(r->nodes[self].name, name, sizeof(name));
	r->nodes[self].state = ST_VISITING;

	_cleanup_free_ uint8_t *data = NULL;
	size_t len = 0;
	int rc = r->lookup(r->ctx, name, &data, &len, r->e);
	if (rc < 0)
		return rc;
	if (rc == KMOD_LOOKUP_BUILTIN) {
		r->nodes[self].state = ST_BUILTIN;
		return 0;
	}

	_cleanup_free_ char *deps = NULL;
	rc = kmod_depends(data, len, &deps);
	if (rc < 0)
		return arca_error(r->e, -rc, "module %s: not a valid x86-64 kernel module",
				  name);

	/* Depth is bounded: every level adds a VISITING node, at most
	 * KMOD_MAX_MODULES of them. */
	char *save = NULL;
	for (char *d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		rc = visit(r, d, name);
		if (rc < 0)
			return rc;
	}

	struct kmod_entry *ent = &r->out->v[r->out->n++];
	memcpy(ent->name, name, sizeof(name));
	ent->data = steal_pointer(&data);
	ent->len = len;
	r->nodes[self].state = ST_DONE;
	return 0;
}

int kmod_resolve(const char *const *wanted, size_t nwanted, kmod_lookup_fn lookup,
		 void *ctx, struct kmod_list *out, struct arca_err *e)
{
	out->v = calloc(KMOD_MAX_MODULES, sizeof(*out->v));
	out->n = 0;
	_cleanup_free_ struct node *nodes = calloc(KMOD_MAX_MODULES, sizeof(*nodes));
	if (!out->v || !nodes) {
		kmod_list_free(out);
		return arca_error(e, ENOMEM, "out of memory resolving modules");
	}
	struct resolver r = {
		.lookup = lookup, .ctx = ctx, .e = e, .nodes = nodes, .out = out,
	};
	for (size_t i = 0; i < nwanted; i++) {
		int rc = visit(&r, wanted[i], NULL);
		if (rc < 0) {
			kmod_list_free(out);
			return rc;
		}
	}
	return 0;
}

void kmod_list_free(struct kmod_list *l)
{
	if (l->v)
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i].data);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
