/* SPDX-License-Identifier: MIT */
/*
 * The binary layout of Reel's CTF 1.8 streams: packet header and context,
 * event headers. The ring buffer fills these in place, so that a complete
 * sub-buffer is a packet as it lies on disk; metadata.c declares the same
 * layout in TSDL. doc/ctf-layout.md describes it.
 *
 * Everything is byte-aligned and in the host's byte order.
 */
#ifndef REEL_CTF_PACKET_H
#define REEL_CTF_PACKET_H

#include <stdint.h>
#include <string.h>

#include <reel/abi.h>

#define REEL_CTF_MAGIC 0xC1FC1FC1u

/* Packet header followed by packet context. */
struct reel_ctf_packet {
	/* trace.packet.header */
	uint32_t magic;
	uint8_t uuid[16];
	uint32_t stream_id;
	uint64_t stream_instance_id;
	/* stream.packet.context; the first four are written by whoever opens
	 * the packet, the others by whoever closes it. */
	uint64_t timestamp_begin;
	uint64_t packet_seq_num;
	uint32_t cpu_id;
	uint64_t timestamp_end;
	uint64_t content_size;     /* bits */
	uint64_t packet_size;      /* bits */
	uint64_t events_discarded; /* since the stream began */
} __attribute__((packed));

#define REEL_CTF_PACKET_HEADER_SIZE ((uint32_t)sizeof(struct reel_ctf_packet))
_Static_assert(sizeof(struct reel_ctf_packet) == 84, "packet header layout");

/* An empty packet standing for packet `seq` of the stream of `like` (a
 * packet read later), stamped at its beginning: written before a stream's
 * first packet when older ones were overwritten before they could be
 * read, so that readers see the gap and report the lost packets. */
static inline void reel_ctf_packet_placeholder(struct reel_ctf_packet *ret,
					       const struct reel_ctf_packet *like, uint64_t seq)
{
	*ret = *like;
	ret->packet_seq_num = seq;
	ret->timestamp_end = ret->timestamp_begin;
	ret->content_size = ret->packet_size = (uint64_t)sizeof(*ret) * 8;
	ret->events_discarded = 0;
}

/* Event headers: encoded by the inline fast path of <reel/abi.h>, which
 * applications compile; these names are the CTF writer's. */
#define REEL_CTF_COMPACT_ID_MAX REEL__COMPACT_ID_MAX
#define REEL_CTF_EXTENDED_ID REEL__EXTENDED_ID
#define REEL_CTF_COMPACT_TS_BITS REEL__COMPACT_TS_BITS
#define REEL_CTF_HEADER_COMPACT REEL__HEADER_COMPACT
#define REEL_CTF_HEADER_EXTENDED REEL__HEADER_EXTENDED
#define reel_ctf_event_header_size reel__event_header_size
#define reel_ctf_event_header_write reel__event_header_write

#endif
