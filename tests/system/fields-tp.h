/* Provider of the end-to-end test application: every field kind. */
#ifndef FIELDS_TP_H
#define FIELDS_TP_H

#include <reel/tracepoint.h>

REEL_ENUM(fields, color,
	reel_enum_value("RED", 0)
	reel_enum_value("GREEN", 1)
	reel_enum_range("BLUE\"ISH", 2, 9)
	reel_enum_value("NEGATIVE", -5))

REEL_EVENT(fields, integers, REEL_LOGLEVEL_WARNING,
	(int8_t s8, int16_t s16, int32_t s32, int64_t s64, uint8_t u8, uint16_t u16, uint32_t u32,
	 uint64_t u64),
	reel_field_integer(int8_t, s8, s8)
	reel_field_integer(int16_t, s16, s16)
	reel_field_integer(int32_t, s32, s32)
	reel_field_integer(int64_t, s64, s64)
	reel_field_integer(uint8_t, u8, u8)
	reel_field_integer(uint16_t, u16, u16)
	reel_field_integer(uint32_t, u32, u32)
	reel_field_integer(uint64_t, u64, u64)
	reel_field_integer_hex(uint32_t, u32_hex, u32))

REEL_EVENT(fields, floats, REEL_LOGLEVEL_INFO,
	(float f, double d),
	reel_field_float(float, f, f)
	reel_field_float(double, d, d))

REEL_EVENT(fields, strings, REEL_LOGLEVEL_INFO,
	(const char *a, const char *b, const char *c),
	reel_field_string(a, a)
	reel_field_string(b, b)
	reel_field_string(c, c))

REEL_EVENT(fields, arrays, REEL_LOGLEVEL_DEBUG,
	(const int32_t *a, const uint8_t *seq, size_t n, const int64_t *seq64, size_t n64),
	reel_field_array(int32_t, a, a, 3)
	reel_field_sequence(uint8_t, seq, seq, n)
	reel_field_sequence(int64_t, seq64, seq64, n64))

REEL_EVENT(fields, enums, REEL_LOGLEVEL_INFO,
	(int c8, int c64),
	reel_field_enum(fields, color, int8_t, small, c8)
	reel_field_enum(fields, color, int64_t, wide, c64))

REEL_EVENT(fields, empty, REEL_LOGLEVEL_NOTICE, (void), )

REEL_EVENT(fields, cpu, REEL_LOGLEVEL_INFO,
	(int32_t pinned),
	reel_field_integer(int32_t, pinned, pinned))

REEL_EVENT(fields, seq, REEL_LOGLEVEL_INFO,
	(uint64_t n),
	reel_field_integer(uint64_t, n, n))

REEL_EVENT(fields, thread_seq, REEL_LOGLEVEL_INFO,
	(uint32_t thread, uint64_t n),
	reel_field_integer(uint32_t, thread, thread)
	reel_field_integer(uint64_t, n, n))

REEL_EVENT(fields, big, REEL_LOGLEVEL_INFO,
	(const char *text),
	reel_field_string(text, text))

#endif
