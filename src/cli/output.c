/* SPDX-License-Identifier: MIT */
/* output: the JSON writer and the number formats of the `reel` commands.
 * Calls only the C library. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "output.h"

void cli_json_init(struct cli_json_writer *w, FILE *out)
{
	*w = (struct cli_json_writer){.out = out};
}

/* Length of the valid UTF-8 sequence at `s`, or 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void cli_json_write_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', out);
	while (*s) {
		unsigned char c = *s;
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
			s++;
		} else if (c == '\n') {
			fputs("\\n", out);
			s++;
		} else if (c == '\t') {
			fputs("\\t", out);
			s++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			s++;
		} else if (c < 0x80) {
			fputc(c, out);
			s++;
		} else {
			size_t len = utf8_sequence(s);
			if (len) {
				fwrite(s, 1, len, out);
				s += len;
			} else {
				fputs("\\ufffd", out);
				s++;
			}
		}
	}
	fputc('"', out);
}

/* Separator and key before a value. */
static void value_prefix(struct cli_json_writer *w, const char *key)
{
	if (w->depth > 0) {
		if (w->need_comma[w->depth - 1])
			fputc(',', w->out);
		w->need_comma[w->depth - 1] = true;
	}
	if (key) {
		cli_json_write_string(w->out, key);
		fputc(':', w->out);
	}
}

static void open_container(struct cli_json_writer *w, const char *key, char c)
{
	value_prefix(w, key);
	if (w->depth >= CLI_JSON_MAX_DEPTH)
		abort();
	fputc(c, w->out);
	w->need_comma[w->depth++] = false;
}

static void close_container(struct cli_json_writer *w, char c)
{
	if (w->depth == 0)
		abort();
	w->depth--;
	fputc(c, w->out);
}

void cli_json_begin_object(struct cli_json_writer *w, const char *key)
{
	open_container(w, key, '{');
}

void cli_json_end_object(struct cli_json_writer *w)
{
	close_container(w, '}');
}

void cli_json_begin_array(struct cli_json_writer *w, const char *key)
{
	open_container(w, key, '[');
}

void cli_json_end_array(struct cli_json_writer *w)
{
	close_container(w, ']');
}

void cli_json_string(struct cli_json_writer *w, const char *key, const char *value)
{
	value_prefix(w, key);
	if (value)
		cli_json_write_string(w->out, value);
	else
		fputs("null", w->out);
}

void cli_json_uint(struct cli_json_writer *w, const char *key, uint64_t value)
{
	value_prefix(w, key);
	fprintf(w->out, "%" PRIu64, value);
}

void cli_json_int(struct cli_json_writer *w, const char *key, int64_t value)
{
	value_prefix(w, key);
	fprintf(w->out, "%" PRId64, value);
}

void cli_json_bool(struct cli_json_writer *w, const char *key, bool value)
{
	value_prefix(w, key);
	fputs(value ? "true" : "false", w->out);
}

void cli_json_double(struct cli_json_writer *w, const char *key, double value)
{
	value_prefix(w, key);
	if (isfinite(value))
		fprintf(w->out, "%.17g", value);
	else
		fputs("null", w->out);
}

void cli_json_null(struct cli_json_writer *w, const char *key)
{
	value_prefix(w, key);
	fputs("null", w->out);
}

void cli_json_finish(struct cli_json_writer *w)
{
	if (w->depth != 0)
		abort();
	fputc('\n', w->out);
}

void cli_format_bytes(char *buf, size_t size, double bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	if (!(bytes >= 1024.0)) {
		snprintf(buf, size, "%.0f B", isfinite(bytes) && bytes > 0 ? bytes : 0.0);
		return;
	}
	size_t u = 0;
	bytes /= 1024.0;
	while (bytes >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024.0;
		u++;
	}
	/* Whole numbers as such ("512 KiB"), others with one decimal. */
	if (bytes == floor(bytes))
		snprintf(buf, size, "%.0f %s", bytes, units[u]);
	else
		snprintf(buf, size, "%.1f %s", bytes, units[u]);
}
