/* SPDX-License-Identifier: MIT */
/*
 * Uncompressed vmlinux out of an LZ4 bzImage, pure (no syscalls but
 * malloc/free). Debian's cloud kernel is CONFIG_KERNEL_LZ4: its bzImage
 * carries vmlinux as an LZ4 "legacy" frame (arch/x86/boot/compressed,
 * `lz4 -l` plus the appended le32 size). Decoding it here lets arca load the
 * ELF directly and skip the in-guest decompressor.
 *
 * The bzImage is a user-supplied file, read by a process that may be root:
 * every header field, block size, literal length, match length and offset is
 * untrusted and bounds-checked with overflow-safe arithmetic before use, so a
 * corrupt or hostile file fails with an error instead of reading or writing
 * out of bounds. Only the ELF header of the result is checked; whoever loads
 * its program headers must bounds-check them.
 */
#ifndef ARCA_VMLINUX_H
#define ARCA_VMLINUX_H

#include <stddef.h>
#include <stdint.h>

/* Decode the LZ4 "legacy" frame format (what `lz4 -l` writes and Linux's
 * bzImage carries): le32 magic 0x184C2102, then blocks of le32 compressed
 * size + LZ4 block data, each decompressing to at most 8 MiB; another magic
 * may start a new frame. Input ends when fewer than 4 bytes are left, or when
 * exactly 4 are left (the bzImage's appended le32 uncompressed size). Returns
 * 0 and *out_len, -EINVAL on malformed input (bad magic, a block size beyond
 * the input, a match offset of 0 or before the output start, a literal or
 * match running past the block or the input, a block decompressing to more
 * than 8 MiB), -ENOSPC if out_cap is too small.
 *
 * Blocks are independent, as `lz4 -l` writes them and as Linux's unlz4
 * decodes them: a match may not reach back before the start of its own
 * block's output. On error, out[0..out_cap) may have been written. */
int lz4_legacy_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len);

/* Where the compressed kernel is in a bzImage: the setup header at 0x1f1
 * ("HdrS" at 0x202, boot protocol >= 2.08 for payload_offset/payload_length;
 * Documentation/arch/x86/boot.rst). The payload starts at
 * (setup_sects ? setup_sects : 4) * 512 + 512 + payload_offset, runs
 * payload_length bytes, and its last 4 bytes are the le32 uncompressed size.
 * On success *payload points into k. Returns 0, or -ENOEXEC (not a bzImage,
 * too old, ranges outside the file). */
int bzimage_payload(const uint8_t *k, size_t len, const uint8_t **payload,
		    size_t *payload_len, uint32_t *uncompressed_len);

/* Largest vmlinux accepted (the trailer's uncompressed size). */
#define VMLINUX_MAX (512u << 20)

/* The whole thing: payload located (-ENOEXEC as above), recognised as LZ4
 * legacy (else -ENOTSUP: another compression; arca then boots the bzImage as
 * it is), uncompressed size at most VMLINUX_MAX (else -EFBIG), decoded into a
 * malloc'ed buffer of exactly that size (decoded length must equal it, else
 * -EINVAL, also when the data decodes to more), and the result must start
 * with an ELF64 little-endian x86-64 header (else -ENOEXEC). -ENOMEM when the
 * buffer cannot be had. *out and *out_len are set only on success (caller
 * frees *out). */
int vmlinux_from_bzimage(const uint8_t *k, size_t len, uint8_t **out, size_t *out_len);

#endif
