/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint (metrics-http.h): its request parser and its server
 * thread. The parser takes untrusted bytes (tests/cli/fuzz-http.c fuzzes
 * it); a client that sends nothing, or too much, is cut off after a few
 * seconds or HTTP_HEAD_MAX bytes, so that it cannot hold the server: each
 * step of a connection (its request, the answer, the lingering close) has
 * a deadline for the whole step, not for each read or write (a client
 * that sends a byte now and then would hold it for hours otherwise).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "metrics-http.h"

static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (its '\n'), NULL if not in [p, end). */
static const char *line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

int http_parse_request(const char *buf, size_t len, struct http_request *ret)
{
	const char *end = buf + (len > HTTP_HEAD_MAX ? HTTP_HEAD_MAX : len);
	/* the head ends at an empty line; find it first */
	const char *p = buf, *eol;
	size_t lines = 0;
	for (;;) {
		eol = line_end(p, end);
		if (!eol)
			return len >= HTTP_HEAD_MAX ? -E2BIG : 0;
		lines++;
		size_t l = (size_t)(eol - p);
		if (l && p[l - 1] == '\r')
			l--;
		p = eol + 1;
		if (!l)
			break;
	}
	if (lines < 2)
		return -EINVAL; /* an empty line first */
	size_t head_len = (size_t)(p - buf);

	/* request line: METHOD SP TARGET SP HTTP/1.x */
	p = buf;
	eol = line_end(p, end);
	const char *le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	struct http_request r = {0};
	size_t m = 0;
	while (p < le && tchar((unsigned char)*p)) {
		if (m + 1 >= sizeof(r.method))
			return -EINVAL;
		r.method[m++] = *p++;
	}
	if (!m || p == le || *p++ != ' ')
		return -EINVAL;
	if (p == le || *p != '/')
		return -EINVAL; /* origin-form only */
	size_t t = 0;
	bool query = false;
	while (p < le && *p != ' ') {
		unsigned char c = (unsigned char)*p++;
		if (c <= 0x20 || c >= 0x7f)
			return -EINVAL;
		if (c == '?')
			query = true;
		if (!query) {
			if (t + 1 >= sizeof(r.path))
				return -EINVAL;
			r.path[t++] = (char)c;
		}
	}
	if (p == le || *p++ != ' ')
		return -EINVAL;
	if (le - p != 8 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1'))
		return -EINVAL;

	/* headers: NAME ":" VALUE, no control characters but tabs */
	for (p = eol + 1; p < buf + head_len;) {
		eol = line_end(p, end);
		le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == p)
			break;
		const char *q = p;
		while (q < le && tchar((unsigned char)*q))
			q++;
		if (q == p || q == le || *q != ':')
			return -EINVAL;
		for (q++; q < le; q++) {
			unsigned char c = (unsigned char)*q;
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return -EINVAL;
		}
		p = eol + 1;
	}
	r.head_len = head_len;
	*ret = r;
	return 1;
}

/* ---- the server ------------------------------------------------------------ */

struct metrics_server {
	int fd, stop_fd;
	pthread_t thread;
	bool started;
	char address[INET6_ADDRSTRLEN + 16];
	pthread_mutex_t lock; /* text, len */
	char *text;
	size_t len;
};

/* The steps' deadlines, ms: the request, the answer, the lingering close */
#define REQUEST_MS 5000
#define ANSWER_MS  10000
#define LINGER_MS  1000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline (now_ms()) passes: 1
 * ready, 0 the deadline passed or an error. */
