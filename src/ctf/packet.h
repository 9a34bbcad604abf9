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

/*
 * Event header, as LTTng's "compact" one: a 5-bit id with a 27-bit
 * timestamp (4 bytes), or id 31 followed by a 32-bit id and a 64-bit
 * timestamp (13 bytes). The compact form is valid when the timestamp's bits
 * above the low 27 equal those of the previous event of the packet (or of
 * the packet's timestamp_begin): readers rebuild the full value from them.
 */
#define REEL_CTF_COMPACT_ID_MAX 30u
#define REEL_CTF_EXTENDED_ID 31u
#define REEL_CTF_COMPACT_TS_BITS 27
#define REEL_CTF_HEADER_COMPACT 4u
#define REEL_CTF_HEADER_EXTENDED 13u

static inline uint32_t reel_ctf_event_header_size(uint32_t id, uint64_t ts, uint64_t prev_ts)
{
	return (id <= REEL_CTF_COMPACT_ID_MAX && ((ts ^ prev_ts) >> REEL_CTF_COMPACT_TS_BITS) == 0) ?
		       REEL_CTF_HEADER_COMPACT :
		       REEL_CTF_HEADER_EXTENDED;
}

static inline void reel_ctf_event_header_write(char *dst, uint32_t header_size, uint32_t id,
					       uint64_t ts)
{
	if (header_size == REEL_CTF_HEADER_COMPACT) {
		uint32_t word = id | (uint32_t)(ts << 5);
		memcpy(dst, &word, 4);
	} else {
		dst[0] = (char)REEL_CTF_EXTENDED_ID;
		memcpy(dst + 1, &id, 4);
		memcpy(dst + 5, &ts, 8);
	}
}

#endif
