/* SPDX-License-Identifier: MIT */
/*
 * Decoding plans: the type model of each scope (packet header and context,
 * event header and contexts, payload) instantiated once per stream and
 * event class, with byte orders, decoding operations, field meanings,
 * sequence lengths and variant tags (dynamic scope paths) resolved to value
 * registers, and what babeltrace2 shows of each field (its "trace IR").
 * The decoder (decode.c) walks these, never the metadata.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader-local.h"

struct compiler {
	struct ctf_meta *m;
	char *err;
	size_t errlen;
	int error;
	struct ctf_clock *default_clock;
};

static int cfail(struct compiler *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cfail(struct compiler *c, const char *fmt, ...)
{
	if (c->error)
		return c->error;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	c->error = -EINVAL;
	return c->error;
}

static const char *unescape(const char *name)
{
	return name[0] == '_' ? name + 1 : name;
}

static bool host_be(void)
{
	return __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
}

static struct plan_node *instantiate(struct compiler *c, const struct ctf_type *t, const char *raw,
				     struct plan_node *parent, uint32_t index, unsigned depth)
{
	if (depth > 64) {
		cfail(c, "types nested too deeply");
		return NULL;
	}
	struct plan_node *p = arena_calloc(&c->m->arena, 1, sizeof(*p));
	if (!p) {
		cfail(c, "out of memory");
		return NULL;
	}
	p->type = t;
	p->raw = raw;
	p->name = raw ? unescape(raw) : NULL;
	p->namelen = p->name ? (uint32_t)strlen(p->name) : 0;
	p->parent = parent;
	p->index = index;
	p->reg = -1;
	p->src_reg = -1;
	p->align = t->align ? t->align : 1;
	p->size = t->size;
	p->sign = t->sign;
	p->base = t->base;
	p->clock = t->clock;
	switch (t->kind) {
	case CTF_INT:
	case CTF_ENUM:
		p->be = t->byte_order == CTF_BO_NATIVE ? c->m->be : t->byte_order == CTF_BO_BE;
		if (t->size > 64)
			p->op = OP_INT_BIG;
		else if (p->be == host_be() && p->align % 8 == 0 &&
			 (t->size == 8 || t->size == 16 || t->size == 32 || t->size == 64))
			p->op = t->size == 8 ? OP_INT_U8 : t->size == 16 ? OP_INT_U16 :
				t->size == 32 ? OP_INT_U32 : OP_INT_U64;
		else
			p->op = OP_INT_BITS;
		break;
	case CTF_FLOAT:
		p->be = t->byte_order == CTF_BO_NATIVE ? c->m->be : t->byte_order == CTF_BO_BE;
		p->op = t->size == 32 ? OP_FLOAT32 : OP_FLOAT64;
		break;
	case CTF_STRING:
		p->op = OP_STRING;
		p->align = 8;
		break;
	case CTF_STRUCT:
	case CTF_VARIANT:
		p->op = t->kind == CTF_STRUCT ? OP_STRUCT : OP_VARIANT;
		p->nkids = (uint32_t)t->nfields;
		p->kids = arena_calloc(&c->m->arena, t->nfields ? t->nfields : 1, sizeof(*p->kids));
		if (!p->kids) {
			cfail(c, "out of memory");
			return NULL;
		}
		for (size_t i = 0; i < t->nfields; i++) {
			p->kids[i] = instantiate(c, t->fields[i].type, t->fields[i].name, p, (uint32_t)i,
						 depth + 1);
			if (!p->kids[i])
				return NULL;
		}
		if (t->kind == CTF_VARIANT)
			p->align = 1; /* the selected option aligns itself */
		break;
	case CTF_ARRAY:
	case CTF_SEQ: {
		const struct ctf_type *e = t->elem;
		bool text = (e->kind == CTF_INT || e->kind == CTF_ENUM) && e->text && e->size == 8 &&
			    e->align % 8 == 0 && e->kind == CTF_INT;
		p->op = t->kind == CTF_ARRAY ? (text ? OP_TEXT_ARRAY : OP_ARRAY)
					     : (text ? OP_TEXT_SEQ : OP_SEQ);
		p->length = t->length;
		p->nkids = 1;
		p->kids = arena_calloc(&c->m->arena, 1, sizeof(*p->kids));
		if (!p->kids) {
			cfail(c, "out of memory");
			return NULL;
		}
		p->kids[0] = instantiate(c, e, NULL, p, 0, depth + 1);
		if (!p->kids[0])
			return NULL;
		p->align = p->kids[0]->align;
		break;
	}
	}
	return p;
}

