/* SPDX-License-Identifier: MIT */
/*
 * The filter language of `reel view --filter`: comparisons of event fields
 * (payload, then event and stream contexts, then packet context) and of the
 * event's `name` with numbers and strings, combined with && || ! and
 * parentheses. `=~` and `!~` match a string against a glob.
 *
 *   tid == 42 && name =~ "foo*"      !(cpu_id == 1) || size >= 0x1000
 *
 * A comparison with a field the event lacks is false. Parsed once into a
 * small tree; evaluation allocates nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader-local.h"

enum fop { F_OR, F_AND, F_NOT, F_CMP, F_TRUTH };
enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_MATCH, C_NMATCH };
enum operand_kind { O_FIELD, O_NAME, O_INT, O_FLOAT, O_STR };

struct operand {
	enum operand_kind kind;
	char *s;          /* field name or string */
	int64_t i;
	bool big;         /* integer above INT64_MAX, in u */
	uint64_t u;
	double d;
};

struct fnode {
	enum fop op;
	enum cmp cmp;
	struct fnode *a, *b;
	struct operand l, r;
};

struct filter {
	struct fnode *root;
};

struct fparser {
	const char *p;
	const char *start;
	char *err;
	size_t errlen;
	int error;
	unsigned depth;
};

static int ffail(struct fparser *fp, const char *msg)
{
	if (!fp->error) {
		snprintf(fp->err, fp->errlen, "filter: %s at column %zu", msg, (size_t)(fp->p - fp->start) + 1);
		fp->error = -EINVAL;
	}
	return fp->error;
}

static void skip_ws(struct fparser *fp)
{
	while (*fp->p == ' ' || *fp->p == '\t' || *fp->p == '\n')
		fp->p++;
}

static void node_free(struct fnode *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->l.s);
	free(n->r.s);
	free(n);
}

static struct fnode *new_node(struct fparser *fp, enum fop op)
{
	struct fnode *n = calloc(1, sizeof(*n));
	if (!n && !fp->error) {
		snprintf(fp->err, fp->errlen, "out of memory");
		fp->error = -ENOMEM;
	}
	if (n)
		n->op = op;
	return n;
}

static bool ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
	       (!first && ((c >= '0' && c <= '9') || c == '.' || c == ':'));
}

