/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the analyses' engine (src/analysis): on synthetic kernel
 * event streams (two CPUs, threads switching, forks, syscalls that fail),
 * every cut into chunks, merged left to right and as (a.b).c and a.(b.c),
 * with every partial sent through its binary form, gives the report of
 * one sequential pass; the histogram's precision; malformed binary input;
 * the CPU analysis (CPU time, wakeup latency) on the same streams with
 * wakeups, and by hand; an fd's history (statedump, open, dup2 over it,
 * close, reopen, fork) at every cut; phases (userspace marks, syscalls
 * with and without the tid context) at every cut; the --sqlite database
 * (every table, row for row) at every cut; the ordered reducer
 * (chunks in a shuffled order, duplicates, a gap) against the in-order
 * merge; the Prometheus exposition of a hand-checked stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <unistd.h>

#include "analysis/analysis-local.h"
#include "analysis/analysis.h"
#include "analysis/hist.h"

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                              \
		}                                                                             \
	} while (0)

static struct an_names *names;
static uint32_t sysname[5];
static const char *files[] = {"/etc/passwd", "/tmp/a b", "/var/log/\"x\""};
static const char *comms[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"};

/* A consistent stream: n events, with the tid context or not; with io,
 * statedump fds and I/O syscalls' arguments (open, read, write, close,
 * dup2 on fds 0..8); with wakeups, sched_wakeup of any thread (running or
 * not) instead of some syscall events. */
static size_t gen_w(struct an_ev *v, size_t n, unsigned seed, bool with_tid, bool io, bool wakeups)
{
	srand(seed);
	int64_t cur[2] = {101, 102};
	int in_sys[64] = {0};
	uint32_t in_name[64] = {0};
	int64_t in_b[64] = {0};
	int64_t next_tid = 110;
	size_t k = 0;
	int64_t ts = 1000;
	for (int64_t t = 100; t < 104 && k < n; t++)
		v[k++] = (struct an_ev){.kind = AN_EV_SD_PROC, .ts = ts, .cpu = 0, .tid = -1, .a = t,
					.b = t == 103 ? 101 : t, .s1 = comms[t - 100], .l1 = strlen(comms[t - 100])};
	for (int64_t pid = 100; io && pid < 103 && k < n; pid++)
		for (int64_t fd = 0; fd < 4 && k < n; fd++)
			v[k++] = (struct an_ev){.kind = AN_EV_SD_FD, .ts = ts, .cpu = 0, .tid = -1, .a = pid, .b = fd,
						.s1 = files[(pid + fd) % 3], .l1 = strlen(files[(pid + fd) % 3])};
	while (k < n) {
		ts += 1 + rand() % 5000;
		int cpu = rand() % 2;
		int r = rand() % 100;
		struct an_ev *e = &v[k++];
		*e = (struct an_ev){.ts = ts, .cpu = cpu, .tid = -1};
		if (r < 10) {
			/* switch to a thread not running on the other CPU, or idle */
			int64_t t;
			do
				t = rand() % 5 ? 100 + rand() % (int)(next_tid - 100) : 0;
			while (t && t == cur[!cpu]);
			e->kind = AN_EV_SWITCH;
			e->a = t;
			e->b = cur[cpu];
			e->s1 = t ? comms[t % 8] : "swapper/0";
			e->l1 = strlen(e->s1);
			cur[cpu] = t;
		} else if (r < 12 && cur[cpu] && next_tid < 60 + 100) {
			e->kind = AN_EV_FORK;
			e->a = cur[cpu];
			e->s1 = comms[cur[cpu] % 8];
			e->l1 = strlen(e->s1);
			e->b = next_tid;
			e->c = rand() % 2 ? next_tid : cur[cpu];
			e->s2 = comms[next_tid % 8];
			e->l2 = strlen(e->s2);
			next_tid++;
		} else if (wakeups && r >= 80) {
			e->kind = AN_EV_WAKEUP;
			e->a = 100 + rand() % (int)(next_tid - 100);
		} else if (cur[cpu]) {
			int64_t t = cur[cpu];
			if (with_tid)
				e->tid = t;
			if (!in_sys[t - 100] || rand() % 20 == 0) {
				e->kind = AN_EV_SYS_ENTRY;
				e->name = sysname[rand() % (io ? 5 : 4)];
				in_sys[t - 100] = 1;
				in_name[t - 100] = e->name;
				if (io) {
					e->a = rand() % 9;
					e->b = rand() % 9;
					const char *f = files[rand() % 3];
					e->s1 = f;
					e->l1 = strlen(f);
					in_b[t - 100] = e->b;
				}
			} else {
				e->kind = AN_EV_SYS_EXIT;
				e->ret = rand() % 4 == 0 ? -(1 + rand() % 3) : rand() % 100;
				in_sys[t - 100] = 0;
				if (io) {
					e->name = in_name[t - 100];
					if (e->ret >= 0 && e->name == sysname[2])
						e->ret = 3 + e->ret % 6; /* openat: a new fd */
					else if (e->ret >= 0 && e->name == sysname[3])
						e->ret = 0; /* close */
					else if (e->ret >= 0 && e->name == sysname[4])
						e->ret = in_b[t - 100]; /* dup2 */
				}
			}
			e->io = an_io_kind(an_names_get(names, e->name));
		} else {
			e->kind = AN_EV_OTHER;
		}
	}
	return k;
}

/* The CPU tests compare the CPU report only: their streams (wakeups
 * instead of some syscalls) hit the syscall model's documented limit on
 * a CPU prefix's attributes (doc/analysis.md, "Limits"). */
static bool cpu_only;

/* buf with its chunk counts cut out: they differ, by design, between
 * groupings of the same events. */
static char *cut_chunks(char *buf)
{
	for (char *c = buf; (c = strstr(c, "\"chunks\":")); c += 9) {
		size_t w = strcspn(c + 9, ",");
		memmove(c + 9, c + 9 + w, strlen(c + 9 + w) + 1);
	}
	return buf;
}

/* A report (JSON, then text), its chunk counts cut out. */
static char *both_forms(int (*write)(const struct an_partial *, FILE *, bool),
			const struct an_partial *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f);
	CHECK(write(p, f, true) == 0);
	CHECK(write(p, f, false) == 0);
	fclose(f);
	CHECK(strstr(buf, "\"chunks\":"));
	return cut_chunks(buf);
}

/* The syscalls report, the I/O one and the CPU one (JSON). */
static char *report(const struct an_partial *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f);
	if (!cpu_only) {
		CHECK(an_report_syscalls(p, f, true) == 0);
		CHECK(an_report_io(p, f, true, 40) == 0);
	}
	CHECK(an_report_cpu(p, f, true, 1000) == 0);
	fclose(f);
	return cut_chunks(buf);
}

/* Through the binary form and back. */
static struct an_partial *roundtrip(struct an_partial *p)
{
	FILE *f = tmpfile();
	CHECK(f);
	CHECK(an_partial_write(p, f) == 0);
	rewind(f);
	struct an_partial *q = an_partial_read(names, f);
	CHECK(q);
	fclose(f);
	char *a = report(p), *b = report(q);
	CHECK(!strcmp(a, b));
	free(a);
	free(b);
	an_partial_destroy(p);
	return q;
}

static struct an_partial *map(const struct an_ev *v, size_t lo, size_t hi, unsigned flags)
{
	struct an_partial *p = an_partial_new(names, flags);
	CHECK(p);
	for (size_t i = lo; i < hi; i++)
		CHECK(an_partial_feed(p, &v[i]) == 0);
	CHECK(an_partial_end_chunk(p) == 0);
	return p;
}

/* Every split of v[0..n) into three chunks (x and y the cuts), merged
 * both ways ((a.b).c and a.(b.c)), the first and last chunks through the
 * binary form: `fn`'s report must be `want` each time. */
static void check_every_two_cuts(const struct an_ev *v, size_t n, unsigned flags,
				 char *(*fn)(const struct an_partial *), const char *want,
				 const char *what)
{
	for (size_t x = 0; x <= n; x++)
		for (size_t y = x; y <= n; y++)
			for (int g = 0; g < 2; g++) {
				struct an_partial *a = roundtrip(map(v, 0, x, flags)), *b = map(v, x, y, flags),
						  *c = roundtrip(map(v, y, n, flags));
				if (g) {
					CHECK(an_partial_merge(b, c) == 0);
					CHECK(an_partial_merge(a, b) == 0);
				} else {
					CHECK(an_partial_merge(a, b) == 0);
					CHECK(an_partial_merge(a, c) == 0);
				}
				char *got = fn(a);
				if (strcmp(got, want)) {
					fprintf(stderr, "%s, cuts %zu %zu:\n%s\n%s\n", what, x, y, want, got);
					exit(1);
				}
				free(got);
				an_partial_destroy(a);
			}
}

