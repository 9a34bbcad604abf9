/* SPDX-License-Identifier: MIT */
/* Tracepoint provider of the benchmark, LTTng-UST side (2.x API): the same
 * events and fields as bench-tp-reel.h. The probes are instantiated in
 * bench-lttng-probes.c. */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER benchp

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "bench-tp-lttng.h"

#if !defined(BENCH_TP_LTTNG_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_TP_LTTNG_H

#include <stdint.h>
#include <lttng/tracepoint.h>

TRACEPOINT_EVENT(benchp, one_int,
	TP_ARGS(int32_t, v),
	TP_FIELDS(ctf_integer(int32_t, v, v)))

TRACEPOINT_EVENT(benchp, four_u64_str,
	TP_ARGS(uint64_t, a, uint64_t, b, uint64_t, c, uint64_t, d, const char *, s),
	TP_FIELDS(ctf_integer(uint64_t, a, a)
		  ctf_integer(uint64_t, b, b)
		  ctf_integer(uint64_t, c, c)
		  ctf_integer(uint64_t, d, d)
		  ctf_string(s, s)))

#endif

#include <lttng/tracepoint-event.h>
