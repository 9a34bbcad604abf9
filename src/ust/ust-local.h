/* SPDX-License-Identifier: MIT */
/* Shared by the files of libreel-ust; nothing outside src/ust uses it. */
#ifndef REEL_UST_LOCAL_H
#define REEL_UST_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <reel/abi.h>

#include "../common/compiler.h"
#include "../common/strbuf.h"
#include "../ringbuf/ringbuf.h"

/* One channel: a ring buffer per possible CPU. Never freed once published
 * (see reel_ust_publish()); a later session with the same geometry reuses
 * a stopped one. */
struct reel_channel {
	struct reel_rb **streams;
	uint32_t nr_streams;
	struct reel_channel_view view; /* published in reel_ust_view */
	uint32_t subbuf_size;
	uint32_t num_subbuf;
	bool overwrite;
	/* Consumer wake-up: bumped by writers completing a packet; a futex
	 * the consumer sleeps on while `sleeping`. */
	uint32_t wake_word;
	uint32_t sleeping;
	struct reel_channel *retired_next; /* once its session stopped */
};

/* Publish `channel` (or NULL: tracing off) to writers, through its view
 * (reel_ust_view), which the probes' inline fast path and the library's
 * slow path both read. A channel, once published, stays mapped until the
 * process exits: a writer preempted inside a reservation may still use it. */
static inline void reel_ust_publish(struct reel_channel *channel)
{
	/* Release: pairs with the acquire loads of reel_ust_view. */
	store_release(&reel_ust_view, channel ? &channel->view : NULL);
}

/* The channel a published view belongs to. */
static inline struct reel_channel *reel_ust_channel_of(struct reel_channel_view *view)
{
	return (struct reel_channel *)((char *)view - offsetof(struct reel_channel, view));
}

/* ---- registry.c ---- */

/* Enable the registered events matching `globs` (comma-separated
 * "provider:event" patterns; NULL for all), and those registered later. */
void reel_registry_enable(const char *globs) REEL_HIDDEN;
/* Disable every event, now and for events registered later. */
void reel_registry_disable(void) REEL_HIDDEN;
/* Append to `out` the metadata of the events registered since `*cursor`
 * (a byte offset into the registry's declarations; start at 0) and advance
 * it. Returns 0 or -ENOMEM. */
int reel_registry_metadata(struct reel_strbuf *out, size_t *cursor) REEL_HIDDEN;
/* fork() handling: hold the registry lock across fork. */
void reel_registry_lock(void) REEL_HIDDEN;
void reel_registry_unlock(void) REEL_HIDDEN;

#endif