static void test_cuts(bool with_tid, unsigned flags, unsigned seed)
{
	enum { N = 600 };
	static struct an_ev v[N];
	cpu_only = flags & AN_CPU;
	size_t n = gen_w(v, N, seed, with_tid, flags & AN_IO, flags & AN_CPU);
	struct an_partial *seq = map(v, 0, n, flags);
	char *want = report(seq);
	if (flags & AN_CPU)
		CHECK(strstr(want, "\"cpu_ns\":") && strstr(want, "\"p99_ns\":") && strstr(want, "\"idle_ns\":"));
	CHECK(cpu_only || strstr(want, "\"count\":"));
	if (flags & AN_IO)
		CHECK(strstr(want, "\"duration_ns\":") && strstr(want, "\"name\":\"/tmp/a b\""));
	an_partial_destroy(seq);
	/* every single cut */
	for (size_t c = 0; c <= n; c++) {
		struct an_partial *a = roundtrip(map(v, 0, c, flags)), *b = roundtrip(map(v, c, n, flags));
		CHECK(an_partial_merge(a, b) == 0);
		char *got = report(a);
		if (strcmp(got, want)) {
			fprintf(stderr, "cut at %zu (tid %d flags %u seed %u):\n%s\n%s\n", c, with_tid, flags, seed, want, got);
			exit(1);
		}
		free(got);
		an_partial_destroy(a);
	}
	/* two cuts, both groupings */
	for (int k = 0; k < 300; k++) {
		size_t x = (size_t)rand() % (n + 1), y = (size_t)rand() % (n + 1);
		if (x > y) {
			size_t t = x;
			x = y;
			y = t;
		}
		struct an_partial *a = map(v, 0, x, flags), *b = map(v, x, y, flags), *c = map(v, y, n, flags);
		CHECK(an_partial_merge(a, b) == 0);
		CHECK(an_partial_merge(a, c) == 0);
		char *left = report(a);
		an_partial_destroy(a);
		a = map(v, 0, x, flags), b = map(v, x, y, flags), c = map(v, y, n, flags);
		CHECK(an_partial_merge(b, c) == 0);
		CHECK(an_partial_merge(a, roundtrip(b)) == 0);
		char *right = report(a);
		an_partial_destroy(a);
		CHECK(!strcmp(left, want));
		CHECK(!strcmp(right, want));
		free(left);
		free(right);
	}
	/* many chunks of 1..7 events */
	struct an_partial *acc = NULL;
	for (size_t lo = 0; lo < n;) {
		size_t hi = lo + 1 + (size_t)rand() % 7;
		if (hi > n)
			hi = n;
		struct an_partial *p = map(v, lo, hi, flags);
		if (!acc)
			acc = p;
		else
			CHECK(an_partial_merge(acc, p) == 0);
		lo = hi;
	}
	char *got = report(acc);
	if (strcmp(got, want)) {
		fprintf(stderr, "small chunks (tid %d flags %u seed %u):\n%s\n%s\n", with_tid, flags, seed, want, got);
		exit(1);
	}
	free(got);
	an_partial_destroy(acc);
	free(want);
}

static void test_hist(void)
{
	for (uint64_t v = 0; v < 1000000; v = v * 3 / 2 + 1) {
		uint64_t low, width;
		an_hist_range(an_hist_bucket(v), &low, &width);
		CHECK(low <= v && v < low + width);
		CHECK(v < 128 ? width == 1 : width * 64 <= low);
	}
	struct an_hist h = {0};
	for (uint64_t v = 1; v <= 1000; v++)
		CHECK(an_hist_add(&h, v * 1000, 1) == 0);
	uint64_t p50 = an_hist_quantile(&h, 1000, 0.5, 1000, 1000000);
	uint64_t p99 = an_hist_quantile(&h, 1000, 0.99, 1000, 1000000);
	CHECK(p50 > 500000 * 0.99 && p50 < 500000 * 1.01);
	CHECK(p99 > 990000 * 0.99 && p99 < 990000 * 1.01);
	free(h.b);
}

static void test_malformed(void)
{
	static const char junk[][40] = {
		"",	    "REELANP1",	    "REELANP2", "REELANP2\xff\xff\xff\xff\xff\xff\xff\xff",
		"REELANP3", "REELANP4\xff", "NOTMAGIC"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		FILE *f = fmemopen((void *)junk[i], strlen(junk[i]) + 1, "r");
		CHECK(f);
		errno = 0;
		CHECK(!an_partial_read(names, f) && errno == EINVAL);
		fclose(f);
	}
	/* every truncation of a real partial */
	struct an_ev v[200];
	size_t n = gen_w(v, 200, 7, false, true, true);
	struct an_partial *p = map(v, 0, n / 2, AN_IO | AN_CPU);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(an_partial_write(p, f) == 0);
	fclose(f);
	for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
		FILE *g = fmemopen(buf, cut ? cut : 1, "r");
		struct an_partial *q = an_partial_read(names, g);
		CHECK(!q);
		fclose(g);
	}
	free(buf);
	/* well formed, but not what a map gives: refused */
	CHECK(p->stats.n > 0);
	for (int how = 0; how < 4; how++) {
		struct an_stat *st = an_tab_at(&p->stats, 0);
		struct an_stat keep = *st;
		if (how == 0)
			st->count++; /* the histogram holds one less */
		else if (how == 1)
			st->errors = st->count + 1;
		else if (how == 2)
			st->sum = st->max * (int64_t)st->count + 1;
		else
			st->min = st->max + 1;
		buf = NULL;
		f = open_memstream(&buf, &len);
		CHECK(an_partial_write(p, f) == 0);
		fclose(f);
		FILE *g = fmemopen(buf, len, "r");
		errno = 0;
		CHECK(!an_partial_read(names, g) && errno == EINVAL);
		fclose(g);
		free(buf);
		*st = keep;
	}
	an_partial_destroy(p);
}

static struct an_ev sys(int64_t ts, int64_t tid, bool entry, int name, int64_t a, int64_t b, const char *s1,
		       int64_t ret)
{
	struct an_ev e = {.kind = entry ? AN_EV_SYS_ENTRY : AN_EV_SYS_EXIT, .ts = ts, .cpu = 0, .tid = tid,
			  .name = sysname[name], .a = a, .b = b, .s1 = s1, .l1 = s1 ? strlen(s1) : 0, .ret = ret};
	e.io = an_io_kind(an_names_get(names, e.name));
	return e;
}

/* The fd model, by hand: a statedump fd, open, dup2, close, a read of a
 * dup'ed fd, a child process's copy of the table, a thread sharing it;
 * every cut gives the same bytes per file and process. */
