/* SPDX-License-Identifier: MIT */
/*
 * TSDL (CTF 1.8 metadata) parser: owns the lexer, the recursive-descent
 * parser and the type model it builds (reader-local.h). Plain-text and
 * packetized metadata. Calls only the arena; never prints: every error is
 * one message, with its line, in the caller's buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader-local.h"

/* ---- arena ------------------------------------------------------------------ */

struct arena_chunk {
	struct arena_chunk *next;
	max_align_t data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	if (!a->head || a->cap - a->used < size) {
		size_t cap = size > 65536 ? size : 65536;
		struct arena_chunk *c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
		a->used = 0;
		a->cap = cap;
	}
	void *p = (char *)a->head->data + a->used;
	a->used += size;
	return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total) || total > ((size_t)1 << 40))
		return NULL;
	void *p = arena_alloc(a, total);
	if (p)
		memset(p, 0, total);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->used = a->cap = 0;
}

/* ---- lexer --------------------------------------------------------------- */

enum tok_kind { T_EOF, T_IDENT, T_KW, T_INT, T_STR, T_PUNCT };

enum kw {
	KW_ALIGN, KW_CALLSITE, KW_CONST, KW_CHAR, KW_CLOCK, KW_DOUBLE, KW_ENUM, KW_ENV,
	KW_EVENT, KW_FLOATING_POINT, KW_FLOAT, KW_INTEGER, KW_INT, KW_LONG, KW_SHORT,
	KW_SIGNED, KW_STREAM, KW_STRING, KW_STRUCT, KW_TRACE, KW_TYPEALIAS, KW_TYPEDEF,
	KW_UNSIGNED, KW_VARIANT, KW_VOID, KW_BOOL, KW_COMPLEX, KW_IMAGINARY,
};

static const char *const keywords[] = {
	"align", "callsite", "const", "char", "clock", "double", "enum", "env",
	"event", "floating_point", "float", "integer", "int", "long", "short",
	"signed", "stream", "string", "struct", "trace", "typealias", "typedef",
	"unsigned", "variant", "void", "_Bool", "_Complex", "_Imaginary",
};

/* Punctuators of more than one character. */
enum { P_ASSIGN_TYPE = 256, P_ELLIPSIS, P_ARROW };

struct tok {
	enum tok_kind kind;
	int kw;        /* T_KW */
	int punct;     /* T_PUNCT: the character or P_* */
	const char *s; /* T_IDENT, T_KW, T_STR (decoded, arena) */
	uint64_t u;    /* T_INT */
	unsigned line;
};

struct scope;

struct parser {
	struct ctf_meta *m;
	const char *p, *end;
	unsigned line;
	struct tok t;       /* current token */
	bool have;
	char *err;
	size_t errlen;
	int error;
	struct scope *scope;
	int struct_depth;   /* inside a struct/variant body */
	bool has_trace;
	struct ctf_event_class *events, **events_tail;
	bool packet_be;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	if (ps->error)
		return ps->error;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "metadata:%u: %s", ps->have ? ps->t.line : ps->line, msg);
	ps->error = -EINVAL;
	return ps->error;
}

static int oom(struct parser *ps)
{
	if (!ps->error) {
		snprintf(ps->err, ps->errlen, "out of memory");
		ps->error = -ENOMEM;
	}
	return ps->error;
}

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int lex_escape(struct parser *ps, const char **pp, char *out)
{
	const char *p = *pp;
	if (p >= ps->end)
		return fail(ps, "unterminated escape sequence");
	char c = *p++;
	switch (c) {
	case 'n': *out = '\n'; break;
	case 't': *out = '\t'; break;
	case 'r': *out = '\r'; break;
	case 'a': *out = '\a'; break;
	case 'b': *out = '\b'; break;
	case 'f': *out = '\f'; break;
	case 'v': *out = '\v'; break;
	case 'e': *out = 27; break;
	case '\\': case '\'': case '"': case '?': *out = c; break;
	case 'x': {
		unsigned v = 0, n = 0;
		while (p < ps->end && n < 2 && strchr("0123456789abcdefABCDEF", *p) && *p) {
			v = v * 16 + (unsigned)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
			p++, n++;
		}
		if (!n)
			return fail(ps, "invalid \\x escape");
		*out = (char)v;
		break;
	}
	default:
		if (c >= '0' && c <= '7') {
			unsigned v = (unsigned)(c - '0'), n = 1;
			while (p < ps->end && n < 3 && *p >= '0' && *p <= '7')
				v = v * 8 + (unsigned)(*p++ - '0'), n++;
			*out = (char)v;
			break;
		}
		return fail(ps, "invalid escape sequence '\\%c'", c);
	}
	*pp = p;
	return 0;
}

