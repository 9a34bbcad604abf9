/* SPDX-License-Identifier: MIT */
/*
 * ringbuf: one stream's lock-free ring buffer of sub-buffers in shared
 * memory. Owns the write/commit/consume protocol and the in-place CTF packet
 * header and context; calls only src/ctf/packet.h and src/common.
 *
 * Layout of the memfd (offsets, never pointers; see doc/ringbuf.md):
 *   struct reel_rb_shm | commit counters, one cache line each | data
 *
 * Positions are 64-bit byte counts that only grow. Sub-buffer k of
 * generation g covers positions [(g*N + k)*S, (g*N + k + 1)*S). Its commit
 * counter counts bytes committed into it since creation, so generation g is
 * complete exactly when the counter reaches (g + 1)*S.
 *
 * Writers: any thread, any CPU, signal handlers included. A reservation is
 * one 16-byte compare-and-swap on {write position, last timestamp}: a
 * timestamp is never below the last one, so it never goes backwards in
 * buffer order, which keeps the compact event header exact. No lock, no
 * system call. The common case is inlined in applications' probes
 * (reel__stream_reserve() in <reel/abi.h>).
 *
 * Reader: one consumer thread (or process) at a time.
 */
#ifndef REEL_RINGBUF_H
#define REEL_RINGBUF_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/clock.h"
#include "../common/compiler.h"
#include "../ctf/packet.h"

#define REEL_RB_MAGIC 0x5245454cu /* "REEL" */
#define REEL_RB_ABI_VERSION 2u

#define REEL_RB_OVERWRITE 0x1u
#define REEL_RB_CLOCK_MONOTONIC 0x2u /* timestamps are CLOCK_MONOTONIC ns, not TSC cycles */

struct reel_rb_shm {
	/* Identity, written once at creation and checked by whoever maps it. */
	uint32_t magic;
	uint32_t abi_version;
	uint32_t header_size; /* sizeof(struct reel_rb_shm) */
	uint32_t subbuf_size;
	uint32_t num_subbuf;
	uint32_t flags;
	uint64_t commit_offset; /* from the start of the mapping */
	uint64_t data_offset;
	uint64_t map_size;
	uint8_t trace_uuid[16];
	uint32_t stream_id;
	uint32_t cpu;

	/* Writer-hot: changed by every reservation, as one 16-byte unit. */
	union {
		unsigned __int128 pair;
		struct {
			uint64_t offset;  /* next byte to reserve */
			uint64_t last_ts; /* timestamp of the last reservation */
		} w;
	} write REEL_ALIGN_CACHELINE;

	/* Events dropped, by cause; written rarely. */
	uint64_t lost_full REEL_ALIGN_CACHELINE; /* discard mode: no free sub-buffer */
	uint64_t lost_wrap;  /* overwrite mode: oldest sub-buffer still being written */
	uint64_t lost_big;   /* larger than a sub-buffer */
	uint64_t lost_reported; /* highest count written into a packet context */
	/* Where the current trace began (reel_rb_rebase()): its first packet
	 * and the loss total at that point, which its packets count from. */
	uint64_t base_offset;
	uint64_t lost_base;
	/* Set by the consumer to stop tracing into the buffer: no new packet
	 * opens (reservations fail, uncounted) until it is cleared. */
	uint32_t closed;

	/* Consumer-hot. */
	uint64_t consumed REEL_ALIGN_CACHELINE; /* start of the oldest unread sub-buffer */
};

struct reel_rb_commit {
	uint64_t count;
} REEL_ALIGN_CACHELINE;

_Static_assert(offsetof(struct reel_rb_shm, write) % REEL_CACHELINE == 0, "writer line");
_Static_assert(offsetof(struct reel_rb_shm, consumed) % REEL_CACHELINE == 0, "consumer line");
_Static_assert(offsetof(struct reel_rb_shm, consumed) - offsetof(struct reel_rb_shm, write) >=
		       2 * REEL_CACHELINE,
	       "writer and consumer fields on separate cache lines");
_Static_assert(sizeof(struct reel_rb_commit) == REEL_CACHELINE, "one commit counter per line");

/* Called by the writer that completes a sub-buffer (rare path). */
typedef void (*reel_rb_deliver_fn)(void *arg);

/* The process-local handle. Geometry is copied out of shared memory once
 * validated, and only these copies are used to compute addresses. */
