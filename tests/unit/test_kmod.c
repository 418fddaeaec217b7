/* SPDX-License-Identifier: MIT */
/* launcher/kmod.c: .modinfo parsing of real and synthetic modules (corrupt
 * ones must fail cleanly; run under ASan to catch stray reads), name
 * handling, modules.order lookup and dependency ordering. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fetched_kernel.h"

#include "err.h"
#include "kmod.h"

/* ---- synthetic modules ---------------------------------------------------- */

static const char SHSTR[] = "\0.shstrtab\0.modinfo\0"; /* names at 1 and 11 */

struct fake {
	uint8_t *buf;
	size_t len;
	size_t shoff; /* offset of the section header table */
};

/* ELF header, .shstrtab, .modinfo, then 3 section headers (null, shstrtab,
 * modinfo). */
static struct fake make_ko(const void *modinfo, size_t milen)
{
	struct fake f;
	size_t str_off = sizeof(Elf64_Ehdr);
	size_t mi_off = str_off + sizeof(SHSTR);
	size_t shoff = (mi_off + milen + 7) & ~(size_t)7;
	f.len = shoff + 3 * sizeof(Elf64_Shdr);
	f.buf = calloc(1, f.len);
	f.shoff = shoff;
	assert_non_null(f.buf);

	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shoff = shoff;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 1;
	memcpy(f.buf, &eh, sizeof(eh));
	memcpy(f.buf + str_off, SHSTR, sizeof(SHSTR));
	memcpy(f.buf + mi_off, modinfo, milen);

	Elf64_Shdr sh[3] = { { 0 } };
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_STRTAB;
	sh[1].sh_offset = str_off;
	sh[1].sh_size = sizeof(SHSTR);
	sh[2].sh_name = 11;
	sh[2].sh_type = SHT_PROGBITS;
	sh[2].sh_offset = mi_off;
	sh[2].sh_size = milen;
	memcpy(f.buf + shoff, sh, sizeof(sh));
	return f;
}

static Elf64_Shdr *shdr(struct fake *f, int i)
{
	return (Elf64_Shdr *)(f->buf + f->shoff + (size_t)i * sizeof(Elf64_Shdr));
}

static Elf64_Ehdr *ehdr(struct fake *f)
{
	return (Elf64_Ehdr *)f->buf;
}

#define MI(s) s, sizeof(s) - 1

static void expect_depends(const uint8_t *ko, size_t len, const char *want)
{
	char *d = NULL;
	assert_int_equal(kmod_depends(ko, len, &d), 0);
	assert_string_equal(d, want);
	free(d);
}

static void test_synthetic_modinfo(void **state)
{
	struct fake f = make_ko(MI("license=GPL\0\0\0depends=a,b-c\0name=x\0"));
	expect_depends(f.buf, f.len, "a,b-c");
	const uint8_t *v;
	size_t vl;
	assert_int_equal(kmod_modinfo_get(f.buf, f.len, "name", &v, &vl), 0);
	assert_int_equal(vl, 1);
	assert_memory_equal(v, "x", 1);
	assert_int_equal(kmod_modinfo_get(f.buf, f.len, "vermagic", &v, &vl), -ENOENT);
	/* a key that is a prefix of another key must not match it */
	assert_int_equal(kmod_modinfo_get(f.buf, f.len, "dep", &v, &vl), -ENOENT);
	free(f.buf);

	/* no depends= at all, and an empty one: both mean no dependencies */
	f = make_ko(MI("license=GPL\0"));
	expect_depends(f.buf, f.len, "");
	free(f.buf);
	f = make_ko(MI("depends=\0"));
	expect_depends(f.buf, f.len, "");
	free(f.buf);

	/* last string not NUL-terminated: the value stops at the section end */
	f = make_ko(MI("depends=abc"));
	expect_depends(f.buf, f.len, "abc");
	free(f.buf);
}

static void expect_bad(struct fake *f)
{
	char *d = NULL;
	assert_int_equal(kmod_depends(f->buf, f->len, &d), -ENOEXEC);
	assert_null(d);
}

static void test_truncated(void **state)
{
	struct fake f = make_ko(MI("depends=virtio\0"));
	/* Every proper prefix cuts off section headers: all must fail. Copy
	 * to an exact-size allocation so ASan sees any read past the end. */
	for (size_t n = 0; n < f.len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, f.buf, n);
		char *d = NULL;
		assert_int_equal(kmod_depends(cut, n, &d), -ENOEXEC);
		free(cut);
	}
	expect_depends(f.buf, f.len, "virtio");
	assert_int_equal(kmod_depends(NULL, 0, &(char *){ NULL }), -ENOEXEC);
	free(f.buf);
}

