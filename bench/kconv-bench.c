/* SPDX-License-Identifier: MIT */
/*
 * kconv-bench: the cost of converting real tracefs raw pages to CTF
 * (src/kernel/kconvert), beside libtraceevent's reading of the same pages
 * (kbuffer to walk the records, tep to find each event's class and read
 * its fields: how a tracefs consumer such as trace-cmd reads them).
 * Run by bench/kernel.sh; see doc/benchmarks.md, "Kernel domain".
 *
 *   kconv-bench [SECONDS [BUFFER_KB [REPS]]]   (root; defaults 1 65536 5)
 *
 * 1. Capture: a tracefs instance of its own (instances/reel-bench-<pid>),
 *    sched_switch, sched_wakeup and every syscall enabled, BUFFER_KB of
 *    buffer per CPU, not overwritten when full; two threads do cheap
 *    syscalls (getppid, a 1-byte read of /dev/zero, openat+close, and a
 *    1 us sleep every 64 rounds: switches and wake-ups) for SECONDS; then
 *    every CPU's trace_pipe_raw is read into memory, the event formats
 *    kept, and the instance removed.
 * 2. Timing, pinned to the last CPU: REPS passes of kconv_page() over every
 *    captured page (the packets are dropped), each with a fresh converter
 *    (building it is not timed), alternating with REPS passes of the peer.
 *    The median pass gives ns/event.
 *
 * Prints "bench NAME reel=... peer=... unit=... speedup=X" lines and "#"
 * lines for humans. Exit status 0, 1 on an error, 2 when not root or no
 * tracefs (nothing measured).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel/kconvert.h"

#ifdef HAVE_TRACEEVENT
#include <event-parse.h>
#include <kbuffer.h>
#endif

#define TARGET_NS 30.0        /* the issue's converter budget per event */
#define TARGET_RATE 3000000.0 /* events/s the issue expects a machine to produce */

struct format {
	char system[16];
	char name[96];
	char *text;
};

struct capture {
	char *pages; /* nr_pages * subbuf bytes */
	uint32_t *cpu_of;
	size_t nr_pages, cap_pages, subbuf;
	uint32_t nr_cpus;
	struct format *formats;
	size_t nr_formats;
	uint64_t dropped;
};

static const char *tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	for (size_t i = 0; i < 2; i++) {
		char p[64];
		snprintf(p, sizeof(p), "%s/instances", roots[i]);
		if (access(p, W_OK) == 0)
			return roots[i];
	}
	return NULL;
}

static char *read_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t len = 0, cap = 8192;
	char *buf = malloc(cap);
	for (ssize_t n; buf; len += (size_t)n) {
		if (len + 1 == cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kconv-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ssize_t n = write(fd, text, strlen(text));
	int err = n == (ssize_t)strlen(text) ? 0 : -1;
	if (err)
		fprintf(stderr, "kconv-bench: write %s: %s\n", path, strerror(errno));
	close(fd);
	return err;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- capture ------------------------------------------------------------ */

static atomic_bool stop_load;

static void *syscall_load(void *arg)
{
	(void)arg;
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	char c;
	struct timespec us = { 0, 1000 };
	for (unsigned i = 0; !atomic_load_explicit(&stop_load, memory_order_relaxed); i++) {
		(void)getppid();
		if (read(zero, &c, 1) < 0)
			break;
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		if (i % 64 == 0)
			nanosleep(&us, NULL);
	}
	close(zero);
	return NULL;
}

static int add_format(struct capture *cap, const char *events, const char *system,
		      const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/%s/format", events, system, name);
	char *text = read_text(path);
	if (!text)
		return 0; /* not an event (a control file) */
	struct format *grown = realloc(cap->formats, (cap->nr_formats + 1) * sizeof(*grown));
	if (!grown) {
		free(text);
		return -1;
	}
	cap->formats = grown;
	struct format *f = &cap->formats[cap->nr_formats++];
	snprintf(f->system, sizeof(f->system), "%s", system);
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->text = text;
	return 0;
}

static int read_cpu(struct capture *cap, const char *inst, uint32_t cpu)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/per_cpu/cpu%u/trace_pipe_raw", inst, cpu);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		if (cap->nr_pages == cap->cap_pages) {
			size_t n = cap->cap_pages ? cap->cap_pages * 2 : 4096;
			char *p = realloc(cap->pages, n * cap->subbuf);
			uint32_t *c = realloc(cap->cpu_of, n * sizeof(*c));
			if (p)
				cap->pages = p;
			if (c)
				cap->cpu_of = c;
			if (!p || !c) {
				close(fd);
				return -1;
			}
			cap->cap_pages = n;
		}
		char *page = cap->pages + cap->nr_pages * cap->subbuf;
		ssize_t n = read(fd, page, cap->subbuf);
		if (n <= 0)
			break;
		memset(page + n, 0, cap->subbuf - (size_t)n);
		cap->cpu_of[cap->nr_pages++] = cpu;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/per_cpu/cpu%u/stats", inst, cpu);
	char *stats = read_text(path);
	const char *d = stats ? strstr(stats, "dropped events: ") : NULL;
	if (d)
		cap->dropped += strtoull(d + 16, NULL, 10);
	free(stats);
	return 0;
}

