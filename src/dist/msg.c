/* SPDX-License-Identifier: MIT */
/*
 * The dispatch's messages (doc/dist.md): tasks, results and chunk
 * announcements. A header of "KEY VALUE" lines after a magic line, ended
 * by an empty line; a result's inline partial follows it. Parsers take
 * untrusted bytes from the broker and check every field
 * (tests/dist/fuzz-distmsg.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"

#define TASK_MAGIC   "REELTASK 1"
#define RESULT_MAGIC "REELRESULT 1"
#define CHUNK_MAGIC  "REELCHUNK 1"
#define HEADER_MAX   (8 * DIST_STR_MAX)

static void fnv(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= s[i];
		*h *= 0x100000001b3ull;
	}
}

static void fnv_str(uint64_t *h, const char *s)
{
	/* the length first: ("ab", "c") and ("a", "bc") differ */
	uint64_t n = s ? strlen(s) + 1 : 0;
	fnv(h, &n, sizeof(n));
	if (s)
		fnv(h, s, n - 1);
}

void dist_task_id(const struct dist_task *t, char out[DIST_ID_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint64_t v[] = {t->index, t->flags};
	fnv_str(&h, t->run);
	fnv(&h, v, sizeof(v));
	fnv_str(&h, t->begin);
	fnv_str(&h, t->end);
	fnv_str(&h, t->by);
	fnv_str(&h, t->path);
	snprintf(out, DIST_ID_LEN + 1, "%016" PRIx64, h);
}

void dist_chunk_id(const char *path, char out[DIST_ID_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ull;
	fnv_str(&h, "chunk");
	fnv_str(&h, path);
	snprintf(out, DIST_ID_LEN + 1, "%016" PRIx64, h);
}

void dist_url_display(const char *url, char *out, size_t len)
{
	if (!len)
		return;
	size_t o = 0;
	if (!url)
		url = "";
#define PUT(p, n)                         \
	do {                              \
		size_t n_ = (n);          \
		if (n_ > len - 1 - o)     \
			n_ = len - 1 - o; \
		memcpy(out + o, (p), n_); \
		o += n_;                  \
	} while (0)
	for (const char *u = url; *u;) {
		size_t n = strcspn(u, ",");
		/* the userinfo: after the scheme, before an '@' of the authority */
		const char *auth = u;
		const char *sch = memchr(u, ':', n);
		if (sch && sch + 2 < u + n && sch[1] == '/' && sch[2] == '/')
			auth = sch + 3;
		/* the last '@' of it: a password may hold '@' or '/' (a
		 * broker URL has no path) */
		const char *at = NULL;
		for (const char *p = auth; p < u + n; p++)
			if (*p == '@')
				at = p;
		if (at) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			PUT(u, (size_t)((colon ? colon + 1 : auth) - u));
			PUT("***", 3);
			PUT(at, n - (size_t)(at - u));
		} else {
			PUT(u, n);
		}
		u += n;
		if (*u == ',') {
			PUT(",", 1);
			u++;
		}
	}
#undef PUT
	out[o] = 0;
}

/* ---- encoding ---------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
	FILE *f;
	int err;
};

static void put_str(struct out *o, const char *key, const char *val)
{
	if (!val || o->err)
		return;
	size_t n = strlen(val);
	if (!n || n > DIST_STR_MAX || strchr(val, '\n')) {
		o->err = -EINVAL;
		return;
	}
	fprintf(o->f, "%s %s\n", key, val);
}

static int out_open(struct out *o, const char *magic)
{
	*o = (struct out){0};
	o->f = open_memstream(&o->buf, &o->len);
	if (!o->f)
		return -ENOMEM;
	fprintf(o->f, "%s\n", magic);
	return 0;
}

static int out_close(struct out *o, const void *body, size_t size, char **ret, size_t *ret_len)
{
	fputc('\n', o->f);
	if (size && fwrite(body, 1, size, o->f) != size)
		o->err = o->err ? o->err : -ENOMEM;
	if (fclose(o->f) && !o->err)
		o->err = -ENOMEM;
	if (o->err) {
		free(o->buf);
		return o->err;
	}
	*ret = o->buf;
	*ret_len = o->len;
	return 0;
}

int dist_task_encode(const struct dist_task *t, char **ret, size_t *ret_len)
{
	struct out o;
	if (out_open(&o, TASK_MAGIC))
		return -ENOMEM;
	put_str(&o, "id", t->id);
	put_str(&o, "run", t->run);
	fprintf(o.f, "index %" PRIu64 "\nflags %u\n", t->index, t->flags);
	put_str(&o, "begin", t->begin);
	put_str(&o, "end", t->end);
	put_str(&o, "by", t->by);
	put_str(&o, "path", t->path);
	if (!t->path || t->path[0] != '/')
		o.err = -EINVAL;
	return out_close(&o, NULL, 0, ret, ret_len);
}

int dist_result_encode(const struct dist_result *r, char **ret, size_t *ret_len)
{
	struct out o;
	if (out_open(&o, RESULT_MAGIC))
		return -ENOMEM;
	put_str(&o, "id", r->id);
	put_str(&o, "run", r->run);
	fprintf(o.f, "index %" PRIu64 "\n", r->index);
	put_str(&o, "worker", r->worker);
	put_str(&o, "error", r->error);
	put_str(&o, "file", r->file);
	bool inline_data = !r->error && !r->file;
	if (inline_data)
		fprintf(o.f, "size %zu\n", r->size);
	return out_close(&o, r->data, inline_data ? r->size : 0, ret, ret_len);
}

int dist_chunk_encode(const struct dist_chunk *c, char **ret, size_t *ret_len)
{
	struct out o;
	if (out_open(&o, CHUNK_MAGIC))
		return -ENOMEM;
	put_str(&o, "id", c->id);
	put_str(&o, "session", c->session);
	put_str(&o, "run", c->run);
	if (c->run && strlen(c->run) != DIST_ID_LEN)
		o.err = -EINVAL;
	fprintf(o.f, "index %" PRIu64 "\n", c->index);
	put_str(&o, "path", c->path);
	if (!c->path || c->path[0] != '/')
		o.err = -EINVAL;
	return out_close(&o, NULL, 0, ret, ret_len);
}

/* ---- parsing ----------------------------------------------------------- */

/* The fields a message may hold: each at most once. */
struct field {
	const char *key;
	char *val;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Split the header of msg into fields (unknown or repeated keys, empty or
 * too long values, NUL bytes: EINVAL); *ret_body: the bytes after it. */
static int split(const void *msg, size_t len, const char *magic, struct field *f, size_t nf,
		 char **ret_buf, size_t *ret_body, char *err, size_t errlen)
{
	const char *m = msg;
	size_t ml = strlen(magic);
	if (!m || len < ml + 1 || memcmp(m, magic, ml) || m[ml] != '\n')
		return fail(err, errlen, "not a %s message", magic);
	size_t scan = len < HEADER_MAX ? len : HEADER_MAX;
	const char *end = memmem(m, scan, "\n\n", 2);
	if (!end)
		return fail(err, errlen, "header not ended (or longer than %d bytes)", HEADER_MAX);
	size_t hl = (size_t)(end - m) + 1; /* with the last line's '\n' */
	if (memchr(m, '\0', hl))
		return fail(err, errlen, "NUL byte in the header");
	char *buf = malloc(hl + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, m, hl);
	buf[hl] = '\0';
	char *line = buf + ml + 1;
	while (*line) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		char *sp = strchr(line, ' ');
		if (!sp || sp == line || !sp[1] || strlen(sp + 1) > DIST_STR_MAX) {
			fail(err, errlen, "bad header line");
			goto bad;
		}
		*sp = '\0';
		size_t i = 0;
		while (i < nf && strcmp(f[i].key, line))
			i++;
		if (i == nf) {
			fail(err, errlen, "unknown field '%.64s'", line);
			goto bad;
		}
		if (f[i].val) {
			fail(err, errlen, "field '%s' repeated", line);
			goto bad;
		}
		f[i].val = sp + 1;
		line = nl + 1;
	}
	*ret_buf = buf;
	*ret_body = hl + 1;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

static bool hex_id(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool number(const char *s, uint64_t max, uint64_t *ret)
{
	if (!s || !*s || strlen(s) > 20 || (s[0] == '0' && s[1]))
		return false; /* one spelling per number */
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

enum { F_ID, F_RUN, F_INDEX, F_FLAGS, F_BEGIN, F_END, F_BY, F_PATH };

int dist_task_parse(const void *msg, size_t len, struct dist_task *ret, char **ret_buf, char *err,
		    size_t errlen)
{
	struct field f[] = {{"id", NULL},    {"run", NULL}, {"index", NULL}, {"flags", NULL},
			    {"begin", NULL}, {"end", NULL}, {"by", NULL},    {"path", NULL}};
	char *buf = NULL;
	size_t body = 0;
	int r = split(msg, len, TASK_MAGIC, f, sizeof(f) / sizeof(f[0]), &buf, &body, err, errlen);
	if (r)
		return r;
	struct dist_task t = {0};
	uint64_t flags = 0;
	if (!hex_id(f[F_ID].val, DIST_ID_LEN) || !hex_id(f[F_RUN].val, DIST_RUN_LEN)) {
		r = fail(err, errlen, "bad or missing id or run");
	} else if (!number(f[F_INDEX].val, UINT32_MAX, &t.index)) {
		r = fail(err, errlen, "bad or missing index");
	} else if (!number(f[F_FLAGS].val, AN_CPU_ATTRIBUTION | AN_IO | AN_CPU | AN_PHASES,
			   &flags)) {
		r = fail(err, errlen, "bad or missing flags");
	} else if (!f[F_PATH].val || f[F_PATH].val[0] != '/') {
		r = fail(err, errlen, "bad or missing path (absolute)");
	} else if (((flags & AN_PHASES) != 0) != (f[F_BEGIN].val && f[F_END].val) ||
		   (!(flags & AN_PHASES) && f[F_BY].val)) {
		r = fail(err, errlen, "phases flag and begin/end/by disagree");
	} else if (len != body) {
		r = fail(err, errlen, "bytes after a task's header");
	}
	if (r) {
		free(buf);
		return r;
	}
	memcpy(t.id, f[F_ID].val, DIST_ID_LEN + 1);
	memcpy(t.run, f[F_RUN].val, DIST_RUN_LEN + 1);
	t.flags = (unsigned)flags;
	t.begin = f[F_BEGIN].val;
	t.end = f[F_END].val;
	t.by = f[F_BY].val;
	t.path = f[F_PATH].val;
	char id[DIST_ID_LEN + 1];
	dist_task_id(&t, id);
	if (strcmp(id, t.id)) {
		free(buf);
		return fail(err, errlen, "the task's id is not its fields' hash");
	}
	*ret = t;
	*ret_buf = buf;
	return 0;
}

int dist_result_parse(const void *msg, size_t len, struct dist_result *ret, char **ret_buf,
		      char *err, size_t errlen)
{
	enum { R_ID, R_RUN, R_INDEX, R_WORKER, R_ERROR, R_FILE, R_SIZE };
	struct field f[] = {{"id", NULL},    {"run", NULL},  {"index", NULL}, {"worker", NULL},
			    {"error", NULL}, {"file", NULL}, {"size", NULL}};
	char *buf = NULL;
	size_t body = 0;
	int r = split(msg, len, RESULT_MAGIC, f, sizeof(f) / sizeof(f[0]), &buf, &body, err,
		      errlen);
	if (r)
		return r;
	struct dist_result res = {0};
	int forms = !!f[R_ERROR].val + !!f[R_FILE].val + !!f[R_SIZE].val;
	if (!hex_id(f[R_ID].val, DIST_ID_LEN) || !hex_id(f[R_RUN].val, DIST_RUN_LEN)) {
		r = fail(err, errlen, "bad or missing id or run");
	} else if (!number(f[R_INDEX].val, UINT32_MAX, &res.index)) {
		r = fail(err, errlen, "bad or missing index");
	} else if (!f[R_WORKER].val) {
		r = fail(err, errlen, "missing worker");
	} else if (forms != 1) {
		r = fail(err, errlen, "a result holds exactly one of error, file, size");
	} else if (f[R_FILE].val && f[R_FILE].val[0] != '/') {
		r = fail(err, errlen, "file not absolute");
	} else if (f[R_SIZE].val) {
		uint64_t size;
		if (!number(f[R_SIZE].val, SIZE_MAX, &size) || size != len - body)
			r = fail(err, errlen, "size disagrees with the message's length");
		res.size = (size_t)size;
		res.data = (const char *)msg + body;
	} else if (len != body) {
		r = fail(err, errlen, "bytes after a result's header");
	}
	if (r) {
		free(buf);
		return r;
	}
	memcpy(res.id, f[R_ID].val, DIST_ID_LEN + 1);
	memcpy(res.run, f[R_RUN].val, DIST_RUN_LEN + 1);
	res.worker = f[R_WORKER].val;
	res.error = f[R_ERROR].val;
	res.file = f[R_FILE].val;
	*ret = res;
	*ret_buf = buf;
	return 0;
}

int dist_chunk_parse(const void *msg, size_t len, struct dist_chunk *ret, char **ret_buf, char *err,
		     size_t errlen)
{
	enum { C_ID, C_SESSION, C_INDEX, C_PATH, C_RUN };
	struct field f[] = {
		{"id", NULL}, {"session", NULL}, {"index", NULL}, {"path", NULL}, {"run", NULL}};
	char *buf = NULL;
	size_t body = 0;
	int r = split(msg, len, CHUNK_MAGIC, f, sizeof(f) / sizeof(f[0]), &buf, &body, err, errlen);
	if (r)
		return r;
	struct dist_chunk c = {0};
	if (!hex_id(f[C_ID].val, DIST_ID_LEN) || !f[C_SESSION].val) {
		r = fail(err, errlen, "bad or missing id or session");
	} else if (f[C_RUN].val && !hex_id(f[C_RUN].val, DIST_ID_LEN)) {
		r = fail(err, errlen, "bad run");
	} else if (!number(f[C_INDEX].val, UINT32_MAX, &c.index)) {
		r = fail(err, errlen, "bad or missing index");
	} else if (!f[C_PATH].val || f[C_PATH].val[0] != '/') {
		r = fail(err, errlen, "bad or missing path (absolute)");
	} else if (len != body) {
		r = fail(err, errlen, "bytes after a chunk's header");
	}
	if (r) {
		free(buf);
		return r;
	}
	memcpy(c.id, f[C_ID].val, DIST_ID_LEN + 1);
	c.session = f[C_SESSION].val;
	c.run = f[C_RUN].val;
	c.path = f[C_PATH].val;
	*ret = c;
	*ret_buf = buf;
	return 0;
}
