/* SPDX-License-Identifier: MIT */
/* Where arca's helper programs, busybox and the initrd cache live. */
#ifndef ARCA_PATHS_H
#define ARCA_PATHS_H

#include "err.h"

struct arca_paths {
	char *exe_dir;   /* directory of the running arca (/proc/self/exe) */
	char *vmm;       /* $ARCA_LIBEXEC/arca-vmm, else EXE_DIR/arca-vmm */
	char *init;      /* $ARCA_LIBEXEC/arca-init, else EXE_DIR/arca-init */
	char *busybox;   /* $ARCA_BUSYBOX, else /bin/busybox */
	char *cache_dir; /* exists, owned by us or root, not group/world-writable */
};

/* What the caller chose (NULL or "": the default). The CLI fills it from
 * the environment (paths_from_env); libarca from its setters. */
struct arca_paths_in {
	const char *exe_dir;   /* default: the running program's directory */
	const char *libexec;   /* ARCA_LIBEXEC: arca-vmm and arca-init */
	const char *busybox;   /* ARCA_BUSYBOX */
	const char *cache_dir; /* ARCA_CACHE_DIR */
	const char *kernel;    /* ARCA_KERNEL: the kernel when no --kernel */
};

/* The CLI's ARCA_* variables (getenv: valid while the environment is). */
void paths_from_env(struct arca_paths_in *in);

/*
 * cache_dir: $ARCA_CACHE_DIR, else EXE_DIR/build/cache when EXE_DIR/build is
 * a writable directory (running from the source tree), else
 * $XDG_CACHE_HOME/arca, else $HOME/.cache/arca; created (mode 0700) when
 * missing. Existence of vmm/init/busybox is checked by their users.
 * Returns 0 or -errno with e set; free with paths_free() either way.
 */
int paths_resolve(struct arca_paths *p, struct arca_err *e);
/* The same from in (no ARCA_* variable is read; XDG_CACHE_HOME and HOME
 * still give the default cache). */
int paths_resolve_in(struct arca_paths *p, const struct arca_paths_in *in, struct arca_err *e);
void paths_free(struct arca_paths *p);

/* mkdir -p with mode for every directory created. 0 or -errno. */
int paths_mkdir_p(const char *path, unsigned mode);

#endif
