/* SPDX-License-Identifier: MIT */
/*
 * Plans flattened into linear programs (see struct xop in reader-local.h):
 * built once per scope and event class when the metadata is compiled, run
 * for every event by decode.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader-local.h"

struct builder {
	struct arena *a;
	struct xop *ops;
	uint32_t n, cap;
	bool skim;
	int error;
};

static struct xop *emit(struct builder *b, uint8_t code, const struct plan_node *p)
{
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 16;
		struct xop *nv = realloc(b->ops, (size_t)cap * sizeof(*nv));
		if (!nv) {
			b->error = -ENOMEM;
			return NULL;
		}
		b->ops = nv;
		b->cap = cap;
	}
	struct xop *o = &b->ops[b->n++];
	memset(o, 0, sizeof(*o));
	o->code = code;
	o->p = p;
	o->align = p && p->align ? p->align : 1;
	o->reg = -1;
	o->src_reg = -1;
	return o;
}

static bool is_scalar(const struct plan_node *p)
{
	switch (p->op) {
	case OP_INT_U8: case OP_INT_U16: case OP_INT_U32: case OP_INT_U64: case OP_INT_BITS:
	case OP_FLOAT32: case OP_FLOAT64: case OP_INT_BIG:
		return true;
	}
	return false;
}

/* A scalar nothing depends on: skimming only checks its bounds. */
static bool skippable(const struct plan_node *p)
{
	return is_scalar(p) && p->reg < 0 && !p->flags;
}

static void build(struct builder *b, const struct plan_node *p)
{
	struct xop *o;
	if (b->error)
		return;
	if (b->skim && skippable(p)) {
		struct xop *prev = b->n ? &b->ops[b->n - 1] : NULL;
		/* fuse with the previous skip when this field's alignment is
		 * already guaranteed at its end */
		if (prev && prev->code == X_SKIP && prev->align >= p->align && prev->size % p->align == 0 &&
		    p->align <= prev->align && UINT32_MAX - prev->size > p->size) {
			prev->size += p->size;
			return;
		}
		o = emit(b, X_SKIP, p);
		if (o)
			o->size = p->size;
		return;
	}
	switch (p->op) {
	case OP_INT_U8: case OP_INT_U16: case OP_INT_U32: case OP_INT_U64: case OP_INT_BITS:
	case OP_INT_BIG: case OP_FLOAT32: case OP_FLOAT64: case OP_STRING: {
		static const uint8_t map[] = {
			[OP_INT_U8] = X_U8, [OP_INT_U16] = X_U16, [OP_INT_U32] = X_U32,
			[OP_INT_U64] = X_U64, [OP_INT_BITS] = X_BITS, [OP_INT_BIG] = X_BIG,
			[OP_FLOAT32] = X_F32, [OP_FLOAT64] = X_F64, [OP_STRING] = X_STRING,
		};
		o = emit(b, map[p->op], p);
		if (!o)
			return;
		o->size = p->size;
		o->sign = p->sign;
		o->be = p->be;
		o->reg = p->reg;
		o->flags = p->flags;
		return;
	}
	case OP_TEXT_ARRAY:
	case OP_TEXT_SEQ:
		o = emit(b, p->op == OP_TEXT_ARRAY ? X_TEXT_ARRAY : X_TEXT_SEQ, p);
		if (!o)
			return;
		o->length = p->length;
		o->src_reg = p->src_reg;
		return;
	case OP_STRUCT:
		if (b->skim) {
			if (p->align > 1 && (o = emit(b, X_ALIGN, p)))
				o->align = p->align;
		} else {
			emit(b, X_BEGIN, p);
		}
		for (uint32_t i = 0; i < p->nkids; i++)
			build(b, p->kids[i]);
		if (!b->skim && (o = emit(b, X_END, p)))
			o->align = 1;
		return;
	case OP_ARRAY:
	case OP_SEQ: {
		const struct plan_node *e = p->kids[0];
		if (b->skim && skippable(e) && e->op != OP_INT_BIG && e->size % e->align == 0) {
			o = emit(b, p->op == OP_ARRAY ? X_SKIPN : X_SKIPN_SEQ, p);
			if (!o)
				return;
			o->align = e->align;
			o->size = e->size;
			o->length = p->length;
			o->src_reg = p->src_reg;
			return;
		}
		uint32_t at = b->n;
		o = emit(b, p->op == OP_ARRAY ? X_ARRAY : X_SEQ, p);
		if (!o)
			return;
		o->length = p->length;
		o->src_reg = p->src_reg;
		uint32_t body = b->n;
		build(b, e);
		o = emit(b, X_LOOP, p);
		if (!o)
			return;
		o->align = 1;
		o->jump = body;
		b->ops[at].jump = b->n; /* past the loop */
		return;
	}
	case OP_VARIANT: {
		uint32_t at = b->n;
		o = emit(b, X_VARIANT, p);
		if (!o)
			return;
		o->align = 1;
		o->src_reg = p->src_reg;
		uint32_t *targets = arena_calloc(b->a, p->nkids ? p->nkids : 1, sizeof(*targets));
		uint32_t *ends = calloc(p->nkids ? p->nkids : 1, sizeof(*ends));
		if (!targets || !ends) {
			free(ends);
			b->error = -ENOMEM;
			return;
		}
		b->ops[at].targets = targets;
		for (uint32_t k = 0; k < p->nkids; k++) {
			targets[k] = b->n;
			build(b, p->kids[k]);
			ends[k] = b->n;
			if (!emit(b, X_VEND, p))
				break;
			b->ops[b->n - 1].align = 1;
		}
		if (!b->error)
			for (uint32_t k = 0; k < p->nkids; k++)
				b->ops[ends[k]].jump = b->n;
		free(ends);
		return;
	}
	}
}

