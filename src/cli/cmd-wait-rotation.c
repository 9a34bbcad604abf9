/* SPDX-License-Identifier: MIT */
/* reel wait-rotation: wait until a session archives a chunk. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "wait-rotation"

static void help(void)
{
	printf("Usage: reel wait-rotation [-s SESSION] [--index N] [--timeout PERIOD]\n"
	       "\n"
	       "Wait until the session archives its next chunk (or chunk N, which may\n"
	       "already be there), then print its path: a script's way to process each\n"
	       "chunk as it comes, as `--hook` of enable-rotation is the daemon's.\n"
	       "\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "      --index N          the chunk to wait for (list-rotations shows them)\n"
	       "      --timeout PERIOD   give up after PERIOD (30s, 500ms...; default 1h):\n"
	       "                         exit status 1\n"
	       "      --json             print {\"session\": S, \"index\": N, \"chunk\": PATH}\n"
	       "  -h, --help             this text\n");
}

enum { OPT_INDEX = 0x200, OPT_TIMEOUT };

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"session", required_argument, NULL, 's'},
		{"index", required_argument, NULL, OPT_INDEX},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *session = NULL;
	uint64_t index = REEL_CTL_NEXT_CHUNK, timeout_us = 0;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return cli_usage_error(CMD, "the session name is empty");
			session = optarg;
			break;
		case OPT_INDEX:
			if (cli_parse_uint(optarg, UINT32_MAX, &index))
				return cli_usage_error(CMD, "--index: '%s' is not a chunk index",
						       optarg);
			break;
		case OPT_TIMEOUT:
			if (cli_parse_duration_us(optarg, 24ull * 3600 * 1000000, &timeout_us) ||
			    timeout_us < 1000)
				return cli_usage_error(
					CMD, "--timeout: '%s' is not a period of 1 ms to 24 h",
					optarg);
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
	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	struct reel_chunk_info chunk = {0};
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, session, &sname)))
		goto out;
	int err = reel_ctl_wait_rotation(ctl, sname, index, (uint32_t)(timeout_us / 1000), &chunk);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "no chunk of session '%s'", sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_uint(&w, "index", chunk.index);
		cli_json_string(&w, "chunk", chunk.path);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("%s\n", chunk.path);
	}
out:
	free(chunk.path);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_wait_rotation = {
	.name = CMD,
	.summary = "wait until a session archives a chunk, print its path",
	.run = run,
	.help = help,
};
