/* SPDX-License-Identifier: MIT */
/* LTTng-UST tracepoints of every field kind, for reading real LTTng traces
 * in tests (test_view.py). LTTng 2.13 API. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER reeltest

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lttng-tp.h"

#if !defined(REEL_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define REEL_LTTNG_TP_H

#include <stddef.h>
#include <stdint.h>
#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_ENUM(reeltest, color,
	LTTNG_UST_TP_ENUM_VALUES(
		lttng_ust_field_enum_value("RED", 0)
		lttng_ust_field_enum_value("GREEN", 1)
		lttng_ust_field_enum_range("MANY", 10, 20)
		lttng_ust_field_enum_value("NEG", -3)))

LTTNG_UST_TRACEPOINT_EVENT(reeltest, ints,
	LTTNG_UST_TP_ARGS(int64_t, s, uint64_t, u, int8_t, s8, uint16_t, u16),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int64_t, s, s)
		lttng_ust_field_integer(uint64_t, u, u)
		lttng_ust_field_integer(int8_t, s8, s8)
		lttng_ust_field_integer(uint16_t, u16, u16)
		lttng_ust_field_integer_hex(uint32_t, hex, (uint32_t)u)
		lttng_ust_field_integer_hex(int8_t, shex, s8)
		lttng_ust_field_integer_network(uint32_t, net, (uint32_t)u)
		lttng_ust_field_integer_network_hex(uint16_t, nethex, u16)))

LTTNG_UST_TRACEPOINT_EVENT(reeltest, floats,
	LTTNG_UST_TP_ARGS(float, f, double, d),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_float(float, f, f)
		lttng_ust_field_float(double, d, d)))

LTTNG_UST_TRACEPOINT_EVENT(reeltest, strings,
	LTTNG_UST_TP_ARGS(const char *, s, size_t, n),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_string(s, s)
		lttng_ust_field_array_text(char, text, s, 8)
		lttng_ust_field_sequence_text(char, seqtext, s, size_t, n)))

LTTNG_UST_TRACEPOINT_EVENT(reeltest, arrays,
	LTTNG_UST_TP_ARGS(const int32_t *, a, size_t, n),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_array(int32_t, arr, a, 3)
		lttng_ust_field_array_hex(int32_t, arrhex, a, 2)
		lttng_ust_field_sequence(int32_t, seq, a, size_t, n)
		lttng_ust_field_sequence_hex(int32_t, seqhex, a, uint8_t, n)))

LTTNG_UST_TRACEPOINT_EVENT(reeltest, enums,
	LTTNG_UST_TP_ARGS(int, c),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_enum(reeltest, color, int, color, c)
		lttng_ust_field_enum(reeltest, color, int8_t, small, c)))

LTTNG_UST_TRACEPOINT_EVENT(reeltest, empty,
	LTTNG_UST_TP_ARGS(),
	LTTNG_UST_TP_FIELDS())

#endif

#include <lttng/tracepoint-event.h>
