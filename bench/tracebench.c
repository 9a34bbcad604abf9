/* SPDX-License-Identifier: MIT */
/*
 * tracebench: the benchmark driver, one source compiled twice, with
 * -DUSE_REEL (Reel) and with -DUSE_LTTNG (LTTng-UST), so that both tracers
 * run exactly the same loops. The tracer is configured from outside
 * (REEL_OUTPUT for Reel, an lttng session for LTTng); bench/run.sh does it.
 *
 *   tracebench MODE [-n EVENTS] [-r REPS] [-w WARMUP] [-c CPU[,CPU]]
 *                   [-k CHUNK] [-p PAUSE_MS] [-s SECONDS] [-R RATE]
 *
 * -n events per repetition (per thread), -r repetitions (the median is
 * printed), -w warm-up events, -c the CPU(s) of the emitting thread(s),
 * -k/-p time events in chunks of CHUNK with PAUSE_MS between them (see
 * "timed chunks" below), -s/-R duration and pace of "sustained".
 *
 * Modes:
 *   one_int       ns per event, one int32 field          (tracing on)
 *   four_u64_str  ns per event, four uint64 + a string   (tracing on)
 *   disabled      ns per call of a disabled one_int       (tracing off)
 *   scaling       event rate of two threads on two CPUs / one thread
 *   baseline      the same, for a loop that only reads the clock and
 *                 stores 8 bytes (no tracer): the machine's ceiling
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
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

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
	uint64_t chunk; /* events per timed chunk; 0: all at once */
	double pause_ms; /* between chunks */
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

/* Baseline of workload d: what any tracer must do at least, without a
 * consumer: read the clock and store 8 bytes in a buffer of this thread,
 * sequentially. How this scales from one CPU to two is the machine's own
 * ceiling for d. */
#define BASELINE_WORDS (4u << 20) /* 32 MiB */
static __thread uint64_t *baseline_buf;

