/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "msg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct field_head {
	uint16_t tag;
	uint16_t zero;
	uint32_t len;
};

void reel_msg_init(struct reel_msg *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	for (unsigned int i = 0; i < REEL_MSG_MAX_FDS; i++)
		m->fds[i] = -1;
}

void reel_msg_free(struct reel_msg *m)
{
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
	for (unsigned int i = 0; i < m->nr_fds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nr_fds = 0;
}

static bool reserve(struct reel_msg *m, size_t more)
{
	if (m->failed)
		return false;
	if (more > REEL_MSG_MAX_PAYLOAD || m->len + more > REEL_MSG_MAX_PAYLOAD) {
		m->failed = true;
		return false;
	}
	if (m->len + more <= m->cap)
		return true;
	size_t cap = m->cap ? m->cap * 2 : 256;
	while (cap < m->len + more)
		cap *= 2;
	char *grown = realloc(m->buf, cap);
	if (!grown) {
		m->failed = true;
		return false;
	}
	m->buf = grown;
	m->cap = cap;
	return true;
}

void reel_msg_put(struct reel_msg *m, uint16_t tag, const void *data, uint32_t len)
{
	struct field_head h = { tag, 0, len };
	if (!reserve(m, sizeof(h) + (size_t)len))
		return;
	memcpy(m->buf + m->len, &h, sizeof(h));
	if (len)
		memcpy(m->buf + m->len + sizeof(h), data, len);
	m->len += sizeof(h) + len;
}

void reel_msg_put_u64(struct reel_msg *m, uint16_t tag, uint64_t v)
{
	reel_msg_put(m, tag, &v, sizeof(v));
}

void reel_msg_put_i64(struct reel_msg *m, uint16_t tag, int64_t v)
{
	reel_msg_put(m, tag, &v, sizeof(v));
}

void reel_msg_put_str(struct reel_msg *m, uint16_t tag, const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > UINT32_MAX) {
		m->failed = true;
		return;
	}
	reel_msg_put(m, tag, s, (uint32_t)n);
}

void reel_msg_put_mark(struct reel_msg *m, uint16_t tag)
{
	reel_msg_put(m, tag, NULL, 0);
}

void reel_msg_append(struct reel_msg *m, const struct reel_msg *other)
{
	if (other->failed) {
		m->failed = true;
		return;
	}
	if (!other->len || !reserve(m, other->len))
		return;
	memcpy(m->buf + m->len, other->buf, other->len);
	m->len += other->len;
}

void reel_msg_put_fd(struct reel_msg *m, int fd)
{
	if (m->nr_fds >= REEL_MSG_MAX_FDS) {
		m->failed = true;
		return;
	}
	m->fds[m->nr_fds++] = fd;
}

