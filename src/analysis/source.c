/* SPDX-License-Identifier: MIT */
/*
 * The analyses' event source: libreel-reader's events as an_ev, a chunk
 * mapped into a partial, chunks mapped on a thread pool and reduced in
 * order, and the test mode that cuts one trace into chunks of N events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/analysis-local.h"
#include "reel/reader.h"

/* The fields the model reads, by kind (an_ev's a, b, c, s1, s2). */
enum { F_A, F_B, F_C, F_S1, F_S2, F_RET, F_N };

/* What the source knows of an event class, found once per class: its
 * kind, syscall name, and where its fields are (reader references). */
struct an_class {
	uint8_t kind;
	uint8_t io;        /* enum an_io_kind of a syscall; AN_MARK_* of a phase mark */
	uint8_t has;       /* bit i: ref[i] found; bits F_N, F_N + 1: cpu, tid */
	uint32_t name;
	uint32_t ref[F_N];
	uint32_t cpu, tid; /* packet context `cpu_id`, event context `tid` */
};

/* Field names of each kind, in F_* order (NULL: not read). */
static const char *const field_names[][F_N] = {
	[AN_EV_SYS_EXIT] = {[F_RET] = "ret"},
	[AN_EV_SWITCH] = {[F_A] = "next_tid", [F_S1] = "next_comm", [F_B] = "prev_tid"},
	[AN_EV_FORK] = {[F_A] = "parent_pid", [F_S1] = "parent_comm", [F_B] = "child_tid",
			[F_C] = "child_pid", [F_S2] = "child_comm"},
	[AN_EV_EXEC] = {[F_A] = "tid"},
	[AN_EV_SD_PROC] = {[F_A] = "tid", [F_B] = "pid", [F_S1] = "name"},
	[AN_EV_SD_FD] = {[F_A] = "pid", [F_B] = "fd", [F_C] = "flags", [F_S1] = "filename"},
	[AN_EV_WAKEUP] = {[F_A] = "tid"},
};

struct source {
	struct reel_reader *r;
	struct an_names *names;
	struct an_tab classes; /* class pointer -> an_class */
	struct an_partial *p;  /* where discarded events are counted */
	unsigned flags;        /* AN_IO: read the I/O syscalls' fields */
	char msg[512];         /* why the trace cannot be analysed ("": see r) */
	char num[32];          /* a phase mark's integer --by value, as text */
};

static void on_discarded(void *arg, const char *what, uint64_t count, bool has_range, int64_t begin_ns,
			 int64_t end_ns, const char *trace_path, const char *stream_path)
{
	(void)has_range, (void)begin_ns, (void)end_ns, (void)trace_path, (void)stream_path;
	struct source *s = arg;
	/* a lost packet: its events are unknown, count one at least */
	an_partial_lost(s->p, strcmp(what, "events") ? (count ? count : 1) : count);
}

static int source_open(struct source *s, char *const *paths, size_t n, struct an_names *names,
		       unsigned flags)
{
	memset(s, 0, sizeof(*s));
	s->names = names;
	s->flags = flags;
	an_tab_init(&s->classes, sizeof(struct an_class));
	s->r = reel_reader_new();
	if (!s->r)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		int r = reel_reader_add_path(s->r, paths[i]);
		if (r < 0)
			return r;
		/* phases: a session's (or chunk's) userspace traces beside its
		 * kernel trace */
		size_t len = strlen(paths[i]);
		struct stat st;
		char ust[4096];
		if ((flags & AN_PHASES) && len >= 7 && !strcmp(paths[i] + len - 7, "/kernel") &&
		    len + 4 < sizeof(ust)) {
			memcpy(ust, paths[i], len - 7);
			memcpy(ust + len - 7, "/ust", 5);
			if (!stat(ust, &st) && S_ISDIR(st.st_mode) && (r = reel_reader_add_path(s->r, ust)) < 0)
				return r;
		}
	}
	/* only what the model uses: the reader skims the others */
	/* with AN_CPU, also the wakeups, and exits for the time range (the
	 * trace's last event, as lttng-cputop) */
	const char *kn = (flags & AN_CPU) ?
		"syscall_entry_*,syscall_exit_*,sched_switch,sched_process_fork,sched_process_exec,"
		"sched_wakeup,sched_waking,sched_wakeup_new,sched_process_exit,"
		"lttng_statedump_process_state,lttng_statedump_file_descriptor" :
		"syscall_entry_*,syscall_exit_*,sched_switch,"
		"sched_process_fork,sched_process_exec,"
		"lttng_statedump_process_state,lttng_statedump_file_descriptor";
	char *sel = NULL;
	const char *b = an_names_phase(names, 0), *e = an_names_phase(names, 1);
	if ((flags & AN_PHASES) && b && e && asprintf(&sel, "%s,%s,%s", kn, b, e) < 0)
		return -ENOMEM;
	int r = reel_reader_set_names(s->r, sel ? sel : kn);
	free(sel);
	if (r)
		return r;
	reel_reader_on_discarded(s->r, on_discarded, s);
	return 0;
}