static __attribute__((noinline)) void loop_baseline(uint64_t n)
{
	if (!baseline_buf) {
		baseline_buf = calloc(BASELINE_WORDS, sizeof(*baseline_buf));
		if (!baseline_buf)
			die("out of memory");
		memset(baseline_buf, 1, BASELINE_WORDS * sizeof(*baseline_buf));
	}
	for (uint64_t i = 0; i < n; i++) {
#if defined(__x86_64__) || defined(__i386__)
		baseline_buf[i & (BASELINE_WORDS - 1)] = __rdtsc();
#else
		baseline_buf[i & (BASELINE_WORDS - 1)] = now_ns();
#endif
	}
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

/* ---- timed chunks ----------------------------------------------------------
 *
 * Per-event costs are measured in chunks of events small enough to fit in
 * the tracer's buffers, with a pause between chunks long enough for its
 * consumer to write them out: what is timed is the tracer's own cost of
 * recording an event, not the disk's bandwidth (workload "sustained" is
 * about that), and no event is discarded, so no run is sped up by taking
 * the discard path. Threads start each chunk together (a barrier), so in
 * the two-thread case they do compete for the whole chunk.
 */

struct team;

struct worker {
	pthread_t thread;
	struct team *team;
	int cpu;
	uint64_t start_ns, end_ns;
	double busy_ns; /* summed over chunks: this thread's own time */
	double cpu_ns;  /* summed over chunks: this thread's CPU time */
};

struct team {
	unsigned nr;
	void (*loop)(uint64_t);
	uint64_t warmup;
	uint64_t n; /* events of the next chunk, per thread; 0: quit */
	pthread_barrier_t go, done;
	struct worker w[2];
};

/* CPU time of the calling thread: unlike wall time, it leaves out the time
 * the thread was preempted (on a two-CPU machine, by the tracer's own
 * consumer, which must run somewhere). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct team *t = w->team;
	pin_self(w->cpu);
	t->loop(t->warmup);
	for (;;) {
		pthread_barrier_wait(&t->go);
		uint64_t n = t->n;
		if (!n)
			break;
		uint64_t cpu0 = thread_cpu_ns();
		w->start_ns = now_ns();
		t->loop(n);
		w->end_ns = now_ns();
		w->busy_ns += (double)(w->end_ns - w->start_ns);
		w->cpu_ns += (double)(thread_cpu_ns() - cpu0);
		pthread_barrier_wait(&t->done);
	}
	free(baseline_buf);
	baseline_buf = NULL;
	return NULL;
}

static void pause_ms(double ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms * 1e6) % 1000000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void team_start(struct team *t, unsigned nr, const int *cpus, void (*loop)(uint64_t),
		       const struct options *o)
{
	*t = (struct team){ .nr = nr, .loop = loop, .warmup = o->warmup };
	pthread_barrier_init(&t->go, NULL, nr + 1);
	pthread_barrier_init(&t->done, NULL, nr + 1);
	for (unsigned i = 0; i < nr; i++) {
		t->w[i] = (struct worker){ .team = t, .cpu = cpus[i] };
		if (pthread_create(&t->w[i].thread, NULL, worker_main, &t->w[i]))
			die("pthread_create failed");
	}
}

static void team_stop(struct team *t)
{
	t->n = 0;
	pthread_barrier_wait(&t->go);
	for (unsigned i = 0; i < t->nr; i++)
		pthread_join(t->w[i].thread, NULL);
	pthread_barrier_destroy(&t->go);
	pthread_barrier_destroy(&t->done);
}

/* Emit `events` per thread in chunks; returns the nanoseconds spent
 * emitting, summed over chunks, each from the first thread's start to the
 * last thread's end. Pauses before each chunk (so after the warm-up too). */
static double team_run(struct team *t, const struct options *o, uint64_t events)
{
	double total = 0;
	for (uint64_t left = events; left;) {
		pause_ms(o->pause_ms);
		t->n = o->chunk && o->chunk < left ? o->chunk : left;
		left -= t->n;
		pthread_barrier_wait(&t->go);
		pthread_barrier_wait(&t->done);
		uint64_t begin = UINT64_MAX, end = 0;
		for (unsigned i = 0; i < t->nr; i++) {
			begin = t->w[i].start_ns < begin ? t->w[i].start_ns : begin;
			end = t->w[i].end_ns > end ? t->w[i].end_ns : end;
		}
		total += (double)(end - begin);
	}
	return total;
}

/* ---- per-event cost ------------------------------------------------------ */

static void run_per_event(const struct options *o, void (*loop)(uint64_t))
{
	struct team t;
	team_start(&t, 1, o->cpu, loop, o);
	double ns[64] = { 0 };
	for (unsigned r = 0; r < o->reps; r++)
		ns[r] = team_run(&t, o, o->events) / (double)o->events;
	team_stop(&t);
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

static void run_scaling(const struct options *o, void (*loop)(uint64_t))
{
	if (o->cpu[0] == o->cpu[1])
		die("scaling needs two different CPUs (-c A,B)");
	struct team one, two;
	team_start(&one, 1, o->cpu, loop, o);
	team_start(&two, 2, o->cpu, loop, o);
	double r1[64] = { 0 }, r2[64] = { 0 }, own[64] = { 0 }, each[2][64] = { { 0 } };
	double c1[64] = { 0 }, c2[64] = { 0 };
	/* Alternate so that a slow phase of the machine hits both alike. */
	for (unsigned r = 0; r < o->reps; r++) {
		one.w[0].cpu_ns = 0;
		r1[r] = (double)o->events / (team_run(&one, o, o->events) / 1e9);
		c1[r] = (double)o->events / (one.w[0].cpu_ns / 1e9);
		two.w[0].busy_ns = two.w[1].busy_ns = 0;
		two.w[0].cpu_ns = two.w[1].cpu_ns = 0;
		r2[r] = 2.0 * (double)o->events / (team_run(&two, o, o->events) / 1e9);
		/* Diagnostic: each thread's rate over its own running time,
		 * summed; higher than rate2 when the threads did not run
		 * exactly together (start skew, preemption). */
		each[0][r] = (double)o->events / (two.w[0].busy_ns / 1e9);
		each[1][r] = (double)o->events / (two.w[1].busy_ns / 1e9);
		own[r] = each[0][r] + each[1][r];
		/* Writer scalability alone: rates over each thread's CPU time. */
		c2[r] = (double)o->events / (two.w[0].cpu_ns / 1e9) +
			(double)o->events / (two.w[1].cpu_ns / 1e9);
	}
	team_stop(&one);
	team_stop(&two);
	double m1 = median(r1, o->reps), m2 = median(r2, o->reps), mo = median(own, o->reps);
	uint64_t emitted = 3 * (o->warmup + (uint64_t)o->reps * o->events);
	double e0 = median(each[0], o->reps), e1 = median(each[1], o->reps);
	double mc1 = median(c1, o->reps), mc2 = median(c2, o->reps);
	printf("result tracer=%s mode=%s rate1=%.0f rate2=%.0f scaling=%.3f "
	       "rate2_own=%.0f rate2_each=%.0f,%.0f scaling_cpu=%.3f cpus=%d,%d reps=%u "
	       "emitted=%" PRIu64 "\n",
	       TRACER, o->mode, m1, m2, m2 / m1, mo, e0, e1, mc2 / mc1, o->cpu[0], o->cpu[1],
	       o->reps, emitted);
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
	pin_self(o->cpu[0]);
	uint64_t i = 0;
	uint64_t t0 = now_ns(), t = t0;
	uint64_t deadline = t0 + (uint64_t)(o->seconds * 1e9);
	double ns_per_burst = o->rate > 0 ? 1e9 * BURST / o->rate : 0;
	uint64_t longest = 0; /* the slowest burst: stalls show here */
	for (uint64_t k = 1; t < deadline; k++) {
		uint64_t b0 = t;
		for (unsigned j = 0; j < BURST; j++, i++)
			TP_ONE_INT((int32_t)i);
		t = now_ns();
		longest = t - b0 > longest ? t - b0 : longest;
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
	 * the consumer); LTTng's equivalent is `lttng stop`, timed by run.sh.
	 * Under reeld, run.sh times `reel stop` instead. */
	if (getenv("REEL_OUTPUT")) {
		uint64_t s0 = now_ns();
		if (reel_output_stop() != 0)
			die("reel_output_stop failed");
		drain = (double)(now_ns() - s0) / 1e9;
	}
#endif
	printf("result tracer=%s mode=sustained emitted=%" PRIu64 " seconds=%.6f rate=%.0f "
	       "target=%.0f drain_s=%.6f longest_burst_us=%.1f burst=%u\n",
	       TRACER, i, secs, (double)i / secs, o->rate, drain, (double)longest / 1e3, BURST);
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: tracebench one_int|four_u64_str|disabled|scaling|baseline|sustained\n"
			"         [-n EVENTS] [-r REPS] [-w WARMUP] [-c CPU[,CPU]]\n"
			"         [-k CHUNK] [-p PAUSE_MS] [-s SECONDS] [-R RATE]\n");
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
		.chunk = 0,
		.pause_ms = 0,
		.seconds = 2,
		.rate = 0,
	};
	if (argc < 2)
		usage();
	o.mode = argv[1];
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "n:r:w:c:k:p:s:R:")) != -1) {
		switch (c) {
		case 'n': o.events = parse_u64(optarg); break;
		case 'r': o.reps = (unsigned)parse_u64(optarg); break;
		case 'w': o.warmup = parse_u64(optarg); break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &o.cpu[0], &o.cpu[1]) < 1)
				usage();
			break;
		case 'k': o.chunk = parse_u64(optarg); break;
		case 'p': o.pause_ms = strtod(optarg, NULL); break;
		case 's': o.seconds = strtod(optarg, NULL); break;
		case 'R': o.rate = (double)parse_u64(optarg); break;
		default: usage();
		}
	}
	if (o.reps < 1 || o.reps > 64 || o.events < 1 || optind != argc)
		usage();

	static const char *const modes[] = { "one_int", "four_u64_str", "disabled", "scaling",
					     "baseline", "sustained" };
	bool known = false;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		known = known || strcmp(o.mode, modes[i]) == 0;
	if (!known)
		usage();
	/* A measurement in the wrong tracer state must fail, never pass for a
	 * fast tracer. The baseline does not trace. */
	bool disabled = strcmp(o.mode, "disabled") == 0;
	if (strcmp(o.mode, "baseline") != 0 && !!TP_ENABLED() == disabled)
		die(disabled ? "tracepoint is enabled: a tracing session is active" :
			       "tracepoint is disabled: no active tracing session");
	if (strcmp(o.mode, "baseline") == 0)
		run_scaling(&o, loop_baseline);
	else if (strcmp(o.mode, "one_int") == 0 || strcmp(o.mode, "disabled") == 0)
		run_per_event(&o, loop_one_int);
	else if (strcmp(o.mode, "four_u64_str") == 0)
		run_per_event(&o, loop_four);
	else if (strcmp(o.mode, "scaling") == 0)
		run_scaling(&o, loop_one_int);
	else if (strcmp(o.mode, "sustained") == 0)
		run_sustained(&o);
	else
		usage();
	fflush(stdout);
	return 0;
}