static void test_fd_model(void)
{
	struct an_ev v[] = {
		{.kind = AN_EV_SD_PROC, .ts = 1, .tid = -1, .a = 200, .b = 200, .s1 = "main", .l1 = 4},
		{.kind = AN_EV_SD_FD, .ts = 1, .tid = -1, .a = 200, .b = 3, .s1 = "/sd", .l1 = 3},
		sys(10, 200, true, 0, 3, 0, NULL, 0),          /* read(3) */
		sys(11, 200, false, 0, 0, 0, NULL, 10),
		sys(20, 200, true, 2, 0, 0, "/x", 0),          /* openat("/x") = 4 */
		sys(21, 200, false, 2, 0, 0, NULL, 4),
		sys(30, 200, true, 4, 4, 5, NULL, 0),          /* dup2(4, 5) */
		sys(31, 200, false, 4, 0, 0, NULL, 5),
		sys(40, 200, true, 3, 4, 0, NULL, 0),          /* close(4) */
		sys(41, 200, false, 3, 0, 0, NULL, 0),
		sys(50, 200, true, 0, 4, 0, NULL, 0),          /* read(4): closed, unknown */
		sys(51, 200, false, 0, 0, 0, NULL, 1),
		{.kind = AN_EV_FORK, .ts = 60, .tid = -1, .a = 200, .b = 300, .c = 300, .s1 = "main", .l1 = 4,
		 .s2 = "child", .l2 = 5},
		{.kind = AN_EV_FORK, .ts = 61, .tid = -1, .a = 200, .b = 201, .c = 200, .s1 = "main", .l1 = 4,
		 .s2 = "thr", .l2 = 3},
		sys(70, 300, true, 3, 5, 0, NULL, 0),          /* child: close(5) */
		sys(71, 300, false, 3, 0, 0, NULL, 0),
		sys(80, 201, true, 0, 5, 0, NULL, 0),          /* thread: read(5) */
		sys(85, 201, false, 0, 0, 0, NULL, 7),
		sys(90, 300, true, 1, 3, 0, NULL, 0),          /* child: write(3) */
		sys(99, 300, false, 1, 0, 0, NULL, 19),
	};
	size_t n = sizeof(v) / sizeof(v[0]);
	cpu_only = false;
	struct an_partial *seq = map(v, 0, n, AN_IO);
	char *want = report(seq);
	an_partial_destroy(seq);
	CHECK(strstr(want, "{\"name\":\"/x\",\"read\":7,\"write\":0,\"processes\":[{\"pid\":200,\"read\":7,\"write\":0}]}"));
	CHECK(strstr(want, "{\"name\":\"/sd\",\"read\":10,\"write\":19,\"processes\":[{\"pid\":200,\"read\":10,\"write\":0},{\"pid\":300,\"read\":0,\"write\":19}]}"));
	CHECK(strstr(want, "{\"name\":null,\"read\":1,\"write\":0,\"processes\":[{\"pid\":200,\"read\":1,\"write\":0}]}"));
	CHECK(strstr(want, "{\"pid\":200,\"comm\":\"main\",\"read\":18,\"write\":0}"));
	CHECK(strstr(want, "\"syscall\":\"write\",\"tid\":300,\"pid\":300,\"comm\":\"child\",\"fd\":3,\"file\":\"/sd\",\"begin_ns\":90,\"duration_ns\":9"));
	for (size_t x = 0; x <= n; x++)
		for (size_t y = x; y <= n; y++) {
			struct an_partial *a = roundtrip(map(v, 0, x, AN_IO)), *b = map(v, x, y, AN_IO),
					  *c = roundtrip(map(v, y, n, AN_IO));
			CHECK(an_partial_merge(b, c) == 0);
			CHECK(an_partial_merge(a, b) == 0);
			char *got = report(a);
			if (strcmp(got, want)) {
				fprintf(stderr, "fd model, cuts %zu %zu:\n%s\n%s\n", x, y, want, got);
				exit(1);
			}
			free(got);
			an_partial_destroy(a);
		}
	free(want);
}

/* The fd histories (an_report_fd) of the fd stream below, JSON, with the
 * chunk counts cut out. */