struct reel_rb {
	struct reel_stream_view view; /* what the inline fast path uses */
	struct reel_rb_shm *shm;
	struct reel_rb_commit *commit;
	char *data;
	uint64_t subbuf_size; /* S, a power of two */
	uint64_t buf_size;    /* N*S */
	uint32_t subbuf_shift; /* log2(S): positions are divided by shifting */
	uint32_t buf_shift;    /* log2(N*S) */
	uint32_t num_subbuf;  /* N, a power of two */
	bool overwrite;
	int fd;
	size_t map_size;
	reel_rb_deliver_fn deliver;
	void *deliver_arg;
};

struct reel_rb_config {
	uint32_t subbuf_size; /* power of two, >= 4096 */
	uint32_t num_subbuf;  /* power of two, >= 2 */
	bool overwrite;
	uint8_t trace_uuid[16];
	uint32_t stream_id;
	uint32_t cpu; /* stream_instance_id and cpu_id of its packets */
	reel_rb_deliver_fn deliver;
	void *deliver_arg;
};

/* Create a ring buffer in a new memfd. Returns NULL and sets errno. */
struct reel_rb *reel_rb_create(const struct reel_rb_config *config) REEL_HIDDEN;
/* Map the ring buffer another process created (memfd `fd`, which it
 * takes), after checking its header. Returns NULL and sets errno (EPROTO:
 * not a ring buffer of this version or of another clock). */
struct reel_rb *reel_rb_map(int fd, reel_rb_deliver_fn deliver, void *deliver_arg) REEL_HIDDEN;

/* Stop (`closed` true) or resume tracing into the buffer; see shm->closed. */
void reel_rb_set_closed(struct reel_rb *rb, bool closed) REEL_HIDDEN;

/* Give the shared memory back while writers may still hold the buffer: the
 * mapping is replaced by private zero pages that late writers scribble on
 * harmlessly, and the memfd is closed. The handle stays valid. */
void reel_rb_retire(struct reel_rb *rb) REEL_HIDDEN;

/* Unmap and close; accepts NULL. No writer may use it any more. */
void reel_rb_destroy(struct reel_rb *rb) REEL_HIDDEN;

/* ---- writer ---------------------------------------------------------- */

/* A reservation: struct reel_event_ctx of <reel/abi.h>, whose inline fast
 * path (reel__stream_reserve(), on rb->view) is the writer's fast path. */
int reel_rb_reserve_slow(struct reel_rb *rb, uint32_t id, size_t payload,
			 struct reel_event_ctx *ret) REEL_HIDDEN;

static inline bool reel_rb_cas_write(struct reel_rb *rb, uint64_t old_offset, uint64_t old_ts,
				     uint64_t new_offset, uint64_t new_ts)
{
	return reel__cas16(&rb->shm->write.pair, old_offset, old_ts, new_offset, new_ts);
}

/* The commit counter of the sub-buffer holding position `begin`. */
static inline uint64_t *reel_rb_commit_counter(struct reel_rb *rb, uint64_t begin)
{
	return &rb->commit[(begin >> rb->subbuf_shift) & (rb->num_subbuf - 1)].count;
}

/* Write the header of an event reserved at `begin` and say where its
 * payload goes. */
static inline void reel_rb_place_event(struct reel_rb *rb, uint64_t begin, uint32_t header,
				       uint32_t id, uint64_t ts, size_t payload,
				       struct reel_event_ctx *ret)
{
	char *dst = rb->data + (begin & (rb->buf_size - 1));
	reel_ctf_event_header_write(dst, header, id, ts);
	ret->pos = dst + header;
	ret->priv_stream = rb;
	ret->priv_commit = reel_rb_commit_counter(rb, begin);
	ret->priv_mask = rb->subbuf_size - 1;
	ret->priv_len = header + (uint32_t)payload;
}

/*
 * Reserve room for an event of `payload` bytes with id `id`, stamp it with
 * the clock and write its header. Returns 0, or -ENOBUFS (full, discard
 * mode), -EAGAIN (overwrite mode, oldest sub-buffer busy) or -EFBIG (larger
 * than a sub-buffer); every failure is counted in the buffer.
 */
static inline int reel_rb_reserve(struct reel_rb *rb, uint32_t id, size_t payload,
				  struct reel_event_ctx *ret)
{
	if (likely(reel__stream_reserve(&rb->view, id, payload, reel__tsc(), ret) == 0))
		return 0;
	return reel_rb_reserve_slow(rb, id, payload, ret);
}

void reel_rb_deliver_slow(struct reel_rb *rb) REEL_HIDDEN;

/* Account `len` bytes at position `begin` as written (packet headers and
 * padding, which the ring buffer writes itself). */
