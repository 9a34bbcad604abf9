/* SPDX-License-Identifier: MIT */
/* Unit tests of the ring buffer: packets, wrap, full, overwrite, exact loss
 * counts, nesting from a signal handler, oversized events. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/packet-walk.h"
#include "ringbuf/ringbuf.h"

#define SUBBUF 4096u

static unsigned int deliveries;
static void count_delivery(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&deliveries, 1, __ATOMIC_RELAXED);
}

static struct reel_rb *make_rb(uint32_t num_subbuf, bool overwrite)
{
	struct reel_rb_config c = {
		.subbuf_size = SUBBUF,
		.num_subbuf = num_subbuf,
		.overwrite = overwrite,
		.stream_id = 0,
		.cpu = 3,
		.deliver = count_delivery,
	};
	memset(c.trace_uuid, 0xab, sizeof(c.trace_uuid));
	struct reel_rb *rb = reel_rb_create(&c);
	CHECK(rb);
	return rb;
}

/* Events of id 1 carry a uint64 counter and 8 bytes of filler; id 2 and
 * ids above 30 carry a uint64 counter. */
static uint32_t sizer(uint32_t id, const char *payload)
{
	(void)payload;
	return id == 1 ? 16 : 8;
}

static int emit(struct reel_rb *rb, uint32_t id, uint64_t counter)
{
	struct reel_event_ctx ctx;
	uint32_t len = sizer(id, NULL);
	int err = reel_rb_reserve(rb, id, len, &ctx);
	if (err)
		return err;
	memcpy(ctx.pos, &counter, 8);
	if (len == 16)
		memset(ctx.pos + 8, 0x5a, 8);
	reel_rb_commit(&ctx);
	return 0;
}

struct collected {
	uint64_t counters[100000];
	uint32_t ids[100000];
	uint32_t header_sizes[100000];
	unsigned int n;
	uint64_t seqs[1000];
	uint64_t discarded[1000];
	unsigned int packets;
	uint64_t last_ts;
};

static void collect_event(const struct walked_event *ev, void *arg)
{
	struct collected *c = arg;
	CHECK(c->n < 100000);
	CHECK(ev->ts >= c->last_ts);
	c->last_ts = ev->ts;
	memcpy(&c->counters[c->n], ev->payload, 8);
	c->ids[c->n] = ev->id;
	c->header_sizes[c->n] = ev->header_size;
	c->n++;
}

/* Consume every complete packet into `c`. */
static void drain(struct reel_rb *rb, struct collected *c)
{
	static char copy[SUBBUF];
	struct reel_rb_packet p;
	int err;
	while ((err = reel_rb_get_packet(rb, copy, &p)) != -EAGAIN) {
		CHECK(err == 0);
		struct reel_ctf_packet hdr = packet_header(p.data);
		CHECK(hdr.cpu_id == 3 && hdr.stream_instance_id == 3 && hdr.stream_id == 0);
		CHECK(hdr.uuid[0] == 0xab && hdr.uuid[15] == 0xab);
		CHECK(c->packets < 1000);
		c->seqs[c->packets] = hdr.packet_seq_num;
		c->discarded[c->packets] = hdr.events_discarded;
		c->packets++;
		walk_packet(p.data, p.size, sizer, collect_event, c);
		reel_rb_put_packet(rb, &p);
	}
}

static struct collected *new_collected(void)
{
	struct collected *c = calloc(1, sizeof(*c));
	CHECK(c);
	return c;
}

static void test_basic(void)
{
	struct reel_rb *rb = make_rb(4, false);
	struct collected *c = new_collected();
	for (uint64_t i = 0; i < 10; i++)
		CHECK(emit(rb, 1, i) == 0);
	/* Nothing is complete before a switch. */
	struct reel_rb_packet p;
	CHECK(reel_rb_get_packet(rb, NULL, &p) == -EAGAIN);
	reel_rb_switch(rb);
	reel_rb_switch(rb); /* a second switch finds nothing open */
	drain(rb, c);
	CHECK(c->packets == 1 && c->seqs[0] == 1 && c->discarded[0] == 0);
	CHECK(c->n == 10);
	for (unsigned int i = 0; i < 10; i++)
		CHECK(c->counters[i] == i && c->ids[i] == 1 && c->header_sizes[i] == 4);
	CHECK(reel_rb_is_drained(rb));
	CHECK(deliveries >= 1);
	reel_rb_destroy(rb);
	free(c);
}

