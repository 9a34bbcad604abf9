/* SPDX-License-Identifier: MIT */
/*
 * Output formats of decoded events: babeltrace2's text (sink.text.pretty
 * with its default options, byte for byte), JSON lines, and Chrome Trace
 * Event JSON for Perfetto. Writes through its own buffer to the FILE given.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reader-local.h"

#define OUTBUF (1u << 16)
#define PCTX_MAX_VALS 32
#define PCTX_MAX_TEXT 1024

struct reel_formatter {
	enum reel_format fmt;
	unsigned flags;
	FILE *out;
	char *buf;
	size_t len;
	int error;
	bool has_last;
	int64_t last_ns;
	int64_t tm_sec;  /* cached broken-down time of this second */
	bool tm_valid;
	char tm_text[16];
	bool neg_warned;
	uint64_t nevents;
	/* memory sink (out == NULL): flushed bytes accumulate here */
	char *mem;
	size_t mem_len, mem_cap;
	uint64_t flushes;
	/* the text of the last packet context, for as long as its values are
	 * the same (every event of a packet shows it) */
	struct rval pctx_vals[PCTX_MAX_VALS];
	uint32_t pctx_n;     /* values in pctx_vals, 0: nothing cached */
	uint32_t pctx_len;
	char pctx_text[PCTX_MAX_TEXT];
};

struct reel_formatter *reel_formatter_new(enum reel_format fmt, unsigned flags, FILE *out)
{
	struct reel_formatter *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->buf = malloc(OUTBUF + 4096);
	if (!f->buf) {
		free(f);
		return NULL;
	}
	f->fmt = fmt;
	f->flags = flags;
	f->out = out;
	if (fmt == REEL_FORMAT_PERFETTO) {
		static const char head[] = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
		memcpy(f->buf, head, sizeof(head) - 1);
		f->len = sizeof(head) - 1;
	}
	return f;
}

static void flush(struct reel_formatter *f)
{
	f->flushes++;
	if (!f->len)
		return;
	if (!f->out) {
		if (f->mem_len + f->len > f->mem_cap) {
			size_t cap = f->mem_cap ? f->mem_cap : 1 << 16;
			while (cap < f->mem_len + f->len)
				cap *= 2;
			char *nm = realloc(f->mem, cap);
			if (!nm) {
				f->error = -ENOMEM;
				f->len = 0;
				return;
			}
			f->mem = nm;
			f->mem_cap = cap;
		}
		memcpy(f->mem + f->mem_len, f->buf, f->len);
		f->mem_len += f->len;
	} else if (fwrite(f->buf, 1, f->len, f->out) != f->len) {
		f->error = -EIO;
	}
	f->len = 0;
}