static int capture(struct capture *cap, const char *root, double seconds, unsigned buffer_kb)
{
	char inst[256], events[300], num[32];
	snprintf(inst, sizeof(inst), "%s/instances/reel-bench-%d", root, (int)getpid());
	if (mkdir(inst, 0755) < 0) {
		fprintf(stderr, "kconv-bench: mkdir %s: %s\n", inst, strerror(errno));
		return -1;
	}
	int err = -1;
	snprintf(num, sizeof(num), "%u", buffer_kb);
	snprintf(events, sizeof(events), "%s/events", inst);
	if (write_text(inst, "tracing_on", "0") || write_text(inst, "options/overwrite", "0") ||
	    write_text(inst, "buffer_size_kb", num) ||
	    write_text(events, "sched/sched_switch/enable", "1") ||
	    write_text(events, "sched/sched_wakeup/enable", "1") ||
	    write_text(events, "syscalls/enable", "1"))
		goto out;
	char path[512];
	snprintf(path, sizeof(path), "%s/buffer_subbuf_size_kb", inst);
	char *sub = read_text(path);
	cap->subbuf = sub && atoi(sub) > 0 ? (size_t)atoi(sub) * 1024 : (size_t)sysconf(_SC_PAGESIZE);
	free(sub);
	cap->nr_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_CONF);

	pthread_t load[2];
	atomic_store(&stop_load, false);
	if (write_text(inst, "tracing_on", "1"))
		goto out;
	for (int i = 0; i < 2; i++)
		pthread_create(&load[i], NULL, syscall_load, NULL);
	struct timespec d = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	nanosleep(&d, NULL);
	atomic_store(&stop_load, true);
	for (int i = 0; i < 2; i++)
		pthread_join(load[i], NULL);
	write_text(inst, "tracing_on", "0");

	if (add_format(cap, events, "sched", "sched_switch") ||
	    add_format(cap, events, "sched", "sched_wakeup"))
		goto out;
	snprintf(path, sizeof(path), "%s/syscalls", events);
	DIR *dir = opendir(path);
	if (!dir)
		goto out;
	for (struct dirent *e; (e = readdir(dir));)
		if (e->d_name[0] != '.' && add_format(cap, events, "syscalls", e->d_name)) {
			closedir(dir);
			goto out;
		}
	closedir(dir);
	for (uint32_t cpu = 0; cpu < cap->nr_cpus; cpu++)
		if (read_cpu(cap, inst, cpu))
			goto out;
	err = 0;
out:
	write_text(inst, "tracing_on", "0");
	write_text(events, "enable", "0");
	if (rmdir(inst) < 0) {
		fprintf(stderr, "kconv-bench: rmdir %s: %s\n", inst, strerror(errno));
		err = -1;
	}
	return err;
}

/* ---- Reel's converter --------------------------------------------------- */

struct sink {
	uint64_t packets, bytes;
};

static void drop_packet(void *arg, uint32_t cpu, const char *packet, size_t size)
{
	struct sink *s = arg;
	(void)cpu;
	(void)packet;
	s->packets++;
	s->bytes += size;
}

/* One pass; returns the seconds it took, the events and output bytes. */
static double reel_pass(const struct capture *cap, uint64_t *ret_events, struct sink *ret_sink,
			uint64_t *ret_unknown)
{
	struct sink sink = { 0 };
	struct kconv_config cfg = { .nr_cpus = cap->nr_cpus,
				    .packet_size = 1u << 20,
				    .packet = drop_packet,
				    .arg = &sink };
	struct kconv *kc;
	if (kconv_new(&cfg, &kc)) {
		fprintf(stderr, "kconv-bench: kconv_new failed\n");
		exit(1);
	}
	for (size_t i = 0; i < cap->nr_formats; i++)
		kconv_add_event(kc, cap->formats[i].system, cap->formats[i].name,
				cap->formats[i].text);
	uint64_t events = 0;
	double t0 = now_s();
	for (size_t i = 0; i < cap->nr_pages; i++) {
		int n = kconv_page(kc, cap->cpu_of[i], cap->pages + i * cap->subbuf, cap->subbuf);
		if (n > 0)
			events += (uint64_t)n;
	}
	for (uint32_t cpu = 0; cpu < cap->nr_cpus; cpu++)
		kconv_flush(kc, cpu, false);
	double t = now_s() - t0;
	struct kconv_stats st;
	kconv_stats(kc, &st);
	kconv_destroy(kc);
	*ret_events = events;
	*ret_sink = sink;
	*ret_unknown = st.unknown;
	return t;
}