/* Many times around the buffer with the consumer keeping up. */
static void test_wrap(void)
{
	struct reel_rb *rb = make_rb(4, false);
	struct collected *c = new_collected();
	for (uint64_t i = 0; i < 20000; i++) {
		CHECK(emit(rb, 1, i) == 0);
		drain(rb, c);
	}
	reel_rb_switch(rb);
	drain(rb, c);
	CHECK(c->n == 20000);
	for (unsigned int i = 0; i < c->n; i++)
		CHECK(c->counters[i] == i);
	CHECK(c->packets > 8); /* wrapped around the 4 sub-buffers */
	for (unsigned int i = 0; i < c->packets; i++)
		CHECK(c->seqs[i] == i + 1 && c->discarded[i] == 0);
	CHECK(reel_rb_lost_total(rb) == 0);
	reel_rb_destroy(rb);
	free(c);
}

/* Discard mode, no consumer: new events are dropped and counted exactly,
 * and the final count reaches the trace in an empty packet. */
static void test_full_discard(void)
{
	struct reel_rb *rb = make_rb(2, false);
	struct collected *c = new_collected();
	unsigned int recorded = 0, emitted = 5000;
	for (uint64_t i = 0; i < emitted; i++) {
		int err = emit(rb, 1, i);
		CHECK(err == 0 || err == -ENOBUFS);
		recorded += err == 0;
	}
	CHECK(recorded > 0 && recorded < emitted);
	CHECK(reel_rb_lost_total(rb) == emitted - recorded);
	CHECK(rb->shm->lost_full == emitted - recorded);
	/* The events recorded are the first ones, in order. */
	reel_rb_switch(rb);
	drain(rb, c);
	CHECK(reel_rb_flush_lost(rb) == 0);
	drain(rb, c);
	CHECK(c->n == recorded);
	for (unsigned int i = 0; i < c->n; i++)
		CHECK(c->counters[i] == i);
	CHECK(c->discarded[c->packets - 1] == emitted - recorded);
	for (unsigned int i = 1; i < c->packets; i++)
		CHECK(c->seqs[i] == c->seqs[i - 1] + 1 && c->discarded[i] >= c->discarded[i - 1]);
	CHECK(reel_rb_flush_lost(rb) == 0); /* nothing more to report */
	struct reel_rb_packet p;
	CHECK(reel_rb_get_packet(rb, NULL, &p) == -EAGAIN);
	/* Room again: recording resumes. */
	CHECK(emit(rb, 1, 77) == 0);
	reel_rb_destroy(rb);
	free(c);
}

/* Overwrite mode, no consumer: nothing is refused, the oldest packets are
 * overwritten, and what survives is the most recent, with sequence gaps. */
static void test_overwrite(void)
{
	struct reel_rb *rb = make_rb(4, true);
	struct collected *c = new_collected();
	unsigned int emitted = 5000;
	for (uint64_t i = 0; i < emitted; i++)
		CHECK(emit(rb, 1, i) == 0);
	CHECK(reel_rb_lost_total(rb) == 0);
	reel_rb_switch(rb);
	drain(rb, c);
	CHECK(c->packets >= 3 && c->packets <= 4);
	CHECK(c->seqs[0] > 1); /* older packets were overwritten */
	for (unsigned int i = 1; i < c->packets; i++)
		CHECK(c->seqs[i] == c->seqs[i - 1] + 1);
	CHECK(c->counters[c->n - 1] == emitted - 1);
	for (unsigned int i = 1; i < c->n; i++)
		CHECK(c->counters[i] == c->counters[i - 1] + 1);
	reel_rb_destroy(rb);
	free(c);
}

