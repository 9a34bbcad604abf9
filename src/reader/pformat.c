/* SPDX-License-Identifier: MIT */
/*
 * reel_reader_format(): the whole merged timeline formatted on several
 * threads, in order. The calling thread merges and decodes events into
 * batches (copies of their values; strings stay in the mapped streams,
 * which live as long as the reader), formatter threads turn batches into
 * text, and the calling thread writes finished batches in sequence. Memory
 * is bounded by the number of batches in flight.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reader-local.h"

#define BATCH 1024

enum { B_FREE, B_DECODED, B_FORMATTING, B_FORMATTED };

struct batch {
	int state;
	uint64_t seq;
	uint32_t n;
	struct rstream *shells;      /* what the formatter reads of each event */
	struct reel_event *events;
	uint32_t *pkt_at, *ev_at;    /* offsets of the copies in vals */
	struct rval *vals;
	size_t nvals, capvals;
	char *text;                  /* copies of strings and wide integers */
	size_t ntext, captext;
	bool has_prev;
	int64_t prev_ns;
	uint64_t first_index;
	char *out;
	size_t out_cap, out_len;
	int error;
};

struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *slots;
	unsigned nslots;
	bool stop;
	enum reel_format fmt;
	unsigned flags;
};

struct worker {
	struct pipeline *pl;
	pthread_t thread;
	struct reel_formatter *f;
};

