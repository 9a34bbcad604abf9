/* SPDX-License-Identifier: MIT */
/* reel snapshot record: save what a flight-recorder session holds, as
 * `lttng snapshot record`. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "snapshot"

static void help(void)
{
	printf("Usage: reel snapshot record [-s SESSION] [-o DIR] [--max-size SIZE]\n"
	       "\n"
	       "Save what the buffers of a snapshot session (reel create --snapshot) hold\n"
	       "now, the most recent events of every stream, while tracing goes on: a\n"
	       "complete trace in DIR (default: the session's output), in\n"
	       "snapshot-<n>-<date>-<time>-<index>/, that babeltrace2 and `reel view` read.\n"
	       "Prints its path.\n"
	       "\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "  -o, --output DIR       where to write it\n"
	       "  -m, --max-size SIZE    at most SIZE bytes in all (64k, 2M, 1G): each stream\n"
	       "                         keeps its newest packets that fit in an equal share;\n"
	       "                         each share must hold one sub-buffer\n"
	       "      --json             print {\"session\": S, \"snapshot\": PATH}\n"
	       "  -h, --help             this text\n");
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"session", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"max-size", required_argument, NULL, 'm'},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
			help();
			return 0;
		}
		return cli_usage_error(CMD, "give an action: record");
	}
	if (strcmp(argv[1], "record") != 0)
		return cli_usage_error(CMD, "unknown action '%s' (record)", argv[1]);
	argc--;
	argv++;
	const char *session = NULL, *dir = NULL;
	uint64_t max_size = 0;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:o:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return cli_usage_error(CMD, "the session name is empty");
			session = optarg;
			break;
		case 'o':
			if (!*optarg)
				return cli_usage_error(CMD, "the output directory is empty");
			dir = optarg;
			break;
		case 'm':
			if (cli_parse_size(optarg, UINT64_MAX / 2, &max_size) || !max_size)
				return cli_usage_error(CMD, "--max-size: '%s' is not a size", optarg);
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
	if (optind < argc)
		return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	char abs[PATH_MAX];
	if (dir && dir[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, dir) >= (int)sizeof(abs))
			return cli_error(CMD, "cannot make '%s' an absolute path", dir);
		dir = abs;
	}
	struct reel_ctl *ctl = NULL;
	char *sname = NULL, *path = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, session, &sname)))
		goto out;
	int err = reel_ctl_snapshot_record_max(ctl, sname, dir, max_size, &path);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot record a snapshot of '%s'", sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_string(&w, "snapshot", path);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Snapshot recorded successfully for session %s: %s\n", sname, path);
	}
out:
	free(path);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_snapshot = {
	.name = CMD,
	.summary = "record a snapshot of a flight-recorder session (record)",
	.run = run,
	.help = help,
};