static int lex(struct parser *ps)
{
	const char *p = ps->p;
	struct tok *t = &ps->t;
	for (;;) {
		while (p < ps->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
				       *p == '\f' || *p == '\v')) {
			if (*p == '\n')
				ps->line++;
			p++;
		}
		if (p + 1 < ps->end && p[0] == '/' && p[1] == '*') {
			unsigned start = ps->line;
			p += 2;
			while (p + 1 < ps->end && !(p[0] == '*' && p[1] == '/')) {
				if (*p == '\n')
					ps->line++;
				p++;
			}
			if (p + 1 >= ps->end) {
				ps->line = start;
				return fail(ps, "unterminated comment");
			}
			p += 2;
			continue;
		}
		if (p + 1 < ps->end && p[0] == '/' && p[1] == '/') {
			while (p < ps->end && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	memset(t, 0, sizeof(*t));
	t->line = ps->line;
	ps->have = true;
	if (p >= ps->end) {
		t->kind = T_EOF;
		ps->p = p;
		return 0;
	}
	char c = *p;
	if (is_ident_start(c)) {
		const char *s = p;
		while (p < ps->end && is_ident_char(*p))
			p++;
		size_t n = (size_t)(p - s);
		t->kind = T_IDENT;
		for (size_t i = 0; i < REEL_ARRAY_SIZE(keywords); i++)
			if (strlen(keywords[i]) == n && memcmp(keywords[i], s, n) == 0) {
				t->kind = T_KW;
				t->kw = (int)i;
			}
		t->s = arena_strndup(&ps->m->arena, s, n);
		if (!t->s)
			return oom(ps);
		ps->p = p;
		return 0;
	}
	if (c >= '0' && c <= '9') {
		uint64_t v = 0;
		unsigned base = 10;
		if (c == '0' && p + 1 < ps->end && (p[1] == 'x' || p[1] == 'X')) {
			base = 16;
			p += 2;
		} else if (c == '0') {
			base = 8;
		}
		const char *digits = p;
		for (; p < ps->end; p++) {
			unsigned d;
			char ch = *p;
			if (ch >= '0' && ch <= '9')
				d = (unsigned)(ch - '0');
			else if (base == 16 && ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f'))
				d = (unsigned)((ch | 0x20) - 'a' + 10);
			else
				break;
			if (d >= base)
				return fail(ps, "invalid digit in integer literal");
			if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
				return fail(ps, "integer literal out of range");
		}
		if (base == 16 && p == digits)
			return fail(ps, "incomplete hexadecimal literal");
		while (p < ps->end && (*p == 'u' || *p == 'U' || *p == 'l' || *p == 'L'))
			p++;
		if (p < ps->end && is_ident_char(*p))
			return fail(ps, "invalid integer literal");
		t->kind = T_INT;
		t->u = v;
		ps->p = p;
		return 0;
	}
	if (c == '"' || c == '\'') {
		char q = c;
		p++;
		size_t cap = 64, n = 0;
		char *buf = malloc(cap);
		if (!buf)
			return oom(ps);
		for (;;) {
			if (p >= ps->end || *p == '\n') {
				free(buf);
				return fail(ps, "unterminated string literal");
			}
			char ch = *p++;
			if (ch == q)
				break;
			if (ch == '\\') {
				if (lex_escape(ps, &p, &ch)) {
					free(buf);
					return ps->error;
				}
			} else if (ch == 0) {
				free(buf);
				return fail(ps, "NUL character in string literal");
			}
			if (n + 1 >= cap) {
				cap *= 2;
				char *nb = realloc(buf, cap);
				if (!nb) {
					free(buf);
					return oom(ps);
				}
				buf = nb;
			}
			buf[n++] = ch;
		}
		t->s = arena_strndup(&ps->m->arena, buf, n);
		t->u = n; /* length: a decoded string may hold NULs */
		free(buf);
		if (!t->s)
			return oom(ps);
		if (q == '\'') {
			t->kind = T_INT;
			t->u = n == 1 ? (unsigned char)t->s[0] : 0;
			if (n != 1)
				return fail(ps, "invalid character literal");
		} else {
			t->kind = T_STR;
		}
		ps->p = p;
		return 0;
	}
	t->kind = T_PUNCT;
	if (p + 1 < ps->end && p[0] == ':' && p[1] == '=') {
		t->punct = P_ASSIGN_TYPE;
		p += 2;
	} else if (p + 2 < ps->end && p[0] == '.' && p[1] == '.' && p[2] == '.') {
		t->punct = P_ELLIPSIS;
		p += 3;
	} else if (p + 1 < ps->end && p[0] == '-' && p[1] == '>') {
		t->punct = P_ARROW;
		p += 2;
	} else if (strchr("{}[]()<>;,.:=+-*", c) && c) {
		t->punct = c;
		p++;
	} else {
		return fail(ps, "unexpected character 0x%02x", (unsigned char)c);
	}
	ps->p = p;
	return 0;
}

static struct tok *peek(struct parser *ps)
{
	if (!ps->have && !ps->error)
		lex(ps);
	if (ps->error) {
		ps->t.kind = T_EOF;
		ps->have = true;
	}
	return &ps->t;
}

static void consume(struct parser *ps)
{
	ps->have = false;
}

static bool is_punct(struct parser *ps, int c)
{
	struct tok *t = peek(ps);
	return t->kind == T_PUNCT && t->punct == c;
}

static bool is_kw(struct parser *ps, int kw)
{
	struct tok *t = peek(ps);
	return t->kind == T_KW && t->kw == kw;
}

static const char *punct_name(int c)
{
	static char buf[2];
	switch (c) {
	case P_ASSIGN_TYPE: return ":=";
	case P_ELLIPSIS: return "...";
	case P_ARROW: return "->";
	}
	buf[0] = (char)c;
	return buf;
}

static const char *tok_desc(struct parser *ps)
{
	struct tok *t = peek(ps);
	switch (t->kind) {
	case T_EOF: return "end of metadata";
	case T_IDENT: case T_KW: return t->s;
	case T_INT: return "integer literal";
	case T_STR: return "string literal";
	case T_PUNCT: return punct_name(t->punct);
	}
	return "?";
}

static int expect(struct parser *ps, int c)
{
	if (!is_punct(ps, c))
		return fail(ps, "expected '%s' before '%s'", punct_name(c), tok_desc(ps));
	consume(ps);
	return 0;
}

/* ---- scopes -------------------------------------------------------------------- */

enum sym_ns { NS_TYPE, NS_STRUCT, NS_VARIANT, NS_ENUM };

struct sym {
	const char *name;
	enum sym_ns ns;
	struct ctf_type *type;
	struct sym *next;
};

struct scope {
	struct scope *parent;
	struct sym *syms;
};

static struct sym *scope_find(struct scope *s, const char *name, enum sym_ns ns, bool local)
{
	for (; s; s = s->parent) {
		for (struct sym *y = s->syms; y; y = y->next)
			if (y->ns == ns && strcmp(y->name, name) == 0)
				return y;
		if (local)
			break;
	}
	return NULL;
}

static int scope_add(struct parser *ps, const char *name, enum sym_ns ns, struct ctf_type *type)
{
	static const char *const what[] = { "type", "struct", "variant", "enum" };
	if (scope_find(ps->scope, name, ns, true))
		return fail(ps, "%s '%s' is already defined in this scope", what[ns], name);
	struct sym *y = arena_alloc(&ps->m->arena, sizeof(*y));
	if (!y)
		return oom(ps);
	y->name = name;
	y->ns = ns;
	y->type = type;
	y->next = ps->scope->syms;
	ps->scope->syms = y;
	return 0;
}

static int push_scope(struct parser *ps, struct scope *s)
{
	s->parent = ps->scope;
	s->syms = NULL;
	ps->scope = s;
	return 0;
}

static void pop_scope(struct parser *ps)
{
	ps->scope = ps->scope->parent;
}

/* ---- values ------------------------------------------------------------------- */

enum val_kind { V_INT, V_STR, V_IDENT, V_TYPE };

struct val {
	enum val_kind kind;
	bool neg;       /* V_INT: -u */
	uint64_t u;
	const char *s;  /* V_STR, V_IDENT (dotted path joined) */
	size_t slen;
	unsigned line;
	struct ctf_type *type;
};

static struct ctf_type *new_type(struct parser *ps, enum ctf_kind k)
{
	struct ctf_type *t = arena_calloc(&ps->m->arena, 1, sizeof(*t));
	if (!t) {
		oom(ps);
		return NULL;
	}
	t->kind = k;
	t->align = 8;
	return t;
}

/* unary-expression: [+-] integer | string | identifier(.identifier)* */
static int parse_value(struct parser *ps, struct val *v)
{
	memset(v, 0, sizeof(*v));
	struct tok *t = peek(ps);
	v->line = t->line;
	bool neg = false, sign = false;
	while (t->kind == T_PUNCT && (t->punct == '-' || t->punct == '+')) {
		if (t->punct == '-')
			neg = !neg;
		sign = true;
		consume(ps);
		t = peek(ps);
	}
	if (t->kind == T_INT) {
		v->kind = V_INT;
		v->u = t->u;
		v->neg = neg && t->u != 0;
		consume(ps);
		if (is_punct(ps, '.'))
			return fail(ps, "floating point values are not valid here");
		return 0;
	}
	if (sign)
		return fail(ps, "expected an integer after the sign");
	if (t->kind == T_STR) {
		v->kind = V_STR;
		v->s = t->s;
		v->slen = t->u;
		consume(ps);
		if (peek(ps)->kind == T_STR)
			return fail(ps, "string literals cannot be concatenated here");
		return 0;
	}
	if (t->kind == T_IDENT || t->kind == T_KW) {
		char buf[512];
		size_t n = 0;
		for (;;) {
			size_t l = strlen(t->s);
			if (n + l + 2 > sizeof(buf))
				return fail(ps, "identifier too long");
			memcpy(buf + n, t->s, l);
			n += l;
			consume(ps);
			if (!is_punct(ps, '.') && !is_punct(ps, P_ARROW))
				break;
			consume(ps);
			buf[n++] = '.';
			t = peek(ps);
			if (t->kind != T_IDENT && t->kind != T_KW)
				return fail(ps, "expected an identifier after '.'");
		}
		v->kind = V_IDENT;
		v->s = arena_strndup(&ps->m->arena, buf, n);
		if (!v->s)
			return oom(ps);
		return 0;
	}
	return fail(ps, "expected a value before '%s'", tok_desc(ps));
}

static int val_uint(struct parser *ps, const struct val *v, const char *what, uint64_t *out)
{
	if (v->kind != V_INT)
		return fail(ps, "%s must be an integer", what);
	if (v->neg)
		return fail(ps, "%s must not be negative", what);
	*out = v->u;
	return 0;
}

static int val_bool(struct parser *ps, const struct val *v, const char *what, bool *out)
{
	if (v->kind == V_INT && !v->neg && v->u <= 1) {
		*out = v->u;
		return 0;
	}
	if (v->kind == V_IDENT) {
		if (!strcmp(v->s, "true") || !strcmp(v->s, "TRUE")) {
			*out = true;
			return 0;
		}
		if (!strcmp(v->s, "false") || !strcmp(v->s, "FALSE")) {
			*out = false;
			return 0;
		}
	}
	return fail(ps, "%s must be a boolean", what);
}

static int val_byte_order(struct parser *ps, const struct val *v, bool allow_native, uint8_t *out)
{
	if (v->kind == V_IDENT) {
		if (!strcmp(v->s, "le") || !strcmp(v->s, "little")) {
			*out = CTF_BO_LE;
			return 0;
		}
		if (!strcmp(v->s, "be") || !strcmp(v->s, "big") || !strcmp(v->s, "network")) {
			*out = CTF_BO_BE;
			return 0;
		}
		if (allow_native && !strcmp(v->s, "native")) {
			*out = CTF_BO_NATIVE;
			return 0;
		}
	}
	return fail(ps, "invalid byte_order");
}

static int parse_uuid(struct parser *ps, const struct val *v, uint8_t out[16])
{
	if (v->kind != V_STR || v->slen != 36)
		return fail(ps, "invalid UUID");
	const char *s = v->s;
	unsigned j = 0;
	for (unsigned i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return fail(ps, "invalid UUID");
			continue;
		}
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return fail(ps, "invalid UUID");
		if (j % 2 == 0)
			out[j / 2] = (uint8_t)(d << 4);
		else
			out[j / 2] |= (uint8_t)d;
		j++;
	}
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---- types --------------------------------------------------------------------- */

static struct ctf_type *parse_type_spec(struct parser *ps);
static int parse_decl_entry(struct parser *ps, bool *handled);

static struct ctf_clock *find_clock(struct parser *ps, const char *name)
{
	for (size_t i = 0; i < ps->m->nclocks; i++)
		if (!strcmp(ps->m->clocks[i]->name, name))
			return ps->m->clocks[i];
	return NULL;
}

/* attribute list of integer/floating_point/string: { name = value; ... } */
static struct ctf_type *parse_int_or_float(struct parser *ps, enum ctf_kind k)
{
	struct ctf_type *t = new_type(ps, k);
	if (!t || expect(ps, '{'))
		return NULL;
	bool has_size = false, has_align = false;
	while (!is_punct(ps, '}')) {
		struct tok *nt = peek(ps);
		if (nt->kind != T_IDENT && nt->kind != T_KW) {
			fail(ps, "expected an attribute name before '%s'", tok_desc(ps));
			return NULL;
		}
		const char *name = nt->s;
		consume(ps);
		if (expect(ps, '='))
			return NULL;
		struct val v;
		if (parse_value(ps, &v) || expect(ps, ';'))
			return NULL;
		uint64_t u = 0;
		if (k == CTF_INT && !strcmp(name, "size")) {
			if (val_uint(ps, &v, "integer size", &u))
				return NULL;
			if (u == 0 || u > 65536) {
				fail(ps, "invalid integer size %llu", (unsigned long long)u);
				return NULL;
			}
			t->size = (unsigned)u;
			has_size = true;
		} else if (!strcmp(name, "align")) {
			if (val_uint(ps, &v, "alignment", &u))
				return NULL;
			if (!is_pow2(u) || u > (1u << 30)) {
				fail(ps, "alignment must be a power of two");
				return NULL;
			}
			t->align = (unsigned)u;
			has_align = true;
		} else if (k == CTF_INT && !strcmp(name, "signed")) {
			if (val_bool(ps, &v, "signed", &t->sign))
				return NULL;
		} else if (!strcmp(name, "byte_order")) {
			if (val_byte_order(ps, &v, true, &t->byte_order))
				return NULL;
		} else if (k == CTF_INT && !strcmp(name, "base")) {
			if (v.kind == V_INT && !v.neg && (v.u == 2 || v.u == 8 || v.u == 10 || v.u == 16)) {
				t->base = (uint8_t)v.u;
			} else if (v.kind == V_IDENT) {
				static const struct { const char *n; uint8_t b; } bases[] = {
					{ "decimal", 10 }, { "dec", 10 }, { "d", 10 }, { "i", 10 }, { "u", 10 },
					{ "hexadecimal", 16 }, { "hex", 16 }, { "x", 16 }, { "X", 16 }, { "p", 16 },
					{ "octal", 8 }, { "oct", 8 }, { "o", 8 }, { "binary", 2 }, { "b", 2 },
				};
				for (size_t i = 0; i < REEL_ARRAY_SIZE(bases); i++)
					if (!strcmp(v.s, bases[i].n))
						t->base = bases[i].b;
				if (!t->base) {
					fail(ps, "invalid integer base '%s'", v.s);
					return NULL;
				}
			} else {
				fail(ps, "invalid integer base");
				return NULL;
			}
		} else if (k == CTF_INT && !strcmp(name, "encoding")) {
			if (v.kind != V_IDENT) {
				fail(ps, "invalid encoding");
				return NULL;
			}
			if (!strcmp(v.s, "none"))
				t->text = false;
			else if (!strcmp(v.s, "UTF8") || !strcmp(v.s, "ASCII") || !strcmp(v.s, "utf8") ||
				 !strcmp(v.s, "ascii"))
				t->text = true;
			else {
				fail(ps, "invalid encoding '%s'", v.s);
				return NULL;
			}
		} else if (k == CTF_INT && !strcmp(name, "map")) {
			/* clock.NAME.value */
			if (v.kind != V_IDENT || strncmp(v.s, "clock.", 6) != 0) {
				fail(ps, "invalid map");
				return NULL;
			}
			const char *cn = v.s + 6;
			const char *dot = strrchr(cn, '.');
			if (!dot || strcmp(dot, ".value") != 0) {
				fail(ps, "invalid map '%s'", v.s);
				return NULL;
			}
			char *name2 = arena_strndup(&ps->m->arena, cn, (size_t)(dot - cn));
			if (!name2) {
				oom(ps);
				return NULL;
			}
			t->clock = find_clock(ps, name2);
			if (!t->clock) {
				fail(ps, "map to undefined clock '%s'", name2);
				return NULL;
			}
		} else if (k == CTF_FLOAT && (!strcmp(name, "exp_dig") || !strcmp(name, "mant_dig"))) {
			if (val_uint(ps, &v, name, &u))
				return NULL;
			if (u > 1024) {
				fail(ps, "invalid %s", name);
				return NULL;
			}
			if (name[0] == 'e')
				t->exp_dig = (unsigned)u;
			else
				t->mant_dig = (unsigned)u;
		}
		/* unknown attributes are ignored, as the specification says */
	}
	consume(ps);
	if (k == CTF_INT) {
		if (!has_size) {
			fail(ps, "integer without a size");
			return NULL;
		}
		if (!has_align)
			t->align = t->size % 8 ? 1 : 8;
		if (!t->base)
			t->base = 10;
	} else {
		if (t->exp_dig == 8 && t->mant_dig == 24)
			t->size = 32;
		else if (t->exp_dig == 11 && t->mant_dig == 53)
			t->size = 64;
		else {
			fail(ps, "unsupported floating point type (exp_dig %u, mant_dig %u)",
			     t->exp_dig, t->mant_dig);
			return NULL;
		}
	}
	return t;
}

static struct ctf_type *parse_string_type(struct parser *ps)
{
	struct ctf_type *t = new_type(ps, CTF_STRING);
	if (!t)
		return NULL;
	if (!is_punct(ps, '{'))
		return t;
	consume(ps);
	while (!is_punct(ps, '}')) {
		struct tok *nt = peek(ps);
		if (nt->kind != T_IDENT && nt->kind != T_KW) {
			fail(ps, "expected an attribute name before '%s'", tok_desc(ps));
			return NULL;
		}
		consume(ps);
		struct val v;
		if (expect(ps, '=') || parse_value(ps, &v) || expect(ps, ';'))
			return NULL;
	}
	consume(ps);
	return t;
}

static bool int_fits(const struct ctf_type *c, bool neg, uint64_t u)
{
	if (c->size >= 64) {
		if (!c->sign)
			return !neg;
		return neg ? u <= (UINT64_C(1) << 63) : u <= (uint64_t)INT64_MAX;
	}
	if (!c->sign)
		return !neg && u <= (UINT64_C(1) << c->size) - 1;
	if (neg)
		return u <= (UINT64_C(1) << (c->size - 1));
	return u <= (UINT64_C(1) << (c->size - 1)) - 1;
}

static uint64_t val_as_u64(bool neg, uint64_t u)
{
	return neg ? (uint64_t)0 - u : u;
}

/* Signed comparison helpers for enum values stored as uint64 */
static bool enum_less(const struct ctf_type *c, uint64_t a, uint64_t b)
{
	return c->sign ? (int64_t)a < (int64_t)b : a < b;
}

static struct ctf_type *parse_enum(struct parser *ps)
{
	consume(ps); /* enum */
	const char *name = NULL;
	struct tok *t = peek(ps);
	if (t->kind == T_IDENT) {
		name = t->s;
		consume(ps);
	}
	struct ctf_type *container = NULL;
	if (is_punct(ps, ':')) {
		consume(ps);
		container = parse_type_spec(ps);
		if (!container)
			return NULL;
		if (container->kind != CTF_INT) {
			fail(ps, "enum container must be an integer type");
			return NULL;
		}
	}
	if (!is_punct(ps, '{')) {
		if (!name) {
			fail(ps, "expected '{' after 'enum'");
			return NULL;
		}
		struct sym *y = scope_find(ps->scope, name, NS_ENUM, false);
		if (!y) {
			fail(ps, "undefined enum '%s'", name);
			return NULL;
		}
		return y->type;
	}
	consume(ps);
	if (!container) {
		struct sym *y = scope_find(ps->scope, "int", NS_TYPE, false);
		if (!y || y->type->kind != CTF_INT) {
			fail(ps, "enum without a container type and no 'int' type defined");
			return NULL;
		}
		container = y->type;
	}
	struct ctf_type *e = new_type(ps, CTF_ENUM);
	if (!e)
		return NULL;
	*e = *container;
	e->kind = CTF_ENUM;
	e->map = NULL;
	e->nmap = 0;
	size_t cap = 0;
	uint64_t next = 0;
	bool next_ok = true;
	while (!is_punct(ps, '}')) {
		t = peek(ps);
		if (t->kind != T_IDENT && t->kind != T_STR && t->kind != T_KW) {
			fail(ps, "expected an enumerator before '%s'", tok_desc(ps));
			return NULL;
		}
		const char *label = t->s;
		consume(ps);
		uint64_t lo, hi;
		if (is_punct(ps, '=')) {
			consume(ps);
			struct val v;
			if (parse_value(ps, &v))
				return NULL;
			if (v.kind != V_INT) {
				fail(ps, "enumerator value must be an integer");
				return NULL;
			}
			if (!int_fits(e, v.neg, v.u)) {
				fail(ps, "enumerator value out of the container's range");
				return NULL;
			}
			lo = hi = val_as_u64(v.neg, v.u);
			if (is_punct(ps, P_ELLIPSIS)) {
				consume(ps);
				if (parse_value(ps, &v))
					return NULL;
				if (v.kind != V_INT) {
					fail(ps, "enumerator value must be an integer");
					return NULL;
				}
				if (!int_fits(e, v.neg, v.u)) {
					fail(ps, "enumerator value out of the container's range");
					return NULL;
				}
				hi = val_as_u64(v.neg, v.u);
				if (enum_less(e, hi, lo)) {
					uint64_t x = lo;
					lo = hi;
					hi = x;
				}
			}
		} else {
			if (!next_ok) {
				fail(ps, "enumerator value out of the container's range");
				return NULL;
			}
			lo = hi = next;
			bool neg = e->sign && (int64_t)lo < 0;
			if (!int_fits(e, neg, neg ? (uint64_t)0 - lo : lo)) {
				fail(ps, "enumerator value out of the container's range");
				return NULL;
			}
		}
		next = hi + 1;
		next_ok = e->sign ? hi != (uint64_t)INT64_MAX : hi != UINT64_MAX;
		if (e->nmap == cap) {
			cap = cap ? cap * 2 : 8;
			struct ctf_mapping *nm = arena_calloc(&ps->m->arena, cap, sizeof(*nm));
			if (!nm) {
				oom(ps);
				return NULL;
			}
			if (e->nmap)
				memcpy(nm, e->map, e->nmap * sizeof(*nm));
			e->map = nm;
		}
		e->map[e->nmap].label = label;
		e->map[e->nmap].lo = lo;
		e->map[e->nmap].hi = hi;
		e->nmap++;
		if (is_punct(ps, ','))
			consume(ps);
		else if (!is_punct(ps, '}')) {
			fail(ps, "expected ',' or '}' in enum before '%s'", tok_desc(ps));
			return NULL;
		}
	}
	consume(ps);
	if (e->nmap == 0) {
		fail(ps, "empty enum");
		return NULL;
	}
	if (name && scope_add(ps, name, NS_ENUM, e))
		return NULL;
	return e;
}

/* path in <...> or [...]: identifier(.identifier)* */
static const char *parse_path(struct parser *ps, int closing)
{
	char buf[1024];
	size_t n = 0;
	unsigned parts = 0;
	bool first_kw = false;
	for (;;) {
		struct tok *t = peek(ps);
		if (t->kind == T_KW && parts == 0 &&
		    (t->kw == KW_TRACE || t->kw == KW_STREAM || t->kw == KW_EVENT || t->kw == KW_ENV)) {
			first_kw = true;
		} else if (t->kind == T_KW && parts > 0 && first_kw) {
			/* event.context, stream.event.header ... */
		} else if (t->kind != T_IDENT) {
			fail(ps, "expected a field name before '%s'", tok_desc(ps));
			return NULL;
		}
		size_t l = strlen(t->s);
		if (n + l + 2 > sizeof(buf)) {
			fail(ps, "path too long");
			return NULL;
		}
		memcpy(buf + n, t->s, l);
		n += l;
		parts++;
		consume(ps);
		if (is_punct(ps, '.') || is_punct(ps, P_ARROW)) {
			consume(ps);
			buf[n++] = '.';
			continue;
		}
		break;
	}
	if (first_kw && parts == 1) {
		fail(ps, "'%s' is a reserved keyword", buf);
		return NULL;
	}
	if (expect(ps, closing))
		return NULL;
	return arena_strndup(&ps->m->arena, buf, n);
}

struct declarator {
	const char *name;
	struct ctf_type *type;
};

/* Declarator: IDENT [ '[' (integer | path) ']' ]* ; name may be absent (abstract). */
static int parse_declarator(struct parser *ps, struct ctf_type *base, bool abstract, struct declarator *d)
{
	d->name = NULL;
	d->type = base;
	struct tok *t = peek(ps);
	if (t->kind == T_IDENT) {
		d->name = t->s;
		consume(ps);
	} else if (!abstract) {
		return fail(ps, "expected a field name before '%s'", tok_desc(ps));
	}
	/* dimensions, outermost first: build innermost-first */
	struct ctf_type *dims[32];
	unsigned nd = 0;
	while (is_punct(ps, '[')) {
		consume(ps);
		if (nd == REEL_ARRAY_SIZE(dims))
			return fail(ps, "too many array dimensions");
		struct ctf_type *a;
		t = peek(ps);
		if (t->kind == T_INT) {
			a = new_type(ps, CTF_ARRAY);
			if (!a)
				return ps->error;
			a->length = t->u;
			consume(ps);
			if (expect(ps, ']'))
				return ps->error;
		} else if (t->kind == T_IDENT || t->kind == T_KW) {
			a = new_type(ps, CTF_SEQ);
			if (!a)
				return ps->error;
			a->path = parse_path(ps, ']');
			if (!a->path)
				return ps->error;
			if (ps->struct_depth == 0 && !strchr(a->path, '.'))
				return fail(ps, "sequence length '%s' outside of a structure", a->path);
		} else {
			return fail(ps, "expected an array length before '%s'", tok_desc(ps));
		}
		dims[nd++] = a;
	}
	struct ctf_type *cur = base;
	while (nd) {
		struct ctf_type *a = dims[--nd];
		a->elem = cur;
		a->align = cur->align;
		cur = a;
	}
	d->type = cur;
	return 0;
}

static bool is_ctype_kw(int kw)
{
	switch (kw) {
	case KW_CONST: case KW_CHAR: case KW_DOUBLE: case KW_FLOAT: case KW_INT: case KW_LONG:
	case KW_SHORT: case KW_SIGNED: case KW_UNSIGNED: case KW_VOID: case KW_BOOL:
	case KW_COMPLEX: case KW_IMAGINARY:
		return true;
	}
	return false;
}

/* A (possibly multi-word) type name: "uint32_t", "unsigned long" */
static const char *parse_type_name(struct parser *ps, bool for_alias)
{
	char buf[256];
	size_t n = 0;
	struct tok *t = peek(ps);
	if (t->kind == T_IDENT) {
		consume(ps);
		/* an identifier after C keywords ends the name (a declarator) */
		return t->s;
	}
	while (t->kind == T_KW && is_ctype_kw(t->kw)) {
		if (t->kw != KW_CONST) {
			size_t l = strlen(t->s);
			if (n + l + 2 > sizeof(buf)) {
				fail(ps, "type name too long");
				return NULL;
			}
			if (n)
				buf[n++] = ' ';
			memcpy(buf + n, t->s, l);
			n += l;
		}
		consume(ps);
		t = peek(ps);
		if (for_alias && t->kind == T_IDENT && n == 0)
			break;
	}
	if (n == 0) {
		fail(ps, "expected a type name before '%s'", tok_desc(ps));
		return NULL;
	}
	return arena_strndup(&ps->m->arena, buf, n);
}

static int add_field(struct parser *ps, struct ctf_type *st, const char *name, struct ctf_type *ft, size_t *cap)
{
	for (size_t i = 0; i < st->nfields; i++)
		if (!strcmp(st->fields[i].name, name))
			return fail(ps, "duplicate field name '%s'", name);
	if (st->nfields == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		struct ctf_field *nf = arena_calloc(&ps->m->arena, *cap, sizeof(*nf));
		if (!nf)
			return oom(ps);
		if (st->nfields)
			memcpy(nf, st->fields, st->nfields * sizeof(*nf));
		st->fields = nf;
	}
	st->fields[st->nfields].name = name;
	st->fields[st->nfields].type = ft;
	st->nfields++;
	return 0;
}

static const char *strip_(const char *s)
{
	return s[0] == '_' ? s + 1 : s;
}

/* A variant whose tag is an earlier field of the same structure is checked
 * where it is declared: the tag must be an enumeration, and some option
 * must match one of its labels. */
static int check_variants(struct parser *ps, const struct ctf_type *st)
{
	for (size_t i = 0; i < st->nfields; i++) {
		const struct ctf_type *v = st->fields[i].type;
		if (v->kind != CTF_VARIANT || !v->path || strchr(v->path, '.'))
			continue;
		const struct ctf_type *tag = NULL;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(st->fields[k].name, v->path))
				tag = st->fields[k].type;
		if (!tag)
			continue;
		if (tag->kind != CTF_ENUM)
			return fail(ps, "variant '%s': tag '%s' is not an enumeration", st->fields[i].name, v->path);
		bool any = false;
		for (size_t m = 0; m < tag->nmap && !any; m++)
			for (size_t o = 0; o < v->nfields && !any; o++)
				any = !strcmp(tag->map[m].label, v->fields[o].name) ||
				      !strcmp(strip_(tag->map[m].label), strip_(v->fields[o].name));
		if (!any)
			return fail(ps, "variant '%s': no option matches a label of its tag '%s'",
				    st->fields[i].name, v->path);
	}
	return 0;
}

/* struct/variant body: declarations and fields */
static int parse_compound_body(struct parser *ps, struct ctf_type *st)
{
	struct scope sc;
	size_t cap = 0;
	push_scope(ps, &sc);
	ps->struct_depth++;
	while (!is_punct(ps, '}') && !ps->error) {
		if (peek(ps)->kind == T_EOF) {
			fail(ps, "unterminated %s", st->kind == CTF_STRUCT ? "structure" : "variant");
			break;
		}
		bool handled;
		if (parse_decl_entry(ps, &handled))
			break;
		if (handled)
			continue;
		struct ctf_type *base = parse_type_spec(ps);
		if (!base)
			break;
		if (is_punct(ps, ';')) { /* type definition only */
			consume(ps);
			continue;
		}
		for (;;) {
			struct declarator d;
			if (parse_declarator(ps, base, false, &d))
				break;
			if (st->kind == CTF_VARIANT && d.type->kind == CTF_STRING && false)
				break;
			if (add_field(ps, st, d.name, d.type, &cap))
				break;
			if (is_punct(ps, ',')) {
				consume(ps);
				continue;
			}
			expect(ps, ';');
			break;
		}
	}
	ps->struct_depth--;
	pop_scope(ps);
	if (ps->error)
		return ps->error;
	consume(ps); /* } */
	if (st->kind == CTF_STRUCT)
		return check_variants(ps, st);
	return 0;
}

static struct ctf_type *parse_struct(struct parser *ps)
{
	consume(ps);
	const char *name = NULL;
	struct tok *t = peek(ps);
	if (t->kind == T_IDENT) {
		name = t->s;
		consume(ps);
	}
	if (!is_punct(ps, '{')) {
		if (!name) {
			fail(ps, "expected '{' after 'struct'");
			return NULL;
		}
		struct sym *y = scope_find(ps->scope, name, NS_STRUCT, false);
		if (!y) {
			fail(ps, "undefined struct '%s'", name);
			return NULL;
		}
		return y->type;
	}
	consume(ps);
	struct ctf_type *st = new_type(ps, CTF_STRUCT);
	if (!st)
		return NULL;
	st->align = 1;
	if (name && scope_find(ps->scope, name, NS_STRUCT, true)) {
		fail(ps, "struct '%s' is already defined in this scope", name);
		return NULL;
	}
	if (parse_compound_body(ps, st))
		return NULL;
	if (is_kw(ps, KW_ALIGN)) {
		consume(ps);
		struct val v;
		uint64_t u = 0;
		if (expect(ps, '(') || parse_value(ps, &v))
			return NULL;
		if (val_uint(ps, &v, "structure alignment", &u))
			return NULL;
		if (!is_pow2(u) || u > (1u << 30)) {
			fail(ps, "structure alignment must be a power of two");
			return NULL;
		}
		if (expect(ps, ')'))
			return NULL;
		st->align = (unsigned)u;
	}
	for (size_t i = 0; i < st->nfields; i++)
		if (st->fields[i].type->align > st->align)
			st->align = st->fields[i].type->align;
	if (name && scope_add(ps, name, NS_STRUCT, st))
		return NULL;
	return st;
}

static struct ctf_type *parse_variant(struct parser *ps)
{
	consume(ps);
	const char *name = NULL, *tag = NULL;
	struct tok *t = peek(ps);
	if (t->kind == T_IDENT) {
		name = t->s;
		consume(ps);
	}
	if (is_punct(ps, '<')) {
		consume(ps);
		tag = parse_path(ps, '>');
		if (!tag)
			return NULL;
	}
	if (!is_punct(ps, '{')) {
		if (!name) {
			fail(ps, "expected '{' after 'variant'");
			return NULL;
		}
		struct sym *y = scope_find(ps->scope, name, NS_VARIANT, false);
		if (!y) {
			fail(ps, "undefined variant '%s'", name);
			return NULL;
		}
		if (!tag)
			return y->type;
		struct ctf_type *v = new_type(ps, CTF_VARIANT);
		if (!v)
			return NULL;
		*v = *y->type;
		v->path = tag;
		return v;
	}
	consume(ps);
	struct ctf_type *v = new_type(ps, CTF_VARIANT);
	if (!v)
		return NULL;
	v->align = 1;
	v->path = tag;
	if (parse_compound_body(ps, v))
		return NULL;
	if (v->nfields == 0) {
		fail(ps, "empty variant");
		return NULL;
	}
	if (name && scope_add(ps, name, NS_VARIANT, v))
		return NULL;
	return v;
}

static struct ctf_type *parse_type_spec(struct parser *ps)
{
	struct tok *t = peek(ps);
	if (ps->error)
		return NULL;
	if (t->kind == T_KW) {
		switch (t->kw) {
		case KW_CONST:
			consume(ps);
			return parse_type_spec(ps);
		case KW_INTEGER:
			consume(ps);
			return parse_int_or_float(ps, CTF_INT);
		case KW_FLOATING_POINT:
			consume(ps);
			return parse_int_or_float(ps, CTF_FLOAT);
		case KW_STRING:
			consume(ps);
			return parse_string_type(ps);
		case KW_ENUM:
			return parse_enum(ps);
		case KW_STRUCT:
			return parse_struct(ps);
		case KW_VARIANT:
			return parse_variant(ps);
		default:
			if (!is_ctype_kw(t->kw)) {
				fail(ps, "unexpected keyword '%s'", t->s);
				return NULL;
			}
		}
	} else if (t->kind != T_IDENT) {
		fail(ps, "expected a type before '%s'", tok_desc(ps));
		return NULL;
	}
	const char *name = parse_type_name(ps, false);
	if (!name)
		return NULL;
	struct sym *y = scope_find(ps->scope, name, NS_TYPE, false);
	if (!y) {
		fail(ps, "undefined type '%s'", name);
		return NULL;
	}
	return y->type;
}

static int parse_typealias(struct parser *ps)
{
	consume(ps);
	struct ctf_type *base = parse_type_spec(ps);
	if (!base)
		return ps->error;
	struct declarator d;
	if (parse_declarator(ps, base, true, &d))
		return ps->error;
	if (d.name)
		return fail(ps, "unexpected name '%s' in typealias", d.name);
	if (expect(ps, P_ASSIGN_TYPE))
		return ps->error;
	struct tok *t = peek(ps);
	if (t->kind == T_KW && !is_ctype_kw(t->kw))
		return fail(ps, "'%s' is a reserved keyword", t->s);
	const char *name = parse_type_name(ps, true);
	if (!name)
		return ps->error;
	struct declarator d2;
	if (parse_declarator(ps, d.type, true, &d2))
		return ps->error;
	if (d2.name)
		return fail(ps, "unexpected name '%s' in typealias", d2.name);
	if (expect(ps, ';'))
		return ps->error;
	return scope_add(ps, name, NS_TYPE, d2.type);
}

static int parse_typedef(struct parser *ps)
{
	consume(ps);
	struct ctf_type *base = parse_type_spec(ps);
	if (!base)
		return ps->error;
	for (;;) {
		struct tok *t = peek(ps);
		if (t->kind == T_KW)
			return fail(ps, "'%s' is a reserved keyword", t->s);
		struct declarator d;
		if (parse_declarator(ps, base, false, &d))
			return ps->error;
		if (scope_add(ps, d.name, NS_TYPE, d.type))
			return ps->error;
		if (!is_punct(ps, ','))
			break;
		consume(ps);
	}
	return expect(ps, ';');
}

/* typealias/typedef, handled in any scope */
static int parse_decl_entry(struct parser *ps, bool *handled)
{
	*handled = true;
	if (is_kw(ps, KW_TYPEALIAS))
		return parse_typealias(ps);
	if (is_kw(ps, KW_TYPEDEF))
		return parse_typedef(ps);
	*handled = false;
	return ps->error;
}

/* ---- blocks: trace, stream, event, env, clock, callsite ------------------------- */

typedef int (*attr_fn)(struct parser *ps, void *obj, const char *name, const struct val *v);

/* block body: assignments `a.b = value;`, `a.b := type;`, declarations */
static int parse_block(struct parser *ps, void *obj, attr_fn fn)
{
	struct scope sc;
	if (expect(ps, '{'))
		return ps->error;
	push_scope(ps, &sc);
	while (!is_punct(ps, '}') && !ps->error) {
		struct tok *t = peek(ps);
		if (t->kind == T_EOF) {
			fail(ps, "unterminated block");
			break;
		}
		bool handled;
		if (parse_decl_entry(ps, &handled))
			break;
		if (handled)
			continue;
		if (t->kind == T_KW && (t->kw == KW_STRUCT || t->kw == KW_VARIANT || t->kw == KW_ENUM ||
					t->kw == KW_INTEGER || t->kw == KW_FLOATING_POINT)) {
			if (!parse_type_spec(ps))
				break;
			expect(ps, ';');
			continue;
		}
		/* left-hand side */
		char lhs[256];
		size_t n = 0;
		for (;;) {
			t = peek(ps);
			if (t->kind != T_IDENT && t->kind != T_KW) {
				fail(ps, "expected an attribute name before '%s'", tok_desc(ps));
				break;
			}
			size_t l = strlen(t->s);
			if (n + l + 2 > sizeof(lhs)) {
				fail(ps, "attribute name too long");
				break;
			}
			memcpy(lhs + n, t->s, l);
			n += l;
			consume(ps);
			if (!is_punct(ps, '.'))
				break;
			consume(ps);
			lhs[n++] = '.';
		}
		if (ps->error)
			break;
		lhs[n] = 0;
		struct val v;
		if (is_punct(ps, P_ASSIGN_TYPE)) {
			consume(ps);
			memset(&v, 0, sizeof(v));
			v.kind = V_TYPE;
			v.line = peek(ps)->line;
			v.type = parse_type_spec(ps);
			if (!v.type)
				break;
			/* a declarator may follow the type (e.g. an array) */
			struct declarator d;
			if (parse_declarator(ps, v.type, true, &d))
				break;
			v.type = d.type;
		} else if (is_punct(ps, '=')) {
			consume(ps);
			if (parse_value(ps, &v))
				break;
		} else {
			fail(ps, "expected '=' or ':=' after '%s'", lhs);
			break;
		}
		if (expect(ps, ';'))
			break;
		if (fn(ps, obj, lhs, &v))
			break;
	}
	pop_scope(ps);
	if (ps->error)
		return ps->error;
	consume(ps);
	return expect(ps, ';');
}

static int want_struct(struct parser *ps, const struct val *v, const char *name, struct ctf_type **out)
{
	if (v->kind != V_TYPE)
		return fail(ps, "%s must be a type", name);
	if (v->type->kind != CTF_STRUCT)
		return fail(ps, "%s must be a structure", name);
	*out = v->type;
	return 0;
}

static int trace_attr(struct parser *ps, void *obj, const char *name, const struct val *v)
{
	struct ctf_meta *m = obj;
	uint64_t u = 0;
	if (!strcmp(name, "major")) {
		if (val_uint(ps, v, "major", &u))
			return ps->error;
		m->major = u > 1000 ? 1000 : (unsigned)u;
	} else if (!strcmp(name, "minor")) {
		if (val_uint(ps, v, "minor", &u))
			return ps->error;
		m->minor = u > 1000 ? 1000 : (unsigned)u;
	} else if (!strcmp(name, "uuid")) {
		if (parse_uuid(ps, v, m->uuid))
			return ps->error;
		m->has_uuid = true;
	} else if (!strcmp(name, "byte_order")) {
		uint8_t bo;
		if (val_byte_order(ps, v, false, &bo))
			return ps->error;
		m->be = bo == CTF_BO_BE;
		m->has_byte_order = true;
	} else if (!strcmp(name, "packet.header")) {
		return want_struct(ps, v, name, &m->packet_header);
	}
	return 0;
}

static struct ctf_stream_class *find_stream(struct ctf_meta *m, uint64_t id)
{
	for (struct ctf_stream_class *s = m->streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static int stream_attr(struct parser *ps, void *obj, const char *name, const struct val *v)
{
	struct ctf_stream_class *s = obj;
	if (!strcmp(name, "id")) {
		if (val_uint(ps, v, "stream id", &s->id))
			return ps->error;
		s->has_id = true;
	} else if (!strcmp(name, "packet.context")) {
		return want_struct(ps, v, name, &s->packet_context);
	} else if (!strcmp(name, "event.header")) {
		return want_struct(ps, v, name, &s->event_header);
	} else if (!strcmp(name, "event.context")) {
		return want_struct(ps, v, name, &s->event_context);
	}
	return 0;
}

static int event_attr(struct parser *ps, void *obj, const char *name, const struct val *v)
{
	struct ctf_event_class *e = obj;
	if (!strcmp(name, "name")) {
		if (v->kind != V_STR && v->kind != V_IDENT)
			return fail(ps, "event name must be a string");
		e->name = v->s;
	} else if (!strcmp(name, "id")) {
		if (val_uint(ps, v, "event id", &e->id))
			return ps->error;
		e->has_id = true;
	} else if (!strcmp(name, "stream_id")) {
		if (val_uint(ps, v, "event stream_id", &e->stream_id))
			return ps->error;
		e->has_stream_id = true;
	} else if (!strcmp(name, "loglevel")) {
		if (v->kind != V_INT)
			return fail(ps, "loglevel must be an integer");
		e->loglevel = (int64_t)val_as_u64(v->neg, v->u);
		e->has_loglevel = true;
	} else if (!strcmp(name, "model.emf.uri")) {
		if (v->kind != V_STR)
			return fail(ps, "model.emf.uri must be a string");
		e->model_emf_uri = v->s;
	} else if (!strcmp(name, "context")) {
		return want_struct(ps, v, name, &e->context);
	} else if (!strcmp(name, "fields")) {
		return want_struct(ps, v, name, &e->fields);
	}
	return 0;
}

static int env_attr(struct parser *ps, void *obj, const char *name, const struct val *v)
{
	struct ctf_meta *m = obj;
	struct ctf_env *e = arena_calloc(&m->arena, 1, sizeof(*e));
	if (!e)
		return oom(ps);
	e->name = arena_strdup(&m->arena, name);
	if (!e->name)
		return oom(ps);
	if (v->kind == V_INT) {
		if (!v->neg && v->u > (uint64_t)INT64_MAX)
			return fail(ps, "env value out of range");
		e->is_int = true;
		e->i = (int64_t)val_as_u64(v->neg, v->u);
	} else if (v->kind == V_STR || v->kind == V_IDENT) {
		e->s = v->s;
	} else {
		return fail(ps, "invalid env value for '%s'", name);
	}
	/* a later assignment replaces an earlier one */
	struct ctf_env **pp = &m->env;
	while (*pp) {
		if (!strcmp((*pp)->name, name)) {
			e->next = (*pp)->next;
			*pp = e;
			return 0;
		}
		pp = &(*pp)->next;
	}
	*pp = e;
	return 0;
}

static int clock_attr(struct parser *ps, void *obj, const char *name, const struct val *v)
{
	struct ctf_clock *c = obj;
	uint64_t u = 0;
	if (!strcmp(name, "name")) {
		if (v->kind != V_STR && v->kind != V_IDENT)
			return fail(ps, "clock name must be a string");
		c->name = v->s;
	} else if (!strcmp(name, "description")) {
		if (v->kind != V_STR)
			return fail(ps, "clock description must be a string");
		c->description = v->s;
	} else if (!strcmp(name, "uuid")) {
		if (parse_uuid(ps, v, c->uuid))
			return ps->error;
		c->has_uuid = true;
	} else if (!strcmp(name, "freq")) {
		if (val_uint(ps, v, "clock frequency", &u))
			return ps->error;
		if (u == 0)
			return fail(ps, "clock frequency must not be zero");
		c->freq = u;
	} else if (!strcmp(name, "offset_s")) {
		if (v->kind != V_INT || (!v->neg && v->u > (uint64_t)INT64_MAX))
			return fail(ps, "clock offset_s must be an integer");
		c->offset_s = (int64_t)val_as_u64(v->neg, v->u);
	} else if (!strcmp(name, "offset")) {
		if (v->kind != V_INT || (!v->neg && v->u > (uint64_t)INT64_MAX))
			return fail(ps, "clock offset must be an integer");
		c->offset = (int64_t)val_as_u64(v->neg, v->u);
	} else if (!strcmp(name, "absolute")) {
		if (val_bool(ps, v, "absolute", &c->absolute))
			return ps->error;
	} else if (!strcmp(name, "precision")) {
		if (val_uint(ps, v, "clock precision", &u))
			return ps->error;
	}
	return 0;
}

static int ignore_attr(struct parser *ps, void *obj, const char *name, const struct val *v)
{
	(void)ps, (void)obj, (void)name, (void)v;
	return 0;
}

static int parse_top(struct parser *ps)
{
	struct ctf_meta *m = ps->m;
	while (!ps->error) {
		struct tok *t = peek(ps);
		if (t->kind == T_EOF)
			break;
		bool handled;
		if (parse_decl_entry(ps, &handled))
			break;
		if (handled)
			continue;
		if (t->kind == T_KW) {
			switch (t->kw) {
			case KW_TRACE:
				consume(ps);
				if (ps->has_trace)
					return fail(ps, "duplicate trace block");
				ps->has_trace = true;
				if (parse_block(ps, m, trace_attr))
					return ps->error;
				continue;
			case KW_STREAM: {
				consume(ps);
				struct ctf_stream_class *s = arena_calloc(&m->arena, 1, sizeof(*s));
				if (!s)
					return oom(ps);
				if (parse_block(ps, s, stream_attr))
					return ps->error;
				if (find_stream(m, s->id))
					return fail(ps, "duplicate stream id %llu", (unsigned long long)s->id);
				struct ctf_stream_class **pp = &m->streams;
				while (*pp)
					pp = &(*pp)->next;
				*pp = s;
				m->nstreams++;
				continue;
			}
			case KW_EVENT: {
				consume(ps);
				struct ctf_event_class *e = arena_calloc(&m->arena, 1, sizeof(*e));
				if (!e)
					return oom(ps);
				if (parse_block(ps, e, event_attr))
					return ps->error;
				*ps->events_tail = e;
				ps->events_tail = &e->next;
				continue;
			}
			case KW_ENV:
				consume(ps);
				if (parse_block(ps, m, env_attr))
					return ps->error;
				continue;
			case KW_CLOCK: {
				consume(ps);
				struct ctf_clock *c = arena_calloc(&m->arena, 1, sizeof(*c));
				if (!c)
					return oom(ps);
				c->freq = 1000000000;
				c->absolute = false;
				if (parse_block(ps, c, clock_attr))
					return ps->error;
				if (!c->name)
					return fail(ps, "clock without a name");
				if (find_clock(ps, c->name))
					return fail(ps, "duplicate clock '%s'", c->name);
				struct ctf_clock **nc = arena_calloc(&m->arena, m->nclocks + 1, sizeof(*nc));
				if (!nc)
					return oom(ps);
				if (m->nclocks)
					memcpy(nc, m->clocks, m->nclocks * sizeof(*nc));
				nc[m->nclocks++] = c;
				m->clocks = nc;
				continue;
			}
			case KW_CALLSITE:
				consume(ps);
				if (parse_block(ps, NULL, ignore_attr))
					return ps->error;
				continue;
			}
		}
		/* named struct/variant/enum definitions (several may follow each other) */
		if (!parse_type_spec(ps))
			break;
		while (is_kw(ps, KW_STRUCT) || is_kw(ps, KW_VARIANT) || is_kw(ps, KW_ENUM))
			if (!parse_type_spec(ps))
				return ps->error;
		if (peek(ps)->kind == T_IDENT)
			return fail(ps, "fields are not allowed outside of a structure");
		if (expect(ps, ';'))
			break;
	}
	return ps->error;
}

/* ---- packetized metadata -------------------------------------------------------- */

#define META_MAGIC 0x75D11D57u

static uint32_t rd32(const uint8_t *p, bool be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int unpacketize(const uint8_t *d, size_t len, char **ret_text, size_t *ret_len, bool *ret_be,
		       char *err, size_t errlen)
{
	bool be = rd32(d, true) == META_MAGIC;
	size_t off = 0, n = 0;
	char *out = malloc(len + 1);
	uint8_t uuid[16];
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (off < len) {
		if (len - off < 37) {
			snprintf(err, errlen, "metadata packet %zu: truncated header", off);
			goto bad;
		}
		const uint8_t *h = d + off;
		if (rd32(h, be) != META_MAGIC) {
			snprintf(err, errlen, "metadata packet at offset %zu: bad magic", off);
			goto bad;
		}
		if (off == 0)
			memcpy(uuid, h + 4, 16);
		else if (memcmp(uuid, h + 4, 16)) {
			snprintf(err, errlen, "metadata packet at offset %zu: UUID differs", off);
			goto bad;
		}
		uint32_t content = rd32(h + 24, be), packet = rd32(h + 28, be);
		if (h[32] || h[33] || h[34]) {
			snprintf(err, errlen, "metadata packet at offset %zu: compression, encryption "
				 "and checksums are not supported", off);
			goto bad;
		}
		if (h[35] != 1 || h[36] != 8) {
			snprintf(err, errlen, "metadata packet at offset %zu: version %u.%u, expected 1.8",
				 off, h[35], h[36]);
			goto bad;
		}
		if (content % 8 || packet % 8 || content < 37 * 8 || content > packet ||
		    packet / 8 > len - off) {
			snprintf(err, errlen, "metadata packet at offset %zu: invalid sizes "
				 "(content %u bits, packet %u bits)", off, content, packet);
			goto bad;
		}
		memcpy(out + n, h + 37, content / 8 - 37);
		n += content / 8 - 37;
		off += packet / 8;
	}
	out[n] = 0;
	*ret_text = out;
	*ret_len = n;
	*ret_be = be;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

/* ---- entry point ------------------------------------------------------------------ */

static int check_events(struct parser *ps)
{
	struct ctf_meta *m = ps->m;
	if (!m->streams) {
		bool any = false;
		for (struct ctf_event_class *e = ps->events; e; e = e->next)
			if (e->has_stream_id && e->stream_id != 0)
				return fail(ps, "event '%s': undefined stream %llu", e->name ? e->name : "?",
					    (unsigned long long)e->stream_id);
			else
				any = true;
		if (!any)
			return 0;
		struct ctf_stream_class *s = arena_calloc(&m->arena, 1, sizeof(*s));
		if (!s)
			return oom(ps);
		m->streams = s;
		m->nstreams = 1;
	}
	if (m->nstreams > 1)
		for (struct ctf_stream_class *s = m->streams; s; s = s->next)
			if (!s->has_id)
				return fail(ps, "several streams, one without an id");
	for (struct ctf_event_class *e = ps->events, *next; e; e = next) {
		next = e->next;
		struct ctf_stream_class *s;
		if (!e->has_stream_id) {
			if (m->nstreams > 1)
				return fail(ps, "event '%s' has no stream_id and there are several streams",
					    e->name ? e->name : "?");
			s = m->streams;
		} else {
			s = find_stream(m, e->stream_id);
			if (!s)
				return fail(ps, "event '%s': undefined stream %llu", e->name ? e->name : "?",
					    (unsigned long long)e->stream_id);
		}
		if (!e->has_id) {
			/* only one event without an id per stream, id 0 */
			e->id = 0;
		}
		for (struct ctf_event_class *o = s->events; o; o = o->next)
			if (o->id == e->id)
				return fail(ps, "duplicate event id %llu in stream %llu",
					    (unsigned long long)e->id, (unsigned long long)s->id);
		if (!e->name)
			e->name = NULL;
		e->next = s->events;
		s->events = e;
	}
	return 0;
}

int ctf_meta_parse(const char *text, size_t len, struct ctf_meta **ret_meta, char *err, size_t errlen)
{
	char *owned = NULL;
	bool packet_be = false, packetized = false;
	if (len >= 4 && (rd32((const uint8_t *)text, false) == META_MAGIC ||
			 rd32((const uint8_t *)text, true) == META_MAGIC)) {
		size_t n;
		int r = unpacketize((const uint8_t *)text, len, &owned, &n, &packet_be, err, errlen);
		if (r)
			return r;
		text = owned;
		len = n;
		packetized = true;
	}
	if (memchr(text, 0, len)) {
		snprintf(err, errlen, "metadata: NUL character in the text");
		free(owned);
		return -EINVAL;
	}
	if (len >= 6 && !memcmp(text, "/* CTF", 6)) {
		const char *p = text + 6, *e = text + len;
		while (p < e && *p == ' ')
			p++;
		const char *v = p;
		while (p < e && ((*p >= '0' && *p <= '9') || *p == '.'))
			p++;
		if ((size_t)(p - v) != 3 || memcmp(v, "1.8", 3)) {
			snprintf(err, errlen, "metadata:1: unsupported CTF version '%.*s' (1.8 expected)",
				 (int)((p - v) > 40 ? 40 : (p - v)), v);
			free(owned);
			return -EINVAL;
		}
	}
	struct ctf_meta *m = calloc(1, sizeof(*m));
	if (!m) {
		free(owned);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct scope root = { 0 };
	struct parser ps = {
		.m = m, .p = text, .end = text + len, .line = 1, .err = err, .errlen = errlen,
		.scope = &root,
	};
	ps.events_tail = &ps.events;
	m->packetized = packetized;
	int r = parse_top(&ps);
	if (!r && !ps.has_trace)
		r = fail(&ps, "no trace block");
	if (!r && (m->major != 1 || m->minor != 8))
		r = fail(&ps, "trace version %u.%u, 1.8 expected", m->major, m->minor);
	if (!r && !m->has_byte_order)
		r = fail(&ps, "trace byte_order missing");
	if (!r && packetized && packet_be != m->be)
		r = fail(&ps, "metadata packets and trace byte_order differ");
	if (!r)
		r = check_events(&ps);
	free(owned);
	if (r) {
		ctf_meta_free(m);
		return r;
	}
	*ret_meta = m;
	return 0;
}

void ctf_meta_free(struct ctf_meta *m)
{
	if (!m)
		return;
	for (struct ctf_stream_class *s = m->streams; s; s = s->next)
		free(s->by_id);
	arena_free(&m->arena);
	free(m);
}

const struct ctf_env *ctf_meta_env(const struct ctf_meta *m, const char *name)
{
	for (const struct ctf_env *e = m->env; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

const char *ctf_meta_env_string(const struct ctf_meta *m, const char *name)
{
	const struct ctf_env *e = ctf_meta_env(m, name);
	return e && !e->is_int ? e->s : NULL;
}
