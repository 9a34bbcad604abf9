/* SPDX-License-Identifier: MIT */
/* reel stop: stop tracing a session, as `lttng stop`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "stop"

static void help(void)
{
	printf("Usage: reel stop [SESSION]\n"
	       "\n"
	       "Stop recording. When this returns, every event recorded so far is in the\n"
	       "trace files on disk and the trace can be read.\n"
	       "\n"
	       "  SESSION                the session; default: the current session\n"
	       "      --json             print {\"session\": SESSION, \"active\": false}\n"
	       "  -h, --help             this text\n");
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
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

	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, optind < argc ? argv[optind] : NULL, &sname)))
		goto out;
	int err = reel_ctl_stop(ctl, sname);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot stop session '%s'", sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_bool(&w, "active", false);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Tracing stopped for session %s\n", sname);
	}
	cli_warn_losses(ctl, sname);
out:
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_stop = {
	.name = CMD,
	.summary = "stop tracing a session",
	.run = run,
	.help = help,
};
