/* SPDX-License-Identifier: MIT */
/*
 * The block map of an `ephemeral` disk's copy-on-write overlay (pure: no
 * syscalls, no allocation).
 *
 * The base image is opened read-only and never written. Writes go to an
 * overlay file (sparse memfd or unlinked temp file) of the same size, at the
 * same offsets; one bit per 512-byte sector says whether that sector lives in
 * the overlay. virtio-blk only ever writes whole sectors (5.2.6.1), so a write
 * never needs the rest of a block copied up first: the device writes the
 * overlay, and marks the sectors once the write has completed. A read is cut
 * into maximal runs wholly in the base or wholly in the overlay
 * (blk_overlay_next_run), one readv per run on the right file. The request's
 * iovecs are cut at the same places with iov_slice() (common/iov.h): run
 * bytes [(run.sector - req.sector) * 512, + run.nsectors * 512).
 *
 * DISCARD on an ephemeral disk punches the overlay over the range and leaves
 * the map alone: sectors in the overlay then read as zeroes, the others still
 * read the base. Both are allowed, since after a DISCARD a sector's contents
 * are unspecified (5.2.6.2: the device MAY deallocate; only WRITE_ZEROES
 * promises zeroes), and leaving the map alone means a DISCARD never races an
 * in-flight write's mark. WRITE_ZEROES zeroes (or punches) the overlay range
 * and then marks it, so reads return zeroes and not the base. Nothing in the
 * device needs blk_overlay_clear; it exists for a range deliberately handed
 * back to the base and to make the map's tests symmetric.
 *
 * Memory: the caller provides blk_overlay_bitmap_bytes(capacity) bytes,
 * zeroed, typically a private anonymous MAP_NORESERVE mapping. Untouched
 * pages cost nothing: reading them maps the zero page, and mark/clear only store
 * to a word they actually change. So what the guest can make resident is
 * bounded by the bitmap's size, capacity / 8 bytes, i.e. the disk's size in
 * bytes / 4096 (256 KiB per GiB of disk), and only by writing to every 16 MiB
 * stretch of the disk (one 4 KiB bitmap page each).
 *
 * Concurrency: each word is updated with an atomic read-modify-write, so
 * queues served by different threads may mark and read the same map. Ordering
 * against the I/O is the caller's: mark after the overlay write completed and
 * before the request is pushed to the used ring.
 */
#ifndef ARCA_BLK_OVERLAY_H
#define ARCA_BLK_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blk_overlay {
	uint64_t *bits;             /* bit s % 64 of word s / 64: sector s in the overlay */
	uint64_t capacity;          /* sectors */
};

/* A maximal stretch of sectors served by one file. */
struct blk_run {
	uint64_t sector;
	uint64_t nsectors;
	bool overlay;
};

/* Bytes of bitmap for a disk of `capacity` sectors (whole 64-bit words). */
size_t blk_overlay_bitmap_bytes(uint64_t capacity);

/* bits: blk_overlay_bitmap_bytes(capacity) zeroed bytes, 8-byte aligned,
 * owned by the caller. capacity is at most UINT64_MAX / 512 (a disk's size
 * in bytes fits 64 bits). */
void blk_overlay_init(struct blk_overlay *o, uint64_t *bits, uint64_t capacity);

/* [sector, sector + n) now lives in the overlay / the base. 0, or -ERANGE
 * (nothing changed) when the range leaves the disk. n == 0 is a no-op. */
int blk_overlay_mark(struct blk_overlay *o, uint64_t sector, uint64_t n);
int blk_overlay_clear(struct blk_overlay *o, uint64_t sector, uint64_t n);

/* Whether sector lives in the overlay (false beyond capacity). */
bool blk_overlay_test(const struct blk_overlay *o, uint64_t sector);

/* Iterate over [*pos, end) (end clamped to capacity): fill *run with the
 * maximal run starting at *pos, advance *pos past it and return true; false
 * when *pos >= end. Scans 64 sectors per step. Usage:
 *     uint64_t pos = start;
 *     struct blk_run run;
 *     while (blk_overlay_next_run(o, &pos, start + n, &run))
 *         ... run.sector, run.nsectors, run.overlay ...
 */
bool blk_overlay_next_run(const struct blk_overlay *o, uint64_t *pos, uint64_t end,
			  struct blk_run *run);

#endif
