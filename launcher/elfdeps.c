/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "elfdeps.h"

/* [off, off + n) inside [0, len) without overflow. */
static int in_bounds(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

/* File offset of virtual address v (a string table address) through the
 * PT_LOAD that maps it from the file; -1 when none does. */
static int64_t vaddr_to_off(const uint8_t *b, const Elf64_Ehdr *eh, uint64_t v)
{
	for (size_t i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || v < ph.p_vaddr || v - ph.p_vaddr >= ph.p_filesz)
			continue;
		uint64_t off = ph.p_offset + (v - ph.p_vaddr);
		if (off < ph.p_offset || off > INT64_MAX)
			return -1;
		return (int64_t)off;
	}
	return -1;
}

static int path_ok(const char *p)
{
	/* Absolute, no "..": it names where the bind mount goes in the jail. */
	return p[0] == '/' && !strstr(p, "/../") &&
	       !(strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/.."));
}

static int read_interp(const uint8_t *b, size_t len, const Elf64_Phdr *ph, struct elf_deps *d)
{
	if (!in_bounds(ph->p_offset, ph->p_filesz, len) || ph->p_filesz < 2)
		return -ENOEXEC;
	const char *s = (const char *)b + ph->p_offset;
	size_t n = strnlen(s, ph->p_filesz);
	if (n == ph->p_filesz)
		return -ENOEXEC; /* not NUL-terminated inside the segment */
	if (n >= sizeof(d->interp))
		return -E2BIG;
	memcpy(d->interp, s, n + 1);
	return path_ok(d->interp) ? 0 : -ENOEXEC;
}

static int read_dynamic(const uint8_t *b, size_t len, const Elf64_Ehdr *eh,
			const Elf64_Phdr *dyn, struct elf_deps *d)
{
	uint64_t strtab = 0, strsz = 0, needed[ELFDEPS_MAX_NEEDED];
	size_t nneeded = 0;
	int have_strtab = 0;

	if (!in_bounds(dyn->p_offset, dyn->p_filesz, len))
		return -ENOEXEC;
	for (uint64_t i = 0; i < dyn->p_filesz / sizeof(Elf64_Dyn); i++) {
		Elf64_Dyn de;
		memcpy(&de, b + dyn->p_offset + i * sizeof(de), sizeof(de));
		if (de.d_tag == DT_NULL)
			break;
		if (de.d_tag == DT_STRTAB) {
			strtab = de.d_un.d_ptr;
			have_strtab = 1;
		} else if (de.d_tag == DT_STRSZ) {
			strsz = de.d_un.d_val;
		} else if (de.d_tag == DT_NEEDED) {
			if (nneeded == ELFDEPS_MAX_NEEDED)
				return -E2BIG;
			needed[nneeded++] = de.d_un.d_val;
		}
	}
	if (!nneeded)
		return 0;
	if (!have_strtab || !strsz)
		return -ENOEXEC;
	int64_t off = vaddr_to_off(b, eh, strtab);
	if (off < 0 || !in_bounds((uint64_t)off, strsz, len))
		return -ENOEXEC;
	const char *tab = (const char *)b + off;
	for (size_t i = 0; i < nneeded; i++) {
		if (needed[i] >= strsz)
			return -ENOEXEC;
		const char *s = tab + needed[i];
		size_t n = strnlen(s, strsz - needed[i]);
		if (n == strsz - needed[i] || n == 0)
			return -ENOEXEC;
		if (n >= ELFDEPS_NAME_MAX)
			return -E2BIG;
		if (memchr(s, '/', n) || !strcmp(s, ".") || !strcmp(s, ".."))
			return -ENOEXEC;
		memcpy(d->needed[i], s, n + 1);
	}
	d->nneeded = nneeded;
	return 0;
}

int elf_deps_parse(const uint8_t *b, size_t len, struct elf_deps *d)
{
	Elf64_Ehdr eh;
	const Elf64_Phdr *dyn = NULL;
	Elf64_Phdr phs[2];
	int r;

	memset(d, 0, sizeof(*d));
	if (len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, b, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_bounds(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return -ENOEXEC;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP) {
			if (d->interp[0])
				return -ENOEXEC; /* two interpreters */
			if ((r = read_interp(b, len, &ph, d)) < 0)
				return r;
		} else if (ph.p_type == PT_DYNAMIC && !dyn) {
			phs[0] = ph;
			dyn = &phs[0];
		}
	}
	/* A static-pie has PT_DYNAMIC but no interpreter and no DT_NEEDED;
	 * without an interpreter, nothing loads libraries anyway. */
	if (!d->interp[0] || !dyn)
		return 0;
	r = read_dynamic(b, len, &eh, dyn, d);
	if (r < 0)
		memset(d, 0, sizeof(*d));
	return r;
}
