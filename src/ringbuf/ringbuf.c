/* SPDX-License-Identifier: MIT */
/* ringbuf: creation, the slow paths of the writer, and the consumer side.
 * See ringbuf.h for the protocol. */
#define _GNU_SOURCE
#include "ringbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACKET_HEADER REEL_CTF_PACKET_HEADER_SIZE

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* The process-local copies of the geometry, from which alone addresses
 * are computed. */
static void setup_local(struct reel_rb *rb, void *map, uint64_t commit_offset,
			uint64_t data_offset, uint64_t map_size, uint32_t subbuf_size,
			uint32_t num_subbuf)
{
	uint64_t data_size = (uint64_t)subbuf_size * num_subbuf;
	rb->map_size = map_size;
	rb->shm = map;
	rb->commit = (struct reel_rb_commit *)((char *)map + commit_offset);
	rb->data = (char *)map + data_offset;
	rb->subbuf_size = subbuf_size;
	rb->num_subbuf = num_subbuf;
	rb->buf_size = data_size;
	rb->subbuf_shift = (uint32_t)__builtin_ctzll(subbuf_size);
	rb->buf_shift = (uint32_t)__builtin_ctzll(data_size);
	rb->view = (struct reel_stream_view){
		.write = &rb->shm->write.pair,
		.data = rb->data,
		.commit = (char *)rb->commit,
		.stream = rb,
		.subbuf_size = rb->subbuf_size,
		.buf_mask = data_size - 1,
		.subbuf_shift = rb->subbuf_shift,
		.index_mask = rb->num_subbuf - 1,
		.clock_tsc = reel_clock_is_tsc,
	};
}

static bool geometry_is_valid(uint32_t subbuf_size, uint32_t num_subbuf)
{
	return is_pow2(subbuf_size) && subbuf_size >= 4096 && subbuf_size <= (1u << 30) &&
	       is_pow2(num_subbuf) && num_subbuf >= 2 && num_subbuf <= (1u << 16) &&
	       (uint64_t)subbuf_size * num_subbuf <= (1ull << 40);
}

static uint64_t commit_area_offset(void)
{
	return (sizeof(struct reel_rb_shm) + REEL_CACHELINE - 1) & ~(uint64_t)(REEL_CACHELINE - 1);
}

static uint64_t data_area_offset(uint32_t num_subbuf)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t offset = commit_area_offset() + (uint64_t)num_subbuf * REEL_CACHELINE;
	return (offset + page - 1) & ~(page - 1);
}

struct reel_rb *reel_rb_map(int fd, reel_rb_deliver_fn deliver, void *deliver_arg)
{
	struct reel_rb_shm head;
	struct stat st;
	if (fstat(fd, &st) < 0 || pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
		int err = errno ? errno : EPROTO;
		close(fd);
		errno = err;
		return NULL;
	}
	/* Everything is checked against what this side computes: the other
	 * process's numbers are never used to compute an address. */
	uint32_t clock_flag = reel_clock_is_tsc ? 0 : REEL_RB_CLOCK_MONOTONIC;
	if (head.magic != REEL_RB_MAGIC || head.abi_version != REEL_RB_ABI_VERSION ||
	    head.header_size != sizeof(head) ||
	    !geometry_is_valid(head.subbuf_size, head.num_subbuf) ||
	    (head.flags & REEL_RB_CLOCK_MONOTONIC) != clock_flag ||
	    head.commit_offset != commit_area_offset() ||
	    head.data_offset != data_area_offset(head.num_subbuf) ||
	    head.map_size != head.data_offset + (uint64_t)head.subbuf_size * head.num_subbuf ||
	    (uint64_t)st.st_size < head.map_size) {
		close(fd);
		errno = EPROTO;
		return NULL;
	}
	struct reel_rb *rb = calloc(1, sizeof(*rb));
	if (!rb) {
		close(fd);
		return NULL;
	}
	rb->fd = fd;
	void *map = mmap(NULL, head.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		reel_rb_destroy(rb);
		return NULL;
	}
	setup_local(rb, map, head.commit_offset, head.data_offset, head.map_size, head.subbuf_size,
		    head.num_subbuf);
	rb->overwrite = (head.flags & REEL_RB_OVERWRITE) != 0;
	rb->deliver = deliver;
	rb->deliver_arg = deliver_arg;
	return rb;
}