static void source_close(struct source *s)
{
	reel_reader_destroy(s->r);
	an_tab_free(&s->classes);
}

static const struct an_class *class_of(struct source *s, const struct reel_event *e)
{
	const void *key = reel_event_class(e);
	struct an_class *c = an_tab_find(&s->classes, (uint64_t)(uintptr_t)key);
	if (c)
		return c;
	bool fresh;
	c = an_tab_get(&s->classes, (uint64_t)(uintptr_t)key, &fresh);
	if (!c)
		return NULL;
	const char *n = reel_event_name(e);
	c->kind = AN_EV_OTHER;
	if (!strncmp(n, "syscall_entry_", 14)) {
		c->kind = AN_EV_SYS_ENTRY;
		c->name = an_names_intern(s->names, n + 14, strlen(n + 14));
	} else if (!strncmp(n, "syscall_exit_", 13)) {
		c->kind = AN_EV_SYS_EXIT;
		c->name = an_names_intern(s->names, n + 13, strlen(n + 13));
	} else if (!strcmp(n, "sched_switch")) {
		c->kind = AN_EV_SWITCH;
	} else if (!strcmp(n, "sched_process_fork")) {
		c->kind = AN_EV_FORK;
	} else if (!strcmp(n, "sched_process_exec")) {
		c->kind = AN_EV_EXEC;
	} else if (!strcmp(n, "lttng_statedump_process_state")) {
		c->kind = AN_EV_SD_PROC;
	} else if (!strcmp(n, "lttng_statedump_file_descriptor")) {
		c->kind = AN_EV_SD_FD;
	} else if (!strcmp(n, "sched_wakeup") || !strcmp(n, "sched_waking") || !strcmp(n, "sched_wakeup_new")) {
		c->kind = AN_EV_WAKEUP;
	} else if (s->flags & AN_PHASES) {
		const char *b = an_names_phase(s->names, 0), *en = an_names_phase(s->names, 1),
			   *by = an_names_phase(s->names, 2);
		uint8_t mark = (b && !strcmp(n, b) ? AN_MARK_BEGIN : 0) | (en && !strcmp(n, en) ? AN_MARK_END : 0);
		if (mark) {
			c->kind = AN_EV_MARK;
			c->io = mark;
			c->has = 0;
			if (reel_event_field_ref(e, REEL_SCOPE_EVENT_CONTEXT, "vtid", &c->tid)) {
				snprintf(s->msg, sizeof(s->msg),
					 "%s events have no vtid context: record with `reel add-context -u -t vtid`", n);
				return NULL;
			}
			c->has |= 1u << (F_N + 1);
			if ((mark & AN_MARK_BEGIN) && by) {
				if (reel_event_field_ref(e, REEL_SCOPE_PAYLOAD, by, &c->ref[F_S1])) {
					snprintf(s->msg, sizeof(s->msg), "%s has no field '%s' (--by)", n, by);
					return NULL;
				}
				c->has |= 1u << F_S1;
			}
			if (!reel_event_field_ref(e, REEL_SCOPE_PACKET_CONTEXT, "cpu_id", &c->cpu))
				c->has |= 1u << F_N;
			return c;
		}
	}
	if ((c->kind == AN_EV_SYS_ENTRY || c->kind == AN_EV_SYS_EXIT) && c->name == UINT32_MAX)
		return NULL;
	c->io = AN_IO_NONE;
	const char *const *fields = c->kind < sizeof(field_names) / sizeof(field_names[0]) ?
					    field_names[c->kind] : NULL;
	const char *io_fields[F_N] = {0};
	if ((c->kind == AN_EV_SYS_ENTRY || c->kind == AN_EV_SYS_EXIT) && (s->flags & AN_IO)) {
		c->io = an_io_kind(an_names_get(s->names, c->name));
		if (c->kind == AN_EV_SYS_ENTRY) {
			/* an I/O syscall's arguments (an_io_kind's fields) */
			const char *sn = n + 14;
			switch (c->io) {
			case AN_IO_READ:
			case AN_IO_WRITE:
			case AN_IO_CLOSE:
				io_fields[F_A] = "fd";
				break;
			case AN_IO_OPEN:
				io_fields[F_S1] = strcmp(sn, "creat") ? "filename" : "pathname";
				break;
			case AN_IO_DUP:
				io_fields[F_A] = "fildes";
				break;
			case AN_IO_DUP2:
				io_fields[F_A] = "oldfd";
				io_fields[F_B] = "newfd";
				break;
			case AN_IO_FCNTL:
				io_fields[F_A] = "fd";
				io_fields[F_B] = "cmd";
				break;
			case AN_IO_RW2:
				io_fields[F_A] = strcmp(sn, "splice") ? "in_fd" : "fd_in";
				io_fields[F_B] = strcmp(sn, "splice") ? "out_fd" : "fd_out";
				break;
			default:
				break;
			}
			fields = io_fields;
		}
	}
	c->has = 0;
	for (unsigned i = 0; i < F_N; i++) {
		const char *f = fields ? fields[i] : NULL;
		if (f && !reel_event_field_ref(e, REEL_SCOPE_PAYLOAD, f, &c->ref[i]))
			c->has |= 1u << i;
	}
	if (!reel_event_field_ref(e, REEL_SCOPE_PACKET_CONTEXT, "cpu_id", &c->cpu))
		c->has |= 1u << F_N;
	if ((c->kind == AN_EV_SYS_ENTRY || c->kind == AN_EV_SYS_EXIT) &&
	    !reel_event_field_ref(e, REEL_SCOPE_EVENT_CONTEXT, "tid", &c->tid))
		c->has |= 1u << (F_N + 1);
	return c;
}

