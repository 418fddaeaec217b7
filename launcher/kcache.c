/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "initrd.h"
#include "kcache.h"
#include "vmlinux.h"

/* A bzImage is ~10-20 MiB; anything past this is not one. */
#define KCACHE_MAX_BZIMAGE (256u << 20)

int kcache_vmlinux_open(const struct arca_paths *p, const struct arca_kernel *k, int bz_fd,
			struct arca_err *e)
{
	struct stat st;
	if (fstat(bz_fd, &st) < 0)
		return arca_error_errno(e, errno, "cannot stat the kernel %s", k->path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > KCACHE_MAX_BZIMAGE)
		return arca_error(e, ENOTSUP, "kernel %s: not a regular file of a bzImage's size",
				  k->path);

	uint64_t h = initrd_fnv1a(INITRD_FNV_OFFSET, KCACHE_FORMAT, sizeof(KCACHE_FORMAT));
	h = initrd_fnv1a(h, k->version, strlen(k->version) + 1);
	h = cache_key_stat(h, &st);
	char name[NAME_MAX + 1], path[PATH_MAX];
	int n = snprintf(name, sizeof(name), "vmlinux-%s-%016" PRIx64 ".elf", k->version, h);
	int n2 = snprintf(path, sizeof(path), "%s/%s", p->cache_dir, name);
	if (n < 0 || (size_t)n >= sizeof(name) || n2 < 0 || (size_t)n2 >= sizeof(path))
		return arca_error(e, ENAMETOOLONG, "cache path too long for kernel %s", k->version);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0)
		return fd; /* the caller checks owner and mode (jail_check_input_fd) */
	if (errno != ENOENT)
		return arca_error_errno(e, errno, "cannot open %s", path);

	/* Read through the fd the run opened (and checked), mapped: no copy
	 * of the compressed image. */
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, bz_fd, 0);
	if (map == MAP_FAILED)
		return arca_error_errno(e, errno, "cannot map the kernel %s", k->path);
	uint8_t *elf = NULL;
	size_t elf_len = 0;
	int r = vmlinux_from_bzimage(map, len, &elf, &elf_len);
	munmap(map, len);
	if (r == -ENOTSUP)
		return arca_error(e, ENOTSUP, "kernel %s: its payload is not LZ4", k->path);
	if (r < 0)
		return arca_error(e, -r, "kernel %s: cannot decompress it", k->path);
	r = cache_store(p->cache_dir, name, elf, elf_len, e);
	free(elf);
	if (r >= 0)
		cache_remove_stale(p->cache_dir, "vmlinux", k->version, ".elf", name);
	return r;
}
