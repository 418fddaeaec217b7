/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arca/abi.h"
#include "cleanup.h"
#include "cpio.h"
#include "guestroot.h"
#include "initrd.h"
#include "io.h"
#include "kmod.h"

extern char **environ;

#define MAX_INPUT_FILE (256u << 20) /* arca-init, busybox, one .ko */
#define MAX_LIST_OUTPUT (1u << 20)  /* busybox --list-full */

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char GROUP[] = "root:x:0:\n"
			    "nogroup:x:65534:\n";

/* Parents before children: the kernel's unpacker does not create missing
 * parent directories. */
static const struct {
	const char *path;
	unsigned mode;
} DIRS[] = {
	{ "dev", 0755 },   { "proc", 0555 },    { "sys", 0555 },   { "tmp", 01777 },
	{ "run", 0755 },   { "root", 0700 },    { "etc", 0755 },   { "arca", 0755 },
	{ "lib", 0755 },   { "lib/modules", 0755 }, { "bin", 0755 }, { "sbin", 0755 },
	{ "usr", 0755 },   { "usr/bin", 0755 }, { "usr/sbin", 0755 },
};

uint64_t initrd_fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return initrd_fnv1a(h, s, strlen(s) + 1); /* NUL separates fields */
}

uint64_t cache_key_stat(uint64_t h, const struct stat *st)
{
	uint64_t v[5] = { (uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
			  (uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_ino,
			  (uint64_t)st->st_dev };
	return initrd_fnv1a(h, v, sizeof(v));
}

/* Read a whole regular file; *st describes what was read. */
static int read_file(const char *path, uint8_t **data, size_t *len, struct stat *st)
{
	/* Read while possibly privileged and copied into every guest's
	 * initrd: no symlink as the last component, and nothing others could
	 * have rewritten (a group/world-writable module or init would be a
	 * way into every VM). */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
					    O_NOFOLLOW);
	if (fd < 0 || fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return -EPERM;
	if ((uint64_t)st->st_size > MAX_INPUT_FILE)
		return -EFBIG;
	size_t size = (size_t)st->st_size;
	_cleanup_free_ uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	size_t have = 0;
	while (have < size) {
		ssize_t r = read(fd, buf + have, size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* shrank while reading */
		have += (size_t)r;
	}
	*data = steal_pointer(&buf);
	*len = size;
	return 0;
}

/*
 * 1 when the ELF executable has no PT_INTERP (static), 0 when dynamic,
 * -ENOEXEC when not a 64-bit ELF. The guest has no libc or loader, so a
 * dynamic init or busybox would only fail later as "No working init found".
 */
static int elf_is_static(const uint8_t *b, size_t len)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, b, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    eh.e_phnum > (len - eh.e_phoff) / sizeof(Elf64_Phdr))
		return -ENOEXEC;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			return 0;
	}
	return 1;
}

/* ---- module lookup over modules.order / modules.builtin --------------------- */

struct modctx {
	const char *dir;
	char *order, *builtin;
	size_t order_len, builtin_len;
	uint64_t hash; /* accumulates every module file's identity */
};

static int rel_path_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '/')
		return 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '.' && p[i + 1] == '.' && (i == 0 || p[i - 1] == '/') &&
		    (i + 2 == n || p[i + 2] == '/'))
			return 0;
	return memchr(p, 0, n) == NULL;
}

static int mod_lookup(void *vctx, const char *name, uint8_t **data, size_t *len,
		      struct arca_err *e)
{
	struct modctx *c = vctx;
	const char *rel;
	size_t rl;