int reel_msg_send(int sock, const struct reel_msg *m)
{
	if (m->failed)
		return -E2BIG;
	struct reel_msg_header h = { REEL_MSG_MAGIC, REEL_MSG_VERSION, m->type, (uint32_t)m->len,
				     m->nr_fds };
	struct iovec iov[2] = { { &h, sizeof(h) }, { m->buf, m->len } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * REEL_MSG_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = m->len ? 2 : 1 };
	if (m->nr_fds) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nr_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * m->nr_fds);
		memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nr_fds);
	}
	size_t total = sizeof(h) + m->len, sent = 0;
	int waited_ms = 0;
	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A non-blocking socket whose peer reads too slowly: wait
			 * for it, a bounded time in all. */
			if (errno == EAGAIN && waited_ms < REEL_MSG_SEND_TIMEOUT_MS) {
				struct pollfd p = { sock, POLLOUT, 0 };
				int step = REEL_MSG_SEND_TIMEOUT_MS - waited_ms < 100 ?
						   REEL_MSG_SEND_TIMEOUT_MS - waited_ms :
						   100;
				if (poll(&p, 1, step) == 0)
					waited_ms += step;
				continue;
			}
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		sent += (size_t)n;
		/* Descriptors went with the first bytes; send the rest plainly. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov[0].iov_len) {
			n -= (ssize_t)mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + n;
			mh.msg_iov[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(sock, (char *)buf + got, len - got, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int reel_msg_recv(int sock, struct reel_msg *m)
{
	reel_msg_init(m, 0);
	struct reel_msg_header h;
	union {
		char buf[CMSG_SPACE(sizeof(int) * REEL_MSG_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	/* Take the descriptors first, so that they are closed whatever else
	 * is wrong with the message. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nr; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nr_fds < REEL_MSG_MAX_FDS)
				m->fds[m->nr_fds++] = fd;
			else
				close(fd);
		}
	}
	int err = 0;
	if ((size_t)n < sizeof(h))
		err = read_full(sock, (char *)&h + n, sizeof(h) - (size_t)n);
	if (err)
		return err;
	if (h.magic != REEL_MSG_MAGIC || h.version != REEL_MSG_VERSION ||
	    h.len > REEL_MSG_MAX_PAYLOAD || h.nr_fds != m->nr_fds || (mh.msg_flags & MSG_CTRUNC))
		return -EBADMSG;
	m->type = h.type;
	if (h.len) {
		m->buf = malloc(h.len);
		if (!m->buf)
			return -ENOMEM;
		m->cap = h.len;
		err = read_full(sock, m->buf, h.len);
		if (err)
			return err;
		m->len = h.len;
	}
	return 0;
}

int reel_msg_take_fd(struct reel_msg *m, unsigned int i)
{
	if (i >= m->nr_fds)
		return -1;
	int fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}

void reel_msg_iter_init(struct reel_msg_iter *it, const struct reel_msg *m)
{
	it->pos = m->buf;
	it->end = m->buf + m->len;
}

int reel_msg_next(struct reel_msg_iter *it, struct reel_msg_field *ret)
{
	size_t left = (size_t)(it->end - it->pos);
	if (left == 0)
		return 0;
	struct field_head h;
	if (left < sizeof(h))
		return -EBADMSG;
	memcpy(&h, it->pos, sizeof(h));
	if (h.zero != 0 || h.len > left - sizeof(h))
		return -EBADMSG;
	ret->tag = h.tag;
	ret->len = h.len;
	ret->data = it->pos + sizeof(h);
	it->pos += sizeof(h) + h.len;
	return 1;
}

int reel_msg_u64(const struct reel_msg_field *f, uint64_t *ret)
{
	if (f->len != sizeof(uint64_t))
		return -EBADMSG;
	memcpy(ret, f->data, sizeof(*ret));
	return 0;
}

int reel_msg_i64(const struct reel_msg_field *f, int64_t *ret)
{
	if (f->len != sizeof(int64_t))
		return -EBADMSG;
	memcpy(ret, f->data, sizeof(*ret));
	return 0;
}

int reel_msg_str(const struct reel_msg_field *f, const char **ret)
{
	if (f->len == 0 || f->data[f->len - 1] != '\0' || memchr(f->data, '\0', f->len) != f->data + f->len - 1)
		return -EBADMSG;
	*ret = f->data;
	return 0;
}

int reel_msg_inbuf_fill(int sock, struct reel_msg_inbuf *in)
{
	/* Room for a whole header and some payload at least. */
	if (in->cap - in->len < 65536) {
		size_t cap = in->cap ? in->cap * 2 : 65536;
		if (cap > sizeof(struct reel_msg_header) + REEL_MSG_MAX_PAYLOAD + 65536)
			cap = sizeof(struct reel_msg_header) + REEL_MSG_MAX_PAYLOAD + 65536;
		if (cap > in->cap) {
			char *grown = realloc(in->buf, cap);
			if (!grown)
				return -ENOMEM;
			in->buf = grown;
			in->cap = cap;
		}
	}
	if (in->len == in->cap)
		return -EBADMSG; /* larger than any message */
	union {
		char buf[CMSG_SPACE(sizeof(int) * REEL_MSG_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { in->buf + in->len, in->cap - in->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nr; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	in->len += (size_t)n;
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int reel_msg_inbuf_take(struct reel_msg_inbuf *in, struct reel_msg *ret)
{
	struct reel_msg_header h;
	if (in->len < sizeof(h))
		return 0;
	memcpy(&h, in->buf, sizeof(h));
	if (h.magic != REEL_MSG_MAGIC || h.version != REEL_MSG_VERSION ||
	    h.len > REEL_MSG_MAX_PAYLOAD || h.nr_fds != 0)
		return -EBADMSG;
	if (in->len - sizeof(h) < h.len)
		return 0;
	reel_msg_init(ret, h.type);
	if (h.len) {
		ret->buf = malloc(h.len);
		if (!ret->buf)
			return -ENOMEM;
		memcpy(ret->buf, in->buf + sizeof(h), h.len);
		ret->len = ret->cap = h.len;
	}
	size_t used = sizeof(h) + h.len;
	memmove(in->buf, in->buf + used, in->len - used);
	in->len -= used;
	return 1;
}

void reel_msg_inbuf_free(struct reel_msg_inbuf *in)
{
	free(in->buf);
	memset(in, 0, sizeof(*in));
}
