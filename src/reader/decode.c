/* SPDX-License-Identifier: MIT */
/*
 * Stream decoder: maps one stream file, walks its packets (header, context,
 * sizes, discarded-event counters) and decodes one event at a time into a
 * flat array of values by walking the precompiled plans (plan.c). Every read
 * is checked against the packet's content size; pages of finished packets
 * are given back so that memory stays flat whatever the trace size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader-local.h"

#define MAX_VALUES (1u << 22) /* per event or packet */
#define CTF_MAGIC 0xC1FC1FC1u

struct dctx {
	struct rstream *s;
	const uint8_t *base;
	uint64_t pos, limit;
	uint64_t fast_end;  /* bytes from base that may be loaded 8 at a time */
	uint64_t *regs;
	struct rvbuf *out;
	uint64_t event_id;
	bool has_event_id;
	char *err;
	size_t errlen;
};

static int dfail(struct dctx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int dfail(struct dctx *d, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(d->err, d->errlen, "%s: packet at offset %llu: %s", d->s->path,
		 (unsigned long long)d->s->pkt_off, msg);
	return -EBADMSG;
}

uint64_t ctf_read_bits(const uint8_t *base, uint64_t pos, unsigned size, bool be)
{
	const uint8_t *p = base + (pos >> 3);
	unsigned shift = (unsigned)(pos & 7);
	unsigned nbytes = (shift + size + 7) / 8;
	if (!be) {
		/* little endian: bit 0 is the least significant bit of the first byte */
		uint64_t v = 0;
		unsigned n = nbytes > 8 ? 8 : nbytes;
		for (unsigned i = 0; i < n; i++)
			v |= (uint64_t)p[i] << (8 * i);
		v >>= shift;
		if (nbytes > 8)
			v |= (uint64_t)p[8] << (64 - shift);
		return size == 64 ? v : v & ((UINT64_C(1) << size) - 1);
	}
	/* big endian: bit 0 is the most significant bit of the first byte */
	unsigned __int128 v = 0;
	for (unsigned i = 0; i < nbytes; i++)
		v = v << 8 | p[i];
	v >>= nbytes * 8 - shift - size;
	return size == 64 ? (uint64_t)v : (uint64_t)v & ((UINT64_C(1) << size) - 1);
}

int64_t ctf_clock_ns(const struct ctf_clock *c, uint64_t cycles)
{
	uint64_t ns;
	if (c->freq == 1000000000) {
		ns = cycles;
	} else {
		double r = 1e9 * (double)cycles / (double)c->freq;
		ns = r >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)r;
	}
	/* wraps (defined) rather than overflows on absurd clock values */
	return (int64_t)((uint64_t)c->base_ns + ns);
}