static int copy_vals(struct batch *b, const struct rval *v, uint32_t n, uint32_t *ret_at)
{
	if (!b->vals || b->nvals + n > b->capvals) {
		size_t cap = b->capvals ? b->capvals : 4096;
		while (cap < b->nvals + n)
			cap *= 2;
		struct rval *nv = realloc(b->vals, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		b->vals = nv;
		b->capvals = cap;
	}
	if (n)
		memcpy(b->vals + b->nvals, v, (size_t)n * sizeof(*v));
	*ret_at = (uint32_t)b->nvals;
	b->nvals += n;
	return 0;
}

/* Copy the bytes values point to in the streams: the reader gives pages
 * back behind itself, and formatter threads must not map them again. */
static int copy_bytes(struct batch *b, size_t n, size_t *ret_at)
{
	if (!b->text || b->ntext + n > b->captext) {
		size_t cap = b->captext ? b->captext : 1 << 16;
		while (cap < b->ntext + n)
			cap *= 2;
		char *nt = realloc(b->text, cap);
		if (!nt)
			return -ENOMEM;
		b->text = nt;
		b->captext = cap;
	}
	*ret_at = b->ntext;
	b->ntext += n;
	return 0;
}

/* First pass: copy the bytes, remember offsets in the values (pointers are
 * set once the text buffer stops moving). */
static int detach(struct batch *b, uint32_t at, uint32_t n)
{
	for (uint32_t i = at; i < at + n; i++) {
		struct rval *v = &b->vals[i];
		size_t off;
		switch (v->p->op) {
		case OP_STRING:
		case OP_TEXT_ARRAY:
		case OP_TEXT_SEQ:
			if (copy_bytes(b, v->str.len, &off))
				return -ENOMEM;
			if (v->str.len)
				memcpy(b->text + off, v->str.ptr, v->str.len);
			v->str.ptr = (const char *)(uintptr_t)off;
			break;
		case OP_INT_BIG: {
			size_t bytes = ((v->big.bitpos & 7) + v->p->size + 7) / 8;
			if (copy_bytes(b, bytes, &off))
				return -ENOMEM;
			memcpy(b->text + off, v->big.base + (v->big.bitpos >> 3), bytes);
			v->big.base = (const uint8_t *)(uintptr_t)off;
			v->big.bitpos &= 7;
			break;
		}
		}
	}
	return 0;
}

static void attach(struct batch *b)
{
	for (size_t i = 0; i < b->nvals; i++) {
		struct rval *v = &b->vals[i];
		switch (v->p->op) {
		case OP_STRING:
		case OP_TEXT_ARRAY:
		case OP_TEXT_SEQ:
			v->str.ptr = b->text + (uintptr_t)v->str.ptr;
			break;
		case OP_INT_BIG:
			v->big.base = (const uint8_t *)b->text + (uintptr_t)v->big.base;
			break;
		}
	}
}

/* Fill a batch from the reader: >0 events, 0 at the end, <0 error. */
static int fill(struct reel_reader *r, struct batch *b, bool *has_prev, int64_t *prev_ns, uint64_t *index)
{
	b->n = 0;
	b->nvals = 0;
	b->ntext = 0;
	b->has_prev = *has_prev;
	b->prev_ns = *prev_ns;
	b->first_index = *index;
	const struct rstream *last_src = NULL;
	uint64_t last_pkt_off = 0;
	uint32_t last_pkt_at = 0;
	int e = 0;
	while (b->n < BATCH) {
		const struct reel_event *ev;
		e = reel_reader_next(r, &ev);
		if (e <= 0)
			break;
		const struct rstream *src = ev->s;
		struct rstream *sh = &b->shells[b->n];
		sh->trace = src->trace;
		sh->ec = src->ec;
		sh->sc = src->sc;
		sh->ev_clock = src->ev_clock;
		sh->pkt_ctx_index = src->pkt_ctx_index;
		sh->ev_ctx_index = src->ev_ctx_index;
		sh->ev_spec_index = src->ev_spec_index;
		sh->ev_fields_index = src->ev_fields_index;
		/* the packet's values once per packet, the event's every time */
		if (src != last_src || src->pkt_off != last_pkt_off) {
			if (copy_vals(b, src->pkt.v, src->pkt.n, &last_pkt_at) ||
			    detach(b, last_pkt_at, src->pkt.n))
				return -ENOMEM;
			last_src = src;
			last_pkt_off = src->pkt_off;
		}
		b->pkt_at[b->n] = last_pkt_at;
		sh->pkt.n = src->pkt.n;
		if (copy_vals(b, src->ev.v, src->ev.n, &b->ev_at[b->n]) ||
		    detach(b, b->ev_at[b->n], src->ev.n))
			return -ENOMEM;
		sh->ev.n = src->ev.n;
		struct reel_event *out = &b->events[b->n];
		out->s = sh;
		out->has_ts = ev->has_ts;
		out->ns_valid = false;
		int64_t ns;
		if (reel_event_timestamp(ev, &ns)) {
			out->ns = ns;
			out->ns_valid = true;
			*has_prev = true;
			*prev_ns = ns;
		}
		b->n++;
		(*index)++;
	}
	attach(b);
	for (uint32_t i = 0; i < b->n; i++) {
		b->shells[i].pkt.v = b->vals + b->pkt_at[i];
		b->shells[i].ev.v = b->vals + b->ev_at[i];
	}
	return e < 0 ? e : (int)b->n;
}

static void *format_thread(void *arg)
{
	struct worker *w = arg;
	struct pipeline *pl = w->pl;
	pthread_mutex_lock(&pl->lock);
	for (;;) {
		struct batch *b = NULL;
		for (unsigned i = 0; i < pl->nslots; i++) {
			struct batch *c = &pl->slots[i];
			if (c->state == B_DECODED && (!b || c->seq < b->seq))
				b = c;
		}
		if (!b) {
			if (pl->stop)
				break;
			pthread_cond_wait(&pl->cond, &pl->lock);
			continue;
		}
		b->state = B_FORMATTING;
		pthread_mutex_unlock(&pl->lock);
		formatter_begin(w->f, b->has_prev, b->prev_ns, b->first_index);
		for (uint32_t i = 0; i < b->n; i++)
			reel_formatter_event(w->f, &b->events[i]);
		b->error = formatter_end(w->f, &b->out, &b->out_cap, &b->out_len);
		pthread_mutex_lock(&pl->lock);
		b->state = B_FORMATTED;
		pthread_cond_broadcast(&pl->cond);
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

static void free_batches(struct pipeline *pl)
{
	for (unsigned i = 0; pl->slots && i < pl->nslots; i++) {
		struct batch *b = &pl->slots[i];
		free(b->shells);
		free(b->events);
		free(b->pkt_at);
		free(b->ev_at);
		free(b->vals);
		free(b->text);
		free(b->out);
	}
	free(pl->slots);
}

int reel_reader_format(struct reel_reader *r, enum reel_format fmt, unsigned flags, FILE *out,
		       unsigned threads)
{
	struct reel_formatter *main_f = reel_formatter_new(fmt, flags, out);
	if (!main_f)
		return -ENOMEM;
	int e = 0;
	if (threads == 0) {
		const struct reel_event *ev;
		while ((e = reel_reader_next(r, &ev)) == 1)
			if (reel_formatter_event(main_f, ev)) {
				e = -EIO;
				break;
			}
		int fe = reel_formatter_finish(main_f);
		return e < 0 ? e : fe;
	}
	if (threads > 16)
		threads = 16;
	struct pipeline pl = { .nslots = threads * 2, .fmt = fmt, .flags = flags };
	struct worker *w = calloc(threads, sizeof(*w));
	pl.slots = calloc(pl.nslots, sizeof(*pl.slots));
	if (!w || !pl.slots) {
		free(w);
		free(pl.slots);
		reel_formatter_finish(main_f);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < pl.nslots; i++) {
		struct batch *b = &pl.slots[i];
		b->shells = calloc(BATCH, sizeof(*b->shells));
		b->events = calloc(BATCH, sizeof(*b->events));
		b->pkt_at = calloc(BATCH, sizeof(*b->pkt_at));
		b->ev_at = calloc(BATCH, sizeof(*b->ev_at));
		if (!b->shells || !b->events || !b->pkt_at || !b->ev_at)
			e = -ENOMEM;
	}
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.cond, NULL);
	unsigned started = 0;
	for (unsigned t = 0; t < threads && !e; t++) {
		w[t].pl = &pl;
		w[t].f = formatter_new_mem(fmt, flags);
		if (!w[t].f || pthread_create(&w[t].thread, NULL, format_thread, &w[t]) != 0) {
			e = -ENOMEM;
			break;
		}
		started++;
	}
	/* writer's state: what comes before the first batch */
	bool has_prev = false, done = e != 0;
	int64_t prev_ns = 0;
	uint64_t index = 0, seq_dec = 0, seq_wr = 0;
	int decode_error = 0;
	pthread_mutex_lock(&pl.lock);
	for (;;) {
		struct batch *b = &pl.slots[seq_wr % pl.nslots];
		if (seq_wr < seq_dec && b->state == B_FORMATTED) {
			pthread_mutex_unlock(&pl.lock);
			if (!e && b->error)
				e = b->error;
			if (!e && formatter_write_raw(main_f, b->out, b->out_len))
				e = -EIO;
			pthread_mutex_lock(&pl.lock);
			b->state = B_FREE;
			seq_wr++;
			continue;
		}
		if (done && seq_wr == seq_dec)
			break;
		struct batch *d = &pl.slots[seq_dec % pl.nslots];
		if (!done && d->state == B_FREE) {
			pthread_mutex_unlock(&pl.lock);
			int n = fill(r, d, &has_prev, &prev_ns, &index);
			pthread_mutex_lock(&pl.lock);
			if (n < 0 && n != -ENOMEM)
				decode_error = n;
			else if (n < 0)
				e = n;
			if (d->n) {
				d->seq = seq_dec++;
				d->state = B_DECODED;
				pthread_cond_broadcast(&pl.cond);
			}
			if (n <= 0 || d->n < BATCH || e)
				done = true;
			continue;
		}
		pthread_cond_wait(&pl.cond, &pl.lock);
	}
	pl.stop = true;
	pthread_cond_broadcast(&pl.cond);
	pthread_mutex_unlock(&pl.lock);
	for (unsigned t = 0; t < started; t++)
		pthread_join(w[t].thread, NULL);
	for (unsigned t = 0; t < threads; t++)
		reel_formatter_finish(w[t].f);
	free(w);
	free_batches(&pl);
	pthread_mutex_destroy(&pl.lock);
	pthread_cond_destroy(&pl.cond);
	formatter_set_state(main_f, has_prev, prev_ns, index);
	int fe = reel_formatter_finish(main_f);
	if (decode_error)
		return decode_error;
	return e ? e : fe;
}
