/* SPDX-License-Identifier: MIT */
/*
 * The binary form of a partial (doc/analysis.md, "Partial results"):
 * little-endian fixed-width fields, sections in a fixed order, every count
 * and index checked when read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

/* version 2: the I/O log after the stats; version 3: the CPU tables;
 * version 4: each stat's sum of squares, attributes' times and statedump */
#define MAGIC "REELANP4"

static int put(FILE *f, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n ? 0 : -EIO;
}
static int put64(FILE *f, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return put(f, b, 8);
}
static int get(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n ? 0 : -EINVAL;
}
static int get64(FILE *f, uint64_t *v)
{
	uint8_t b[8];
	if (get(f, b, 8))
		return -EINVAL;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return 0;
}

static int put_snap(FILE *f, const struct an_snap *s)
{
	uint64_t fl = (uint64_t)s->valid | (uint64_t)s->pid_known << 1 | (uint64_t)s->comm_known << 2;
	int r = put64(f, fl);
	r = r ? r : put64(f, (uint64_t)s->pid);
	r = r ? r : put64(f, (uint64_t)s->ts);
	r = r ? r : put64(f, (uint64_t)s->pid_ts);
	r = r ? r : put64(f, (uint64_t)s->comm_ts);
	return r ? r : put(f, s->comm, AN_COMM);
}
static int get_snap(FILE *f, struct an_snap *s)
{
	uint64_t fl, pid, ts[3];
	if (get64(f, &fl) || get64(f, &pid) || get64(f, &ts[0]) || get64(f, &ts[1]) ||
	    get64(f, &ts[2]) || get(f, s->comm, AN_COMM) || fl > 7)
		return -EINVAL;
	s->ts = (int64_t)ts[0];
	s->pid_ts = (int64_t)ts[1];
	s->comm_ts = (int64_t)ts[2];
	s->valid = fl & 1;
	s->pid_known = fl & 2;
	s->comm_known = fl & 4;
	s->pid = (int64_t)pid;
	s->comm[AN_COMM - 1] = 0;
	return 0;
}

