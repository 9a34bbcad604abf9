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
	return c->base_ns + (int64_t)ns;
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

static inline int rv_push(struct dctx *d, const struct plan_node *p, uint32_t *ret)
{
	if (unlikely(d->out->n == d->out->cap)) {
		int r = rv_grow(d);
		if (r)
			return r;
	}
	uint32_t i = d->out->n++;
	d->out->v[i].p = p;
	*ret = i;
	return 0;
}

static void update_clock(struct rstream *s, unsigned size, uint64_t v)
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

static int decode(struct dctx *d, const struct plan_node *p);

static inline int need(struct dctx *d, uint64_t bits)
{
	if (unlikely(bits > d->limit - d->pos))
		return dfail(d, "field '%s' crosses the end of the packet content",
			     "?");
	return 0;
}

static int decode_kids(struct dctx *d, const struct plan_node *p, const struct plan_node *kid,
		       uint64_t n, uint32_t idx)
{
	for (uint64_t i = 0; i < n; i++) {
		int r = decode(d, kid ? kid : p->kids[i]);
		if (r)
			return r;
	}
	d->out->v[idx].count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	d->out->v[idx].end = d->out->n;
	return 0;
}

static int decode(struct dctx *d, const struct plan_node *p)
{
	uint32_t idx;
	int r;
	uint64_t a = p->align;
	if (a > 1) {
		uint64_t np = (d->pos + a - 1) & ~(a - 1);
		if (unlikely(np > d->limit))
			return dfail(d, "alignment of '%s' goes past the end of the packet content",
				     p->name ? p->name : "field");
		d->pos = np;
	}
	r = rv_push(d, p, &idx);
	if (r)
		return r;
	struct rval *v = &d->out->v[idx];
	uint64_t u;
	switch (p->op) {
	case OP_INT_U8:
		if (unlikely(d->limit - d->pos < 8))
			goto oob;
		u = d->base[d->pos >> 3];
		if (p->sign)
			u = (uint64_t)(int64_t)(int8_t)u;
		d->pos += 8;
		goto int_done;
	case OP_INT_U16: {
		uint16_t x;
		if (unlikely(d->limit - d->pos < 16))
			goto oob;
		memcpy(&x, d->base + (d->pos >> 3), 2);
		u = p->sign ? (uint64_t)(int64_t)(int16_t)x : x;
		d->pos += 16;
		goto int_done;
	}
	case OP_INT_U32: {
		uint32_t x;
		if (unlikely(d->limit - d->pos < 32))
			goto oob;
		memcpy(&x, d->base + (d->pos >> 3), 4);
		u = p->sign ? (uint64_t)(int64_t)(int32_t)x : x;
		d->pos += 32;
		goto int_done;
	}
	case OP_INT_U64:
		if (unlikely(d->limit - d->pos < 64))
			goto oob;
		memcpy(&u, d->base + (d->pos >> 3), 8);
		d->pos += 64;
		goto int_done;
	case OP_INT_BITS:
		if (unlikely(d->limit - d->pos < p->size))
			goto oob;
		u = ctf_read_bits(d->base, d->pos, p->size, p->be);
		if (p->sign && p->size < 64 && (u >> (p->size - 1)) & 1)
			u |= ~((UINT64_C(1) << p->size) - 1);
		d->pos += p->size;
		goto int_done;
	case OP_INT_BIG:
		if (unlikely(d->limit - d->pos < p->size))
			goto oob;
		v->big.bitpos = d->pos;
		v->big.base = d->base;
		d->pos += p->size;
		return 0;
	case OP_FLOAT32: {
		if (unlikely(d->limit - d->pos < 32))
			goto oob;
		uint32_t x = (uint32_t)ctf_read_bits(d->base, d->pos, 32, p->be);
		float f;
		memcpy(&f, &x, 4);
		v->d = f;
		d->pos += 32;
		return 0;
	}
	case OP_FLOAT64: {
		if (unlikely(d->limit - d->pos < 64))
			goto oob;
		uint64_t x = ctf_read_bits(d->base, d->pos, 64, p->be);
		memcpy(&v->d, &x, 8);
		d->pos += 64;
		return 0;
	}
	case OP_STRING: {
		const char *s = (const char *)d->base + (d->pos >> 3);
		uint64_t avail = (d->limit - d->pos) / 8;
		const char *nul = memchr(s, 0, avail);
		if (unlikely(!nul))
			return dfail(d, "string '%s' crosses the end of the packet content",
				     p->name ? p->name : "");
		uint64_t len = (uint64_t)(nul - s);
		v->str.ptr = s;
		v->str.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		d->pos += (len + 1) * 8;
		return 0;
	}
	case OP_STRUCT:
		return decode_kids(d, p, NULL, p->nkids, idx);
	case OP_ARRAY:
		return decode_kids(d, p, p->kids[0], p->length, idx);
	case OP_SEQ:
		return decode_kids(d, p, p->kids[0], d->regs[p->src_reg], idx);
	case OP_TEXT_ARRAY:
	case OP_TEXT_SEQ: {
		uint64_t n = p->op == OP_TEXT_ARRAY ? p->length : d->regs[p->src_reg];
		if (unlikely(n > (d->limit - d->pos) / 8))
			goto oob;
		const char *s = (const char *)d->base + (d->pos >> 3);
		const char *nul = memchr(s, 0, n);
		uint64_t len = nul ? (uint64_t)(nul - s) : n;
		v->str.ptr = s;
		v->str.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		v->count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		d->pos += n * 8;
		v->end = d->out->n;
		return 0;
	}
	case OP_VARIANT: {
		uint64_t tag = d->regs[p->src_reg];
		bool sign = p->src->sign;
		for (size_t i = 0; i < p->nranges; i++) {
			const struct variant_range *rg = &p->ranges[i];
			bool in = sign ? (int64_t)tag >= (int64_t)rg->lo && (int64_t)tag <= (int64_t)rg->hi
				       : tag >= rg->lo && tag <= rg->hi;
			if (in) {
				r = decode(d, p->kids[rg->option]);
				if (r)
					return r;
				d->out->v[idx].count = 1;
				d->out->v[idx].end = d->out->n;
				d->out->v[idx].u = rg->option;
				return 0;
			}
		}
		return dfail(d, "variant '%s': tag value %lld selects no option",
			     p->name ? p->name : "", (long long)tag);
	}
	}
	return dfail(d, "internal error: unknown operation");
int_done:
	v->u = u;
	if (p->reg >= 0)
		d->regs[p->reg] = u;
	if (unlikely(p->flags))
		int_flags(d, p, u);
	return 0;
oob:
	return dfail(d, "field '%s' crosses the end of the packet content",
		     p->name ? p->name : "(element)");
}