/* ---- dynamic scope paths ----------------------------------------------------- */

enum { R_PH, R_PC, R_EH, R_EC, R_CTX, R_F, R_N };

struct roots {
	struct plan_node *r[R_N];
};

static bool name_eq(const struct plan_node *p, const char *seg, size_t n)
{
	if (!p->raw)
		return false;
	if (strlen(p->raw) == n && !memcmp(p->raw, seg, n))
		return true;
	return strlen(p->name) == n && !memcmp(p->name, seg, n);
}

/* Follow the segments of `path` down from struct `p`. */
static struct plan_node *descend(struct plan_node *p, const char *path, uint32_t before)
{
	const char *seg = path;
	bool first = true;
	while (p) {
		const char *dot = strchr(seg, '.');
		size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
		if (p->op != OP_STRUCT)
			return NULL;
		struct plan_node *found = NULL;
		uint32_t limit = first ? before : p->nkids;
		for (uint32_t i = 0; i < limit && i < p->nkids; i++)
			if (name_eq(p->kids[i], seg, n))
				found = p->kids[i];
		if (!found)
			return NULL;
		if (!dot)
			return found;
		p = found;
		seg = dot + 1;
		first = false;
	}
	return NULL;
}

static bool suitable(const struct plan_node *node, const struct plan_node *t)
{
	if (node->op == OP_VARIANT)
		return t->type->kind == CTF_ENUM;
	return t->type->kind == CTF_INT;
}

static struct plan_node *resolve(struct compiler *c, struct plan_node *node, const struct roots *roots,
				 int root_idx)
{
	const char *path = node->type->path;
	static const struct { const char *prefix; int root; } abs[] = {
		{ "trace.packet.header.", R_PH }, { "stream.packet.context.", R_PC },
		{ "stream.event.header.", R_EH }, { "stream.event.context.", R_EC },
		{ "event.context.", R_CTX }, { "event.fields.", R_F },
	};
	for (size_t i = 0; i < REEL_ARRAY_SIZE(abs); i++) {
		size_t l = strlen(abs[i].prefix);
		if (!strncmp(path, abs[i].prefix, l)) {
			if (abs[i].root > root_idx || !roots->r[abs[i].root])
				return NULL;
			return descend(roots->r[abs[i].root], path + l, UINT32_MAX);
		}
	}
	(void)c;
	/* relative: enclosing structures, innermost first, fields declared before */
	const struct plan_node *child = node;
	struct plan_node *first = NULL;
	for (struct plan_node *a = node->parent; a; child = a, a = a->parent) {
		if (a->op != OP_STRUCT)
			continue;
		struct plan_node *f = descend(a, path, child->index);
		/* a type defined where another field had this name: keep looking */
		if (f && suitable(node, f))
			return f;
		if (f && !first)
			first = f;
	}
	if (first)
		return first;
	/* then the earlier scopes */
	for (int r = root_idx - 1; r >= 0; r--) {
		if (!roots->r[r])
			continue;
		struct plan_node *f = descend(roots->r[r], path, UINT32_MAX);
		if (f)
			return f;
	}
	return NULL;
}

static bool is_under(const struct plan_node *p, const struct plan_node *anc)
{
	for (; p; p = p->parent)
		if (p == anc)
			return true;
	return false;
}

