/* Tracepoint provider of the demo application: what a user writes. */
#ifndef DEMO_TP_H
#define DEMO_TP_H

#include <reel/tracepoint.h>

REEL_ENUM(demo, status,
	reel_enum_value("OK", 200)
	reel_enum_value("NOT_FOUND", 404)
	reel_enum_range("SERVER_ERROR", 500, 599))

REEL_EVENT(demo, request_begin, REEL_LOGLEVEL_INFO,
	(uint64_t id, const char *path, const uint8_t *client_ip),
	reel_field_integer(uint64_t, id, id)
	reel_field_string(path, path)
	reel_field_array(uint8_t, client_ip, client_ip, 4))

REEL_EVENT(demo, request_end, REEL_LOGLEVEL_INFO,
	(uint64_t id, int status, uint32_t bytes, double seconds, const uint16_t *chunks,
	 size_t nr_chunks),
	reel_field_integer(uint64_t, id, id)
	reel_field_enum(demo, status, int16_t, status, status)
	reel_field_integer_hex(uint32_t, bytes, bytes)
	reel_field_float(double, seconds, seconds)
	reel_field_sequence(uint16_t, chunks, chunks, nr_chunks))

REEL_EVENT(demo, tick, REEL_LOGLEVEL_DEBUG,
	(int32_t n),
	reel_field_integer(int32_t, n, n))

#endif