static void test_corrupt(void **state)
{
	const char mi[] = "depends=virtio\0";
	struct fake f;

#define CASE(stmt)                                  \
	do {                                        \
		f = make_ko(mi, sizeof(mi) - 1);    \
		stmt;                               \
		expect_bad(&f);                     \
		free(f.buf);                        \
	} while (0)

	CASE(f.buf[0] = 0x7e);                                   /* magic */
	CASE(f.buf[EI_CLASS] = ELFCLASS32);                      /* 32-bit */
	CASE(f.buf[EI_DATA] = ELFDATA2MSB);                      /* big endian */
	CASE(ehdr(&f)->e_machine = EM_AARCH64);                  /* other arch */
	CASE(ehdr(&f)->e_type = ET_EXEC);                        /* not a .ko */
	CASE(ehdr(&f)->e_shentsize = 40);                        /* odd entry size */
	CASE(ehdr(&f)->e_shoff = 0);                             /* no table */
	CASE(ehdr(&f)->e_shoff = f.len - 8);                     /* table past end */
	CASE(ehdr(&f)->e_shoff = UINT64_MAX - 16);               /* wraps */
	CASE(ehdr(&f)->e_shnum = 1000);                          /* count past end */
	CASE(ehdr(&f)->e_shstrndx = 3);                          /* index out of range */
	CASE(ehdr(&f)->e_shstrndx = SHN_XINDEX; shdr(&f, 0)->sh_link = 77);
	CASE(ehdr(&f)->e_shnum = 0; shdr(&f, 0)->sh_size = UINT64_MAX);
	CASE(shdr(&f, 1)->sh_offset = f.len);                    /* strtab past end */
	CASE(shdr(&f, 1)->sh_size = UINT64_MAX);                 /* strtab size wraps */
	CASE(shdr(&f, 1)->sh_type = SHT_NOBITS);
	CASE(shdr(&f, 2)->sh_name = 4096);                       /* name past strtab */
	CASE(shdr(&f, 1)->sh_size = 13);                         /* name unterminated */
	CASE(shdr(&f, 2)->sh_offset = UINT64_MAX - 2);           /* modinfo wraps */
	CASE(shdr(&f, 2)->sh_size = f.len);                      /* modinfo past end */
	CASE(shdr(&f, 2)->sh_type = SHT_NOBITS);
	CASE(shdr(&f, 2)->sh_name = 1);                          /* no .modinfo */
#undef CASE

	/* extended numbering done right still parses */
	f = make_ko(mi, sizeof(mi) - 1);
	ehdr(&f)->e_shnum = 0;
	shdr(&f, 0)->sh_size = 3;
	ehdr(&f)->e_shstrndx = SHN_XINDEX;
	shdr(&f, 0)->sh_link = 1;
	expect_depends(f.buf, f.len, "virtio");
	free(f.buf);
}

/* ---- names and lists --------------------------------------------------------- */

static void test_names(void **state)
{
	char out[KMOD_NAME_MAX];
	assert_int_equal(kmod_name_normalize("virtio-console", out), 0);
	assert_string_equal(out, "virtio_console");
	assert_int_equal(kmod_name_normalize("Virtio_9P2", out), 0);
	assert_string_equal(out, "Virtio_9P2");
	assert_int_equal(kmod_name_normalize("", out), -EINVAL);
	assert_int_equal(kmod_name_normalize(NULL, out), -EINVAL);
	assert_int_equal(kmod_name_normalize("../x", out), -EINVAL);
	assert_int_equal(kmod_name_normalize("a/b", out), -EINVAL);
	assert_int_equal(kmod_name_normalize("a b", out), -EINVAL);
	char longn[KMOD_NAME_MAX + 1];
	memset(longn, 'a', KMOD_NAME_MAX);
	longn[KMOD_NAME_MAX] = 0;
	assert_int_equal(kmod_name_normalize(longn, out), -EINVAL);
	longn[KMOD_NAME_MAX - 1] = 0;
	assert_int_equal(kmod_name_normalize(longn, out), 0);

	assert_true(kmod_name_eq("virtio-mmio", "virtio_mmio"));
	assert_true(kmod_name_eq("virtio_mmio", "virtio_mmio"));
	assert_false(kmod_name_eq("virtio_mmio", "virtio_mmi"));
	assert_false(kmod_name_eq("virtio", "virtio_mmio"));
}