static char *fd_report(const struct an_partial *p)
{
	static const struct {
		int64_t pid, fd;
		int mode;
		int64_t at;
	} q[] = {
		{200, 3, AN_AT_NONE, 0}, {300, 3, AN_AT_NONE, 0}, {200, 4, AN_AT_NONE, 0}, {200, 3, AN_AT_ABS, 35},
		{200, 3, AN_AT_REL, 0},  {200, 3, AN_AT_ABS, 45}, {200, 3, AN_AT_ABS, 1000}, {300, 4, AN_AT_NONE, 0},
		{999, 3, AN_AT_NONE, 0},
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		CHECK(an_report_fd(p, f, true, q[i].pid, q[i].fd, q[i].mode, q[i].at) == 0);
	CHECK(an_report_fd(p, f, false, 200, 3, AN_AT_NONE, 0) == 0);
	fclose(f);
	return cut_chunks(buf);
}

/* An fd's history (`reel analyze fd`), by hand: a statedump fd 3, openat
 * = 4, dup2(4, 3) over the statedump's file, close(3), openat = 3 again, a
 * fork (the child's copy: inherited, then closed there); the same
 * intervals at every cut, both groupings, through the binary form. */
/* The stream of test_fd_history() (sys() needs the names: built at run time). */
static size_t fd_stream(struct an_ev *out)
{
	struct an_ev v[] = {
		{.kind = AN_EV_SD_PROC, .ts = 1, .tid = -1, .a = 200, .b = 200, .s1 = "main", .l1 = 4},
		{.kind = AN_EV_SD_FD, .ts = 1, .tid = -1, .a = 200, .b = 3, .s1 = "/sd", .l1 = 3},
		sys(20, 200, true, 2, 0, 0, "/x", 0),          /* openat("/x") = 4 */
		sys(21, 200, false, 2, 0, 0, NULL, 4),
		sys(30, 200, true, 4, 4, 3, NULL, 0),          /* dup2(4, 3) */
		sys(31, 200, false, 4, 0, 0, NULL, 3),
		sys(40, 200, true, 3, 3, 0, NULL, 0),          /* close(3) */
		sys(41, 200, false, 3, 0, 0, NULL, 0),
		sys(50, 200, true, 2, 0, 0, "/y", 0),          /* openat("/y") = 3 */
		sys(51, 200, false, 2, 0, 0, NULL, 3),
		{.kind = AN_EV_FORK, .ts = 60, .tid = -1, .a = 200, .b = 300, .c = 300, .s1 = "main", .l1 = 4,
		 .s2 = "child", .l2 = 5},
		sys(70, 300, true, 3, 3, 0, NULL, 0),          /* child: close(3) */
		sys(71, 300, false, 3, 0, 0, NULL, 0),
		sys(80, 200, true, 0, 3, 0, NULL, 0),          /* read(3) */
		sys(85, 200, false, 0, 0, 0, NULL, 5),
		sys(90, 200, true, 1, 3, 0, NULL, 0),          /* write(3) */
		sys(99, 200, false, 1, 0, 0, NULL, 5),
	};
	memcpy(out, v, sizeof(v));
	return sizeof(v) / sizeof(v[0]);
}

static void test_fd_history(void)
{
	struct an_ev v[32];
	size_t n = fd_stream(v);
	struct an_partial *seq = map(v, 0, n, AN_IO);
	char *want = fd_report(seq);
	an_partial_destroy(seq);
	const char *sd = "{\"begin_ns\":1,\"end_ns\":31,\"file\":\"/sd\",\"how\":\"statedump\",\"end\":\"replaced\","
			 "\"end_tid\":200,\"end_syscall\":\"dup2\"}";
	const char *x = "{\"begin_ns\":31,\"end_ns\":41,\"file\":\"/x\",\"how\":\"dup\",\"syscall\":\"dup2\",\"tid\":200,"
			"\"from_fd\":4,\"end\":\"close\",\"end_tid\":200,\"end_syscall\":\"close\"}";
	const char *y = "{\"begin_ns\":51,\"end_ns\":99,\"file\":\"/y\",\"how\":\"open\",\"syscall\":\"openat\",\"tid\":200,"
			"\"end\":\"trace_end\"}";
	const char *child = "\"pid\":300,\"comm\":\"child\",\"fd\":3,\"at\":null,\"intervals\":[{\"begin_ns\":60,"
			    "\"end_ns\":71,\"file\":\"/y\",\"how\":\"fork\",\"tid\":300,\"parent_pid\":200,\"end\":\"close\","
			    "\"end_tid\":300,\"end_syscall\":\"close\"}]}";
	const char *four = "\"fd\":4,\"at\":null,\"intervals\":[{\"begin_ns\":21,\"end_ns\":99,\"file\":\"/x\","
			   "\"how\":\"open\",\"syscall\":\"openat\",\"tid\":200,\"end\":\"trace_end\"}]}";
	char exp[2048];
	snprintf(exp, sizeof(exp), "\"pid\":200,\"comm\":\"main\",\"fd\":3,\"at\":null,\"intervals\":[%s,%s,%s]}", sd, x, y);
	CHECK(strstr(want, exp));
	CHECK(strstr(want, child));
	CHECK(strstr(want, four));
	snprintf(exp, sizeof(exp), "\"fd\":3,\"at\":35,\"intervals\":[%s]}", x);
	CHECK(strstr(want, exp));
	snprintf(exp, sizeof(exp), "\"fd\":3,\"at\":1,\"intervals\":[%s]}", sd);
	CHECK(strstr(want, exp));
	CHECK(strstr(want, "\"fd\":3,\"at\":45,\"intervals\":[]}"));
	snprintf(exp, sizeof(exp), "\"fd\":3,\"at\":1000,\"intervals\":[%s]}", y);
	CHECK(strstr(want, exp));
	CHECK(strstr(want, "\"pid\":300,\"comm\":\"child\",\"fd\":4,\"at\":null,\"intervals\":[{\"begin_ns\":60,"));
	CHECK(strstr(want, "\"pid\":999,\"comm\":null,\"fd\":3,\"at\":null,\"intervals\":[]}"));
	CHECK(strstr(want, "[31, 41)  /x\n    opened: dup2 of fd 4 by tid 200\n    closed: close by tid 200\n"));
	check_every_two_cuts(v, n, AN_IO, fd_report, want, "fd history");
	free(want);
}

/* Every row of every table of the --sqlite database of p (the trace and
 * chunk tables apart: the chunks differ by design), one line each, sorted. */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *db_report(const struct an_partial *p)
{
	char dir[] = "/tmp/test-analysis-XXXXXX", path[64], err[256];
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.db", dir);
	struct an_sqlite *s = an_sqlite_open(path, err, sizeof(err));
	CHECK(s);
	char *const paths[] = {"t"};
	const struct an_sqlite_meta m = {
		.analysis = "io", .version = "test", .paths = paths, .npaths = 1};
	CHECK(an_sqlite_write(s, p, &m, err, sizeof(err)) == 0);
	an_sqlite_destroy(s);
	sqlite3 *db;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	char **lines = NULL;
	size_t nl = 0;
	static const char *const tabs[] = {
		"thread",      "process",   "syscall_stats", "syscall_errno", "syscall",
		"fd",	       "io_thread", "io_process",    "io_file",	      "cpu_thread",
		"cpu_process", "cpu",	    "phase",	     "phase_group",   "phase_syscall"};
	for (size_t t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++) {
		char q[64];
		snprintf(q, sizeof(q), "SELECT * FROM %s", tabs[t]);
		sqlite3_stmt *st;
		CHECK(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);
			CHECK(f);
			fprintf(f, "%s:", tabs[t]);
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *v = sqlite3_column_text(st, c);
				fprintf(f, " %s=%s", sqlite3_column_name(st, c),
					v ? (const char *)v : "NULL");
			}
			fclose(f);
			CHECK((lines = realloc(lines, (nl + 1) * sizeof(*lines))));
			lines[nl++] = buf;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	CHECK(unlink(path) == 0 && rmdir(dir) == 0); /* no temporary file left */
	qsort(lines, nl, sizeof(*lines), cmp_line);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f);
	for (size_t i = 0; i < nl; i++) {
		fprintf(f, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	fclose(f);
	return buf;
}

/* The --sqlite database of the fd history's stream, with a read whose
 * entry is before the trace (an exit alone) and one open at the end: its
 * rows by hand, and the same database at every cut, both groupings,
 * through the binary form. */
static void test_sqlite(void)
{
	struct an_ev v[40];
	v[0] = sys(0, 200, false, 0, 0, 0, NULL, 7); /* read's exit: entry unknown */
	size_t n = 1 + fd_stream(v + 1);
	v[n++] = sys(120, 200, true, 0, 4, 0, NULL, 0); /* read(4), no exit */
	struct an_partial *seq = map(v, 0, n, AN_IO);
	char *want = db_report(seq);
	an_partial_destroy(seq);
	static const char *const rows[] = {
		/* every fd interval, as `reel analyze fd` gives them (end NULL: open at the end) */
		"fd: pid=200 fd=3 file=/sd begin_ns=1 end_ns=31 soft_begin=1 how=statedump "
		"syscall=NULL tid=NULL "
		"from_fd=NULL parent_pid=NULL end_how=replaced end_syscall=dup2 end_tid=200\n",
		"fd: pid=200 fd=3 file=/x begin_ns=31 end_ns=41 soft_begin=0 how=dup syscall=dup2 "
		"tid=200 from_fd=4 "
		"parent_pid=NULL end_how=close end_syscall=close end_tid=200\n",
		"fd: pid=200 fd=3 file=/y begin_ns=51 end_ns=NULL soft_begin=0 how=open "
		"syscall=openat tid=200 "
		"from_fd=NULL parent_pid=NULL end_how=trace_end end_syscall=NULL end_tid=NULL\n",
		"fd: pid=200 fd=4 file=/x begin_ns=21 end_ns=NULL soft_begin=0 how=open "
		"syscall=openat tid=200 "
		"from_fd=NULL parent_pid=NULL end_how=trace_end end_syscall=NULL end_tid=NULL\n",
		"fd: pid=300 fd=3 file=/y begin_ns=60 end_ns=71 soft_begin=0 how=fork syscall=NULL "
		"tid=300 "
		"from_fd=NULL parent_pid=200 end_how=close end_syscall=close end_tid=300\n",
		"fd: pid=300 fd=4 file=/x begin_ns=60 end_ns=NULL soft_begin=0 how=fork "
		"syscall=NULL tid=300 "
		"from_fd=NULL parent_pid=200 end_how=trace_end end_syscall=NULL end_tid=NULL\n",
		/* the syscalls of the log: bytes where the I/O report counts them */
		"syscall: tid=200 pid=200 syscall=read io=read fd=3 file=/y entry_ns=80 exit_ns=85 "
		"ret=5 bytes=5 "
		"uncertain=0\n",
		"syscall: tid=200 pid=200 syscall=read io=read fd=NULL file=NULL entry_ns=NULL "
		"exit_ns=0 ret=7 "
		"bytes=NULL uncertain=0\n",
		"syscall: tid=200 pid=200 syscall=read io=read fd=4 file=/x entry_ns=120 "
		"exit_ns=NULL ret=NULL "
		"bytes=NULL uncertain=0\n",
		"syscall: tid=200 pid=200 syscall=openat io=open fd=4 file=/x entry_ns=20 "
		"exit_ns=21 ret=4 "
		"bytes=NULL uncertain=0\n",
		"syscall: tid=300 pid=300 syscall=close io=close fd=3 file=/y entry_ns=70 "
		"exit_ns=71 ret=0 "
		"bytes=NULL uncertain=0\n",
		"io_file: file=/y pid=200 read=5 write=5\n",
		"io_thread: tid=200 pid=200 comm=main read=5 write=5\n",
		"io_process: pid=200 comm=main read=5 write=5\n",
		/* the model's threads; a process of its threads */
		"thread: tid=300 pid=300 comm=child first_seen_ns=60 last_seen_ns=71 soft_begin=0 "
		"in_syscall_at_end=0 "
		"uncertain=0\n",
		"process: pid=300 comm=child threads=1 first_seen_ns=60 last_seen_ns=71 "
		"uncertain=0\n",
		"syscall_stats: tid=200 pid=200 comm=main syscall=openat count=2 errors=0 min_ns=1 "
		"avg_ns=1.0 "
		"max_ns=1 sum_ns=2 p50_ns=1 p99_ns=1 uncertain=0\n",
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!strstr(want, rows[i])) {
			fprintf(stderr, "no row %s in\n%s", rows[i], want);
			exit(1);
		}
	check_every_two_cuts(v, n, AN_IO, db_report, want, "sqlite");
	free(want);
}

/* Rotation chunks overlap in time: a chunk's statedump is stamped at the
 * rotation, while the previous chunk still gets the events written after
 * it. For every rotation time p and every end c >= p of the old chunk, the
 * old chunk (v[0..c)) then the new one (its statedump, stamped before v[p],
 * then v[c..n)) give the report of the events read as one, in time order.
 * The statedump names fd 3 and 4, which the old chunk's reads use and its
 * close(3) / openat = 3 change; with the tid context, and without it (the
 * new chunk's syscalls come before its first sched_switch). */
static void test_io_overlap(bool with_tid)
{
	struct an_ev v[] = {
		{.kind = AN_EV_SD_PROC, .ts = 1, .tid = -1, .a = 200, .b = 200, .s1 = "main", .l1 = 4},
		{.kind = AN_EV_SWITCH, .ts = 2, .tid = -1, .a = 200, .b = 0, .s1 = "main", .l1 = 4},
		sys(10, 200, true, 0, 3, 0, NULL, 0),  /* read(3) */
		sys(20, 200, false, 0, 0, 0, NULL, 1),
		sys(30, 200, true, 0, 4, 0, NULL, 0),  /* read(4) */
		sys(40, 200, false, 0, 0, 0, NULL, 2),
		sys(50, 200, true, 3, 3, 0, NULL, 0),  /* close(3) */
		sys(60, 200, false, 3, 0, 0, NULL, 0),
		sys(70, 200, true, 0, 3, 0, NULL, 0),  /* read(3): closed */
		sys(80, 200, false, 0, 0, 0, NULL, 4),
		sys(90, 200, true, 2, 0, 0, "/x", 0),  /* openat("/x") = 3 */
		sys(100, 200, false, 2, 0, 0, NULL, 3),
		sys(110, 200, true, 0, 3, 0, NULL, 0), /* read(3) */
		sys(120, 200, false, 0, 0, 0, NULL, 8),
		sys(130, 200, true, 1, 4, 0, NULL, 0), /* write(4) */
		sys(140, 200, false, 1, 0, 0, NULL, 16),
	};
	enum { N = sizeof(v) / sizeof(v[0]), K = 2 };
	for (size_t i = 0; i < N; i++)
		if (!with_tid)
			v[i].tid = -1;
	unsigned flags = AN_IO | (with_tid ? 0 : AN_CPU_ATTRIBUTION);
	cpu_only = false;
	for (size_t p = K; p <= N; p++) {
		int64_t at = p < N ? v[p].ts - 5 : v[N - 1].ts + 5;
		const struct an_ev sd[] = {
			{.kind = AN_EV_SD_PROC, .ts = at, .tid = -1, .a = 200, .b = 200, .s1 = "main", .l1 = 4},
			{.kind = AN_EV_SD_FD, .ts = at, .tid = -1, .a = 200, .b = 3, .s1 = "/sd3", .l1 = 4},
			{.kind = AN_EV_SD_FD, .ts = at, .tid = -1, .a = 200, .b = 4, .s1 = "/sd4", .l1 = 4},
		};
		/* read as one: v[0..p), the statedump, v[p..n) */
		struct an_ev all[N + 3];
		memcpy(all, v, p * sizeof(*v));
		memcpy(all + p, sd, sizeof(sd));
		memcpy(all + p + 3, v + p, (N - p) * sizeof(*v));
		struct an_partial *seq = map(all, 0, N + 3, flags);
		char *want = report(seq);
		an_partial_destroy(seq);
		if (p == K)
			CHECK(strstr(want, "{\"name\":\"/sd4\",\"read\":2,\"write\":16,"));
		for (size_t c = p; c <= N; c++) {
			struct an_ev nw[N + 3];
			memcpy(nw, sd, sizeof(sd));
			memcpy(nw + 3, v + c, (N - c) * sizeof(*v));
			struct an_partial *a = roundtrip(map(v, 0, c, flags)), *b = roundtrip(map(nw, 0, 3 + N - c, flags));
			CHECK(an_partial_merge(a, b) == 0);
			char *got = report(a);
			if (strcmp(got, want)) {
				fprintf(stderr, "overlap (tid %d), statedump at %zu, old chunk to %zu:\n%s\n%s\n", with_tid, p,
					c, want, got);
				exit(1);
			}
			free(got);
			an_partial_destroy(a);
		}
		free(want);
	}
}

static struct an_ev sw(int64_t ts, int cpu, int64_t prev, int64_t next)
{
	return (struct an_ev){.kind = AN_EV_SWITCH, .ts = ts, .cpu = cpu, .tid = -1, .a = next, .b = prev,
			      .s1 = next ? "t" : "swapper", .l1 = next ? 1 : 7};
}

static struct an_ev wake(int64_t ts, int cpu, int64_t tid)
{
	return (struct an_ev){.kind = AN_EV_WAKEUP, .ts = ts, .cpu = cpu, .tid = -1, .a = tid};
}

/* The phases report (JSON, its chunk count cut out). */
static char *ph_report(const struct an_partial *p)
{
	return both_forms(an_report_phases, p);
}

static struct an_ev mark(int64_t ts, int cpu, int64_t vtid, const char *group)
{
	return (struct an_ev){.kind = AN_EV_MARK, .ts = ts, .cpu = cpu, .tid = vtid,
			      .a = AN_MARK_BEGIN | AN_MARK_END, .s1 = group, .l1 = strlen(group)};
}

/* Phases, by hand: one mark event begins and ends phases; thread 200 has
 * the tid context, thread 300's syscalls are attributed by its CPU; a
 * syscall before any phase, phases open at the end (not counted); every
 * cut, both groupings, through the binary form. */
static void test_phases(void)
{
	struct an_ev v[] = {
		sw(1, 1, 0, 300),
		sys(5, 200, true, 0, 3, 0, NULL, 0),    /* read before any phase */
		sys(8, 200, false, 0, 0, 0, NULL, 1),
		mark(10, 0, 200, "A"),
		sys(12, 200, true, 0, 3, 0, NULL, 0),   /* A: read 8 */
		mark(15, 1, 300, "B"),
		sys(16, -1, true, 2, 0, 0, "/f", 0),    /* B (300): openat 3 */
		sys(19, -1, false, 2, 0, 0, NULL, 3),
		sys(20, 200, false, 0, 0, 0, NULL, 1),
		sys(22, 200, true, 1, 3, 0, NULL, 0),   /* A: write 3 */
		sys(25, 200, false, 1, 0, 0, NULL, 1),
		mark(30, 0, 200, "B"),                  /* A: 20 ns */
		sys(31, 200, true, 0, 3, 0, NULL, 0),   /* B: read 10 */
		mark(35, 1, 300, "B"),                  /* B (300): 20 ns, then open */
		sw(36, 1, 300, 0),
		sys(41, 200, false, 0, 0, 0, NULL, 1),
		mark(50, 0, 200, "A"),                  /* B: 20 ns */
		sys(52, 200, true, 0, 3, 0, NULL, 0),   /* A: read 2 */
		sys(54, 200, false, 0, 0, 0, NULL, 1),
		mark(60, 0, 200, "C"),                  /* A: 10 ns; C open */
		sys(70, 200, true, 3, 3, 0, NULL, 0),
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i].kind == AN_EV_SYS_ENTRY || v[i].kind == AN_EV_SYS_EXIT)
			v[i].cpu = v[i].tid < 0 ? 1 : 0;
	size_t n = sizeof(v) / sizeof(v[0]);
	const unsigned fl = AN_IO | AN_PHASES;
	CHECK(an_names_set_phases(names, "app:mark", "app:mark", "step") == 0);
	struct an_partial *seq = map(v, 0, n, fl);
	char *want = ph_report(seq);
	an_partial_destroy(seq);
	const char *exp =
		"\"groups\":[{\"group\":\"A\",\"phases\":2,\"open\":0,\"time_ns\":30,\"syscalls\":["
		"{\"name\":\"read\",\"count\":2,\"total_ns\":10,\"min_ns\":2,\"max_ns\":8},"
		"{\"name\":\"write\",\"count\":1,\"total_ns\":3,\"min_ns\":3,\"max_ns\":3}]},"
		"{\"group\":\"B\",\"phases\":2,\"open\":1,\"time_ns\":40,\"syscalls\":["
		"{\"name\":\"read\",\"count\":1,\"total_ns\":10,\"min_ns\":10,\"max_ns\":10},"
		"{\"name\":\"openat\",\"count\":1,\"total_ns\":3,\"min_ns\":3,\"max_ns\":3}]},"
		"{\"group\":\"C\",\"phases\":0,\"open\":1,\"time_ns\":0,\"syscalls\":[]}]}";
	if (!strstr(want, exp)) {
		fprintf(stderr, "phases:\n%s\n", want);
		exit(1);
	}
	CHECK(strstr(want, "\"begin\":\"app:mark\",\"end\":\"app:mark\",\"by\":\"step\""));
	CHECK(strstr(want, "Group A: 2 phases"));
	check_every_two_cuts(v, n, fl, ph_report, want, "phases");
	free(want);
	CHECK(an_names_set_phases(names, NULL, NULL, NULL) == 0);
}

/* CPU time and wakeup latency, by hand: thread 5 runs before the trace's
 * first switch (a soft begin), thread 10 is woken, ignored while running,
 * woken twice (the first counts), and runs at the end (a soft end). */
static void test_cpu_model(void)
{
	struct an_ev v[] = {
		wake(100, 0, 10),   /* latency 110 - 100 */
		sw(110, 0, 5, 10),  /* 5 ran since the start: 10 ns */
		sw(150, 1, 0, 5),   /* CPU 1 idle before */
		wake(160, 0, 10),   /* running: ignored */
		sw(200, 0, 10, 0),  /* 10 ran 90 ns */
		wake(210, 1, 10),   /* latency 250 - 210 */
		wake(220, 1, 10),   /* not the first: ignored */
		sw(250, 1, 5, 10),  /* 5 ran 100 ns */
		{.kind = AN_EV_OTHER, .ts = 300, .cpu = 0, .tid = -1}, /* 10 ran 50 ns more */
	};
	size_t n = sizeof(v) / sizeof(v[0]);
	cpu_only = true;
	struct an_partial *seq = map(v, 0, n, AN_CPU);
	char *want = report(seq);
	an_partial_destroy(seq);
	CHECK(strstr(want, "\"duration_ns\":200,\"usage\":62.500000,"));
	CHECK(strstr(want, "{\"tid\":10,\"pid\":10,\"comm\":\"t\",\"cpu_ns\":140,\"usage\":70.000000}"));
	CHECK(strstr(want, "{\"tid\":5,\"pid\":5,\"comm\":\"t\",\"cpu_ns\":110,\"usage\":55.000000}"));
	CHECK(strstr(want, "{\"cpu\":0,\"busy_ns\":100,\"idle_ns\":100,\"usage\":50.000000}"));
	CHECK(strstr(want, "{\"cpu\":1,\"busy_ns\":150,\"idle_ns\":50,\"usage\":75.000000}"));
	CHECK(strstr(want, "\"wakeup_latency\":[{\"tid\":10,\"pid\":10,\"comm\":\"t\",\"count\":2,\"min_ns\":10,"
			   "\"max_ns\":40,\"sum_ns\":50,\"avg_ns\":25.000,\"p99_ns\":40}]"));
	check_every_two_cuts(v, n, AN_CPU, report, want, "cpu model");
	free(want);
}

/* The stdev of durations xs[0..n), as an_stat_stdev() computes it from the
 * sums a partial carries. */
static int stdev_of(const int64_t *xs, size_t n, double *ret)
{
	struct an_stat st = {.count = n};
	for (size_t i = 0; i < n; i++) {
		st.sum =
			(int64_t)((uint64_t)st.sum + (uint64_t)xs[i]); /* wraps, as no trace does */
		uint64_t m = xs[i] < 0 ? -(uint64_t)xs[i] : (uint64_t)xs[i];
		an_sumsq_add(&st.sumsq, (unsigned __int128)m * m);
	}
	return an_stat_stdev(&st, ret);
}

/* lttng-syscallstats' stdev: Python's statistics.stdev (the sample
 * stdev, the exact variance's root correctly rounded), '?' for 2 calls
 * or fewer; the values below are Python's. */
static void test_stdev(void)
{
	double d;
	static const int64_t a[] = {1, 2, 4}, b[] = {1000, 1000, 1000}, c[] = {5, -3, 7, 7},
			     big[] = {1000000000001, 1000000000002, 1000000000004},
			     mix[] = {1000000000001, 1000000000002, 1000000000004, 3},
			     e[] = {3037000499, 3037000500, 3037000501, 1};
	CHECK(stdev_of(a, 3, &d) == 0 && d == 1.5275252316519468);
	CHECK(stdev_of(b, 3, &d) == 0 && d == 0.0);
	CHECK(stdev_of(c, 4, &d) == 0 && d == 4.760952285695233);
	/* a sum of squares in doubles loses these */
	CHECK(stdev_of(big, 3, &d) == 0 && d == 1.5275252316519468);
	CHECK(stdev_of(mix, 4, &d) == 0 && d == 499999999999.6667);
	CHECK(stdev_of(e, 4, &d) == 0 && d == 1518500249.5);
	CHECK(stdev_of(a, 2, &d) == -EDOM && stdev_of(a, 1, &d) == -EDOM);
	/* a sum of squares past 2^128 saturates: unknown, not wrong */
	static const int64_t huge[] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	CHECK(stdev_of(huge, 5, &d) == -EDOM);
	unsigned __int128 sq = 5;
	an_sumsq_add(&sq, AN_SUMSQ_OVERFLOW - 4);
	CHECK(sq == AN_SUMSQ_OVERFLOW);
}

static struct an_ev swc(int64_t ts, int cpu, int64_t prev, int64_t next, const char *comm)
{
	return (struct an_ev){.kind = AN_EV_SWITCH,
			      .ts = ts,
			      .cpu = cpu,
			      .tid = -1,
			      .a = next,
			      .b = prev,
			      .s1 = comm,
			      .l1 = strlen(comm)};
}

static char *sys_report(const struct an_partial *p)
{
	return both_forms(an_report_syscalls, p);
}

/* A process that forks, a child that execs and starts a thread, as
 * lttng-syscallstats sees them: the child is a new thread (no open
 * syscall) with the fork's pid and comm, exec changes nothing until a
 * sched_switch names the new comm, a thread gets its process's pid; the
 * report shows them as they were at each thread's first counted syscall;
 * stdev per syscall; every cut, both groupings, through the binary form,
 * attributed by the tid context or by the CPU. */
static void test_fork_exec(bool with_tid)
{
	int64_t T = with_tid ? 0 : -1; /* tid context: the thread, or none */
#define S(ts, tid, entry, name, ret) sys(ts, T ? -1 : (tid), entry, name, 0, 0, NULL, ret)
	struct an_ev v[] = {
		{.kind = AN_EV_SD_PROC,
		 .ts = 1,
		 .tid = -1,
		 .a = 400,
		 .b = 400,
		 .s1 = "shell",
		 .l1 = 5},
		swc(2, 0, 0, 400, "shell"),
		S(10, 400, true, 0, 0),
		S(11, 400, false, 0, 5), /* read 1 */
		S(20, 400, true, 0, 0),
		S(22, 400, false, 0, 5), /* read 2 */
		S(30, 400, true, 0, 0),
		S(34, 400, false, 0, -2), /* read 4, ENOENT */
		{.kind = AN_EV_FORK,
		 .ts = 40,
		 .tid = -1,
		 .a = 400,
		 .s1 = "shell",
		 .l1 = 5,
		 .b = 401,
		 .c = 401,
		 .s2 = "shell",
		 .l2 = 5},
		S(41, 400, true, 1, 0), /* write: exits at 85 */
		swc(45, 0, 400, 401, "shell"),
		S(48, 401, false, 1, 0), /* the fork's exit in the child: not counted */
		S(50, 401, true, 1, 0),
		S(51, 401, false, 1, 1), /* write 1 */
		{.kind = AN_EV_EXEC, .ts = 55, .tid = -1, .a = 401},
		S(60, 401, true, 0, 0),
		S(70, 401, false, 0, 3), /* read 10 */
		swc(80, 0, 401, 400, "shell"),
		S(85, 400, false, 1, 7), /* write 44 */
		swc(90, 0, 400, 401, "cat"),
		S(100, 401, true, 0, 0),
		S(130, 401, false, 0, 3), /* read 30 */
		S(140, 401, true, 0, 0),
		S(141, 401, false, 0, 0), /* read 1 */
		{.kind = AN_EV_FORK,
		 .ts = 150,
		 .tid = -1,
		 .a = 401,
		 .s1 = "cat",
		 .l1 = 3,
		 .b = 402,
		 .c = 401,
		 .s2 = "cat",
		 .l2 = 3},
		swc(160, 0, 401, 402, "cat"),
		S(161, 402, true, 0, 0),
		S(171, 402, false, 0, 1), /* read 10 */
		S(172, 402, true, 0, 0),
		S(175, 402, false, 0, 1), /* read 3 */
		S(180, 402, true, 0, 0),
		S(200, 402, false, 0, 1), /* read 20 */
		S(210, 402, true, 3, 0),  /* close: open at the end */
	};
#undef S
	size_t n = sizeof(v) / sizeof(v[0]);
	unsigned flags = with_tid ? 0 : AN_CPU_ATTRIBUTION;
	struct an_partial *seq = map(v, 0, n, flags);
	char *want = sys_report(seq);
	an_partial_destroy(seq);
	CHECK(strstr(want,
		     "{\"tid\":400,\"pid\":400,\"comm\":\"shell\",\"uncertain\":false,\"count\":4,"
		     "\"syscalls\":[{\"name\":\"read\",\"count\":3,\"errors\":1,\"min_ns\":1,\"max_"
		     "ns\":4,"
		     "\"sum_ns\":7,"));
	CHECK(strstr(
		want,
		"\"stdev_ns\":1.5275252316519468,\"errno\":{\"ENOENT\":1}},{\"name\":\"write\","
		"\"count\":1,\"errors\":0,\"min_ns\":44,\"max_ns\":44,\"sum_ns\":44,"));
	CHECK(strstr(want, "\"p99_ns\":44,\"stdev_ns\":null,"));
	CHECK(strstr(
		want,
		"{\"tid\":401,\"pid\":401,\"comm\":\"shell\",\"uncertain\":false,\"count\":4,"));
	CHECK(strstr(want, "\"sum_ns\":41,\"avg_ns\":13.667,\"p50_ns\":10,\"p99_ns\":30,"
			   "\"stdev_ns\":14.843629385474879,"));
	CHECK(strstr(want,
		     "{\"tid\":402,\"pid\":401,\"comm\":\"cat\",\"uncertain\":false,\"count\":3,"));
	CHECK(strstr(want, "\"stdev_ns\":8.5440037453175304,"));
	CHECK(strstr(want, "\"total\":11,"));
	/* text: lttng-syscallstats' round(stdev / 1000, 3), '?' */
	CHECK(strstr(want, "Stdev"));
	CHECK(strstr(want, " - read                                             3          0.001   "
			   "       0.002"
			   "          0.004          0.002"));
	CHECK(strstr(want, " - write                                            1          0.044   "
			   "       0.044"
			   "          0.044              ?"));
	check_every_two_cuts(v, n, flags, sys_report, want,
			     with_tid ? "fork/exec, tid" : "fork/exec, cpu");
	free(want);
}

/* Rotation chunks overlap in time: the new chunk's statedump is stamped
 * before the old chunk's last events. A thread forked and exec'd there
 * (the statedump saw it before its exec: its old name), a thread the old
 * chunk knows no pid of (the statedump does): names and pids as one pass
 * over the events merged by time, for every statedump time and every end
 * of the old chunk after it. */
static void test_sys_overlap(bool with_tid)
{
	int64_t T = with_tid ? 0 : -1;
#define S(ts, tid, entry, name, ret) sys(ts, T ? -1 : (tid), entry, name, 0, 0, NULL, ret)
	struct an_ev v[] = {
		{.kind = AN_EV_SD_PROC,
		 .ts = 1,
		 .tid = -1,
		 .a = 200,
		 .b = 200,
		 .s1 = "main",
		 .l1 = 4},
		swc(2, 0, 0, 200, "main"),
		S(10, 200, true, 0, 0),
		S(12, 200, false, 0, 1),
		{.kind = AN_EV_FORK,
		 .ts = 20,
		 .tid = -1,
		 .a = 200,
		 .s1 = "main",
		 .l1 = 4,
		 .b = 201,
		 .c = 201,
		 .s2 = "main",
		 .l2 = 4},
		swc(30, 0, 200, 201, "main"),
		{.kind = AN_EV_EXEC, .ts = 35, .tid = -1, .a = 201},
		swc(40, 0, 201, 300, "w"),
		S(50, 300, true, 0, 0),
		S(52, 300, false, 0, 1),
		swc(60, 0, 300, 201, "cat"),
		S(70, 201, true, 0, 0),
		S(72, 201, false, 0, 1),
		S(80, 201, true, 1, 0),
		S(82, 201, false, 1, 1),
		swc(90, 0, 201, 200, "main"),
		S(100, 200, true, 1, 0),
		S(102, 200, false, 1, 1),
	};
#undef S
	enum { N = sizeof(v) / sizeof(v[0]), K = 2, NSD = 3 };
	unsigned flags = with_tid ? 0 : AN_CPU_ATTRIBUTION;
	bool fixed_pid = false, fixed_comm = false;
	for (size_t p = K; p <= N; p++) {
		int64_t at = p < N ? v[p].ts - 1 : v[N - 1].ts + 1;
		const struct an_ev sd[NSD] = {
			{.kind = AN_EV_SD_PROC,
			 .ts = at,
			 .tid = -1,
			 .a = 200,
			 .b = 200,
			 .s1 = "main",
			 .l1 = 4},
			{.kind = AN_EV_SD_PROC,
			 .ts = at,
			 .tid = -1,
			 .a = 201,
			 .b = 201,
			 .s1 = "main",
			 .l1 = 4},
			{.kind = AN_EV_SD_PROC,
			 .ts = at,
			 .tid = -1,
			 .a = 300,
			 .b = 250,
			 .s1 = "w",
			 .l1 = 1},
		};
		/* read as one: v[0..p), the statedump, v[p..n) */
		struct an_ev all[N + NSD];
		memcpy(all, v, p * sizeof(*v));
		memcpy(all + p, sd, sizeof(sd));
		memcpy(all + p + NSD, v + p, (N - p) * sizeof(*v));
		struct an_partial *seq = map(all, 0, N + NSD, flags);
		char *want = sys_report(seq);
		an_partial_destroy(seq);
		fixed_pid |= p <= 8 && strstr(want, "{\"tid\":300,\"pid\":250,");
		fixed_comm |= p <= 10 && strstr(want, "{\"tid\":201,\"pid\":201,\"comm\":\"cat\",");
		for (size_t c = p; c <= N; c++) {
			struct an_ev nw[N + NSD];
			memcpy(nw, sd, sizeof(sd));
			memcpy(nw + NSD, v + c, (N - c) * sizeof(*v));
			struct an_partial *a = roundtrip(map(v, 0, c, flags)),
					  *b = roundtrip(map(nw, 0, NSD + N - c, flags));
			CHECK(an_partial_merge(a, b) == 0);
			char *got = sys_report(a);
			if (strcmp(got, want)) {
				fprintf(stderr,
					"syscalls overlap (tid %d), statedump at %zu, old chunk to "
					"%zu:\n%s\n%s\n",
					with_tid, p, c, want, got);
				exit(1);
			}
			free(got);
			an_partial_destroy(a);
		}
		free(want);
	}
	CHECK(fixed_pid && fixed_comm);
}

/* ---- the ordered reducer and the metrics ----------------------------------- */

static char *metrics_text(const struct an_partial *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f);
	CHECK(an_metrics_write(p, f) == 0);
	fclose(f);
	return buf;
}

