/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables and the AML encoder. The DSDT is checked by parsing it back
 * with an independent (if small) AML decoder written here, not by comparing
 * against the encoder's own idea of the bytes; when iasl is installed the
 * DSDT also goes through the ACPICA disassembler.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi.h"
#include "aml.h"

#define BASE_GPA  0xe0000ull
#define ACPI_CAP  0x20000

static uint8_t blob[ACPI_CAP];

/* ---- little helpers ---------------------------------------------------------- */

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static struct acpi_mmio_dev mmio_devs[ACPI_MAX_MMIO];

static struct acpi_config make_cfg(unsigned ncpus, unsigned nmmio)
{
	struct acpi_config c = {
		.ncpus = ncpus,
		.lapic_addr = 0xfee00000,
		.ioapic_addr = 0xfec00000,
		.ioapic_id = (uint8_t)ncpus,
		.mmio = mmio_devs,
		.nmmio = nmmio,
		.serial_port = 0x3f8,
		.serial_gsi = 4,
		.sleep_ctl_port = 0x600,
		.sleep_sts_port = 0x601,
		.reset_port = 0x604,
		.reset_value = 0x42,
	};

	for (unsigned i = 0; i < ACPI_MAX_MMIO; i++) {
		mmio_devs[i].base = 0xd0000000ull + 0x1000ull * i;
		mmio_devs[i].size = 0x200;
		mmio_devs[i].gsi = 5 + i;
	}
	return c;
}

/* Table at guest address gpa: checks it lies inside the blob, has the
 * signature, a sane length and a zero checksum; returns its offset. */
static size_t table_at(uint64_t gpa, size_t used, const char *sig)
{
	assert_true(gpa >= BASE_GPA);
	uint64_t off = gpa - BASE_GPA;

	assert_true(off + ACPI_HEADER_LEN <= used);
	assert_memory_equal(blob + off, sig, 4);
	uint32_t len = rd32(blob + off + 4);
	assert_true(len >= ACPI_HEADER_LEN);
	assert_true(off + len <= used);
	assert_int_equal(sum8(blob + off, len), 0);
	assert_memory_equal(blob + off + 10, "ARCA  ", 6);
	assert_memory_equal(blob + off + 16, "ARCAVMM ", 8);
	return (size_t)off;
}

/* ---- a small AML decoder (independent of aml.c) --------------------------- */

#define MAX_DEVS 512

struct res_info {
	unsigned nio, nirq, nmem, next, nend;
	uint32_t io_min, io_max, io_align, io_len, io_info;
	uint32_t irq_mask;
	uint32_t mem_base, mem_size, mem_info;
	uint32_t gsi, irq_flags;
};

struct dev_info {
	char path[160];
	char hid[16];
	int has_uid;
	uint64_t uid;
	int has_crs;
	struct res_info crs;
};

struct dsdt_info {
	struct dev_info dev[MAX_DEVS];
	unsigned ndev;
	unsigned ns5;
	uint64_t s5[8];
};

struct cur {
	const uint8_t *p;
	size_t end; /* exclusive */
	size_t pos;
};

/* PkgLength at c->pos; returns the absolute end of the package it opens. */
static int dec_pkg(struct cur *c, size_t *end)
{
	size_t start = c->pos;
	uint32_t v;
	unsigned follow;

	if (c->pos >= c->end)
		return -1;
	follow = c->p[c->pos] >> 6;
	if (follow == 0) {
		v = c->p[c->pos] & 0x3f;
	} else {
		if (c->p[c->pos] & 0x30 || c->end - c->pos < 1 + follow)
			return -1;
		v = c->p[c->pos] & 0x0f;
		for (unsigned i = 1; i <= follow; i++)
			v |= (uint32_t)c->p[c->pos + i] << (4 + 8 * (i - 1));
	}
	c->pos += 1 + follow;
	if (v < 1 + follow || v > c->end - start)
		return -1;
	*end = start + v;
	return 0;
}

static int dec_seg(struct cur *c, char *out, size_t outsz)
{
	size_t n = strlen(out);

	if (c->end - c->pos < 4 || n + 5 >= outsz)
		return -1;
	for (int i = 0; i < 4; i++) {
		char ch = (char)c->p[c->pos + i];

		if (!((ch >= 'A' && ch <= 'Z') || ch == '_' || (i && ch >= '0' && ch <= '9')))
			return -1;
	}
	if (n && out[n - 1] != '\\' && out[n - 1] != '^')
		out[n++] = '.';
	memcpy(out + n, c->p + c->pos, 4);
	out[n + 4] = 0;
	c->pos += 4;
	return 0;
}