static inline int64_t ref_int(const struct reel_event *e, const struct an_class *c, unsigned i,
			      int64_t dflt)
{
	int64_t v;
	return (c->has & (1u << i)) && !reel_event_ref_int(e, c->ref[i], &v) ? v : dflt;
}

static inline void ref_str(const struct reel_event *e, const struct an_class *c, unsigned i,
			   const char **s, size_t *len)
{
	if (!(c->has & (1u << i)) || reel_event_ref_str(e, c->ref[i], s, len)) {
		*s = "";
		*len = 0;
	}
}

/* Decode one reader event; 0 (ev filled), or -ENOMEM. Fields are read by
 * the references of their class, found at its first event. */
static int decode(struct source *s, const struct reel_event *e, struct an_ev *ev)
{
	const struct an_class *c = class_of(s, e);
	if (!c)
		return s->msg[0] ? -EINVAL : -ENOMEM;
	memset(ev, 0, sizeof(*ev));
	ev->kind = c->kind;
	ev->name = c->name;
	ev->io = c->io;
	reel_event_timestamp(e, &ev->ts);
	int64_t v;
	ev->cpu = (c->has & (1u << F_N)) && !reel_event_ref_int(e, c->cpu, &v) ? (int32_t)v : -1;
	ev->tid = (c->has & (1u << (F_N + 1))) && !reel_event_ref_int(e, c->tid, &v) ? v : -1;
	switch (c->kind) {
	case AN_EV_SYS_ENTRY:
		if (c->io != AN_IO_NONE) {
			ev->a = ref_int(e, c, F_A, -1);
			ev->b = ref_int(e, c, F_B, -1);
			ref_str(e, c, F_S1, &ev->s1, &ev->l1);
		}
		break;
	case AN_EV_SYS_EXIT:
		ev->ret = ref_int(e, c, F_RET, 0);
		break;
	case AN_EV_SWITCH:
		ev->a = ref_int(e, c, F_A, 0);
		ev->b = ref_int(e, c, F_B, 0);
		ref_str(e, c, F_S1, &ev->s1, &ev->l1);
		break;
	case AN_EV_WAKEUP:
		ev->a = ref_int(e, c, F_A, 0);
		break;
	case AN_EV_FORK:
		ev->a = ref_int(e, c, F_A, 0);
		ref_str(e, c, F_S1, &ev->s1, &ev->l1);
		ev->b = ref_int(e, c, F_B, 0);
		ev->c = ref_int(e, c, F_C, 0);
		ref_str(e, c, F_S2, &ev->s2, &ev->l2);
		break;
	case AN_EV_EXEC:
		ev->a = ref_int(e, c, F_A, 0);
		break;
	case AN_EV_MARK:
		ev->a = c->io;
		ev->io = AN_IO_NONE;
		if (c->has & (1u << F_S1)) {
			if (!reel_event_ref_int(e, c->ref[F_S1], &v)) {
				int len = snprintf(s->num, sizeof(s->num), "%" PRId64, v);
				ev->s1 = s->num;
				ev->l1 = (size_t)len;
			} else {
				ref_str(e, c, F_S1, &ev->s1, &ev->l1);
			}
		}
		break;
	case AN_EV_SD_PROC:
		ev->a = ref_int(e, c, F_A, 0);
		ev->b = ref_int(e, c, F_B, 0);
		ref_str(e, c, F_S1, &ev->s1, &ev->l1);
		break;
	case AN_EV_SD_FD:
		ev->a = ref_int(e, c, F_A, 0);
		ev->b = ref_int(e, c, F_B, 0);
		ev->c = ref_int(e, c, F_C, 0);
		ref_str(e, c, F_S1, &ev->s1, &ev->l1);
		break;
	default:
		break;
	}
	return 0;
}