static int rv_grow(struct dctx *d)
{
	struct rvbuf *b = d->out;
	if (b->cap >= MAX_VALUES)
		return dfail(d, "too many fields in one event");
	uint32_t cap = b->cap ? b->cap * 2 : 256;
	struct rval *nv = realloc(b->v, (size_t)cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	b->v = nv;
	b->cap = cap;
	return 0;
}

static inline void update_clock(struct rstream *s, unsigned size, uint64_t v)
{
	if (size >= 64) {
		s->clock = v;
		return;
	}
	uint64_t mask = (UINT64_C(1) << size) - 1;
	uint64_t low = s->clock & mask;
	uint64_t c = s->clock;
	if (v < low)
		c += mask + 1;
	s->clock = (c & ~mask) | v;
}

static void int_flags(struct dctx *d, const struct plan_node *p, uint64_t v)
{
	struct rstream *s = d->s;
	uint16_t f = p->flags;
	if (f & PF_EVENT_ID) {
		d->event_id = v;
		d->has_event_id = true;
	}
	if (f & PF_CLOCK)
		update_clock(s, p->size, v);
	if (f & PF_TS_BEGIN) {
		s->ts_begin = v;
		s->has_ts_begin = true;
	}
	if (f & PF_TS_END) {
		s->ts_end = v;
		s->has_ts_end = true;
	}
	if (f & PF_CONTENT_SIZE)
		s->content_bits = v;
	if (f & PF_PACKET_SIZE)
		s->pkt_bits = v;
	if (f & PF_DISCARDED) {
		s->discarded = v;
		s->has_discarded = true;
	}
	if (f & PF_SEQ_NUM) {
		s->seq_num = v;
		s->has_seq_num = true;
	}
	if (f & PF_STREAM_INSTANCE) {
		s->instance_id = v;
		s->has_instance_id = true;
	}
}

struct frame {
	uint32_t idx;    /* value of the structure, array or variant */
	uint64_t left;   /* array: elements still to decode */
};

#define MAX_DEPTH 80

static int oob(struct dctx *d, const struct xop *o)
{
	const char *name = o->p && o->p->name ? o->p->name : "(element)";
	return dfail(d, "field '%s' crosses the end of the packet content", name);
}

/* Little-endian bit fields within 8 readable bytes: one load. */
static inline uint64_t read_le_fast(const uint8_t *base, uint64_t pos, unsigned size)
{
	uint64_t w;
	memcpy(&w, base + (pos >> 3), 8);
	w >>= pos & 7;
	return size == 64 ? w : w & ((UINT64_C(1) << size) - 1);
}

/*
 * Length of the string at str, the index of its NUL among the room bytes
 * of packet content (room when there is none); readable bytes from str
 * (the mapped file: readable >= room is not required) are read 8 at a time,
 * which short strings, the common ones, favor over a call to memchr.
 */
static inline uint64_t string_len(const char *str, uint64_t room, uint64_t readable)
{
	uint64_t len = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (len + 8 <= readable && len < room) {
		uint64_t w;
		memcpy(&w, str + len, 8);
		uint64_t z = (w - UINT64_C(0x0101010101010101)) & ~w & UINT64_C(0x8080808080808080);
		if (z) { /* the lowest flagged byte is the first NUL (little endian) */
			len += (uint64_t)__builtin_ctzll(z) / 8;
			return len < room ? len : room;
		}
		len += 8;
	}
#else
	(void)readable;
#endif
	if (len >= room)
		return room;
	const char *nul = memchr(str + len, 0, room - len);
	return nul ? (uint64_t)(nul - str) : room;
}

#define RUN_NAME run_full
#define RUN_STORE 1
#include "decode-run.h"
#define RUN_NAME run_skim
#define RUN_STORE 0
#include "decode-run.h"

/* ---- files and packets ------------------------------------------------------ */

int rstream_open(struct rtrace *t, const char *path, struct rstream **ret, char *err, size_t errlen)
{
	struct rstream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->trace = t;
	s->fd = -1;
	s->end_off = UINT64_MAX;
	s->pkt_ctx_index = UINT32_MAX;
	/* A compressed stream file is named, in messages, as it was. */
	s->path = zst_name(path) ? strndup(path, strlen(path) - 4) : strdup(path);
	s->regs = calloc(t->meta->nregs ? t->meta->nregs : 1, sizeof(*s->regs));
	if (!s->path || !s->regs) {
		rstream_close(s);
		return -ENOMEM;
	}
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		rstream_close(s);
		return -e;
	}
	s->file_size = (uint64_t)st.st_size;
	if (zst_name(path)) {
		void *m;
		int e = zst_map(s->fd, (uint64_t)1 << 40, &m, &s->file_size);
		if (e) {
			snprintf(err, errlen, "%s: %s", path,
				 e == -EBADMSG ? "not a valid zstd file" : strerror(-e));
			rstream_close(s);
			return e;
		}
		s->map = m;
		s->in_memory = true;
	} else if (s->file_size) {
		void *m = mmap(NULL, s->file_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			snprintf(err, errlen, "%s: mmap: %s", path, strerror(e));
			rstream_close(s);
			return -e;
		}
		s->map = m;
		madvise(m, s->file_size, MADV_NOHUGEPAGE);
	}
	*ret = s;
	return 0;
}

void rstream_close(struct rstream *s)
{
	if (!s)
		return;
	if (s->map)
		munmap((void *)s->map, s->file_size);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s->regs);
	free(s->pkt.v);
	free(s->ev.v);
	free(s);
}

