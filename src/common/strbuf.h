/* SPDX-License-Identifier: MIT */
/* A growable text buffer. Functions return 0 or -ENOMEM; after a failure
 * the buffer stays valid and further appends keep failing. */
#ifndef REEL_COMMON_STRBUF_H
#define REEL_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct reel_strbuf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool failed;
};

int reel_strbuf_printf(struct reel_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) REEL_HIDDEN;
/* Append `s` as the inside of a TSDL/C string literal (quotes escaped). */
int reel_strbuf_escaped(struct reel_strbuf *sb, const char *s) REEL_HIDDEN;
void reel_strbuf_reset(struct reel_strbuf *sb) REEL_HIDDEN;
void reel_strbuf_free(struct reel_strbuf *sb) REEL_HIDDEN;

#endif
