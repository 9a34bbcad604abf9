/* SPDX-License-Identifier: MIT */
/*
 * The decoder's interpreter, included twice by decode.c: RUN_NAME with
 * RUN_STORE 1 (keep every value) and 0 (skim). A template by inclusion
 * because its threaded dispatch table (labels as values) cannot be in a
 * function the compiler copies.
 */
/*
 * Run a program over the packet from d->pos; RUN_STORE keeps the values
 * in d->out.
 * Threaded dispatch: every instruction jumps to the next one's handler
 * itself, which branch predictors follow far better than one switch.
 */
static int RUN_NAME(struct dctx *d, const struct xprog *x)
{
	const bool store = RUN_STORE;
	static const void *const labels[] = {
		[X_U8] = &&l_u8, [X_U16] = &&l_u16, [X_U32] = &&l_u32, [X_U64] = &&l_u64,
		[X_BITS] = &&l_bits, [X_BIG] = &&l_big, [X_F32] = &&l_f32, [X_F64] = &&l_f64,
		[X_STRING] = &&l_string, [X_TEXT_ARRAY] = &&l_text, [X_TEXT_SEQ] = &&l_text,
		[X_BEGIN] = &&l_begin, [X_END] = &&l_end, [X_ARRAY] = &&l_array, [X_SEQ] = &&l_array,
		[X_LOOP] = &&l_loop, [X_VARIANT] = &&l_variant, [X_VEND] = &&l_vend,
		[X_ALIGN] = &&l_align, [X_SKIP] = &&l_skip, [X_SKIPN] = &&l_skipn,
		[X_SKIPN_SEQ] = &&l_skipn, [X_HEADER] = &&l_header, [X_RET] = &&l_ret,
	};
	struct frame stack[MAX_DEPTH];
	int sp = 0;
	const struct xop *ops = x->ops, *o = ops;
	const uint8_t *base = d->base;
	uint64_t pos = d->pos, limit = d->limit, fast_end = d->fast_end;
	struct rvbuf *out = d->out;
	uint32_t idx = 0, iters = 0, hdr_left = 0;
	struct rval *v = NULL;
	uint64_t u;
	int r;

#define DISPATCH() goto *labels[o->code]
#define NEXT() do { o++; DISPATCH(); } while (0)
#define ALIGN() do {								\
		if (o->align > 1) {						\
			uint64_t np_ = (pos + o->align - 1) & ~((uint64_t)o->align - 1); \
			if (unlikely(np_ > limit || np_ < pos))		\
				goto bad_align;					\
			pos = np_;						\
		}								\
	} while (0)
#define PUSH() do {								\
		if (store) {							\
			if (unlikely(out->n == out->cap)) {			\
				r = rv_grow(d);					\
				if (r)						\
					return r;				\
			}							\
			idx = out->n++;						\
			v = &out->v[idx];					\
			v->p = o->p;						\
		}								\
	} while (0)
#define INT_DONE() do {								\
		if (store)							\
			v->u = u;						\
		if (o->reg >= 0)						\
			d->regs[o->reg] = u;					\
		if (o->flags) {							\
			if (o->flags == PF_CLOCK)				\
				update_clock(d->s, o->size, u);			\
			else if (o->flags == PF_EVENT_ID) {			\
				d->event_id = u;				\
				d->has_event_id = true;				\
			} else {						\
				int_flags(d, o->p, u);				\
			}							\
		}								\
		NEXT();								\
	} while (0)

	DISPATCH();
l_u8:
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < 8))
		goto oob;
	u = base[pos >> 3];
	if (o->sign)
		u = (uint64_t)(int64_t)(int8_t)u;
	pos += 8;
	INT_DONE();
l_u16: {
	uint16_t t;
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < 16))
		goto oob;
	memcpy(&t, base + (pos >> 3), 2);
	u = o->sign ? (uint64_t)(int64_t)(int16_t)t : t;
	pos += 16;
	INT_DONE();
}
l_u32: {
	uint32_t t;
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < 32))
		goto oob;
	memcpy(&t, base + (pos >> 3), 4);
	u = o->sign ? (uint64_t)(int64_t)(int32_t)t : t;
	pos += 32;
	INT_DONE();
}
l_u64:
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < 64))
		goto oob;
	memcpy(&u, base + (pos >> 3), 8);
	pos += 64;
	INT_DONE();
