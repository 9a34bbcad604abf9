/* SPDX-License-Identifier: MIT */
/*
 * The reader: finds traces under the given paths (rotated chunks included),
 * opens their metadata and streams, and merges every stream of every trace
 * in timestamp order with a binary heap. Event selection (names, time range,
 * filter expression) happens here, before formatting.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader-local.h"

#define ERRLEN 512

struct reel_reader {
	char err[ERRLEN];
	struct rtrace **traces;
	size_t ntraces;
	struct rstream **streams; /* all, in opening order */
	size_t nstreams;
	struct rstream **heap;
	size_t nheap;
	bool started;
	char **names;
	size_t nnames;
	struct filter *filter;
	bool has_range;
	bool no_values;
	bool has_first;
	const struct ctf_clock *first_clock, *last_clock;
	uint64_t first_cycles, last_cycles;
	int64_t begin_ns, end_ns;
	reel_discarded_fn on_discarded;
	void *on_discarded_arg;
	struct reel_event cur;
	/* summaries */
	const struct ctf_event_class **classes; /* by gindex */
	uint64_t *class_counts;
	uint32_t nclasses;
	bool summarized;
};

static int rfail(struct reel_reader *r, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rfail(struct reel_reader *r, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return e;
}

struct reel_reader *reel_reader_new(void)
{
	return calloc(1, sizeof(struct reel_reader));
}

static void trace_free(struct rtrace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nstreams; i++)
		rstream_close(t->streams[i]);
	free(t->streams);
	ctf_meta_free(t->meta);
	free(t->text_prefix);
	free(t->path);
	free(t);
}

void reel_reader_destroy(struct reel_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntraces; i++)
		trace_free(r->traces[i]);
	free(r->traces);
	free(r->streams);
	free(r->heap);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	filter_free(r->filter);
	free(r->classes);
	free(r->class_counts);
	free(r);
}

const char *reel_reader_error(const struct reel_reader *r)
{
	return r->err;
}