int an_partial_write(const struct an_partial *p, FILE *f)
{
	int r = put(f, MAGIC, 8);
	/* the names this partial uses: all of the shared table */
	uint32_t nn = an_names_count(p->names);
	r = r ? r : put64(f, nn);
	for (uint32_t i = 0; !r && i < nn; i++) {
		const char *s = an_names_get(p->names, i);
		size_t len = strlen(s);
		r = put64(f, len);
		r = r ? r : put(f, s, len);
	}
	uint64_t head[] = {p->flags, p->events, p->chunks, p->lost, p->has_range,
			   (uint64_t)p->first_ts, (uint64_t)p->last_ts,
			   p->threads.n, p->cpus.n, p->stats.n};
	for (size_t i = 0; !r && i < sizeof(head) / sizeof(head[0]); i++)
		r = put64(f, head[i]);
	for (uint32_t i = 0; !r && i < p->threads.n; i++) {
		const struct an_thread *t = an_tab_at(&p->threads, i);
		uint64_t fl = (uint64_t)t->pid_set | (uint64_t)t->comm_set << 1 |
			      (uint64_t)t->has_head << 2 | (uint64_t)t->emitted << 3 |
			      (uint64_t)t->uncertain << 4 | (uint64_t)t->sd_valid << 5;
		uint64_t v[] = {(uint64_t)t->tid,
				(uint64_t)t->pid,
				fl,
				t->state,
				t->open_name,
				(uint64_t)t->open_ts,
				(uint64_t)t->head_ts,
				(uint64_t)t->head_ret,
				(uint64_t)t->first_ts,
				(uint64_t)t->pid_ts,
				(uint64_t)t->comm_ts,
				(uint64_t)t->sd_ts,
				(uint64_t)t->sd_pid};
		for (size_t k = 0; !r && k < sizeof(v) / sizeof(v[0]); k++)
			r = put64(f, v[k]);
		r = r ? r : put(f, t->comm, AN_COMM);
		r = r ? r : put(f, t->sd_comm, AN_COMM);
		r = r ? r : put_snap(f, &t->head_snap);
		r = r ? r : put_snap(f, &t->first_emit);
	}
	for (uint32_t i = 0; !r && i < p->cpus.n; i++) {
		const struct an_cpu *c = an_tab_at(&p->cpus, i);
		uint64_t v[] = {(uint64_t)c->cpu, (uint64_t)c->known | (uint64_t)c->pre_uncertain << 1,
				(uint64_t)c->cur, c->npre};
		for (size_t k = 0; !r && k < sizeof(v) / sizeof(v[0]); k++)
			r = put64(f, v[k]);
		for (uint32_t k = 0; !r && k < c->npre; k++) {
			r = put64(f, c->pre[k].kind);
			r = r ? r : put64(f, c->pre[k].name);
			r = r ? r : put64(f, (uint64_t)c->pre[k].ts);
			r = r ? r : put64(f, (uint64_t)c->pre[k].ret);
		}
	}
	for (uint32_t i = 0; !r && i < p->stats.n; i++) {
		const struct an_stat *s = an_tab_at(&p->stats, i);
		uint32_t nb = 0;
		for (uint32_t k = 0; k < s->hist.n; k++)
			nb += s->hist.b[k] != 0;
		uint64_t v[] = {(uint64_t)s->tid,
				s->name,
				s->count,
				s->errors,
				(uint64_t)s->min,
				(uint64_t)s->max,
				(uint64_t)s->sum,
				(uint64_t)s->sumsq,
				(uint64_t)(s->sumsq >> 64),
				s->nerrs,
				nb};
		for (size_t k = 0; !r && k < sizeof(v) / sizeof(v[0]); k++)
			r = put64(f, v[k]);
		for (uint32_t k = 0; !r && k < s->nerrs; k++) {
			r = put64(f, (uint64_t)s->errs[k].ret);
			r = r ? r : put64(f, s->errs[k].count);
		}
		for (uint32_t k = 0; !r && k < s->hist.n; k++)
			if (s->hist.b[k]) {
				r = put64(f, k);
				r = r ? r : put64(f, s->hist.b[k]);
			}
	}
	/* the I/O log: records, then the strings they point into */
	r = r ? r : put64(f, p->io.n);
	r = r ? r : put64(f, p->io.plen);
	if (!r && p->io.plen)
		r = put(f, p->io.pool, p->io.plen);
	for (uint32_t i = 0; !r && i < p->io.n; i++) {
		const struct an_iorec *e = &p->io.v[i];
		uint64_t v[] = {e->type, e->io, (uint64_t)(int64_t)e->cpu, e->name, e->str, (uint64_t)e->ts,
				(uint64_t)e->tid, (uint64_t)e->a, (uint64_t)e->b, (uint64_t)e->c};
		for (size_t k = 0; !r && k < sizeof(v) / sizeof(v[0]); k++)
			r = put64(f, v[k]);
	}
	/* the CPU tables */
	r = r ? r : put64(f, p->cput.n);
	r = r ? r : put64(f, p->cpuu.n);
	for (uint32_t i = 0; !r && i < p->cput.n; i++) {
		const struct an_cput *t = an_tab_at(&p->cput, i);
		uint32_t nb = 0;
		for (uint32_t k = 0; k < t->wh.n; k++)
			nb += t->wh.b[k] != 0;
		uint64_t fl = (uint64_t)t->seen | (uint64_t)t->head_out << 1 | (uint64_t)t->running << 2 |
			      (uint64_t)t->has_head_w << 3 | (uint64_t)t->has_mid_w << 4 |
			      (uint64_t)t->has_first_in << 5 | (uint64_t)t->has_end_w << 6;
		uint64_t v[] = {(uint64_t)t->tid, fl, (uint64_t)t->head_ts, (uint64_t)t->in_ts, (uint64_t)t->run_ns,
				(uint64_t)t->head_w, (uint64_t)t->mid_w, (uint64_t)t->first_in, (uint64_t)t->end_w,
				t->wcount, (uint64_t)t->wmin, (uint64_t)t->wmax, (uint64_t)t->wsum, nb};
		for (size_t k = 0; !r && k < sizeof(v) / sizeof(v[0]); k++)
			r = put64(f, v[k]);
		for (uint32_t k = 0; !r && k < t->wh.n; k++)
			if (t->wh.b[k]) {
				r = put64(f, k);
				r = r ? r : put64(f, t->wh.b[k]);
			}
	}
	for (uint32_t i = 0; !r && i < p->cpuu.n; i++) {
		const struct an_cpuu *c = an_tab_at(&p->cpuu, i);
		uint64_t v[] = {(uint64_t)c->cpu, (uint64_t)c->seen | (uint64_t)c->head_busy << 1 | (uint64_t)c->busy << 2,
				(uint64_t)c->head_ts, (uint64_t)c->start, (uint64_t)c->busy_ns};
		for (size_t k = 0; !r && k < sizeof(v) / sizeof(v[0]); k++)
			r = put64(f, v[k]);
	}
	return r;
}