l_bits:
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < o->size))
		goto oob;
	if (!o->be && (pos & 7) + o->size <= 64 && (pos >> 3) + 8 <= fast_end)
		u = read_le_fast(base, pos, o->size);
	else
		u = ctf_read_bits(base, pos, o->size, o->be);
	if (o->sign && o->size < 64 && (u >> (o->size - 1)) & 1)
		u |= ~((UINT64_C(1) << o->size) - 1);
	pos += o->size;
	INT_DONE();
l_big:
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < o->size))
		goto oob;
	if (store) {
		v->big.bitpos = pos;
		v->big.base = base;
	}
	pos += o->size;
	NEXT();
l_f32:
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < 32))
		goto oob;
	if (store) {
		uint32_t t = (uint32_t)ctf_read_bits(base, pos, 32, o->be);
		float fl;
		memcpy(&fl, &t, 4);
		v->d = fl;
	}
	pos += 32;
	NEXT();
l_f64:
	ALIGN();
	PUSH();
	if (unlikely(limit - pos < 64))
		goto oob;
	if (store) {
		uint64_t t = ctf_read_bits(base, pos, 64, o->be);
		memcpy(&v->d, &t, 8);
	}
	pos += 64;
	NEXT();
l_string: {
	ALIGN();
	PUSH();
	const char *str = (const char *)base + (pos >> 3);
	uint64_t room = (limit - pos) / 8, len = string_len(str, room, fast_end - (pos >> 3));
	if (unlikely(len == room)) {
		d->pos = pos;
		return dfail(d, "string '%s' crosses the end of the packet content",
			     o->p->name ? o->p->name : "");
	}
	if (store) {
		v->str.ptr = str;
		v->str.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	}
	pos += (len + 1) * 8;
	NEXT();
}
l_text: {
	ALIGN();
	PUSH();
	uint64_t n = o->code == X_TEXT_ARRAY ? o->length : d->regs[o->src_reg];
	if (unlikely(n > (limit - pos) / 8))
		goto oob;
	if (store) {
		const char *str = (const char *)base + (pos >> 3);
		const char *nul = memchr(str, 0, n);
		uint64_t len = nul ? (uint64_t)(nul - str) : n;
		v->str.ptr = str;
		v->str.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		v->count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		v->end = out->n;
	}
	pos += n * 8;
	NEXT();
}
l_begin:
	ALIGN();
	PUSH();
	if (unlikely(sp == MAX_DEPTH))
		goto deep;
	if (store)
		v->count = o->p->nkids;
	stack[sp++].idx = idx;
	NEXT();
l_end:
	if (store)
		out->v[stack[--sp].idx].end = out->n;
	else
		sp--;
	NEXT();
l_array: {
	ALIGN();
	PUSH();
	uint64_t n = o->code == X_ARRAY ? o->length : d->regs[o->src_reg];
	if (store)
		v->count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	if (n == 0) {
		if (store)
			v->end = out->n;
		o = ops + o->jump;
		DISPATCH();
	}
	if (unlikely(sp == MAX_DEPTH))
		goto deep;
	stack[sp].idx = idx;
	stack[sp].left = n;
	sp++;
	NEXT();
}
l_loop:
	if (--stack[sp - 1].left) {
		if (unlikely(++iters > MAX_VALUES)) {
			d->pos = pos;
			return dfail(d, "too many array elements in one event");
		}
		o = ops + o->jump;
		DISPATCH();
	}
	sp--;
	if (store)
		out->v[stack[sp].idx].end = out->n;
	NEXT();
l_variant: {
	PUSH();
	uint64_t tag = d->regs[o->src_reg];
	const struct plan_node *p = o->p;
	bool sign = p->src->sign;
	size_t i;
	for (i = 0; i < p->nranges; i++) {
		const struct variant_range *rg = &p->ranges[i];
		if (sign ? (int64_t)tag >= (int64_t)rg->lo && (int64_t)tag <= (int64_t)rg->hi
			 : tag >= rg->lo && tag <= rg->hi)
			break;
	}
	if (unlikely(i == p->nranges)) {
		d->pos = pos;
		return dfail(d, "variant '%s': tag value %lld selects no option",
			     p->name ? p->name : "", (long long)tag);
	}
	if (unlikely(sp == MAX_DEPTH))
		goto deep;
	if (store) {
		v->count = 1;
		v->u = p->ranges[i].option;
	}
	stack[sp++].idx = idx;
	o = ops + o->targets[p->ranges[i].option];
	DISPATCH();
}
l_vend:
	sp--;
	if (store)
		out->v[stack[sp].idx].end = out->n;
	o = ops + o->jump;
	DISPATCH();
