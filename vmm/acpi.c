// SPDX-License-Identifier: MIT
/*
 * ACPI table builder (see acpi.h). Pure: writes into a caller buffer through
 * the bounded writer from aml.h, then patches addresses and checksums in
 * place once everything has fitted.
 */
#include "acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aml.h"

#define ACPI_OEM_ID        "ARCA  "   /* 6 bytes */
#define ACPI_OEM_TABLE_ID  "ARCAVMM " /* 8 bytes */
#define ACPI_OEM_REVISION  1
#define ACPI_CREATOR_ID    "ARCA"
#define ACPI_CREATOR_REV   1

#define ACPI_HDR_OFF_LENGTH    4
#define ACPI_HDR_OFF_CHECKSUM  9

#define RSDP_OFF_CHECKSUM      8
#define RSDP_OFF_XSDT          24
#define RSDP_OFF_EXT_CHECKSUM  32
#define RSDP_V1_LEN            20

#define MADT_LAPIC_ENABLED     1u

static void set_le32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void set_le64(uint8_t *p, uint64_t v)
{
	set_le32(p, (uint32_t)v);
	set_le32(p + 4, (uint32_t)(v >> 32));
}

/* Store the byte that makes p[0..len) sum to zero (mod 256). */
static void set_checksum(uint8_t *p, size_t len, size_t csum_off)
{
	uint8_t sum = 0;

	p[csum_off] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[csum_off] = (uint8_t)(0x100 - sum);
}

static void pad16(struct aml *w)
{
	aml_zeros(w, (16 - (w->len & 15)) & 15);
}

/* System description table header (section 5.2.6); length and checksum
 * are filled in by acpi_build once the table is complete. */
static size_t table_begin(struct aml *w, const char sig[4], uint8_t rev)
{
	size_t start;

	pad16(w);
	start = w->len;
	aml_putn(w, sig, 4);
	aml_put32(w, 0);  /* length */
	aml_put8(w, rev);
	aml_put8(w, 0);   /* checksum */
	aml_putn(w, ACPI_OEM_ID, 6);
	aml_putn(w, ACPI_OEM_TABLE_ID, 8);
	aml_put32(w, ACPI_OEM_REVISION);
	aml_putn(w, ACPI_CREATOR_ID, 4);
	aml_put32(w, ACPI_CREATOR_REV);
	return start;
}

/* 8-bit register in system I/O space, byte access. */
static void put_gas_io8(struct aml *w, uint16_t port)
{
	aml_put8(w, ACPI_GAS_SYSTEM_IO);
	aml_put8(w, 8);  /* register bit width */
	aml_put8(w, 0);  /* bit offset */
	aml_put8(w, ACPI_GAS_ACCESS_BYTE);
	aml_put64(w, port);
}

static void build_rsdp(struct aml *w)
{
	aml_putn(w, "RSD PTR ", 8);
	aml_put8(w, 0);       /* checksum over the first 20 bytes */
	aml_putn(w, ACPI_OEM_ID, 6);
	aml_put8(w, 2);       /* revision 2: XSDT, length, extended checksum */
	aml_put32(w, 0);      /* RsdtAddress: none, the XSDT is enough */
	aml_put32(w, ACPI_RSDP_LEN);
	aml_put64(w, 0);      /* XsdtAddress, patched */
	aml_put8(w, 0);       /* extended checksum */
	aml_zeros(w, 3);
}

static size_t build_xsdt(struct aml *w)
{
	size_t start = table_begin(w, "XSDT", 1);

	aml_put64(w, 0);  /* FADT, patched */
	aml_put64(w, 0);  /* MADT, patched */
	return start;
}

static size_t build_fadt(struct aml *w, const struct acpi_config *cfg)
{
	size_t start = table_begin(w, "FACP", 6);

	/* Hardware-reduced ACPI (section 4.1): no FACS, SMI_CMD, PM1/PM2/GPE
	 * blocks, PM timer or SCI, so everything from FIRMWARE_CTRL to
	 * CENTURY stays zero apart from the DSDT pointer. */
	aml_put32(w, 0);                /* FIRMWARE_CTRL */
	aml_put32(w, 0);                /* DSDT, patched */
	aml_zeros(w, ACPI_FADT_OFF_IAPC_BOOT_ARCH - 44);
	/* No VGA, no CMOS RTC. The 8042 bit stays clear so Linux marks the
	 * i8042 "firmware absent" and does not probe a keyboard controller;
	 * the VMM still takes 0xfe on port 0x64 as a reset request for the
	 * kernel's fallback reboot path. */
	aml_put16(w, ACPI_IAPC_VGA_NOT_PRESENT | ACPI_IAPC_CMOS_RTC_NOT_PRESENT);
	aml_put8(w, 0);                 /* reserved */
	/* PWR_BUTTON/SLP_BUTTON set mean "no fixed-feature buttons": without
	 * them Linux registers a fixed power button that can never fire. */
	aml_put32(w, ACPI_FADT_F_HW_REDUCED_ACPI | ACPI_FADT_F_RESET_REG_SUP |
		  ACPI_FADT_F_PWR_BUTTON | ACPI_FADT_F_SLP_BUTTON);
	put_gas_io8(w, cfg->reset_port); /* RESET_REG */
	aml_put8(w, cfg->reset_value);
	aml_put16(w, 0);                /* ARM_BOOT_ARCH */
	aml_put8(w, 5);                 /* FADT minor version: ACPI 6.5 */
	aml_put64(w, 0);                /* X_FIRMWARE_CTRL */
	aml_put64(w, 0);                /* X_DSDT, patched */
	aml_zeros(w, 8 * ACPI_GAS_LEN); /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	put_gas_io8(w, cfg->sleep_ctl_port);
	put_gas_io8(w, cfg->sleep_sts_port);
	aml_putn(w, "ARCA\0\0\0\0", 8); /* hypervisor vendor identity */
	return start;
}