static void test_list_find(void **state)
{
	const char text[] = "kernel/drivers/virtio/virtio-ring.ko\n"
			    "kernel/drivers/virtio/virtio.ko\n"
			    "kernel/fs/zstd.ko.zst\n"
			    "kernel/net/last.ko";
	const char *p;
	size_t n;
	assert_int_equal(kmod_list_find(text, strlen(text), "virtio", &p, &n), 1);
	assert_int_equal(n, strlen("kernel/drivers/virtio/virtio.ko"));
	assert_memory_equal(p, "kernel/drivers/virtio/virtio.ko", n);
	assert_int_equal(kmod_list_find(text, strlen(text), "virtio_ring", &p, &n), 1);
	assert_memory_equal(p, "kernel/drivers/virtio/virtio-ring.ko", n);
	assert_int_equal(kmod_list_find(text, strlen(text), "zstd", &p, &n), 1);
	assert_memory_equal(p, "kernel/fs/zstd.ko.zst", n);
	assert_int_equal(kmod_list_find(text, strlen(text), "last", &p, &n), 1);
	assert_int_equal(n, strlen("kernel/net/last.ko"));
	assert_int_equal(kmod_list_find(text, strlen(text), "virt", &p, &n), 0);
	assert_int_equal(kmod_list_find(text, strlen(text), "kernel", &p, &n), 0);
	assert_int_equal(kmod_list_find("", 0, "x", &p, &n), 0);
}

/* ---- resolver over synthetic modules --------------------------------------------- */

struct synth {
	const char *name;
	const char *depends; /* NULL: builtin */
};

static const struct synth SYNTH[] = {
	{ "a", "b,c" }, { "b", "c" }, { "c", "" }, { "d", NULL }, { "e", "d,c" },
	{ "x", "y" },   { "y", "z" }, { "z", "x" }, { "self", "self" },
	{ "dash_dep", "b-dash" }, { "b_dash", "" }, { "badelf", "" },
};

static int synth_lookup(void *ctx, const char *name, uint8_t **data, size_t *len,
			struct arca_err *e)
{
	int *calls = ctx;
	(*calls)++;
	for (size_t i = 0; i < sizeof(SYNTH) / sizeof(SYNTH[0]); i++) {
		if (strcmp(SYNTH[i].name, name) != 0)
			continue;
		if (!SYNTH[i].depends)
			return KMOD_LOOKUP_BUILTIN;
		char mi[128];
		int n = snprintf(mi, sizeof(mi), "depends=%s", SYNTH[i].depends);
		struct fake f = make_ko(mi, (size_t)n + 1);
		if (strcmp(name, "badelf") == 0)
			f.buf[0] = 0;
		*data = f.buf;
		*len = f.len;
		return 0;
	}
	return arca_error(e, ENOENT, "module %s not found", name);
}

static void expect_order(const char *const *wanted, size_t n, const char *want)
{
	struct kmod_list l;
	struct arca_err e = { 0 };
	int calls = 0;
	assert_int_equal(kmod_resolve(wanted, n, synth_lookup, &calls, &l, &e), 0);
	char got[256] = "";
	for (size_t i = 0; i < l.n; i++) {
		strcat(got, l.v[i].name);
		strcat(got, " ");
		assert_non_null(l.v[i].data);
	}
	assert_string_equal(got, want);
	kmod_list_free(&l);
	assert_null(l.v);
}

