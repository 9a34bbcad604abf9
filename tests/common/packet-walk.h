/* SPDX-License-Identifier: MIT */
/*
 * Test helper: walk the events of one packet produced by the ring buffer,
 * decoding event headers as a CTF reader does (compact timestamps rebuilt
 * from the previous value). Payload sizes come from the caller, since only
 * the test knows what it recorded.
 */
#ifndef REEL_TESTS_PACKET_WALK_H
#define REEL_TESTS_PACKET_WALK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctf/packet.h"

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

struct walked_event {
	uint32_t id;
	uint64_t ts;
	const char *payload;
	uint32_t header_size;
};

/* Returns the payload size of an event of `id` starting at `payload`. */
typedef uint32_t (*payload_size_fn)(uint32_t id, const char *payload);
typedef void (*event_fn)(const struct walked_event *ev, void *arg);

/* Decode every event of the packet; returns how many, and checks that the
 * packet's layout is consistent (sizes, timestamps within bounds). */
static inline unsigned int walk_packet(const char *data, uint32_t size, payload_size_fn sizer,
				       event_fn fn, void *arg)
{
	struct reel_ctf_packet hdr;
	CHECK(size >= sizeof(hdr));
	memcpy(&hdr, data, sizeof(hdr));
	CHECK(hdr.magic == REEL_CTF_MAGIC);
	CHECK(hdr.content_size == (uint64_t)size * 8);
	CHECK(hdr.packet_size == hdr.content_size);
	CHECK(hdr.timestamp_end >= hdr.timestamp_begin);
	uint64_t clock = hdr.timestamp_begin;
	uint32_t pos = sizeof(hdr);
	unsigned int n = 0;
	while (pos < size) {
		struct walked_event ev;
		uint8_t first = (uint8_t)data[pos];
		if ((first & 31) == REEL_CTF_EXTENDED_ID) {
			CHECK(pos + REEL_CTF_HEADER_EXTENDED <= size);
			memcpy(&ev.id, data + pos + 1, 4);
			memcpy(&ev.ts, data + pos + 5, 8);
			ev.header_size = REEL_CTF_HEADER_EXTENDED;
		} else {
			uint32_t word;
			CHECK(pos + 4 <= size);
			memcpy(&word, data + pos, 4);
			ev.id = word & 31;
			uint64_t low = word >> 5, mask = (1ull << REEL_CTF_COMPACT_TS_BITS) - 1;
			uint64_t ts = (clock & ~mask) | low;
			if (low < (clock & mask))
				ts += mask + 1;
			ev.ts = ts;
			ev.header_size = REEL_CTF_HEADER_COMPACT;
		}
		CHECK(ev.ts >= clock);
		CHECK(ev.ts <= hdr.timestamp_end);
		clock = ev.ts;
		ev.payload = data + pos + ev.header_size;
		uint32_t len = sizer(ev.id, ev.payload);
		CHECK(pos + ev.header_size + len <= size);
		if (fn)
			fn(&ev, arg);
		pos += ev.header_size + len;
		n++;
	}
	CHECK(pos == size);
	return n;
}

static inline struct reel_ctf_packet packet_header(const char *data)
{
	struct reel_ctf_packet hdr;
	memcpy(&hdr, data, sizeof(hdr));
	return hdr;
}

#endif
