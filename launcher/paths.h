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

/*
 * cache_dir: $ARCA_CACHE_DIR, else EXE_DIR/build/cache when EXE_DIR/build is
 * a writable directory (running from the source tree), else
 * $XDG_CACHE_HOME/arca, else $HOME/.cache/arca; created (mode 0700) when
 * missing. Existence of vmm/init/busybox is checked by their users.
 * Returns 0 or -errno with e set; free with paths_free() either way.
 */
int paths_resolve(struct arca_paths *p, struct arca_err *e);
void paths_free(struct arca_paths *p);

/* mkdir -p with mode for every directory created. 0 or -errno. */
int paths_mkdir_p(const char *path, unsigned mode);

#endif
