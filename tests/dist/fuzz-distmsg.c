/* SPDX-License-Identifier: MIT */
/*
 * Fuzz driver of the dispatch's message parsers (src/dist/msg.c): tasks,
 * results (with the binary partial they carry, an_partial_read) and chunk
 * announcements, as they come from the broker. Self-contained: the seeds
 * are messages encoded here from random valid fields (the round trip is
 * checked), then mutated (bytes flipped, cut, lines duplicated, dropped or
 * swapped, bytes inserted). Inputs are copied to buffers of their exact
 * size, so that an over-read is ASan's.
 *
 *   fuzz-distmsg SECONDS [SEED]
 *
 * Exit status 0 when nothing crashed and every round trip held.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/analysis.h"
#include "dist/dist.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t pick(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

#define CHECK(cond, ...)                                   \
	do {                                               \
		if (!(cond)) {                             \
			fprintf(stderr, "fuzz-distmsg: "); \
			fprintf(stderr, __VA_ARGS__);      \
			fputc('\n', stderr);               \
			abort();                           \
		}                                          \
	} while (0)

static void rand_str(char *s, size_t max, bool path)
{
	static const char cs[] = "abcdefXYZ0129-_.:/ +%\t\x7f\xc3\xa9";
	size_t n = 1 + pick((uint32_t)max - 1);
	size_t i = 0;
	if (path)
		s[i++] = '/';
	for (; i < n; i++)
		s[i] = cs[pick(sizeof(cs) - 1)];
	s[n] = '\0';
}

static void rand_hex(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = "0123456789abcdef"[pick(16)];
	s[n] = '\0';
}

/* A partial with a few names and threads' worth of events, encoded. */
static char *partial_bytes(size_t *len)
{
	struct an_names *names = an_names_new();
	struct an_partial *p = an_partial_new(names, pick(2) ? AN_IO : 0);
	const char *calls[] = {"read", "write", "openat", "close"};
	int64_t ts = 1000;
	for (int i = 0; i < 20; i++) {
		const char *c = calls[pick(4)];
		struct an_ev e = {.kind = AN_EV_SYS_ENTRY,
				  .cpu = 0,
				  .ts = ts++,
				  .tid = 1 + pick(3),
				  .name = an_names_intern(names, c, strlen(c)),
				  .io = an_io_kind(c)};
		an_partial_feed(p, &e);
		e.kind = AN_EV_SYS_EXIT;
		e.ts = ts++;
		e.ret = (int64_t)pick(100) - 5;
		an_partial_feed(p, &e);
	}
	an_partial_end_chunk(p);
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	CHECK(f && !an_partial_write(p, f) && !fclose(f), "writing a partial");
	an_partial_destroy(p);
	an_names_destroy(names);
	return buf;
}

static void parse_all(const char *data, size_t len)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	char err[256], *buf = NULL;
	struct dist_task t;
	if (!dist_task_parse(copy, len, &t, &buf, err, sizeof(err))) {
		CHECK(t.path && t.path[0] == '/', "task path");
		char *again;
		size_t al;
		CHECK(!dist_task_encode(&t, &again, &al) && al == len && !memcmp(again, copy, len),
		      "task re-encode");
		free(again);
		free(buf);
	}
	struct dist_result r;
	if (!dist_result_parse(copy, len, &r, &buf, err, sizeof(err))) {
		CHECK(!!r.error + !!r.file + (!r.error && !r.file) == 1, "result form");
		if (!r.error && !r.file) {
			CHECK((const char *)r.data + r.size == copy + len, "result size");
			struct an_names *names = an_names_new();
			FILE *f = fmemopen((void *)r.data, r.size ? r.size : 1, "rb");
			if (f && r.size) {
				struct an_partial *p = an_partial_read(names, f);
				if (p) {
					/* merged with itself and exposed: every number
					 * the partial carries goes through the reduce
					 * and the reports */
					rewind(f);
					struct an_partial *q = an_partial_read(names, f);
					if (q && an_partial_merge(p, q)) {
						an_partial_destroy(p);
						p = NULL;
					}
					char *rb = NULL;
					size_t rl = 0;
					FILE *o = p ? open_memstream(&rb, &rl) : NULL;
					if (o) {
						an_report_syscalls(p, o, true);
						an_metrics_write(p, o);
						fclose(o);
					}
					free(rb);
				}
				an_partial_destroy(p);
			}
			if (f)
				fclose(f);
			an_names_destroy(names);
		}
		free(buf);
	}
	struct dist_chunk c;
	if (!dist_chunk_parse(copy, len, &c, &buf, err, sizeof(err))) {
		CHECK(c.path[0] == '/' && c.session && (!c.run || strlen(c.run) == DIST_ID_LEN),
		      "chunk fields");
		free(buf);
	}
	free(copy);
}

