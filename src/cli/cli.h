/* SPDX-License-Identifier: MIT */
/* The `reel` command line: what every subcommand shares. One subcommand per
 * file (cmd-<name>.c), listed once in commands.h. */
#ifndef REEL_CLI_H
#define REEL_CLI_H

#include <stdbool.h>

struct cli_command {
	const char *name;
	const char *summary;
	/* argv[0] is the command's name; returns the process exit status. */
	int (*run)(int argc, char **argv);
	void (*help)(void); /* full usage, on stdout */
};

/* Set by the global `--json` option (or the command's own): machine output. */
extern bool cli_json;

/* Report a usage error ("reel CMD: message"), with a hint to `reel help CMD`.
 * Returns the exit status for usage errors (2). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a failure ("reel CMD: message"). Returns 1. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CLI_COMMAND(ident) extern const struct cli_command cli_cmd_##ident;
#include "commands.h"
#undef CLI_COMMAND

#endif