	if (c->builtin && kmod_list_find(c->builtin, c->builtin_len, name, &rel, &rl)) {
		c->hash = fnv_str(fnv_str(c->hash, name), "builtin");
		return KMOD_LOOKUP_BUILTIN;
	}
	if (!kmod_list_find(c->order, c->order_len, name, &rel, &rl))
		return arca_error(e, ENOENT, "kernel module %s not found in %s/modules.order",
				  name, c->dir);
	if (!rel_path_ok(rel, rl) || rl >= PATH_MAX)
		return arca_error(e, EINVAL, "bad path for module %s in %s/modules.order",
				  name, c->dir);
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%.*s", c->dir, (int)rl, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error(e, ENAMETOOLONG, "module path too long: %s/%.*s", c->dir,
				  (int)rl, rel);
	if (rl < 3 || memcmp(rel + rl - 3, ".ko", 3) != 0)
		return arca_error(e, ENOTSUP,
				  "kernel module %s is compressed (%s): only uncompressed .ko files are supported",
				  name, path);
	struct stat st;
	int r = read_file(path, data, len, &st);
	if (r < 0)
		return arca_error_errno(e, -r, "cannot read kernel module %s", path);
	c->hash = cache_key_stat(fnv_str(c->hash, name), &st);
	return 0;
}

static int slurp_text(const char *dir, const char *file, char **out, size_t *len,
		      int optional, struct arca_err *e)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error(e, ENAMETOOLONG, "path too long: %s/%s", dir, file);
	uint8_t *data = NULL;
	int r = read_file(path, &data, len, &st);
	if (r == -ENOENT && optional) {
		*out = NULL;
		*len = 0;
		return 0;
	}
	if (r < 0)
		return arca_error_errno(e, -r, "cannot read %s", path);
	*out = (char *)data;
	return 0;
}

/* ---- busybox applets --------------------------------------------------------- */

/* Run `busybox --list-full` and return its stdout ("usr/bin/awk\n..."). */
static int busybox_list(const char *busybox, char **out, size_t *outlen, struct arca_err *e)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return arca_error_errno(e, errno, "pipe");
	_cleanup_close_ int rd = pfd[0];
	_cleanup_close_ int wr = pfd[1];

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wr, 1); /* dup2 clears CLOEXEC */
	char arg0[] = "busybox", arg1[] = "--list-full";
	char *const argv[] = { arg0, arg1, NULL };
	pid_t pid;
	int r = posix_spawn(&pid, busybox, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return arca_error_errno(e, r, "cannot run %s --list-full", busybox);
	close(steal_fd(&wr));

	_cleanup_free_ char *buf = malloc(MAX_LIST_OUTPUT + 1);
	size_t have = 0;
	int rerr = buf ? 0 : ENOMEM;
	while (buf && have < MAX_LIST_OUTPUT) {
		ssize_t n = read(rd, buf + have, MAX_LIST_OUTPUT - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rerr = errno;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(steal_fd(&rd)); /* a child still writing gets EPIPE, not a hang */
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return arca_error_errno(e, errno, "waitpid");
	if (rerr)
		return arca_error_errno(e, rerr, "reading %s --list-full", busybox);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || have == 0)
		return arca_error(e, EINVAL, "%s --list-full failed (is it a full busybox?)",
				  busybox);
	buf[have] = 0;
	*out = steal_pointer(&buf);
	*outlen = have;
	return 0;
}

static int known_dir(const char *path, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(DIRS); i++)
		if (strlen(DIRS[i].path) == n && memcmp(DIRS[i].path, path, n) == 0)
			return 1;
	return 0;
}

/* Applet links point at /bin/busybox. Applets outside our directories
 * (busybox lists "linuxrc" at the root) are left out. */
static int add_applets(struct cpio_buf *w, char *list)
{
	char *save = NULL;
	for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *slash = strrchr(line, '/');
		if (!slash || !known_dir(line, (size_t)(slash - line)) ||
		    strcmp(line, "bin/busybox") == 0)
			continue;
		int r = cpio_add_symlink(w, line, "/bin/busybox");
		if (r == -ENOMEM)
			return r;
		/* other errors: a strange applet name, skip it */
	}
	return 0;
}

/* ---- the base archive ------------------------------------------------------------ */

struct inputs {
	uint8_t *init, *busybox;
	size_t init_len, busybox_len;
	char *applets;
	struct kmod_list mods;
};