static size_t build_madt(struct aml *w, const struct acpi_config *cfg)
{
	size_t start = table_begin(w, "APIC", 5);

	aml_put32(w, cfg->lapic_addr);
	/* Flags 0, i.e. PCAT_COMPAT clear. KVM's in-kernel irqchip does
	 * emulate a dual 8259, but claiming it buys nothing: Linux 6.1 ignores
	 * the flag and finds the PIC by probing it (probe_8259A), then masks it
	 * when it switches to IOAPIC mode. Newer kernels instead trust a set
	 * flag and skip the probe, which would turn into a false claim if the
	 * VMM ever moved to a split irqchip (no PIC in the kernel). With the
	 * flag clear the probe always reports the truth. */
	aml_put32(w, 0);
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		aml_put8(w, 0);                     /* Processor Local APIC */
		aml_put8(w, ACPI_MADT_LAPIC_LEN);
		aml_put8(w, (uint8_t)i);            /* ACPI processor UID */
		aml_put8(w, (uint8_t)i);            /* APIC id */
		aml_put32(w, MADT_LAPIC_ENABLED);
	}
	aml_put8(w, 1);                             /* I/O APIC */
	aml_put8(w, ACPI_MADT_IOAPIC_LEN);
	aml_put8(w, cfg->ioapic_id);
	aml_put8(w, 0);
	aml_put32(w, cfg->ioapic_addr);
	aml_put32(w, 0);                            /* GSI base */
	/* No interrupt source overrides: KVM's default routing sends GSI n to
	 * IOAPIC pin n, and its in-kernel PIT raises GSI 0 (not the pin 2 a PC
	 * BIOS would describe with an override). The ISA identity map Linux
	 * assumes without overrides is exactly what KVM does. */
	return start;
}

/* Name(_CRS, ResourceTemplate(){...}) from a finished descriptor list. */
static void put_crs(struct aml *w, const struct aml *res)
{
	if (res->err) {
		aml_fail(w, res->err);
		return;
	}
	aml_name(w, "_CRS");
	aml_buffer(w, res->buf, res->len);
}

static void build_com1(struct aml *w, const struct acpi_config *cfg)
{
	uint8_t rbuf[32];
	struct aml res;
	uint32_t hid = 0;
	size_t dev;

	aml_init(&res, rbuf, sizeof(rbuf));
	aml_res_io(&res, cfg->serial_port, cfg->serial_port, 0, 8);
	aml_res_irq_noflags(&res, cfg->serial_gsi);
	aml_res_end(&res);

	if (aml_eisaid("PNP0501", &hid) < 0)
		aml_fail(w, -EINVAL);
	dev = aml_device_open(w, "COM1");
	aml_name(w, "_HID");
	aml_dword_const(w, hid);
	aml_name(w, "_UID");
	aml_integer(w, 0);
	put_crs(w, &res);
	aml_pkg_close(w, dev);
}