/* NameString to text ("\\_SB_.COM1"). */
static int dec_name(struct cur *c, char *out, size_t outsz)
{
	unsigned nseg = 1;

	out[0] = 0;
	if (c->pos < c->end && c->p[c->pos] == '\\') {
		strcpy(out, "\\");
		c->pos++;
	}
	while (c->pos < c->end && c->p[c->pos] == '^' && strlen(out) + 2 < outsz) {
		strcat(out, "^");
		c->pos++;
	}
	if (c->pos >= c->end)
		return -1;
	switch (c->p[c->pos]) {
	case 0x00:
		c->pos++;
		return 0;
	case 0x2e:
		nseg = 2;
		c->pos++;
		break;
	case 0x2f:
		if (c->end - c->pos < 2)
			return -1;
		nseg = c->p[c->pos + 1];
		c->pos += 2;
		break;
	}
	for (unsigned i = 0; i < nseg; i++)
		if (dec_seg(c, out, outsz) < 0)
			return -1;
	return 0;
}

static int dec_int(struct cur *c, uint64_t *v)
{
	static const unsigned width[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
	uint8_t op;
	unsigned w;

	if (c->pos >= c->end)
		return -1;
	op = c->p[c->pos++];
	if (op == 0x00 || op == 0x01) {
		*v = op;
		return 0;
	}
	if (op == 0xff) {
		*v = UINT64_MAX;
		return 0;
	}
	if (op >= sizeof(width) / sizeof(width[0]) || !(w = width[op]))
		return -1;
	if (c->end - c->pos < w)
		return -1;
	*v = 0;
	for (unsigned i = 0; i < w; i++)
		*v |= (uint64_t)c->p[c->pos + i] << (8 * i);
	c->pos += w;
	return 0;
}

static int parse_resources(const uint8_t *p, size_t n, struct res_info *r)
{
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	while (i < n) {
		uint8_t b = p[i];

		if (r->nend)
			return -1; /* bytes after the EndTag */
		if (!(b & 0x80)) {
			unsigned tag = (b >> 3) & 0x0f, len = b & 7;
			const uint8_t *d = p + i + 1;

			if (n - i - 1 < len)
				return -1;
			if (tag == 0x08 && len == 7) {
				r->nio++;
				r->io_info = d[0];
				r->io_min = rd16(d + 1);
				r->io_max = rd16(d + 3);
				r->io_align = d[5];
				r->io_len = d[6];
			} else if (tag == 0x04 && (len == 2 || len == 3)) {
				r->nirq++;
				r->irq_mask = rd16(d);
			} else if (tag == 0x0f && len == 1) {
				/* checksum 0, or one making the template sum to 0 */
				if (d[0] && sum8(p, i + 2))
					return -1;
				r->nend++;
			} else {
				return -1;
			}
			i += 1 + len;
		} else {
			if (n - i < 3)
				return -1;
			size_t len = rd16(p + i + 1);
			const uint8_t *d = p + i + 3;

			if (n - i - 3 < len)
				return -1;
			if (b == 0x86 && len == 9) {
				r->nmem++;
				r->mem_info = d[0];
				r->mem_base = rd32(d + 1);
				r->mem_size = rd32(d + 5);
			} else if (b == 0x89 && len >= 6 && d[1] == 1) {
				r->next++;
				r->irq_flags = d[0];
				r->gsi = rd32(d + 2);
			} else {
				return -1;
			}
			i += 3 + len;
		}
	}
	return r->nend == 1 ? 0 : -1;
}

static void eisa_decode(uint32_t aml_val, char out[8])
{
	uint32_t v = __builtin_bswap32(aml_val);
	static const char hex[] = "0123456789ABCDEF";

	out[0] = (char)('@' + ((v >> 26) & 0x1f));
	out[1] = (char)('@' + ((v >> 21) & 0x1f));
	out[2] = (char)('@' + ((v >> 16) & 0x1f));
	for (int i = 0; i < 4; i++)
		out[3 + i] = hex[(v >> (12 - 4 * i)) & 0xf];
	out[7] = 0;
}

/* Absolute path of name seen in scope (enough for the names used here:
 * absolute, or relative without '^'). */
static void join_path(char *out, size_t outsz, const char *scope, const char *name)
{
	if (name[0] == '\\')
		snprintf(out, outsz, "%s", name);
	else if (!strcmp(scope, "\\"))
		snprintf(out, outsz, "\\%s", name);
	else
		snprintf(out, outsz, "%s.%s", scope, name);
}

/* Name(name, object) inside a device or at a scope. */
static int dec_name_obj(struct cur *c, const char *scope, struct dev_info *dev,
			struct dsdt_info *info)
{
	char name[64], path[160];
	uint8_t op;
	uint64_t v;
	size_t end;

	if (dec_name(c, name, sizeof(name)) < 0 || c->pos >= c->end)
		return -1;
	join_path(path, sizeof(path), scope, name);
	op = c->p[c->pos];
	if (op == 0x0d) { /* String */
		const uint8_t *s = c->p + c->pos + 1;
		const uint8_t *nul = memchr(s, 0, c->end - c->pos - 1);

		if (!nul || (size_t)(nul - s) >= 16)
			return -1;
		if (dev && !strcmp(name, "_HID"))
			memcpy(dev->hid, s, (size_t)(nul - s) + 1);
		c->pos += (size_t)(nul - s) + 2;
		return 0;
	}
	if (op == 0x11) { /* Buffer */
		c->pos++;
		if (dec_pkg(c, &end) < 0)
			return -1;
		struct cur in = { c->p, end, c->pos };
		if (dec_int(&in, &v) < 0 || v != end - in.pos)
			return -1;
		if (dev && !strcmp(name, "_CRS")) {
			if (parse_resources(c->p + in.pos, end - in.pos, &dev->crs) < 0)
				return -1;
			dev->has_crs = 1;
		}
		c->pos = end;
		return 0;
	}
	if (op == 0x12) { /* Package of integers */
		c->pos++;
		if (dec_pkg(c, &end) < 0 || c->pos >= end)
			return -1;
		struct cur in = { c->p, end, c->pos + 1 };
		unsigned nel = c->p[c->pos], got = 0;

		while (in.pos < end) {
			if (dec_int(&in, &v) < 0 || got >= 8)
				return -1;
			if (!strcmp(path, "\\_S5_"))
				info->s5[got] = v;
			got++;
		}
		if (got != nel)
			return -1;
		if (!strcmp(path, "\\_S5_"))
			info->ns5 = got;
		c->pos = end;
		return 0;
	}
	if (dec_int(c, &v) < 0)
		return -1;
	if (dev && !strcmp(name, "_HID"))
		eisa_decode((uint32_t)v, dev->hid);
	if (dev && !strcmp(name, "_UID")) {
		dev->has_uid = 1;
		dev->uid = v;
	}
	return 0;
}

static int dec_terms(struct cur *c, const char *scope, struct dev_info *dev,
		     struct dsdt_info *info)
{
	while (c->pos < c->end) {
		uint8_t op = c->p[c->pos++];
		char name[64], path[160];
		size_t end;

		if (op == 0x08) {
			if (dec_name_obj(c, scope, dev, info) < 0)
				return -1;
		} else if (op == 0x10 || (op == 0x5b && c->pos < c->end &&
					  c->p[c->pos] == 0x82)) {
			int is_dev = op == 0x5b;

			if (is_dev)
				c->pos++;
			if (dec_pkg(c, &end) < 0 || dec_name(c, name, sizeof(name)) < 0)
				return -1;
			join_path(path, sizeof(path), scope, name);
			struct cur in = { c->p, end, c->pos };
			struct dev_info *d = NULL;

			if (is_dev) {
				if (info->ndev >= MAX_DEVS)
					return -1;
				d = &info->dev[info->ndev++];
				memset(d, 0, sizeof(*d));
				snprintf(d->path, sizeof(d->path), "%s", path);
			}
			if (dec_terms(&in, path, d, info) < 0)
				return -1;
			c->pos = end;
		} else {
			return -1;
		}
	}
	return 0;
}

static void parse_dsdt(const uint8_t *dsdt, size_t len, struct dsdt_info *info)
{
	struct cur c = { dsdt, len, ACPI_HEADER_LEN };

	memset(info, 0, sizeof(*info));
	assert_int_equal(dec_terms(&c, "\\", NULL, info), 0);
}

static const struct dev_info *find_dev(const struct dsdt_info *info, const char *path)
{
	for (unsigned i = 0; i < info->ndev; i++)
		if (!strcmp(info->dev[i].path, path))
			return &info->dev[i];
	return NULL;
}

/* ---- whole-blob checks ------------------------------------------------------ */

static struct dsdt_info dinfo;

/* Build, validate every table against cfg; returns the DSDT offset. */
static size_t build_and_check(const struct acpi_config *cfg, int *used_out)
{
	memset(blob, 0xcc, sizeof(blob));
	int used = acpi_build(blob, sizeof(blob), BASE_GPA, cfg);
	assert_true(used > ACPI_RSDP_LEN);
	*used_out = used;

	/* RSDP */
	assert_memory_equal(blob, "RSD PTR ", 8);
	assert_int_equal(sum8(blob, 20), 0);
	assert_int_equal(sum8(blob, ACPI_RSDP_LEN), 0);
	assert_memory_equal(blob + 9, "ARCA  ", 6);
	assert_int_equal(blob[15], 2);
	assert_int_equal(rd32(blob + 20), ACPI_RSDP_LEN);

	/* XSDT: exactly FADT and MADT */
	size_t xsdt = table_at(rd64(blob + 24), (size_t)used, "XSDT");
	assert_int_equal(rd32(blob + xsdt + 4), ACPI_HEADER_LEN + 16);
	size_t fadt = table_at(rd64(blob + xsdt + 36), (size_t)used, "FACP");
	size_t madt = table_at(rd64(blob + xsdt + 44), (size_t)used, "APIC");

	/* FADT */
	const uint8_t *f = blob + fadt;
	assert_int_equal(rd32(f + 4), ACPI_FADT_LEN);
	assert_int_equal(f[8], 6);
	assert_int_equal(f[ACPI_FADT_OFF_MINOR_VERSION], 5);
	uint32_t flags = rd32(f + ACPI_FADT_OFF_FLAGS);
	assert_true(flags & (1u << 20));
	assert_true(flags & (1u << 10));
	uint32_t iapc = rd16(f + ACPI_FADT_OFF_IAPC_BOOT_ARCH);
	assert_true(iapc & (1u << 2));
	assert_true(iapc & (1u << 5));
	assert_false(iapc & (1u << 1));
	const uint8_t *gas = f + ACPI_FADT_OFF_RESET_REG;
	assert_int_equal(gas[0], 1);
	assert_int_equal(gas[1], 8);
	assert_int_equal(gas[2], 0);
	assert_int_equal(gas[3], 1);
	assert_int_equal(rd64(gas + 4), cfg->reset_port);
	assert_int_equal(f[ACPI_FADT_OFF_RESET_VALUE], cfg->reset_value);
	gas = f + ACPI_FADT_OFF_SLEEP_CTL;
	assert_int_equal(gas[0], 1);
	assert_int_equal(gas[1], 8);
	assert_int_equal(gas[3], 1);
	assert_int_equal(rd64(gas + 4), cfg->sleep_ctl_port);
	gas = f + ACPI_FADT_OFF_SLEEP_STS;
	assert_int_equal(gas[0], 1);
	assert_int_equal(gas[1], 8);
	assert_int_equal(gas[3], 1);
	assert_int_equal(rd64(gas + 4), cfg->sleep_sts_port);
	assert_memory_equal(f + ACPI_FADT_OFF_HV_VENDOR, "ARCA", 4);
	/* SCI_INT, PM1a_EVT_BLK, PM1a_CNT_BLK, PM_TMR_BLK: absent */
	assert_int_equal(rd16(f + 46), 0);
	assert_int_equal(rd32(f + 56), 0);
	assert_int_equal(rd32(f + 64), 0);
	assert_int_equal(rd32(f + 76), 0);
	uint64_t x_dsdt = rd64(f + ACPI_FADT_OFF_X_DSDT);
	assert_int_equal(rd32(f + ACPI_FADT_OFF_DSDT), x_dsdt);
	size_t dsdt = table_at(x_dsdt, (size_t)used, "DSDT");
	assert_int_equal(blob[dsdt + 8], 2);

	/* MADT */
	const uint8_t *m = blob + madt;
	uint32_t mlen = rd32(m + 4);
	assert_int_equal(rd32(m + 36), cfg->lapic_addr);
	assert_int_equal(rd32(m + 40), 0);
	unsigned nlapic = 0, nioapic = 0;
	for (size_t o = 44; o < mlen;) {
		assert_true(mlen - o >= 2);
		uint8_t type = m[o], len = m[o + 1];
		assert_true(len >= 2 && len <= mlen - o);
		if (type == 0) {
			assert_int_equal(len, 8);
			assert_int_equal(m[o + 2], nlapic); /* processor UID */
			assert_int_equal(m[o + 3], nlapic); /* APIC id, in order */
			assert_int_equal(rd32(m + o + 4), 1);
			nlapic++;
		} else if (type == 1) {
			assert_int_equal(len, 12);
			assert_int_equal(m[o + 2], cfg->ioapic_id);
			assert_int_equal(rd32(m + o + 4), cfg->ioapic_addr);
			assert_int_equal(rd32(m + o + 8), 0);
			nioapic++;
		} else {
			fail_msg("unexpected MADT entry type %u", type);
		}
		o += len;
	}
	assert_int_equal(nlapic, cfg->ncpus);
	assert_int_equal(nioapic, 1);

	/* DSDT, parsed back */
	parse_dsdt(blob + dsdt, rd32(blob + dsdt + 4), &dinfo);
	assert_int_equal(dinfo.ndev, cfg->nmmio + (cfg->serial_port ? 1 : 0));
	const struct dev_info *com = find_dev(&dinfo, "\\_SB_.COM1");
	if (cfg->serial_port) {
		assert_non_null(com);
		assert_string_equal(com->hid, "PNP0501");
		assert_true(com->has_uid);
		assert_int_equal(com->uid, 0);
		assert_true(com->has_crs);
		assert_int_equal(com->crs.nio, 1);
		assert_int_equal(com->crs.io_info, 1); /* Decode16 */
		assert_int_equal(com->crs.io_min, cfg->serial_port);
		assert_int_equal(com->crs.io_max, cfg->serial_port);
		assert_int_equal(com->crs.io_align, 0);
		assert_int_equal(com->crs.io_len, 8);
		assert_int_equal(com->crs.nirq, 1);
		assert_int_equal(com->crs.irq_mask, 1u << cfg->serial_gsi);
		assert_int_equal(com->crs.nmem + com->crs.next, 0);
	} else {
		assert_null(com);
	}
	for (unsigned i = 0; i < cfg->nmmio; i++) {
		char path[32];

		snprintf(path, sizeof(path), "\\_SB_.V%03X", i);
		const struct dev_info *d = find_dev(&dinfo, path);
		assert_non_null(d);
		assert_string_equal(d->hid, "LNRO0005");
		assert_true(d->has_uid);
		assert_int_equal(d->uid, i);
		assert_true(d->has_crs);
		assert_int_equal(d->crs.nmem, 1);
		assert_int_equal(d->crs.mem_info, 1); /* ReadWrite */
		assert_int_equal(d->crs.mem_base, cfg->mmio[i].base);
		assert_int_equal(d->crs.mem_size, cfg->mmio[i].size);
		assert_int_equal(d->crs.next, 1);
		assert_int_equal(d->crs.gsi, cfg->mmio[i].gsi);
		/* consumer, edge, active-high, exclusive */
		assert_int_equal(d->crs.irq_flags, 0x03);
		assert_int_equal(d->crs.nio + d->crs.nirq, 0);
	}
	assert_int_equal(dinfo.ns5, 2);
	assert_int_equal(dinfo.s5[0], ACPI_S5_SLP_TYP);
	assert_int_equal(dinfo.s5[1], 0);
	return dsdt;
}

static void check_config(unsigned ncpus, unsigned nmmio)
{
	struct acpi_config cfg = make_cfg(ncpus, nmmio);
	int used;

	build_and_check(&cfg, &used);
	/* Nothing beyond the reported size was touched. */
	for (size_t i = (size_t)used; i < sizeof(blob); i++)
		assert_int_equal(blob[i], 0xcc);
}

static void test_tables_1cpu_0mmio(void **state) { check_config(1, 0); }
static void test_tables_1cpu_1mmio(void **state) { check_config(1, 1); }
static void test_tables_1cpu_8mmio(void **state) { check_config(1, 8); }
static void test_tables_4cpu_0mmio(void **state) { check_config(4, 0); }
static void test_tables_4cpu_1mmio(void **state) { check_config(4, 1); }
static void test_tables_4cpu_8mmio(void **state) { check_config(4, 8); }
/* 254 CPUs; 200 devices push \_SB_'s PkgLength into the 3-byte form. */
static void test_tables_large(void **state) { check_config(254, 200); }

static void test_tables_no_serial(void **state)
{
	struct acpi_config cfg = make_cfg(2, 3);
	int used;

	cfg.serial_port = 0;
	build_and_check(&cfg, &used);
}

static void test_s5_sleep_value(void **state)
{
	/* What Linux writes to SLEEP_CONTROL_REG for S5. */
	assert_int_equal(ACPI_S5_SLEEP_CTL_VALUE, 0x34);
	assert_int_equal((ACPI_S5_SLEEP_CTL_VALUE & ACPI_SLEEP_CTL_SLP_TYP_MASK) >>
			 ACPI_SLEEP_CTL_SLP_TYP_SHIFT, ACPI_S5_SLP_TYP);
}

/* ---- sizes, bounds and bad configs ----------------------------------------- */

static void test_enospc_never_writes_past_cap(void **state)
{
	struct acpi_config cfg = make_cfg(4, 8);
	static uint8_t ref[ACPI_CAP], buf[ACPI_CAP + 64];
	int used = acpi_build(ref, sizeof(ref), BASE_GPA, &cfg);

	assert_true(used > 0);
	for (size_t cap = 0; cap < (size_t)used; cap++) {
		memset(buf, 0xa5, cap + 64);
		assert_int_equal(acpi_build(buf, cap, BASE_GPA, &cfg), -ENOSPC);
		for (size_t i = cap; i < cap + 64; i++)
			assert_int_equal(buf[i], 0xa5);
	}
	/* An exact fit works and gives the same bytes. */
	memset(buf, 0xa5, (size_t)used + 64);
	assert_int_equal(acpi_build(buf, (size_t)used, BASE_GPA, &cfg), used);
	assert_memory_equal(buf, ref, (size_t)used);
	for (size_t i = (size_t)used; i < (size_t)used + 64; i++)
		assert_int_equal(buf[i], 0xa5);
	assert_int_equal(acpi_build(NULL, 0, BASE_GPA, &cfg), -ENOSPC);
}

static void test_bad_config(void **state)
{
	struct acpi_config cfg;

	cfg = make_cfg(0, 0);
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(255, 0);
	cfg.ioapic_id = 0; /* would clash anyway; ncpus is what is refused */
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(1000, 0);
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, NULL), -EINVAL);

	cfg = make_cfg(4, 0);
	cfg.ioapic_id = 3; /* clashes with APIC id 3 */
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(4, 0);
	cfg.ioapic_id = 0xff;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);

	cfg = make_cfg(1, 1);
	cfg.mmio = NULL;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(1, ACPI_MAX_MMIO + 1);
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);

	/* MMIO windows must be non-empty and end at or below 4 GiB. */
	cfg = make_cfg(1, 2);
	mmio_devs[1].base = 0xfffff000;
	mmio_devs[1].size = 0x1000;
	assert_true(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg) > 0);
	mmio_devs[1].size = 0x1001;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	mmio_devs[1].base = 0x100000000ull;
	mmio_devs[1].size = 0x1000;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	mmio_devs[1].base = UINT64_MAX - 0x10;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(1, 1);
	mmio_devs[0].size = 0;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);

	cfg = make_cfg(1, 0);
	cfg.serial_gsi = 16;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(1, 0);
	cfg.sleep_ctl_port = 0;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);
	cfg = make_cfg(1, 0);
	cfg.reset_port = 0;
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA, &cfg), -EINVAL);

	/* RSDP alignment and tables below 4 GiB. */
	cfg = make_cfg(1, 0);
	assert_int_equal(acpi_build(blob, sizeof(blob), BASE_GPA + 8, &cfg), -EINVAL);
	assert_int_equal(acpi_build(blob, sizeof(blob), 0xffffff00ull, &cfg), -EINVAL);
	assert_int_equal(acpi_build(blob, sizeof(blob), 0x100000000ull, &cfg), -EINVAL);
	assert_true(acpi_build(blob, sizeof(blob), 0xfff00000ull, &cfg) > 0);
}