/* What the model's samples can be (stat_add, an_cput_sample): the
 * histogram holds `count` samples, their sum lies between count x min and
 * count x max. A partial from elsewhere (a worker, a file) that breaks it
 * is refused, not merged into numbers that mean nothing. */
static bool samples_sane(uint64_t count, int64_t min, int64_t max, int64_t sum,
			 const struct an_hist *h)
{
	unsigned __int128 in_hist = 0;
	for (uint32_t i = 0; i < h->n; i++)
		in_hist += h->b[i];
	if (in_hist != count)
		return false;
	if (!count)
		return sum == 0;
	return min <= max && (__int128)min * (__int128)count <= (__int128)sum &&
	       (__int128)sum <= (__int128)max * (__int128)count;
}

/* A syscall's stats: samples_sane, and its errors (each a negative return
 * value, once) add up to errors <= count. */
static bool stat_sane(const struct an_stat *s)
{
	unsigned __int128 errs = 0;
	for (uint32_t i = 0; i < s->nerrs; i++) {
		if (s->errs[i].ret >= 0)
			return false;
		for (uint32_t k = 0; k < i; k++)
			if (s->errs[k].ret == s->errs[i].ret)
				return false;
		errs += s->errs[i].count;
	}
	return errs == s->errors && s->errors <= s->count &&
	       samples_sane(s->count, s->min, s->max, s->sum, &s->hist);
}

