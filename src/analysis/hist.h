/* SPDX-License-Identifier: MIT */
/*
 * A mergeable log-linear histogram of durations (ns): values below 128 have
 * a bucket each (exact); above, each power of two is cut into 64 buckets,
 * so a bucket's width is at most 1/64 of its lower bound and its middle is
 * within 1/128 (0.8 %) of any value in it. Merging adds counts: the result
 * does not depend on the order of merges.
 */
#ifndef REEL_ANALYSIS_HIST_H
#define REEL_ANALYSIS_HIST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AN_HIST_SUB 64u
#define AN_HIST_MAX_BUCKETS (59u * AN_HIST_SUB) /* every uint64_t value */

struct an_hist {
	uint64_t *b;
	uint32_t n; /* buckets allocated */
};

static inline uint32_t an_hist_bucket(uint64_t v)
{
	if (v < 2 * AN_HIST_SUB)
		return (uint32_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = e - 6u;
	return (shift + 1u) * AN_HIST_SUB + (uint32_t)((v >> shift) - AN_HIST_SUB);
}

/* Lowest value of bucket i and its width. */
static inline void an_hist_range(uint32_t i, uint64_t *ret_low, uint64_t *ret_width)
{
	if (i < 2 * AN_HIST_SUB) {
		*ret_low = i;
		*ret_width = 1;
		return;
	}
	unsigned shift = i / AN_HIST_SUB - 1u;
	*ret_low = (uint64_t)(i % AN_HIST_SUB + AN_HIST_SUB) << shift;
	*ret_width = (uint64_t)1 << shift;
}

static inline int an_hist_grow(struct an_hist *h, uint32_t n)
{
	if (n <= h->n)
		return 0;
	uint32_t cap = h->n ? h->n : 256;
	while (cap < n)
		cap *= 2;
	if (cap > AN_HIST_MAX_BUCKETS)
		cap = AN_HIST_MAX_BUCKETS;
	uint64_t *b = realloc(h->b, cap * sizeof(*b));
	if (!b)
		return -1;
	memset(b + h->n, 0, (cap - h->n) * sizeof(*b));
	h->b = b;
	h->n = cap;
	return 0;
}

static inline int an_hist_add(struct an_hist *h, uint64_t v, uint64_t count)
{
	uint32_t i = an_hist_bucket(v);
	if (__builtin_expect(i >= h->n, 0) && an_hist_grow(h, i + 1))
		return -1;
	h->b[i] += count;
	return 0;
}

/* The p-quantile (0 < p <= 1, nearest rank) of `total` values: the middle
 * of its bucket, clamped to [min, max]. */
static inline uint64_t an_hist_quantile(const struct an_hist *h, uint64_t total, double p,
					uint64_t min, uint64_t max)
{
	uint64_t rank = (uint64_t)(p * (double)total);
	if ((double)rank < p * (double)total)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t low, width;
			an_hist_range(i, &low, &width);
			uint64_t v = low + width / 2;
			return v < min ? min : v > max ? max : v;
		}
	}
	return max;
}

#endif