/* ---- AML encoder units ------------------------------------------------------- */

static void test_pkglen_boundaries(void **state)
{
	static const struct {
		uint32_t v;
		int n;
	} cases[] = {
		{ 0, 1 }, { 63, 1 }, { 64, 2 }, { 4095, 2 }, { 4096, 3 },
		{ 1048575, 3 }, { 1048576, 4 }, { AML_PKGLEN_MAX, 4 },
	};
	uint8_t enc[4];
	uint32_t back;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = aml_pkglen_encode(cases[i].v, enc);

		assert_int_equal(n, cases[i].n);
		if (n > 1) /* lead byte: count of following bytes, bits 5:4 clear */
			assert_int_equal(enc[0] & 0xf0, (n - 1) << 6);
		assert_int_equal(aml_pkglen_decode(enc, (size_t)n, &back), n);
		assert_int_equal(back, cases[i].v);
		/* Truncated input is refused. */
		assert_int_equal(aml_pkglen_decode(enc, (size_t)n - 1, &back), -EINVAL);
	}
	assert_int_equal(aml_pkglen_encode(AML_PKGLEN_MAX + 1, enc), -EINVAL);
	/* 64 = lead 0x40 (one byte follows, low nibble 0), then 0x04. */
	assert_int_equal(aml_pkglen_encode(64, enc), 2);
	assert_int_equal(enc[0], 0x40);
	assert_int_equal(enc[1], 0x04);
	const uint8_t reserved[] = { 0x50, 0x04 };
	assert_int_equal(aml_pkglen_decode(reserved, 2, &back), -EINVAL);
}