/* Overwrite mode with the consumer holding nothing back: no gap at all. */
static void test_overwrite_consumed(void)
{
	struct reel_rb *rb = make_rb(4, true);
	struct collected *c = new_collected();
	for (uint64_t i = 0; i < 3000; i++) {
		CHECK(emit(rb, 1, i) == 0);
		drain(rb, c);
	}
	reel_rb_switch(rb);
	drain(rb, c);
	CHECK(c->n == 3000);
	for (unsigned int i = 0; i < c->packets; i++)
		CHECK(c->seqs[i] == i + 1);
	reel_rb_destroy(rb);
	free(c);
}

static void test_too_big(void)
{
	struct reel_rb *rb = make_rb(2, false);
	struct reel_event_ctx ctx;
	uint32_t max = SUBBUF - REEL_CTF_PACKET_HEADER_SIZE - REEL_CTF_HEADER_EXTENDED - 1;
	CHECK(reel_rb_reserve(rb, 1, SUBBUF, &ctx) == -EFBIG);
	CHECK(reel_rb_reserve(rb, 1, (size_t)1 << 40, &ctx) == -EFBIG);
	CHECK(reel_rb_reserve(rb, 1, max + 1, &ctx) == -EFBIG);
	CHECK(rb->shm->lost_big == 3);
	CHECK(reel_rb_reserve(rb, 1, max, &ctx) == 0);
	memset(ctx.pos, 1, max);
	reel_rb_commit(&ctx);
	/* That event filled its packet: the next one opens another. */
	CHECK(emit(rb, 2, 5) == 0);
	reel_rb_switch(rb);
	struct reel_rb_packet p;
	CHECK(reel_rb_get_packet(rb, NULL, &p) == 0);
	CHECK(p.size == REEL_CTF_PACKET_HEADER_SIZE + REEL_CTF_HEADER_COMPACT + max);
	CHECK(packet_header(p.data).events_discarded == 0); /* the base */
	reel_rb_put_packet(rb, &p);
	CHECK(reel_rb_get_packet(rb, NULL, &p) == 0);
	CHECK(packet_header(p.data).packet_seq_num == 2);
	CHECK(packet_header(p.data).events_discarded == 3);
	reel_rb_put_packet(rb, &p);
	CHECK(reel_rb_flush_lost(rb) == 0);
	reel_rb_destroy(rb);
}

/* A signal handler traces while the thread it interrupted is between
 * reserve and commit. */
static struct reel_rb *signal_rb;
static void tracing_handler(int sig)
{
	(void)sig;
	CHECK(emit(signal_rb, 2, 999) == 0);
}

static void test_nested_signal(void)
{
	struct reel_rb *rb = make_rb(4, false);
	struct collected *c = new_collected();
	signal_rb = rb;
	struct sigaction sa = { .sa_handler = tracing_handler };
	sigaction(SIGUSR1, &sa, NULL);

	for (uint64_t i = 0; i < 500; i++) {
		struct reel_event_ctx ctx;
		CHECK(reel_rb_reserve(rb, 1, 16, &ctx) == 0);
		memcpy(ctx.pos, &i, 8);
		raise(SIGUSR1); /* nested event lands after ours */
		memset(ctx.pos + 8, 0x5a, 8);
		reel_rb_commit(&ctx);
		drain(rb, c);
	}
	reel_rb_switch(rb);
	drain(rb, c);
	signal(SIGUSR1, SIG_DFL);
	CHECK(c->n == 1000);
	for (unsigned int i = 0; i < 1000; i += 2) {
		CHECK(c->ids[i] == 1 && c->counters[i] == i / 2);
		CHECK(c->ids[i + 1] == 2 && c->counters[i + 1] == 999);
	}
	reel_rb_destroy(rb);
	free(c);
}

/* The compact header holds ids up to 30 and timestamps close to the
 * previous one; otherwise the extended header is used, and decodes. */