static char *all_text(const struct an_partial *p)
{
	char *a = report(p), *b = metrics_text(p), *c = NULL;
	CHECK(asprintf(&c, "%s\n%s", a, b) > 0);
	free(a);
	free(b);
	return c;
}

/* Chunks of one stream put in a shuffled order, with duplicates and the
 * first chunk late (a gap that holds every later one): after each put,
 * the result is the in-order merge of exactly the chunks before the first
 * missing one, reports and metrics alike. */
static void test_reducer(unsigned flags, unsigned seed)
{
	enum { N = 3000, K = 12, FIRST = 5 };
	static struct an_ev v[N];
	size_t n = gen_w(v, N, seed, true, flags & AN_IO, false);
	size_t cut[K + 1];
	for (size_t i = 0; i <= K; i++)
		cut[i] = n * i / K;
	char *want[K + 1] = {NULL};
	struct an_partial *acc = NULL;
	for (size_t m = 1; m <= K; m++) {
		struct an_partial *p = map(v, cut[m - 1], cut[m], flags);
		if (!acc)
			acc = p;
		else
			CHECK(an_partial_merge(acc, p) == 0);
		want[m] = all_text(acc);
	}
	an_partial_destroy(acc);

	srand(seed * 7919);
	size_t order[K + K / 2];
	for (size_t i = 0; i < K; i++)
		order[i] = i;
	for (size_t i = K - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* chunk 0 in the second half: the first half waits for it */
	for (size_t i = 0; i < K / 2; i++)
		if (order[i] == 0) {
			order[i] = order[K - 1];
			order[K - 1] = 0;
		}
	for (size_t i = K; i < K + K / 2; i++)
		order[i] = (size_t)rand() % K;		/* duplicates */
	for (size_t i = K / 2; i < K + K / 2; i += 3) { /* interleaved */
		size_t t = order[i];
		order[i] = order[K + K / 2 - 1 - (i - K / 2) / 3];
		order[K + K / 2 - 1 - (i - K / 2) / 3] = t;
	}
	struct an_reducer *r = an_reducer_new(FIRST);
	CHECK(r && !an_reducer_result(r) && an_reducer_next(r) == FIRST);
	bool seen[K] = {false};
	size_t prefix = 0, waiting = 0;
	for (size_t i = 0; i < K + K / 2; i++) {
		size_t c = order[i];
		int got = an_reducer_put(r, FIRST + c, map(v, cut[c], cut[c + 1], flags));
		if (seen[c]) {
			CHECK(got == AN_REDUCER_DUPLICATE);
		} else {
			seen[c] = true;
			size_t before = prefix;
			while (prefix < K && seen[prefix])
				prefix++;
			waiting = waiting + 1 - (prefix - before);
			CHECK(got == (prefix > before ? AN_REDUCER_ADVANCED : AN_REDUCER_HELD));
		}
		CHECK(an_reducer_next(r) == FIRST + prefix);
		CHECK(an_reducer_held(r) == waiting);
		if (!prefix) {
			CHECK(!an_reducer_result(r));
			continue;
		}
		char *t = all_text(an_reducer_result(r));
		CHECK(!strcmp(t, want[prefix]));
		free(t);
	}
	CHECK(prefix == K);
	/* before the first, and after: duplicates */
	CHECK(an_reducer_put(r, FIRST - 1, map(v, 0, cut[1], flags)) == AN_REDUCER_DUPLICATE);
	CHECK(an_reducer_put(r, FIRST + 3, map(v, 0, cut[1], flags)) == AN_REDUCER_DUPLICATE);
	struct an_partial *res = an_reducer_take(r);
	CHECK(res && !an_reducer_result(r));
	char *t = all_text(res);
	CHECK(!strcmp(t, want[K]));
	free(t);
	an_partial_destroy(res);
	an_reducer_destroy(r);
	an_reducer_destroy(NULL);
	for (size_t m = 1; m <= K; m++)
		free(want[m]);
}

static bool has_line(const char *text, const char *line)
{
	size_t l = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[l] == '\n')
			return true;
	fprintf(stderr, "no line: %s\n", line);
	return false;
}