/* Buffers whose PkgLength sits on each side of every encoding boundary:
 * the back-patched length must match the bytes actually written. */
static void test_pkg_close_boundaries(void **state)
{
	static uint8_t data[1100000], out[1100000 + 16];
	static const size_t sizes[] = { 0, 1, 57, 58, 59, 60, 61, 62, 63, 64,
					4087, 4088, 4089, 4090, 4091, 4092, 4093,
					1048565, 1048566, 1048567, 1048568, 1048569,
					1048570, 1048571 };

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		struct aml a;
		size_t end;
		uint64_t bsz;

		aml_init(&a, out, sizeof(out));
		aml_buffer(&a, data, n);
		assert_int_equal(a.err, 0);
		assert_int_equal(out[0], AML_BUFFER_OP);
		struct cur c = { out, a.len, 1 };
		assert_int_equal(dec_pkg(&c, &end), 0);
		assert_int_equal(end, a.len);
		assert_int_equal(dec_int(&c, &bsz), 0);
		assert_int_equal(bsz, n);
		assert_int_equal(end - c.pos, n);
		assert_memory_equal(out + c.pos, data, n);

		/* The same buffer nested in a package: the outer length is
		 * measured after the inner one grew. */
		aml_init(&a, out, sizeof(out));
		size_t pk = aml_package_open(&a, 1);
		aml_buffer(&a, data, n);
		aml_pkg_close(&a, pk);
		assert_int_equal(a.err, 0);
		c = (struct cur){ out, a.len, 1 };
		assert_int_equal(dec_pkg(&c, &end), 0);
		assert_int_equal(end, a.len);
		assert_int_equal(out[c.pos], 1);
		assert_int_equal(out[c.pos + 1], AML_BUFFER_OP);
	}
}

