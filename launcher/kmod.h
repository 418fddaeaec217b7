/* SPDX-License-Identifier: MIT */
/*
 * Kernel module helpers, pure (no syscalls): read a .ko's .modinfo, look
 * module names up in modules.order / modules.builtin text, and order a set
 * of wanted modules so that every module follows its dependencies.
 *
 * A .ko comes from the kernel package, not from the guest, but it is still
 * parsed as semi-trusted input: every ELF offset and size is bounds-checked
 * with overflow-safe arithmetic, so a truncated or corrupt file fails with
 * -ENOEXEC instead of reading out of bounds.
 */
#ifndef ARCA_KMOD_H
#define ARCA_KMOD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The kernel's MODULE_NAME_LEN is 64 - sizeof(unsigned long) = 56. */
#define KMOD_NAME_MAX 56
/* Upper bound on the modules one resolve may pull in. */
#define KMOD_MAX_MODULES 256

/* Module names treat '-' and '_' as the same character; the canonical form
 * uses '_' (what the kernel shows in /proc/modules). Copies name into
 * out[KMOD_NAME_MAX] in canonical form. Returns 0, or -EINVAL for an empty
 * name, a name with characters outside [A-Za-z0-9_-], or one too long. */
int kmod_name_normalize(const char *name, char out[KMOD_NAME_MAX]);
/* 1 when a and b name the same module, 0 otherwise. */
int kmod_name_eq(const char *a, const char *b);

/* Find "key=value" in the .modinfo section of the ELF module ko[0..len).
 * On success *val points into ko (not NUL-terminated), *vlen is its length.
 * -ENOEXEC: not a well-formed x86-64 relocatable ELF, or no .modinfo;
 * -ENOENT: no such key. */
int kmod_modinfo_get(const uint8_t *ko, size_t len, const char *key,
		     const uint8_t **val, size_t *vlen);

/* 1 when .modinfo holds exactly "key=value" (a key may repeat: a module
 * has one "alias=" per alias), 0 when not, -ENOEXEC as above. */
int kmod_modinfo_has(const uint8_t *ko, size_t len, const char *key, const char *value);

/* The comma-separated "depends=" value as a fresh NUL-terminated string in
 * *out ("" when the module depends on nothing). 0 or -ENOEXEC / -ENOMEM. */
int kmod_depends(const uint8_t *ko, size_t len, char **out);

/* Search modules.order (or modules.builtin) text, one "dir/name.ko" path
 * per line, for the module name. Returns 1 and the line in *path and *plen
 * (pointer into text) when found, 0 when not. */
int kmod_list_find(const char *text, size_t len, const char *name,
		   const char **path, size_t *plen);

/* ---- dependency resolution ---------------------------------------------- */

struct kmod_entry {
	char name[KMOD_NAME_MAX]; /* canonical name */
	uint8_t *data;            /* the .ko contents (malloc'ed, owned) */
	size_t len;
};

struct kmod_list {
	struct kmod_entry *v; /* load order: dependencies first */
	size_t n;
};

#define KMOD_LOOKUP_BUILTIN 1

/*
 * Lookup callback: for the canonical module name, return 0 with a malloc'ed
 * copy of the .ko in *data and *len (the resolver takes ownership),
 * KMOD_LOOKUP_BUILTIN when the module is built into the kernel (nothing to
 * load), or a negative errno after filling e (-ENOENT: no such module).
 */
typedef int (*kmod_lookup_fn)(void *ctx, const char *name, uint8_t **data,
			      size_t *len, struct arca_err *e);

/* Resolve wanted[0..nwanted) and their dependencies into *out, each module
 * once, dependencies before their users. -ELOOP on a dependency cycle,
 * -E2BIG beyond KMOD_MAX_MODULES, -ENOEXEC for a module that is not a valid
 * ELF module, or the lookup's error. e names the module concerned. */
int kmod_resolve(const char *const *wanted, size_t nwanted, kmod_lookup_fn lookup,
		 void *ctx, struct kmod_list *out, struct arca_err *e);
void kmod_list_free(struct kmod_list *l);

#endif