static int build_base(struct cpio_buf *w, struct inputs *in)
{
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(DIRS) && r == 0; i++)
		r = cpio_add_dir(w, DIRS[i].path, DIRS[i].mode);
	/* The kernel opens /dev/console for init's stdio before anything is
	 * mounted (init/main.c console_on_rootfs). */
	if (r == 0)
		r = cpio_add_chardev(w, "dev/console", 0600, 5, 1);
	if (r == 0)
		r = cpio_add_file(w, "init", 0755, in->init, in->init_len);
	if (r == 0)
		r = cpio_add_file(w, "bin/busybox", 0755, in->busybox, in->busybox_len);
	if (r == 0)
		r = add_applets(w, in->applets);
	if (r == 0)
		r = cpio_add_file(w, "etc/passwd", 0644, PASSWD, sizeof(PASSWD) - 1);
	if (r == 0)
		r = cpio_add_file(w, "etc/group", 0644, GROUP, sizeof(GROUP) - 1);

	/* modules, and their load order as file names */
	size_t cap = in->mods.n * (KMOD_NAME_MAX + 4) + 1;
	_cleanup_free_ char *order = malloc(cap);
	if (!order)
		return -ENOMEM;
	size_t olen = 0;
	order[0] = 0;
	for (size_t i = 0; i < in->mods.n && r == 0; i++) {
		char path[KMOD_NAME_MAX + 32];
		snprintf(path, sizeof(path), "lib/modules/%s.ko", in->mods.v[i].name);
		r = cpio_add_file(w, path, 0644, in->mods.v[i].data, in->mods.v[i].len);
		olen += (size_t)snprintf(order + olen, cap - olen, "%s.ko\n", in->mods.v[i].name);
	}
	if (r == 0)
		r = cpio_add_file(w, ARCA_MODULES_PATH, 0644, order, olen);
	if (r == 0)
		r = cpio_finish(w);
	return r;
}

/* Is name "PREFIX-KVER-<16 hex>SUFFIX"? */
static int is_cache_name(const char *name, const char *prefix, const char *kver,
			 const char *suffix)
{
	size_t pl = strlen(prefix), kl = strlen(kver);
	if (strncmp(name, prefix, pl) != 0 || name[pl] != '-' ||
	    strncmp(name + pl + 1, kver, kl) != 0 || name[pl + 1 + kl] != '-')
		return 0;
	const char *h = name + pl + 1 + kl + 1;
	for (int i = 0; i < 16; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return strcmp(h + 16, suffix) == 0;
}

void cache_remove_stale(const char *dir, const char *prefix, const char *kver,
			const char *suffix, const char *keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (is_cache_name(de->d_name, prefix, kver, suffix) && strcmp(de->d_name, keep) != 0)
			unlinkat(dirfd(d), de->d_name, 0); /* best effort */
	closedir(d);
}

/* Write the archive under a temporary name, then rename it into place. The
 * returned fd is opened before the rename, so a concurrent run removing
 * "stale" files cannot pull it away. */
int cache_store(const char *dir, const char *name, const void *data, size_t len,
		struct arca_err *e)
{
	char final[PATH_MAX], tmp[PATH_MAX];
	int n1 = snprintf(final, sizeof(final), "%s/%s", dir, name);
	int n2 = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	if (n1 < 0 || (size_t)n1 >= sizeof(final) || n2 < 0 || (size_t)n2 >= sizeof(tmp))
		return arca_error(e, ENAMETOOLONG, "cache path too long: %s", dir);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "cannot create %s", tmp);
	int r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return arca_error_errno(e, -r, "cannot write %s", tmp);
	}
	_cleanup_close_ int ro = open(tmp, O_RDONLY | O_CLOEXEC);
	if (ro < 0 || rename(tmp, final) < 0) {
		int err = errno;
		unlink(tmp);
		return arca_error_errno(e, err, "cannot store %s", final);
	}
	return steal_fd(&ro);
}

static void inputs_free(struct inputs *in)
{
	free(in->init);
	free(in->busybox);
	free(in->applets);
	kmod_list_free(&in->mods);
}

