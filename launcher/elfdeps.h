/* SPDX-License-Identifier: MIT */
/*
 * What a dynamically linked arca-vmm needs inside its otherwise empty jail:
 * the ELF interpreter (PT_INTERP) and the DT_NEEDED libraries. Pure parser
 * over the file's bytes, every offset checked. A static arca-vmm (no
 * PT_INTERP) needs nothing and keeps the jail empty.
 */
#ifndef ARCA_ELFDEPS_H
#define ARCA_ELFDEPS_H

#include <stddef.h>
#include <stdint.h>

#define ELFDEPS_MAX_NEEDED 8
#define ELFDEPS_NAME_MAX   64
#define ELFDEPS_INTERP_MAX 128

struct elf_deps {
	char interp[ELFDEPS_INTERP_MAX];  /* "" when static */
	size_t nneeded;
	char needed[ELFDEPS_MAX_NEEDED][ELFDEPS_NAME_MAX]; /* plain file names */
};

/*
 * Parse a 64-bit little-endian ELF executable. 0 on success; -ENOEXEC when
 * it is not one or a header/offset is out of bounds or malformed (an
 * interpreter that is not an absolute path without "..", a library name
 * with '/'); -E2BIG when it names more than ELFDEPS_MAX_NEEDED libraries or
 * a name is too long.
 */
int elf_deps_parse(const uint8_t *b, size_t len, struct elf_deps *d);

/*
 * The prefix rule: "static" (0 with interp "") depends only on the ELF and
 * program headers, so a prefix of the file that holds them gives the same
 * answer as the whole file, and a prefix of a dynamic executable never
 * parses as static (it fails, or finds the interpreter). A caller may read
 * ELFDEPS_HEAD bytes first and the whole file only when they do not say
 * static.
 */
#define ELFDEPS_HEAD 4096

#endif