static int resolve_tree(struct compiler *c, struct plan_node *p, const struct roots *roots, int root_idx)
{
	if (!p)
		return 0;
	if (p->op == OP_SEQ || p->op == OP_TEXT_SEQ || p->op == OP_VARIANT) {
		bool seq = p->op != OP_VARIANT;
		if (!p->type->path)
			return cfail(c, "variant '%s' without a tag", p->name ? p->name : "");
		struct plan_node *t = resolve(c, p, roots, root_idx);
		if (!t || is_under(p, t) || t == p)
			return cfail(c, "%s '%s': cannot find the %s field '%s'", seq ? "sequence" : "variant",
				     p->name ? p->name : "", seq ? "length" : "tag", p->type->path);
		if (seq && (t->type->kind != CTF_INT || t->size > 64))
			return cfail(c, "sequence '%s': length '%s' is not an integer",
				     p->name ? p->name : "", p->type->path);
		if (seq && t->sign)
			return cfail(c, "sequence '%s': length '%s' is signed", p->name ? p->name : "",
				     p->type->path);
		if (!seq && t->type->kind != CTF_ENUM)
			return cfail(c, "variant '%s': tag '%s' is not an enumeration", p->name ? p->name : "",
				     p->type->path);
		if (t->reg < 0)
			t->reg = (int32_t)c->m->nregs++;
		p->src_reg = t->reg;
		p->src = t;
		if (!seq) {
			const struct ctf_type *e = t->type;
			p->ranges = arena_calloc(&c->m->arena, e->nmap ? e->nmap : 1, sizeof(*p->ranges));
			if (!p->ranges)
				return cfail(c, "out of memory");
			for (size_t i = 0; i < e->nmap; i++) {
				const char *label = e->map[i].label;
				for (uint32_t k = 0; k < p->nkids; k++) {
					const char *raw = p->kids[k]->raw;
					if (!strcmp(raw, label) || !strcmp(unescape(raw), unescape(label))) {
						p->ranges[p->nranges].lo = e->map[i].lo;
						p->ranges[p->nranges].hi = e->map[i].hi;
						p->ranges[p->nranges].option = k;
						p->nranges++;
						break;
					}
				}
			}
			if (p->nranges == 0)
				return cfail(c, "variant '%s': no option matches a label of its tag '%s'",
					     p->name ? p->name : "", p->type->path);
		}
	}
	for (uint32_t i = 0; i < p->nkids; i++)
		if (resolve_tree(c, p->kids[i], roots, root_idx))
			return c->error;
	return 0;
}

/* ---- meanings ------------------------------------------------------------------ */

static struct plan_node *member(struct plan_node *st, const char *name)
{
	if (!st || st->op != OP_STRUCT)
		return NULL;
	for (uint32_t i = 0; i < st->nkids; i++)
		if (st->kids[i]->name && !strcmp(st->kids[i]->name, name))
			return st->kids[i];
	return NULL;
}

static bool is_int(const struct plan_node *p)
{
	return p && (p->type->kind == CTF_INT || p->type->kind == CTF_ENUM) && p->size <= 64;
}

static void mark_ids(struct plan_node *p, const char *name)
{
	if (!p)
		return;
	if (is_int(p) && name && !strcmp(name, "id"))
		p->flags |= PF_EVENT_ID;
	for (uint32_t i = 0; i < p->nkids; i++)
		mark_ids(p->kids[i], p->op == OP_STRUCT ? p->kids[i]->name : NULL);
}

static void mark_clocks(struct plan_node *p)
{
	if (!p)
		return;
	if (is_int(p) && p->clock && !(p->flags & PF_TS_END))
		p->flags |= PF_CLOCK;
	for (uint32_t i = 0; i < p->nkids; i++)
		mark_clocks(p->kids[i]);
}

static struct ctf_clock *default_clock(struct compiler *c)
{
	struct ctf_meta *m = c->m;
	if (m->nclocks == 1)
		return m->clocks[0];
	if (m->nclocks > 1) {
		cfail(c, "timestamp field not mapped to a clock, and several clocks are defined");
		return NULL;
	}
	if (!c->default_clock) {
		struct ctf_clock *k = arena_calloc(&m->arena, 1, sizeof(*k));
		if (!k) {
			cfail(c, "out of memory");
			return NULL;
		}
		k->name = "default";
		k->freq = 1000000000;
		c->default_clock = k;
	}
	return c->default_clock;
}

static int automap(struct compiler *c, struct plan_node *p)
{
	if (p && is_int(p) && !p->clock) {
		p->clock = default_clock(c);
		if (!p->clock)
			return c->error;
	}
	return 0;
}

