/* SPDX-License-Identifier: MIT */
/* Tracepoint provider of the benchmark, Reel side. Must declare the same
 * events and fields as bench-tp-lttng.h. */
#ifndef BENCH_TP_REEL_H
#define BENCH_TP_REEL_H

#include <reel/tracepoint.h>

REEL_EVENT(benchp, one_int, REEL_LOGLEVEL_INFO,
	(int32_t v),
	reel_field_integer(int32_t, v, v))

REEL_EVENT(benchp, four_u64_str, REEL_LOGLEVEL_INFO,
	(uint64_t a, uint64_t b, uint64_t c, uint64_t d, const char *s),
	reel_field_integer(uint64_t, a, a)
	reel_field_integer(uint64_t, b, b)
	reel_field_integer(uint64_t, c, c)
	reel_field_integer(uint64_t, d, d)
	reel_field_string(s, s))

#endif