/* ---- the peer: libtraceevent ------------------------------------------------ */

#ifdef HAVE_TRACEEVENT
struct peer {
	struct tep_handle *tep;
	struct kbuffer *kbuf;
	char *out; /* what was read: a buffer reused as Reel's packets are */
	size_t out_size;
};

static int peer_new(struct peer *p, const struct capture *cap)
{
	p->tep = tep_alloc();
	p->kbuf = kbuffer_alloc(KBUFFER_LSIZE_8, KBUFFER_ENDIAN_LITTLE);
	p->out_size = 1u << 20;
	p->out = malloc(p->out_size);
	if (!p->tep || !p->kbuf || !p->out)
		return -1;
	tep_set_long_size(p->tep, 8);
	tep_set_page_size(p->tep, (int)cap->subbuf);
	tep_set_file_bigendian(p->tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(p->tep, TEP_LITTLE_ENDIAN);
	for (size_t i = 0; i < cap->nr_formats; i++)
		tep_parse_event(p->tep, cap->formats[i].text, strlen(cap->formats[i].text),
				cap->formats[i].system);
	return 0;
}

/* Read every field of one record, as a consumer that keeps them does. */
static size_t peer_event(struct peer *p, void *data, int size, unsigned long long ts, size_t off)
{
	struct tep_record rec = { .ts = ts, .size = size, .data = data };
	struct tep_event *ev = tep_find_event(p->tep, tep_data_type(p->tep, &rec));
	if (!ev)
		return off;
	if (off + 8 + (size_t)size * 2 > p->out_size)
		off = 0;
	memcpy(p->out + off, &ts, 8);
	off += 8;
	for (struct tep_format_field *f = ev->format.fields; f; f = f->next) {
		if (f->flags & TEP_FIELD_IS_DYNAMIC) {
			unsigned long long loc = tep_read_number(p->tep, (char *)data + f->offset, f->size);
			unsigned int o = (unsigned int)(loc & 0xffff), n = (unsigned int)(loc >> 16);
			if (f->flags & TEP_FIELD_IS_RELATIVE)
				o += (unsigned int)(f->offset + f->size);
			if (o + n > (unsigned int)size)
				n = 0;
			memcpy(p->out + off, (char *)data + o, n);
			off += n;
		} else if (f->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_STRING)) {
			memcpy(p->out + off, (char *)data + f->offset, (size_t)f->size);
			off += (size_t)f->size;
		} else {
			unsigned long long v = tep_read_number(p->tep, (char *)data + f->offset, f->size);
			memcpy(p->out + off, &v, 8);
			off += (size_t)f->size;
		}
	}
	return off;
}

static double peer_pass(struct peer *p, const struct capture *cap, uint64_t *ret_events)
{
	uint64_t events = 0;
	size_t off = 0;
	double t0 = now_s();
	for (size_t i = 0; i < cap->nr_pages; i++) {
		unsigned long long ts;
		if (kbuffer_load_subbuffer(p->kbuf, cap->pages + i * cap->subbuf) < 0)
			continue;
		for (void *d = kbuffer_read_event(p->kbuf, &ts); d; d = kbuffer_next_event(p->kbuf, &ts)) {
			off = peer_event(p, d, kbuffer_event_size(p->kbuf), ts, off);
			events++;
		}
	}
	double t = now_s() - t0;
	*ret_events = events;
	return t;
}
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	unsigned buffer_kb = argc > 2 ? (unsigned)atoi(argv[2]) : 65536;
	int reps = argc > 3 ? atoi(argv[3]) : 5;
	if (seconds <= 0 || !buffer_kb || reps < 1 || reps > 99) {
		fprintf(stderr, "usage: kconv-bench [SECONDS [BUFFER_KB [REPS]]]\n");
		return 1;
	}
	const char *root = tracefs_root();
	if (geteuid() != 0 || !root) {
		printf("SKIPPED: kconv-bench: %s\n",
		       geteuid() != 0 ? "needs root" : "no writable tracefs instances/");
		return 2;
	}
	struct capture cap = { 0 };
	if (capture(&cap, root, seconds, buffer_kb))
		return 1;

	/* Pinned, as the other benchmarks' emitting thread, to the last CPU. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(ncpu > 0 ? ncpu - 1 : 0), &set);
	sched_setaffinity(0, sizeof(set), &set);

	double reel_ns[99], peer_ns[99] = { 0 };
	uint64_t events = 0, unknown = 0, peer_events = 0;
	struct sink sink = { 0 };
#ifdef HAVE_TRACEEVENT
	struct peer tep_peer = { 0 };
	if (peer_new(&tep_peer, &cap)) {
		fprintf(stderr, "kconv-bench: libtraceevent set-up failed\n");
		return 1;
	}
	peer_pass(&tep_peer, &cap, &peer_events); /* warm-up */
