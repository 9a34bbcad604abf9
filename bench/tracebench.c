/* SPDX-License-Identifier: MIT */
/*
 * tracebench: the benchmark driver, one source compiled twice, with
 * -DUSE_REEL (Reel) and with -DUSE_LTTNG (LTTng-UST), so that both tracers
 * run exactly the same loops. The tracer is configured from outside
 * (REEL_OUTPUT for Reel, an lttng session for LTTng); bench/run.sh does it.
 *
 *   tracebench MODE [-n EVENTS] [-r REPS] [-w WARMUP] [-c CPU[,CPU]]
 *                   [-s SECONDS] [-R RATE]
 *
 * Modes:
 *   one_int       ns per event, one int32 field          (tracing on)
 *   four_u64_str  ns per event, four uint64 + a string   (tracing on)
 *   disabled      ns per call of a disabled one_int       (tracing off)
 *   scaling       event rate of two threads on two CPUs / one thread
 *   sustained     emit one_int for SECONDS, paced at RATE events/s (0: as
 *                 fast as possible), then report what was emitted
 *
 * Prints one line "result KEY=VALUE ..." on stdout; exits non-zero when
 * the tracer is not in the state the mode needs (e.g. "on" but no session),
 * so that a broken setup never passes for a fast tracer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(USE_REEL)
#include <reel/reel.h>
#include "bench-tp-reel.h"
#define TRACER "reel"
#define TP_ONE_INT(v) reel_tracepoint(benchp, one_int, (v))
#define TP_FOUR(a, b, c, d, s) reel_tracepoint(benchp, four_u64_str, (a), (b), (c), (d), (s))
#define TP_ENABLED() reel_tracepoint_enabled(benchp, one_int)
#elif defined(USE_LTTNG)
#include "bench-tp-lttng.h"
#define TRACER "lttng"
#define TP_ONE_INT(v) tracepoint(benchp, one_int, (v))
#define TP_FOUR(a, b, c, d, s) tracepoint(benchp, four_u64_str, (a), (b), (c), (d), (s))
#define TP_ENABLED() tracepoint_enabled(benchp, one_int)
#else
#error "compile with -DUSE_REEL or -DUSE_LTTNG"
#endif

/* 16 characters, as workload (b) asks. */
static const char bench_string[] = "0123456789abcdef";

struct options {
	const char *mode;
	uint64_t events;
	uint64_t warmup;
	unsigned reps;
	int cpu[2];
	double seconds;
	double rate;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *msg)
{
	fprintf(stderr, "tracebench (%s): %s\n", TRACER, msg);
	exit(2);
}

static void pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err) {
		fprintf(stderr, "tracebench (%s): cannot pin to CPU %d: %s\n", TRACER, cpu,
			strerror(err));
		exit(2);
	}
}

/* The measured loops. noinline keeps each loop the same, whatever the
 * caller; the loop counter feeds the fields so nothing is hoisted. */
static __attribute__((noinline)) void loop_one_int(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		TP_ONE_INT((int32_t)i);
}

static __attribute__((noinline)) void loop_four(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		TP_FOUR(i, i + 1, i + 2, i + 3, bench_string);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- per-event cost ------------------------------------------------------ */

static void run_per_event(const struct options *o, void (*loop)(uint64_t), bool want_enabled)
{
	if (!!TP_ENABLED() != want_enabled)
		die(want_enabled ? "tracepoint is disabled: no active tracing session" :
				   "tracepoint is enabled: a tracing session is active");
	pin_self(o->cpu[0]);
	loop(o->warmup);
	double ns[64] = { 0 };
	for (unsigned r = 0; r < o->reps; r++) {
		uint64_t t0 = now_ns();
		loop(o->events);
		ns[r] = (double)(now_ns() - t0) / (double)o->events;
	}
	double lo = ns[0], hi = ns[0];
	for (unsigned r = 1; r < o->reps; r++) {
		lo = ns[r] < lo ? ns[r] : lo;
		hi = ns[r] > hi ? ns[r] : hi;
	}
	printf("result tracer=%s mode=%s ns_per_event=%.3f min=%.3f max=%.3f reps=%u "
	       "emitted=%" PRIu64 "\n",
	       TRACER, o->mode, median(ns, o->reps), lo, hi, o->reps,
	       o->warmup + (uint64_t)o->reps * o->events);
}

/* ---- scaling ------------------------------------------------------------- */

struct worker {
	pthread_t thread;
	int cpu;
	uint64_t warmup, events;
	pthread_barrier_t *start;
	uint64_t end_ns;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pin_self(w->cpu);
	loop_one_int(w->warmup);
	pthread_barrier_wait(w->start);
	loop_one_int(w->events);
	w->end_ns = now_ns();
	return NULL;
}

/* Events per second of `nr` threads, each emitting o->events on its own
 * CPU, from the common start to the last thread's end. */
static double run_threads(const struct options *o, unsigned nr)
{
	struct worker w[2];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, nr + 1);
	for (unsigned i = 0; i < nr; i++) {
		w[i] = (struct worker){ .cpu = o->cpu[nr == 1 ? 0 : i],
					.warmup = o->warmup / 4,
					.events = o->events,
					.start = &start };
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&start);
	uint64_t t0 = now_ns(), t1 = 0;
	for (unsigned i = 0; i < nr; i++) {
		pthread_join(w[i].thread, NULL);
		t1 = w[i].end_ns > t1 ? w[i].end_ns : t1;
	}
	pthread_barrier_destroy(&start);
	return (double)nr * (double)o->events / ((double)(t1 - t0) / 1e9);
}

