/* SPDX-License-Identifier: MIT */
/*
 * tracer: the entry points that tracepoint probes call. Picks the calling
 * CPU's buffer and guards against runaway nesting; the ring buffer does the
 * rest.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/rseq.h>

#include "ust-local.h"

/* Signal handlers may trace while the thread they interrupt is inside a
 * reservation; deeper nesting than this is a loop, and is dropped. */
#define MAX_NESTING 4

struct reel_channel *reel_ust_channel;

static __thread int nesting __attribute__((tls_model("initial-exec")));

/* The CPU the thread runs on: glibc's rseq area holds it, kept current by
 * the kernel, a plain load away. */
static inline uint32_t current_cpu(void)
{
	if (likely(__rseq_size > 0)) {
		const struct rseq *rs =
			(const struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
		int32_t cpu = (int32_t)READ_ONCE(rs->cpu_id);
		if (likely(cpu >= 0))
			return (uint32_t)cpu;
	}
	int cpu = sched_getcpu();
	return cpu < 0 ? 0 : (uint32_t)cpu;
}

int reel_event_reserve(struct reel_event_ctx *ctx, const struct reel_event_desc *desc,
		       size_t payload_size)
{
	/* Acquire: pairs with the store_release that publishes the channel
	 * after its buffers are initialized. */
	struct reel_channel *channel = load_acquire(&reel_ust_channel);
	if (unlikely(!channel))
		return -1;
	uint32_t cpu = current_cpu();
	struct reel_rb *rb = channel->streams[likely(cpu < channel->nr_streams) ?
						      cpu :
						      cpu % channel->nr_streams];
	if (unlikely(nesting >= MAX_NESTING)) {
		reel_rb_count_lost(rb, &rb->shm->lost_nest);
		return -1;
	}
	nesting++;
	struct reel_rb_ctx rctx;
	if (unlikely(reel_rb_reserve(rb, desc->id, payload_size, &rctx) != 0)) {
		nesting--;
		return -1;
	}
	ctx->pos = rctx.pos;
	ctx->priv_stream = rb;
	ctx->priv_commit = reel_rb_commit_counter(rb, rctx.begin);
	ctx->priv_len = rctx.len;
	return 0;
}

void reel_event_commit(struct reel_event_ctx *ctx)
{
	reel_rb_commit_to(ctx->priv_stream, ctx->priv_commit, ctx->priv_len);
	nesting--;
}