struct an_partial *an_partial_read(struct an_names *names, FILE *f)
{
	char magic[8];
	uint32_t *map = NULL;
	uint64_t nn = 0;
	struct an_partial *p = NULL;
	if (get(f, magic, 8) || memcmp(magic, MAGIC, 8) || get64(f, &nn) || nn > (1u << 20))
		goto bad;
	map = calloc(nn ? nn : 1, sizeof(*map));
	if (!map)
		goto nomem;
	for (uint64_t i = 0; i < nn; i++) {
		uint64_t len;
		char buf[256];
		if (get64(f, &len) || len >= sizeof(buf) || get(f, buf, len))
			goto bad;
		map[i] = an_names_intern(names, buf, len);
		if (map[i] == UINT32_MAX)
			goto nomem;
	}
	uint64_t h[10];
	for (size_t i = 0; i < 10; i++)
		if (get64(f, &h[i]))
			goto bad;
	if (h[0] > (AN_CPU_ATTRIBUTION | AN_IO | AN_CPU | AN_PHASES) || h[4] > 1 || h[7] > (1u << 28) || h[8] > (1u << 20) || h[9] > (1u << 28))
		goto bad;
	p = an_partial_new(names, (unsigned)h[0]);
	if (!p)
		goto nomem;
	p->events = h[1];
	p->chunks = h[2];
	p->lost = h[3];
	p->has_range = h[4];
	p->first_ts = (int64_t)h[5];
	p->last_ts = (int64_t)h[6];
	for (uint64_t i = 0; i < h[7]; i++) {
		uint64_t v[13];
		for (size_t k = 0; k < 13; k++)
			if (get64(f, &v[k]))
				goto bad;
		if (v[2] > 63 || v[3] > AN_OPEN || (v[3] == AN_OPEN && v[4] >= nn))
			goto bad;
		bool fresh;
		struct an_thread *t = an_tab_get(&p->threads, v[0], &fresh);
		if (!t)
			goto nomem;
		if (!fresh)
			goto bad;
		t->tid = (int64_t)v[0];
		t->pid = (int64_t)v[1];
		t->pid_set = v[2] & 1;
		t->comm_set = v[2] & 2;
		t->has_head = v[2] & 4;
		t->emitted = v[2] & 8;
		t->uncertain = v[2] & 16;
		t->state = (uint8_t)v[3];
		t->open_name = v[3] == AN_OPEN ? map[v[4]] : 0;
		t->open_ts = (int64_t)v[5];
		t->head_ts = (int64_t)v[6];
		t->head_ret = (int64_t)v[7];
		t->first_ts = (int64_t)v[8];
		t->pid_ts = (int64_t)v[9];
		t->comm_ts = (int64_t)v[10];
		t->sd_valid = v[2] & 32;
		t->sd_ts = (int64_t)v[11];
		t->sd_pid = (int64_t)v[12];
		if (get(f, t->comm, AN_COMM) || get(f, t->sd_comm, AN_COMM) ||
		    get_snap(f, &t->head_snap) || get_snap(f, &t->first_emit))
			goto bad;
		t->comm[AN_COMM - 1] = 0;
		t->sd_comm[AN_COMM - 1] = 0;
	}
	for (uint64_t i = 0; i < h[8]; i++) {
		uint64_t v[4];
		for (size_t k = 0; k < 4; k++)
			if (get64(f, &v[k]))
				goto bad;
		if (v[1] > 3 || v[3] > (1u << 28))
			goto bad;
		bool fresh;
		struct an_cpu *c = an_tab_get(&p->cpus, v[0], &fresh);
		if (!c)
			goto nomem;
		if (!fresh)
			goto bad;
		c->cpu = (int64_t)v[0];
		c->known = v[1] & 1;
		c->pre_uncertain = v[1] & 2;
		c->cur = (int64_t)v[2];
		for (uint64_t k = 0; k < v[3]; k++) {
			uint64_t e[4];
			for (size_t j = 0; j < 4; j++)
				if (get64(f, &e[j]))
					goto bad;
			if ((e[0] != AN_EV_SYS_ENTRY && e[0] != AN_EV_SYS_EXIT) || e[1] >= nn)
				goto bad;
			if (c->npre == c->pcap) {
				uint32_t cap = c->pcap ? c->pcap * 2 : 16;
				struct an_pev *pv = realloc(c->pre, cap * sizeof(*pv));
				if (!pv)
					goto nomem;
				c->pre = pv;
				c->pcap = cap;
			}
			c->pre[c->npre++] = (struct an_pev){.kind = (uint8_t)e[0], .name = map[e[1]],
							    .ts = (int64_t)e[2], .ret = (int64_t)e[3]};
		}
	}
	for (uint64_t i = 0; i < h[9]; i++) {
		uint64_t v[11];
		for (size_t k = 0; k < 11; k++)
			if (get64(f, &v[k]))
				goto bad;
		if (v[1] >= nn || v[9] > (1u << 16) || v[10] > AN_HIST_MAX_BUCKETS)
			goto bad;
		bool fresh;
		struct an_stat *s = an_tab_get(&p->stats, an_stat_key((int64_t)v[0], map[v[1]]), &fresh);
		if (!s)
			goto nomem;
		if (!fresh)
			goto bad;
		s->tid = (int64_t)v[0];
		s->name = map[v[1]];
		s->count = v[2];
		s->errors = v[3];
		s->min = (int64_t)v[4];
		s->max = (int64_t)v[5];
		s->sum = (int64_t)v[6];
		s->sumsq = (unsigned __int128)v[8] << 64 | v[7];
		for (uint64_t k = 0; k < v[9]; k++) {
			uint64_t ret, count;
			if (get64(f, &ret) || get64(f, &count))
				goto bad;
			struct an_err *e = realloc(s->errs, (s->nerrs + 1) * sizeof(*e));
			if (!e)
				goto nomem;
			s->errs = e;
			e[s->nerrs++] = (struct an_err){.ret = (int64_t)ret, .count = count};
		}
		for (uint64_t k = 0; k < v[10]; k++) {
			uint64_t idx, count;
			if (get64(f, &idx) || get64(f, &count) || idx >= AN_HIST_MAX_BUCKETS)
				goto bad;
			if (an_hist_grow(&s->hist, (uint32_t)idx + 1))
				goto nomem;
			s->hist.b[idx] += count;
		}
		if (!stat_sane(s))
			goto bad;
	}
	uint64_t nrec, plen;
	if (get64(f, &nrec) || get64(f, &plen) || nrec > (1u << 30) || plen > UINT32_MAX)
		goto bad;
	if (plen) {
		p->io.pool = malloc(plen);
		if (!p->io.pool)
			goto nomem;
		p->io.pcap = p->io.plen = plen;
		/* every string ends inside the pool */
		if (get(f, p->io.pool, plen) || p->io.pool[plen - 1])
			goto bad;
	}
	for (uint64_t i = 0; i < nrec; i++) {
		uint64_t v[10];
		for (size_t k = 0; k < 10; k++)
			if (get64(f, &v[k]))
				goto bad;
		bool sys = v[0] == AN_IOR_ENTRY || v[0] == AN_IOR_EXIT;
		if (v[0] < AN_IOR_ENTRY || v[0] > AN_IOR_MARK || v[1] > AN_IO_RW2 ||
		    (sys && v[1] == AN_IO_NONE && !(p->flags & AN_PHASES)) ||
		    (v[0] == AN_IOR_MARK && (v[7] < AN_MARK_BEGIN || v[7] > (AN_MARK_BEGIN | AN_MARK_END))) ||
		    (sys && v[3] >= nn) || (v[4] != UINT32_MAX && v[4] >= plen) ||
		    (int64_t)v[2] < INT32_MIN || (int64_t)v[2] > INT32_MAX)
			goto bad;
		if (p->io.n == p->io.cap) {
			uint32_t cap = p->io.cap ? p->io.cap * 2 : 64;
			struct an_iorec *nv = realloc(p->io.v, cap * sizeof(*nv));
			if (!nv)
				goto nomem;
			p->io.v = nv;
			p->io.cap = cap;
		}
		p->io.v[p->io.n++] = (struct an_iorec){
			.type = (uint8_t)v[0], .io = (uint8_t)v[1], .cpu = (int32_t)(int64_t)v[2],
			.name = sys ? map[v[3]] : 0, .str = (uint32_t)v[4], .ts = (int64_t)v[5],
			.tid = (int64_t)v[6], .a = (int64_t)v[7], .b = (int64_t)v[8], .c = (int64_t)v[9]};
	}
	uint64_t nct, ncc;
	if (get64(f, &nct) || get64(f, &ncc) || nct > (1u << 28) || ncc > (1u << 20))
		goto bad;
	for (uint64_t i = 0; i < nct; i++) {
		uint64_t v[14];
		for (size_t k = 0; k < 14; k++)
			if (get64(f, &v[k]))
				goto bad;
		if (v[1] > 127 || v[13] > AN_HIST_MAX_BUCKETS)
			goto bad;
		bool fresh;
		struct an_cput *t = an_tab_get(&p->cput, v[0], &fresh);
		if (!t)
			goto nomem;
		if (!fresh)
			goto bad;
		*t = (struct an_cput){.tid = (int64_t)v[0], .seen = v[1] & 1, .head_out = v[1] & 2,
				      .running = v[1] & 4, .has_head_w = v[1] & 8, .has_mid_w = v[1] & 16,
				      .has_first_in = v[1] & 32, .has_end_w = v[1] & 64, .head_ts = (int64_t)v[2],
				      .in_ts = (int64_t)v[3], .run_ns = (int64_t)v[4], .head_w = (int64_t)v[5],
				      .mid_w = (int64_t)v[6], .first_in = (int64_t)v[7], .end_w = (int64_t)v[8],
				      .wcount = v[9], .wmin = (int64_t)v[10], .wmax = (int64_t)v[11], .wsum = (int64_t)v[12]};
		for (uint64_t k = 0; k < v[13]; k++) {
			uint64_t idx, count;
			if (get64(f, &idx) || get64(f, &count) || idx >= AN_HIST_MAX_BUCKETS)
				goto bad;
			if (an_hist_grow(&t->wh, (uint32_t)idx + 1))
				goto nomem;
			t->wh.b[idx] += count;
		}
		if (!samples_sane(t->wcount, t->wmin, t->wmax, t->wsum, &t->wh))
			goto bad;
	}
	for (uint64_t i = 0; i < ncc; i++) {
		uint64_t v[5];
		for (size_t k = 0; k < 5; k++)
			if (get64(f, &v[k]))
				goto bad;
		if (v[1] > 7)
			goto bad;
		bool fresh;
		struct an_cpuu *c = an_tab_get(&p->cpuu, v[0], &fresh);
		if (!c)
			goto nomem;
		if (!fresh)
			goto bad;
		*c = (struct an_cpuu){.cpu = (int64_t)v[0], .seen = v[1] & 1, .head_busy = v[1] & 2, .busy = v[1] & 4,
				      .head_ts = (int64_t)v[2], .start = (int64_t)v[3], .busy_ns = (int64_t)v[4]};
	}
	free(map);
	return p;
bad:
	free(map);
	an_partial_destroy(p);
	errno = EINVAL;
	return NULL;
nomem:
	free(map);
	an_partial_destroy(p);
	errno = ENOMEM;
	return NULL;
}