/* ---- files and packets ------------------------------------------------------ */

int rstream_open(struct rtrace *t, const char *path, struct rstream **ret, char *err, size_t errlen)
{
	struct rstream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->trace = t;
	s->fd = -1;
	s->pkt_ctx_index = UINT32_MAX;
	s->path = strdup(path);
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
	if (s->file_size) {
		void *m = mmap(NULL, s->file_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			snprintf(err, errlen, "%s: mmap: %s", path, strerror(e));
			rstream_close(s);
			return -e;
		}
		s->map = m;
		madvise(m, s->file_size, MADV_SEQUENTIAL);
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
		r = decode(&d, m->p_packet_header);
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
		r = decode(&d, sc->p_packet_context);
		if (r)
			return r;
	}
	if (s->pkt_bits == UINT64_MAX)
		s->pkt_bits = avail * 8;
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

static int decode_event(struct rstream *s, char *err, size_t errlen)
{
	const struct ctf_stream_class *sc = s->sc;
	struct dctx d = {
		.s = s, .base = s->map + s->pkt_off, .pos = s->pos, .limit = s->content_bits,
		.regs = s->regs, .out = &s->ev, .err = err, .errlen = errlen,
	};
	uint64_t start = s->pos;
	int r;
	s->ev.n = 0;
	s->ev_ctx_index = s->ev_spec_index = s->ev_fields_index = UINT32_MAX;
	if (!sc)
		return dfail(&d, "event data in a trace without event classes");
	if (sc->p_event_header) {
		r = decode(&d, sc->p_event_header);
		if (r)
			return r;
	}
	if (sc->p_event_context) {
		s->ev_ctx_index = s->ev.n;
		r = decode(&d, sc->p_event_context);
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
		r = decode(&d, ec->p_context);
		if (r)
			return r;
	}
	if (ec->p_fields) {
		s->ev_fields_index = s->ev.n;
		r = decode(&d, ec->p_fields);
		if (r)
			return r;
	}
	if (d.pos == start)
		return dfail(&d, "event '%s' of zero size", ec->name ? ec->name : "?");
	s->pos = d.pos;
	s->ev_clock = s->clock;
	return 0;
}

static void give_back(struct rstream *s, uint64_t upto)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = s->dontneed_off & ~((uint64_t)page - 1);
	uint64_t end = upto & ~((uint64_t)page - 1);
	if (end > start + (1u << 20)) {
		madvise((void *)(s->map + start), end - start, MADV_DONTNEED);
		s->dontneed_off = end;
	}
}

int rstream_next(struct rstream *s, char *err, size_t errlen)
{
	for (;;) {
		if (s->eof)
			return 0;
		if (!s->in_packet) {
			if (s->pkt_off >= s->file_size) {
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
			s->in_packet = false;
			s->pkt_off += s->pkt_bits / 8;
			s->prev_discarded = s->discarded;
			s->prev_seq_num = s->seq_num;
			if (s->has_ts_end) {
				s->prev_ts_end = s->ts_end;
				s->has_prev_ts_end = true;
			}
			give_back(s, s->pkt_off);
			continue;
		}
		int r = decode_event(s, err, errlen);
		if (r)
			return r;
		s->events++;
		return 1;
	}
}