static int load_program(const char *path, const char *what, const struct stat *keyed,
			uint8_t **data, size_t *len, struct arca_err *e)
{
	struct stat st;
	int r = read_file(path, data, len, &st);
	if (r < 0)
		return arca_error_errno(e, -r, "cannot read %s %s", what, path);
	/* The key was computed from an earlier stat: refuse to cache bytes
	 * that do not match it. */
	if (st.st_ino != keyed->st_ino || st.st_size != keyed->st_size ||
	    st.st_mtim.tv_sec != keyed->st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != keyed->st_mtim.tv_nsec)
		return arca_error(e, EAGAIN, "%s %s changed while building the initrd; try again",
				  what, path);
	r = elf_is_static(*data, *len);
	if (r < 0)
		return arca_error(e, ENOEXEC, "%s %s is not a 64-bit ELF executable", what, path);
	if (r == 0)
		return arca_error(e, ENOEXEC,
				  "%s %s is dynamically linked; the guest needs a static binary%s",
				  what, path,
				  strcmp(what, "busybox") == 0 ? " (install busybox-static)" : "");
	return 0;
}

int initrd_base_open(const struct arca_paths *p, const struct arca_kernel *k,
		     const char *const *modules, size_t nmodules, struct arca_err *e)
{
	return initrd_base_open_variant(p, k, modules, nmodules, NULL, e);
}

int initrd_base_open_variant(const struct arca_paths *p, const struct arca_kernel *k,
			     const char *const *modules, size_t nmodules, const char *variant,
			     struct arca_err *e)
{
	struct stat st_init, st_bb;
	if (stat(p->init, &st_init) < 0)
		return errno == ENOENT
			       ? arca_error(e, ENOENT, "arca-init not found at %s (run 'make')", p->init)
			       : arca_error_errno(e, errno, "cannot stat %s", p->init);
	if (stat(p->busybox, &st_bb) < 0)
		return errno == ENOENT ? arca_error(e, ENOENT,
						    "busybox not found at %s (install busybox-static)",
						    p->busybox)
				       : arca_error_errno(e, errno, "cannot stat %s", p->busybox);

	struct modctx mc = { .dir = k->modules_dir };
	struct inputs in = { 0 };
	int r = slurp_text(k->modules_dir, "modules.order", &mc.order, &mc.order_len, 0, e);
	if (r == 0)
		r = slurp_text(k->modules_dir, "modules.builtin", &mc.builtin, &mc.builtin_len,
			       1, e);
	if (r < 0)
		goto out;

	uint64_t h = fnv_str(INITRD_FNV_OFFSET, INITRD_FORMAT);
	h = fnv_str(h, k->version);
	h = cache_key_stat(fnv_str(h, p->init), &st_init);
	h = cache_key_stat(fnv_str(h, p->busybox), &st_bb);
	for (size_t i = 0; i < nmodules; i++)
		h = fnv_str(h, modules[i]);
	mc.hash = h;
	/* Resolving reads the module files (small) to follow their
	 * dependencies; their identities go into the key. */
	r = kmod_resolve(modules, nmodules, mod_lookup, &mc, &in.mods, e);
	if (r < 0)
		goto out;

	/* A variant's archives are named base-KVER+VARIANT-KEY.cpio: apart
	 * from the plain ones, so neither removes the other as stale. */
	char name[NAME_MAX + 1], path[PATH_MAX], kname[NAME_MAX + 1];
	int nk = snprintf(kname, sizeof(kname), "%s%s%s", k->version, variant ? "+" : "",
			  variant ? variant : "");
	if (nk < 0 || (size_t)nk >= sizeof(kname) - 32) {
		r = arca_error(e, ENAMETOOLONG, "cache name too long for kernel %s", k->version);
		goto out;
	}
	int n = snprintf(name, sizeof(name), "base-%s-%016" PRIx64 ".cpio", kname, mc.hash);
	int n2 = snprintf(path, sizeof(path), "%s/%s", p->cache_dir, name);
	if (n < 0 || (size_t)n >= sizeof(name) || n2 < 0 || (size_t)n2 >= sizeof(path)) {
		r = arca_error(e, ENAMETOOLONG, "cache path too long for kernel %s", k->version);
		goto out;
	}
	r = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r >= 0)
		goto out; /* cache hit */
	if (errno != ENOENT) {
		r = arca_error_errno(e, errno, "cannot open %s", path);
		goto out;
	}

	r = load_program(p->init, "arca-init", &st_init, &in.init, &in.init_len, e);
	if (r == 0)
		r = load_program(p->busybox, "busybox", &st_bb, &in.busybox, &in.busybox_len, e);
	size_t alen;
	if (r == 0)
		r = busybox_list(p->busybox, &in.applets, &alen, e);
	if (r < 0)
		goto out;

	struct cpio_buf w;
	cpio_init(&w);
	r = build_base(&w, &in);
	if (r < 0)
		r = arca_error(e, -r, "cannot build the base initrd for kernel %s", k->version);
	else
		r = cache_store(p->cache_dir, name, w.data, w.len, e);
	cpio_free(&w);
	if (r >= 0)
		cache_remove_stale(p->cache_dir, "base", kname, ".cpio", name);