static void test_resolve_synthetic(void **state)
{
	expect_order((const char *[]){ "a" }, 1, "c b a ");
	expect_order((const char *[]){ "a", "e" }, 2, "c b a e "); /* d builtin */
	expect_order((const char *[]){ "e", "a", "a", "c" }, 4, "c e b a ");
	expect_order((const char *[]){ "dash-dep" }, 1, "b_dash dash_dep ");
	expect_order(NULL, 0, "");

	struct kmod_list l;
	struct arca_err e = { 0 };
	int calls = 0;
	assert_int_equal(kmod_resolve((const char *[]){ "x" }, 1, synth_lookup, &calls,
				      &l, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "cycle"));
	assert_null(l.v);
	memset(&e, 0, sizeof(e));
	assert_int_equal(kmod_resolve((const char *[]){ "self" }, 1, synth_lookup, &calls,
				      &l, &e), -ELOOP);
	memset(&e, 0, sizeof(e));
	assert_int_equal(kmod_resolve((const char *[]){ "a", "nosuch" }, 2, synth_lookup,
				      &calls, &l, &e), -ENOENT);
	assert_string_equal(e.msg, "module nosuch not found");
	memset(&e, 0, sizeof(e));
	assert_int_equal(kmod_resolve((const char *[]){ "badelf" }, 1, synth_lookup,
				      &calls, &l, &e), -ENOEXEC);
	assert_non_null(strstr(e.msg, "badelf"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(kmod_resolve((const char *[]){ "../etc" }, 1, synth_lookup,
				      &calls, &l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "../etc"));
}

/* ---- real modules ---------------------------------------------------------------- */

/* The package's own modules: with a VERSION, they must be there. */
static const char *moddir(void)
{
	static char dir[256];
	const char *ver = fetched_version();
	if (!ver)
		return NULL;
	snprintf(dir, sizeof(dir), "build/kernel/lib/modules/%s", ver);
	assert_int_equal(access(dir, R_OK | X_OK), 0);
	return dir;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	buf[st.st_size] = 0;
	*len = (size_t)st.st_size;
	return buf;
}

struct real_ctx {
	const char *dir;
	char *order, *builtin;
	size_t order_len, builtin_len;
};

static int real_lookup(void *ctx, const char *name, uint8_t **data, size_t *len,
		       struct arca_err *e)
{
	struct real_ctx *c = ctx;
	const char *p;
	size_t n;
	if (c->builtin && kmod_list_find(c->builtin, c->builtin_len, name, &p, &n))
		return KMOD_LOOKUP_BUILTIN;
	if (!kmod_list_find(c->order, c->order_len, name, &p, &n))
		return arca_error(e, ENOENT, "module %s not found", name);
	char path[512];
	snprintf(path, sizeof(path), "%s/%.*s", c->dir, (int)n, p);
	*data = slurp(path, len);
	return *data ? 0 : arca_error_errno(e, errno, "%s", path);
}

static void test_real_depends(void **state)
{
	const char *dir = moddir();
	if (!dir)
		skip();
	static const struct { const char *rel, *deps; } cases[] = {
		{ "kernel/drivers/char/virtio_console.ko", "virtio,virtio_ring" },
		{ "kernel/drivers/virtio/virtio_mmio.ko", "virtio,virtio_ring" },
		{ "kernel/drivers/virtio/virtio.ko", "virtio_ring" },
		{ "kernel/drivers/virtio/virtio_ring.ko", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].rel);
		uint8_t *ko = slurp(path, &len);
		assert_non_null(ko);
		expect_depends(ko, len, cases[i].deps);
		const uint8_t *v;
		size_t vl;
		assert_int_equal(kmod_modinfo_get(ko, len, "vermagic", &v, &vl), 0);
		/* vermagic is "VER SMP mod_unload ...": the fetched kernel's own */
		const char *ver = fetched_version();
		size_t n = strlen(ver);
		assert_true(vl > n + 1 && memcmp(v, ver, n) == 0 && v[n] == ' ');
		free(ko);
	}
}

static void test_real_resolve(void **state)
{
	const char *dir = moddir();
	if (!dir)
		skip();
	struct real_ctx c = { .dir = dir };
	char path[512];
	snprintf(path, sizeof(path), "%s/modules.order", dir);
	c.order = (char *)slurp(path, &c.order_len);
	assert_non_null(c.order);
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	c.builtin = (char *)slurp(path, &c.builtin_len);

	struct kmod_list l;
	struct arca_err e = { 0 };
	const char *wanted[] = { "virtio-mmio", "virtio_console" };
	assert_int_equal(kmod_resolve(wanted, 2, real_lookup, &c, &l, &e), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].name, "virtio_ring");
	assert_string_equal(l.v[1].name, "virtio");
	assert_string_equal(l.v[2].name, "virtio_mmio");
	assert_string_equal(l.v[3].name, "virtio_console");
	kmod_list_free(&l);

	/* ext4 is built into the Debian cloud kernel: skipped, not an error */
	if (c.builtin) {
		assert_int_equal(kmod_resolve((const char *[]){ "ext4", "virtio_ring" }, 2,
					      real_lookup, &c, &l, &e), 0);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.v[0].name, "virtio_ring");
		kmod_list_free(&l);
	}
	assert_int_equal(kmod_resolve((const char *[]){ "no_such_module" }, 1, real_lookup,
				      &c, &l, &e), -ENOENT);
	free(c.order);
	free(c.builtin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_modinfo),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_list_find),
		cmocka_unit_test(test_resolve_synthetic),
		cmocka_unit_test(test_real_depends),
		cmocka_unit_test(test_real_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