#endif
	reel_pass(&cap, &events, &sink, &unknown); /* warm-up */
	for (int r = 0; r < reps; r++) {
		reel_ns[r] = reel_pass(&cap, &events, &sink, &unknown) * 1e9 / (double)(events ? events : 1);
#ifdef HAVE_TRACEEVENT
		peer_ns[r] = peer_pass(&tep_peer, &cap, &peer_events) * 1e9 /
			     (double)(peer_events ? peer_events : 1);
#endif
	}
	qsort(reel_ns, (size_t)reps, sizeof(double), cmp_double);
	qsort(peer_ns, (size_t)reps, sizeof(double), cmp_double);
	double reel = reel_ns[reps / 2], peer = peer_ns[reps / 2];

	double in_mb = (double)(cap.nr_pages * cap.subbuf) / 1e6;
	printf("# kconv: captured %.1f MB (%zu sub-buffers of %zu bytes, %u CPUs) in %.1f s: %llu events, "
	       "kernel dropped %llu; %zu event formats\n",
	       in_mb, cap.nr_pages, cap.subbuf, cap.nr_cpus, seconds, (unsigned long long)events,
	       (unsigned long long)cap.dropped, cap.nr_formats);
	printf("# kconv reel: %.2f ns/event (min %.2f, max %.2f, median of %d passes over all pages); "
	       "output %.1f bytes/event in %llu packets; unconverted records %llu\n",
	       reel, reel_ns[0], reel_ns[reps - 1], reps,
	       (double)sink.bytes / (double)(events ? events : 1), (unsigned long long)sink.packets,
	       (unsigned long long)unknown);
#ifdef HAVE_TRACEEVENT
	printf("# kconv peer: libtraceevent %s: kbuffer + tep_find_event + every field read: %.2f ns/event "
	       "(min %.2f, max %.2f), %llu events\n",
	       TRACEEVENT_VERSION, peer, peer_ns[0], peer_ns[reps - 1], (unsigned long long)peer_events);
	if (peer_events != events)
		printf("# WARNING: the peer read %llu events, Reel %llu\n",
		       (unsigned long long)peer_events, (unsigned long long)events);
#endif
	double rate = 1e9 / reel, peer_rate = peer > 0 ? 1e9 / peer : 0;
	printf("# kconv: at %.0f M events/s, converting takes %.1f%% of one core (target %.0f ns/event: %.0f%%): %s\n",
	       TARGET_RATE / 1e6, TARGET_RATE * reel / 1e7, TARGET_NS, TARGET_RATE * TARGET_NS / 1e7,
	       reel <= TARGET_NS ? "met" : "MISSED");
#ifdef HAVE_TRACEEVENT
	printf("bench kconv_ns_per_event reel=%.2f peer=%.2f unit=ns/event speedup=%.2f\n", reel, peer,
	       peer / reel);
	printf("bench kconv_events_per_s_one_core reel=%.0f peer=%.0f unit=events/s speedup=%.2f\n",
	       rate, peer_rate, rate / peer_rate);
#else
	printf("bench kconv_ns_per_event reel=%.2f unit=ns/event\n", reel);
	printf("SKIPPED: kconv peer: built without libtraceevent\n");
#endif
	printf("bench kconv_core_share_at_3M reel=%.3f peer=%.3f unit=cores speedup=%.2f\n",
	       TARGET_RATE / rate, TARGET_RATE / (1e9 / TARGET_NS), (TARGET_RATE / (1e9 / TARGET_NS)) / (TARGET_RATE / rate));
	return 0;
}
