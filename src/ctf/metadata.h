/* SPDX-License-Identifier: MIT */
/*
 * TSDL (CTF 1.8 metadata) for the stream layout of packet.h: the trace,
 * clock and stream declarations, then one declaration per event. Output is
 * plain-text metadata, appended to as events are registered.
 */
#ifndef REEL_CTF_METADATA_H
#define REEL_CTF_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include <reel/abi.h>

#include "../common/clock.h"
#include "../common/strbuf.h"

struct reel_ctf_env_entry {
	const char *key;
	const char *str; /* a string value, or NULL for `num` */
	int64_t num;
};

/* A stream context of the kernel domain only: the task id (LTTng's
 * kernel `tid` context), int32, after the userspace ones. */
#define REEL_CTF_CONTEXT_KERNEL_TID 0x80000000u

struct reel_ctf_trace_desc {
	uint8_t uuid[16];
	const struct reel_clock_desc *clock;
	const struct reel_ctf_env_entry *env;
	unsigned int nr_env;
	uint32_t nr_streams; /* stream classes 0..n-1 (0: one) */
	/* Per stream class, the REEL_CONTEXT_* its events carry; NULL: none. */
	const uint32_t *stream_contexts;
};

/* Trace, env, clock, event header and the stream classes. */
int reel_ctf_metadata_header(struct reel_strbuf *out, const struct reel_ctf_trace_desc *trace)
	REEL_HIDDEN;

/* One event declaration of stream 0, with the id the registry gave it. */
int reel_ctf_metadata_event(struct reel_strbuf *out, const struct reel_event_desc *event)
	REEL_HIDDEN;

/* The same with the event's id and stream class given. */
int reel_ctf_metadata_event_in(struct reel_strbuf *out, const struct reel_event_desc *event,
			       uint32_t id, uint32_t stream_id) REEL_HIDDEN;

/* True when `event` can be described: field kinds and sizes, enumeration
 * ranges, names (length, uniqueness once prefixed). */
bool reel_ctf_event_is_valid(const struct reel_event_desc *event) REEL_HIDDEN;

/* The size of an event payload of these fields recorded at `payload`
 * (`avail` bytes there), as the probes of <reel/tracepoint.h> lay it out.
 * Returns 0, or -EBADMSG when it does not fit in `avail`. */
int reel_ctf_payload_size(const struct reel_field_desc *fields, size_t nr_fields,
			  const char *payload, size_t avail, size_t *ret) REEL_HIDDEN;

/* Text form of a UUID. */
void reel_ctf_uuid_string(const uint8_t uuid[16], char ret[37]) REEL_HIDDEN;

#endif
