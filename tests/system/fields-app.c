/*
 * End-to-end test application. Modes (first argument):
 *   fields        one event of each field kind, edge values; then one
 *                 event pinned to each CPU, printing "cpu N" lines
 *   burst N       N events as fast as possible ("seq" events)
 *   big SIZE      a string event of SIZE bytes, then one "seq" event
 *   nest DEPTH    DEPTH nested reservations (as from signal handlers)
 *   fork          parent and child both trace; only the parent records
 *   quiet         one event, then wait until stdin closes
 *   api DIR N     start tracing into DIR in code, N events, stop
 *   extra         events defined inconsistently or malformed (none is
 *                 recorded), then one "seq" event
 *   plugin PATH   load a provider library, trace through it, unload it
 *   chdir         change to / first, then trace (relative REEL_OUTPUT)
 *   strings N     N string events while another thread rewrites the string
 *   cycles DIR N  N start/stop cycles while two threads trace; prints the
 *                 open descriptors and shared memory before and after
 *   threads T N   T threads emit N "thread_seq" events each, moving
 *                 themselves from CPU to CPU as they go
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <dlfcn.h>
#include <float.h>
#include <pthread.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <reel/reel.h>

#include "fields-tp.h"

/* Also defined, differently, in fields-extra.c. */
REEL_EVENT(extra, conflict, REEL_LOGLEVEL_INFO,
	(int32_t v),
	reel_field_integer(int32_t, v, v))

void extra_emit(void);

static volatile int stop_threads;

static char shared_text[4096];
static void *rewrite_text(void *arg)
{
	(void)arg;
	for (unsigned long i = 0; !stop_threads; i++) {
		if (i & 1) {
			memset(shared_text, 'y', sizeof(shared_text) - 1);
		} else {
			memset(shared_text, 0, sizeof(shared_text));
			memcpy(shared_text, "short", 5);
		}
	}
	return NULL;
}

static void *trace_forever(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; !stop_threads; i++)
		reel_tracepoint(fields, seq, i);
	return NULL;
}

static long events_per_thread;
static void *emit_migrating(void *arg)
{
	uint32_t thread = (uint32_t)(uintptr_t)arg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	for (long i = 0; i < events_per_thread; i++) {
		if (i % 1000 == 0 && cpus > 1) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET((int)((thread + (unsigned long)i / 1000) % (unsigned long)cpus), &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		reel_tracepoint(fields, thread_seq, thread, (uint64_t)i);
	}
	return NULL;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static long shmem_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "RssShmem:", 9) == 0)
			kb = atol(line + 9);
	if (f)
		fclose(f);
	return kb;
}

static void emit_fields(void)
{
	reel_tracepoint(fields, integers, INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN, UINT8_MAX,
			UINT16_MAX, UINT32_MAX, UINT64_MAX);
	reel_tracepoint(fields, integers, INT8_MAX, INT16_MAX, INT32_MAX, INT64_MAX, 0, 1, 2, 3);
	reel_tracepoint(fields, integers, -1, -2, -3, -4, 5, 6, 0xdeadbeef, 1234567890123456789ull);
	reel_tracepoint(fields, floats, 1.5f, -2.25);
	reel_tracepoint(fields, floats, 0.0f, 1e300);
	reel_tracepoint(fields, floats, -0.125f, 3.141592653589793);
	reel_tracepoint(fields, strings, "", "hello, world", "caf\xc3\xa9 \"quoted\" back\\slash");
	reel_tracepoint(fields, strings, NULL, "x", "line1\nline2\ttab");
	static const int32_t a[3] = { -1, 0, INT32_MAX };
	static const uint8_t seq[5] = { 1, 2, 3, 254, 255 };
	static const int64_t seq64[2] = { INT64_MIN, INT64_MAX };
	reel_tracepoint(fields, arrays, a, seq, 5, seq64, 2);
	reel_tracepoint(fields, arrays, a, seq, 0, seq64, 0);
	reel_tracepoint(fields, enums, 0, 1);
	reel_tracepoint(fields, enums, 7, -5);
	reel_tracepoint(fields, enums, 42, 9);
	reel_tracepoint(fields, empty);
}

static void emit_on_each_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	for (long cpu = 0; cpu < n && cpu < 64; cpu++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((int)cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			continue;
		sched_yield();
		reel_tracepoint(fields, cpu, (int32_t)cpu);
		printf("cpu %ld\n", cpu);
	}
}

/* Nested reservations, as signal handlers interrupting tracing make them:
 * DEPTH events reserved one inside the other, committed innermost first. */