static void build_virtio_mmio(struct aml *w, unsigned idx, const struct acpi_mmio_dev *d)
{
	uint8_t rbuf[32];
	struct aml res;
	char name[8];
	size_t dev;

	aml_init(&res, rbuf, sizeof(rbuf));
	/* Range checked by acpi_check_config: base + size <= 4 GiB. */
	aml_res_mem32_fixed(&res, 1, (uint32_t)d->base, d->size);
	/* virtio-mmio interrupts are edge-triggered, active-high, one GSI per
	 * device (the same as QEMU microvm and Firecracker describe them). */
	aml_res_ext_irq(&res, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
	aml_res_end(&res);

	snprintf(name, sizeof(name), "V%03X", idx & 0xfffu);
	dev = aml_device_open(w, name);
	aml_name(w, "_HID");
	aml_string(w, "LNRO0005"); /* Linux's virtio_mmio ACPI match id */
	aml_name(w, "_UID");
	aml_integer(w, idx);
	put_crs(w, &res);
	aml_pkg_close(w, dev);
}

static size_t build_dsdt(struct aml *w, const struct acpi_config *cfg)
{
	/* Revision 2: integers are 64-bit (section 5.2.11.1). */
	size_t start = table_begin(w, "DSDT", 2);
	size_t sb, s5;

	/* Root-relative names ("_SB_" rather than "\\_SB_") at the root
	 * scope: the same object, and the form iasl's optimizer emits, so
	 * the test can compare against an iasl recompilation byte for byte. */
	sb = aml_scope_open(w, "_SB_");
	if (cfg->serial_port)
		build_com1(w, cfg);
	for (unsigned i = 0; i < cfg->nmmio; i++)
		build_virtio_mmio(w, i, &cfg->mmio[i]);
	aml_pkg_close(w, sb);

	/* \_S5_: {SLP_TYPa, SLP_TYPb}; only the first is used on a
	 * hardware-reduced machine. */
	aml_name(w, "_S5_");
	s5 = aml_package_open(w, 2);
	aml_integer(w, ACPI_S5_SLP_TYP);
	aml_integer(w, 0);
	aml_pkg_close(w, s5);
	return start;
}

static int acpi_check_config(const struct acpi_config *cfg, uint64_t base_gpa)
{
	if (!cfg || cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	/* APIC ids are 0..ncpus-1; 0xff is broadcast. */
	if (cfg->ioapic_id < cfg->ncpus || cfg->ioapic_id == 0xff)
		return -EINVAL;
	if (!cfg->lapic_addr || !cfg->ioapic_addr)
		return -EINVAL;
	if (cfg->nmmio > ACPI_MAX_MMIO || (cfg->nmmio && !cfg->mmio))
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nmmio; i++) {
		const struct acpi_mmio_dev *d = &cfg->mmio[i];

		/* Memory32Fixed: the whole window below 4 GiB. */
		if (!d->size || d->base > UINT32_MAX ||
		    d->size > (uint64_t)UINT32_MAX + 1 - d->base)
			return -EINVAL;
	}
	if (cfg->serial_port && (cfg->serial_gsi > 15 || cfg->serial_port > 0xffff - 7))
		return -EINVAL;
	/* A GAS with address 0 means "not implemented" to ACPICA, which would
	 * silently disable poweroff or reset. */
	if (!cfg->sleep_ctl_port || !cfg->sleep_sts_port || !cfg->reset_port)
		return -EINVAL;
	/* The RSDP must sit on a 16-byte boundary for the legacy scan. */
	if (base_gpa & 15)
		return -EINVAL;
	return 0;
}

struct span {
	size_t off, len;
};

/* Run one table builder and record where the table landed (start, and its
 * length before the next table's alignment padding). */
#define BUILD(w, sp, call) do {                   \
		(sp).off = (call);                \
		(sp).len = (w)->len - (sp).off;   \
	} while (0)

static void finish_table(uint8_t *buf, struct span t)
{
	set_le32(buf + t.off + ACPI_HDR_OFF_LENGTH, (uint32_t)t.len);
	set_checksum(buf + t.off, t.len, ACPI_HDR_OFF_CHECKSUM);
}

int acpi_build(uint8_t *buf, size_t cap, uint64_t base_gpa, const struct acpi_config *cfg)
{
	struct span xsdt, fadt, madt, dsdt;
	struct aml w;
	int r;

	r = acpi_check_config(cfg, base_gpa);
	if (r < 0)
		return r;

	aml_init(&w, buf, cap);
	build_rsdp(&w);
	BUILD(&w, xsdt, build_xsdt(&w));
	BUILD(&w, fadt, build_fadt(&w, cfg));
	BUILD(&w, madt, build_madt(&w, cfg));
	BUILD(&w, dsdt, build_dsdt(&w, cfg));
	if (w.err)
		return w.err;
	/* Every table below 4 GiB: the FADT's DSDT field is 32 bits wide.
	 * base_gpa <= UINT32_MAX first, so the subtraction cannot wrap. */
	if (base_gpa > UINT32_MAX || w.len > (uint64_t)UINT32_MAX + 1 - base_gpa)
		return -EINVAL;
	if (w.len > INT32_MAX) /* the return value must hold it */
		return -ENOSPC;

	set_le64(buf + RSDP_OFF_XSDT, base_gpa + xsdt.off);
	set_le64(buf + xsdt.off + ACPI_HEADER_LEN, base_gpa + fadt.off);
	set_le64(buf + xsdt.off + ACPI_HEADER_LEN + 8, base_gpa + madt.off);
	set_le32(buf + fadt.off + ACPI_FADT_OFF_DSDT, (uint32_t)(base_gpa + dsdt.off));
	set_le64(buf + fadt.off + ACPI_FADT_OFF_X_DSDT, base_gpa + dsdt.off);

	/* Checksums last, after every pointer is in place. */
	finish_table(buf, xsdt);
	finish_table(buf, fadt);
	finish_table(buf, madt);
	finish_table(buf, dsdt);
	set_checksum(buf, RSDP_V1_LEN, RSDP_OFF_CHECKSUM);
	set_checksum(buf, ACPI_RSDP_LEN, RSDP_OFF_EXT_CHECKSUM);
	return (int)w.len;
}