/* A hand-checked exposition: one process whose name needs escaping (a
 * quote, a backslash, a newline, a byte that is not UTF-8), reads of
 * 500 ns, 1000 ns and 3 ms, an openat failing with ENOENT twice. */
static void test_metrics(void)
{
	static const char comm[] = "a\"b\\c\n\xff";
	struct an_ev v[32];
	size_t k = 0;
	v[k++] = (struct an_ev){.kind = AN_EV_SD_PROC,
				.ts = 1000,
				.tid = -1,
				.a = 100,
				.b = 100,
				.s1 = comm,
				.l1 = strlen(comm)};
	int64_t ts = 2000, d[] = {500, 1000, 3000000};
	for (int i = 0; i < 3; i++) {
		v[k++] = sys(ts, 100, true, 0, 3, 0, NULL, 0);
		v[k++] = sys(ts + d[i], 100, false, 0, 0, 0, NULL, 10);
		ts += d[i] + 100;
	}
	for (int i = 0; i < 2; i++) {
		v[k++] = sys(ts, 100, true, 2, 0, 0, "/nope", 0);
		v[k++] = sys(ts + 7, 100, false, 2, 0, 0, NULL, -ENOENT);
		ts += 100;
	}
	struct an_partial *p = map(v, 0, k, 0);
	char *t = metrics_text(p);
#define L(s) CHECK(has_line(t, s))
#define LAB  "pid=\"100\",comm=\"a\\\"b\\\\c\\n\xef\xbf\xbd\""
	L("# TYPE reel_syscall_duration_seconds histogram");
	L("reel_syscall_duration_seconds_bucket{" LAB ",syscall=\"read\",le=\"1e-06\"} 1");
	L("reel_syscall_duration_seconds_bucket{" LAB ",syscall=\"read\",le=\"5e-06\"} 2");
	L("reel_syscall_duration_seconds_bucket{" LAB ",syscall=\"read\",le=\"0.001\"} 2");
	L("reel_syscall_duration_seconds_bucket{" LAB ",syscall=\"read\",le=\"0.005\"} 3");
	L("reel_syscall_duration_seconds_bucket{" LAB ",syscall=\"read\",le=\"+Inf\"} 3");
	L("reel_syscall_duration_seconds_sum{" LAB ",syscall=\"read\"} 0.003001500");
	L("reel_syscall_duration_seconds_count{" LAB ",syscall=\"read\"} 3");
	L("reel_syscall_duration_seconds_count{" LAB ",syscall=\"openat\"} 2");
	L("# TYPE reel_syscall_errors_total counter");
	L("reel_syscall_errors_total{" LAB ",syscall=\"openat\",errno=\"ENOENT\"} 2");
	L("reel_chunks_total 1");
	L("reel_events_total 11");
	L("reel_lost_events_total 0");
	L("reel_newest_event_timestamp_seconds 0.003003907");
#undef L
#undef LAB
	/* every family once, its samples right after its TYPE line */
	for (const char *q = t; (q = strstr(q, "# TYPE ")); q++) {
		char name[128];
		CHECK(sscanf(q, "# TYPE %127s", name) == 1);
		char *again = NULL;
		CHECK(asprintf(&again, "# TYPE %s ", name) > 0);
		CHECK(!strstr(q + 1, again));
		free(again);
	}
	free(t);
	an_partial_destroy(p);
	/* a syscall whose exit is stamped before its entry (clocks of two
	 * CPUs; the model keeps its negative duration): a negative sum is
	 * still a number of the format, and the scrape stays valid */
	k = 0;
	v[k++] = sys(5000, 200, true, 0, 3, 0, NULL, 0);
	v[k++] = sys(3500, 200, false, 0, 0, 0, NULL, 10);
	p = map(v, 0, k, 0);
	t = metrics_text(p);
	CHECK(strstr(t, ",syscall=\"read\"} -0.000001500\n"));
	for (const char *q = t; *q; q = strchr(q, '\n') + 1)
		CHECK(!strstr(q, ".-") || strstr(q, ".-") > strchr(q, '\n'));
	free(t);
	an_partial_destroy(p);
	/* a chunk without a file read or written, nor a thread seen running
	 * (io and cpu followers before their first such chunk): the
	 * families without samples (no qsort of a NULL array: UBSan) */
	p = map(v, 0, 0, AN_IO | AN_CPU);
	t = metrics_text(p);
	CHECK(has_line(t, "# TYPE reel_io_read_bytes_total counter") &&
	      has_line(t, "# TYPE reel_cpu_seconds_total counter") &&
	      !strstr(t, "reel_io_read_bytes_total{"));
	free(t);
	an_partial_destroy(p);
	/* no chunk yet */
	t = metrics_text(NULL);
	CHECK(has_line(t, "reel_chunks_total 0") && !strstr(t, "reel_syscall"));
	free(t);
}