static int wait_until(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pf = {.fd = fd, .events = events};
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

/* recv() what is there, waiting until the deadline: > 0 bytes, <= 0 the
 * peer closed, an error or the deadline. */
static ssize_t recv_until(int fd, char *p, size_t n, int64_t deadline)
{
	for (;;) {
		if (!wait_until(fd, POLLIN, deadline))
			return -1;
		ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return r;
	}
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		if (!wait_until(fd, POLLOUT, deadline))
			return -1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void answer(int fd, const char *status, const char *extra, const char *body)
{
	int64_t deadline = now_ms() + ANSWER_MS;
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: text/plain; "
			 "charset=utf-8\r\n%sContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, extra, strlen(body));
	if (send_all(fd, head, (size_t)n, deadline) == 0)
		send_all(fd, body, strlen(body), deadline);
}

static void serve(struct metrics_server *m, int fd)
{
	int64_t deadline = now_ms() + REQUEST_MS;
	char buf[HTTP_HEAD_MAX];
	size_t len = 0;
	struct http_request req;
	int r = 0;
	while (len < sizeof(buf)) {
		ssize_t n = recv_until(fd, buf + len, sizeof(buf) - len, deadline);
		if (n <= 0)
			return; /* closed, or too slow: no answer */
		len += (size_t)n;
		if ((r = http_parse_request(buf, len, &req)) != 0)
			break;
	}
	if (r == 0)
		r = http_parse_request(buf, len, &req);
	if (r < 0) {
		answer(fd, r == -E2BIG ? "431 Request Header Fields Too Large" : "400 Bad Request",
		       "", "bad request\n");
		return;
	}
	bool head = !strcmp(req.method, "HEAD");
	if (!head && strcmp(req.method, "GET")) {
		answer(fd, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
		       "method not allowed\n");
		return;
	}
	if (strcmp(req.path, "/metrics")) {
		answer(fd, "404 Not Found", "", "not found: the metrics are at /metrics\n");
		return;
	}
	pthread_mutex_lock(&m->lock);
	size_t blen = m->len;
	char *body = malloc(blen + 1);
	if (body)
		memcpy(body, m->text ? m->text : "", blen);
	pthread_mutex_unlock(&m->lock);
	if (!body) {
		answer(fd, "503 Service Unavailable", "", "out of memory\n");
		return;
	}
	deadline = now_ms() + ANSWER_MS;
	char hdr[256];
	int n = snprintf(
		hdr, sizeof(hdr),
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: %zu\r\nConnection: close\r\n\r\n",
		blen);
	if (send_all(fd, hdr, (size_t)n, deadline) == 0 && !head)
		send_all(fd, body, blen, deadline);
	free(body);
}

static void *server_main(void *arg)
{
	struct metrics_server *m = arg;
	struct pollfd pf[2] = {{.fd = m->fd, .events = POLLIN},
			       {.fd = m->stop_fd, .events = POLLIN}};
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue; /* ECONNABORTED, EMFILE...: the next one */
		serve(m, c);
		/* A lingering close: what the client still sends is read and
		 * dropped (a bounded amount, within LINGER_MS), so that
		 * closing with unread bytes does not reset the connection
		 * before it has read the answer. */
		shutdown(c, SHUT_WR);
		char sink[4096];
		int64_t deadline = now_ms() + LINGER_MS;
		for (int i = 0; i < 16 && recv_until(c, sink, sizeof(sink), deadline) > 0; i++)
			;
		close(c);
	}
	return NULL;
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	if (m->started) {
		uint64_t one = 1;
		if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(m->thread);
		pthread_join(m->thread, NULL);
	}
	if (m->fd >= 0)
		close(m->fd);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}

struct metrics_server *metrics_server_start(const char *spec, char *err, size_t errlen)
{
	char host[256] = "127.0.0.1";
	const char *port = spec;
	const char *colon = strrchr(spec, ':');
	if (colon) {
		const char *h = spec;
		size_t hl = (size_t)(colon - spec);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		} else if (memchr(h, ':', hl)) {
			snprintf(err, errlen,
				 "bad address '%s' (an IPv6 address goes in brackets: [::1]:PORT)",
				 spec);
			return NULL;
		}
		if (hl >= sizeof(host)) {
			snprintf(err, errlen, "bad address '%s'", spec);
			return NULL;
		}
		if (hl) {
			memcpy(host, h, hl);
			host[hl] = 0;
		}
		port = colon + 1;
	}
	char *pe;
	errno = 0;
	long pn = strtol(port, &pe, 10);
	if (!*port || *pe || errno || pn < 0 || pn > 65535) {
		snprintf(err, errlen, "bad port in '%s' ([ADDR:]PORT, PORT 0 to 65535)", spec);
		return NULL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV},
			*ai = NULL;
	int gr = getaddrinfo(host, port, &hints, &ai);
	if (gr) {
		snprintf(err, errlen, "bad address '%s': %s", host, gai_strerror(gr));
		return NULL;
	}
	struct metrics_server *m = calloc(1, sizeof(*m));
	if (!m) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->fd = m->stop_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(m->fd, 16) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		freeaddrinfo(ai);
		metrics_server_stop(m);
		return NULL;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ab[INET6_ADDRSTRLEN] = "?";
	unsigned bound = 0;
	if (getsockname(m->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, ab, sizeof(ab));
			bound = ntohs(a->sin6_port);
			snprintf(m->address, sizeof(m->address), "[%s]:%u", ab, bound);
		} else {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, ab, sizeof(ab));
			bound = ntohs(a->sin_port);
			snprintf(m->address, sizeof(m->address), "%s:%u", ab, bound);
		}
	}
	m->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (m->stop_fd < 0 || pthread_create(&m->thread, NULL, server_main, m)) {
		snprintf(err, errlen, "cannot start the metrics server: %s", strerror(errno));
		metrics_server_stop(m);
		return NULL;
	}
	m->started = true;
	return m;
}

const char *metrics_server_address(const struct metrics_server *m)
{
	return m->address;
}

void metrics_server_set(struct metrics_server *m, char *text, size_t len)
{
	pthread_mutex_lock(&m->lock);
	char *old = m->text;
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
}