static void test_aml_bounded(void **state)
{
	uint8_t buf[16];
	struct aml a;

	memset(buf, 0xee, sizeof(buf));
	aml_init(&a, buf, 8);
	aml_put64(&a, 0x0102030405060708ull);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, 8);
	aml_put8(&a, 9);
	assert_int_equal(a.err, -ENOSPC);
	assert_int_equal(buf[8], 0xee);
	aml_init(&a, buf, 8);
	aml_put32(&a, 0);
	aml_string(&a, "hello"); /* 7 bytes: does not fit */
	assert_int_equal(a.err, -ENOSPC);
	assert_int_equal(buf[8], 0xee);
	/* Growing a PkgLength at the very end of the buffer. */
	static uint8_t big[80];
	uint8_t body[70] = { 0 };
	/* 61 data bytes: PkgLength 1 + 2 + 61 = 64 needs two bytes, so the
	 * body moves up one byte at close: 1 (op) + 2 + 2 (size) + 61 = 66. */
	aml_init(&a, big, 66);
	aml_buffer(&a, body, 61);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, 66);
	memset(big, 0xee, sizeof(big));
	aml_init(&a, big, 65); /* the body fits, its grown length does not */
	aml_buffer(&a, body, 61);
	assert_int_equal(a.err, -ENOSPC);
	assert_int_equal(big[65], 0xee);
}

