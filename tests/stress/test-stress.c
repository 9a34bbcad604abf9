/* SPDX-License-Identifier: MIT */
/*
 * Stress: many threads (more than CPUs, so they share buffers and migrate)
 * and a tracing signal handler write into per-CPU ring buffers while a
 * consumer drains them. Every event carries (thread, sequence); at the end,
 * recorded + discarded must equal emitted exactly (discard mode), every
 * recorded event must be intact, and no event may appear twice or out of
 * order for its thread. Run under ThreadSanitizer too.
 *
 * Usage: test-stress [discard|overwrite] [threads] [events-per-thread]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../common/packet-walk.h"
#include "ringbuf/ringbuf.h"

#define MAX_THREADS 64
#define NR_BUFFERS 4 /* more buffers than this machine's CPUs, on purpose */
#define SIGNAL_THREAD MAX_THREADS

struct payload {
	uint32_t thread;
	uint32_t check; /* thread ^ seq, against torn writes */
	uint64_t seq;
};

static struct reel_rb *buffers[NR_BUFFERS];
static unsigned int nr_threads = 8;
static uint64_t events_per_thread = 200000;
static bool overwrite;
static uint64_t emitted[MAX_THREADS + 1];
static uint64_t recorded[MAX_THREADS + 1];
static uint64_t last_seq[MAX_THREADS + 1][NR_BUFFERS];
static bool writers_done;

static uint32_t sizer(uint32_t id, const char *payload)
{
	(void)id;
	(void)payload;
	return sizeof(struct payload);
}

static void emit(unsigned int thread, uint64_t seq)
{
	int cpu = sched_getcpu();
	struct reel_rb *rb = buffers[(unsigned int)(cpu < 0 ? 0 : cpu) % NR_BUFFERS];
	if (thread != SIGNAL_THREAD && (seq & 7) == 0)
		rb = buffers[(thread + seq / 8) % NR_BUFFERS]; /* as if migrated */
	struct reel_event_ctx ctx;
	if (reel_rb_reserve(rb, 1, sizeof(struct payload), &ctx) == 0) {
		struct payload p = { thread, thread ^ (uint32_t)seq, seq };
		memcpy(ctx.pos, &p, sizeof(p));
		reel_rb_commit(&ctx);
	}
}

static void *writer(void *arg)
{
	unsigned int thread = (unsigned int)(uintptr_t)arg;
	for (uint64_t seq = 0; seq < events_per_thread; seq++) {
		emit(thread, seq);
		if ((seq & 1023) == 0)
			sched_yield();
	}
	emitted[thread] = events_per_thread;
	return NULL;
}

static uint64_t signal_seq;
static void tracing_handler(int sig)
{
	(void)sig;
	int saved = errno;
	emit(SIGNAL_THREAD, __atomic_fetch_add(&signal_seq, 1, __ATOMIC_RELAXED));
	errno = saved;
}

static void check_event(const struct walked_event *ev, void *arg)
{
	unsigned int buffer = (unsigned int)(uintptr_t)arg;
	struct payload p;
	memcpy(&p, ev->payload, sizeof(p));
	CHECK(ev->id == 1);
	CHECK(p.thread < nr_threads || p.thread == SIGNAL_THREAD);
	CHECK(p.check == (p.thread ^ (uint32_t)p.seq));
	/* Per thread and buffer, sequence numbers only grow (+1 in the
	 * offset origin so that 0 means "none yet"). Signal handlers on
	 * different threads share one counter, so theirs need not. */
	if (p.thread != SIGNAL_THREAD) {
		CHECK(p.seq + 1 > last_seq[p.thread][buffer]);
		last_seq[p.thread][buffer] = p.seq + 1;
	}
	recorded[p.thread]++;
}

static uint64_t packets_read, lost_packets;
static uint64_t next_seq_num[NR_BUFFERS] = { 1, 1, 1, 1 }; /* numbers count from 1 */