static int parse_operand(struct fparser *fp, struct operand *o)
{
	skip_ws(fp);
	const char *p = fp->p;
	memset(o, 0, sizeof(*o));
	if (*p == '"' || *p == '\'') {
		char q = *p++;
		size_t cap = strlen(p) + 1, n = 0;
		char *s = malloc(cap);
		if (!s)
			return ffail(fp, "out of memory");
		while (*p && *p != q) {
			char c = *p++;
			if (c == '\\') {
				if (!*p) {
					free(s);
					fp->p = p;
					return ffail(fp, "unterminated string");
				}
				c = *p++;
				if (c == 'n')
					c = '\n';
				else if (c == 't')
					c = '\t';
			}
			s[n++] = c;
		}
		if (*p != q) {
			free(s);
			fp->p = p;
			return ffail(fp, "unterminated string");
		}
		s[n] = 0;
		o->kind = O_STR;
		o->s = s;
		fp->p = p + 1;
		return 0;
	}
	if ((*p >= '0' && *p <= '9') || ((*p == '-' || *p == '+') && p[1] >= '0' && p[1] <= '9') ||
	    (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
		char *end;
		errno = 0;
		bool neg = *p == '-';
		const char *q = p + (*p == '-' || *p == '+');
		unsigned long long u = strtoull(q, &end, 0);
		if (errno == 0 && end != q && *end != '.' && *end != 'e' && *end != 'E') {
			if (neg) {
				if (u > (unsigned long long)INT64_MAX + 1)
					return ffail(fp, "integer out of range");
				o->i = (int64_t)(0 - (uint64_t)u);
			} else if (u > INT64_MAX) {
				o->big = true;
				o->u = u;
			} else {
				o->i = (int64_t)u;
			}
			o->kind = O_INT;
			fp->p = end;
			return 0;
		}
		errno = 0;
		double d = strtod(p, &end);
		if (errno || end == p)
			return ffail(fp, "invalid number");
		o->kind = O_FLOAT;
		o->d = d;
		fp->p = end;
		return 0;
	}
	if (ident_char(*p, true)) {
		const char *s = p;
		while (ident_char(*p, false))
			p++;
		size_t n = (size_t)(p - s);
		o->s = strndup(s, n);
		if (!o->s)
			return ffail(fp, "out of memory");
		o->kind = n == 4 && !memcmp(s, "name", 4) ? O_NAME : O_FIELD;
		/* context prefixes of babeltrace/lttng filters: $ctx.x, $pctx.x, event.fields.x */
		static const char *const prefixes[] = { "$ctx.", "$pctx.", "$app.", "event.fields.",
							"event.context.", "stream.packet.context." };
		for (size_t k = 0; k < REEL_ARRAY_SIZE(prefixes); k++) {
			size_t l = strlen(prefixes[k]);
			if (n > l && !strncmp(o->s, prefixes[k], l)) {
				memmove(o->s, o->s + l, n - l + 1);
				o->kind = O_FIELD;
				break;
			}
		}
		fp->p = p;
		return 0;
	}
	fp->p = p;
	return ffail(fp, *p ? "unexpected character" : "unexpected end of expression");
}

static struct fnode *parse_or(struct fparser *fp);

static struct fnode *parse_unary(struct fparser *fp)
{
	skip_ws(fp);
	if (++fp->depth > 200) {
		ffail(fp, "expression nested too deeply");
		return NULL;
	}
	struct fnode *n = NULL;
	if (*fp->p == '!' && fp->p[1] != '=' && fp->p[1] != '~') {
		fp->p++;
		struct fnode *a = parse_unary(fp);
		if (!a)
			goto out;
		n = new_node(fp, F_NOT);
		if (!n) {
			node_free(a);
			goto out;
		}
		n->a = a;
		goto out;
	}
	if (*fp->p == '(') {
		fp->p++;
		n = parse_or(fp);
		if (!n)
			goto out;
		skip_ws(fp);
		if (*fp->p != ')') {
			node_free(n);
			n = NULL;
			ffail(fp, "expected ')'");
			goto out;
		}
		fp->p++;
		goto out;
	}
	n = new_node(fp, F_TRUTH);
	if (!n)
		goto out;
	if (parse_operand(fp, &n->l)) {
		node_free(n);
		n = NULL;
		goto out;
	}
	skip_ws(fp);
	static const struct { const char *s; enum cmp c; } ops[] = {
		{ "==", C_EQ }, { "!=", C_NE }, { "<=", C_LE }, { ">=", C_GE }, { "=~", C_MATCH },
		{ "!~", C_NMATCH }, { "<", C_LT }, { ">", C_GT }, { "=", C_EQ },
	};
	for (size_t k = 0; k < REEL_ARRAY_SIZE(ops); k++) {
		size_t l = strlen(ops[k].s);
		if (!strncmp(fp->p, ops[k].s, l)) {
			fp->p += l;
			n->op = F_CMP;
			n->cmp = ops[k].c;
			if (parse_operand(fp, &n->r)) {
				node_free(n);
				n = NULL;
				goto out;
			}
			if ((n->cmp == C_MATCH || n->cmp == C_NMATCH) && n->r.kind != O_STR) {
				node_free(n);
				n = NULL;
				ffail(fp, "=~ and !~ need a string pattern");
			}
			goto out;
		}
	}
	if (n->l.kind != O_FIELD && n->l.kind != O_NAME) {
		node_free(n);
		n = NULL;
		ffail(fp, "expected a comparison");
	}
out:
	fp->depth--;
	return n;
}

static struct fnode *parse_binary(struct fparser *fp, bool is_or)
{
	struct fnode *l = is_or ? parse_binary(fp, false) : parse_unary(fp);
	while (l) {
		skip_ws(fp);
		const char *op = is_or ? "||" : "&&";
		if (strncmp(fp->p, op, 2))
			break;
		fp->p += 2;
		struct fnode *r = is_or ? parse_binary(fp, false) : parse_unary(fp);
		if (!r) {
			node_free(l);
			return NULL;
		}
		struct fnode *n = new_node(fp, is_or ? F_OR : F_AND);
		if (!n) {
			node_free(l);
			node_free(r);
			return NULL;
		}
		n->a = l;
		n->b = r;
		l = n;
	}
	return l;
}

static struct fnode *parse_or(struct fparser *fp)
{
	return parse_binary(fp, true);
}

int filter_parse(const char *expr, struct filter **ret, char *err, size_t errlen)
{
	struct fparser fp = { .p = expr, .start = expr, .err = err, .errlen = errlen };
	struct fnode *root = parse_or(&fp);
	if (root) {
		skip_ws(&fp);
		if (*fp.p) {
			ffail(&fp, "unexpected text after the expression");
			node_free(root);
			root = NULL;
		}
	}
	if (!root)
		return fp.error ? fp.error : -EINVAL;
	struct filter *f = malloc(sizeof(*f));
	if (!f) {
		node_free(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->root = root;
	*ret = f;
	return 0;
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	node_free(f->root);
	free(f);
}

/* ---- evaluation ----------------------------------------------------------------- */

struct fval {
	enum operand_kind kind; /* O_INT, O_FLOAT, O_STR */
	bool uns;               /* O_INT: unsigned, in u */
	int64_t i;
	uint64_t u;
	double d;
	const char *s;
	size_t slen;
	const char *label;      /* enum: the first label of the value */
};

static bool get_val(const struct operand *o, const struct reel_event *ev, struct fval *v)
{
	memset(v, 0, sizeof(*v));
	switch (o->kind) {
	case O_INT:
		v->kind = O_INT;
		if (o->big) {
			v->uns = true;
			v->u = o->u;
		} else {
			v->i = o->i;
		}
		return true;
	case O_FLOAT:
		v->kind = O_FLOAT;
		v->d = o->d;
		return true;
	case O_STR:
		v->kind = O_STR;
		v->s = o->s;
		v->slen = strlen(o->s);
		return true;
	case O_NAME: {
		const char *n = ev->s->ec->name ? ev->s->ec->name : "";
		/* a field named "name" wins over the event name only when asked as $ctx.name */
		v->kind = O_STR;
		v->s = n;
		v->slen = strlen(n);
		return true;
	}
	case O_FIELD:
		break;
	}
	const struct rval *rv = event_find_field(ev, o->s);
	if (!rv)
		return false;
	const struct plan_node *p = rv->p;
	switch (p->op) {
	case OP_INT_U8:
	case OP_INT_U16:
	case OP_INT_U32:
	case OP_INT_U64:
	case OP_INT_BITS:
		v->kind = O_INT;
		if (p->sign) {
			v->i = rv->s;
		} else if (rv->u > INT64_MAX) {
			v->uns = true;
			v->u = rv->u;
		} else {
			v->i = (int64_t)rv->u;
		}
		if (p->type->kind == CTF_ENUM) {
			const struct ctf_type *t = p->type;
			for (size_t m = 0; m < t->nmap && !v->label; m++) {
				bool in = t->sign ? (int64_t)rv->u >= (int64_t)t->map[m].lo &&
							    (int64_t)rv->u <= (int64_t)t->map[m].hi
						  : rv->u >= t->map[m].lo && rv->u <= t->map[m].hi;
				if (in)
					v->label = t->map[m].label;
			}
		}
		return true;
	case OP_FLOAT32:
	case OP_FLOAT64:
		v->kind = O_FLOAT;
		v->d = rv->d;
		return true;
	case OP_STRING:
	case OP_TEXT_ARRAY:
	case OP_TEXT_SEQ:
		v->kind = O_STR;
		v->s = rv->str.ptr;
		v->slen = rv->str.len;
		return true;
	default:
		return false;
	}
}

static double as_double(const struct fval *v)
{
	if (v->kind == O_FLOAT)
		return v->d;
	return v->uns ? (double)v->u : (double)v->i;
}

/* -1, 0, 1; or 2 when not comparable */
static int compare(const struct fval *a, const struct fval *b)
{
	if (a->kind == O_STR || b->kind == O_STR) {
		const char *as = a->s, *bs = b->s;
		size_t al = a->slen, bl = b->slen;
		if (a->kind != O_STR) {
			if (!a->label)
				return 2;
			as = a->label;
			al = strlen(as);
		}
		if (b->kind != O_STR) {
			if (!b->label)
				return 2;
			bs = b->label;
			bl = strlen(bs);
		}
		int c = memcmp(as, bs, al < bl ? al : bl);
		if (!c)
			c = al < bl ? -1 : al > bl;
		return c < 0 ? -1 : c > 0;
	}
	if (a->kind == O_FLOAT || b->kind == O_FLOAT) {
		double x = as_double(a), y = as_double(b);
		if (x != x || y != y)
			return 2;
		return x < y ? -1 : x > y;
	}
	if (a->uns || b->uns) {
		if (a->uns && b->uns)
			return a->u < b->u ? -1 : a->u > b->u;
		if (a->uns)
			return 1;
		return -1;
	}
	return a->i < b->i ? -1 : a->i > b->i;
}

static bool eval(const struct fnode *n, const struct reel_event *ev)
{
	switch (n->op) {
	case F_OR:
		return eval(n->a, ev) || eval(n->b, ev);
	case F_AND:
		return eval(n->a, ev) && eval(n->b, ev);
	case F_NOT:
		return !eval(n->a, ev);
	case F_TRUTH: {
		struct fval v;
		if (!get_val(&n->l, ev, &v))
			return false;
		if (v.kind == O_STR)
			return v.slen > 0;
		if (v.kind == O_FLOAT)
			return v.d != 0;
		return v.uns || v.i != 0;
	}
	case F_CMP:
		break;
	}
	struct fval a, b;
	if (!get_val(&n->l, ev, &a) || !get_val(&n->r, ev, &b))
		return false;
	if (n->cmp == C_MATCH || n->cmp == C_NMATCH) {
		const char *s = a.kind == O_STR ? a.s : a.label;
		if (!s)
			return false;
		char buf[4096];
		size_t len = a.kind == O_STR ? a.slen : strlen(s);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, s, len);
		buf[len] = 0;
		bool m = fnmatch(b.s, buf, 0) == 0;
		return n->cmp == C_MATCH ? m : !m;
	}
	int c = compare(&a, &b);
	if (c == 2)
		return n->cmp == C_NE;
	switch (n->cmp) {
	case C_EQ: return c == 0;
	case C_NE: return c != 0;
	case C_LT: return c < 0;
	case C_LE: return c <= 0;
	case C_GT: return c > 0;
	case C_GE: return c >= 0;
	default: return false;
	}
}

bool filter_match(const struct filter *f, const struct reel_event *ev)
{
	return eval(f->root, ev);
}