static inline void reel_rb_commit_bytes(struct reel_rb *rb, uint64_t begin, uint64_t len)
{
	/* Release: pairs with the consumer's load_acquire of the counter in
	 * reel_rb_get_packet(), which then sees the bytes written. */
	uint64_t count = __atomic_add_fetch(reel_rb_commit_counter(rb, begin), len,
					    __ATOMIC_RELEASE);
	if (unlikely((count & (rb->subbuf_size - 1)) == 0))
		reel_rb_deliver_slow(rb);
}

/* Publish an event reserved by reel_rb_reserve(). */
static inline void reel_rb_commit(struct reel_event_ctx *ctx)
{
	reel__event_commit(ctx);
}

/* Close the open packet, if any, so that the consumer can read it (switch
 * timer, flush at stop). Any thread. */
void reel_rb_switch(struct reel_rb *rb) REEL_HIDDEN;

/* When events were dropped since the last packet was closed, write an
 * empty packet that carries the final count. For the final flush, after
 * reel_rb_switch() and once the consumer has made room. Returns 0, or
 * -ENOBUFS when no sub-buffer is free yet. */
int reel_rb_flush_lost(struct reel_rb *rb) REEL_HIDDEN;

/* Events dropped since the trace began (reel_rb_rebase()), all causes. */
uint64_t reel_rb_lost_total(const struct reel_rb *rb) REEL_HIDDEN;

/* Start a new trace, `trace_uuid`, in a drained buffer: its next packet is
 * the first of a stream again (sequence numbers go on; loss counts start
 * from 0). Returns 0, or -EBUSY when the buffer is not drained. */
int reel_rb_rebase(struct reel_rb *rb, const uint8_t trace_uuid[16]) REEL_HIDDEN;

/* ---- consumer ---------------------------------------------------------- */

struct reel_rb_packet {
	const char *data; /* the packet, `size` bytes, valid until put */
	uint32_t size;
	uint64_t begin;   /* its position */
	bool copied;      /* data is the caller's copy buffer */
};

/*
 * Get the oldest complete packet. In overwrite mode the packet is copied
 * into `copy_buf` (subbuf_size bytes) and checked afterwards not to have
 * been overwritten meanwhile; in discard mode `data` points into the
 * buffer. Returns 0, -EAGAIN when the oldest sub-buffer is not complete
 * (or nothing was written), or -EBADMSG when the packet's context is
 * malformed (the packet is then skipped, as if put).
 */
int reel_rb_get_packet(struct reel_rb *rb, void *copy_buf, struct reel_rb_packet *ret) REEL_HIDDEN;

/* Release a packet from reel_rb_get_packet() so writers may reuse it. */
void reel_rb_put_packet(struct reel_rb *rb, const struct reel_rb_packet *packet) REEL_HIDDEN;

/* True when the oldest unread sub-buffer is closed (writers moved past it)
 * but not completely committed: a writer is inside a reservation there,
 * or died inside one. */
bool reel_rb_is_stalled(struct reel_rb *rb) REEL_HIDDEN;

/* The payload size of event `id` found at `payload` (`avail` bytes there);
 * returns 0, or a negative errno when it does not parse. */
typedef int (*reel_rb_event_size_fn)(void *arg, uint32_t id, const char *payload, size_t avail,
				     size_t *ret_size);

/*
 * Repair the oldest unread sub-buffer after a writer died inside a
 * reservation (its process was killed), which leaves its commit count
 * short forever: close the packet if it is open, walk its events with
 * `event_size`, cut the packet before the first event that does not parse
 * (the dead writer's, or what followed it), and complete the count so that
 * the consumer takes what was committed. A packet whose header the dead
 * writer never wrote is marked malformed (the consumer skips it). Only for
 * a buffer where a writer died: a live writer still inside its reservation
 * would later commit into a reused sub-buffer. Consumer thread. Returns 1
 * when a packet was repaired, 0 when none needed it.
 */
int reel_rb_repair(struct reel_rb *rb, reel_rb_event_size_fn event_size, void *arg) REEL_HIDDEN;

/*
 * Flight recorder: call `fn` with each complete packet still in the buffer,
 * oldest first, without consuming anything (writers go on). Each packet is
 * copied into `copy_buf` (subbuf_size bytes) and checked afterwards not to
 * have been overwritten meanwhile; those that were are skipped. Consumer
 * side; the caller switches the stream first to include the open packet.
 * Returns the number of packets given to `fn`.
 */
typedef void (*reel_rb_packet_fn)(void *arg, const char *packet, uint32_t size);
unsigned int reel_rb_snapshot(struct reel_rb *rb, void *copy_buf, reel_rb_packet_fn fn, void *arg)
	REEL_HIDDEN;

/* True when every reserved byte has been committed and consumed. */
bool reel_rb_is_drained(struct reel_rb *rb) REEL_HIDDEN;

#endif