static unsigned int drain_all(char *copy)
{
	unsigned int n = 0;
	for (unsigned int b = 0; b < NR_BUFFERS; b++) {
		struct reel_rb_packet p;
		int err;
		while ((err = reel_rb_get_packet(buffers[b], copy, &p)) != -EAGAIN) {
			CHECK(err == 0);
			struct reel_ctf_packet hdr = packet_header(p.data);
			CHECK(hdr.packet_seq_num >= next_seq_num[b]);
			CHECK(overwrite || hdr.packet_seq_num == next_seq_num[b]);
			lost_packets += hdr.packet_seq_num - next_seq_num[b];
			next_seq_num[b] = hdr.packet_seq_num + 1;
			walk_packet(p.data, p.size, sizer, check_event, (void *)(uintptr_t)b);
			reel_rb_put_packet(buffers[b], &p);
			packets_read++;
			n++;
		}
	}
	return n;
}

static void *consumer(void *arg)
{
	char *copy = arg;
	unsigned int rounds = 0;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		if (!drain_all(copy)) {
			struct timespec pause = { 0, 200000 };
			nanosleep(&pause, NULL);
		}
		if (++rounds % 64 == 0)
			for (unsigned int b = 0; b < NR_BUFFERS; b++)
				reel_rb_switch(buffers[b]); /* switch timer */
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		overwrite = strcmp(argv[1], "overwrite") == 0;
	if (argc > 2)
		nr_threads = (unsigned int)atoi(argv[2]);
	if (argc > 3)
		events_per_thread = strtoull(argv[3], NULL, 0);
	CHECK(nr_threads > 0 && nr_threads <= MAX_THREADS);
	reel_clock_init();

	for (unsigned int b = 0; b < NR_BUFFERS; b++) {
		struct reel_rb_config c = { .subbuf_size = 16384, .num_subbuf = 4,
					    .overwrite = overwrite, .cpu = b };
		buffers[b] = reel_rb_create(&c);
		CHECK(buffers[b]);
	}
	char *copy = malloc(16384);
	CHECK(copy);

	/* A timer signal that traces, landing in the writers at random. */
	struct sigaction sa = { .sa_handler = tracing_handler };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigset_t block, saved;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);

	pthread_t consumer_thread, writers[MAX_THREADS];
	pthread_sigmask(SIG_BLOCK, &block, &saved); /* only writers take it */
	CHECK(pthread_create(&consumer_thread, NULL, consumer, copy) == 0);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	for (unsigned int t = 0; t < nr_threads; t++)
		CHECK(pthread_create(&writers[t], NULL, writer, (void *)(uintptr_t)t) == 0);
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	setitimer(ITIMER_REAL, &it, NULL);
	for (unsigned int t = 0; t < nr_threads; t++)
		pthread_join(writers[t], NULL);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	emitted[SIGNAL_THREAD] = signal_seq;

	__atomic_store_n(&writers_done, true, __ATOMIC_RELEASE);
	pthread_join(consumer_thread, NULL);

	/* Final flush, as a consumer does at stop. */
	for (int round = 0; round < 4; round++) {
		for (unsigned int b = 0; b < NR_BUFFERS; b++) {
			reel_rb_switch(buffers[b]);
			reel_rb_flush_lost(buffers[b]);
		}
		drain_all(copy);
	}
	uint64_t total_emitted = 0, total_recorded = 0, total_lost = 0;
	for (unsigned int t = 0; t <= MAX_THREADS; t++) {
		total_emitted += emitted[t];
		total_recorded += recorded[t];
	}
	for (unsigned int b = 0; b < NR_BUFFERS; b++) {
		CHECK(reel_rb_is_drained(buffers[b]));
		CHECK(reel_rb_lost_total(buffers[b]) == READ_ONCE(buffers[b]->shm->lost_reported));
		total_lost += reel_rb_lost_total(buffers[b]);
	}
	printf("test-stress %s: %u threads, emitted %llu, recorded %llu, discarded %llu, "
	       "packets %llu, lost packets %llu, signal events %llu\n",
	       overwrite ? "overwrite" : "discard", nr_threads,
	       (unsigned long long)total_emitted, (unsigned long long)total_recorded,
	       (unsigned long long)total_lost, (unsigned long long)packets_read,
	       (unsigned long long)lost_packets, (unsigned long long)emitted[SIGNAL_THREAD]);
	if (!overwrite) {
		CHECK(total_recorded + total_lost == total_emitted);
		CHECK(lost_packets == 0);
	} else {
		CHECK(total_recorded <= total_emitted);
		CHECK(total_recorded > 0);
	}
	for (unsigned int b = 0; b < NR_BUFFERS; b++)
		reel_rb_destroy(buffers[b]);
	free(copy);
	return 0;
}
