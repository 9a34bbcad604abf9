/*
 * A second translation unit of the test application, defining events
 * that must not be recorded: one defined differently than in fields-app.c
 * (the same name, another layout) and malformed ones that libreel-ust
 * rejects at registration.
 */
#include <reel/tracepoint.h>

void extra_emit(void);

REEL_EVENT(extra, conflict, REEL_LOGLEVEL_INFO,
	(int64_t v),
	reel_field_integer(int64_t, v, v))

/* An enumeration range upside down. */
REEL_ENUM(extra, backwards, reel_enum_range("BAD", 5, 1))
REEL_EVENT(extra, bad_enum, REEL_LOGLEVEL_INFO,
	(int v),
	reel_field_enum(extra, backwards, int32_t, v, v))

/* An enumeration value its container cannot hold. */
REEL_ENUM(extra, too_wide, reel_enum_value("BIG", 300))
REEL_EVENT(extra, bad_container, REEL_LOGLEVEL_INFO,
	(int v),
	reel_field_enum(extra, too_wide, uint8_t, v, v))

/* A field named as the length field of a sequence. */
REEL_EVENT(extra, bad_names, REEL_LOGLEVEL_INFO,
	(const uint8_t *d, size_t n),
	reel_field_sequence(uint8_t, data, d, n)
	reel_field_integer(uint32_t, _data_length, n))

void extra_emit(void)
{
	static const uint8_t d[2] = { 1, 2 };
	reel_tracepoint(extra, conflict, 1);
	reel_tracepoint(extra, bad_enum, 2);
	reel_tracepoint(extra, bad_container, 3);
	reel_tracepoint(extra, bad_names, d, 2);
}
