/* SPDX-License-Identifier: MIT */
/*
 * reel: the command line. Parses the global options, finds the subcommand
 * and runs it. Each subcommand lives in its own cmd-<name>.c and talks to
 * the daemon through libreel-ctl, or reads traces through libreel-reader.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool cli_json;

static const struct cli_command *const commands[] = {
#define CLI_COMMAND(ident) &cli_cmd_##ident,
#include "commands.h"
#undef CLI_COMMAND
	NULL,
};

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "reel%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'reel help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "");
	return 2;
}

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	return 1;
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; commands[i]; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void print_overview(FILE *out)
{
	fprintf(out,
		"Usage: reel [--json] COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"Reel: low-overhead tracing for Linux. Commands:\n");
	for (size_t i = 0; commands[i]; i++)
		fprintf(out, "  %-18s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "  %-18s %s\n", "help [COMMAND]", "this text, or a command's usage");
	fprintf(out, "  %-18s %s\n", "version", "print Reel's version");
	fprintf(out,
		"\n"
		"Global options:\n"
		"  --json             machine-readable output (JSON) for every command\n"
		"  -h, --help         this text\n");
}

static int run_help(int argc, char **argv)
{
	if (argc < 2) {
		print_overview(stdout);
		return 0;
	}
	const struct cli_command *c = find_command(argv[1]);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	c->help();
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			cli_json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return run_help(1, argv), 0;
		else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0)
			break;
		else
			return cli_usage_error(NULL, "unknown option '%s'", argv[i]);
	}
	if (i == argc) {
		print_overview(stderr);
		return 2;
	}
	const char *name = argv[i];
	if (strcmp(name, "help") == 0)
		return run_help(argc - i, argv + i);
	if (strcmp(name, "version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		if (cli_json)
			printf("{\"version\":\"%s\"}\n", REEL_VERSION);
		else
			printf("reel %s\n", REEL_VERSION);
		return 0;
	}
	const struct cli_command *c = find_command(name);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", name);
	int status = c->run(argc - i, argv + i);
	/* What was printed must have reached stdout (a full disk, a closed pipe). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (status == 0)
			status = cli_error(name, "cannot write the output: %s", strerror(errno));
	}
	return status;
}
