/* SPDX-License-Identifier: MIT */
/*
 * Fuzz driver of the daemon's parsers of protocol messages: the framing
 * (received from a real socket), the applications' hello and event
 * descriptions, and the control requests. Self-contained (runs under
 * gcc's ASan+UBSan in `make check`): builds valid seed messages, replays
 * them, then mutates them for the given number of seconds.
 *
 *   fuzz-protocol SECONDS
 *
 * Requests that would touch the file system (start) are not fuzzed: the
 * rest run against the daemon's real session table, in a private $HOME.
 * Exit status 0 when nothing crashed (the sanitizers abort otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/protocol.h"
#include "sessiond/sessiond.h"

struct buf {
	uint8_t *d;
	size_t n;
};

static struct buf seeds[64];
static size_t nseeds;
static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The bytes of `m` as they go on the socket. */
static void add_seed(struct reel_msg *m)
{
	struct reel_msg_header h = { REEL_MSG_MAGIC, REEL_MSG_VERSION, m->type, (uint32_t)m->len,
				     0 };
	struct buf b = { malloc(sizeof(h) + m->len), sizeof(h) + m->len };
	if (!b.d || nseeds == sizeof(seeds) / sizeof(seeds[0]))
		abort();
	memcpy(b.d, &h, sizeof(h));
	if (m->len)
		memcpy(b.d + sizeof(h), m->buf, m->len);
	seeds[nseeds++] = b;
	reel_msg_free(m);
}

static void event_seed(struct reel_msg *m, uint64_t id, const char *name, bool with_enum)
{
	reel_msg_put_mark(m, REEL_TAG_EVENT);
	reel_msg_put_u64(m, REEL_TAG_ID, id);
	reel_msg_put_str(m, REEL_TAG_PROVIDER, "fz");
	reel_msg_put_str(m, REEL_TAG_NAME, name);
	reel_msg_put_i64(m, REEL_TAG_LOGLEVEL, 6);
	reel_msg_put_str(m, REEL_TAG_FIELD, "a");
	reel_msg_put_u64(m, REEL_TAG_FIELD_TYPE, REEL_FIELD_INTEGER | 32u << 8 | 1u << 16 | 10u << 24);
	reel_msg_put_u64(m, REEL_TAG_FIELD_LENGTH, 0);
	reel_msg_put_str(m, REEL_TAG_FIELD, "s");
	reel_msg_put_u64(m, REEL_TAG_FIELD_TYPE, REEL_FIELD_SEQUENCE | 8u << 8 | 10u << 24);
	reel_msg_put_u64(m, REEL_TAG_FIELD_LENGTH, 0);
	if (!with_enum)
		return;
	int64_t range[2] = { 0, 3 };
	reel_msg_put_str(m, REEL_TAG_FIELD, "e");
	reel_msg_put_u64(m, REEL_TAG_FIELD_TYPE, REEL_FIELD_ENUM | 8u << 8 | 10u << 24);
	reel_msg_put_u64(m, REEL_TAG_FIELD_LENGTH, 0);
	reel_msg_put_str(m, REEL_TAG_ENUM_NAME, "fz_e");
	reel_msg_put_str(m, REEL_TAG_ENUM_LABEL, "LOW");
	reel_msg_put(m, REEL_TAG_ENUM_RANGE, range, sizeof(range));
}

static void make_seeds(void)
{
	struct reel_msg m;
	reel_msg_init(&m, REEL_APP_HELLO);
	reel_msg_put_u64(&m, REEL_TAG_ABI, REEL_APP_ABI(REEL_RB_ABI_VERSION, REEL__VIEW_ABI));
	reel_msg_put_str(&m, REEL_TAG_PROCNAME, "fuzzed");
	reel_msg_put_u64(&m, REEL_TAG_BITS, 64);
	add_seed(&m);
	reel_msg_init(&m, REEL_APP_EVENTS);
	reel_msg_put_u64(&m, REEL_TAG_SEQ, 1);
	event_seed(&m, 0, "one", false);
	event_seed(&m, 1, "two", true);
	add_seed(&m);

	reel_msg_init(&m, REEL_CTL_CREATE);
	reel_msg_put_str(&m, REEL_TAG_SESSION, "fz");
	reel_msg_put_str(&m, REEL_TAG_OUTPUT, "/nonexistent/reel-fuzz");
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_ENABLE_CHANNEL);
	reel_msg_put_str(&m, REEL_TAG_CHANNEL, "c");
	reel_msg_put_u64(&m, REEL_TAG_SUBBUF_SIZE, 4096);
	reel_msg_put_u64(&m, REEL_TAG_NUM_SUBBUF, 2);
	reel_msg_put_u64(&m, REEL_TAG_BUFFERS, REEL_BUFFERS_PID);
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_ENABLE_EVENT);
	reel_msg_put_str(&m, REEL_TAG_CHANNEL, "c");
	reel_msg_put_str(&m, REEL_TAG_PATTERN, "fz:*");
	reel_msg_put_u64(&m, REEL_TAG_LOGLEVEL_MATCH, REEL_LOGLEVEL_RANGE);
	reel_msg_put_i64(&m, REEL_TAG_LOGLEVEL, 6);
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_ADD_CONTEXT);
	reel_msg_put_str(&m, REEL_TAG_CONTEXT, "procname");
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_DISABLE_EVENT);
	reel_msg_put_str(&m, REEL_TAG_PATTERN, "fz:*");
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_LIST_SESSIONS);
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_LIST_APPS);
	add_seed(&m);
	reel_msg_init(&m, REEL_CTL_DESTROY);
	reel_msg_put_str(&m, REEL_TAG_SESSION, "fz");
	add_seed(&m);
}

