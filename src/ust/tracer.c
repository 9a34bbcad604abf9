/* SPDX-License-Identifier: MIT */
/*
 * tracer: what tracepoint probes call into. The common case runs inline in
 * the probe (<reel/abi.h>, on the channel view of each target); this is the
 * rest: the ring buffer's slow path (opening and closing packets, full
 * buffers, drops) and the wake-up of the consumer.
 *
 * Nesting (a signal handler that traces while the thread it interrupted is
 * inside a reservation) needs nothing here: the reservation is one atomic
 * step, the interrupting event lands after the interrupted one, and the
 * sub-buffer completes when both have committed.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "ust-local.h"

static uint32_t current_cpu(void)
{
	int32_t cpu = reel__rseq_cpu();
	if (likely(cpu >= 0))
		return (uint32_t)cpu;
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (uint32_t)cpu;
}

int reel_event_reserve(struct reel_event_ctx *ctx, const struct reel_event_target *target,
		       size_t payload_size)
{
	/* The probe's acquire of the target list covers the channel, which
	 * was complete before any list naming it was published. */
	struct reel_channel *channel = reel_ust_channel_of(target->view);
	uint32_t cpu = current_cpu();
	struct reel_rb *rb = channel->streams[likely(cpu < channel->nr_streams) ?
						      cpu :
						      cpu % channel->nr_streams];
	return reel_rb_reserve(rb, target->id, payload_size, ctx) == 0 ? 0 : -1;
}

void reel_event_commit(struct reel_event_ctx *ctx)
{
	reel__event_commit(ctx);
}