static void test_aml_names_and_ints(void **state)
{
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\_SB_.COM1");
	const uint8_t want1[] = { 0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1' };
	assert_int_equal(a.len, sizeof(want1));
	assert_memory_equal(buf, want1, sizeof(want1));

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "A.BC.D12");
	const uint8_t want2[] = { 0x2f, 3, 'A', '_', '_', '_', 'B', 'C', '_', '_',
				  'D', '1', '2', '_' };
	assert_int_equal(a.len, sizeof(want2));
	assert_memory_equal(buf, want2, sizeof(want2));

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\");
	aml_namestring(&a, "^^_S5");
	const uint8_t want3[] = { 0x5c, 0x00, 0x5e, 0x5e, '_', 'S', '5', '_' };
	assert_int_equal(a.len, sizeof(want3));
	assert_memory_equal(buf, want3, sizeof(want3));

	static const char *const bad[] = { "1ABC", "abcd", "ABCDE", "A..B", "A.",
					   "A-B", "\\.X" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_namestring(&a, bad[i]);
		assert_int_equal(a.err, -EINVAL);
	}

	static const struct {
		uint64_t v;
		uint8_t op;
		size_t len;
	} ints[] = {
		{ 0, 0x00, 1 }, { 1, 0x01, 1 }, { 2, 0x0a, 2 }, { 0xff, 0x0a, 2 },
		{ 0x100, 0x0b, 3 }, { 0xffff, 0x0b, 3 }, { 0x10000, 0x0c, 5 },
		{ 0xffffffff, 0x0c, 5 }, { 0x100000000ull, 0x0e, 9 },
		{ UINT64_MAX, 0x0e, 9 },
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		uint64_t back;

		aml_init(&a, buf, sizeof(buf));
		aml_integer(&a, ints[i].v);
		assert_int_equal(a.len, ints[i].len);
		assert_int_equal(buf[0], ints[i].op);
		struct cur c = { buf, a.len, 0 };
		assert_int_equal(dec_int(&c, &back), 0);
		assert_int_equal(back, ints[i].v);
		assert_int_equal(c.pos, a.len);
	}

	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "LNRO0005");
	assert_int_equal(a.len, 10);
	assert_int_equal(buf[0], 0x0d);
	assert_int_equal(buf[9], 0);
	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "\x80");
	assert_int_equal(a.err, -EINVAL);
}