static void run_scaling(const struct options *o)
{
	if (!TP_ENABLED())
		die("tracepoint is disabled: no active tracing session");
	if (o->cpu[0] == o->cpu[1])
		die("scaling needs two different CPUs (-c A,B)");
	double r1[64] = { 0 }, r2[64] = { 0 };
	/* Alternate so that a slow phase of the machine hits both alike. */
	for (unsigned r = 0; r < o->reps; r++) {
		r1[r] = run_threads(o, 1);
		r2[r] = run_threads(o, 2);
	}
	double m1 = median(r1, o->reps), m2 = median(r2, o->reps);
	uint64_t emitted = (uint64_t)o->reps * (3 * o->events + 3 * (o->warmup / 4));
	printf("result tracer=%s mode=scaling rate1=%.0f rate2=%.0f scaling=%.3f cpus=%d,%d "
	       "reps=%u emitted=%" PRIu64 "\n",
	       TRACER, m1, m2, m2 / m1, o->cpu[0], o->cpu[1], o->reps, emitted);
}

/* ---- sustained throughput -------------------------------------------------- */

#define BURST 1000u

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void run_sustained(const struct options *o)
{
	if (!TP_ENABLED())
		die("tracepoint is disabled: no active tracing session");
	pin_self(o->cpu[0]);
	uint64_t i = 0;
	uint64_t t0 = now_ns(), t = t0;
	uint64_t deadline = t0 + (uint64_t)(o->seconds * 1e9);
	double ns_per_burst = o->rate > 0 ? 1e9 * BURST / o->rate : 0;
	for (uint64_t k = 1; t < deadline; k++) {
		for (unsigned j = 0; j < BURST; j++, i++)
			TP_ONE_INT((int32_t)i);
		t = now_ns();
		if (ns_per_burst > 0) {
			uint64_t next = t0 + (uint64_t)(ns_per_burst * (double)k);
			while (t < next) {
				cpu_relax();
				t = now_ns();
			}
		}
	}
	double secs = (double)(t - t0) / 1e9;
	double drain = -1;
#if defined(USE_REEL)
	/* Time until everything emitted is on disk (stop flushes and joins
	 * the consumer); LTTng's equivalent is `lttng stop`, timed by run.sh. */
	uint64_t s0 = now_ns();
	if (reel_output_stop() != 0)
		die("reel_output_stop failed");
	drain = (double)(now_ns() - s0) / 1e9;
#endif
	printf("result tracer=%s mode=sustained emitted=%" PRIu64 " seconds=%.6f rate=%.0f "
	       "target=%.0f drain_s=%.6f\n",
	       TRACER, i, secs, (double)i / secs, o->rate, drain);
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: tracebench one_int|four_u64_str|disabled|scaling|sustained\n"
			"         [-n EVENTS] [-r REPS] [-w WARMUP] [-c CPU[,CPU]]\n"
			"         [-s SECONDS] [-R RATE]\n");
	exit(2);
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end); /* accepts 1e7 */
	if (errno || end == s || *end || v < 0 || v > 1e15)
		usage();
	return (uint64_t)v;
}

int main(int argc, char **argv)
{
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	struct options o = {
		.events = 10000000,
		.warmup = 1000000,
		.reps = 5,
		.cpu = { nproc > 1 ? (int)nproc - 1 : 0, 0 },
		.seconds = 2,
		.rate = 0,
	};
	if (argc < 2)
		usage();
	o.mode = argv[1];
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "n:r:w:c:s:R:")) != -1) {
		switch (c) {
		case 'n': o.events = parse_u64(optarg); break;
		case 'r': o.reps = (unsigned)parse_u64(optarg); break;
		case 'w': o.warmup = parse_u64(optarg); break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &o.cpu[0], &o.cpu[1]) < 1)
				usage();
			break;
		case 's': o.seconds = strtod(optarg, NULL); break;
		case 'R': o.rate = (double)parse_u64(optarg); break;
		default: usage();
		}
	}
	if (o.reps < 1 || o.reps > 64 || o.events < 1 || optind != argc)
		usage();

	if (strcmp(o.mode, "one_int") == 0)
		run_per_event(&o, loop_one_int, true);
	else if (strcmp(o.mode, "four_u64_str") == 0)
		run_per_event(&o, loop_four, true);
	else if (strcmp(o.mode, "disabled") == 0)
		run_per_event(&o, loop_one_int, false);
	else if (strcmp(o.mode, "scaling") == 0)
		run_scaling(&o);
	else if (strcmp(o.mode, "sustained") == 0)
		run_sustained(&o);
	else
		usage();
	fflush(stdout);
	return 0;
}