static size_t mutate(uint8_t *d, size_t n, size_t cap)
{
	int rounds = 1 + (int)(rnd() % 4);
	for (int r = 0; r < rounds; r++) {
		switch (rnd() % 6) {
		case 0: /* flip a bit */
			if (n)
				d[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* an interesting byte */
			if (n) {
				static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xff, 8, 16, 40 };
				d[rnd() % n] = v[rnd() % sizeof(v)];
			}
			break;
		case 2: /* cut */
			n = n ? (size_t)(rnd() % n) : 0;
			break;
		case 3: /* duplicate a slice at the end */
			if (n && n < cap) {
				size_t from = rnd() % n, len = 1 + rnd() % (n - from);
				if (len > cap - n)
					len = cap - n;
				memmove(d + n, d + from, len);
				n += len;
			}
			break;
		case 4: /* a random 32-bit word (lengths, tags) */
			if (n >= 4) {
				uint32_t w = (uint32_t)rnd();
				memcpy(d + rnd() % (n - 3), &w, 4);
			}
			break;
		default: /* splice another seed's tail */
			if (n) {
				const struct buf *o = &seeds[rnd() % nseeds];
				size_t at = rnd() % n, from = o->n ? rnd() % o->n : 0;
				size_t len = o->n - from;
				if (at + len > cap)
					len = cap - at;
				memcpy(d + at, o->d + from, len);
				if (at + len > n)
					n = at + len;
			}
			break;
		}
	}
	return n;
}

static struct app fake_app;
static int app_peer = -1;

/* One message through a real socket into the parser its type selects. */
static void run_one(const uint8_t *d, size_t n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	struct timeval tv = { 0, 1000 };
	setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (n && write(sv[0], d, n) != (ssize_t)n)
		abort();
	shutdown(sv[0], SHUT_WR);
	for (int i = 0; i < 4; i++) {
		struct reel_msg m;
		int err = reel_msg_recv(sv[1], &m);
		if (!err) {
			struct reel_msg_iter it;
			struct reel_msg_field f;
			reel_msg_iter_init(&it, &m);
			while (reel_msg_next(&it, &f) > 0)
				;
			if (m.type < REEL_CTL_CREATE) {
				app_handle(&fake_app, &m);
				app_pump(&fake_app);
			} else if (m.type != REEL_CTL_START) {
				/* Replies go to the other end, read and dropped. */
				client_handle(sv[1], 0, &m);
				char sink[4096];
				while (recv(sv[0], sink, sizeof(sink), MSG_DONTWAIT) > 0)
					;
			}
		}
		reel_msg_free(&m);
		if (err)
			break;
	}
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	char home[] = "/tmp/reel-fuzz-home.XXXXXX";
	if (!mkdtemp(home))
		return 1;
	setenv("HOME", home, 1);
	reel_clock_init();
	reel_clock_sample(&reeld.clock_start);
	/* Requests may name the kernel domain: not on the real kernel here. */
	reeld.no_kernel = true;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	fake_app.sock = sv[0];
	app_peer = sv[1];
	fake_app.pid = getpid();
	reeld.apps = &fake_app;

	make_seeds();
	for (size_t i = 0; i < nseeds; i++)
		run_one(seeds[i].d, seeds[i].n);

	size_t cap = 1 << 16, runs = 0;
	uint8_t *work = malloc(cap);
	if (!work)
		return 1;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		const struct buf *s = &seeds[rnd() % nseeds];
		memcpy(work, s->d, s->n);
		size_t n = mutate(work, s->n, cap);
		/* The hello first (apps speak after it), sometimes. */
		if (rnd() % 2)
			fake_app.hello = true;
		run_one(work, n);
		char sink[4096];
		while (recv(app_peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		runs++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);

	while (reeld.sessions)
		session_destroy(reeld.sessions);
	reeld.apps = NULL;
	fake_app.sock = -1;
	struct app *a = calloc(1, sizeof(*a));
	if (a) {
		*a = fake_app;
		app_free(a);
	}
	close(sv[0]);
	close(app_peer);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].d);
	free(work);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	if (system(cmd) != 0)
		return 1;
	printf("fuzz-protocol: %zu messages, %zu seeds, no crash\n", runs, nseeds);
	return 0;
}