/* babeltrace2 maps every integer named `name` in the structures and
 * variants of a scope (not in arrays) to the trace's clock. */
static int automap_named(struct compiler *c, struct plan_node *p, const char *name)
{
	if (!p || (p->op != OP_STRUCT && p->op != OP_VARIANT))
		return 0;
	for (uint32_t i = 0; i < p->nkids; i++) {
		struct plan_node *k = p->kids[i];
		if (k->name && !strcmp(k->name, name) && automap(c, k))
			return c->error;
		if (automap_named(c, k, name))
			return c->error;
	}
	return 0;
}

static struct ctf_clock *find_clock_in(struct plan_node *p)
{
	if (!p)
		return NULL;
	if (is_int(p) && (p->flags & PF_CLOCK))
		return p->clock;
	for (uint32_t i = 0; i < p->nkids; i++) {
		struct ctf_clock *k = find_clock_in(p->kids[i]);
		if (k)
			return k;
	}
	return NULL;
}

/* ---- babeltrace2's trace IR: what it shows ---------------------------------- */

struct deps {
	const struct plan_node **v;
	size_t n, cap;
};

static bool deps_has(const struct deps *d, const struct plan_node *p)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i] == p)
			return true;
	return false;
}

static int deps_add(struct compiler *c, struct deps *d, const struct plan_node *p)
{
	if (deps_has(d, p))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		const struct plan_node **nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv)
			return cfail(c, "out of memory");
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n++] = p;
	return 0;
}

static void force_ir(struct plan_node *p, bool v)
{
	if (!p)
		return;
	p->in_ir = v;
	for (uint32_t i = 0; i < p->nkids; i++)
		force_ir(p->kids[i], v);
}

static int update_ir(struct compiler *c, struct plan_node *p, struct deps *d)
{
	if (!p)
		return 0;
	switch (p->type->kind) {
	case CTF_INT:
	case CTF_ENUM: {
		bool meaning = p->flags & (PF_EVENT_ID | PF_TS_BEGIN | PF_TS_END | PF_CONTENT_SIZE |
					   PF_PACKET_SIZE | PF_DISCARDED | PF_SEQ_NUM | PF_MAGIC |
					   PF_STREAM_ID | PF_STREAM_INSTANCE);
		if ((!p->clock && !meaning) || deps_has(d, p))
			p->in_ir = true;
		break;
	}
	case CTF_STRUCT:
		if (p->nkids == 0)
			p->in_ir = true;
		for (int64_t i = (int64_t)p->nkids - 1; i >= 0; i--) {
			if (update_ir(c, p->kids[i], d))
				return c->error;
			if (p->kids[i]->in_ir)
				p->in_ir = true;
		}
		break;
	case CTF_VARIANT:
		for (int64_t i = (int64_t)p->nkids - 1; i >= 0; i--) {
			if (update_ir(c, p->kids[i], d))
				return c->error;
			if (p->kids[i]->in_ir)
				p->in_ir = true;
		}
		if (p->in_ir) {
			for (uint32_t i = 0; i < p->nkids; i++)
				p->kids[i]->in_ir = true;
			if (deps_add(c, d, p->src))
				return c->error;
		}
		break;
	case CTF_ARRAY:
	case CTF_SEQ:
		if (update_ir(c, p->kids[0], d))
			return c->error;
		p->in_ir = p->kids[0]->in_ir;
		if (p->flags & PF_UUID) {
			p->in_ir = false;
			p->kids[0]->in_ir = false;
		} else if (p->type->kind == CTF_SEQ && p->in_ir) {
			if (deps_add(c, d, p->src))
				return c->error;
		}
		break;
	default:
		p->in_ir = true;
	}
	return 0;
}

/* ---- entry ---------------------------------------------------------------------- */