/* The reports' one JSON string writer: UTF-8 as it is, other bytes as
 * U+FFFD, quotes, backslashes and control characters escaped. */
static void test_json_str(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "\"plain\""},
		{"q\"b\\", "\"q\\\"b\\\\\""},
		{"t\tn\n\x7f", "\"t\\u0009n\\u000a\\u007f\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
		{"a\xff"
		 "b\xc3",
		 "\"a\xef\xbf\xbd"
		 "b\xef\xbf\xbd\""},
		{"\xc0\xaf\xed\xa0\x80",
		 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		CHECK(f);
		an_json_str(f, cases[i].in);
		fclose(f);
		if (strcmp(buf, cases[i].out)) {
			fprintf(stderr, "json string %zu: got %s, want %s\n", i, buf, cases[i].out);
			exit(1);
		}
		free(buf);
	}
}

int main(void)
{
	names = an_names_new();
	CHECK(names);
	const char *sn[] = {"read", "write", "openat", "close", "dup2"};
	for (int i = 0; i < 5; i++)
		sysname[i] = an_names_intern(names, sn[i], strlen(sn[i]));
	CHECK(an_names_intern(names, "read", 4) == sysname[0]);
	test_hist();
	test_json_str();
	test_stdev();
	test_malformed();
	test_fork_exec(true);
	test_fork_exec(false);
	test_sys_overlap(true);
	test_sys_overlap(false);
	for (unsigned seed = 1; seed <= 3; seed++) {
		test_cuts(true, 0, seed);
		test_cuts(false, 0, seed);
		test_cuts(true, AN_CPU_ATTRIBUTION, seed);
		test_cuts(true, AN_IO, seed);
		test_cuts(false, AN_IO, seed);
		test_cuts(true, AN_IO | AN_CPU_ATTRIBUTION, seed);
		test_cuts(false, AN_CPU, seed);
	}
	test_fd_model();
	test_fd_history();
	test_sqlite();
	test_io_overlap(true);
	test_io_overlap(false);
	test_cpu_model();
	test_phases();
	for (unsigned seed = 1; seed <= 3; seed++) {
		test_reducer(0, seed);
		test_reducer(AN_IO | AN_CPU, seed);
	}
	test_metrics();
	an_names_destroy(names);
	printf("analysis: ok\n");
	return 0;
}
