/* SPDX-License-Identifier: MIT */
/*
 * `reel analyze io` (doc/analysis.md, "I/O"): the I/O log of a partial and
 * the report replayed from it.
 *
 * Map: each chunk keeps its I/O-relevant events in time order (I/O syscall
 * entries and exits with their thread where the chunk knows it, forks,
 * statedump threads and fds, and each CPU's task at the chunk's end).
 * Reduce: logs are concatenated in chunk order (associative). Report: one
 * pass over the log applies the fd model (fd tables per process, shared
 * by threads, copied at fork; open, dup, close) and counts bytes at each
 * I/O syscall's exit, so chunked and sequential give the same numbers.
 * `reel analyze fd` (an_report_fd) runs the same replay, watching one
 * (process, fd): each change the model makes to it is an interval's end
 * or beginning.
 *
 * Owns the I/O log and its report; calls nothing outside src/analysis.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

uint8_t an_io_kind(const char *n)
{
	static const struct {
		const char *name;
		uint8_t kind;
	} k[] = {
		{"read", AN_IO_READ},       {"readv", AN_IO_READ},      {"pread64", AN_IO_READ},
		{"preadv", AN_IO_READ},     {"recvfrom", AN_IO_READ},   {"recvmsg", AN_IO_READ},
		{"write", AN_IO_WRITE},     {"writev", AN_IO_WRITE},    {"pwrite64", AN_IO_WRITE},
		{"pwritev", AN_IO_WRITE},   {"sendto", AN_IO_WRITE},    {"sendmsg", AN_IO_WRITE},
		{"open", AN_IO_OPEN},       {"openat", AN_IO_OPEN},     {"creat", AN_IO_OPEN},
		{"close", AN_IO_CLOSE},     {"dup", AN_IO_DUP},         {"dup2", AN_IO_DUP2},
		{"dup3", AN_IO_DUP2},       {"fcntl", AN_IO_FCNTL},     {"sendfile64", AN_IO_RW2},
		{"splice", AN_IO_RW2},
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (!strcmp(n, k[i].name))
			return k[i].kind;
	return AN_IO_NONE;
}

void an_io_free(struct an_iolog *l)
{
	free(l->v);
	free(l->pool);
	memset(l, 0, sizeof(*l));
}

static struct an_iorec *rec_push(struct an_iolog *l)
{
	if (l->n == l->cap) {
		if (l->cap >= (1u << 30))
			return NULL;
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		struct an_iorec *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	struct an_iorec *r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->str = UINT32_MAX;
	return r;
}

/* Copy len bytes (cut at a NUL) into the pool; *ret_off its offset. */
static int pool_add(struct an_iolog *l, const char *s, size_t len, uint32_t *ret_off)
{
	len = strnlen(s, len);
	if (l->plen + len + 1 > UINT32_MAX)
		return -ENOMEM;
	if (l->plen + len + 1 > l->pcap) {
		size_t cap = l->pcap ? l->pcap : 1024;
		while (cap < l->plen + len + 1)
			cap *= 2;
		char *p = realloc(l->pool, cap);
		if (!p)
			return -ENOMEM;
		l->pool = p;
		l->pcap = cap;
	}
	memcpy(l->pool + l->plen, s, len);
	l->pool[l->plen + len] = 0;
	*ret_off = (uint32_t)l->plen;
	l->plen += len + 1;
	return 0;
}

int an_io_feed(struct an_partial *p, const struct an_ev *ev)
{
	struct an_iolog *l = &p->io;
	struct an_iorec *r;
	switch (ev->kind) {
	case AN_EV_SYS_ENTRY:
	case AN_EV_SYS_EXIT: {
		if (ev->io == AN_IO_NONE && !(p->flags & AN_PHASES))
			return 0;
		/* the thread as the syscall model finds it */
		int64_t tid = -1;
		if (ev->tid >= 0 && !(p->flags & AN_CPU_ATTRIBUTION)) {
			tid = ev->tid;
		} else {
			const struct an_cpu *c = an_tab_find(&p->cpus, (uint64_t)ev->cpu);
			if (c && c->known) {
				if (c->cur <= 0)
					return 0; /* idle */
				tid = c->cur;
			}
		}
		uint32_t off = UINT32_MAX;
		if (ev->kind == AN_EV_SYS_ENTRY && ev->io == AN_IO_OPEN && pool_add(l, ev->s1 ? ev->s1 : "", ev->s1 ? ev->l1 : 0, &off))
			return -ENOMEM;
		if (!(r = rec_push(l)))
			return -ENOMEM;
		r->type = ev->kind == AN_EV_SYS_ENTRY ? AN_IOR_ENTRY : AN_IOR_EXIT;
		r->io = ev->io;
		r->cpu = ev->cpu;
		r->name = ev->name;
		r->ts = ev->ts;
		r->tid = tid;
		r->str = off;
		if (ev->kind == AN_EV_SYS_ENTRY) {
			r->a = ev->a;
			r->b = ev->b;
		} else {
			r->a = ev->ret;
		}
		return 0;
	}
	case AN_EV_FORK:
		if (!(r = rec_push(l)))
			return -ENOMEM;
		*r = (struct an_iorec){.type = AN_IOR_FORK, .cpu = ev->cpu, .str = UINT32_MAX, .ts = ev->ts,
				       .a = ev->a, .b = ev->b, .c = ev->c};
		return 0;
	case AN_EV_SD_PROC:
		if (!(r = rec_push(l)))
			return -ENOMEM;
		*r = (struct an_iorec){.type = AN_IOR_SDPROC, .cpu = ev->cpu, .str = UINT32_MAX, .ts = ev->ts,
				       .a = ev->a, .b = ev->b};
		return 0;
	case AN_EV_SD_FD: {
		uint32_t off;
		if (pool_add(l, ev->s1 ? ev->s1 : "", ev->s1 ? ev->l1 : 0, &off) || !(r = rec_push(l)))
			return -ENOMEM;
		*r = (struct an_iorec){.type = AN_IOR_SDFD, .cpu = ev->cpu, .str = off, .ts = ev->ts,
				       .a = ev->a, .b = ev->b};
		return 0;
	}
	case AN_EV_MARK: {
		if (!(p->flags & AN_PHASES))
			return 0;
		uint32_t off = UINT32_MAX;
		if ((ev->a & AN_MARK_BEGIN) && ev->s1 && pool_add(l, ev->s1, ev->l1, &off))
			return -ENOMEM;
		if (!(r = rec_push(l)))
			return -ENOMEM;
		*r = (struct an_iorec){.type = AN_IOR_MARK, .cpu = ev->cpu, .str = off, .ts = ev->ts,
				       .tid = ev->tid, .a = ev->a};
		return 0;
	}
	default:
		return 0;
	}
}

