/* SPDX-License-Identifier: MIT */
/* The fuzz targets' input cursor: little-endian values read off the input,
 * zeroes once it runs out (so every input is a complete program). */
#ifndef ARCA_FUZZ_INPUT_H
#define ARCA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t get8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t get16(struct in *in)
{
	uint16_t lo = get8(in);
	return (uint16_t)(lo | get8(in) << 8);
}

static inline uint32_t get32(struct in *in)
{
	uint32_t lo = get16(in);
	return lo | (uint32_t)get16(in) << 16;
}

#endif