static void test_headers(void)
{
	struct reel_rb *rb = make_rb(4, false);
	struct collected *c = new_collected();
	CHECK(emit(rb, 2, 0) == 0);
	CHECK(emit(rb, 40, 1) == 0);
	CHECK(emit(rb, 2, 2) == 0);
	/* More than 2^27 ticks later (TSC: ~45 ms; ns: ~134 ms). */
	struct timespec pause = { 0, 150000000 };
	nanosleep(&pause, NULL);
	CHECK(emit(rb, 2, 3) == 0);
	CHECK(emit(rb, 2, 4) == 0);
	reel_rb_switch(rb);
	drain(rb, c);
	CHECK(c->n == 5);
	CHECK(c->header_sizes[0] == 4 && c->header_sizes[1] == 13 && c->ids[1] == 40);
	CHECK(c->header_sizes[2] == 4);
	CHECK(c->header_sizes[3] == 13 && c->header_sizes[4] == 4);
	reel_rb_destroy(rb);
	free(c);
}

/* A reserved but uncommitted event holds its packet back. */
static void test_uncommitted(void)
{
	struct reel_rb *rb = make_rb(4, false);
	struct reel_event_ctx ctx;
	CHECK(reel_rb_reserve(rb, 2, 8, &ctx) == 0);
	reel_rb_switch(rb);
	struct reel_rb_packet p;
	CHECK(reel_rb_get_packet(rb, NULL, &p) == -EAGAIN);
	memset(ctx.pos, 0, 8);
	reel_rb_commit(&ctx);
	CHECK(reel_rb_get_packet(rb, NULL, &p) == 0);
	reel_rb_put_packet(rb, &p);
	reel_rb_destroy(rb);
}

/* Every event lost, none recorded: the count still reaches the trace, in
 * empty packets after the base one. */
static void test_only_losses(void)
{
	struct reel_rb *rb = make_rb(2, false);
	struct collected *c = new_collected();
	struct reel_event_ctx ctx;
	for (int i = 0; i < 5; i++)
		CHECK(reel_rb_reserve(rb, 1, SUBBUF, &ctx) == -EFBIG);
	for (int round = 0; round < 3; round++) {
		reel_rb_flush_lost(rb);
		drain(rb, c);
	}
	CHECK(c->n == 0 && c->packets == 2);
	CHECK(c->discarded[0] == 0 && c->discarded[1] == 5);
	CHECK(reel_rb_flush_lost(rb) == 0);
	reel_rb_destroy(rb);
	free(c);
}

/* A packet whose context was scribbled on is skipped, not trusted. */
static void test_corrupt_packet(void)
{
	struct reel_rb *rb = make_rb(4, false);
	struct collected *c = new_collected();
	CHECK(emit(rb, 1, 1) == 0);
	reel_rb_switch(rb);
	CHECK(emit(rb, 1, 2) == 0);
	reel_rb_switch(rb);
	struct reel_ctf_packet *first = (struct reel_ctf_packet *)rb->data;
	first->packet_size = (uint64_t)SUBBUF * 8 * 2;
	struct reel_rb_packet p;
	CHECK(reel_rb_get_packet(rb, NULL, &p) == -EBADMSG);
	drain(rb, c);
	CHECK(c->n == 1 && c->counters[0] == 2);
	reel_rb_destroy(rb);
	free(c);
}

static void test_bad_config(void)
{
	struct reel_rb_config c = { .subbuf_size = 3000, .num_subbuf = 4 };
	CHECK(!reel_rb_create(&c) && errno == EINVAL);
	c.subbuf_size = 4096;
	c.num_subbuf = 3;
	CHECK(!reel_rb_create(&c) && errno == EINVAL);
	c.num_subbuf = 1;
	CHECK(!reel_rb_create(&c) && errno == EINVAL);
	reel_rb_destroy(NULL);
}

int main(void)
{
	reel_clock_init();
	test_basic();
	test_wrap();
	test_full_discard();
	test_overwrite();
	test_overwrite_consumed();
	test_too_big();
	test_nested_signal();
	test_headers();
	test_uncommitted();
	test_only_losses();
	test_corrupt_packet();
	test_bad_config();
	printf("test-ringbuf: all passed (clock: %s)\n", reel_clock_is_tsc ? "tsc" : "monotonic");
	return 0;
}
