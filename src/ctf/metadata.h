/* SPDX-License-Identifier: MIT */
/*
 * TSDL (CTF 1.8 metadata) for the stream layout of packet.h: the trace,
 * clock and stream declarations, then one declaration per event. Output is
 * plain-text metadata, appended to as events are registered.
 */
#ifndef REEL_CTF_METADATA_H
#define REEL_CTF_METADATA_H

#include <stdint.h>

#include <reel/abi.h>

#include "../common/clock.h"
#include "../common/strbuf.h"

struct reel_ctf_env_entry {
	const char *key;
	const char *str; /* a string value, or NULL for `num` */
	int64_t num;
};

struct reel_ctf_trace_desc {
	uint8_t uuid[16];
	const struct reel_clock_desc *clock;
	const struct reel_ctf_env_entry *env;
	unsigned int nr_env;
};

/* Trace, env, clock, event header and stream (id 0). */
int reel_ctf_metadata_header(struct reel_strbuf *out, const struct reel_ctf_trace_desc *trace)
	REEL_HIDDEN;

/* One event declaration of stream 0, with the id the registry gave it. */
int reel_ctf_metadata_event(struct reel_strbuf *out, const struct reel_event_desc *event)
	REEL_HIDDEN;

/* Text form of a UUID. */
void reel_ctf_uuid_string(const uint8_t uuid[16], char ret[37]) REEL_HIDDEN;

#endif
