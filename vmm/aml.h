/* SPDX-License-Identifier: MIT */
/*
 * A small AML (ACPI Machine Language) encoder: just the subset arca's DSDT
 * needs (ACPI 6.5 section 20 for the grammar, section 6.4 for resource
 * descriptors).
 *
 * Everything writes into one bounded byte buffer owned by the caller and
 * never past its capacity. Errors are sticky: the first failure (-ENOSPC when
 * the buffer is full, -EINVAL for a malformed name or value) is kept in
 * a->err and every later call does nothing, so a builder emits a whole block
 * and checks a->err once at the end.
 *
 * Nested PkgLengths: aml_pkg_open() reserves one byte and aml_pkg_close()
 * encodes the real length, moving the body up when it needs 2-4 bytes. Inner
 * packages close before outer ones, so an outer package's reserved byte is
 * never moved and its body size is measured after every inner one is final.
 * The buffer therefore never holds more than the finished encoding does:
 * a build fits in cap exactly when its result does.
 *
 * The same writer doubles as a plain little-endian byte writer (aml_put*)
 * for the fixed-layout ACPI tables in acpi.c.
 */
#ifndef ARCA_AML_H
#define ARCA_AML_H

#include <stddef.h>
#include <stdint.h>

/* AML opcodes used here (ACPI 6.5 section 20.3). */
#define AML_ZERO_OP          0x00
#define AML_ONE_OP           0x01
#define AML_NAME_OP          0x08
#define AML_BYTE_PREFIX      0x0a
#define AML_WORD_PREFIX      0x0b
#define AML_DWORD_PREFIX     0x0c
#define AML_STRING_PREFIX    0x0d
#define AML_QWORD_PREFIX     0x0e
#define AML_SCOPE_OP         0x10
#define AML_BUFFER_OP        0x11
#define AML_PACKAGE_OP       0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX    0x5b
#define AML_ROOT_CHAR        0x5c
#define AML_PARENT_PREFIX    0x5e
#define AML_EXT_DEVICE_OP    0x82 /* after AML_EXT_OP_PREFIX */

/* Largest value a PkgLength can hold: 4 bits + 3 bytes. */
#define AML_PKGLEN_MAX       0x0fffffffu

/* Resource descriptor tags and fields (ACPI 6.5 section 6.4). */
#define AML_RES_IO           0x47 /* small item 0x08, length 7 */
#define AML_RES_IRQ_NOFLAGS  0x22 /* small item 0x04, length 2 */
#define AML_RES_END_TAG      0x79 /* small item 0x0f, length 1 */
#define AML_RES_MEM32_FIXED  0x86 /* large item 0x06 */
#define AML_RES_EXT_IRQ      0x89 /* large item 0x09 */
#define AML_RES_IO_DECODE16  0x01
#define AML_RES_MEM_RW       0x01
/* Extended Interrupt flags byte (section 6.4.3.6). */
#define AML_IRQ_CONSUMER     0x01
#define AML_IRQ_EDGE         0x02
#define AML_IRQ_ACTIVE_LOW   0x04
#define AML_IRQ_SHARED       0x08

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err; /* 0 or the first negative errno, sticky */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* Record an error (keeps the first one). */
void aml_fail(struct aml *a, int err);

/* Raw little-endian bytes. */
void aml_put8(struct aml *a, uint8_t v);
void aml_put16(struct aml *a, uint16_t v);
void aml_put32(struct aml *a, uint32_t v);
void aml_put64(struct aml *a, uint64_t v);
void aml_putn(struct aml *a, const void *p, size_t n);
/* n zero bytes. */
void aml_zeros(struct aml *a, size_t n);

/* PkgLength codec (section 20.2.4). aml_pkglen_encode writes the shortest
 * encoding of `value` into out and returns its size 1..4, or -EINVAL above
 * AML_PKGLEN_MAX. (A PkgLength counts its own bytes; aml_pkg_close handles
 * that, these two only convert numbers.) aml_pkglen_decode reads one from
 * p[0..avail) and returns the bytes consumed, or -EINVAL when truncated or
 * when the reserved bits 5:4 of a multi-byte lead byte are set. */
int aml_pkglen_encode(uint32_t value, uint8_t out[4]);
int aml_pkglen_decode(const uint8_t *p, size_t avail, uint32_t *value);

/* Open a PkgLength-prefixed body; returns a mark for aml_pkg_close. */
size_t aml_pkg_open(struct aml *a);
void aml_pkg_close(struct aml *a, size_t mark);

/* NameSeg: 1-4 characters [A-Z_][A-Z0-9_]*, padded with '_'. */
void aml_nameseg(struct aml *a, const char *seg);
/* NameString: optional '\' or '^'..., then NameSegs separated by '.'
 * ("\\_SB_.COM1", "_HID", "\\"). */
void aml_namestring(struct aml *a, const char *path);

/* Integer with the shortest encoding (Zero, One, Byte, Word, DWord, QWord). */
void aml_integer(struct aml *a, uint64_t v);
/* Always DWordConst (how ASL compilers emit EISAID). */
void aml_dword_const(struct aml *a, uint32_t v);
/* String: 7-bit ASCII without NUL (section 20.2.3). */
void aml_string(struct aml *a, const char *s);
/* Buffer(n){bytes}. */
void aml_buffer(struct aml *a, const void *bytes, size_t n);

/* Name(name, <object>): emits NameOp + NameString; the caller emits the
 * object right after. */
void aml_name(struct aml *a, const char *name);
/* Scope/Device/Package: emit the opcode and open the body; close with
 * aml_pkg_close(a, mark). Package takes its element count up front. */
size_t aml_scope_open(struct aml *a, const char *name);
size_t aml_device_open(struct aml *a, const char *name);
size_t aml_package_open(struct aml *a, uint8_t nelems);

/* EISA id compression: "PNP0501" -> 0x0105d041 as stored in AML.
 * Returns 0 or -EINVAL (needs 3 letters A-Z then 4 hex digits). */
int aml_eisaid(const char *id, uint32_t *out);

/* Resource descriptors, to be written into their own struct aml and wrapped
 * with aml_buffer() to form a ResourceTemplate. */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *a, unsigned irq); /* irq 0..15 */
void aml_res_mem32_fixed(struct aml *a, int rw, uint32_t base, uint32_t size);
void aml_res_ext_irq(struct aml *a, uint8_t flags, uint32_t gsi);
void aml_res_end(struct aml *a); /* EndTag, checksum 0 ("assume valid") */

#endif
