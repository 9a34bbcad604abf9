/* SPDX-License-Identifier: MIT */
/*
 * msg: the framing of every message on Reel's Unix sockets (daemon and
 * clients, daemon and applications); doc/sessiond.md describes it.
 *
 *   header: u32 magic, u16 version, u16 type, u32 payload length, u32 nr_fds
 *   payload: fields, each u16 tag, u16 zero, u32 length, then the bytes
 *
 * Integers are little-endian host order (both ends run on one machine).
 * Tags may repeat: lists are sequences of fields, records start with a
 * marker tag. A reader checks every length against what it received.
 */
#ifndef REEL_COMMON_MSG_H
#define REEL_COMMON_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define REEL_MSG_MAGIC 0x4c45524du /* "MREL" */
#define REEL_MSG_VERSION 1u
#define REEL_MSG_MAX_PAYLOAD (16u << 20)
#define REEL_MSG_MAX_FDS 16u

struct reel_msg_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;
	uint32_t nr_fds;
};

/* A message being built or received. */
struct reel_msg {
	uint16_t type;
	char *buf;
	size_t len, cap;
	bool failed; /* an append ran out of memory or limits */
	int fds[REEL_MSG_MAX_FDS];
	unsigned int nr_fds;
};

void reel_msg_init(struct reel_msg *m, uint16_t type) REEL_HIDDEN;
/* Free the buffer and close the descriptors still held. */
void reel_msg_free(struct reel_msg *m) REEL_HIDDEN;

void reel_msg_put(struct reel_msg *m, uint16_t tag, const void *data, uint32_t len) REEL_HIDDEN;
void reel_msg_put_u64(struct reel_msg *m, uint16_t tag, uint64_t v) REEL_HIDDEN;
void reel_msg_put_i64(struct reel_msg *m, uint16_t tag, int64_t v) REEL_HIDDEN;
void reel_msg_put_str(struct reel_msg *m, uint16_t tag, const char *s) REEL_HIDDEN;
/* A marker: a field with no value. */
void reel_msg_put_mark(struct reel_msg *m, uint16_t tag) REEL_HIDDEN;
/* Append the fields of `other`. */
void reel_msg_append(struct reel_msg *m, const struct reel_msg *other) REEL_HIDDEN;
/* Attach a descriptor, sent with the message (the message does not own it). */
void reel_msg_put_fd(struct reel_msg *m, int fd) REEL_HIDDEN;

/* How long reel_msg_send() waits, at most, for a peer that does not read
 * (non-blocking sockets). */
#define REEL_MSG_SEND_TIMEOUT_MS 2000

/* Send `m` on a connected stream socket. Returns 0 or a negative errno
 * (-ENOMEM/-E2BIG when building it failed, -ETIMEDOUT when the peer of a
 * non-blocking socket did not read it in time). */
int reel_msg_send(int sock, const struct reel_msg *m) REEL_HIDDEN;

/*
 * Receive one message into `m` (initialized by this call; reel_msg_free()
 * it). Descriptors that came with it are in m->fds, owned by `m` until
 * taken with reel_msg_take_fd(). Returns 0, -ECONNRESET at end of stream,
 * -EBADMSG for a malformed header, or another negative errno.
 */
int reel_msg_recv(int sock, struct reel_msg *m) REEL_HIDDEN;
/*
 * Receiving without blocking, for a server that must never wait for a
 * peer: bytes are gathered per connection as they come, and a message is
 * taken only once it is whole. Descriptors are not accepted this way.
 */
struct reel_msg_inbuf {
	char *buf;
	size_t len, cap;
};

/* Read what `sock` (non-blocking) has. Returns the bytes read (> 0),
 * -EAGAIN when there was nothing, -ECONNRESET at end of stream, or another
 * negative errno. Descriptors that came along are closed. */
int reel_msg_inbuf_fill(int sock, struct reel_msg_inbuf *in) REEL_HIDDEN;
/* Take the next whole message into `ret` (reel_msg_free() it): 1 when one
 * was taken, 0 when none is whole yet, -EBADMSG when the bytes are not a
 * message (or carry descriptors). */
int reel_msg_inbuf_take(struct reel_msg_inbuf *in, struct reel_msg *ret) REEL_HIDDEN;
void reel_msg_inbuf_free(struct reel_msg_inbuf *in) REEL_HIDDEN;

/* The i-th descriptor received, now the caller's; -1 when there is none. */
int reel_msg_take_fd(struct reel_msg *m, unsigned int i) REEL_HIDDEN;

/* Reading fields in order. */
struct reel_msg_iter {
	const char *pos, *end;
};

struct reel_msg_field {
	uint16_t tag;
	uint32_t len;
	const char *data;
};

void reel_msg_iter_init(struct reel_msg_iter *it, const struct reel_msg *m) REEL_HIDDEN;
/* Returns 1 with the next field, 0 at the end, -EBADMSG when the payload
 * is malformed. */
int reel_msg_next(struct reel_msg_iter *it, struct reel_msg_field *ret) REEL_HIDDEN;

/* Field values, checked: -EBADMSG when the field does not hold one. */
int reel_msg_u64(const struct reel_msg_field *f, uint64_t *ret) REEL_HIDDEN;
int reel_msg_i64(const struct reel_msg_field *f, int64_t *ret) REEL_HIDDEN;
/* A string: non-empty-terminated text of printable length < len, no NUL
 * inside. Points into the message. */
int reel_msg_str(const struct reel_msg_field *f, const char **ret) REEL_HIDDEN;

#endif
