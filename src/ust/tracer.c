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
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ust-local.h"

static uint32_t current_cpu(void)
{
	int32_t cpu = reel__rseq_cpu();
	if (likely(cpu >= 0))
		return (uint32_t)cpu;
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (uint32_t)cpu;
}

/* Per thread, cached: what the context fields record. Reset in a fork
 * child (and the name when the thread renames itself: not followed). */
static __thread int32_t cached_tid;
static __thread char cached_name[17];
static __thread uint32_t cached_name_len; /* with its NUL; 0: not cached */
static int32_t cached_pid;

static void reset_after_fork(void)
{
	cached_pid = 0;
	cached_tid = 0;
}

__attribute__((constructor)) static void tracer_init(void)
{
	pthread_atfork(NULL, NULL, reset_after_fork);
}

static size_t context_size(uint32_t context)
{
	size_t size = 0;
	if (context & REEL_CONTEXT_VPID)
		size += 4;
	if (context & REEL_CONTEXT_VTID)
		size += 4;
	if (context & REEL_CONTEXT_PROCNAME) {
		if (!cached_name_len) {
			if (prctl(PR_GET_NAME, cached_name) < 0)
				strcpy(cached_name, "unknown");
			cached_name[16] = '\0';
			cached_name_len = (uint32_t)strlen(cached_name) + 1;
		}
		size += cached_name_len;
	}
	if (context & REEL_CONTEXT_PTHREAD_ID)
		size += 8;
	if (context & REEL_CONTEXT_CPU_ID)
		size += 4;
	return size;
}

static char *write_context(char *pos, uint32_t context, uint32_t cpu)
{
	if (context & REEL_CONTEXT_VPID) {
		if (!cached_pid)
			cached_pid = (int32_t)getpid();
		memcpy(pos, &cached_pid, 4);
		pos += 4;
	}
	if (context & REEL_CONTEXT_VTID) {
		if (!cached_tid)
			cached_tid = (int32_t)syscall(SYS_gettid);
		memcpy(pos, &cached_tid, 4);
		pos += 4;
	}
	if (context & REEL_CONTEXT_PROCNAME) {
		memcpy(pos, cached_name, cached_name_len);
		pos += cached_name_len;
	}
	if (context & REEL_CONTEXT_PTHREAD_ID) {
		uint64_t self = (uint64_t)pthread_self();
		memcpy(pos, &self, 8);
		pos += 8;
	}
	if (context & REEL_CONTEXT_CPU_ID) {
		memcpy(pos, &cpu, 4);
		pos += 4;
	}
	return pos;
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
	if (likely(!target->context))
		return reel_rb_reserve(rb, target->id, payload_size, ctx) == 0 ? 0 : -1;
	/* Context fields go between the header and the payload. */
	size_t context = context_size(target->context);
	if (reel_rb_reserve(rb, target->id, context + payload_size, ctx) != 0)
		return -1;
	ctx->pos = write_context(ctx->pos, target->context, cpu);
	return 0;
}

void reel_event_commit(struct reel_event_ctx *ctx)
{
	reel__event_commit(ctx);
}