static inline void put(struct reel_formatter *f, const char *s, size_t n)
{
	if (likely(n <= 16 && f->len + 16 <= OUTBUF)) {
		/* short pieces: overlapping word copies, no call (the buffer has
		 * slack past OUTBUF) */
		char *d = f->buf + f->len;
		if (n >= 8) {
			uint64_t a, b;
			memcpy(&a, s, 8);
			memcpy(&b, s + n - 8, 8);
			memcpy(d, &a, 8);
			memcpy(d + n - 8, &b, 8);
		} else if (n >= 4) {
			uint32_t a, b;
			memcpy(&a, s, 4);
			memcpy(&b, s + n - 4, 4);
			memcpy(d, &a, 4);
			memcpy(d + n - 4, &b, 4);
		} else {
			for (size_t i = 0; i < n; i++)
				d[i] = s[i];
		}
		f->len += n;
		return;
	}
	if (likely(n > 16 && n <= 64 && f->len + 64 <= OUTBUF)) {
		/* names and prefixes: 16-byte pieces, the last overlapping */
		char *d = f->buf + f->len;
		for (size_t i = 0; i + 16 < n; i += 16)
			memcpy(d + i, s + i, 16);
		memcpy(d + n - 16, s + n - 16, 16);
		f->len += n;
		return;
	}
	if (unlikely(f->len + n > OUTBUF)) {
		flush(f);
		if (n > OUTBUF) {
			if (fwrite(s, 1, n, f->out) != n)
				f->error = -EIO;
			return;
		}
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
}

#define PUTS(f, lit) put((f), (lit), sizeof(lit) - 1)

static inline void putc_(struct reel_formatter *f, char c)
{
	if (unlikely(f->len + 1 > OUTBUF))
		flush(f);
	f->buf[f->len++] = c;
}

static void putstr(struct reel_formatter *f, const char *s)
{
	put(f, s, strlen(s));
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static inline char *fmt_u32(char *p, uint32_t v)
{
	while (v >= 100) {
		unsigned i = (v % 100) * 2;
		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + i, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + v * 2, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

static inline unsigned ndigits(uint64_t v)
{
	/* pow10[t] = 10^t, but 0 for t = 0 (so that 0 has one digit) */
	static const uint64_t pow10[20] = {
		0ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
		10000000000000ull, 100000000000000ull, 1000000000000000ull,
		10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
		10000000000000000000ull,
	};
	/* floor(log10(2) * bits) is the digit count or one less */
	unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
	return t + 1 - (v < pow10[t]);
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_DIGITS8 1
/* The 8 decimal digits of v < 10^8 (leading zeros), the first in the lowest
 * byte: both halves' pairs and digits at once, no chain of divisions. */
static inline uint64_t digits8(uint32_t v)
{
	uint64_t x = (uint64_t)(v / 10000) | (uint64_t)(v % 10000) << 32;
	uint64_t y = ((x * 10486) >> 20) & UINT64_C(0x0000007F0000007F); /* x / 100, x < 10^4 */
	x = (x - y * 100) << 16 | y;
	uint64_t z = ((x * 103) >> 10) & UINT64_C(0x000F000F000F000F); /* x / 10, x < 100 */
	x = (x - z * 10) << 8 | z;
	return x | UINT64_C(0x3030303030303030);
}
#endif

/* Digits straight into the output buffer (no staging copy: byte stores
 * then a wide load would stall store forwarding). */
static void put_u64(struct reel_formatter *f, uint64_t v)
{
	if (unlikely(f->len + 24 > OUTBUF))
		flush(f);
	if (v < 10) { /* seconds of most deltas, small ids */
		f->buf[f->len++] = (char)('0' + v);
		return;
	}
	unsigned n = ndigits(v);
	char *end = f->buf + f->len + n, *p = end;
	while (v > UINT32_MAX) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + i, 2);
	}
	fmt_u32(p, (uint32_t)v);
	f->len += n;
}

static void put_i64(struct reel_formatter *f, int64_t v)
{
	if (v < 0) {
		putc_(f, '-');
		put_u64(f, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(f, (uint64_t)v);
	}
}


/* v < 10^width, width <= 10: zero-padded, straight into the buffer */
static void put_pad(struct reel_formatter *f, uint32_t v, int width)
{
	if (unlikely(f->len + 16 > OUTBUF))
		flush(f);
#ifdef HAVE_DIGITS8
	if (width == 9) { /* nanoseconds */
		char *d = f->buf + f->len;
		uint64_t x = digits8(v % 100000000);
		d[0] = (char)('0' + v / 100000000 % 10);
		memcpy(d + 1, &x, 8);
		f->len += 9;
		return;
	}
#endif
	char *p = f->buf + f->len + width;
	int i = width;
	while (i >= 2) {
		unsigned k = (v % 100) * 2;
		v /= 100;
		i -= 2;
		p -= 2;
		memcpy(p, digit_pairs + k, 2);
	}
	if (i)
		*--p = (char)('0' + v % 10);
	f->len += (size_t)width;
}

static void putf(struct reel_formatter *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct reel_formatter *f, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(f, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* babeltrace2's print_escape_string */
/* characters babeltrace2 escapes: \\ ' " ? and iscntrl() ones */
#define E1(c) [c] = 1
static const uint8_t escape_table[256] = {
	E1(0), E1(1), E1(2), E1(3), E1(4), E1(5), E1(6), E1(7), E1(8), E1(9), E1(10), E1(11),
	E1(12), E1(13), E1(14), E1(15), E1(16), E1(17), E1(18), E1(19), E1(20), E1(21), E1(22),
	E1(23), E1(24), E1(25), E1(26), E1(27), E1(28), E1(29), E1(30), E1(31), E1(0x7f),
	E1('\\'), E1('\''), E1('"'), E1('?'),
};
#undef E1

static inline bool needs_escape(unsigned char c)
{
	return escape_table[c];
}

/* Whether any of the 8 bytes of w is one babeltrace2 escapes (exact: the
 * classic zero-byte tests err only in bytes after a true match). */
static inline bool word_needs_escape(uint64_t w)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
#define HAS_ZERO(x) (((x) - ones) & ~(x) & highs)
	uint64_t lt20 = (w - ones * 0x20) & ~w & highs; /* bytes < 0x20 */
	return lt20 | HAS_ZERO(w ^ (ones * 0x7f)) | HAS_ZERO(w ^ (ones * '\\')) |
	       HAS_ZERO(w ^ (ones * '\'')) | HAS_ZERO(w ^ (ones * '"')) | HAS_ZERO(w ^ (ones * '?'));
#undef HAS_ZERO
}

static void put_escaped(struct reel_formatter *f, const char *s, size_t n)
{
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (word_needs_escape(w))
			break;
		i += 8;
	}
	if (i + 8 > n) {
		while (i < n && !needs_escape((unsigned char)s[i]))
			i++;
		if (i == n) { /* the common case: nothing to escape */
			putc_(f, '"');
			put(f, s, n);
			putc_(f, '"');
			return;
		}
	}
	putc_(f, '"');
	size_t start = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (likely(!needs_escape(c)))
			continue;
		const char *esc = NULL;
		char hex[8];
		switch (c) {
		case '\\': esc = "\\\\"; break;
		case '\'': esc = "\\'"; break;
		case '"': esc = "\\\""; break;
		case '?': esc = "\\?"; break;
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case 27: esc = "\\e"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(hex, sizeof(hex), "\\x%02x", c);
				esc = hex;
			}
		}
		if (esc) {
			put(f, s + start, i - start);
			putstr(f, esc);
			start = i + 1;
		}
	}
	put(f, s + start, n - start);
	putc_(f, '"');
}

static void put_json_string(struct reel_formatter *f, const char *s, size_t n)
{
	putc_(f, '"');
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(f, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': PUTS(f, "\\\""); break;
		case '\\': PUTS(f, "\\\\"); break;
		case '\n': PUTS(f, "\\n"); break;
		case '\t': PUTS(f, "\\t"); break;
		case '\r': PUTS(f, "\\r"); break;
		default: putf(f, "\\u%04x", c);
		}
	}
	put(f, s + start, n - start);
	putc_(f, '"');
}

/* ---- values ------------------------------------------------------------------- */

static bool is_compound(const struct plan_node *p)
{
	return p->op == OP_STRUCT || p->op == OP_ARRAY || p->op == OP_SEQ || p->op == OP_VARIANT;
}

static uint32_t skip(const struct rvbuf *b, uint32_t i)
{
	return is_compound(b->v[i].p) ? b->v[i].end : i + 1;
}

static void put_int_text(struct reel_formatter *f, const struct plan_node *p, uint64_t u)
{
	unsigned len = p->size;
	switch (p->base) {
	case 2: {
		PUTS(f, "0b");
		for (unsigned b = len; b-- > 0;)
			putc_(f, (u >> b) & 1 ? '1' : '0');
		return;
	}
	case 8:
		if (p->sign && len < 64) {
			unsigned r = ((len - 1) / 3 + 1) * 3;
			if (r < 64)
				u &= (UINT64_C(1) << r) - 1;
		}
		putf(f, "0%" PRIo64, u);
		return;
	case 16:
		if (len < 64) {
			unsigned r = (len + 3) & ~3u;
			if (r < 64)
				u &= (UINT64_C(1) << r) - 1;
		}
		putf(f, "0x%" PRIX64, u);
		return;
	default:
		if (p->sign)
			put_i64(f, (int64_t)u);
		else
			put_u64(f, u);
	}
}

static void put_big_hex(struct reel_formatter *f, const struct rval *v)
{
	const struct plan_node *p = v->p;
	unsigned n = (p->size + 63) / 64;
	PUTS(f, "0x");
	bool started = false;
	for (unsigned k = n; k-- > 0;) {
		/* chunk k holds bits [64k, 64k+64) of the value */
		unsigned w = p->size - 64 * k < 64 ? p->size - 64 * k : 64;
		uint64_t c;
		if (!p->be)
			c = ctf_read_bits(v->big.base, v->big.bitpos + 64 * (uint64_t)k, w, false);
		else
			c = ctf_read_bits(v->big.base, v->big.bitpos + (p->size - 64 * k - w), w, true);
		if (!started) {
			if (c || k == 0) {
				putf(f, "%" PRIX64, c);
				started = true;
			}
		} else {
			putf(f, "%016" PRIX64, c);
		}
	}
}

static bool map_has(const struct ctf_type *t, const struct ctf_mapping *m, uint64_t u)
{
	if (t->sign)
		return (int64_t)u >= (int64_t)m->lo && (int64_t)u <= (int64_t)m->hi;
	return u >= m->lo && u <= m->hi;
}

static uint32_t text_field(struct reel_formatter *f, const struct rvbuf *b, uint32_t i, bool names);

static bool text_scalar(const struct plan_node *p)
{
	switch (p->op) {
	case OP_INT_U8: case OP_INT_U16: case OP_INT_U32: case OP_INT_U64: case OP_INT_BITS:
	case OP_INT_BIG: case OP_FLOAT32: case OP_FLOAT64: case OP_STRING: case OP_TEXT_ARRAY:
	case OP_TEXT_SEQ:
		return true;
	}
	return false;
}

int text_plan_build(struct arena *a, struct plan_node *root)
{
	if (!root || root->op != OP_STRUCT || !root->nkids)
		return 0;
	uint32_t n = 0;
	for (uint32_t k = 0; k < root->nkids; k++) {
		if (!text_scalar(root->kids[k]))
			return 0;
		n += root->kids[k]->in_ir;
	}
	if (!n)
		return 0;
	struct text_plan *tp = arena_alloc(a, sizeof(*tp) + n * sizeof(tp->items[0]));
	if (!tp)
		return -ENOMEM;
	tp->n = 0;
	for (uint32_t k = 0; k < root->nkids; k++) {
		const struct plan_node *c = root->kids[k];
		if (!c->in_ir)
			continue;
		size_t len = 2 + c->namelen + 3;
		char *lit = arena_alloc(a, len + 1);
		if (!lit)
			return -ENOMEM;
		snprintf(lit, len + 1, "%s%s = ", tp->n ? ", " : "{ ", c->name);
		struct text_item *it = &tp->items[tp->n++];
		it->lit = lit;
		it->litlen = (uint32_t)len;
		it->at = k + 1;
		it->p = c;
	}
	root->text = tp;
	return 0;
}

static uint32_t text_struct_members(struct reel_formatter *f, const struct rvbuf *b, uint32_t i, bool names)
{
	const struct rval *v = &b->v[i];
	const struct text_plan *tp = v->p->text;
	if (tp && names) {
		for (uint32_t k = 0; k < tp->n; k++) {
			const struct text_item *it = &tp->items[k];
			put(f, it->lit, it->litlen);
			const struct rval *c = &b->v[i + it->at];
			const struct plan_node *p = it->p;
			if (p->op <= OP_INT_BITS && p->base == 10 && p->type->kind == CTF_INT) {
				if (p->sign)
					put_i64(f, c->s);
				else
					put_u64(f, c->u);
			} else if (p->op == OP_STRING) {
				put_escaped(f, c->str.ptr, c->str.len);
			} else {
				text_field(f, b, i + it->at, names);
			}
		}
		PUTS(f, " }");
		return v->end;
	}
	uint32_t k = i + 1, printed = 0;
	putc_(f, '{');
	while (k < v->end) {
		const struct rval *c = &b->v[k];
		if (!c->p->in_ir) {
			k = skip(b, k);
			continue;
		}
		if (printed++)
			PUTS(f, ", ");
		else
			putc_(f, ' ');
		if (names) {
			put(f, c->p->name, c->p->namelen);
			PUTS(f, " = ");
		}
		k = text_field(f, b, k, names);
	}
	PUTS(f, " }");
	return v->end;
}

static uint32_t text_field(struct reel_formatter *f, const struct rvbuf *b, uint32_t i, bool names)
{
	const struct rval *v = &b->v[i];
	const struct plan_node *p = v->p;
	switch (p->op) {
	case OP_INT_U8:
	case OP_INT_U16:
	case OP_INT_U32:
	case OP_INT_U64:
	case OP_INT_BITS:
		if (p->type->kind == CTF_ENUM) {
			const struct ctf_type *t = p->type;
			PUTS(f, "( ");
			unsigned n = 0;
			for (size_t m = 0; m < t->nmap; m++)
				if (map_has(t, &t->map[m], v->u)) {
					if (n++)
						PUTS(f, ", ");
					put_escaped(f, t->map[m].label, strlen(t->map[m].label));
				}
			if (!n)
				PUTS(f, "<unknown>");
			PUTS(f, " : container = ");
			put_int_text(f, p, v->u);
			PUTS(f, " )");
		} else {
			put_int_text(f, p, v->u);
		}
		return i + 1;
	case OP_INT_BIG:
		put_big_hex(f, v);
		return i + 1;
	case OP_FLOAT32:
	case OP_FLOAT64:
		putf(f, "%g", v->d);
		return i + 1;
	case OP_STRING:
	case OP_TEXT_ARRAY:
	case OP_TEXT_SEQ:
		put_escaped(f, v->str.ptr, v->str.len);
		return i + 1;
	case OP_STRUCT:
		return text_struct_members(f, b, i, names);
	case OP_VARIANT:
		PUTS(f, "{ ");
		if (v->end > i + 1)
			text_field(f, b, i + 1, names);
		PUTS(f, " }");
		return v->end;
	case OP_ARRAY:
	case OP_SEQ: {
		putc_(f, '[');
		uint32_t k = i + 1;
		for (uint32_t n = 0; k < v->end; n++) {
			if (n)
				PUTS(f, ", ");
			else
				putc_(f, ' ');
			if (names) {
				putc_(f, '[');
				put_u64(f, n);
				PUTS(f, "] = ");
			}
			k = text_field(f, b, k, names);
		}
		PUTS(f, " ]");
		return v->end;
	}
	}
	return i + 1;
}

/* Whether the values of a structure are a cacheable packet context: those
 * of its text only (a structure of integers, enumerations included). */
static bool pctx_cacheable(const struct rvbuf *b, uint32_t i)
{
	uint32_t end = b->v[i].end;
	if (end <= i || end > b->n || end - i > PCTX_MAX_VALS || b->v[i].p->op != OP_STRUCT)
		return false;
	for (uint32_t k = i + 1; k < end; k++)
		if (b->v[k].p->op > OP_INT_BITS)
			return false;
	return true;
}

static bool pctx_same(const struct reel_formatter *f, const struct rvbuf *b, uint32_t i)
{
	uint32_t n = b->v[i].end - i;
	if (n != f->pctx_n)
		return false;
	const struct rval *c = f->pctx_vals, *v = b->v + i;
	if (c[0].p != v[0].p)
		return false;
	for (uint32_t k = 1; k < n; k++)
		if (c[k].p != v[k].p || c[k].u != v[k].u)
			return false;
	return true;
}

/* The packet context's text (text_field), from the cache while its values
 * stay the same. */
static void text_packet_context(struct reel_formatter *f, const struct rvbuf *b, uint32_t i)
{
	if (f->pctx_n && pctx_same(f, b, i)) {
		put(f, f->pctx_text, f->pctx_len);
		return;
	}
	f->pctx_n = 0;
	if (!pctx_cacheable(b, i)) {
		text_field(f, b, i, true);
		return;
	}
	if (f->len + PCTX_MAX_TEXT > OUTBUF)
		flush(f);
	uint64_t flushes = f->flushes;
	size_t at = f->len;
	text_field(f, b, i, true);
	if (f->flushes != flushes || f->len - at > PCTX_MAX_TEXT)
		return;
	f->pctx_len = (uint32_t)(f->len - at);
	memcpy(f->pctx_text, f->buf + at, f->pctx_len);
	f->pctx_n = b->v[i].end - i;
	memcpy(f->pctx_vals, b->v + i, (size_t)f->pctx_n * sizeof(*f->pctx_vals));
}

static void put_time(struct reel_formatter *f, int64_t ns)
{
	int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
	bool neg;
	uint64_t sa, na;
	if (sec >= 0 && nsec >= 0) {
		neg = false, sa = (uint64_t)sec, na = (uint64_t)nsec;
	} else if (sec == 0 && nsec < 0) {
		neg = true, sa = 0, na = (uint64_t)-nsec;
	} else if (sec < 0 && nsec == 0) {
		neg = true, sa = (uint64_t)-sec, na = 0;
	} else {
		neg = true, sa = (uint64_t)-sec, na = (uint64_t)-nsec;
	}
	if (!(f->flags & REEL_TEXT_CLOCK_SECONDS) && !neg) {
		if (!f->tm_valid || f->tm_sec != (int64_t)sa) {
			struct tm tm;
			time_t t = (time_t)sa;
			struct tm *res = f->flags & REEL_TEXT_GMT ? gmtime_r(&t, &tm) : localtime_r(&t, &tm);
			if (!res)
				goto seconds;
			snprintf(f->tm_text, sizeof(f->tm_text), "%02d:%02d:%02d.",
				 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
			f->tm_sec = (int64_t)sa;
			f->tm_valid = true;
		}
		put(f, f->tm_text, 9);
		put_pad(f, (uint32_t)na, 9);
		return;
	}
seconds:
	if (neg)
		putc_(f, '-');
	put_u64(f, sa);
	putc_(f, '.');
	put_pad(f, (uint32_t)na, 9);
}

static void text_event(struct reel_formatter *f, const struct reel_event *ev)
{
	const struct rstream *s = ev->s;
	const struct rtrace *t = s->trace;
	int64_t ns = 0;
	if (reel_event_timestamp(ev, &ns)) {
		putc_(f, '[');
		put_time(f, ns);
		PUTS(f, "] ");
		if (!(f->flags & REEL_TEXT_NO_DELTA)) {
			if (f->has_last) {
				uint64_t d = (uint64_t)ns - (uint64_t)f->last_ns;
				PUTS(f, "(+");
				put_u64(f, d / 1000000000);
				putc_(f, '.');
				put_pad(f, (uint32_t)(d % 1000000000), 9);
				PUTS(f, ") ");
			} else {
				PUTS(f, "(+?.????????\?) ");
			}
		}
		f->has_last = true;
		f->last_ns = ns;
	}
	put(f, t->text_prefix, t->text_prefix_len);
	if (s->ec->name)
		put(f, s->ec->name, s->ec->namelen);
	else
		PUTS(f, "<unknown>");
	PUTS(f, ": ");
	bool first = true;
	if (!(f->flags & REEL_TEXT_FIELD_NAMES_ONLY_PAYLOAD)) {
		if (s->pkt_ctx_index != UINT32_MAX && s->pkt.v[s->pkt_ctx_index].p->in_ir) {
			text_packet_context(f, &s->pkt, s->pkt_ctx_index);
			first = false;
		}
		uint32_t idx[2] = { s->ev_ctx_index, s->ev_spec_index };
		for (int k = 0; k < 2; k++) {
			if (idx[k] == UINT32_MAX || !s->ev.v[idx[k]].p->in_ir)
				continue;
			if (!first)
				PUTS(f, ", ");
			text_field(f, &s->ev, idx[k], true);
			first = false;
		}
	}
	if (s->ev_fields_index != UINT32_MAX && s->ev.v[s->ev_fields_index].p->in_ir) {
		if (!first)
			PUTS(f, ", ");
		text_field(f, &s->ev, s->ev_fields_index, true);
	}
	putc_(f, '\n');
}

/* ---- JSON -------------------------------------------------------------------------- */

static uint32_t json_value(struct reel_formatter *f, const struct rvbuf *b, uint32_t i);

static uint32_t json_members(struct reel_formatter *f, const struct rvbuf *b, uint32_t i, bool *first)
{
	const struct rval *v = &b->v[i];
	uint32_t k = i + 1;
	while (k < v->end) {
		const struct rval *c = &b->v[k];
		if (!c->p->in_ir) {
			k = skip(b, k);
			continue;
		}
		if (!*first)
			putc_(f, ',');
		*first = false;
		put_json_string(f, c->p->name, strlen(c->p->name));
		putc_(f, ':');
		k = json_value(f, b, k);
	}
	return v->end;
}

static uint32_t json_value(struct reel_formatter *f, const struct rvbuf *b, uint32_t i)
{
	const struct rval *v = &b->v[i];
	const struct plan_node *p = v->p;
	switch (p->op) {
	case OP_INT_U8:
	case OP_INT_U16:
	case OP_INT_U32:
	case OP_INT_U64:
	case OP_INT_BITS:
		if (p->type->kind == CTF_ENUM) {
			const struct ctf_type *t = p->type;
			for (size_t m = 0; m < t->nmap; m++)
				if (map_has(t, &t->map[m], v->u)) {
					put_json_string(f, t->map[m].label, strlen(t->map[m].label));
					return i + 1;
				}
		}
		if (p->sign)
			put_i64(f, v->s);
		else
			put_u64(f, v->u);
		return i + 1;
	case OP_INT_BIG:
		putc_(f, '"');
		put_big_hex(f, v);
		putc_(f, '"');
		return i + 1;
	case OP_FLOAT32:
	case OP_FLOAT64:
		if (isfinite(v->d))
			putf(f, "%.17g", v->d);
		else
			PUTS(f, "null");
		return i + 1;
	case OP_STRING:
	case OP_TEXT_ARRAY:
	case OP_TEXT_SEQ:
		put_json_string(f, v->str.ptr, v->str.len);
		return i + 1;
	case OP_STRUCT: {
		bool first = true;
		putc_(f, '{');
		json_members(f, b, i, &first);
		putc_(f, '}');
		return v->end;
	}
	case OP_VARIANT:
		if (v->end > i + 1)
			json_value(f, b, i + 1);
		else
			PUTS(f, "null");
		return v->end;
	case OP_ARRAY:
	case OP_SEQ: {
		putc_(f, '[');
		uint32_t k = i + 1;
		for (uint32_t n = 0; k < v->end; n++) {
			if (n)
				putc_(f, ',');
			k = json_value(f, b, k);
		}
		putc_(f, ']');
		return v->end;
	}
	}
	return i + 1;
}

static void json_common(struct reel_formatter *f, const struct reel_event *ev, bool perfetto)
{
	const struct rstream *s = ev->s;
	const struct rtrace *t = s->trace;
	const char *name = s->ec->name ? s->ec->name : "<unknown>";
	PUTS(f, "{\"name\":");
	put_json_string(f, name, strlen(name));
	if (perfetto) {
		int64_t tid = 0, pid = t->has_vpid ? t->vpid : 0, x;
		if (!reel_event_field_int(ev, "vtid", &x) || !reel_event_field_int(ev, "tid", &x))
			tid = x;
		else if (!reel_event_field_int(ev, "cpu_id", &x))
			tid = x;
		if (!reel_event_field_int(ev, "vpid", &x) || !reel_event_field_int(ev, "pid", &x))
			pid = x;
		int64_t ns = 0;
		reel_event_timestamp(ev, &ns);
		PUTS(f, ",\"ph\":\"i\",\"s\":\"t\",\"ts\":");
		if (ns < 0) {
			putc_(f, '-');
			ns = -ns;
		}
		put_u64(f, (uint64_t)ns / 1000);
		putc_(f, '.');
		put_pad(f, (uint32_t)((uint64_t)ns % 1000), 3);
		PUTS(f, ",\"pid\":");
		put_i64(f, pid);
		PUTS(f, ",\"tid\":");
		put_i64(f, tid);
		PUTS(f, ",\"args\":{");
	} else {
		int64_t ns;
		if (reel_event_timestamp(ev, &ns)) {
			PUTS(f, ",\"timestamp\":");
			put_i64(f, ns);
		}
		if (t->hostname) {
			PUTS(f, ",\"hostname\":");
			put_json_string(f, t->hostname, strlen(t->hostname));
		}
		if (t->procname) {
			PUTS(f, ",\"procname\":");
			put_json_string(f, t->procname, strlen(t->procname));
		}
		if (t->has_vpid) {
			PUTS(f, ",\"vpid\":");
			put_i64(f, t->vpid);
		}
		PUTS(f, ",\"context\":{");
	}
	bool first = true;
	if (s->pkt_ctx_index != UINT32_MAX)
		json_members(f, &s->pkt, s->pkt_ctx_index, &first);
	if (s->ev_ctx_index != UINT32_MAX)
		json_members(f, &s->ev, s->ev_ctx_index, &first);
	if (s->ev_spec_index != UINT32_MAX)
		json_members(f, &s->ev, s->ev_spec_index, &first);
	if (!perfetto) {
		PUTS(f, "},\"fields\":{");
		first = true;
	}
	if (s->ev_fields_index != UINT32_MAX)
		json_members(f, &s->ev, s->ev_fields_index, &first);
	PUTS(f, "}}");
}

int reel_formatter_event(struct reel_formatter *f, const struct reel_event *ev)
{
	switch (f->fmt) {
	case REEL_FORMAT_TEXT:
		text_event(f, ev);
		break;
	case REEL_FORMAT_JSON:
		json_common(f, ev, false);
		putc_(f, '\n');
		break;
	case REEL_FORMAT_PERFETTO:
		if (f->nevents)
			PUTS(f, ",\n");
		else
			putc_(f, '\n');
		json_common(f, ev, true);
		break;
	}
	f->nevents++;
	return f->error;
}

int reel_formatter_finish(struct reel_formatter *f)
{
	if (!f)
		return 0;
	if (f->fmt == REEL_FORMAT_PERFETTO)
		PUTS(f, "\n]}\n");
	flush(f);
	if (f->out && fflush(f->out))
		f->error = -EIO;
	int e = f->error;
	free(f->buf);
	free(f->mem);
	free(f);
	return e;
}

/* ---- for the parallel pipeline (pformat.c) ---------------------------------------- */

struct reel_formatter *formatter_new_mem(enum reel_format fmt, unsigned flags)
{
	struct reel_formatter *f = reel_formatter_new(fmt, flags, NULL);
	if (f)
		f->len = 0; /* no Perfetto header: the writer's formatter has it */
	return f;
}

void formatter_begin(struct reel_formatter *f, bool has_prev, int64_t prev_ns, uint64_t index)
{
	f->has_last = has_prev;
	f->last_ns = prev_ns;
	f->nevents = index;
	f->mem_len = 0;
}

int formatter_end(struct reel_formatter *f, char **buf, size_t *cap, size_t *ret_len)
{
	flush(f);
	char *b = f->mem;
	size_t c = f->mem_cap;
	*ret_len = f->mem_len;
	f->mem = *buf;
	f->mem_cap = *cap;
	f->mem_len = 0;
	*buf = b;
	*cap = c;
	return f->error;
}

int formatter_write_raw(struct reel_formatter *f, const char *buf, size_t len)
{
	flush(f);
	if (len && fwrite(buf, 1, len, f->out) != len)
		f->error = -EIO;
	return f->error;
}

void formatter_set_state(struct reel_formatter *f, bool has_last, int64_t last_ns, uint64_t nevents)
{
	f->has_last = has_last;
	f->last_ns = last_ns;
	f->nevents = nevents;
}
