/* SPDX-License-Identifier: MIT */
/* What the `reel` commands print: a small streaming JSON writer (one
 * document on stdout for --json) and human-readable numbers. */
#ifndef REEL_CLI_OUTPUT_H
#define REEL_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_MAX_DEPTH 16

/*
 * A JSON document written as it is built. Inside an object every value
 * takes a key; inside an array (or at the top) the key is NULL. Nesting
 * deeper than CLI_JSON_MAX_DEPTH is a programming error (abort).
 */
struct cli_json_writer {
	FILE *out;
	int depth;
	bool need_comma[CLI_JSON_MAX_DEPTH];
};

void cli_json_init(struct cli_json_writer *w, FILE *out);
void cli_json_begin_object(struct cli_json_writer *w, const char *key);
void cli_json_end_object(struct cli_json_writer *w);
void cli_json_begin_array(struct cli_json_writer *w, const char *key);
void cli_json_end_array(struct cli_json_writer *w);
/* A NULL `value` is written as null. */
void cli_json_string(struct cli_json_writer *w, const char *key, const char *value);
void cli_json_uint(struct cli_json_writer *w, const char *key, uint64_t value);
void cli_json_int(struct cli_json_writer *w, const char *key, int64_t value);
void cli_json_bool(struct cli_json_writer *w, const char *key, bool value);
/* NaN and infinities are written as null. */
void cli_json_double(struct cli_json_writer *w, const char *key, double value);
void cli_json_null(struct cli_json_writer *w, const char *key);
/* Ends the document (a newline); main() checks that stdout was written. */
void cli_json_finish(struct cli_json_writer *w);

/* Write `s` as a JSON string literal, quotes included: control characters,
 * quotes and backslashes escaped, bytes that are not UTF-8 written as
 * U+FFFD so that the document always parses. */
void cli_json_write_string(FILE *out, const char *s);

/* "512 KiB", "1.5 MiB", "100 B": a byte count for people. */
void cli_format_bytes(char *buf, size_t size, double bytes);

#endif