void reel_rb_retire(struct reel_rb *rb)
{
	if (rb->fd < 0)
		return;
	/* Closed first, so that a late writer's slow path opens nothing. */
	reel_rb_set_closed(rb, true);
	if (mmap(rb->shm, rb->map_size, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		return; /* keep the shared mapping: still valid */
	rb->shm->closed = 1;
	close(rb->fd);
	rb->fd = -1;
}

void reel_rb_set_closed(struct reel_rb *rb, bool closed)
{
	__atomic_store_n(&rb->shm->closed, closed ? 1u : 0u, __ATOMIC_SEQ_CST);
}

struct reel_rb *reel_rb_create(const struct reel_rb_config *config)
{
	if (!geometry_is_valid(config->subbuf_size, config->num_subbuf)) {
		errno = EINVAL;
		return NULL;
	}
	uint64_t data_size = (uint64_t)config->subbuf_size * config->num_subbuf;
	uint64_t commit_offset = commit_area_offset();
	uint64_t data_offset = data_area_offset(config->num_subbuf);
	uint64_t map_size = data_offset + data_size;

	struct reel_rb *rb = calloc(1, sizeof(*rb));
	if (!rb)
		return NULL;
	rb->fd = memfd_create("reel-ringbuf", MFD_CLOEXEC);
	if (rb->fd < 0)
		goto fail;
	if (ftruncate(rb->fd, (off_t)map_size) < 0)
		goto fail;
	/* Populated now so that the first events do not take page faults,
	 * unless that would commit a lot of memory at once. */
	int populate = map_size <= (64u << 20) ? MAP_POPULATE : 0;
	void *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED | populate, rb->fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	setup_local(rb, map, commit_offset, data_offset, map_size, config->subbuf_size,
		    config->num_subbuf);
	rb->overwrite = config->overwrite;
	rb->deliver = config->deliver;
	rb->deliver_arg = config->deliver_arg;

	struct reel_rb_shm *shm = rb->shm;
	shm->magic = REEL_RB_MAGIC;
	shm->abi_version = REEL_RB_ABI_VERSION;
	shm->header_size = sizeof(*shm);
	shm->subbuf_size = config->subbuf_size;
	shm->num_subbuf = config->num_subbuf;
	shm->flags = (config->overwrite ? REEL_RB_OVERWRITE : 0) |
		     (reel_clock_is_tsc ? 0 : REEL_RB_CLOCK_MONOTONIC);
	shm->commit_offset = commit_offset;
	shm->data_offset = data_offset;
	shm->map_size = map_size;
	memcpy(shm->trace_uuid, config->trace_uuid, sizeof(shm->trace_uuid));
	shm->stream_id = config->stream_id;
	shm->cpu = config->cpu;
	return rb;
fail:
	reel_rb_destroy(rb);
	return NULL;
}

void reel_rb_destroy(struct reel_rb *rb)
{
	if (!rb)
		return;
	if (rb->shm)
		munmap(rb->shm, rb->map_size);
	if (rb->fd >= 0)
		close(rb->fd);
	free(rb);
}

/* ---- writer slow paths ------------------------------------------------- */

static void count_lost(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint64_t lost_since_creation(const struct reel_rb_shm *shm)
{
	return READ_ONCE(shm->lost_full) + READ_ONCE(shm->lost_wrap) + READ_ONCE(shm->lost_big);
}

uint64_t reel_rb_lost_total(const struct reel_rb *rb)
{
	return lost_since_creation(rb->shm) - READ_ONCE(rb->shm->lost_base);
}

int reel_rb_rebase(struct reel_rb *rb, const uint8_t trace_uuid[16])
{
	struct reel_rb_shm *shm = rb->shm;
	uint64_t offset = READ_ONCE(shm->write.w.offset);
	if (offset & (rb->subbuf_size - 1) || READ_ONCE(shm->consumed) != offset)
		return -EBUSY;
	WRITE_ONCE(shm->base_offset, offset);
	WRITE_ONCE(shm->lost_base, lost_since_creation(shm));
	WRITE_ONCE(shm->lost_reported, 0);
	memcpy(shm->trace_uuid, trace_uuid, sizeof(shm->trace_uuid));
	return 0;
}

void reel_rb_deliver_slow(struct reel_rb *rb)
{
	if (rb->deliver)
		rb->deliver(rb->deliver_arg);
}

void reel_event_deliver(void *stream)
{
	reel_rb_deliver_slow(stream);
}

static struct reel_ctf_packet *packet_at(struct reel_rb *rb, uint64_t begin)
{
	return (struct reel_ctf_packet *)(rb->data + (begin & (rb->buf_size - 1)));
}

/* Fill the opener's part of the packet starting at `begin`. */
static void open_packet(struct reel_rb *rb, uint64_t begin, uint64_t ts)
{
	struct reel_ctf_packet *p = packet_at(rb, begin);
	p->magic = REEL_CTF_MAGIC;
	memcpy(p->uuid, rb->shm->trace_uuid, sizeof(p->uuid));
	p->stream_id = rb->shm->stream_id;
	p->stream_instance_id = rb->shm->cpu;
	p->timestamp_begin = ts;
	p->packet_seq_num = (begin >> rb->subbuf_shift) + 1; /* 0 is for a placeholder */
	p->cpu_id = rb->shm->cpu;
	reel_rb_commit_bytes(rb, begin, PACKET_HEADER);
}

/* Fill the closer's part of the packet whose content ends at `end` and
 * commit the padding up to the sub-buffer's end. `lost` was read before the
 * reservation that closed it, so counts never decrease along a stream.
 *
 * The stream's first packet always says 0: readers take its count as the
 * base that later counts are compared with, and would otherwise report
 * "some" discarded events rather than how many. Its losses are carried by
 * the next packet (an empty one at stop if need be). */
static void close_packet(struct reel_rb *rb, uint64_t end, uint64_t ts, uint64_t lost)
{
	uint64_t used = end & (rb->subbuf_size - 1);
	uint64_t begin = end - used;
	if (begin == READ_ONCE(rb->shm->base_offset))
		lost = 0;
	struct reel_ctf_packet *p = packet_at(rb, begin);
	p->timestamp_end = ts;
	p->content_size = used * 8;
	p->packet_size = used * 8;
	p->events_discarded = lost;
	/* Closers of different packets may get here in any order. */
	uint64_t reported = READ_ONCE(rb->shm->lost_reported);
	while (reported < lost && !__atomic_compare_exchange_n(&rb->shm->lost_reported, &reported,
							       lost, false, __ATOMIC_RELAXED,
							       __ATOMIC_RELAXED))
		;
	reel_rb_commit_bytes(rb, begin, rb->subbuf_size - used);
}

enum { ROOM = 0, ROOM_RETRY = 1 };

/*
 * Make sure the sub-buffer starting at `begin` may be written: its previous
 * generation was consumed, or (overwrite mode) is complete and the consumer
 * is pushed past it. Returns ROOM, ROOM_RETRY when the state changed under
 * us, or a negative errno after counting the loss.
 */
static int make_room(struct reel_rb *rb, uint64_t old, uint64_t begin)
{
	struct reel_rb_shm *shm = rb->shm;
	/* Acquire: pairs with the store_release (discard mode) or the CAS
	 * (overwrite mode) by which the consumer finished reading. */
	uint64_t consumed = load_acquire(&shm->consumed);
	if ((int64_t)(begin + rb->subbuf_size - consumed) <= (int64_t)rb->buf_size)
		return ROOM;
	/* A writer delayed since it read the position (preempted, or
	 * interrupted by a signal handler that traced) must not count a loss
	 * against a buffer that has moved on. */
	if (load_acquire(&shm->write.w.offset) != old)
		return ROOM_RETRY;
	if (!rb->overwrite) {
		count_lost(&shm->lost_full);
		return -ENOBUFS;
	}
	uint64_t index = (begin >> rb->subbuf_shift) & (rb->num_subbuf - 1);
	uint64_t generation = begin >> rb->buf_shift;
	/* Acquire: pairs with the release commits of the generation about to
	 * be overwritten; their writes come before ours. */
	if (load_acquire(&rb->commit[index].count) != generation * rb->subbuf_size) {
		count_lost(&shm->lost_wrap);
		return -EAGAIN;
	}
	uint64_t pushed = begin + rb->subbuf_size - rb->buf_size;
	if (!__atomic_compare_exchange_n(&shm->consumed, &consumed, pushed, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return ROOM_RETRY;
	return ROOM;
}

int reel_rb_reserve_slow(struct reel_rb *rb, uint32_t id, size_t payload,
			 struct reel_event_ctx *ret)
{
	struct reel_rb_shm *shm = rb->shm;
	const uint64_t mask = rb->subbuf_size - 1;

	if (payload >= rb->subbuf_size - PACKET_HEADER - REEL_CTF_HEADER_EXTENDED) {
		count_lost(&shm->lost_big);
		return -EFBIG;
	}
	for (;;) {
		/* Acquire: loss totals read after this are at least what
		 * the closer of the packet before saw. */
		uint64_t old = load_acquire(&shm->write.w.offset);
		uint64_t last = READ_ONCE(shm->write.w.last_ts);
		uint64_t lost = reel_rb_lost_total(rb);
		uint64_t ts = reel_clock_read();
		if (ts < last)
			ts = last;
		uint64_t pos = old & mask;
		uint32_t header;

		if (pos != 0) {
			/* Another writer may have switched since the fast path,
			 * or the clock is CLOCK_MONOTONIC, which the inline
			 * fast path leaves to this one. */
			header = reel_ctf_event_header_size(id, ts, last);
			if (pos + header + payload < rb->subbuf_size) {
				if (!reel_rb_cas_write(rb, old, last, old + header + payload, ts))
					continue;
				reel_rb_place_event(rb, old, header, id, ts, payload, ret);
				return 0;
			}
		}
		uint64_t begin = pos ? old - pos + rb->subbuf_size : old;
		/* Acquire: pairs with reel_rb_set_closed(); the consumer then
		 * switches, so no packet opened before this check stays open. */
		if (unlikely(__atomic_load_n(&shm->closed, __ATOMIC_SEQ_CST)))
			return -EPIPE;
		int room = make_room(rb, old, begin);
		if (room == ROOM_RETRY)
			continue;
		if (room < 0)
			return room;
		/* The new packet's timestamp_begin is this event's timestamp:
		 * the compact header fits unless the id does not. */
		header = reel_ctf_event_header_size(id, ts, ts);
		uint64_t event = begin + PACKET_HEADER;
		if (!reel_rb_cas_write(rb, old, last, event + header + payload, ts))
			continue;
		if (pos)
			close_packet(rb, old, ts, lost);
		open_packet(rb, begin, ts);
		reel_rb_place_event(rb, event, header, id, ts, payload, ret);
		return 0;
	}
}

void reel_rb_switch(struct reel_rb *rb)
{
	struct reel_rb_shm *shm = rb->shm;
	for (;;) {
		/* Acquire: loss totals read after this are at least what
		 * the closer of the packet before saw. */
		uint64_t old = load_acquire(&shm->write.w.offset);
		uint64_t last = READ_ONCE(shm->write.w.last_ts);
		uint64_t pos = old & (rb->subbuf_size - 1);
		if (pos == 0)
			return;
		uint64_t lost = reel_rb_lost_total(rb);
		uint64_t ts = reel_clock_read();
		if (ts < last)
			ts = last;
		if (reel_rb_cas_write(rb, old, last, old - pos + rb->subbuf_size, ts)) {
			close_packet(rb, old, ts, lost);
			return;
		}
	}
}

int reel_rb_flush_lost(struct reel_rb *rb)
{
	struct reel_rb_shm *shm = rb->shm;
	for (;;) {
		/* Acquire: loss totals read after this are at least what
		 * the closer of the packet before saw. */
		uint64_t old = load_acquire(&shm->write.w.offset);
		uint64_t last = READ_ONCE(shm->write.w.last_ts);
		uint64_t lost = reel_rb_lost_total(rb);
		if (lost == READ_ONCE(shm->lost_reported))
			return 0;
		if (old & (rb->subbuf_size - 1)) {
			reel_rb_switch(rb);
			continue;
		}
		uint64_t ts = reel_clock_read();
		if (ts < last)
			ts = last;
		/* Not make_room(): this must not count a loss of its own. */
		uint64_t consumed = load_acquire(&shm->consumed); /* pairs as in make_room() */
		if ((int64_t)(old + rb->subbuf_size - consumed) > (int64_t)rb->buf_size)
			return -ENOBUFS;
		if (!reel_rb_cas_write(rb, old, last, old + rb->subbuf_size, ts))
			continue;
		open_packet(rb, old, ts);
		close_packet(rb, old + PACKET_HEADER, ts, lost);
		return 0;
	}
}

/* ---- consumer ---------------------------------------------------------- */

/* A copy that may race with a writer overwriting the source; the caller
 * detects that case afterwards and discards the copy (a seqlock-style
 * read), so the race is benign and hidden from ThreadSanitizer. */
__attribute__((no_sanitize_thread, noinline)) static void copy_racy(void *dst, const void *src,
								     size_t size)
{
	/* Word by word (packets start on sub-buffer boundaries, so `src` is
	 * aligned): a plain memcpy would be checked by ThreadSanitizer's
	 * interceptor all the same. */
	const volatile uint64_t *from = src;
	char *to = dst;
	size_t words = size / 8;
	for (size_t i = 0; i < words; i++) {
		uint64_t word = from[i];
		memcpy(to + 8 * i, &word, 8);
	}
	const volatile char *tail = (const volatile char *)src + 8 * words;
	for (size_t i = 0; i < size % 8; i++)
		to[8 * words + i] = tail[i];
}

int reel_rb_get_packet(struct reel_rb *rb, void *copy_buf, struct reel_rb_packet *ret)
{
	struct reel_rb_shm *shm = rb->shm;
	for (;;) {
		uint64_t consumed = __atomic_load_n(&shm->consumed, __ATOMIC_ACQUIRE);
		uint64_t index = (consumed >> rb->subbuf_shift) & (rb->num_subbuf - 1);
		uint64_t complete = ((consumed >> rb->buf_shift) + 1) * rb->subbuf_size;
		/* Acquire: pairs with the release of reel_rb_commit_bytes(). */
		uint64_t count = load_acquire(&rb->commit[index].count);
		if (count < complete)
			return -EAGAIN;
		if (count > complete) {
			/* Overwritten since: writers pushed `consumed`. */
			if (rb->overwrite && READ_ONCE(shm->consumed) != consumed)
				continue;
			store_release(&shm->consumed, consumed + rb->subbuf_size);
			return -EBADMSG;
		}
		const struct reel_ctf_packet *p = packet_at(rb, consumed);
		struct reel_ctf_packet hdr;
		if (rb->overwrite)
			copy_racy(&hdr, p, sizeof(hdr));
		else
			memcpy(&hdr, p, sizeof(hdr));
		uint64_t bits = hdr.packet_size;
		if (bits % 8 || bits / 8 < PACKET_HEADER || bits / 8 >= rb->subbuf_size ||
		    hdr.content_size != bits || hdr.magic != REEL_CTF_MAGIC) {
			/* Not written by a writer of this protocol, or (overwrite
			 * mode) being overwritten as we read it. */
			if (!rb->overwrite)
				store_release(&shm->consumed, consumed + rb->subbuf_size);
			else if (READ_ONCE(shm->consumed) != consumed ||
				 !__atomic_compare_exchange_n(&shm->consumed, &consumed,
							      consumed + rb->subbuf_size, false,
							      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
				continue;
			return -EBADMSG;
		}
		ret->size = (uint32_t)(bits / 8);
		ret->begin = consumed;
		if (!rb->overwrite) {
			ret->data = (const char *)p;
			ret->copied = false;
			return 0;
		}
		/* Overwrite mode: copy, then claim the sub-buffer. If a writer
		 * pushed `consumed` meanwhile, the copy may be torn: drop it. */
		copy_racy(copy_buf, p, ret->size);
		if (!__atomic_compare_exchange_n(&shm->consumed, &consumed, consumed + rb->subbuf_size,
						 false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			continue;
		ret->data = copy_buf;
		ret->copied = true;
		return 0;
	}
}

void reel_rb_put_packet(struct reel_rb *rb, const struct reel_rb_packet *packet)
{
	if (packet->copied)
		return; /* claimed in reel_rb_get_packet() */
	/* Release: pairs with the load_acquire in make_room(); our reads of
	 * the packet come before writers reuse it. */
	store_release(&rb->shm->consumed, packet->begin + rb->subbuf_size);
}

bool reel_rb_is_drained(struct reel_rb *rb)
{
	return READ_ONCE(rb->shm->consumed) == READ_ONCE(rb->shm->write.w.offset);
}

bool reel_rb_is_stalled(struct reel_rb *rb)
{
	uint64_t consumed = READ_ONCE(rb->shm->consumed);
	uint64_t index = (consumed >> rb->subbuf_shift) & (rb->num_subbuf - 1);
	uint64_t complete = ((consumed >> rb->buf_shift) + 1) * rb->subbuf_size;
	return load_acquire(&rb->commit[index].count) < complete &&
	       load_acquire(&rb->shm->write.w.offset) >= consumed + rb->subbuf_size;
}

/* Rebuild the timestamp of a compact header from the previous one, as
 * readers do. */
static uint64_t compact_ts(uint64_t prev, uint32_t low)
{
	const uint64_t mask = (1ull << REEL_CTF_COMPACT_TS_BITS) - 1;
	uint64_t ts = (prev & ~mask) | low;
	return ts < prev ? ts + mask + 1 : ts;
}

int reel_rb_repair(struct reel_rb *rb, reel_rb_event_size_fn event_size, void *arg)
{
	struct reel_rb_shm *shm = rb->shm;
	uint64_t consumed = READ_ONCE(shm->consumed);
	uint64_t index = (consumed >> rb->subbuf_shift) & (rb->num_subbuf - 1);
	uint64_t complete = ((consumed >> rb->buf_shift) + 1) * rb->subbuf_size;
	uint64_t count = load_acquire(&rb->commit[index].count);
	uint64_t offset = load_acquire(&shm->write.w.offset);
	if (count >= complete || offset == consumed)
		return 0;
	if (offset < consumed + rb->subbuf_size) {
		reel_rb_switch(rb); /* commits the padding */
		count = load_acquire(&rb->commit[index].count);
		if (count >= complete)
			return 0;
	}
	struct reel_ctf_packet *p = packet_at(rb, consumed);
	const char *base = (const char *)p;
	bool header_ok = p->magic == REEL_CTF_MAGIC &&
			 p->packet_seq_num == (consumed >> rb->subbuf_shift) + 1 &&
			 p->stream_id == shm->stream_id;
	uint64_t end = p->content_size / 8;
	bool sizes_ok = p->content_size == p->packet_size && p->content_size % 8 == 0 &&
			end >= PACKET_HEADER && end < rb->subbuf_size;
	if (!header_ok) {
		p->magic = 0;
	} else {
		/* Without the closer's sizes, the events tell where it ends. */
		if (!sizes_ok)
			end = rb->subbuf_size - 1;
		uint64_t pos = PACKET_HEADER, ts = p->timestamp_begin;
		while (pos + REEL_CTF_HEADER_COMPACT <= end) {
			uint32_t word, id, header;
			uint64_t next_ts;
			memcpy(&word, base + pos, sizeof(word));
			if ((word & 31u) == REEL_CTF_EXTENDED_ID) {
				if (pos + REEL_CTF_HEADER_EXTENDED > end)
					break;
				memcpy(&id, base + pos + 1, sizeof(id));
				memcpy(&next_ts, base + pos + 5, sizeof(next_ts));
				header = REEL_CTF_HEADER_EXTENDED;
			} else {
				id = word & 31u;
				next_ts = compact_ts(ts, word >> 5);
				header = REEL_CTF_HEADER_COMPACT;
			}
			size_t payload;
			if (next_ts < ts || event_size(arg, id, base + pos + header,
						      end - pos - header, &payload) < 0 ||
			    payload > end - pos - header)
				break;
			pos += header + payload;
			ts = next_ts;
		}
		p->content_size = p->packet_size = pos * 8;
		if (!sizes_ok) {
			p->timestamp_end = ts;
			p->events_discarded = READ_ONCE(shm->lost_reported);
		}
	}
	/* Release: the consumer's acquire of the count sees the patch. */
	__atomic_fetch_add(&rb->commit[index].count, complete - count, __ATOMIC_RELEASE);
	return 1;
}

unsigned int reel_rb_snapshot(struct reel_rb *rb, void *copy_buf, reel_rb_packet_fn fn, void *arg)
{
	struct reel_rb_shm *shm = rb->shm;
	/* Complete packets lie below the last sub-buffer boundary the
	 * writers reached, at most N sub-buffers back. */
	uint64_t end = load_acquire(&shm->write.w.offset) & ~(rb->subbuf_size - 1);
	uint64_t start = end > rb->buf_size ? end - rb->buf_size : 0;
	uint64_t base = READ_ONCE(shm->base_offset);
	if (start < base)
		start = base;
	unsigned int given = 0;
	for (uint64_t p = start; p < end; p += rb->subbuf_size) {
		uint64_t index = (p >> rb->subbuf_shift) & (rb->num_subbuf - 1);
		uint64_t complete = ((p >> rb->buf_shift) + 1) * rb->subbuf_size;
		/* Acquire: pairs with the writers' release of the counter. */
		if (load_acquire(&rb->commit[index].count) != complete ||
		    load_acquire(&shm->write.w.offset) >= p + rb->buf_size)
			continue; /* still being written, or already overwritten */
		struct reel_ctf_packet hdr;
		copy_racy(&hdr, packet_at(rb, p), sizeof(hdr));
		uint64_t bits = hdr.packet_size;
		if (bits % 8 || bits / 8 < PACKET_HEADER || bits / 8 >= rb->subbuf_size ||
		    hdr.content_size != bits || hdr.magic != REEL_CTF_MAGIC)
			continue;
		copy_racy(copy_buf, packet_at(rb, p), (size_t)(bits / 8));
		/* A writer that entered the slot's next generation meanwhile
		 * may have torn the copy. */
		if (load_acquire(&rb->commit[index].count) != complete ||
		    load_acquire(&shm->write.w.offset) >= p + rb->buf_size)
			continue;
		fn(arg, copy_buf, (uint32_t)(bits / 8));
		given++;
	}
	return given;
}