int an_io_end_chunk(struct an_partial *p)
{
	/* the task each CPU runs, for the next chunk's events before its
	 * first sched_switch there */
	for (uint32_t i = 0; i < p->cpus.n; i++) {
		const struct an_cpu *c = an_tab_at(&p->cpus, i);
		if (!c->known)
			continue;
		struct an_iorec *r = rec_push(&p->io);
		if (!r)
			return -ENOMEM;
		*r = (struct an_iorec){.type = AN_IOR_CPU, .cpu = (int32_t)c->cpu, .str = UINT32_MAX,
				       .ts = p->last_ts, .tid = c->cur};
	}
	return 0;
}

/* a's log · b's log. Rotation chunks can overlap in time (a chunk's
 * statedump is stamped at the rotation, while the previous chunk still gets
 * the events written after it), so the logs are merged by time, ties to a:
 * the order of the chunks read as one trace (associative: a stable merge).
 * b's records with no thread (tid -1: before b's first sched_switch on
 * their CPU) get the task a's CPU ran last here, before the merge can put
 * them ahead of a's CPU records; call before a's CPUs take b's. */
int an_io_append(struct an_partial *a, const struct an_partial *b)
{
	const struct an_iolog *s = &b->io;
	struct an_iolog *d = &a->io;
	if (!s->n)
		return 0;
	if (d->plen + s->plen > UINT32_MAX || (uint64_t)d->n + s->n > (1u << 30))
		return -ENOMEM;
	struct an_iorec *t = malloc(s->n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	uint32_t nt = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		struct an_iorec r = s->v[i];
		if (r.str != UINT32_MAX)
			r.str += (uint32_t)d->plen;
		if (r.tid < 0 && (r.type == AN_IOR_ENTRY || r.type == AN_IOR_EXIT)) {
			const struct an_cpu *c = an_tab_find(&a->cpus, (uint64_t)(int64_t)r.cpu);
			if (c && c->known) {
				if (c->cur <= 0)
					continue; /* idle */
				r.tid = c->cur;
			}
		}
		t[nt++] = r;
	}
	if (s->plen) {
		if (d->plen + s->plen > d->pcap) {
			size_t cap = d->plen + s->plen;
			char *p = realloc(d->pool, cap);
			if (!p) {
				free(t);
				return -ENOMEM;
			}
			d->pool = p;
			d->pcap = cap;
		}
		memcpy(d->pool + d->plen, s->pool, s->plen);
	}
	if (d->n + nt > d->cap) {
		uint32_t cap = d->n + nt;
		struct an_iorec *v = realloc(d->v, cap * sizeof(*v));
		if (!v) {
			free(t);
			return -ENOMEM;
		}
		d->v = v;
		d->cap = cap;
	}
	/* from the back: only a's records later than b's first move */
	int64_t i = (int64_t)d->n - 1, j = (int64_t)nt - 1, w = (int64_t)d->n + nt - 1;
	while (j >= 0) {
		if (i >= 0 && d->v[i].ts > t[j].ts)
			d->v[w--] = d->v[i--];
		else
			d->v[w--] = t[j--];
	}
	d->n += nt;
	d->plen += s->plen;
	free(t);
	return 0;
}

/* ---- the replay --------------------------------------------------------- */

#define FD_MAX (1 << 20) /* fds above are not modelled */
#define FILE_UNKNOWN UINT32_MAX

struct io_thread {
	int64_t tid;
	bool open;
	uint32_t ent; /* its open I/O syscall's entry (log index) */
	uint64_t rd, wr;
	bool counted;
};

struct io_fdt {
	uint32_t *f; /* f[fd]: file + 1, 0: not open */
	uint32_t n;
};

struct io_file {
	uint32_t file;
	int64_t pid;
	uint64_t rd, wr;
};

struct io_lat {
	int64_t ts, dur, tid, pid, fd, ret;
	uint32_t name, file;
};

/* How the watched fd (an_report_fd) got or lost its file. */
enum { HOW_SD = 1, HOW_OPEN, HOW_DUP, HOW_FORK, HOW_CLOSE };
enum { END_TRACE, END_CLOSE, END_REPLACED };

struct fd_cause {
	uint8_t how;
	int64_t ts, tid, from; /* from: the old fd (dup), the parent pid (fork) */
	uint32_t name;         /* the syscall (open, dup) */
};

struct fd_span {
	int64_t pid, fd;
	int64_t begin, end;
	uint32_t file;
	struct fd_cause open;
	uint8_t end_how;
	struct fd_cause close; /* END_CLOSE: close's; END_REPLACED: the next span's */
};

struct replay {
	const struct an_partial *p;
	/* an_report_fd: the history of fd wfd of process wpid; with
	 * watch_all (an_io_export), of every fd */
	bool watch, watch_all;
	int64_t wpid, wfd;
	struct fd_cause cause; /* of the fd_put() being made */
	struct fd_span *spans;
	size_t nspans, cspans;
	struct an_tab wopen;	       /* (pid, fd) -> index + 1 of its open span in spans */
	const struct an_io_sink *sink; /* an_io_export: every syscall of the log */
	struct an_names *files; /* file names */
	struct an_tab threads;  /* tid -> io_thread */
	struct an_tab pids;     /* tid -> pid (int64), from the log */
	struct an_tab fdts;     /* pid -> io_fdt */
	struct an_tab cpus;     /* cpu -> tid (int64) */
	struct an_tab stats;    /* (file, pid) -> io_file */
	struct io_lat *top;
	unsigned ntop, limit;
};

