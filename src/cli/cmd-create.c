/* SPDX-License-Identifier: MIT */
/* reel create: create a recording session (and start a daemon if none
 * runs), as `lttng create`. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "create"

static void help(void)
{
	printf("Usage: reel create [NAME] [-o DIR] [--snapshot]\n"
	       "\n"
	       "Create a recording session named NAME and make it the current session:\n"
	       "the commands that take a session use it when none is named. Starts a\n"
	       "session daemon (reeld --daemonize) when none runs.\n"
	       "\n"
	       "  NAME                   the session's name; default auto-YYYYMMDD-HHMMSS,\n"
	       "                         chosen by the daemon\n"
	       "  -o, --output DIR       write the trace into DIR; default\n"
	       "                         $HOME/reel-traces/NAME-YYYYMMDD-HHMMSS\n"
	       "      --snapshot         a flight recorder: overwrite-mode buffers, nothing\n"
	       "                         written until `reel snapshot record`\n"
	       "      --json             print {\"session\": NAME, \"output\": DIR}\n"
	       "  -h, --help             this text\n"
	       "\n"
	       "The daemon's run directory is $REEL_RUNDIR when set.\n");
}

/* `dir` made absolute against the current directory: the daemon does not
 * run where the command does. */
static char *absolute_path(const char *dir)
{
	if (dir[0] == '/')
		return strdup(dir);
	char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	while (dir[0] == '.' && dir[1] == '/')
		dir += 2;
	char *path;
	int n;
	if (strcmp(dir, ".") == 0)
		n = asprintf(&path, "%s", cwd);
	else
		n = asprintf(&path, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", dir);
	free(cwd);
	return n < 0 ? NULL : path;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"snapshot", no_argument, NULL, 'S'},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	bool snapshot = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return cli_usage_error(CMD, "the output directory is empty");
			output = optarg;
			break;
		case 'S':
			snapshot = true;
			break;
		case 'h':
			help();
			return 0;
		case CLI_OPT_JSON:
			cli_json = true;
			break;
		default:
			return cli_bad_option(CMD, c, argc, argv, longopts);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);

	const char *name = optind < argc ? argv[optind] : NULL;
	if (name && !*name)
		return cli_usage_error(CMD, "the session name is empty");

	char *abs_output = NULL;
	if (output && !(abs_output = absolute_path(output)))
		return cli_error(CMD, "cannot make '%s' an absolute path: %s", output,
				 strerror(errno));

	struct reel_ctl *ctl = NULL;
	int status = cli_connect(CMD, REEL_CTL_SPAWN, &ctl);
	if (status)
		goto out;
	struct reel_session_config config = {
		.struct_size = sizeof(config),
		.name = name,
		.output = abs_output,
		.snapshot = snapshot,
	};
	char *created = NULL, *created_output = NULL;
	int err = reel_ctl_create_session(ctl, &config, &created, &created_output);
	if (err) {
		if (name)
			status = cli_ctl_error(CMD, ctl, err, "cannot create session '%s'", name);
		else
			status = cli_ctl_error(CMD, ctl, err, "cannot create a session");
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", created);
		cli_json_string(&w, "output", created_output);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Session %s created.\n", created);
		printf("Traces will be output to %s\n", created_output);
	}
	free(created);
	free(created_output);
out:
	reel_ctl_close(ctl);
	free(abs_output);
	return status;
}

const struct cli_command cli_cmd_create = {
	.name = CMD,
	.summary = "create a recording session",
	.run = run,
	.help = help,
};