static int read_zst_file(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	void *m;
	uint64_t size;
	int e = zst_map(fd, (uint64_t)1 << 30, &m, &size);
	close(fd);
	if (e)
		return e;
	char *buf = malloc((size_t)size + 1);
	if (buf && size)
		memcpy(buf, m, (size_t)size);
	if (m)
		munmap(m, (size_t)size);
	if (!buf)
		return -ENOMEM;
	buf[size] = 0;
	*ret = buf;
	*ret_len = (size_t)size;
	return 0;
}

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	if (zst_name(path))
		return read_zst_file(path, ret, ret_len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (st.st_size > (off_t)1 << 30) {
		close(fd);
		return -EFBIG;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	*ret = buf;
	*ret_len = n;
	return 0;
}

static int load_meta(struct reel_reader *r, const char *path, struct ctf_meta **ret)
{
	char *text = NULL;
	size_t len = 0;
	int e = read_file(path, &text, &len);
	if (e)
		return rfail(r, e, "%s: %s", path, strerror(-e));
	char err[400] = "";
	struct ctf_meta *m = NULL;
	e = ctf_meta_parse(text, len, &m, err, sizeof(err));
	free(text);
	if (!e) {
		e = ctf_meta_compile(m, err, sizeof(err));
		if (e) {
			ctf_meta_free(m);
			m = NULL;
		}
	}
	if (e)
		return rfail(r, e, "%s: %s", path, err);
	*ret = m;
	return 0;
}

int reel_reader_check_metadata(struct reel_reader *r, const char *path)
{
	struct ctf_meta *m;
	int e = load_meta(r, path, &m);
	if (e)
		return e;
	ctf_meta_free(m);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory's entries (not "." and ".."). */
static int list_dir(const char *path, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int e = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				e = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n] = strdup(de->d_name);
		if (!v[n]) {
			e = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (e) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return e;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int push_ptr(void ***v, size_t *n, void *p)
{
	void **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = p;
	*v = nv;
	return 0;
}

/* A trace's metadata file: "metadata", or "metadata.zst" in a compressed
 * chunk. NULL: out of memory. */
static char *metadata_path(const char *dir)
{
	char *p;
	if (asprintf(&p, "%s/metadata", dir) < 0)
		return NULL;
	struct stat st;
	if (stat(p, &st) == 0)
		return p;
	free(p);
	if (asprintf(&p, "%s/metadata.zst", dir) < 0)
		return NULL;
	if (stat(p, &st) == 0)
		return p;
	free(p);
	return asprintf(&p, "%s/metadata", dir) < 0 ? NULL : p;
}

static int open_trace(struct reel_reader *r, const char *dir)
{
	struct rtrace *t = calloc(1, sizeof(*t));
	if (!t)
		return rfail(r, -ENOMEM, "out of memory");
	t->path = strdup(dir);
	if (!t->path) {
		trace_free(t);
		return rfail(r, -ENOMEM, "out of memory");
	}
	char *mp = metadata_path(dir);
	if (!mp) {
		trace_free(t);
		return rfail(r, -ENOMEM, "out of memory");
	}
	int e = load_meta(r, mp, &t->meta);
	free(mp);
	if (e) {
		trace_free(t);
		return e;
	}
	t->hostname = ctf_meta_env_string(t->meta, "hostname");
	t->procname = ctf_meta_env_string(t->meta, "procname");
	const struct ctf_env *vp = ctf_meta_env(t->meta, "vpid");
	if (vp && vp->is_int) {
		t->has_vpid = true;
		t->vpid = vp->i;
	}
	/* babeltrace2's "hostname:procname:(vpid) " */
	{
		char vpid[32] = "";
		if (t->has_vpid)
			snprintf(vpid, sizeof(vpid), "(%lld)", (long long)t->vpid);
		const char *parts[3] = { t->hostname, t->procname, t->has_vpid ? vpid : NULL };
		size_t len = 0;
		for (int i = 0; i < 3; i++)
			if (parts[i])
				len += strlen(parts[i]) + 1;
		t->text_prefix = malloc(len + 1);
		if (!t->text_prefix) {
			trace_free(t);
			return rfail(r, -ENOMEM, "out of memory");
		}
		len = 0;
		for (int i = 0; i < 3; i++) {
			if (!parts[i])
				continue;
			if (len)
				t->text_prefix[len++] = ':';
			memcpy(t->text_prefix + len, parts[i], strlen(parts[i]));
			len += strlen(parts[i]);
		}
		if (len)
			t->text_prefix[len++] = ' ';
		t->text_prefix[len] = 0;
		t->text_prefix_len = len;
	}
	char **names;
	size_t n;
	e = list_dir(dir, &names, &n);
	if (e) {
		trace_free(t);
		return rfail(r, e, "%s: %s", dir, strerror(-e));
	}
	for (size_t i = 0; i < n && !e; i++) {
		if (names[i][0] == '.' || !strcmp(names[i], "metadata") ||
		    !strcmp(names[i], "metadata.zst"))
			continue;
		/* A file being compressed exists twice for a moment. */
		if (zst_name(names[i])) {
			char *plain = strndup(names[i], strlen(names[i]) - 4);
			bool twice = plain && bsearch(&plain, names, n, sizeof(*names), cmp_str);
			free(plain);
			if (twice)
				continue;
		}
		char *p;
		if (asprintf(&p, "%s/%s", dir, names[i]) < 0) {
			e = rfail(r, -ENOMEM, "out of memory");
			break;
		}
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			struct rstream *s;
			e = rstream_open(t, p, &s, r->err, sizeof(r->err));
			if (!e) {
				s->index = r->nstreams;
				if (push_ptr((void ***)&t->streams, &t->nstreams, s) ||
				    push_ptr((void ***)&r->streams, &r->nstreams, s)) {
					rstream_close(s);
					e = rfail(r, -ENOMEM, "out of memory");
				}
			}
		}
		free(p);
	}
	free_list(names, n);
	if (!e && push_ptr((void ***)&r->traces, &r->ntraces, t))
		e = rfail(r, -ENOMEM, "out of memory");
	if (e) {
		/* streams already listed in r->streams belong to t */
		for (size_t i = 0; i < t->nstreams; i++)
			r->nstreams--;
		trace_free(t);
		return e;
	}
	t->index = r->ntraces - 1;
	return 1;
}

static int add_dir(struct reel_reader *r, const char *dir, unsigned depth)
{
	if (depth > 32)
		return 0;
	char *mp = metadata_path(dir);
	if (!mp)
		return rfail(r, -ENOMEM, "out of memory");
	struct stat st;
	int has = stat(mp, &st) == 0 && S_ISREG(st.st_mode);
	free(mp);
	if (has)
		return open_trace(r, dir);
	char **names;
	size_t n;
	int e = list_dir(dir, &names, &n);
	if (e)
		return rfail(r, e, "%s: %s", dir, strerror(-e));
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		char *p;
		if (asprintf(&p, "%s/%s", dir, names[i]) < 0) {
			found = rfail(r, -ENOMEM, "out of memory");
			break;
		}
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			e = add_dir(r, p, depth + 1);
			if (e < 0) {
				free(p);
				found = e;
				break;
			}
			found += e;
		}
		free(p);
	}
	free_list(names, n);
	return found;
}