/* One seed message of a random kind; *len its size. */
static char *seed(size_t *len, const char *partial, size_t plen)
{
	char s1[64], s2[64], s3[64], path[200], *out = NULL;
	int k = (int)pick(3);
	if (k == 0) {
		struct dist_task t = {.index = pick(1000), .flags = pick(16)};
		rand_hex(t.run, DIST_RUN_LEN);
		rand_str(path, 150, true);
		t.path = path;
		if (t.flags & AN_PHASES) {
			rand_str(s1, 40, false);
			rand_str(s2, 40, false);
			t.begin = s1;
			t.end = s2;
			if (pick(2)) {
				rand_str(s3, 20, false);
				t.by = s3;
			}
		}
		dist_task_id(&t, t.id);
		CHECK(!dist_task_encode(&t, &out, len), "task encode");
		char *buf, err[256];
		struct dist_task b;
		CHECK(!dist_task_parse(out, *len, &b, &buf, err, sizeof(err)), "task parse: %s",
		      err);
		CHECK(!strcmp(b.id, t.id) && !strcmp(b.run, t.run) && b.index == t.index &&
			      b.flags == t.flags && !strcmp(b.path, t.path) &&
			      !b.begin == !t.begin && (!b.begin || !strcmp(b.begin, t.begin)),
		      "task round trip");
		free(buf);
	} else if (k == 1) {
		struct dist_result r = {.index = pick(1000), .worker = s1};
		rand_hex(r.id, DIST_ID_LEN);
		rand_hex(r.run, DIST_RUN_LEN);
		rand_str(s1, 40, false);
		int form = (int)pick(3);
		if (form == 0) {
			rand_str(s2, 60, false);
			r.error = s2;
		} else if (form == 1) {
			rand_str(path, 150, true);
			r.file = path;
		} else {
			r.data = partial;
			r.size = plen;
		}
		CHECK(!dist_result_encode(&r, &out, len), "result encode");
		char *buf, err[256];
		struct dist_result b;
		CHECK(!dist_result_parse(out, *len, &b, &buf, err, sizeof(err)), "result parse: %s",
		      err);
		CHECK(!strcmp(b.id, r.id) && b.index == r.index && b.size == r.size &&
			      (!r.size || !memcmp(b.data, r.data, r.size)),
		      "result round trip");
		free(buf);
	} else {
		struct dist_chunk c = {.index = pick(1000), .session = s1};
		rand_str(s1, 40, false);
		rand_str(path, 150, true);
		c.path = path;
		dist_chunk_id(path, c.id);
		char run[DIST_ID_LEN + 1];
		if (pick(2)) {
			dist_chunk_id(s1, run);
			c.run = run;
		}
		CHECK(!dist_chunk_encode(&c, &out, len), "chunk encode");
	}
	return out;
}

static void mutate(char **data, size_t *len)
{
	char *d = *data;
	size_t n = *len;
	switch (pick(6)) {
	case 0: /* flip bytes */
		for (uint32_t i = 0, k = 1 + pick(4); i < k && n; i++)
			d[pick((uint32_t)n)] ^= (char)(1 << pick(8));
		break;
	case 1: /* cut */
		n = pick((uint32_t)n + 1);
		break;
	case 2: { /* insert bytes */
		size_t at = pick((uint32_t)n + 1), k = 1 + pick(8);
		d = realloc(d, n + k);
		memmove(d + at + k, d + at, n - at);
		for (size_t i = 0; i < k; i++)
			d[at + i] = "\n \0:9/a"[pick(7)];
		n += k;
		break;
	}
	case 3: { /* duplicate a region */
		size_t a = pick((uint32_t)n + 1), b = a + pick((uint32_t)(n - a) + 1);
		d = realloc(d, n + (b - a) + 1);
		memmove(d + b + (b - a), d + b, n - b);
		memcpy(d + b, d + a, b - a);
		n += b - a;
		break;
	}
	case 4: { /* drop a region */
		size_t a = pick((uint32_t)n + 1), b = a + pick((uint32_t)(n - a) + 1);
		memmove(d + a, d + b, n - b);
		n -= b - a;
		break;
	}
	default: /* a number field's digits */
		for (size_t i = 0; i < n; i++)
			if (d[i] >= '0' && d[i] <= '9' && !pick(8))
				d[i] = (char)('0' + pick(10));
	}
	*data = d;
	*len = n;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	rng = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL) | 1;
	fprintf(stderr, "fuzz-distmsg: seed %" PRIu64 "\n", rng);
	size_t plen;
	char *partial = partial_bytes(&plen);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t rounds = 0;
	do {
		size_t len;
		char *m = seed(&len, partial, plen);
		parse_all(m, len);
		for (uint32_t i = 0, k = 1 + pick(4); i < k; i++) {
			mutate(&m, &len);
			parse_all(m, len);
		}
		free(m);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 <
		 seconds);
	free(partial);
	fprintf(stderr, "fuzz-distmsg: %" PRIu64 " rounds\n", rounds);
	return 0;
}
