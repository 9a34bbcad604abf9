/* SPDX-License-Identifier: MIT */
/*
 * Fuzz driver of the metrics endpoint's request parser (src/cli/
 * metrics-http.c, reel analyze --follow --metrics). Self-contained (runs
 * under ASan+UBSan in `make check`): valid and invalid seed requests,
 * then mutations of them (bytes flipped, inserted, deleted, cut, spliced)
 * for the given number of seconds, each parsed at every length (as bytes
 * arrive); a parse that succeeds must give a NUL-terminated method of
 * token characters and a path starting with '/'. Then the same mutations
 * go to a real server on a loopback port, which must still answer
 * GET /metrics with its text after them.
 *
 *   fuzz-http SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/metrics-http.h"

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static const char *seeds[] = {
	"GET /metrics HTTP/1.1\r\nHost: localhost:9464\r\nUser-Agent: Prometheus/2.42.0\r\n"
	"Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
	"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
	"GET /metrics?x=1 HTTP/1.0\n\n",
	"HEAD /metrics HTTP/1.1\r\n\r\n",
	"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
	"GET / HTTP/1.1\r\nA:\r\nB:\tc\r\n\r\n",
	"GET http://x/metrics HTTP/1.1\r\n\r\n",
	"GET /metrics HTTP/2.0\r\n\r\n",
	"\r\n\r\n",
	"GET /m\x01 HTTP/1.1\r\n\r\n",
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t mutate(char *b, size_t n, size_t cap)
{
	static const char *tokens[] = {"\r\n",	   "\n",       " ",  ":",    "/", "?",
				       "HTTP/1.1", "\r\n\r\n", "\0", "\xff", "%"};
	for (int k = 1 + (int)(rnd() % 4); k > 0; k--) {
		size_t at = n ? (size_t)(rnd() % n) : 0;
		switch (rnd() % 6) {
		case 0: /* flip */
			if (n)
				b[at] = (char)rnd();
			break;
		case 1: /* delete */
			if (n) {
				memmove(b + at, b + at + 1, n - at - 1);
				n--;
			}
			break;
		case 2: { /* insert a token */
			const char *t = tokens[rnd() % (sizeof(tokens) / sizeof(tokens[0]))];
			size_t tl = *t ? strlen(t) : 1;
			if (n + tl <= cap) {
				memmove(b + at + tl, b + at, n - at);
				memcpy(b + at, t, tl);
				n += tl;
			}
			break;
		}
		case 3: /* cut */
			n = at;
			break;
		case 4: { /* repeat a run: long lines, many headers */
			size_t len = 1 + (size_t)(rnd() % 64), times = 1 + (size_t)(rnd() % 200);
			if (at + len > n)
				len = n - at;
			for (size_t i = 0; i < times && n + len <= cap; i++) {
				memmove(b + at + len, b + at, n - at);
				n += len;
			}
			break;
		}
		default: { /* splice another seed's tail */
			const char *s = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
			size_t sl = strlen(s), from = sl ? (size_t)(rnd() % sl) : 0;
			if (at + sl - from <= cap) {
				memcpy(b + at, s + from, sl - from);
				n = at + sl - from;
			}
		}
		}
	}
	return n;
}

static void parse_all(const char *b, size_t n)
{
	/* at every length: the bytes as they arrive */
	for (size_t l = 0; l <= n; l += 1 + l / 16) {
		struct http_request r;
		memset(&r, 0x5a, sizeof(r));
		int v = http_parse_request(b, l, &r);
		CHECK(v == 1 || v == 0 || v == -EINVAL || v == -E2BIG);
		if (v == 1) {
			CHECK(memchr(r.method, 0, sizeof(r.method)) && r.method[0]);
			CHECK(memchr(r.path, 0, sizeof(r.path)) && r.path[0] == '/');
			CHECK(r.head_len <= l && r.head_len <= HTTP_HEAD_MAX);
		}
	}
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

/* Send b[0..n), read the answer to the end. */
static size_t exchange(int port, const char *b, size_t n, char *ans, size_t cap)
{
	int fd = connect_to(port);
	if (n)
		send(fd, b, n, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	size_t got = 0;
	ssize_t r;
	while (got < cap - 1 && (r = recv(fd, ans + got, cap - 1 - got, 0)) > 0)
		got += (size_t)r;
	ans[got] = 0;
	close(fd);
	return got;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	static char buf[3 * HTTP_HEAD_MAX], ans[65536];
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		parse_all(seeds[i], strlen(seeds[i]));
	struct http_request r;
	CHECK(http_parse_request(seeds[0], strlen(seeds[0]), &r) == 1 && !strcmp(r.method, "GET") &&
	      !strcmp(r.path, "/metrics") && r.head_len == strlen(seeds[0]));
	CHECK(http_parse_request(seeds[1], strlen(seeds[1]), &r) == 1 &&
	      !strcmp(r.path, "/metrics"));
	CHECK(http_parse_request(seeds[5], strlen(seeds[5]), &r) == -EINVAL);
	CHECK(http_parse_request(seeds[6], strlen(seeds[6]), &r) == -EINVAL);
	CHECK(http_parse_request("GET /metrics HTTP/1.1\r\n", 23, &r) == 0);

	char err[256];
	struct metrics_server *m = metrics_server_start("127.0.0.1:0", err, sizeof(err));
	CHECK(m);
	int port = atoi(strrchr(metrics_server_address(m), ':') + 1);
	char *text = strdup("reel_chunks_total 7\n");
	CHECK(text);
	metrics_server_set(m, text, strlen(text));

	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long runs = 0, sent = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el =
			(double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= seconds)
			break;
		const char *s = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		n = mutate(buf, n, sizeof(buf));
		parse_all(buf, n);
		runs++;
		/* a quarter of the time on the real server, from the second half on */
		if (el >= seconds / 2 && rnd() % 4 == 0) {
			size_t got = exchange(port, buf, n, ans, sizeof(ans));
			CHECK(got == 0 || !strncmp(ans, "HTTP/1.1 ", 9));
			sent++;
		}
	}
	const char *get = "GET /metrics HTTP/1.1\r\n\r\n";
	size_t got = exchange(port, get, strlen(get), ans, sizeof(ans));
	CHECK(got && strstr(ans, "HTTP/1.1 200 OK\r\n") == ans &&
	      strstr(ans, "\r\n\r\nreel_chunks_total 7\n"));
	metrics_server_stop(m);
	printf("fuzz-http: %lu inputs, %lu to the server: ok\n", runs, sent);
	return 0;
}
