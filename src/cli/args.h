/* SPDX-License-Identifier: MIT */
/* Command-line values of the `reel` commands: sizes, counts, durations and
 * log levels, and the option-parsing errors every command reports alike. */
#ifndef REEL_CLI_ARGS_H
#define REEL_CLI_ARGS_H

#include <getopt.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Long-only options every command accepts. */
enum {
	CLI_OPT_JSON = 0x100,
	CLI_OPT_FIRST_LOCAL, /* commands number their own long-only options from here */
};

#define CLI_HELP_OPTIONS                                \
	{"help", no_argument, NULL, 'h'},               \
	{                                               \
		"json", no_argument, NULL, CLI_OPT_JSON \
	}

/*
 * Values. Each returns 0 and writes *ret, or a negative errno: -EINVAL for
 * text that is not such a value, -ERANGE for one above `max` (or 2^64).
 */
/* A decimal integer ("8"). */
int cli_parse_uint(const char *s, uint64_t max, uint64_t *ret);
/* A byte count: a decimal integer with an optional binary suffix, k/K
 * (KiB), M (MiB) or G (GiB), optionally followed by "B" or "iB". */
int cli_parse_size(const char *s, uint64_t max, uint64_t *ret);
/* A duration in microseconds: a decimal integer alone (microseconds, as
 * lttng's --switch-timer) or followed by us, ms, s, m or h. */
int cli_parse_duration_us(const char *s, uint64_t max, uint64_t *ret);
/* A log level: a number (0 to 14), or a name of include/reel/tracepoint.h's
 * enum reel_loglevel as lttng spells it, with or without its prefix and in
 * any case ("TRACE_INFO", "info", "DEBUG_LINE"). */
int cli_parse_loglevel(const char *s, int32_t *ret);
/* "TRACE_INFO" for 6; NULL for a number with no name. */
const char *cli_loglevel_name(int32_t level);

/* Split "a,b,c" in place into its items (pointers into `text`), refusing
 * empty items. Returns 0 with *ret (free() it) and *ret_nr, or prints a
 * usage error about `what` and returns its exit status. */
int cli_split_list(const char *cmd, const char *what, char *text, char ***ret, size_t *ret_nr);

/*
 * Report what getopt_long() (with an optstring starting with ':' and opterr
 * 0) found wrong: an unknown option ('?'), a missing argument (':'), an
 * argument given to an option that takes none. Returns the usage exit
 * status (2).
 */
int cli_bad_option(const char *cmd, int c, int argc, char **argv, const struct option *longopts);

/* The options of a command that takes only -h/--help and --json, and at
 * most one argument (NULL in *ret_arg when none). Returns -1 to go on, or
 * the exit status to end with (0 after the help). */
int cli_parse_plain(const char *cmd, int argc, char **argv, void (*help)(void),
		    const char **ret_arg);

/* The options of the commands that act on a domain's channels: -u, -k,
 * -s SESSION, -c CHANNEL (those a command lists in its options). */
struct cli_domain {
	bool userspace, kernel;
	const char *session, *channel;
};

/* Take option `c` (its value in optarg) if it is one of them: returns 0
 * when taken, an exit status when its value is wrong, -1 when it is not
 * one of them. */
int cli_domain_option(const char *cmd, int c, struct cli_domain *ret);
/* Once parsed: one domain, -u or -k (when the command has it). Returns 0
 * or an exit status. */
int cli_domain_check(const char *cmd, const struct cli_domain *d, bool kernel_ok);

#endif
