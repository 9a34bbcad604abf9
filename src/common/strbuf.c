/* SPDX-License-Identifier: MIT */
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int reserve(struct reel_strbuf *sb, size_t extra)
{
	if (sb->failed)
		return -ENOMEM;
	size_t need;
	if (__builtin_add_overflow(sb->len, extra + 1, &need))
		goto fail;
	if (need <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		if (__builtin_mul_overflow(cap, 2, &cap))
			goto fail;
	char *data = realloc(sb->data, cap);
	if (!data)
		goto fail;
	sb->data = data;
	sb->cap = cap;
	return 0;
fail:
	sb->failed = true;
	return -ENOMEM;
}

int reel_strbuf_printf(struct reel_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(sb, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

int reel_strbuf_escaped(struct reel_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		int err;
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			err = reel_strbuf_printf(sb, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			err = reel_strbuf_printf(sb, "\\x%02x", c);
		else
			err = reel_strbuf_printf(sb, "%c", c);
		if (err)
			return err;
	}
	return 0;
}

void reel_strbuf_reset(struct reel_strbuf *sb)
{
	sb->len = 0;
	sb->failed = false;
	if (sb->data)
		sb->data[0] = '\0';
}

void reel_strbuf_free(struct reel_strbuf *sb)
{
	free(sb->data);
	*sb = (struct reel_strbuf){ 0 };
}