int reel_reader_add_path(struct reel_reader *r, const char *path)
{
	struct stat st;
	if (r->started)
		return rfail(r, -EBUSY, "reader already started");
	if (stat(path, &st) < 0)
		return rfail(r, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return rfail(r, -ENOTDIR, "%s: not a directory", path);
	return add_dir(r, path, 0);
}

int reel_reader_set_names(struct reel_reader *r, const char *globs)
{
	const char *p = globs;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n) {
			char *g = strndup(p, n);
			if (!g || push_ptr((void ***)&r->names, &r->nnames, g)) {
				free(g);
				return rfail(r, -ENOMEM, "out of memory");
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int reel_reader_set_filter(struct reel_reader *r, const char *expr)
{
	struct filter *f;
	int e = filter_parse(expr, &f, r->err, sizeof(r->err));
	if (e)
		return e;
	filter_free(r->filter);
	r->filter = f;
	return 0;
}

int reel_reader_set_range(struct reel_reader *r, int64_t begin_ns, int64_t end_ns)
{
	r->has_range = true;
	r->begin_ns = begin_ns;
	r->end_ns = end_ns;
	return 0;
}

int reel_reader_set_values(struct reel_reader *r, bool values)
{
	if (r->started)
		return rfail(r, -EBUSY, "reader already started");
	r->no_values = !values;
	return 0;
}

void reel_reader_on_discarded(struct reel_reader *r, reel_discarded_fn fn, void *arg)
{
	r->on_discarded = fn;
	r->on_discarded_arg = arg;
}

/* ---- merge --------------------------------------------------------------------- */

static inline int64_t stream_ns(const struct rstream *s)
{
	const struct ctf_clock *c = s->sc ? s->sc->clock : NULL;
	return c ? ctf_clock_ns(c, s->ev_clock) : INT64_MIN;
}

/* The merge key of a stream's current event: its time in ns. */
static inline uint64_t stream_key(const struct reel_reader *r, const struct rstream *s)
{
	(void)r;
	/* in ns, not cycles: two cycle counts may give one ns, and then the
	 * order of streams decides, as in babeltrace2 */
	return (uint64_t)stream_ns(s) ^ (UINT64_C(1) << 63); /* signed order as unsigned */
}

struct heap_key {
	int64_t ns;
};

static inline bool heap_less(const struct rstream *a, const struct rstream *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->index < b->index;
}

/* the heap caches each stream's ns in ev_ns */
static void sift_down(struct reel_reader *r, size_t i)
{
	struct rstream **h = r->heap;
	size_t n = r->nheap;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && heap_less(h[l], h[m]))
			m = l;
		if (l + 1 < n && heap_less(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct rstream *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void report_packet(struct reel_reader *r, struct rstream *s)
{
	if (!r->on_discarded)
		return;
	const struct ctf_clock *c = s->sc ? s->sc->clock : NULL;
	if (s->has_discarded && s->discarded != s->prev_discarded) {
		uint64_t n = s->discarded - s->prev_discarded;
		s->total_discarded += n;
		bool range = c && s->has_ts_end;
		int64_t b = range && s->has_prev_ts_end ? ctf_clock_ns(c, s->prev_ts_end) :
			    range && s->has_ts_begin ? ctf_clock_ns(c, s->ts_begin) : 0;
		int64_t e = range ? ctf_clock_ns(c, s->ts_end) : 0;
		r->on_discarded(r->on_discarded_arg, "events", n, range, b, e, s->trace->path, s->path);
	}
	if (s->has_seq_num && s->packets_done > 0 && s->seq_num > s->prev_seq_num + 1) {
		uint64_t n = s->seq_num - s->prev_seq_num - 1;
		s->lost_packets += n;
		bool range = c && s->has_prev_ts_end && s->has_ts_begin;
		r->on_discarded(r->on_discarded_arg, "packets", n, range,
				range ? ctf_clock_ns(c, s->prev_ts_end) : 0,
				range ? ctf_clock_ns(c, s->ts_begin) : 0, s->trace->path, s->path);
	}
}

/* Advance a stream to its next event: 1, 0 at its end, <0 on error. */
static int advance(struct reel_reader *r, struct rstream *s)
{
	for (;;) {
		int e = rstream_next(s, r->err, sizeof(r->err));
		if (e == 2) {
			report_packet(r, s);
			continue;
		}
		if (e == 1)
			s->key = stream_key(r, s);
		return e;
	}
}

static bool name_selected(const struct reel_reader *r, const char *name)
{
	if (!r->nnames)
		return true;
	for (size_t i = 0; i < r->nnames; i++)
		if (fnmatch(r->names[i], name ? name : "", 0) == 0)
			return true;
	return false;
}

static int start(struct reel_reader *r)
{
	r->started = true;
	/* the selection by name, once per class rather than per event */
	for (size_t t = 0; t < r->ntraces; t++)
		for (struct ctf_stream_class *sc = r->traces[t]->meta->streams; sc; sc = sc->next)
			for (struct ctf_event_class *e = sc->events; e; e = e->next)
				e->unselected = !name_selected(r, e->name);
	for (size_t i = 0; i < r->nstreams; i++)
		r->streams[i]->skim = r->no_values && !r->filter;
	r->heap = calloc(r->nstreams ? r->nstreams : 1, sizeof(*r->heap));
	if (!r->heap)
		return rfail(r, -ENOMEM, "out of memory");
	for (size_t i = 0; i < r->nstreams; i++) {
		int e = advance(r, r->streams[i]);
		if (e < 0)
			return e;
		if (e == 1)
			r->heap[r->nheap++] = r->streams[i];
	}
	for (size_t i = r->nheap; i-- > 0;)
		sift_down(r, i);
	return 0;
}

int reel_reader_next(struct reel_reader *r, const struct reel_event **ret_event)
{
	if (!r->started) {
		int e = start(r);
		if (e)
			return e;
	} else if (r->cur.s) {
		/* move the stream of the last event on */
		struct rstream *s = r->cur.s;
		r->cur.s = NULL;
		int e = advance(r, s);
		if (e < 0)
			return e;
		if (e == 0)
			r->heap[0] = r->heap[--r->nheap];
		if (r->nheap)
			sift_down(r, 0);
	}
	for (;;) {
		if (!r->nheap)
			return 0;
		struct rstream *s = r->heap[0];
		const struct ctf_clock *c = s->sc->clock;
		bool keep = true;
		r->cur.ns_valid = false;
		if (r->has_range && c) {
			int64_t ns = (int64_t)(s->key ^ (UINT64_C(1) << 63));
			if (ns > r->end_ns) {
				/* every later event of the timeline is later still */
				r->nheap = 0;
				return 0;
			}
			if (ns < r->begin_ns)
				keep = false;
		}
		if (keep && s->ec->unselected)
			keep = false;
		r->cur.s = s;
		r->cur.has_ts = c != NULL;
		if (c) {
			r->cur.ns = (int64_t)(s->key ^ (UINT64_C(1) << 63));
			r->cur.ns_valid = true;
		}
		if (keep && r->filter && !filter_match(r->filter, &r->cur))
			keep = false;
		if (keep) {
			if (c) {
				if (!r->has_first) {
					r->has_first = true;
					r->first_clock = c;
					r->first_cycles = s->ev_clock;
				}
				r->last_clock = c;
				r->last_cycles = s->ev_clock;
			}
			*ret_event = &r->cur;
			return 1;
		}
		r->cur.s = NULL;
		int e = advance(r, s);
		if (e < 0)
			return e;
		if (e == 0)
			r->heap[0] = r->heap[--r->nheap];
		if (r->nheap)
			sift_down(r, 0);
	}
}

/* ---- accessors -------------------------------------------------------------------- */

const char *reel_event_name(const struct reel_event *ev)
{
	return ev->s->ec->name;
}

bool reel_event_timestamp(const struct reel_event *ev, int64_t *ret_ns)
{
	if (!ev->has_ts)
		return false;
	if (!ev->ns_valid) {
		struct reel_event *m = (struct reel_event *)ev; /* the reader's own cache */
		m->ns = ctf_clock_ns(ev->s->sc->clock, ev->s->ev_clock);
		m->ns_valid = true;
	}
	*ret_ns = ev->ns;
	return true;
}

int reel_reader_time_range(const struct reel_reader *r, int64_t *ret_first, int64_t *ret_last)
{
	if (!r->has_first)
		return -ENOENT;
	*ret_first = ctf_clock_ns(r->first_clock, r->first_cycles);
	*ret_last = ctf_clock_ns(r->last_clock, r->last_cycles);
	return 0;
}

uint64_t reel_event_cycles(const struct reel_event *ev)
{
	return ev->s->ev_clock;
}

static const struct rval *find_in(const struct rvbuf *b, uint32_t root, const char *name)
{
	if (root == UINT32_MAX || root >= b->n)
		return NULL;
	const struct rval *rv = &b->v[root];
	if (rv->p->op != OP_STRUCT)
		return NULL;
	uint32_t i = root + 1;
	while (i < rv->end) {
		const struct rval *k = &b->v[i];
		if (k->p->name && !strcmp(k->p->name, name))
			return k;
		i = (k->p->op == OP_STRUCT || k->p->op == OP_ARRAY || k->p->op == OP_SEQ ||
		     k->p->op == OP_VARIANT) ? k->end : i + 1;
	}
	return NULL;
}

const struct rval *event_find_field(const struct reel_event *ev, const char *name)
{
	const struct rstream *s = ev->s;
	const struct rval *v;
	if ((v = find_in(&s->ev, s->ev_fields_index, name)))
		return v;
	if ((v = find_in(&s->ev, s->ev_spec_index, name)))
		return v;
	if ((v = find_in(&s->ev, s->ev_ctx_index, name)))
		return v;
	if ((v = find_in(&s->pkt, s->pkt_ctx_index, name)))
		return v;
	return NULL;
}

int reel_event_field_int(const struct reel_event *ev, const char *name, int64_t *ret)
{
	const struct rval *v = event_find_field(ev, name);
	if (!v || (v->p->type->kind != CTF_INT && v->p->type->kind != CTF_ENUM) || v->p->size > 64)
		return -ENOENT;
	*ret = v->s;
	return 0;
}

const void *reel_event_class(const struct reel_event *ev)
{
	return ev->s->ec;
}

int reel_event_field_str(const struct reel_event *ev, const char *name, const char **ret, size_t *ret_len)
{
	const struct rval *v = event_find_field(ev, name);
	if (!v || (v->p->op != OP_STRING && v->p->op != OP_TEXT_ARRAY && v->p->op != OP_TEXT_SEQ))
		return -ENOENT;
	*ret = v->str.ptr;
	*ret_len = v->str.len;
	return 0;
}

int reel_event_context_int(const struct reel_event *ev, const char *name, int64_t *ret)
{
	const struct rstream *s = ev->s;
	const struct rval *v = find_in(&s->ev, s->ev_ctx_index, name);
	if (!v)
		v = find_in(&s->ev, s->ev_spec_index, name);
	if (!v || (v->p->type->kind != CTF_INT && v->p->type->kind != CTF_ENUM) || v->p->size > 64)
		return -ENOENT;
	*ret = v->s;
	return 0;
}

int reel_event_packet_int(const struct reel_event *ev, const char *name, int64_t *ret)
{
	const struct rstream *s = ev->s;
	const struct rval *v = find_in(&s->pkt, s->pkt_ctx_index, name);
	if (!v || (v->p->type->kind != CTF_INT && v->p->type->kind != CTF_ENUM) || v->p->size > 64)
		return -ENOENT;
	*ret = v->s;
	return 0;
}

/* ---- field references ------------------------------------------------------------
 * A reference: the root it is under (bits 30-31: payload, the class's
 * context, the stream's event context, the packet context), and either the
 * value's offset from the root (bit 29 set: every member before it is a
 * scalar, so the offset is the same in every event of the class) or the
 * member's index (walked at each read). */
enum { REF_FIXED = 1u << 29, REF_MAX = REF_FIXED - 1 };

static bool is_compound(const struct plan_node *p)
{
	return p->op == OP_STRUCT || p->op == OP_ARRAY || p->op == OP_SEQ || p->op == OP_VARIANT;
}

static const struct rvbuf *ref_root(const struct rstream *s, unsigned root, uint32_t *ret_index)
{
	switch (root) {
	case 0: *ret_index = s->ev_fields_index; return &s->ev;
	case 1: *ret_index = s->ev_spec_index; return &s->ev;
	case 2: *ret_index = s->ev_ctx_index; return &s->ev;
	default: *ret_index = s->pkt_ctx_index; return &s->pkt;
	}
}

/* Find `name` under root `root` of the current event: the reference, or -1. */
static int64_t ref_find(const struct rstream *s, unsigned root, const char *name)
{
	uint32_t ri;
	const struct rvbuf *b = ref_root(s, root, &ri);
	if (ri == UINT32_MAX || ri >= b->n || b->v[ri].p->op != OP_STRUCT)
		return -1;
	bool fixed = true;
	uint32_t member = 0;
	for (uint32_t i = ri + 1; i < b->v[ri].end; member++) {
		const struct rval *k = &b->v[i];
		if (k->p->name && !strcmp(k->p->name, name)) {
			uint32_t v = fixed ? i - ri : member;
			if (v > REF_MAX)
				return -1;
			return (int64_t)(((uint32_t)root << 30) | (fixed ? REF_FIXED : 0) | v);
		}
		if (is_compound(k->p))
			fixed = false;
		i = is_compound(k->p) ? k->end : i + 1;
	}
	return -1;
}

int reel_event_field_ref(const struct reel_event *ev, enum reel_scope scope, const char *name, uint32_t *ret_ref)
{
	static const uint8_t any[] = {0, 1, 2, 3}, payload[] = {0}, ctx[] = {2, 1}, pkt[] = {3};
	const uint8_t *roots;
	size_t n;
	switch (scope) {
	case REEL_SCOPE_ANY: roots = any; n = sizeof(any); break;
	case REEL_SCOPE_PAYLOAD: roots = payload; n = sizeof(payload); break;
	case REEL_SCOPE_EVENT_CONTEXT: roots = ctx; n = sizeof(ctx); break;
	case REEL_SCOPE_PACKET_CONTEXT: roots = pkt; n = sizeof(pkt); break;
	default: return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t ref = ref_find(ev->s, roots[i], name);
		if (ref >= 0) {
			*ret_ref = (uint32_t)ref;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct rval *ref_value(const struct reel_event *ev, uint32_t ref)
{
	uint32_t ri;
	const struct rvbuf *b = ref_root(ev->s, ref >> 30, &ri);
	if (unlikely(ri == UINT32_MAX || ri >= b->n))
		return NULL;
	const struct rval *root = &b->v[ri];
	uint32_t v = ref & REF_MAX;
	if (likely(ref & REF_FIXED)) {
		/* checked: a member of this root (another class's event, or a
		 * malformed reference, finds something else) */
		if (unlikely(v >= root->end - ri || b->v[ri + v].p->parent != root->p))
			return NULL;
		return &b->v[ri + v];
	}
	if (root->p->op != OP_STRUCT)
		return NULL;
	uint32_t i = ri + 1;
	for (; i < root->end && v; v--)
		i = is_compound(b->v[i].p) ? b->v[i].end : i + 1;
	return i < root->end ? &b->v[i] : NULL;
}

int reel_event_ref_int(const struct reel_event *ev, uint32_t ref, int64_t *ret)
{
	const struct rval *v = ref_value(ev, ref);
	if (!v || (v->p->type->kind != CTF_INT && v->p->type->kind != CTF_ENUM) || v->p->size > 64)
		return -ENOENT;
	*ret = v->s;
	return 0;
}

int reel_event_ref_str(const struct reel_event *ev, uint32_t ref, const char **ret, size_t *ret_len)
{
	const struct rval *v = ref_value(ev, ref);
	if (!v || (v->p->op != OP_STRING && v->p->op != OP_TEXT_ARRAY && v->p->op != OP_TEXT_SEQ))
		return -ENOENT;
	*ret = v->str.ptr;
	*ret_len = v->str.len;
	return 0;
}

size_t reel_reader_stream_count(const struct reel_reader *r)
{
	return r->nstreams;
}

size_t reel_reader_trace_count(const struct reel_reader *r)
{
	return r->ntraces;
}

int reel_reader_stream_stats(const struct reel_reader *r, size_t i, struct reel_stream_stats *ret)
{
	if (i >= r->nstreams)
		return -ENOENT;
	const struct rstream *s = r->streams[i];
	ret->path = s->path;
	ret->events = s->events;
	ret->discarded = s->total_discarded;
	ret->lost_packets = s->lost_packets;
	return 0;
}

/* ---- summaries: counts without the merge, packets in parallel -------------- */

struct sum_item {
	struct rstream *s;
	uint64_t begin, end;    /* packet offsets */
	uint64_t events;
	bool has_first;
	uint64_t first, last;   /* cycles */
	int error;
	char *msg;
};

struct sum_ctx {
	struct reel_reader *r;
	struct sum_item *items;
	size_t nitems;
	size_t next;            /* atomic: the next item to take */
	unsigned nthreads;
	uint64_t *counts;       /* nthreads x stride */
	size_t stride;          /* nclasses rounded up to whole cache lines: no
				 * line is shared by two threads' counters */
};

struct sum_worker {
	struct sum_ctx *ctx;
	unsigned index;
	pthread_t thread;
};

static int run_item(struct sum_ctx *ctx, struct sum_item *it, uint64_t *counts)
{
	struct rstream c = *it->s;
	char err[512];
	c.regs = calloc(c.trace->meta->nregs ? c.trace->meta->nregs : 1, sizeof(*c.regs));
	memset(&c.pkt, 0, sizeof(c.pkt));
	memset(&c.ev, 0, sizeof(c.ev));
	if (!c.regs)
		return -ENOMEM;
	c.pkt_off = it->begin;
	c.end_off = it->end;
	c.dontneed_off = it->begin;
	c.in_packet = false;
	c.eof = false;
	c.skim = true;
	int e;
	(void)ctx;
	while ((e = rstream_next(&c, err, sizeof(err))) > 0) {
		if (e == 2) { /* a new packet: its events at once */
			struct skim_tally t = { .counts = counts };
			e = rstream_skim_packet(&c, &t, err, sizeof(err));
			if (e < 0)
				break;
			if (t.n) {
				if (!it->has_first) {
					it->has_first = true;
					it->first = t.first_clock;
				}
				it->last = c.ev_clock;
				it->events += t.n;
			}
			continue;
		}
		if (e != 1)
			continue;
		counts[c.ec->gindex]++;
		if (!it->has_first) {
			it->has_first = true;
			it->first = c.ev_clock;
		}
		it->last = c.ev_clock;
		it->events++;
	}
	if (e < 0) {
		it->error = e;
		it->msg = strdup(err);
	}
	/* give the item's pages back at once */
	long page = sysconf(_SC_PAGESIZE);
	uint64_t b = (it->begin + (uint64_t)page - 1) & ~((uint64_t)page - 1);
	uint64_t en = it->end & ~((uint64_t)page - 1);
	if (c.map && en > b && !c.in_memory)
		madvise((void *)(c.map + b), en - b, MADV_DONTNEED);
	free(c.regs);
	free(c.pkt.v);
	free(c.ev.v);
	return e < 0 ? e : 0;
}

static void *sum_thread(void *arg)
{
	struct sum_worker *w = arg;
	struct sum_ctx *ctx = w->ctx;
	uint64_t *counts = ctx->counts + (size_t)w->index * ctx->stride;
	for (;;) {
		size_t i = __atomic_fetch_add(&ctx->next, 1, __ATOMIC_RELAXED);
		if (i >= ctx->nitems)
			break;
		if (run_item(ctx, &ctx->items[i], counts) == -ENOMEM)
			ctx->items[i].error = -ENOMEM;
	}
	return NULL;
}

static int number_classes(struct reel_reader *r)
{
	uint32_t n = 0;
	for (size_t t = 0; t < r->ntraces; t++)
		for (struct ctf_stream_class *sc = r->traces[t]->meta->streams; sc; sc = sc->next)
			for (struct ctf_event_class *e = sc->events; e; e = e->next)
				n++;
	r->classes = calloc(n ? n : 1, sizeof(*r->classes));
	r->class_counts = calloc(n ? n : 1, sizeof(*r->class_counts));
	if (!r->classes || !r->class_counts)
		return rfail(r, -ENOMEM, "out of memory");
	n = 0;
	for (size_t t = 0; t < r->ntraces; t++)
		for (struct ctf_stream_class *sc = r->traces[t]->meta->streams; sc; sc = sc->next)
			for (struct ctf_event_class *e = sc->events; e; e = e->next) {
				e->gindex = n;
				r->classes[n++] = e;
			}
	r->nclasses = n;
	return 0;
}

static bool packets_independent(const struct rstream *s)
{
	/* each packet sets the clock from its timestamp_begin */
	const struct plan_node *pc = s->sc ? s->sc->p_packet_context : NULL;
	if (!pc)
		return false;
	for (uint32_t i = 0; i < pc->nkids; i++)
		if ((pc->kids[i]->flags & (PF_TS_BEGIN | PF_CLOCK)) == (PF_TS_BEGIN | PF_CLOCK) &&
		    pc->kids[i]->size == 64)
			return true;
	return false;
}

int reel_reader_summarize(struct reel_reader *r, unsigned threads)
{
	if (r->started)
		return rfail(r, -EBUSY, "reader already started");
	if (r->nnames || r->filter || r->has_range)
		return rfail(r, -ENOTSUP, "summaries count every event: no selection");
	r->started = true;
	int e = number_classes(r);
	if (e)
		return e;
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	/* Pass 1, sequential: every packet's header and context (discarded
	 * events, lost packets, in order), and the work items. */
	struct sum_item *items = NULL;
	size_t nitems = 0, cap = 0;
	char err[512];
	/* items: many per thread (a busy CPU then only delays a small one), of
	 * 256 KiB to 8 MiB of packets */
	uint64_t total = 0;
	for (size_t i = 0; i < r->nstreams; i++)
		total += r->streams[i]->file_size;
	uint64_t chunk_target = total / ((uint64_t)threads * 16);
	if (chunk_target < (256u << 10))
		chunk_target = 256u << 10;
	if (chunk_target > (8u << 20))
		chunk_target = 8u << 20;
	for (size_t i = 0; i < r->nstreams && !e; i++) {
		struct rstream *s = r->streams[i];
		uint64_t chunk_begin = 0, chunk_bytes = 0;
		bool split = false, started = false;
		for (;;) {
			uint64_t off = s->pkt_off;
			int k = rstream_open_next_packet(s, err, sizeof(err));
			if (k < 0) {
				e = rfail(r, k, "%s", err);
				break;
			}
			if (!started) {
				split = packets_independent(s);
				started = true;
			}
			bool last = k == 0;
			if (!last)
				report_packet(r, s);
			if (!last) {
				rstream_end_packet(s);
				chunk_bytes += s->pkt_off - off;
			}
			if (last || (split && chunk_bytes >= chunk_target)) {
				if (chunk_bytes) {
					if (nitems == cap) {
						cap = cap ? cap * 2 : 64;
						struct sum_item *ni = realloc(items, cap * sizeof(*ni));
						if (!ni) {
							e = rfail(r, -ENOMEM, "out of memory");
							break;
						}
						items = ni;
					}
					memset(&items[nitems], 0, sizeof(items[nitems]));
					items[nitems].s = s;
					items[nitems].begin = chunk_begin;
					items[nitems].end = s->pkt_off;
					nitems++;
				}
				chunk_begin = s->pkt_off;
				chunk_bytes = 0;
			}
			if (last)
				break;
		}
	}
	/* Pass 1 mapped a little of every packet (the kernel maps a whole
	 * page-cache folio around each header): give it all back, so that
	 * only what pass 2's workers read is mapped. */
	for (size_t i = 0; i < r->nstreams; i++)
		if (r->streams[i]->map && !r->streams[i]->in_memory)
			madvise((void *)r->streams[i]->map, r->streams[i]->file_size, MADV_DONTNEED);
	/* Pass 2, in parallel: the events of each item. */
	struct sum_ctx ctx = { .r = r, .items = items, .nitems = nitems };
	struct sum_worker *w = NULL;
	unsigned started_threads = 0;
	if (!e) {
		if (threads > nitems)
			threads = nitems ? (unsigned)nitems : 1;
		ctx.nthreads = threads;
		ctx.stride = ((size_t)r->nclasses + 7) & ~(size_t)7; /* 64-byte lines */
		if (!ctx.stride)
			ctx.stride = 8;
		size_t bytes;
		if (!__builtin_mul_overflow((size_t)threads * sizeof(*ctx.counts), ctx.stride, &bytes) &&
		    posix_memalign((void **)&ctx.counts, 64, bytes) == 0)
			memset(ctx.counts, 0, bytes);
		else
			ctx.counts = NULL;
		w = calloc(threads, sizeof(*w));
		if (!ctx.counts || !w)
			e = rfail(r, -ENOMEM, "out of memory");
	}
	if (!e) {
		for (unsigned t = 1; t < threads; t++) {
			w[t].ctx = &ctx;
			w[t].index = t;
			if (pthread_create(&w[t].thread, NULL, sum_thread, &w[t]) != 0)
				break;
			started_threads++;
		}
		w[0].ctx = &ctx;
		w[0].index = 0;
		sum_thread(&w[0]); /* the calling thread works too */
		for (unsigned t = 1; t <= started_threads; t++)
			pthread_join(w[t].thread, NULL);
		for (size_t i = 0; i < nitems && !e; i++)
			if (items[i].error)
				e = rfail(r, items[i].error, "%s", items[i].msg ? items[i].msg : "out of memory");
	}
	if (!e) {
		for (unsigned t = 0; t < threads; t++)
			for (uint32_t k = 0; k < r->nclasses; k++)
				r->class_counts[k] += ctx.counts[(size_t)t * ctx.stride + k];
		int64_t first = 0, last = 0;
		bool any = false;
		for (size_t i = 0; i < nitems; i++) {
			struct sum_item *it = &items[i];
			it->s->events += it->events;
			const struct ctf_clock *c = it->s->sc ? it->s->sc->clock : NULL;
			if (!it->has_first || !c)
				continue;
			int64_t f = ctf_clock_ns(c, it->first), l = ctf_clock_ns(c, it->last);
			if (!any || f < first) {
				first = f;
				r->first_clock = c;
				r->first_cycles = it->first;
			}
			if (!any || l > last) {
				last = l;
				r->last_clock = c;
				r->last_cycles = it->last;
			}
			any = true;
		}
		r->has_first = any;
		r->summarized = true;
	}
	for (size_t i = 0; i < nitems; i++)
		free(items[i].msg);
	free(items);
	free(ctx.counts);
	free(w);
	return e;
}

int reel_reader_class_stats(const struct reel_reader *r, size_t i, const char **ret_name, uint64_t *ret_count)
{
	if (!r->summarized || i >= r->nclasses)
		return -ENOENT;
	*ret_name = r->classes[i]->name;
	*ret_count = r->class_counts[i];
	return 0;
}