out:
	free(mc.order);
	free(mc.builtin);
	inputs_free(&in);
	return r;
}

/* ---- filesystem types -------------------------------------------------------------------- */

/* "MOD.alias=fs-TYPE" among the NUL-separated entries of
 * modules.builtin.modinfo: a filesystem built into the kernel. */
static bool builtin_has_fs(const char *mi, size_t len, const char *fstype)
{
	char want[64];
	int n = snprintf(want, sizeof(want), ".alias=fs-%s", fstype);
	if (n < 0 || (size_t)n >= sizeof(want))
		return false;
	for (size_t i = 0; i < len;) {
		const char *s = mi + i;
		const char *nul = memchr(s, 0, len - i);
		size_t sl = nul ? (size_t)(nul - s) : len - i;
		const char *dot = memchr(s, '.', sl);
		if (dot && (size_t)(s + sl - dot) == (size_t)n && !memcmp(dot, want, (size_t)n))
			return true;
		i += sl + 1;
	}
	return false;
}

/* Does the module at modules.order line rel[0..rl) register fs-TYPE? */
static int module_has_fs(const char *dir, const char *rel, size_t rl, const char *alias)
{
	char path[PATH_MAX];
	struct stat st;
	uint8_t *data = NULL;
	size_t len;

	if (!rel_path_ok(rel, rl) || rl < 3 || memcmp(rel + rl - 3, ".ko", 3) != 0)
		return 0;
	int n = snprintf(path, sizeof(path), "%s/%.*s", dir, (int)rl, rel);
	if (n < 0 || (size_t)n >= sizeof(path) || read_file(path, &data, &len, &st) < 0)
		return 0;
	int r = kmod_modinfo_has(data, len, "alias", alias);
	free(data);
	return r == 1;
}

int initrd_fs_module(const struct arca_kernel *k, const char *fstype, char mod[KMOD_NAME_MAX],
		     struct arca_err *e)
{
	_cleanup_free_ char *builtin = NULL, *order = NULL;
	size_t blen = 0, olen = 0;
	char alias[64];
	const char *rel;
	size_t rl;
	int r;