static const struct ctf_stream_class *find_sc(const struct ctf_meta *m, uint64_t id)
{
	for (const struct ctf_stream_class *s = m->streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static int open_packet(struct rstream *s, char *err, size_t errlen)
{
	const struct ctf_meta *m = s->trace->meta;
	uint64_t avail = s->file_size - s->pkt_off;
	if (avail > UINT64_MAX / 8)
		avail = UINT64_MAX / 8;
	struct dctx d = {
		.s = s, .base = s->map + s->pkt_off, .pos = 0, .limit = avail * 8, .regs = s->regs,
		.fast_end = avail,
		.out = &s->pkt, .err = err, .errlen = errlen,
	};
	s->pkt.n = 0;
	s->pkt_ctx_index = UINT32_MAX;
	s->has_ts_begin = s->has_ts_end = s->has_discarded = s->has_seq_num = false;
	s->pkt_bits = s->content_bits = UINT64_MAX;
	uint64_t stream_id = 0;
	bool has_stream_id = false;
	int r;
	if (m->p_packet_header) {
		r = run_full(&d, &m->x_packet_header);
		if (r)
			return r;
		for (uint32_t i = 0; i < s->pkt.n; i++) {
			const struct rval *v = &s->pkt.v[i];
			if (v->p->flags & PF_MAGIC && v->u != CTF_MAGIC)
				return dfail(&d, "bad magic number 0x%llx", (unsigned long long)v->u);
			if (v->p->flags & PF_STREAM_ID) {
				stream_id = v->u;
				has_stream_id = true;
			}
			if (v->p->flags & PF_UUID && m->has_uuid) {
				for (uint32_t k = 0; k < 16; k++)
					if (s->pkt.v[i + 1 + k].u != m->uuid[k])
						return dfail(&d, "trace UUID mismatch");
			}
		}
	}
	const struct ctf_stream_class *sc;
	if (has_stream_id) {
		sc = find_sc(m, stream_id);
		if (!sc)
			return dfail(&d, "undefined stream class %llu", (unsigned long long)stream_id);
	} else {
		if (m->nstreams > 1)
			return dfail(&d, "no stream_id and several stream classes");
		sc = m->streams;
	}
	if (s->sc && sc != s->sc)
		return dfail(&d, "stream class changes within one stream file");
	s->sc = sc;
	if (sc && sc->p_packet_context) {
		s->pkt_ctx_index = s->pkt.n;
		r = run_full(&d, &sc->x_packet_context);
		if (r)
			return r;
	}
	if (s->pkt_bits == UINT64_MAX) /* no packet_size: the content, or the file */
		s->pkt_bits = s->content_bits != UINT64_MAX ? (s->content_bits + 7) / 8 * 8 : avail * 8;
	if (s->content_bits == UINT64_MAX)
		s->content_bits = s->pkt_bits;
	if (s->pkt_bits % 8 || s->pkt_bits == 0)
		return dfail(&d, "invalid packet size %llu bits", (unsigned long long)s->pkt_bits);
	if (s->pkt_bits / 8 > avail)
		return dfail(&d, "packet size %llu bits goes past the end of the file",
			     (unsigned long long)s->pkt_bits);
	if (s->content_bits > s->pkt_bits)
		return dfail(&d, "content size %llu bits larger than packet size %llu bits",
			     (unsigned long long)s->content_bits, (unsigned long long)s->pkt_bits);
	if (d.pos > s->content_bits)
		return dfail(&d, "packet header and context go past the packet content");
	s->pos = d.pos;
	return 0;
}

/*
 * The X_HEADER instruction of run_skim, inline. False for anything out of
 * the ordinary (bounds, a tag no option takes, a meaning other than the
 * event id or the clock): the caller then decodes the event the general way,
 * which reports what is wrong.
 */
static inline bool skim_header(struct rstream *s, const struct xheader *h, const uint8_t *base,
			       uint64_t *ret_pos, uint64_t limit, uint64_t fast_end, uint64_t *ret_id)
{
	uint64_t pos = *ret_pos, np, u, id = 0;
	const struct xint *xi = &h->tag;
	uint32_t left = 0;
	np = (pos + h->align - 1) & ~((uint64_t)h->align - 1);
	if (np > limit || np < pos)
		return false;
	pos = np;
	for (int step = 0;; step++) {
		np = (pos + xi->align - 1) & ~((uint64_t)xi->align - 1);
		if (np > limit || np < pos || limit - np < xi->size)
			return false;
		pos = np;
		if (!xi->be && (pos & 7) + xi->size <= 64 && (pos >> 3) + 8 <= fast_end)
			u = read_le_fast(base, pos, xi->size);
		else
			u = ctf_read_bits(base, pos, xi->size, xi->be);
		if (xi->sign && xi->size < 64 && (u >> (xi->size - 1)) & 1)
			u |= ~((UINT64_C(1) << xi->size) - 1);
		pos += xi->size;
		if (xi->reg >= 0)
			s->regs[xi->reg] = u;
		if (xi->flags == PF_CLOCK)
			update_clock(s, xi->size, u);
		else if (xi->flags == PF_EVENT_ID)
			id = u;
		else if (xi->flags)
			return false;
		if (step == 0) {
			const struct plan_node *p = h->variant;
			size_t i;
			for (i = 0; i < p->nranges; i++) {
				const struct variant_range *rg = &p->ranges[i];
				if (xi->sign ? (int64_t)u >= (int64_t)rg->lo && (int64_t)u <= (int64_t)rg->hi
					     : u >= rg->lo && u <= rg->hi)
					break;
			}
			if (i == p->nranges)
				return false;
			uint32_t k = p->ranges[i].option;
			np = (pos + h->opt[k].align - 1) & ~((uint64_t)h->opt[k].align - 1);
			if (np > limit || np < pos)
				return false;
			pos = np;
			if (!h->opt[k].n)
				break;
			xi = &h->opt[k].ints[0];
			left = h->opt[k].n;
			continue;
		}
		if (--left == 0)
			break;
		xi++;
	}
	*ret_pos = pos;
	*ret_id = id;
	return true;
}

/*
 * A flat full program (xprog.flat), inline, values as run_full keeps them.
 * False, with nothing kept and d->pos unchanged, where anything is out of
 * bounds or the value buffer is short: run_full then decodes (and reports)
 * from the same start.
 */
#define FLAT_DEPTH 8
static inline bool full_flat(struct dctx *d, const struct xprog *x)
{
	struct rvbuf *out = d->out;
	if (out->cap - out->n < x->n)
		return false;
	const uint8_t *base = d->base;
	uint64_t pos = d->pos, limit = d->limit;
	uint32_t n0 = out->n, stack[FLAT_DEPTH];
	int sp = 0;
	for (const struct xop *o = x->ops;; o++) {
		if (o->align > 1) {
			uint64_t np = (pos + o->align - 1) & ~((uint64_t)o->align - 1);
			if (np > limit || np < pos)
				goto fail;
			pos = np;
		}
		if (o->code == X_END) {
			out->v[stack[--sp]].end = out->n;
			continue;
		}
		if (o->code == X_RET) {
			d->pos = pos;
			return true;
		}
		uint32_t idx = out->n++;
		struct rval *v = &out->v[idx];
		v->p = o->p;
		switch (o->code) {
		case X_BEGIN:
			if (sp == FLAT_DEPTH)
				goto fail;
			v->count = o->p->nkids;
			stack[sp++] = idx;
			break;
		case X_U8:
			if (limit - pos < 8)
				goto fail;
			v->u = o->sign ? (uint64_t)(int64_t)(int8_t)base[pos >> 3] : base[pos >> 3];
			pos += 8;
			break;
		case X_U16: {
			uint16_t t;
			if (limit - pos < 16)
				goto fail;
			memcpy(&t, base + (pos >> 3), 2);
			v->u = o->sign ? (uint64_t)(int64_t)(int16_t)t : t;
			pos += 16;
			break;
		}
		case X_U32: {
			uint32_t t;
			if (limit - pos < 32)
				goto fail;
			memcpy(&t, base + (pos >> 3), 4);
			v->u = o->sign ? (uint64_t)(int64_t)(int32_t)t : t;
			pos += 32;
			break;
		}
		case X_U64:
			if (limit - pos < 64)
				goto fail;
			memcpy(&v->u, base + (pos >> 3), 8);
			pos += 64;
			break;
		default: { /* X_STRING */
			const char *str = (const char *)base + (pos >> 3);
			uint64_t room = (limit - pos) / 8;
			uint64_t len = string_len(str, room, d->fast_end - (pos >> 3));
			if (len == room)
				goto fail;
			v->str.ptr = str;
			v->str.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
			pos += (len + 1) * 8;
			break;
		}
		}
	}
fail:
	out->n = n0;
	return false;
}

/* The decoder's context is built from fields the previous event just
 * stored: gcc's SLP vectorizer would load pairs of them with one 16-byte
 * load, which store forwarding cannot serve (a stall per event). */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define NO_SLP
#endif

static NO_SLP int decode_event(struct rstream *s, char *err, size_t errlen)
{
	bool skim = s->skim;
	const struct ctf_stream_class *sc = s->sc;
	struct dctx d = {
		.s = s, .base = s->map + s->pkt_off, .pos = s->pos, .limit = s->content_bits,
		.fast_end = s->file_size - s->pkt_off,
		.regs = s->regs, .out = &s->ev, .err = err, .errlen = errlen,
	};
	uint64_t start = s->pos;
	int r;
	s->ev.n = 0;
	s->ev_ctx_index = s->ev_spec_index = s->ev_fields_index = UINT32_MAX;
	if (!sc)
		return dfail(&d, "event data in a trace without event classes");
	if (sc->p_event_header) {
		/* never shown, never searched: only its meanings matter */
		uint64_t clock = s->clock, pos = d.pos, id;
		if (sc->s_event_header.ops[0].code == X_HEADER &&
		    skim_header(s, sc->s_event_header.ops[0].hdr, d.base, &pos, d.limit, d.fast_end, &id)) {
			d.pos = pos;
			d.event_id = id;
			d.has_event_id = true;
		} else {
			s->clock = clock;
			r = run_skim(&d, &sc->s_event_header);
			if (r)
				return r;
		}
	}
	if (sc->p_event_context) {
		s->ev_ctx_index = s->ev.n;
		r = skim ? run_skim(&d, &sc->s_event_context) : run_full(&d, &sc->x_event_context);
		if (r)
			return r;
	}
	uint64_t id = d.has_event_id ? d.event_id : 0;
	const struct ctf_event_class *ec = NULL;
	if (!sc->by_id_sorted) {
		if (id < sc->nby_id)
			ec = sc->by_id[id];
	} else {
		size_t lo = 0, hi = sc->nby_id;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (sc->by_id[mid]->id < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < sc->nby_id && sc->by_id[lo]->id == id)
			ec = sc->by_id[lo];
	}
	if (!ec)
		return dfail(&d, "undefined event class id %llu", (unsigned long long)id);
	s->ec = ec;
	if (ec->p_context) {
		s->ev_spec_index = s->ev.n;
		r = skim ? run_skim(&d, &ec->s_context) : run_full(&d, &ec->x_context);
		if (r)
			return r;
	}
	if (ec->p_fields) {
		s->ev_fields_index = s->ev.n;
		/* an event the name selection drops: nothing reads its values */
		if (skim || ec->unselected)
			r = run_skim(&d, &ec->s_fields);
		else if (!ec->x_fields.flat || !full_flat(&d, &ec->x_fields))
			r = run_full(&d, &ec->x_fields);
		else
			r = 0;
		if (r)
			return r;
	}
	if (d.pos == start)
		return dfail(&d, "event '%s' of zero size", ec->name ? ec->name : "?");
	s->pos = d.pos;
	s->ev_clock = s->clock;
	return 0;
}

/* ---- --stats: a packet's events without the per-event calls --------------- */

/* A flat skim program (xprog.flat), inline: false where it is out of bounds. */
static inline bool skim_flat(const struct xprog *x, const uint8_t *base, uint64_t *ret_pos,
			     uint64_t limit, uint64_t fast_end)
{
	uint64_t pos = *ret_pos;
	for (const struct xop *o = x->ops;; o++) {
		if (o->align > 1) {
			uint64_t np = (pos + o->align - 1) & ~((uint64_t)o->align - 1);
			if (np > limit || np < pos)
				return false;
			pos = np;
		}
		switch (o->code) {
		case X_SKIP:
			if (limit - pos < o->size)
				return false;
			pos += o->size;
			break;
		case X_STRING: {
			uint64_t room = (limit - pos) / 8;
			uint64_t len = string_len((const char *)base + (pos >> 3), room, fast_end - (pos >> 3));
			if (len == room)
				return false;
			pos += (len + 1) * 8;
			break;
		}
		case X_ALIGN:
			break;
		default: /* X_RET */
			*ret_pos = pos;
			return true;
		}
	}
}

static const struct ctf_event_class *class_by_id(const struct ctf_stream_class *sc, uint64_t id)
{
	if (!sc->by_id_sorted)
		return id < sc->nby_id ? sc->by_id[id] : NULL;
	size_t lo = 0, hi = sc->nby_id;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sc->by_id[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sc->nby_id && sc->by_id[lo]->id == id ? sc->by_id[lo] : NULL;
}

static void give_back(struct rstream *s, uint64_t upto);

/*
 * Each event as decode_event with s->skim would decode it, with the common
 * shapes (an X_HEADER or no event header, flat payloads) inline; any other
 * shape, and every event the inline code finds anything wrong with, goes
 * through decode_event from the event's start, which reports errors.
 */
NO_SLP int rstream_skim_packet(struct rstream *s, struct skim_tally *t, char *err, size_t errlen)
{
	const struct ctf_stream_class *sc = s->sc;
	const uint8_t *base = s->map + s->pkt_off;
	uint64_t pos = s->pos, limit = s->content_bits, fast_end = s->file_size - s->pkt_off;
	const struct xheader *hdr = NULL;
	bool fast = sc && !sc->p_event_context;
	if (fast && sc->p_event_header) {
		if (sc->s_event_header.ops[0].code == X_HEADER)
			hdr = sc->s_event_header.ops[0].hdr;
		else
			fast = false;
	}
	const struct ctf_event_class *ec = NULL;
	uint64_t n = 0;
	while (pos < limit) {
		uint64_t start = pos, clock = s->clock, id = 0;
		if (!fast || (hdr && !skim_header(s, hdr, base, &pos, limit, fast_end, &id)))
			goto slow;
		ec = class_by_id(sc, id);
		if (!ec || ec->p_context || (ec->p_fields && !ec->s_fields.flat))
			goto slow;
		if (ec->p_fields && !skim_flat(&ec->s_fields, base, &pos, limit, fast_end))
			goto slow;
		if (pos == start)
			goto slow;
		goto counted;
	slow:
		s->pos = start;
		s->clock = clock;
		int r = decode_event(s, err, errlen);
		if (r) {
			s->events += n;
			return r;
		}
		pos = s->pos;
		ec = s->ec;
	counted:
		t->counts[ec->gindex]++;
		if (t->n++ == 0)
			t->first_clock = s->clock;
		n++;
		uint64_t here = s->pkt_off + (pos >> 3);
		if (unlikely(here - s->dontneed_off > (1024u << 10)))
			give_back(s, here - (64u << 10));
	}
	s->pos = pos;
	s->events += n;
	if (n) {
		s->ec = ec;
		s->ev_clock = s->clock;
	}
	return 0;
}

static void give_back(struct rstream *s, uint64_t upto)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = s->dontneed_off & ~((uint64_t)page - 1);
	uint64_t end = upto & ~((uint64_t)page - 1);
	if (end > start + (128u << 10) && !s->in_memory) {
		madvise((void *)(s->map + start), end - start, MADV_DONTNEED);
		s->dontneed_off = end;
	}
}

void rstream_end_packet(struct rstream *s)
{
	s->in_packet = false;
	s->packets_done++;
	s->pkt_off += s->pkt_bits / 8;
	s->prev_discarded = s->discarded;
	s->prev_seq_num = s->seq_num;
	if (s->has_ts_end) {
		s->prev_ts_end = s->ts_end;
		s->has_prev_ts_end = true;
	}
	give_back(s, s->pkt_off);
}

int rstream_open_next_packet(struct rstream *s, char *err, size_t errlen)
{
	if (s->pkt_off >= s->file_size || s->pkt_off >= s->end_off) {
		s->eof = true;
		return 0;
	}
	int r = open_packet(s, err, errlen);
	if (r)
		return r;
	s->in_packet = true;
	s->had_packet = true;
	return 1;
}

NO_SLP int rstream_next(struct rstream *s, char *err, size_t errlen)
{
	for (;;) {
		if (s->eof)
			return 0;
		if (!s->in_packet) {
			if (s->pkt_off >= s->file_size || s->pkt_off >= s->end_off) {
				s->eof = true;
				return 0;
			}
			int r = open_packet(s, err, errlen);
			if (r)
				return r;
			s->in_packet = true;
			s->had_packet = true;
			return 2; /* a new packet: the caller reports discarded events */
		}
		if (s->pos >= s->content_bits) {
			rstream_end_packet(s);
			continue;
		}
		int r = decode_event(s, err, errlen);
		if (r)
			return r;
		s->events++;
		/* pages well behind this event go back, inside big packets too */
		uint64_t here = s->pkt_off + (s->pos >> 3);
		if (unlikely(here - s->dontneed_off > (256u << 10)))
			give_back(s, here - (64u << 10));
		return 1;
	}
}