static int64_t pid_of(struct replay *rp, int64_t tid)
{
	const int64_t *p = an_tab_find(&rp->pids, (uint64_t)tid);
	if (p)
		return *p;
	/* a thread's pid does not change: the partial's knowledge at its end */
	const struct an_thread *t = an_tab_find(&rp->p->threads, (uint64_t)tid);
	return t && t->pid_set ? t->pid : tid;
}

static struct io_fdt *fdt_get(struct replay *rp, int64_t pid)
{
	return an_tab_get(&rp->fdts, (uint64_t)pid, NULL);
}

static uint32_t fd_file(struct replay *rp, int64_t pid, int64_t fd)
{
	const struct io_fdt *t = an_tab_find(&rp->fdts, (uint64_t)pid);
	if (!t || fd < 0 || fd >= t->n || !t->f[fd])
		return FILE_UNKNOWN;
	return t->f[fd] - 1;
}

static bool watched(const struct replay *rp, int64_t pid, int64_t fd)
{
	return rp->watch && (rp->watch_all || (pid == rp->wpid && fd == rp->wfd));
}

/* A watched fd changes from old to new (file + 1, 0: not open). */
static int watch_change(struct replay *rp, int64_t pid, int64_t fd, uint32_t old, uint32_t new)
{
	const struct fd_cause *c = &rp->cause;
	if (old == new && (c->how == HOW_SD || (c->how == HOW_DUP && c->from == fd)))
		return 0; /* restated by a statedump, dup2(fd, fd) */
	/* pids below 2^43, fds below FD_MAX = 2^20 */
	uint32_t *open = an_tab_get(&rp->wopen, (uint64_t)pid << 20 | (uint64_t)fd, NULL);
	if (!open)
		return -ENOMEM;
	if (*open) {
		struct fd_span *s = &rp->spans[*open - 1];
		s->end = c->ts;
		s->end_how = new ? END_REPLACED : END_CLOSE;
		s->close = *c;
		*open = 0;
	}
	if (!new)
		return 0;
	if (rp->nspans == rp->cspans) {
		size_t cap = rp->cspans ? rp->cspans * 2 : 8;
		struct fd_span *v = realloc(rp->spans, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rp->spans = v;
		rp->cspans = cap;
	}
	rp->spans[rp->nspans++] =
		(struct fd_span){.pid = pid, .fd = fd, .begin = c->ts, .file = new - 1, .open = *c};
	*open = (uint32_t)rp->nspans;
	return 0;
}

static int fd_put(struct replay *rp, int64_t pid, int64_t fd, uint32_t file)
{
	if (fd < 0 || fd >= FD_MAX)
		return 0;
	if (watched(rp, pid, fd)) {
		int r = watch_change(rp, pid, fd, fd_file(rp, pid, fd) + 1,
				     file == FILE_UNKNOWN ? 0 : file + 1);
		if (r)
			return r;
	}
	struct io_fdt *t = fdt_get(rp, pid);
	if (!t)
		return -ENOMEM;
	if (fd >= t->n) {
		uint32_t n = t->n ? t->n : 16;
		while (n <= fd)
			n *= 2;
		uint32_t *f = realloc(t->f, n * sizeof(*f));
		if (!f)
			return -ENOMEM;
		memset(f + t->n, 0, (n - t->n) * sizeof(*f));
		t->f = f;
		t->n = n;
	}
	t->f[fd] = file == FILE_UNKNOWN ? 0 : file + 1;
	return 0;
}

static int count(struct replay *rp, int64_t tid, int64_t pid, int64_t fd, int64_t bytes, bool wr)
{
	struct io_thread *t = an_tab_get(&rp->threads, (uint64_t)tid, NULL);
	if (!t)
		return -ENOMEM;
	t->tid = tid;
	t->counted = true;
	*(wr ? &t->wr : &t->rd) += (uint64_t)bytes;
	uint32_t file = fd_file(rp, pid, fd);
	bool fresh;
	struct io_file *f = an_tab_get(&rp->stats, (uint64_t)file << 32 | (uint32_t)pid, &fresh);
	if (!f)
		return -ENOMEM;
	if (fresh) {
		f->file = file;
		f->pid = pid;
	}
	*(wr ? &f->wr : &f->rd) += (uint64_t)bytes;
	return 0;
}

/* Slowest first; ties by time, then thread: a total order. */
static int lat_cmp(const struct io_lat *x, const struct io_lat *y)
{
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void lat_add(struct replay *rp, const struct io_lat *l)
{
	if (!rp->limit)
		return;
	if (rp->ntop == rp->limit && lat_cmp(l, &rp->top[rp->ntop - 1]) >= 0)
		return;
	unsigned i = rp->ntop < rp->limit ? rp->ntop++ : rp->ntop - 1;
	while (i > 0 && lat_cmp(l, &rp->top[i - 1]) < 0) {
		rp->top[i] = rp->top[i - 1];
		i--;
	}
	rp->top[i] = *l;
}

static int file_of_str(struct replay *rp, uint32_t off, uint32_t *ret)
{
	const char *s = off == UINT32_MAX ? "" : rp->p->io.pool + off;
	uint32_t id = an_names_intern(rp->files, s, strlen(s));
	if (id == UINT32_MAX)
		return -ENOMEM;
	*ret = id;
	return 0;
}

/* A syscall of the log to the export's sink: entry (NULL: its exit has
 * none) to exit (NULL: none), l its thread, fd and file. */
static int sys_out(struct replay *rp, const struct an_iorec *en, const struct an_iorec *ex,
		   const struct io_lat *l, uint8_t io, int64_t bytes)
{
	if (!rp->sink)
		return 0;
	struct an_io_sys s = {.name = (en ? en : ex)->name,
			      .io = io,
			      .tid = l->tid,
			      .pid = l->pid,
			      .entry_ts = en ? en->ts : -1,
			      .exit_ts = ex ? ex->ts : -1,
			      .ret = ex ? ex->a : 0,
			      .fd = l->fd,
			      .bytes = bytes};
	if (l->file != FILE_UNKNOWN)
		s.file = an_names_get(rp->files, l->file);
	return rp->sink->syscall(rp->sink->ctx, &s);
}

/* An I/O syscall's exit: its effect on the fd table, its bytes, its latency. */
static int io_exit(struct replay *rp, int64_t tid, const struct an_iorec *en, const struct an_iorec *ex)
{
	int64_t pid = pid_of(rp, tid);
	int64_t ret = ex->a;
	struct io_lat l = {.ts = en->ts, .dur = ex->ts - en->ts, .tid = tid, .pid = pid, .fd = en->a,
			   .ret = ret, .name = en->name, .file = FILE_UNKNOWN};
	int r = 0;
	switch (en->io) {
	case AN_IO_READ:
	case AN_IO_WRITE:
		l.file = fd_file(rp, pid, en->a);
		if (ret > 0)
			r = count(rp, tid, pid, en->a, ret, en->io == AN_IO_WRITE);
		break;
	case AN_IO_RW2:
		l.file = fd_file(rp, pid, en->a);
		if (ret > 0) {
			r = count(rp, tid, pid, en->a, ret, false);
			r = r ? r : count(rp, tid, pid, en->b, ret, true);
		}
		break;
	case AN_IO_OPEN: {
		uint32_t f;
		if ((r = file_of_str(rp, en->str, &f)))
			return r;
		rp->cause = (struct fd_cause){.how = HOW_OPEN, .ts = ex->ts, .tid = tid, .name = en->name};
		l.file = f;
		l.fd = ret;
		if (ret >= 0)
			r = fd_put(rp, pid, ret, f);
		break;
	}
	case AN_IO_CLOSE:
		l.file = fd_file(rp, pid, en->a);
		rp->cause = (struct fd_cause){.how = HOW_CLOSE, .ts = ex->ts, .tid = tid, .name = en->name};
		if (ret == 0)
			r = fd_put(rp, pid, en->a, FILE_UNKNOWN);
		break;
	case AN_IO_FCNTL:
		if (en->b != 0 && en->b != 1030) { /* F_DUPFD, F_DUPFD_CLOEXEC */
			l.file = fd_file(rp, pid, en->a);
			return sys_out(rp, en, ex, &l, AN_IO_NONE, -1);
		}
		/* fallthrough */
	case AN_IO_DUP:
	case AN_IO_DUP2:
		l.file = fd_file(rp, pid, en->a);
		l.fd = ret;
		rp->cause = (struct fd_cause){.how = HOW_DUP, .ts = ex->ts, .tid = tid, .from = en->a, .name = en->name};
		if (ret >= 0)
			r = fd_put(rp, pid, ret, l.file);
		break;
	default:
		l.fd = -1;
		return sys_out(rp, en, ex, &l, AN_IO_NONE, -1);
	}
	if (!r) {
		lat_add(rp, &l);
		bool rw = en->io == AN_IO_READ || en->io == AN_IO_WRITE || en->io == AN_IO_RW2;
		r = sys_out(rp, en, ex, &l, en->io, rw && ret > 0 ? ret : -1);
	}
	return r;
}

/* A syscall of the log whose entry or exit the trace does not hold: an
 * entry replaced by another entry or open at the end (ex NULL), an exit
 * with no entry (en NULL). */
static int sys_half(struct replay *rp, int64_t tid, const struct an_iorec *en,
		    const struct an_iorec *ex)
{
	if (!rp->sink)
		return 0;
	const struct an_iorec *e = en ? en : ex;
	int64_t pid = pid_of(rp, tid);
	struct io_lat l = {.tid = tid, .pid = pid, .fd = -1, .file = FILE_UNKNOWN};
	uint8_t io = e->io;
	if (en && (io == AN_IO_READ || io == AN_IO_WRITE || io == AN_IO_RW2 || io == AN_IO_CLOSE ||
		   io == AN_IO_DUP || io == AN_IO_DUP2 ||
		   (io == AN_IO_FCNTL && (en->b == 0 || en->b == 1030)))) {
		l.fd = en->a;
		l.file = fd_file(rp, pid, en->a);
	} else if (en && io == AN_IO_OPEN) {
		int r = file_of_str(rp, en->str, &l.file);
		if (r)
			return r;
	} else if (io == AN_IO_FCNTL) {
		io = AN_IO_NONE;
	}
	return sys_out(rp, en, ex, &l, io, -1);
}

static int replay_one(struct replay *rp, uint32_t i)
{
	const struct an_iorec *e = &rp->p->io.v[i];
	int64_t tid = e->tid;
	switch (e->type) {
	case AN_IOR_CPU: {
		int64_t *c = an_tab_get(&rp->cpus, (uint64_t)(int64_t)e->cpu, NULL);
		if (!c)
			return -ENOMEM;
		*c = e->tid;
		return 0;
	}
	case AN_IOR_SDPROC: {
		int64_t *p = an_tab_get(&rp->pids, (uint64_t)e->a, NULL);
		if (!p)
			return -ENOMEM;
		*p = e->b;
		return 0;
	}
	case AN_IOR_SDFD: {
		uint32_t f;
		int r = file_of_str(rp, e->str, &f);
		rp->cause = (struct fd_cause){.how = HOW_SD, .ts = e->ts, .tid = -1};
		return r ? r : fd_put(rp, e->a, e->b, f);
	}
	case AN_IOR_FORK: {
		int64_t *p = an_tab_get(&rp->pids, (uint64_t)e->b, NULL);
		if (!p)
			return -ENOMEM;
		*p = e->c;
		if (e->c == e->a)
			return 0; /* a thread: shares its process's table */
		/* a process: a copy of its parent's table */
		struct io_fdt *pt = an_tab_find(&rp->fdts, (uint64_t)e->a);
		uint32_t n = pt ? pt->n : 0;
		uint32_t *copy = NULL;
		if (n) {
			copy = malloc(n * sizeof(*copy));
			if (!copy)
				return -ENOMEM;
			memcpy(copy, pt->f, n * sizeof(*copy));
		}
		struct io_fdt *ct = fdt_get(rp, e->c);
		if (!ct) {
			free(copy);
			return -ENOMEM;
		}
		if (rp->watch && (rp->watch_all || e->c == rp->wpid)) {
			rp->cause = (struct fd_cause){.how = HOW_FORK, .ts = e->ts, .tid = e->b, .from = e->a};
			int64_t w = rp->watch_all ? 0 : rp->wfd,
				last = rp->watch_all ? (int64_t)(n > ct->n ? n : ct->n) - 1 : w;
			for (; w >= 0 && w <= last; w++) {
				int r = watch_change(rp, e->c, w, w < ct->n ? ct->f[w] : 0,
						     w < n ? copy[w] : 0);
				if (r) {
					free(copy);
					return r;
				}
			}
		}
		free(ct->f);
		ct->f = copy;
		ct->n = n;
		return 0;
	}
	case AN_IOR_ENTRY:
	case AN_IOR_EXIT: {
		if (tid < 0) {
			const int64_t *c = an_tab_find(&rp->cpus, (uint64_t)(int64_t)e->cpu);
			if (!c || *c <= 0)
				return 0; /* the CPU's task is not known, or idle */
			tid = *c;
		}
		struct io_thread *t = an_tab_get(&rp->threads, (uint64_t)tid, NULL);
		if (!t)
			return -ENOMEM;
		t->tid = tid;
		if (e->type == AN_IOR_ENTRY) {
			if (t->open) {
				uint32_t ent = t->ent;
				int r = sys_half(rp, tid, &rp->p->io.v[ent], NULL);
				if (r)
					return r;
			}
			t->open = true;
			t->ent = i;
			return 0;
		}
		if (!t->open)
			return sys_half(rp, tid, NULL, e);
		t->open = false;
		uint32_t ent = t->ent;
		return io_exit(rp, tid, &rp->p->io.v[ent], e);
	}
	default:
		return 0;
	}
}

/* ---- output -------------------------------------------------------------- */

struct trow {
	int64_t tid, pid;
	uint64_t rd, wr;
};

static int cmp_trow(const void *a, const void *b)
{
	const struct trow *x = a, *y = b;
	if (x->rd + x->wr != y->rd + y->wr)
		return x->rd + x->wr > y->rd + y->wr ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

struct frow {
	uint32_t file;
	int64_t pid; /* the process, for unknown files */
	uint64_t rd, wr;
};

static int cmp_frow(const void *a, const void *b, void *arg)
{
	const struct frow *x = a, *y = b;
	if (x->rd + x->wr != y->rd + y->wr)
		return x->rd + x->wr > y->rd + y->wr ? -1 : 1;
	if (x->file != y->file) {
		if (x->file == FILE_UNKNOWN || y->file == FILE_UNKNOWN)
			return x->file == FILE_UNKNOWN ? 1 : -1;
		return strcmp(an_names_get(arg, x->file), an_names_get(arg, y->file));
	}
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_fpid(const void *a, const void *b)
{
	const struct io_file *x = *(const struct io_file *const *)a, *y = *(const struct io_file *const *)b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static const char *comm_of(const struct an_partial *p, int64_t tid)
{
	const struct an_thread *t = an_tab_find(&p->threads, (uint64_t)tid);
	return t && t->comm_set ? t->comm : "?";
}

static void size_str(char *b, size_t n, uint64_t v)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double d = (double)v;
	int i = 0;
	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	if (i)
		snprintf(b, n, "%.2f %s", d, u[i]);
	else
		snprintf(b, n, "%" PRIu64 " B", v);
}

static void print(const struct replay *rp, FILE *f, bool json, struct trow *th, size_t nth,
		  struct trow *pr, size_t npr, struct frow *fi, size_t nfi, const struct io_file **byfile)
{
	const struct an_partial *p = rp->p;
	size_t lim = rp->limit;
	const char *unk = "unknown";
	if (json) {
		fprintf(f, "{\"analysis\":\"io\",\"events\":%" PRIu64 ",\"chunks\":%" PRIu64
			   ",\"lost_events\":%" PRIu64 ",\"uncertain\":%s,\"threads\":[",
			p->events, p->chunks, p->lost, p->lost ? "true" : "false");
		for (size_t i = 0; i < nth && i < lim; i++) {
			fprintf(f, "%s{\"tid\":%" PRId64 ",\"pid\":%" PRId64 ",\"comm\":", i ? "," : "", th[i].tid,
				th[i].pid);
			an_json_str(f, comm_of(p, th[i].tid));
			fprintf(f, ",\"read\":%" PRIu64 ",\"write\":%" PRIu64 "}", th[i].rd, th[i].wr);
		}
		fputs("],\"processes\":[", f);
		for (size_t i = 0; i < npr && i < lim; i++) {
			fprintf(f, "%s{\"pid\":%" PRId64 ",\"comm\":", i ? "," : "", pr[i].pid);
			an_json_str(f, comm_of(p, pr[i].pid));
			fprintf(f, ",\"read\":%" PRIu64 ",\"write\":%" PRIu64 "}", pr[i].rd, pr[i].wr);
		}
		fputs("],\"files\":[", f);
		size_t k = 0;
		for (size_t i = 0; i < nfi && i < lim; i++) {
			fprintf(f, "%s{\"name\":", i ? "," : "");
			if (fi[i].file == FILE_UNKNOWN)
				fputs("null", f);
			else
				an_json_str(f, an_names_get(rp->files, fi[i].file));
			fprintf(f, ",\"read\":%" PRIu64 ",\"write\":%" PRIu64 ",\"processes\":[", fi[i].rd, fi[i].wr);
			/* byfile: grouped in the order of fi, the processes of each */
			while (byfile[k] && (byfile[k]->file != fi[i].file ||
					     (fi[i].file == FILE_UNKNOWN && byfile[k]->pid != fi[i].pid)))
				k++;
			for (bool first = true; byfile[k] && byfile[k]->file == fi[i].file &&
						(fi[i].file != FILE_UNKNOWN || byfile[k]->pid == fi[i].pid);
			     k++, first = false)
				fprintf(f, "%s{\"pid\":%" PRId64 ",\"read\":%" PRIu64 ",\"write\":%" PRIu64 "}",
					first ? "" : ",", byfile[k]->pid, byfile[k]->rd, byfile[k]->wr);
			fputs("]}", f);
		}
		fputs("],\"latencies\":[", f);
		for (unsigned i = 0; i < rp->ntop; i++) {
			const struct io_lat *l = &rp->top[i];
			fprintf(f, "%s{\"syscall\":", i ? "," : "");
			an_json_str(f, an_names_get(p->names, l->name));
			fprintf(f, ",\"tid\":%" PRId64 ",\"pid\":%" PRId64 ",\"comm\":", l->tid, l->pid);
			an_json_str(f, comm_of(p, l->tid));
			fprintf(f, ",\"fd\":%" PRId64 ",\"file\":", l->fd);
			if (l->file == FILE_UNKNOWN)
				fputs("null", f);
			else
				an_json_str(f, an_names_get(rp->files, l->file));
			fprintf(f, ",\"begin_ns\":%" PRId64 ",\"duration_ns\":%" PRId64 ",\"ret\":%" PRId64 "}",
				l->ts, l->dur, l->ret);
		}
		fputs("]}\n", f);
		return;
	}
	char b1[32], b2[32];
	fputs("Per-process I/O (bytes read and written by read/write syscalls, per thread)\n"
	      "####################################################################################\n", f);
	fprintf(f, "%-14s %-14s %s\n", "Read", "Write", "Process (pid, tid)");
	for (size_t i = 0; i < nth && i < lim; i++) {
		size_str(b1, sizeof(b1), th[i].rd);
		size_str(b2, sizeof(b2), th[i].wr);
		fprintf(f, "%-14s %-14s %s (%" PRId64 ", %" PRId64 ")\n", b1, b2, comm_of(p, th[i].tid), th[i].pid,
			th[i].tid);
	}
	fputs("\nPer-file I/O\n"
	      "####################################################################################\n", f);
	fprintf(f, "%-14s %-14s %s\n", "Read", "Write", "File");
	for (size_t i = 0; i < nfi && i < lim; i++) {
		size_str(b1, sizeof(b1), fi[i].rd);
		size_str(b2, sizeof(b2), fi[i].wr);
		if (fi[i].file == FILE_UNKNOWN)
			fprintf(f, "%-14s %-14s %s (pid %" PRId64 ")\n", b1, b2, unk, fi[i].pid);
		else
			fprintf(f, "%-14s %-14s %s\n", b1, b2, an_names_get(rp->files, fi[i].file));
	}
	fputs("\nTop system call latencies (usec)\n"
	      "Begin                Duration (us)  Name             Ret      Process (pid, tid)       fd  File\n", f);
	for (unsigned i = 0; i < rp->ntop; i++) {
		const struct io_lat *l = &rp->top[i];
		fprintf(f, "%-20" PRId64 " %13.3f  %-16s %-8" PRId64 " %s (%" PRId64 ", %" PRId64 ")  %" PRId64 "  %s\n",
			l->ts, (double)l->dur / 1000.0, an_names_get(p->names, l->name), l->ret, comm_of(p, l->tid),
			l->pid, l->tid, l->fd, l->file == FILE_UNKNOWN ? unk : an_names_get(rp->files, l->file));
	}
	if (p->lost)
		fprintf(f, "\n%" PRIu64 " events lost: the numbers may be incomplete (uncertain)\n", p->lost);
}

/* The one replay of the log through the fd model, shared by the io and fd
 * reports. */
static int replay_run(struct replay *rp, const struct an_partial *p, unsigned limit)
{
	rp->p = p;
	rp->limit = limit;
	an_tab_init(&rp->threads, sizeof(struct io_thread));
	an_tab_init(&rp->pids, sizeof(int64_t));
	an_tab_init(&rp->fdts, sizeof(struct io_fdt));
	an_tab_init(&rp->cpus, sizeof(int64_t));
	an_tab_init(&rp->stats, sizeof(struct io_file));
	an_tab_init(&rp->wopen, sizeof(uint32_t));
	rp->files = an_names_new();
	rp->top = calloc(limit ? limit : 1, sizeof(*rp->top));
	if (!rp->files || !rp->top)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->io.n; i++) {
		int r = replay_one(rp, i);
		if (r)
			return r;
	}
	return 0;
}

static void replay_free(struct replay *rp)
{
	for (uint32_t i = 0; i < rp->fdts.n; i++)
		free(((struct io_fdt *)an_tab_at(&rp->fdts, i))->f);
	an_tab_free(&rp->threads);
	an_tab_free(&rp->pids);
	an_tab_free(&rp->fdts);
	an_tab_free(&rp->cpus);
	an_tab_free(&rp->stats);
	an_tab_free(&rp->wopen);
	an_names_destroy(rp->files);
	free(rp->top);
	free(rp->spans);
}

/* The report's tables: threads and processes (summed from their threads)
 * with bytes, files (known ones summed over processes, unknown ones per
 * process), each file's processes in the files' order; sorted. */
struct io_rows {
	struct trow *th, *pr;
	struct frow *fi;
	const struct io_file **byfile;
	size_t nth, npr, nfi;
};

static void io_rows_free(struct io_rows *t)
{
	free(t->th);
	free(t->pr);
	free(t->fi);
	free(t->byfile);
}

static int io_rows(struct replay *rp, struct io_rows *t)
{
	t->th = calloc(rp->threads.n + 1, sizeof(*t->th));
	t->pr = calloc(rp->threads.n + 1, sizeof(*t->pr));
	t->fi = calloc(rp->stats.n + 1, sizeof(*t->fi));
	t->byfile = calloc(rp->stats.n + 1, sizeof(*t->byfile));
	if (!t->th || !t->pr || !t->fi || !t->byfile)
		return -ENOMEM;
	struct trow *th = t->th, *pr = t->pr;
	struct frow *fi = t->fi;
	size_t nth = 0, npr = 0, nfi = 0;
	for (uint32_t i = 0; i < rp->threads.n; i++) {
		const struct io_thread *it = an_tab_at(&rp->threads, i);
		if (!it->counted)
			continue;
		th[nth++] = (struct trow){
			.tid = it->tid, .pid = pid_of(rp, it->tid), .rd = it->rd, .wr = it->wr};
	}
	for (size_t i = 0; i < nth; i++) {
		size_t k;
		for (k = 0; k < npr && pr[k].pid != th[i].pid; k++)
			;
		if (k == npr)
			pr[npr++] = (struct trow){.tid = th[i].pid, .pid = th[i].pid};
		pr[k].rd += th[i].rd;
		pr[k].wr += th[i].wr;
	}
	qsort(th, nth, sizeof(*th), cmp_trow);
	qsort(pr, npr, sizeof(*pr), cmp_trow);
	for (uint32_t i = 0; i < rp->stats.n; i++) {
		const struct io_file *st = an_tab_at(&rp->stats, i);
		size_t k;
		for (k = 0; k < nfi && !(fi[k].file == st->file &&
					 (st->file != FILE_UNKNOWN || fi[k].pid == st->pid));
		     k++)
			;
		if (k == nfi)
			fi[nfi++] = (struct frow){.file = st->file, .pid = st->pid};
		fi[k].rd += st->rd;
		fi[k].wr += st->wr;
	}
	qsort_r(fi, nfi, sizeof(*fi), cmp_frow, rp->files);
	size_t nb = 0;
	for (size_t k = 0; k < nfi; k++) {
		size_t first = nb;
		for (uint32_t i = 0; i < rp->stats.n; i++) {
			const struct io_file *st = an_tab_at(&rp->stats, i);
			if (st->file == fi[k].file &&
			    (st->file != FILE_UNKNOWN || st->pid == fi[k].pid))
				t->byfile[nb++] = st;
		}
		qsort(t->byfile + first, nb - first, sizeof(*t->byfile), cmp_fpid);
	}
	t->nth = nth;
	t->npr = npr;
	t->nfi = nfi;
	return 0;
}

int an_report_io(const struct an_partial *p, FILE *f, bool json, unsigned limit)
{
	struct replay rp = {0};
	struct io_rows t = {0};
	int r = replay_run(&rp, p, limit);
	if (!r)
		r = io_rows(&rp, &t);
	if (!r) {
		print(&rp, f, json, t.th, t.nth, t.pr, t.npr, t.fi, t.nfi, t.byfile);
		r = ferror(f) ? -EIO : 0;
	}
	replay_free(&rp);
	io_rows_free(&t);
	return r;
}

/* ---- an fd's history (`reel analyze fd`) --------------------------------- */

static const char *how_str(uint8_t how)
{
	switch (how) {
	case HOW_SD:
		return "statedump";
	case HOW_OPEN:
		return "open";
	case HOW_DUP:
		return "dup";
	case HOW_FORK:
		return "fork";
	default:
		return "close";
	}
}

static const char *end_str(uint8_t e)
{
	return e == END_CLOSE ? "close" : e == END_REPLACED ? "replaced" : "trace_end";
}

static void span_json(const struct replay *rp, FILE *f, const struct fd_span *s)
{
	const struct an_partial *p = rp->p;
	fprintf(f, "{\"begin_ns\":%" PRId64 ",\"end_ns\":%" PRId64 ",\"file\":", s->begin, s->end);
	an_json_str(f, an_names_get(rp->files, s->file));
	fprintf(f, ",\"how\":\"%s\"", how_str(s->open.how));
	if (s->open.how == HOW_OPEN || s->open.how == HOW_DUP) {
		fputs(",\"syscall\":", f);
		an_json_str(f, an_names_get(p->names, s->open.name));
	}
	if (s->open.how != HOW_SD)
		fprintf(f, ",\"tid\":%" PRId64, s->open.tid);
	if (s->open.how == HOW_DUP)
		fprintf(f, ",\"from_fd\":%" PRId64, s->open.from);
	if (s->open.how == HOW_FORK)
		fprintf(f, ",\"parent_pid\":%" PRId64, s->open.from);
	fprintf(f, ",\"end\":\"%s\"", end_str(s->end_how));
	if (s->end_how != END_TRACE) {
		fprintf(f, ",\"end_tid\":%" PRId64, s->close.tid);
		if (s->close.how != HOW_SD && s->close.how != HOW_FORK) {
			fputs(",\"end_syscall\":", f);
			an_json_str(f, an_names_get(p->names, s->close.name));
		}
	}
	fputc('}', f);
}

static void span_text(const struct replay *rp, FILE *f, const struct fd_span *s)
{
	const struct an_partial *p = rp->p;
	fprintf(f, "[%" PRId64 ", %" PRId64 ")  %s\n    opened: ", s->begin, s->end, an_names_get(rp->files, s->file));
	switch (s->open.how) {
	case HOW_SD:
		fputs("statedump (first known)", f);
		break;
	case HOW_OPEN:
		fprintf(f, "%s by tid %" PRId64, an_names_get(p->names, s->open.name), s->open.tid);
		break;
	case HOW_DUP:
		fprintf(f, "%s of fd %" PRId64 " by tid %" PRId64, an_names_get(p->names, s->open.name), s->open.from,
			s->open.tid);
		break;
	default:
		fprintf(f, "inherited at fork from pid %" PRId64 " (child tid %" PRId64 ")", s->open.from,
			s->open.tid);
		break;
	}
	fputs("\n    closed: ", f);
	if (s->end_how == END_TRACE)
		fputs("open at the end of the trace\n", f);
	else if (s->end_how == END_CLOSE)
		fprintf(f, "%s by tid %" PRId64 "\n", an_names_get(p->names, s->close.name), s->close.tid);
	else if (s->close.how == HOW_SD)
		fputs("replaced (statedump)\n", f);
	else if (s->close.how == HOW_FORK)
		fputs("replaced (fork)\n", f);
	else
		fprintf(f, "replaced by %s by tid %" PRId64 "\n", an_names_get(p->names, s->close.name), s->close.tid);
}

int an_report_fd(const struct an_partial *p, FILE *f, bool json, int64_t pid, int64_t fd, int at_mode, int64_t at)
{
	struct replay rp = {.watch = true, .wpid = pid, .wfd = fd};
	int r = replay_run(&rp, p, 0);
	if (r)
		goto out;
	int64_t end = p->has_range ? p->last_ts : 0;
	for (size_t i = 0; i < rp.nspans; i++)
		if (rp.spans[i].end_how == END_TRACE)
			rp.spans[i].end = end > rp.spans[i].begin ? end : rp.spans[i].begin;
	if (at_mode == AN_AT_REL)
		at += p->has_range ? p->first_ts : 0;
	/* the interval containing at: [begin, end), or [begin, ...) when open
	 * at the end of the trace */
	size_t lo = 0, hi = rp.nspans;
	if (at_mode != AN_AT_NONE) {
		for (lo = 0; lo < rp.nspans; lo++) {
			const struct fd_span *s = &rp.spans[lo];
			if (s->begin <= at && (at < s->end || s->end_how == END_TRACE))
				break;
		}
		hi = lo < rp.nspans ? lo + 1 : lo;
	}
	const struct an_thread *t = an_tab_find(&p->threads, (uint64_t)pid);
	const char *comm = t && t->comm_set ? t->comm : NULL;
	if (json) {
		fprintf(f, "{\"analysis\":\"fd\",\"events\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"lost_events\":%" PRIu64
			   ",\"uncertain\":%s,\"pid\":%" PRId64 ",\"comm\":",
			p->events, p->chunks, p->lost, p->lost ? "true" : "false", pid);
		if (comm)
			an_json_str(f, comm);
		else
			fputs("null", f);
		fprintf(f, ",\"fd\":%" PRId64 ",\"at\":", fd);
		if (at_mode != AN_AT_NONE)
			fprintf(f, "%" PRId64, at);
		else
			fputs("null", f);
		fputs(",\"intervals\":[", f);
		for (size_t i = lo; i < hi; i++) {
			if (i > lo)
				fputc(',', f);
			span_json(&rp, f, &rp.spans[i]);
		}
		fputs("]}\n", f);
	} else {
		fprintf(f, "fd %" PRId64 " of process %" PRId64 " (%s)", fd, pid, comm ? comm : "?");
		if (at_mode != AN_AT_NONE)
			fprintf(f, " at %" PRId64, at);
		fputs(lo < hi ? ":\n" : (at_mode != AN_AT_NONE ? ": not open then, as far as the trace shows\n" :
								  ": never open in the trace\n"),
		      f);
		for (size_t i = lo; i < hi; i++)
			span_text(&rp, f, &rp.spans[i]);
		if (p->lost)
			fprintf(f, "\n%" PRIu64 " events lost: the history may be incomplete (uncertain)\n", p->lost);
	}
	r = ferror(f) ? -EIO : 0;
out:
	replay_free(&rp);
	return r;
}

/* ---- export (sqlite.c) ---------------------------------------------------- */

int an_io_export(const struct an_partial *p, const struct an_io_sink *sink)
{
	struct replay rp = {.watch = true, .watch_all = true, .sink = sink};
	struct io_rows t = {0};
	int r = replay_run(&rp, p, 0);
	/* syscalls still open at the trace's end */
	for (uint32_t i = 0; !r && i < rp.threads.n; i++) {
		const struct io_thread *it = an_tab_at(&rp.threads, i);
		if (it->open)
			r = sys_half(&rp, it->tid, &p->io.v[it->ent], NULL);
	}
	if (!r)
		r = io_rows(&rp, &t);
	for (size_t i = 0; !r && i < t.nth; i++)
		r = sink->thread(sink->ctx, t.th[i].tid, t.th[i].pid, comm_of(p, t.th[i].tid),
				 t.th[i].rd, t.th[i].wr);
	for (size_t i = 0; !r && i < t.npr; i++)
		r = sink->process(sink->ctx, t.pr[i].pid, comm_of(p, t.pr[i].pid), t.pr[i].rd,
				  t.pr[i].wr);
	for (uint32_t i = 0; !r && i < rp.stats.n; i++) {
		const struct io_file *st = an_tab_at(&rp.stats, i);
		r = sink->file(sink->ctx,
			       st->file == FILE_UNKNOWN ? NULL : an_names_get(rp.files, st->file),
			       st->pid, st->rd, st->wr);
	}
	for (size_t i = 0; !r && i < rp.nspans; i++) {
		const struct fd_span *sp = &rp.spans[i];
		struct an_io_fd o = {.pid = sp->pid,
				     .fd = sp->fd,
				     .begin = sp->begin,
				     .end = -1,
				     .file = an_names_get(rp.files, sp->file),
				     .how = how_str(sp->open.how),
				     .tid = sp->open.how == HOW_SD ? -1 : sp->open.tid,
				     .from = -1,
				     .end_tid = -1,
				     .end_how = end_str(sp->end_how)};
		if (sp->open.how == HOW_OPEN || sp->open.how == HOW_DUP)
			o.syscall = an_names_get(p->names, sp->open.name);
		if (sp->open.how == HOW_DUP || sp->open.how == HOW_FORK)
			o.from = sp->open.from;
		if (sp->end_how != END_TRACE) {
			o.end = sp->end;
			o.end_tid = sp->close.tid;
			if (sp->close.how != HOW_SD && sp->close.how != HOW_FORK)
				o.end_syscall = an_names_get(p->names, sp->close.name);
		}
		r = sink->fd(sink->ctx, &o);
	}
	replay_free(&rp);
	io_rows_free(&t);
	return r;
}

/* ---- metrics (metrics.c) --------------------------------------------------- */

int an_io_visit_files(const struct an_partial *p, an_io_file_fn fn, void *arg)
{
	struct replay rp = {0};
	int r = replay_run(&rp, p, 0);
	for (uint32_t i = 0; !r && i < rp.stats.n; i++) {
		const struct io_file *s = an_tab_at(&rp.stats, i);
		r = fn(arg, s->file == FILE_UNKNOWN ? NULL : an_names_get(rp.files, s->file),
		       s->pid, comm_of(p, s->pid), s->rd, s->wr);
	}
	replay_free(&rp);
	return r;
}
