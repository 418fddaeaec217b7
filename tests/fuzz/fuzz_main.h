/* SPDX-License-Identifier: MIT */
/*
 * The -DFUZZ_MAIN driver shared by the fuzz targets (tests/fuzz/fuzz_*.c):
 * without libFuzzer, a target's main() runs the files named on its command
 * line through LLVMFuzzerTestOneInput (fuzz_run_files), or, with none, its
 * own fixed-seed random sweep built on fuzz_rnd8(). Include it once, inside
 * the target's #ifdef FUZZ_MAIN.
 */
#ifndef ARCA_FUZZ_MAIN_H
#define ARCA_FUZZ_MAIN_H

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_rng = 0x853c49e6748fea9bull;

/* xorshift64: the same sequence on every run, so a sweep is reproducible. */
static inline uint8_t fuzz_rnd8(void)
{
	fuzz_rng ^= fuzz_rng << 13;
	fuzz_rng ^= fuzz_rng >> 7;
	fuzz_rng ^= fuzz_rng << 17;
	return (uint8_t)(fuzz_rng >> 24);
}

/* Each file in argv[1..argc) (at most cap bytes of it) as one input, in
 * into. 0, or 1 when a file cannot be opened. */
static inline int fuzz_run_files(int argc, char **argv, uint8_t *into, size_t cap)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (!fp) {
			perror(argv[i]);
			return 1;
		}
		size_t n = fread(into, 1, cap, fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(into, n);
	}
	return 0;
}

#endif