static void test_eisaid(void **state)
{
	uint32_t v;
	char back[8];

	assert_int_equal(aml_eisaid("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041); /* as iasl emits EisaId("PNP0501") */
	assert_int_equal(aml_eisaid("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	eisa_decode(v, back);
	assert_string_equal(back, "PNP0A03");
	assert_int_equal(aml_eisaid("pnp0501", &v), -EINVAL);
	assert_int_equal(aml_eisaid("PNP050", &v), -EINVAL);
	assert_int_equal(aml_eisaid("PNP05G1", &v), -EINVAL);
	assert_int_equal(aml_eisaid("PNP05011", &v), -EINVAL);
}

static void test_resource_descriptors(void **state)
{
	uint8_t buf[64];
	struct aml a;
	struct res_info r;

	aml_init(&a, buf, sizeof(buf));
	aml_res_io(&a, 0x3f8, 0x3f8, 0, 8);
	aml_res_irq_noflags(&a, 4);
	aml_res_mem32_fixed(&a, 1, 0xd0000000, 0x200);
	aml_res_ext_irq(&a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 37);
	aml_res_end(&a);
	assert_int_equal(a.err, 0);
	/* 8 + 3 + 12 + 9 + 2 bytes, as iasl lays them out */
	assert_int_equal(a.len, 34);
	const uint8_t io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08 };
	assert_memory_equal(buf, io, sizeof(io));
	assert_int_equal(parse_resources(buf, a.len, &r), 0);
	assert_int_equal(r.irq_mask, 0x10);
	assert_int_equal(r.mem_base, 0xd0000000);
	assert_int_equal(r.gsi, 37);
	assert_int_equal(buf[a.len - 2], 0x79);
	assert_int_equal(buf[a.len - 1], 0);

	aml_init(&a, buf, sizeof(buf));
	aml_res_irq_noflags(&a, 16);
	assert_int_equal(a.err, -EINVAL);
}

/* ---- ACPICA's disassembler, when installed ------------------------------------ */

static int have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static int file_contains(const char *path, const char *needle)
{
	static char text[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return strstr(text, needle) != NULL;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static long read_file(const char *dir, const char *name, uint8_t *p, size_t cap)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t n = fread(p, 1, cap, f);
	fclose(f);
	return (long)n;
}

/* Run `iasl args` in dir; 1 on exit status 0. Output goes to dir/iasl.log. */
static int run_iasl(const char *dir, const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl %s >>iasl.log 2>&1", dir, args);
	int rc = system(cmd);
	return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static int dsl_has(const char *dir, const char *file, const char *needle)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return file_contains(path, needle);
}

/* ACPICA's own disassembler reads every table without complaint, the DSDT
 * shows the devices we meant, and recompiling that listing gives back our
 * AML byte for byte (so the encoding is the canonical one iasl emits). */
static void test_iasl_roundtrip(void **state)
{
	if (!have_iasl()) {
		skip();
		return;
	}
	struct acpi_config cfg = make_cfg(4, 8);
	int used;
	size_t dsdt = build_and_check(&cfg, &used);
	size_t xsdt = (size_t)(rd64(blob + 24) - BASE_GPA);
	size_t fadt = (size_t)(rd64(blob + xsdt + 36) - BASE_GPA);
	size_t madt = (size_t)(rd64(blob + xsdt + 44) - BASE_GPA);
	uint32_t dsdt_len = rd32(blob + dsdt + 4);
	static uint8_t re[ACPI_CAP];
	char dir[] = "/tmp/arca-acpi-XXXXXX", cmd[512];

	assert_non_null(mkdtemp(dir));
	write_file(dir, "dsdt.aml", blob + dsdt, dsdt_len);
	write_file(dir, "facp.dat", blob + fadt, rd32(blob + fadt + 4));
	write_file(dir, "apic.dat", blob + madt, rd32(blob + madt + 4));

	int ok_dis = run_iasl(dir, "-d dsdt.aml") && run_iasl(dir, "-d facp.dat") &&
		     run_iasl(dir, "-d apic.dat");
	int ok_dsdt = dsl_has(dir, "dsdt.dsl", "Name (_HID, \"LNRO0005\")") &&
		      dsl_has(dir, "dsdt.dsl", "EisaId (\"PNP0501\")") &&
		      dsl_has(dir, "dsdt.dsl", "Device (V007)") &&
		      dsl_has(dir, "dsdt.dsl", "0xD0007000,") &&
		      dsl_has(dir, "dsdt.dsl", "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive") &&
		      dsl_has(dir, "dsdt.dsl", "IRQNoFlags ()") &&
		      dsl_has(dir, "dsdt.dsl", "_S5, Package (0x02)");
	int ok_tables = dsl_has(dir, "facp.dsl", "Hardware Reduced (V5) : 1") &&
			dsl_has(dir, "facp.dsl", "Reset Register Supported (V2) : 1") &&
			dsl_has(dir, "facp.dsl", "8042 Present on ports 60/64 (V2) : 0") &&
			dsl_has(dir, "apic.dsl", "I/O Apic ID : 04") &&
			!dsl_has(dir, "facp.dsl", "Incorrect") &&
			!dsl_has(dir, "apic.dsl", "Incorrect") &&
			!dsl_has(dir, "dsdt.dsl", "Incorrect");
	/* -p: output file prefix (re.aml). */
	int ok_re = run_iasl(dir, "-p re dsdt.dsl");
	long relen = ok_re ? read_file(dir, "re.aml", re, sizeof(re)) : -1;

	if (!(ok_dis && ok_dsdt && ok_tables && ok_re)) {
		snprintf(cmd, sizeof(cmd), "cat '%s/iasl.log' '%s/dsdt.dsl' >&2", dir, dir);
		if (system(cmd) != 0)
			fprintf(stderr, "iasl output unreadable\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	assert_true(ok_dis);
	assert_true(ok_dsdt);
	assert_true(ok_tables);
	assert_true(ok_re);
	/* The header differs (iasl stamps its own compiler id); the AML body
	 * must not. */
	assert_int_equal(relen, dsdt_len);
	assert_memory_equal(re + ACPI_HEADER_LEN, blob + dsdt + ACPI_HEADER_LEN,
			    dsdt_len - ACPI_HEADER_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_1cpu_0mmio),
		cmocka_unit_test(test_tables_1cpu_1mmio),
		cmocka_unit_test(test_tables_1cpu_8mmio),
		cmocka_unit_test(test_tables_4cpu_0mmio),
		cmocka_unit_test(test_tables_4cpu_1mmio),
		cmocka_unit_test(test_tables_4cpu_8mmio),
		cmocka_unit_test(test_tables_large),
		cmocka_unit_test(test_tables_no_serial),
		cmocka_unit_test(test_s5_sleep_value),
		cmocka_unit_test(test_enospc_never_writes_past_cap),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_pkglen_boundaries),
		cmocka_unit_test(test_pkg_close_boundaries),
		cmocka_unit_test(test_aml_bounded),
		cmocka_unit_test(test_aml_names_and_ints),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_resource_descriptors),
		cmocka_unit_test(test_iasl_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