l_align:
	ALIGN();
	NEXT();
l_skip:
	ALIGN();
	if (unlikely(limit - pos < o->size))
		goto oob;
	pos += o->size;
	NEXT();
l_skipn: {
	ALIGN();
	uint64_t n = o->code == X_SKIPN ? o->length : d->regs[o->src_reg];
	if (n && unlikely((limit - pos) / n < o->size))
		goto oob;
	pos += n * o->size;
	NEXT();
}
l_header: {
	/* the tag, the option it selects, the option's integers: no dispatch */
	const struct xheader *h = o->hdr;
	const struct xint *xi = &h->tag;
	uint64_t np;
	np = (pos + h->align - 1) & ~((uint64_t)h->align - 1);
	if (unlikely(np > limit || np < pos))
		goto hdr_slow;
	pos = np;
	for (int step = 0;; step++) {
		np = (pos + xi->align - 1) & ~((uint64_t)xi->align - 1);
		if (unlikely(np > limit || np < pos || limit - np < xi->size))
			goto hdr_slow;
		pos = np;
		if (!xi->be && (pos & 7) + xi->size <= 64 && (pos >> 3) + 8 <= fast_end)
			u = read_le_fast(base, pos, xi->size);
		else
			u = ctf_read_bits(base, pos, xi->size, xi->be);
		if (xi->sign && xi->size < 64 && (u >> (xi->size - 1)) & 1)
			u |= ~((UINT64_C(1) << xi->size) - 1);
		pos += xi->size;
		if (xi->reg >= 0)
			d->regs[xi->reg] = u;
		if (xi->flags) {
			if (xi->flags == PF_CLOCK)
				update_clock(d->s, xi->size, u);
			else if (xi->flags == PF_EVENT_ID) {
				d->event_id = u;
				d->has_event_id = true;
			} else {
				int_flags(d, xi->p, u);
			}
		}
		if (step == 0) {
			/* select the option as X_VARIANT does */
			const struct plan_node *p = h->variant;
			uint64_t tag = u;
			size_t i;
			for (i = 0; i < p->nranges; i++) {
				const struct variant_range *rg = &p->ranges[i];
				if (xi->sign ? (int64_t)tag >= (int64_t)rg->lo && (int64_t)tag <= (int64_t)rg->hi
					     : tag >= rg->lo && tag <= rg->hi)
					break;
			}
			if (unlikely(i == p->nranges))
				goto hdr_slow;
			uint32_t k = p->ranges[i].option;
			np = (pos + h->opt[k].align - 1) & ~((uint64_t)h->opt[k].align - 1);
			if (unlikely(np > limit || np < pos))
				goto hdr_slow;
			pos = np;
			if (!h->opt[k].n)
				break;
			xi = &h->opt[k].ints[0];
			hdr_left = h->opt[k].n;
			continue;
		}
		if (--hdr_left == 0)
			break;
		xi++;
	}
	NEXT();
hdr_slow:
	/* errors are reported by the general instructions: run those */
	pos = d->pos;
	{
		const struct xprog *gx = &d->s->sc->s_event_header_general;
		return RUN_NAME(d, gx);
	}
}
l_ret:
	d->pos = pos;
	return 0;
oob:
	d->pos = pos;
	return oob(d, o);
bad_align:
	d->pos = pos;
	return dfail(d, "alignment of '%s' goes past the end of the packet content",
		     o->p && o->p->name ? o->p->name : "field");
deep:
	d->pos = pos;
	return dfail(d, "fields nested too deeply");
#undef DISPATCH
#undef NEXT
#undef ALIGN
#undef PUSH
#undef INT_DONE
}

#undef RUN_NAME
#undef RUN_STORE
