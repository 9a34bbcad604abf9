/* SPDX-License-Identifier: MIT */
/*
 * The analyses' model: threads and their syscalls as spans, CPUs and the
 * task each runs, partial results of chunks and their reduce (doc/analysis.md).
 *
 * A partial is the map state itself: a thread whose first syscall event in
 * the chunk is an exit keeps it aside (a soft begin), a thread in a syscall
 * at the chunk's end keeps it open (a soft end), and the syscall events of
 * a CPU before its first sched_switch in the chunk wait for the previous
 * chunk's current task of that CPU. Attributes (pid, comm) not set in the
 * chunk are inherited from the previous one. The reduce joins all three.
 *
 * Owns the partial and its binary form; calls nothing outside src/analysis.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

/* ---- names -------------------------------------------------------------- */

struct an_names {
	pthread_mutex_t lock;
	char **v;
	uint32_t n, cap;
	uint32_t *hash; /* index + 1, 0: empty */
	uint32_t hcap;
	char *phase[3]; /* an_names_set_phases(): begin, end, by */
};

struct an_names *an_names_new(void)
{
	struct an_names *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

void an_names_destroy(struct an_names *n)
{
	if (!n)
		return;
	for (uint32_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	free(n->hash);
	for (int i = 0; i < 3; i++)
		free(n->phase[i]);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int an_names_set_phases(struct an_names *n, const char *begin, const char *end, const char *by)
{
	const char *v[3] = {begin, end, by};
	for (int i = 0; i < 3; i++) {
		free(n->phase[i]);
		n->phase[i] = NULL;
		if (v[i] && !(n->phase[i] = strdup(v[i])))
			return -ENOMEM;
	}
	return 0;
}

const char *an_names_phase(const struct an_names *n, int which)
{
	return which >= 0 && which < 3 ? n->phase[which] : NULL;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int names_rehash(struct an_names *n)
{
	uint32_t cap = n->hcap ? n->hcap * 2 : 256;
	uint32_t *h = calloc(cap, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (uint32_t i = 0; i < n->n; i++) {
		uint64_t k = hash_bytes(n->v[i], strlen(n->v[i]));
		uint32_t j = (uint32_t)k & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = i + 1;
	}
	free(n->hash);
	n->hash = h;
	n->hcap = cap;
	return 0;
}

uint32_t an_names_intern(struct an_names *n, const char *name, size_t len)
{
	uint32_t ret = UINT32_MAX;
	pthread_mutex_lock(&n->lock);
	if ((n->n + 1) * 2 > n->hcap && names_rehash(n))
		goto out;
	uint64_t k = hash_bytes(name, len);
	uint32_t j = (uint32_t)k & (n->hcap - 1);
	while (n->hash[j]) {
		const char *s = n->v[n->hash[j] - 1];
		if (strlen(s) == len && !memcmp(s, name, len)) {
			ret = n->hash[j] - 1;
			goto out;
		}
		j = (j + 1) & (n->hcap - 1);
	}
	if (n->n == n->cap) {
		uint32_t cap = n->cap ? n->cap * 2 : 64;
		char **v = realloc(n->v, cap * sizeof(*v));
		if (!v)
			goto out;
		n->v = v;
		n->cap = cap;
	}
	char *s = strndup(name, len);
	if (!s)
		goto out;
	n->v[n->n] = s;
	n->hash[j] = n->n + 1;
	ret = n->n++;
out:
	pthread_mutex_unlock(&n->lock);
	return ret;
}

/* With the lock: mappers intern names (realloc of v) while other threads
 * read them (a mapper's class_of, the follower's reports and metrics);
 * the strings themselves live until an_names_destroy(). */
const char *an_names_get(const struct an_names *n, uint32_t id)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&n->lock;
	pthread_mutex_lock(lock);
	const char *s = id < n->n ? n->v[id] : "?";
	pthread_mutex_unlock(lock);
	return s;
}

uint32_t an_names_count(const struct an_names *n)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&n->lock;
	pthread_mutex_lock(lock);
	uint32_t c = n->n;
	pthread_mutex_unlock(lock);
	return c;
}

/* ---- tables keyed by 64-bit integers ------------------------------------ */

int an_tab_init(struct an_tab *t, size_t size)
{
	memset(t, 0, sizeof(*t));
	t->size = size;
	return 0;
}

void an_tab_free(struct an_tab *t)
{
	free(t->keys);
	free(t->slot);
	free(t->items);
	memset(t, 0, sizeof(*t));
}

static inline uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static int tab_rehash(struct an_tab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	uint32_t *slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	memset(slot, 0xff, cap * sizeof(*slot));
	for (uint32_t i = 0; i < t->n; i++) {
		size_t j = mix64(t->keys[i]) & (cap - 1);
		while (slot[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		slot[j] = i;
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return 0;
}

void *an_tab_find(const struct an_tab *t, uint64_t key)
{
	if (!t->cap)
		return NULL;
	size_t j = mix64(key) & (t->cap - 1);
	while (t->slot[j] != UINT32_MAX) {
		uint32_t i = t->slot[j];
		if (t->keys[i] == key)
			return (char *)t->items + (size_t)i * t->size;
		j = (j + 1) & (t->cap - 1);
	}
	return NULL;
}

void *an_tab_get(struct an_tab *t, uint64_t key, bool *ret_new)
{
	void *it = an_tab_find(t, key);
	if (it) {
		if (ret_new)
			*ret_new = false;
		return it;
	}
	if ((t->n + 1) * 2 > t->cap && tab_rehash(t))
		return NULL;
	if (t->n == t->icap) {
		uint32_t icap = t->icap ? t->icap * 2 : 32;
		uint64_t *keys = realloc(t->keys, icap * sizeof(*keys));
		if (!keys)
			return NULL;
		t->keys = keys;
		void *items = realloc(t->items, icap * t->size);
		if (!items)
			return NULL;
		t->items = items;
		t->icap = icap;
	}
	/* Items move when the array grows: callers hold pointers only until
	 * the next an_tab_get() on the same table. */
	uint32_t i = t->n++;
	t->keys[i] = key;
	size_t j = mix64(key) & (t->cap - 1);
	while (t->slot[j] != UINT32_MAX)
		j = (j + 1) & (t->cap - 1);
	t->slot[j] = i;
	it = (char *)t->items + (size_t)i * t->size;
	memset(it, 0, t->size);
	if (ret_new)
		*ret_new = true;
	return it;
}

/* ---- partials ------------------------------------------------------------ */

struct an_partial *an_partial_new(struct an_names *names, unsigned flags)
{
	struct an_partial *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->names = names;
	p->flags = flags;
	an_tab_init(&p->threads, sizeof(struct an_thread));
	an_tab_init(&p->cpus, sizeof(struct an_cpu));
	an_tab_init(&p->stats, sizeof(struct an_stat));
	an_tab_init(&p->cput, sizeof(struct an_cput));
	an_tab_init(&p->cpuu, sizeof(struct an_cpuu));
	return p;
}

static void stat_free(struct an_stat *s)
{
	free(s->errs);
	free(s->hist.b);
}

struct an_partial *an_partial_new_missing(struct an_names *names, unsigned flags, uint64_t n)
{
	struct an_partial *p = an_partial_new(names, flags);
	if (p)
		p->chunks = n;
	return p;
}

void an_partial_destroy(struct an_partial *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->stats.n; i++)
		stat_free(an_tab_at(&p->stats, i));
	for (uint32_t i = 0; i < p->cpus.n; i++)
		free(((struct an_cpu *)an_tab_at(&p->cpus, i))->pre);
	an_tab_free(&p->threads);
	an_tab_free(&p->cpus);
	an_tab_free(&p->stats);
	an_io_free(&p->io);
	an_cpu_free(p);
	free(p);
}

uint64_t an_partial_events(const struct an_partial *p)
{
	return p->events;
}

uint64_t an_partial_chunks(const struct an_partial *p)
{
	return p->chunks;
}

uint64_t an_partial_lost_events(const struct an_partial *p)
{
	return p->lost;
}

static struct an_thread *thread_get(struct an_partial *p, int64_t tid)
{
	bool fresh;
	struct an_thread *t = an_tab_get(&p->threads, (uint64_t)tid, &fresh);
	if (t && fresh)
		t->tid = tid;
	return t;
}

static struct an_stat *stat_get(struct an_partial *p, int64_t tid, uint32_t name)
{
	bool fresh;
	struct an_stat *s = an_tab_get(&p->stats, an_stat_key(tid, name), &fresh);
	if (s && fresh) {
		s->tid = tid;
		s->name = name;
		s->min = INT64_MAX;
		s->max = INT64_MIN;
	}
	return s;
}

static void comm_set(char dst[AN_COMM], const char *s, size_t len)
{
	if (len >= AN_COMM)
		len = AN_COMM - 1;
	memcpy(dst, s, len);
	memset(dst + len, 0, AN_COMM - len);
	/* a comm field may hold its NUL inside */
	dst[strnlen(dst, AN_COMM)] = 0;
}

static struct an_snap snap_of(const struct an_thread *t, int64_t ts)
{
	struct an_snap s = {.valid = true,
			    .pid_known = t->pid_set,
			    .pid = t->pid,
			    .comm_known = t->comm_set,
			    .ts = ts,
			    .pid_ts = t->pid_ts,
			    .comm_ts = t->comm_ts};
	memcpy(s.comm, t->comm, AN_COMM);
	return s;
}

static void attr_set(struct an_thread *t, int64_t pid, const char *comm, size_t len, int64_t ts)
{
	t->pid = pid;
	t->pid_set = true;
	t->pid_ts = ts;
	comm_set(t->comm, comm, len);
	t->comm_set = true;
	t->comm_ts = ts;
}

/* One duration, with its return value, into the stats of (tid, name). */
static int stat_add(struct an_stat *s, int64_t dur, int64_t ret)
{
	s->count++;
	s->sum += dur;
	uint64_t mag = dur < 0 ? -(uint64_t)dur : (uint64_t)dur;
	an_sumsq_add(&s->sumsq, (unsigned __int128)mag * mag);
	if (dur < s->min)
		s->min = dur;
	if (dur > s->max)
		s->max = dur;
	if (ret < 0) {
		s->errors++;
		uint32_t i;
		for (i = 0; i < s->nerrs && s->errs[i].ret != ret; i++)
			;
		if (i == s->nerrs) {
			struct an_err *e = realloc(s->errs, (s->nerrs + 1) * sizeof(*e));
			if (!e)
				return -ENOMEM;
			s->errs = e;
			e[s->nerrs++] = (struct an_err){.ret = ret, .count = 0};
		}
		s->errs[i].count++;
	}
	/* Negative durations (clocks of a broken trace) count in bucket 0. */
	if (an_hist_add(&s->hist, dur < 0 ? 0 : (uint64_t)dur, 1))
		return -ENOMEM;
	return 0;
}

static int emit(struct an_partial *p, struct an_thread *t, uint32_t name, int64_t dur, int64_t ret,
		const struct an_snap *snap)
{
	struct an_stat *s = stat_get(p, t->tid, name);
	if (!s)
		return -ENOMEM;
	if (!t->emitted) {
		t->emitted = true;
		t->first_emit = *snap;
	}
	return stat_add(s, dur, ret);
}

/* The syscall state machine of a thread (as lttng-analyses: an entry
 * replaces the current syscall, an exit without one is ignored). */
static int thread_sys_event(struct an_partial *p, struct an_thread *t, const struct an_ev *ev)
{
	if (t->state == AN_UNTOUCHED)
		t->first_ts = ev->ts;
	if (ev->kind == AN_EV_SYS_ENTRY) {
		t->state = AN_OPEN;
		t->open_name = ev->name;
		t->open_ts = ev->ts;
		return 0;
	}
	switch (t->state) {
	case AN_UNTOUCHED:
		t->has_head = true;
		t->head_ts = ev->ts;
		t->head_ret = ev->ret;
		t->head_snap = snap_of(t, ev->ts);
		break;
	case AN_OPEN: {
		struct an_snap s = snap_of(t, ev->ts);
		int r = emit(p, t, t->open_name, ev->ts - t->open_ts, ev->ret, &s);
		if (r)
			return r;
		break;
	}
	default:
		break;
	}
	t->state = AN_NONE;
	return 0;
}

static int cpu_prefix_push(struct an_cpu *c, const struct an_ev *ev)
{
	if (c->npre == c->pcap) {
		uint32_t cap = c->pcap ? c->pcap * 2 : 16;
		struct an_pev *v = realloc(c->pre, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->pre = v;
		c->pcap = cap;
	}
	c->pre[c->npre++] = (struct an_pev){.kind = ev->kind, .name = ev->name, .ts = ev->ts, .ret = ev->ret};
	return 0;
}

int an_partial_feed(struct an_partial *p, const struct an_ev *ev)
{
	p->events++;
	if (!p->has_range) {
		p->has_range = true;
		p->first_ts = ev->ts;
	}
	p->last_ts = ev->ts;
	struct an_thread *t;
	if (p->flags & AN_IO) {
		int r = an_io_feed(p, ev);
		if (r)
			return r;
	}
	if (p->flags & AN_CPU) {
		int r = an_cpu_feed(p, ev);
		if (r)
			return r;
	}
	switch (ev->kind) {
	case AN_EV_SYS_ENTRY:
	case AN_EV_SYS_EXIT:
		if (ev->tid >= 0 && !(p->flags & AN_CPU_ATTRIBUTION)) {
			t = thread_get(p, ev->tid);
			if (!t)
				return -ENOMEM;
			t->chunk_touched = true;
			return thread_sys_event(p, t, ev);
		} else {
			bool fresh;
			struct an_cpu *c = an_tab_get(&p->cpus, (uint64_t)ev->cpu, &fresh);
			if (!c)
				return -ENOMEM;
			if (fresh)
				c->cpu = ev->cpu;
			if (!c->known)
				return cpu_prefix_push(c, ev);
			if (c->cur <= 0)
				return 0; /* idle, or unknown to lttng-analyses */
			t = thread_get(p, c->cur);
			if (!t)
				return -ENOMEM;
			t->chunk_touched = true;
			return thread_sys_event(p, t, ev);
		}
	case AN_EV_SWITCH: {
		bool fresh;
		struct an_cpu *c = an_tab_get(&p->cpus, (uint64_t)ev->cpu, &fresh);
		if (!c)
			return -ENOMEM;
		if (fresh)
			c->cpu = ev->cpu;
		c->known = true;
		c->cur = ev->a;
		t = thread_get(p, ev->a);
		if (!t)
			return -ENOMEM;
		comm_set(t->comm, ev->s1, ev->l1);
		t->comm_set = true;
		t->comm_ts = ev->ts;
		if (ev->a == 0) {
			t->pid = 0;
			t->pid_set = true;
			t->pid_ts = ev->ts;
		}
		return 0;
	}
	case AN_EV_FORK:
		/* lttng-analyses keys the parent by its pid */
		t = thread_get(p, ev->a);
		if (!t)
			return -ENOMEM;
		attr_set(t, ev->a, ev->s1, ev->l1, ev->ts);
		/* the child is a new thread: no current syscall */
		t = thread_get(p, ev->b);
		if (!t)
			return -ENOMEM;
		attr_set(t, ev->c, ev->s2, ev->l2, ev->ts);
		if (t->state == AN_UNTOUCHED)
			t->first_ts = ev->ts;
		t->state = AN_NONE;
		return 0;
	case AN_EV_SD_PROC:
		t = thread_get(p, ev->a);
		if (!t)
			return -ENOMEM;
		attr_set(t, ev->b, ev->s1, ev->l1, ev->ts);
		if (!t->sd_valid) {
			t->sd_valid = true;
			t->sd_ts = ev->ts;
			t->sd_pid = t->pid;
			memcpy(t->sd_comm, t->comm, AN_COMM);
		}
		return 0;
	default:
		return 0;
	}
}

void an_partial_lost(struct an_partial *p, uint64_t count)
{
	p->chunk_lost += count;
}

int an_partial_end_chunk(struct an_partial *p)
{
	if (p->flags & AN_IO) {
		int r = an_io_end_chunk(p);
		if (r)
			return r;
	}
	p->chunks++;
	p->lost += p->chunk_lost;
	for (uint32_t i = 0; i < p->threads.n; i++) {
		struct an_thread *t = an_tab_at(&p->threads, i);
		if (p->chunk_lost && t->chunk_touched)
			t->uncertain = true;
		t->chunk_touched = false;
	}
	if (p->chunk_lost)
		for (uint32_t i = 0; i < p->cpus.n; i++) {
			struct an_cpu *c = an_tab_at(&p->cpus, i);
			if (c->npre)
				c->pre_uncertain = true;
		}
	p->chunk_lost = 0;
	return 0;
}

/* ---- reduce ---------------------------------------------------------------- */

/* b's snapshot seen from after a: what b inherited, a may know; what b
 * knew from its statedump, a may have set again later (before the
 * snapshot: rotation chunks overlap in time). */
static struct an_snap snap_resolve(struct an_snap s, const struct an_thread *a)
{
	if (!a)
		return s;
	if (s.pid_known && a->pid_set && s.pid_ts < a->pid_ts && a->pid_ts < s.ts)
		s.pid_known = false;
	if (s.comm_known && a->comm_set && s.comm_ts < a->comm_ts && a->comm_ts < s.ts)
		s.comm_known = false;
	if (!s.pid_known && a->pid_set) {
		s.pid_known = true;
		s.pid = a->pid;
		s.pid_ts = a->pid_ts;
	}
	if (!s.comm_known && a->comm_set) {
		s.comm_known = true;
		memcpy(s.comm, a->comm, AN_COMM);
		s.comm_ts = a->comm_ts;
	}
	return s;
}

static int stat_merge(struct an_stat *d, const struct an_stat *s)
{
	d->count += s->count;
	d->errors += s->errors;
	d->sum += s->sum;
	an_sumsq_add(&d->sumsq, s->sumsq);
	if (s->min < d->min)
		d->min = s->min;
	if (s->max > d->max)
		d->max = s->max;
	for (uint32_t k = 0; k < s->nerrs; k++) {
		uint32_t i;
		for (i = 0; i < d->nerrs && d->errs[i].ret != s->errs[k].ret; i++)
			;
		if (i == d->nerrs) {
			struct an_err *e = realloc(d->errs, (d->nerrs + 1) * sizeof(*e));
			if (!e)
				return -ENOMEM;
			d->errs = e;
			e[d->nerrs++] = (struct an_err){.ret = s->errs[k].ret, .count = 0};
		}
		d->errs[i].count += s->errs[k].count;
	}
	if (s->hist.n && an_hist_grow(&d->hist, s->hist.n))
		return -ENOMEM;
	for (uint32_t i = 0; i < s->hist.n; i++)
		d->hist.b[i] += s->hist.b[i];
	return 0;
}

/* a.thread(tid) = a.thread(tid) · bt, where bt's stats are merged apart. */
static int thread_merge(struct an_partial *a, const struct an_thread *bt)
{
	struct an_thread *at = thread_get(a, bt->tid);
	if (!at)
		return -ENOMEM;
	struct an_thread old = *at;
	/* b's statedump is stamped at b's start, a's last events can be later:
	 * a's first counted syscall after it saw the statedump's attributes,
	 * unless a set them again in between (one pass over the events by
	 * time) */
	if (old.emitted && bt->sd_valid) {
		struct an_snap *s = &at->first_emit;
		if (s->ts > bt->sd_ts && (!s->pid_known || s->pid_ts < bt->sd_ts)) {
			s->pid_known = true;
			s->pid = bt->sd_pid;
			s->pid_ts = bt->sd_ts;
		}
		if (s->ts > bt->sd_ts && (!s->comm_known || s->comm_ts < bt->sd_ts)) {
			s->comm_known = true;
			memcpy(s->comm, bt->sd_comm, AN_COMM);
			s->comm_ts = bt->sd_ts;
		}
	}
	if (!old.sd_valid && bt->sd_valid) {
		at->sd_valid = true;
		at->sd_ts = bt->sd_ts;
		at->sd_pid = bt->sd_pid;
		memcpy(at->sd_comm, bt->sd_comm, AN_COMM);
	}
	/* soft begin of b meets a's end */
	if (old.state != AN_UNTOUCHED) {
		if (bt->has_head && old.state == AN_OPEN) {
			struct an_snap s = snap_resolve(bt->head_snap, &old);
			int r = emit(a, at, old.open_name, bt->head_ts - old.open_ts, bt->head_ret, &s);
			if (r)
				return r;
		}
		if (bt->state != AN_UNTOUCHED) {
			at->state = bt->state;
			at->open_name = bt->open_name;
			at->open_ts = bt->open_ts;
		}
	} else {
		at->state = bt->state;
		at->open_name = bt->open_name;
		at->open_ts = bt->open_ts;
		at->has_head = bt->has_head;
		at->head_ts = bt->head_ts;
		at->head_ret = bt->head_ret;
		at->head_snap = snap_resolve(bt->head_snap, &old);
		at->first_ts = bt->first_ts;
	}
	if (!at->emitted && bt->emitted) {
		at->emitted = true;
		at->first_emit = snap_resolve(bt->first_emit, &old);
	}
	/* the latest setting wins: b's statedump may be older than a's end */
	if (bt->pid_set && (!old.pid_set || bt->pid_ts >= old.pid_ts)) {
		at->pid = bt->pid;
		at->pid_set = true;
		at->pid_ts = bt->pid_ts;
	}
	if (bt->comm_set && (!old.comm_set || bt->comm_ts >= old.comm_ts)) {
		memcpy(at->comm, bt->comm, AN_COMM);
		at->comm_set = true;
		at->comm_ts = bt->comm_ts;
	}
	at->uncertain |= bt->uncertain;
	return 0;
}

/* The syscall events of CPU c before its first switch in b, given to the
 * task a's CPU c ran last (applied before b's own events of that thread). */
static int prefix_resolve(struct an_partial *a, const struct an_partial *b, const struct an_cpu *bc,
			  int64_t tid, bool uncertain)
{
	if (tid <= 0)
		return 0; /* idle: lttng-analyses ignores them */
	struct an_partial *pp = an_partial_new(a->names, a->flags);
	if (!pp)
		return -ENOMEM;
	struct an_thread *t = thread_get(pp, tid);
	int r = t ? 0 : -ENOMEM;
	for (uint32_t i = 0; !r && i < bc->npre; i++) {
		struct an_ev ev = {.kind = bc->pre[i].kind, .name = bc->pre[i].name,
				   .ts = bc->pre[i].ts, .ret = bc->pre[i].ret};
		r = thread_sys_event(pp, t, &ev);
	}
	if (!r) {
		t->uncertain = uncertain;
		/* In a consistent trace, the task a CPU ran at b's start ran
		 * nowhere else before its first switch there. */
		const struct an_thread *bt = an_tab_find(&b->threads, (uint64_t)tid);
		if (bt && bt->state != AN_UNTOUCHED && bc->npre && bt->first_ts < bc->pre[bc->npre - 1].ts)
			t->uncertain = true;
		r = an_partial_merge_into(a, pp);
	}
	an_partial_destroy(pp);
	return r;
}

/* a = a · b for threads and stats (b kept). */
int an_partial_merge_into(struct an_partial *a, const struct an_partial *b)
{
	int r;
	for (uint32_t i = 0; i < b->threads.n; i++)
		if ((r = thread_merge(a, an_tab_at(&b->threads, i))))
			return r;
	for (uint32_t i = 0; i < b->stats.n; i++) {
		const struct an_stat *s = an_tab_at(&b->stats, i);
		struct an_stat *d = stat_get(a, s->tid, s->name);
		if (!d || (r = stat_merge(d, s)))
			return -ENOMEM;
	}
	return 0;
}

int an_partial_merge(struct an_partial *a, struct an_partial *b)
{
	/* the I/O log first: b's records with no thread take a's CPUs' tasks */
	int r = an_io_append(a, b);
	/* CPUs first: b's prefixes go before b's own events */
	for (uint32_t i = 0; !r && i < b->cpus.n; i++) {
		struct an_cpu *bc = an_tab_at(&b->cpus, i);
		bool fresh;
		struct an_cpu *ac = an_tab_get(&a->cpus, (uint64_t)bc->cpu, &fresh);
		if (!ac) {
			r = -ENOMEM;
			break;
		}
		if (fresh)
			ac->cpu = bc->cpu;
		if (ac->known) {
			int64_t cur = ac->cur;
			if (bc->npre) {
				r = prefix_resolve(a, b, bc, cur, bc->pre_uncertain);
				/* prefix_resolve() may have moved a's CPUs? no: only threads/stats */
				ac = an_tab_find(&a->cpus, (uint64_t)bc->cpu);
			}
			if (bc->known)
				ac->cur = bc->cur;
		} else {
			/* still unresolved: a's prefix, then b's */
			for (uint32_t k = 0; !r && k < bc->npre; k++) {
				struct an_ev ev = {.kind = bc->pre[k].kind, .name = bc->pre[k].name,
						   .ts = bc->pre[k].ts, .ret = bc->pre[k].ret};
				r = cpu_prefix_push(ac, &ev);
			}
			ac->pre_uncertain |= bc->pre_uncertain;
			if (bc->known) {
				ac->known = true;
				ac->cur = bc->cur;
			}
		}
	}
	if (!r)
		r = an_partial_merge_into(a, b);
	if (!r)
		r = an_cpu_merge(a, b);
	if (!r) {
		a->events += b->events;
		a->chunks += b->chunks;
		a->lost += b->lost;
		/* rotation chunks can overlap in time: the union of the ranges */
		if (b->has_range) {
			if (!a->has_range || b->first_ts < a->first_ts)
				a->first_ts = b->first_ts;
			if (!a->has_range || b->last_ts > a->last_ts)
				a->last_ts = b->last_ts;
			a->has_range = true;
		}
	}
	an_partial_destroy(b);
	return r;
}