static void nest(int depth)
{
	struct reel_event_ctx ctx[16];
	int reserved[16];
	if (depth > 16)
		depth = 16;
	const struct reel_event_targets *targets = reel__event_fields___seq.targets;
	if (!targets)
		return;
	for (int i = 0; i < depth; i++) {
		reserved[i] = reel_event_reserve(&ctx[i], &targets->target[0], 8) == 0;
		if (reserved[i]) {
			uint64_t value = 100 + (uint64_t)i;
			memcpy(ctx[i].pos, &value, 8);
		}
	}
	for (int i = depth - 1; i >= 0; i--)
		if (reserved[i])
			reel_event_commit(&ctx[i]);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fields-app MODE [ARGS]\n");
		return 2;
	}
	const char *mode = argv[1];
	if (strcmp(mode, "fields") == 0) {
		emit_fields();
		emit_on_each_cpu();
	} else if (strcmp(mode, "burst") == 0 && argc > 2) {
		uint64_t n = strtoull(argv[2], NULL, 0);
		for (uint64_t i = 0; i < n; i++)
			reel_tracepoint(fields, seq, i);
		printf("emitted %llu\n", (unsigned long long)n);
	} else if (strcmp(mode, "big") == 0 && argc > 2) {
		size_t size = strtoull(argv[2], NULL, 0);
		char *text = malloc(size + 1);
		if (!text)
			return 1;
		memset(text, 'x', size);
		text[size] = '\0';
		reel_tracepoint(fields, big, text);
		reel_tracepoint(fields, seq, 1);
		free(text);
	} else if (strcmp(mode, "nest") == 0 && argc > 2) {
		nest(atoi(argv[2]));
	} else if (strcmp(mode, "fork") == 0) {
		reel_tracepoint(fields, seq, 1);
		pid_t child = fork();
		if (child == 0) {
			for (int i = 0; i < 100000; i++)
				reel_tracepoint(fields, seq, 1000000 + (uint64_t)i);
			_exit(0);
		}
		int status;
		waitpid(child, &status, 0);
		/* A second child starts tracing of its own, into its own
		 * buffers: the parent's trace must not see its events. */
		child = fork();
		if (child == 0) {
			struct reel_output_config config = { .struct_size = sizeof(config),
							     .path = "child-trace" };
			if (reel_output_start(&config) != 0)
				_exit(1);
			for (int i = 0; i < 1000; i++)
				reel_tracepoint(fields, seq, 2000000 + (uint64_t)i);
			exit(0);
		}
		int status2;
		waitpid(child, &status2, 0);
		if (!WIFEXITED(status2) || WEXITSTATUS(status2) != 0)
			return 1;
		reel_tracepoint(fields, seq, 2);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;
	} else if (strcmp(mode, "quiet") == 0) {
		reel_tracepoint(fields, seq, 7);
		printf("ready\n");
		fflush(stdout);
		char buf[16];
		while (read(0, buf, sizeof(buf)) > 0)
			;
	} else if (strcmp(mode, "api") == 0 && argc > 3) {
		struct reel_output_config config = { .struct_size = sizeof(config),
						     .path = argv[2] };
		int err = reel_output_start(&config);
		if (err) {
			fprintf(stderr, "reel_output_start: %s\n", strerror(-err));
			return 1;
		}
		if (reel_output_start(&config) != -EBUSY)
			return 1;
		int n = atoi(argv[3]);
		for (int i = 0; i < n; i++)
			reel_tracepoint(fields, seq, (uint64_t)i);
		err = reel_output_stop();
		if (err) {
			fprintf(stderr, "reel_output_stop: %s\n", strerror(-err));
			return 1;
		}
		reel_tracepoint(fields, seq, 999999); /* after stop: not recorded */
		printf("%s\n", reel_output_path());
	} else if (strcmp(mode, "extra") == 0) {
		reel_tracepoint(extra, conflict, 1);
		extra_emit();
		reel_tracepoint(fields, seq, 1);
	} else if (strcmp(mode, "plugin") == 0 && argc > 2) {
		void *lib = dlopen(argv[2], RTLD_NOW);
		if (!lib) {
			fprintf(stderr, "%s\n", dlerror());
			return 1;
		}
		void (*run)(void) = (void (*)(void))dlsym(lib, "plugin_run");
		if (!run)
			return 1;
		run();
		dlclose(lib);
		reel_tracepoint(fields, seq, 5);
	} else if (strcmp(mode, "chdir") == 0) {
		if (chdir("/") != 0)
			return 1;
		reel_tracepoint(fields, seq, 3);
	} else if (strcmp(mode, "strings") == 0 && argc > 2) {
		pthread_t writer;
		memcpy(shared_text, "short", 5);
		pthread_create(&writer, NULL, rewrite_text, NULL);
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++)
			reel_tracepoint(fields, big, shared_text);
		stop_threads = 1;
		pthread_join(writer, NULL);
	} else if (strcmp(mode, "threads") == 0 && argc > 3) {
		int nr = atoi(argv[2]);
		pthread_t threads[64];
		events_per_thread = atol(argv[3]);
		if (nr < 1 || nr > 64)
			return 2;
		for (int i = 0; i < nr; i++)
			pthread_create(&threads[i], NULL, emit_migrating, (void *)(uintptr_t)i);
		for (int i = 0; i < nr; i++)
			pthread_join(threads[i], NULL);
	} else if (strcmp(mode, "cycles") == 0 && argc > 3) {
		pthread_t threads[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&threads[i], NULL, trace_forever, NULL);
		struct reel_output_config config = { .struct_size = sizeof(config),
						     .path = argv[2],
						     .subbuf_size = 64 * 1024 };
		int cycles = atoi(argv[3]);
		for (int c = 0; c < cycles; c++) {
			if (reel_output_start(&config) != 0)
				return 1;
			struct timespec pause = { 0, 2000000 };
			nanosleep(&pause, NULL);
			reel_output_stop();
			if (c == 0 || c == cycles - 1)
				printf("cycle %d fds %d shmem %ld\n", c, count_fds(), shmem_kb());
		}
		stop_threads = 1;
		for (int i = 0; i < 2; i++)
			pthread_join(threads[i], NULL);
	} else {
		fprintf(stderr, "fields-app: bad mode %s\n", mode);
		return 2;
	}
	return 0;
}