static bool int_leaf(const struct plan_node *p)
{
	switch (p->op) {
	case OP_INT_U8: case OP_INT_U16: case OP_INT_U32: case OP_INT_U64: case OP_INT_BITS:
		return p->size >= 1 && p->size <= 64;
	}
	return false;
}

static void set_xint(struct xint *x, const struct plan_node *p)
{
	x->align = p->align ? p->align : 1;
	x->size = p->size;
	x->be = p->be;
	x->sign = p->sign;
	x->flags = p->flags;
	x->reg = p->reg;
	x->p = p;
}

/* struct { int tag; variant <tag> { struct { int...; } a; struct {...} b; } } */
static const struct xheader *match_header(struct arena *a, const struct plan_node *root)
{
	if (!root || root->op != OP_STRUCT || root->nkids != 2)
		return NULL;
	const struct plan_node *tag = root->kids[0], *var = root->kids[1];
	if (!int_leaf(tag) || var->op != OP_VARIANT || var->src != tag || var->nkids < 1 || var->nkids > 2)
		return NULL;
	for (uint32_t k = 0; k < var->nkids; k++) {
		const struct plan_node *o = var->kids[k];
		if (o->op != OP_STRUCT || o->nkids > XHEADER_MAX_INTS)
			return NULL;
		for (uint32_t i = 0; i < o->nkids; i++)
			if (!int_leaf(o->kids[i]))
				return NULL;
	}
	struct xheader *h = arena_calloc(a, 1, sizeof(*h));
	if (!h)
		return NULL;
	h->align = root->align ? root->align : 1;
	set_xint(&h->tag, tag);
	h->variant = var;
	h->nopts = var->nkids;
	for (uint32_t k = 0; k < var->nkids; k++) {
		const struct plan_node *o = var->kids[k];
		h->opt[k].align = o->align ? o->align : 1;
		h->opt[k].n = o->nkids;
		for (uint32_t i = 0; i < o->nkids; i++)
			set_xint(&h->opt[k].ints[i], o->kids[i]);
	}
	return h;
}

int xprog_build(struct arena *a, const struct plan_node *root, bool skim, struct xprog *ret)
{
	return xprog_build_header(a, root, skim, false, ret);
}

int xprog_build_header(struct arena *a, const struct plan_node *root, bool skim, bool fuse,
		       struct xprog *ret)
{
	struct builder b = { .a = a, .skim = skim };
	const struct xheader *h = skim && fuse ? match_header(a, root) : NULL;
	if (h) {
		struct xop *o = emit(&b, X_HEADER, root);
		if (o) {
			o->align = 1;
			o->hdr = h;
		}
	} else if (root) {
		build(&b, root);
	}
	struct xop *o = emit(&b, X_RET, NULL);
	if (o)
		o->align = 1;
	if (b.error) {
		free(b.ops);
		return b.error;
	}
	ret->ops = arena_calloc(a, b.n, sizeof(*ret->ops));
	if (!ret->ops) {
		free(b.ops);
		return -ENOMEM;
	}
	memcpy(ret->ops, b.ops, (size_t)b.n * sizeof(*ret->ops));
	ret->n = b.n;
	ret->flat = true;
	for (uint32_t i = 0; i < b.n; i++) {
		const struct xop *op = &b.ops[i];
		if (skim && op->code != X_SKIP && op->code != X_ALIGN && op->code != X_STRING && op->code != X_RET)
			ret->flat = false;
		if (!skim && op->code != X_BEGIN && op->code != X_END && op->code != X_STRING &&
		    op->code != X_RET && !((op->code == X_U8 || op->code == X_U16 || op->code == X_U32 ||
					   op->code == X_U64) && op->reg < 0 && !op->flags))
			ret->flat = false;
	}
	free(b.ops);
	return 0;
}