static void set_err(char *err, size_t errlen, const char *what, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, detail);
}

/* Feed every event of the source to partials: a new one every `every`
 * events (0: never). The partials go to *ret_v (*ret_n of them). */
static int run_source(struct source *s, uint64_t every, unsigned flags, struct an_progress *prog,
		      struct an_partial ***ret_v, size_t *ret_n)
{
	struct an_partial **v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	uint64_t in_chunk = 0, pending = 0;
	const struct reel_event *e;
	s->p = NULL;
	for (;;) {
		if (!s->p) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				struct an_partial **nv = realloc(v, cap * sizeof(*nv));
				if (!nv) {
					r = -ENOMEM;
					break;
				}
				v = nv;
			}
			s->p = v[n++] = an_partial_new(s->names, flags);
			if (!s->p) {
				n--;
				r = -ENOMEM;
				break;
			}
			in_chunk = 0;
		}
		r = reel_reader_next(s->r, &e);
		if (r <= 0)
			break;
		struct an_ev ev;
		if ((r = decode(s, e, &ev)) || (r = an_partial_feed(s->p, &ev)))
			break;
		if (++pending == 4096 && prog) {
			__atomic_fetch_add(&prog->events, pending, __ATOMIC_RELAXED);
			pending = 0;
		}
		if (every && ++in_chunk == every) {
			if ((r = an_partial_end_chunk(s->p)))
				break;
			s->p = NULL;
		}
	}
	if (prog)
		__atomic_fetch_add(&prog->events, pending, __ATOMIC_RELAXED);
	if (!r && s->p)
		r = an_partial_end_chunk(s->p);
	s->p = NULL;
	if (r) {
		for (size_t i = 0; i < n; i++)
			an_partial_destroy(v[i]);
		free(v);
		return r;
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
}

int an_map_path(const char *path, struct an_names *names, unsigned flags, struct an_progress *prog,
		struct an_partial **ret, char *err, size_t errlen)
{
	struct source s;
	char *paths[] = {(char *)path};
	int r = source_open(&s, paths, 1, names, flags);
	struct an_partial **v = NULL;
	size_t n = 0;
	if (!r)
		r = run_source(&s, 0, flags, prog, &v, &n);
	if (r) {
		set_err(err, errlen, path, s.msg[0] ? s.msg : s.r && *reel_reader_error(s.r) ? reel_reader_error(s.r) : strerror(-r));
	} else {
		*ret = v[0];
		free(v);
		if (prog)
			__atomic_fetch_add(&prog->chunks, 1, __ATOMIC_RELAXED);
	}
	source_close(&s);
	return r;
}

/* Reduce v[lo..hi) as a balanced tree into v[lo]. */
static int reduce_tree(struct an_partial **v, size_t lo, size_t hi)
{
	if (hi - lo <= 1)
		return 0;
	size_t mid = lo + (hi - lo) / 2;
	int r = reduce_tree(v, lo, mid);
	int r2 = reduce_tree(v, mid, hi);
	if (r || r2) {
		return r ? r : r2;
	}
	r = an_partial_merge(v[lo], v[mid]);
	v[mid] = NULL;
	return r;
}

