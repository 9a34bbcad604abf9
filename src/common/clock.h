/* SPDX-License-Identifier: MIT */
/*
 * The trace clock: one time source for every event of a trace, and its
 * description for CTF metadata (frequency, offset from the Unix epoch).
 *
 * On x86-64 with an invariant TSC that the kernel itself uses as its
 * clocksource, the clock is the raw TSC (about 10 ns a read here, against
 * 25 ns for clock_gettime): the same values tracefs stamps with its
 * `x86-tsc` clock. Elsewhere it is CLOCK_MONOTONIC in nanoseconds, tracefs's
 * `mono`. REEL_CLOCK=monotonic forces the latter.
 */
#ifndef REEL_COMMON_CLOCK_H
#define REEL_COMMON_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "compiler.h"

/* True when reel_clock_read() returns TSC cycles; set once by
 * reel_clock_init() before any event is recorded. */
extern bool reel_clock_is_tsc REEL_HIDDEN;

struct reel_clock_desc {
	uint64_t freq;     /* ticks per second */
	int64_t offset_s;  /* epoch seconds at tick 0 ... */
	uint64_t offset;   /* ... plus this many ticks */
	char uuid[37];     /* same for every process of one boot and source */
	const char *source; /* "tsc" or "monotonic" */
};

/* Choose the source. Idempotent; thread-safe. */
void reel_clock_init(void) REEL_HIDDEN;

/* Current time in clock ticks. Async-signal-safe, no system call. */
static inline uint64_t reel_clock_read(void)
{
#if defined(__x86_64__)
	if (likely(reel_clock_is_tsc))
		return __rdtsc();
#endif
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Describe the clock. For the TSC, the frequency is measured against
 * CLOCK_MONOTONIC_RAW (an exact linear function of the TSC when the TSC is
 * the kernel's clocksource) between `since`, taken by reel_clock_sample(),
 * and now, after waiting until at least `min_ns` separate them; the longer
 * the interval, the more exact. Returns 0 or a negative errno.
 */
/* Measuring the TSC frequency over this long gives it to better than one
 * part per million; over REEL_CLOCK_QUICK_NS, to some tens. */
#define REEL_CLOCK_CALIBRATION_NS 20000000u
#define REEL_CLOCK_QUICK_NS 1000000u

struct reel_clock_sample {
	uint64_t ticks;
	uint64_t raw_ns;
};
void reel_clock_sample(struct reel_clock_sample *ret) REEL_HIDDEN;
int reel_clock_describe(const struct reel_clock_sample *since, uint64_t min_ns,
			struct reel_clock_desc *ret)
	REEL_HIDDEN;

#endif
