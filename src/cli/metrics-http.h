/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint of `reel analyze --follow --metrics` (doc/metrics.md):
 * a small HTTP/1.x server on a thread of its own that answers GET and HEAD
 * /metrics with the latest text it was given, 404 for other paths, 405 for
 * other methods and 400 for malformed requests, one connection at a time
 * (each closed after its answer).
 */
#ifndef REEL_CLI_METRICS_HTTP_H
#define REEL_CLI_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX 8192 /* a request's head (request line and headers) */

struct http_request {
	char method[16];
	char path[2048]; /* the target up to its '?' */
	size_t head_len; /* bytes of the head, its empty line included */
};

/* Parse the head of a request from buf[0..len) (untrusted bytes: any
 * content). Returns 1 with *ret filled when the head is complete and well
 * formed (origin-form target, HTTP/1.0 or 1.1, headers `name: value`),
 * 0 when more bytes are needed, -EINVAL when it is malformed, -E2BIG when
 * it is longer than HTTP_HEAD_MAX. */
int http_parse_request(const char *buf, size_t len, struct http_request *ret);

struct metrics_server;

/* Listen on `spec`, [ADDR:]PORT (ADDR a numeric IPv4 address or an IPv6
 * one in brackets, default 127.0.0.1; PORT 0 picks a free port), and serve
 * on a new thread. NULL on failure, with a message in err. */
struct metrics_server *metrics_server_start(const char *spec, char *err, size_t errlen);
/* The address it listens on, as ADDR:PORT. */
const char *metrics_server_address(const struct metrics_server *m);
/* Serve `text` (len bytes, taken: freed by the server) from now on.
 * Thread-safe. */
void metrics_server_set(struct metrics_server *m, char *text, size_t len);
/* Stop the thread (an answer in progress completes) and free; NULL ok. */
void metrics_server_stop(struct metrics_server *m);

#endif