int an_map_cut(char *const *paths, size_t npaths, uint64_t every, struct an_names *names, unsigned flags,
	       struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen)
{
	struct source s;
	int r = source_open(&s, paths, npaths, names, flags);
	struct an_partial **v = NULL;
	size_t n = 0;
	if (!r)
		r = run_source(&s, every, flags, prog, &v, &n);
	if (r) {
		set_err(err, errlen, paths[0], s.msg[0] ? s.msg : s.r && *reel_reader_error(s.r) ? reel_reader_error(s.r) : strerror(-r));
		source_close(&s);
		return r;
	}
	source_close(&s);
	if (prog)
		__atomic_fetch_add(&prog->chunks, n, __ATOMIC_RELAXED);
	r = reduce_tree(v, 0, n);
	if (r) {
		for (size_t i = 0; i < n; i++)
			an_partial_destroy(v[i]);
		set_err(err, errlen, "reduce", strerror(-r));
	} else {
		*ret = v[0];
	}
	free(v);
	return r;
}

/* ---- chunks on a thread pool ---------------------------------------------- */

struct pool {
	char *const *chunks;
	size_t n;
	struct an_names *names;
	unsigned flags;
	struct an_progress *prog;
	pthread_mutex_t lock;
	pthread_cond_t done;
	size_t next;              /* next chunk to map */
	struct an_partial **out;  /* out[i]: chunk i's partial, once mapped */
	bool *ready;
	int error;
	char *err;
	size_t errlen;
};

static void *worker(void *arg)
{
	struct pool *pl = arg;
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		size_t i = pl->next < pl->n && !pl->error ? pl->next++ : SIZE_MAX;
		pthread_mutex_unlock(&pl->lock);
		if (i == SIZE_MAX)
			return NULL;
		struct an_partial *p = NULL;
		char msg[512] = "";
		int r = an_map_path(pl->chunks[i], pl->names, pl->flags, pl->prog, &p, msg, sizeof(msg));
		pthread_mutex_lock(&pl->lock);
		if (r && !pl->error) {
			pl->error = r;
			snprintf(pl->err, pl->errlen, "%s", msg);
		}
		pl->out[i] = p;
		pl->ready[i] = true;
		pthread_cond_broadcast(&pl->done);
		pthread_mutex_unlock(&pl->lock);
	}
}

int an_map_chunks(char *const *chunks, size_t n, unsigned threads, struct an_names *names, unsigned flags,
		  struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen)
{
	if (!n) {
		*ret = an_partial_new(names, flags);
		return *ret ? 0 : -ENOMEM;
	}
	if (threads < 1)
		threads = 1;
	if (threads > n)
		threads = (unsigned)n;
	struct pool pl = {.chunks = chunks, .n = n, .names = names, .flags = flags, .prog = prog,
			  .err = err, .errlen = errlen};
	pl.out = calloc(n, sizeof(*pl.out));
	pl.ready = calloc(n, sizeof(*pl.ready));
	pthread_t *tids = calloc(threads, sizeof(*tids));
	if (!pl.out || !pl.ready || !tids) {
		free(pl.out);
		free(pl.ready);
		free(tids);
		return -ENOMEM;
	}
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.done, NULL);
	unsigned started = 0;
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, worker, &pl))
			break;
	if (!started)
		worker(&pl);
	/* The reduce, in chunk order, as partials come. */
	struct an_partial *acc = NULL;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&pl.lock);
		while (!pl.ready[i] && !pl.error)
			pthread_cond_wait(&pl.done, &pl.lock);
		struct an_partial *p = pl.ready[i] ? pl.out[i] : NULL;
		pl.out[i] = NULL;
		r = pl.error;
		pthread_mutex_unlock(&pl.lock);
		if (r)
			break;
		if (!acc) {
			acc = p;
		} else if ((r = an_partial_merge(acc, p))) {
			set_err(err, errlen, "reduce", strerror(-r));
			pthread_mutex_lock(&pl.lock);
			pl.error = r;
			pthread_mutex_unlock(&pl.lock);
			break;
		}
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	for (size_t i = 0; i < n; i++)
		an_partial_destroy(pl.out[i]);
	free(pl.out);
	free(pl.ready);
	free(tids);
	pthread_mutex_destroy(&pl.lock);
	pthread_cond_destroy(&pl.done);
	if (r) {
		an_partial_destroy(acc);
		return r;
	}
	*ret = acc;
	return 0;
}
