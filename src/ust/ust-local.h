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
 * (a writer preempted inside a reservation may still use it); a later
 * session with the same geometry reuses
 * a stopped one. */
struct reel_channel {
	struct reel_rb **streams;
	uint32_t nr_streams;
	struct reel_channel_view view; /* what event targets name */
	uint32_t subbuf_size;
	uint32_t num_subbuf;
	bool overwrite;
	/* Consumer wake-up: bumped by writers completing a packet; a futex
	 * the consumer sleeps on while `sleeping`. */
	uint32_t wake_word;
	uint32_t sleeping;
	struct reel_channel *retired_next; /* once its session stopped */
};

/* The channel a view belongs to. */
static inline struct reel_channel *reel_ust_channel_of(const struct reel_channel_view *view)
{
	return (struct reel_channel *)((char *)view - offsetof(struct reel_channel, view));
}

/* ---- registry.c ---- */

/* The most channels one event can be recorded into at once. */
#define REEL_MAX_TARGETS 64

/* Standalone mode: record the registered events matching `globs`
 * (comma-separated "provider:event" patterns; NULL for all), and those
 * registered later, into the channel of `view`. */
void reel_registry_enable(const char *globs, const struct reel_channel_view *view) REEL_HIDDEN;
/* Disable every event, now and for events registered later. */
void reel_registry_disable(void) REEL_HIDDEN;
/* Under a daemon: record event `id` into these channels (nr = 0: none).
 * Returns 0, -EINVAL (unknown id), -E2BIG or -ENOMEM. */
int reel_registry_set_targets(uint32_t id, const struct reel_event_target *targets, uint32_t nr)
	REEL_HIDDEN;
/* Stop recording anything into the channel of `view`. */
void reel_registry_drop_view(const struct reel_channel_view *view) REEL_HIDDEN;
/* Call `fn` once for each event id from `from_id` on (one description per
 * id), under the registry's lock; then set `*ret_next` to the next id to
 * ask for. Stops at and returns the first non-zero return of `fn`. */
typedef int (*reel_registry_describe_fn)(const struct reel_event_desc *desc, void *arg);
int reel_registry_describe(uint32_t from_id, reel_registry_describe_fn fn, void *arg,
			   uint32_t *ret_next) REEL_HIDDEN;

/* ---- control.c ---- */

/* An event with a new id registered: when connected to a daemon, send it
 * and wait (REEL_REGISTER_TIMEOUT ms at most) for its enablement. */
void reel_control_sync(void) REEL_HIDDEN;

/* statedump.c: lttng_ust_statedump:* events of this process (its name,
 * its loaded objects). */
void reel_ust_statedump(void) REEL_HIDDEN;
/* Append to `out` the metadata of the events registered since `*cursor`
 * (a byte offset into the registry's declarations; start at 0) and advance
 * it. Returns 0 or -ENOMEM. */
int reel_registry_metadata(struct reel_strbuf *out, size_t *cursor) REEL_HIDDEN;
/* fork() handling: hold the registry lock across fork. */
void reel_registry_lock(void) REEL_HIDDEN;
void reel_registry_unlock(void) REEL_HIDDEN;

#endif
