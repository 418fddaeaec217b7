/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for the guest: RSDP, XSDT, FADT, MADT and DSDT.
 *
 * The guest is a "hardware-reduced ACPI" machine (ACPI 6.5 section 4.1):
 * no PM1/GPE blocks, no SCI, no FACS. Linux finds the CPUs and the IOAPIC
 * through the MADT and the virtio-mmio devices through DSDT devices with
 * _HID "LNRO0005" (what QEMU's microvm and Firecracker do), because Debian's
 * cloud kernel has neither MPPARSE nor VIRTIO_MMIO_CMDLINE_DEVICES.
 * Poweroff goes through _S5_ and the FADT sleep control register, reboot
 * through the FADT reset register.
 *
 * Layout inside the blob (offsets from base_gpa, each table 16-aligned):
 * RSDP at 0, then XSDT, FADT, MADT, DSDT. The XSDT lists FADT and MADT;
 * the DSDT is reached through FADT.X_DSDT/DSDT.
 */
#ifndef ARCA_ACPI_H
#define ARCA_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS   254   /* APIC ids 0..253; 0xff is the broadcast id */
#define ACPI_MAX_MMIO   4096  /* device names V000..VFFF */

/* Sleep type the DSDT's \_S5_ package declares. Linux's hardware-reduced
 * sleep path (acpi_hw_extended_sleep) writes
 *   (SLP_TYP << 2) | SLP_EN (bit 5)
 * as one byte to SLEEP_CONTROL_REG, i.e. ACPI_S5_SLEEP_CTL_VALUE (0x34) for
 * poweroff; it first writes WAK_STS (bit 7) to SLEEP_STATUS_REG to clear it.
 * The VMM's port handler compares the SLP_TYP field against ACPI_S5_SLP_TYP
 * when SLP_EN is set. (ACPI 6.5 section 4.8.3.7.) */
#define ACPI_S5_SLP_TYP            5
#define ACPI_SLEEP_CTL_SLP_TYP_SHIFT 2
#define ACPI_SLEEP_CTL_SLP_TYP_MASK  0x1c
#define ACPI_SLEEP_CTL_SLP_EN      0x20
#define ACPI_SLEEP_STS_WAK_STS     0x80
#define ACPI_S5_SLEEP_CTL_VALUE \
	((ACPI_S5_SLP_TYP << ACPI_SLEEP_CTL_SLP_TYP_SHIFT) | ACPI_SLEEP_CTL_SLP_EN)

/* Fixed sizes and offsets the tests and the VMM may rely on. */
#define ACPI_RSDP_LEN         36
#define ACPI_HEADER_LEN       36
#define ACPI_FADT_LEN         276  /* FADT revision 6 */
#define ACPI_MADT_LAPIC_LEN   8
#define ACPI_MADT_IOAPIC_LEN  12

/* FADT fields (ACPI 6.5 table 5.9) */
#define ACPI_FADT_OFF_DSDT            40
#define ACPI_FADT_OFF_IAPC_BOOT_ARCH  109
#define ACPI_FADT_OFF_FLAGS           112
#define ACPI_FADT_OFF_RESET_REG       116
#define ACPI_FADT_OFF_RESET_VALUE     128
#define ACPI_FADT_OFF_MINOR_VERSION   131
#define ACPI_FADT_OFF_X_DSDT          140
#define ACPI_FADT_OFF_SLEEP_CTL       244
#define ACPI_FADT_OFF_SLEEP_STS       256
#define ACPI_FADT_OFF_HV_VENDOR       268

#define ACPI_FADT_F_RESET_REG_SUP     (1u << 10)
#define ACPI_FADT_F_HW_REDUCED_ACPI   (1u << 20)
#define ACPI_FADT_F_PWR_BUTTON        (1u << 4)  /* 1: no fixed power button */
#define ACPI_FADT_F_SLP_BUTTON        (1u << 5)  /* 1: no fixed sleep button */

#define ACPI_IAPC_LEGACY_DEVICES      (1u << 0)
#define ACPI_IAPC_8042                (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT     (1u << 2)
#define ACPI_IAPC_MSI_NOT_SUPPORTED   (1u << 3)
#define ACPI_IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* Generic Address Structure (section 5.2.3.2) */
#define ACPI_GAS_LEN          12
#define ACPI_GAS_SYSTEM_IO    1
#define ACPI_GAS_ACCESS_BYTE  1

struct acpi_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	unsigned ncpus;                 /* 1..254, APIC ids 0..ncpus-1 */
	uint32_t lapic_addr;            /* 0xfee00000 */
	uint32_t ioapic_addr;           /* 0xfec00000 */
	uint8_t ioapic_id;              /* = ncpus (must not clash with APIC ids) */
	const struct acpi_mmio_dev *mmio;
	unsigned nmmio;                 /* virtio-mmio devices, 0..ACPI_MAX_MMIO */
	uint16_t serial_port;           /* COM1: 0x3f8; 0 leaves COM1 out */
	uint32_t serial_gsi;            /* 4; an ISA IRQ, 0..15 */
	uint16_t sleep_ctl_port;        /* FADT HW-reduced sleep regs, 1 byte each */
	uint16_t sleep_sts_port;
	uint16_t reset_port;            /* FADT RESET_REG (I/O space) */
	uint8_t reset_value;
};

/* Build RSDP (at offset 0 of buf), XSDT, FADT, MADT and DSDT into buf, which
 * the guest will see at guest physical address base_gpa. Returns the number
 * of bytes used, or -ENOSPC if cap is too small (nothing is written at or
 * past buf[cap]), -EINVAL for a bad config: ncpus outside 1..254, an IOAPIC
 * id that clashes with an APIC id or is 0xff, a zero register port, a serial
 * GSI above 15, an mmio window that is empty or not below 4 GiB, nmmio too
 * large or mmio NULL, base_gpa not 16-byte aligned or tables not below
 * 4 GiB (the FADT's 32-bit DSDT field must hold the address). */
int acpi_build(uint8_t *buf, size_t cap, uint64_t base_gpa, const struct acpi_config *cfg);

#endif