static int event_cmp(const void *a, const void *b)
{
	const struct ctf_event_class *x = *(struct ctf_event_class *const *)a;
	const struct ctf_event_class *y = *(struct ctf_event_class *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int ctf_meta_compile(struct ctf_meta *m, char *err, size_t errlen)
{
	struct compiler c = { .m = m, .err = err, .errlen = errlen };
	struct deps d = { 0 };
	struct roots roots = { 0 };

	if (m->packet_header) {
		m->p_packet_header = instantiate(&c, m->packet_header, NULL, NULL, 0, 0);
		if (!m->p_packet_header)
			goto out;
		struct plan_node *ph = m->p_packet_header, *f;
		if ((f = member(ph, "magic")) && is_int(f))
			f->flags |= PF_MAGIC;
		if ((f = member(ph, "stream_id")) && is_int(f))
			f->flags |= PF_STREAM_ID;
		if ((f = member(ph, "stream_instance_id")) && is_int(f))
			f->flags |= PF_STREAM_INSTANCE;
		if ((f = member(ph, "uuid")) && f->op == OP_ARRAY && f->length == 16 &&
		    f->kids[0]->size == 8 && f->kids[0]->op == OP_INT_U8)
			f->flags |= PF_UUID;
		roots.r[R_PH] = ph;
		mark_clocks(ph);
		if (resolve_tree(&c, ph, &roots, R_PH))
			goto out;
	}
	for (struct ctf_stream_class *s = m->streams; s; s = s->next) {
		roots.r[R_PC] = roots.r[R_EH] = roots.r[R_EC] = roots.r[R_CTX] = roots.r[R_F] = NULL;
		if (s->packet_context) {
			struct plan_node *pc = instantiate(&c, s->packet_context, NULL, NULL, 0, 0), *f;
			if (!pc)
				goto out;
			s->p_packet_context = pc;
			static const struct { const char *n; uint16_t f; } pcf[] = {
				{ "timestamp_begin", PF_TS_BEGIN }, { "timestamp_end", PF_TS_END },
				{ "events_discarded", PF_DISCARDED }, { "packet_seq_num", PF_SEQ_NUM },
				{ "packet_size", PF_PACKET_SIZE }, { "content_size", PF_CONTENT_SIZE },
			};
			for (size_t i = 0; i < REEL_ARRAY_SIZE(pcf); i++)
				if ((f = member(pc, pcf[i].n)) && is_int(f))
					f->flags |= pcf[i].f;
			if (automap_named(&c, pc, "timestamp_begin") ||
			    automap_named(&c, pc, "timestamp_end"))
				goto out;
			mark_clocks(pc);
			roots.r[R_PC] = pc;
			if (resolve_tree(&c, pc, &roots, R_PC))
				goto out;
		}
		if (s->event_header) {
			struct plan_node *eh = instantiate(&c, s->event_header, NULL, NULL, 0, 0);
			if (!eh)
				goto out;
			s->p_event_header = eh;
			mark_ids(eh, NULL);
			if (automap_named(&c, eh, "timestamp"))
				goto out;
			mark_clocks(eh);
			roots.r[R_EH] = eh;
			if (resolve_tree(&c, eh, &roots, R_EH))
				goto out;
		}
		if (s->event_context) {
			s->p_event_context = instantiate(&c, s->event_context, NULL, NULL, 0, 0);
			if (!s->p_event_context)
				goto out;
			mark_clocks(s->p_event_context);
			roots.r[R_EC] = s->p_event_context;
			if (resolve_tree(&c, s->p_event_context, &roots, R_EC))
				goto out;
		}
		s->clock = find_clock_in(s->p_packet_context);
		if (!s->clock)
			s->clock = find_clock_in(s->p_event_header);
		size_t nev = 0;
		uint64_t maxid = 0;
		for (struct ctf_event_class *e = s->events; e; e = e->next) {
			roots.r[R_CTX] = roots.r[R_F] = NULL;
			if (e->context) {
				e->p_context = instantiate(&c, e->context, NULL, NULL, 0, 0);
				if (!e->p_context)
					goto out;
				mark_clocks(e->p_context);
				roots.r[R_CTX] = e->p_context;
				if (resolve_tree(&c, e->p_context, &roots, R_CTX))
					goto out;
			}
			if (e->fields) {
				e->p_fields = instantiate(&c, e->fields, NULL, NULL, 0, 0);
				if (!e->p_fields)
					goto out;
				mark_clocks(e->p_fields);
				roots.r[R_F] = e->p_fields;
				if (resolve_tree(&c, e->p_fields, &roots, R_F))
					goto out;
			}
			e->namelen = e->name ? strlen(e->name) : 0;
			update_ir(&c, e->p_fields, &d);
			update_ir(&c, e->p_context, &d);
			nev++;
			if (e->id > maxid)
				maxid = e->id;
		}
		update_ir(&c, s->p_event_context, &d);
		force_ir(s->p_event_header, false);
		update_ir(&c, s->p_packet_context, &d);
		if (c.error)
			goto out;
		/* table by id: dense ids in an array, sparse ones sorted */
		if (nev) {
			bool dense = maxid < 4 * nev + 64;
			size_t n = dense ? (size_t)maxid + 1 : nev;
			s->by_id = calloc(n, sizeof(*s->by_id));
			if (!s->by_id) {
				cfail(&c, "out of memory");
				goto out;
			}
			s->nby_id = n;
			s->by_id_sorted = !dense;
			size_t i = 0;
			for (struct ctf_event_class *e = s->events; e; e = e->next)
				s->by_id[dense ? (size_t)e->id : i++] = e;
			if (!dense)
				qsort(s->by_id, n, sizeof(*s->by_id), event_cmp);
		}
	}
	force_ir(m->p_packet_header, false);
	/* linear programs, now that every register is known; text plans */
	{
		int e = xprog_build(&m->arena, m->p_packet_header, false, &m->x_packet_header);
		for (struct ctf_stream_class *s = m->streams; s && !e; s = s->next) {
			e = text_plan_build(&m->arena, s->p_packet_context);
			e = e ? e : text_plan_build(&m->arena, s->p_event_context);
			for (struct ctf_event_class *ev = s->events; ev && !e; ev = ev->next) {
				e = text_plan_build(&m->arena, ev->p_context);
				e = e ? e : text_plan_build(&m->arena, ev->p_fields);
			}
		}
		for (struct ctf_stream_class *s = m->streams; s && !e; s = s->next) {
			e = xprog_build(&m->arena, s->p_packet_context, false, &s->x_packet_context);
			e = e ? e : xprog_build(&m->arena, s->p_event_header, false, &s->x_event_header);
			e = e ? e : xprog_build_header(&m->arena, s->p_event_header, true, true, &s->s_event_header);
			e = e ? e : xprog_build(&m->arena, s->p_event_header, true, &s->s_event_header_general);
			e = e ? e : xprog_build(&m->arena, s->p_event_context, false, &s->x_event_context);
			e = e ? e : xprog_build(&m->arena, s->p_event_context, true, &s->s_event_context);
			for (struct ctf_event_class *ev = s->events; ev && !e; ev = ev->next) {
				e = xprog_build(&m->arena, ev->p_context, false, &ev->x_context);
				e = e ? e : xprog_build(&m->arena, ev->p_context, true, &ev->s_context);
				e = e ? e : xprog_build(&m->arena, ev->p_fields, false, &ev->x_fields);
				e = e ? e : xprog_build(&m->arena, ev->p_fields, true, &ev->s_fields);
			}
		}
		if (e) {
			cfail(&c, "out of memory");
			goto out;
		}
	}
	/* clock base offsets, as babeltrace2 computes them */
	for (size_t i = 0; i < m->nclocks; i++) {
		struct ctf_clock *k = m->clocks[i];
		int64_t off_s = k->offset_s;
		int64_t f = k->freq > INT64_MAX ? INT64_MAX : (int64_t)k->freq;
		int64_t q = k->offset / f, rem = k->offset % f;
		if (rem < 0) {
			rem += f;
			q--;
		}
		if (__builtin_add_overflow(off_s, q, &off_s) ||
		    __builtin_mul_overflow(off_s, INT64_C(1000000000), &k->base_ns)) {
			cfail(&c, "clock '%s': offset out of range", k->name);
			goto out;
		}
		uint64_t off = (uint64_t)rem;
		k->base_ns += (int64_t)(k->freq == 1000000000 ? off :
			(uint64_t)(1e9 * (double)off / (double)k->freq));
	}
out:
	free(d.v);
	return c.error;
}