	mod[0] = '\0';
	if (snprintf(alias, sizeof(alias), "fs-%s", fstype) >= (int)sizeof(alias))
		return arca_error(e, EINVAL, "filesystem type too long: '%s'", fstype);
	if ((r = slurp_text(k->modules_dir, "modules.builtin.modinfo", &builtin, &blen, 1, e)) < 0)
		return r;
	if (builtin && builtin_has_fs(builtin, blen, fstype))
		return 0;
	if ((r = slurp_text(k->modules_dir, "modules.order", &order, &olen, 0, e)) < 0)
		return r;
	/* The usual case: the module is named after the type (xfs, btrfs,
	 * vfat); else any filesystem module that declares it (isofs for
	 * iso9660), as the kernel's request_module("fs-TYPE") would find. */
	if (kmod_list_find(order, olen, fstype, &rel, &rl) &&
	    module_has_fs(k->modules_dir, rel, rl, alias))
		return kmod_name_normalize(fstype, mod) < 0 ? -EINVAL : 1;
	for (size_t i = 0; i < olen;) {
		const char *line = order + i;
		const char *nl = memchr(line, '\n', olen - i);
		size_t ll = nl ? (size_t)(nl - line) : olen - i;
		i += ll + 1;
		if (ll < 10 || memcmp(line, "kernel/fs/", 10) != 0 ||
		    !module_has_fs(k->modules_dir, line, ll, alias))
			continue;
		const char *base = (const char *)memrchr(line, '/', ll) + 1;
		size_t bl = (size_t)(line + ll - base) - 3; /* module_has_fs saw ".ko" */
		char name[KMOD_NAME_MAX];
		if (bl >= sizeof(name))
			continue;
		memcpy(name, base, bl);
		name[bl] = '\0';
		if (kmod_name_normalize(name, mod) < 0)
			continue;
		return 1;
	}
	/* Without modules.builtin.modinfo (kernels before 5.2) a built-in type
	 * cannot be told from a missing one: let the guest try. */
	if (!builtin)
		return 0;
	return arca_error(e, ENOENT,
			  "filesystem type '%s' is neither built into kernel %s nor one of its modules",
			  fstype, k->version);
}

/* ---- per-run spec archive ------------------------------------------------------------ */

static void guestroot_warn(void *ctx, const char *msg)
{
	fprintf(stderr, "arca: warning: %s\n", msg);
}

/* A sealed memfd holding data[0..len). */
static int sealed_memfd(const char *name, const void *data, size_t len, struct arca_err *e)
{
	int r;
	_cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		r = arca_error_errno(e, errno, "memfd_create");
	else if ((r = write_all(fd, data, len)) < 0)
		r = arca_error_errno(e, -r, "writing the %s", name);
	else if (lseek(fd, 0, SEEK_SET) < 0 ||
		 fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		r = arca_error_errno(e, errno, "sealing the %s", name);
	return r < 0 ? r : steal_fd(&fd);
}

int initrd_spec_memfd_ex(const struct arca_spec *s, bool with_spec, uint64_t *hash,
			 struct arca_err *e)
{
	_cleanup_free_ uint8_t *spec = NULL;
	size_t slen = 0;
	int r = spec_encode(s, &spec, &slen);
	if (r < 0)
		return arca_error(e, -r, "cannot encode the run spec");

	struct cpio_buf w;
	cpio_init(&w);
	r = cpio_add_dir(&w, "arca", 0755);
	if (r == 0 && with_spec) /* root-only: the spec may carry secrets in its environment */
		r = cpio_add_file(&w, ARCA_SPEC_PATH, 0400, spec, slen);
	/* The default root's skeleton (generated /etc, merged-/usr links):
	 * per run, so it follows the host's ld.so.cache and certificates. */
	if (r == 0 && s->root_mode == ARCA_ROOT_HOST) {
		struct guestroot_opts go = { .host_root = "/", .trusted_uid = 0,
					     .warn = guestroot_warn };
		r = guestroot_add(&w, &go, e);
		if (r < 0) {
			cpio_free(&w);
			return r;
		}
	}
	if (r == 0)
		r = cpio_finish(&w);
	if (r < 0) {
		cpio_free(&w);
		return arca_error(e, -r, "cannot build the spec archive");
	}
	if (hash)
		*hash = initrd_fnv1a(INITRD_FNV_OFFSET, w.data, w.len);
	r = sealed_memfd("arca-spec", w.data, w.len, e);
	cpio_free(&w);
	return r;
}

int initrd_spec_memfd(const struct arca_spec *s, struct arca_err *e)
{
	return initrd_spec_memfd_ex(s, true, NULL, e);
}

int initrd_spec_raw_memfd(const struct arca_spec *s, struct arca_err *e)
{
	_cleanup_free_ uint8_t *spec = NULL;
	size_t slen = 0;
	int r = spec_encode(s, &spec, &slen);
	if (r < 0)
		return arca_error(e, -r, "cannot encode the run spec");
	return sealed_memfd("arca-spec-raw", spec, slen, e);
}
