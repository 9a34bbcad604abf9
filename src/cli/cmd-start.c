/* SPDX-License-Identifier: MIT */
/* reel start / reel stop: start or stop tracing a session, as `lttng start`
 * and `lttng stop`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

static void help_start(void)
{
	printf("Usage: reel start [SESSION]\n"
	       "\n"
	       "Start recording the session's events: the applications running now and\n"
	       "those that start later write their enabled events to the trace.\n"
	       "\n"
	       "  SESSION                the session; default: the current session\n"
	       "      --json             print {\"session\": SESSION, \"active\": true}\n"
	       "  -h, --help             this text\n");
}

static void help_stop(void)
{
	printf("Usage: reel stop [SESSION]\n"
	       "\n"
	       "Stop recording. When this returns, every event recorded so far is in the\n"
	       "trace files on disk and the trace can be read. Warns on stderr when events\n"
	       "were discarded or packets lost.\n"
	       "\n"
	       "  SESSION                the session; default: the current session\n"
	       "      --json             print {\"session\": SESSION, \"active\": false}\n"
	       "  -h, --help             this text\n");
}

static int run_start_stop(const char *cmd, bool start, int argc, char **argv)
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
			start ? help_start() : help_stop();
			return 0;
		case CLI_OPT_JSON:
			cli_json = true;
			break;
		default:
			return cli_bad_option(cmd, c, argc, argv, longopts);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);

	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(cmd, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(cmd, ctl, optind < argc ? argv[optind] : NULL, &sname)))
		goto out;
	int err = start ? reel_ctl_start(ctl, sname) : reel_ctl_stop(ctl, sname);
	if (err) {
		status = cli_ctl_error(cmd, ctl, err, "cannot %s session '%s'", cmd, sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_bool(&w, "active", start);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Tracing %s for session %s\n", start ? "started" : "stopped", sname);
	}
	if (!start)
		cli_warn_losses(ctl, sname);
out:
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

static int run_start(int argc, char **argv)
{
	return run_start_stop("start", true, argc, argv);
}

static int run_stop(int argc, char **argv)
{
	return run_start_stop("stop", false, argc, argv);
}

const struct cli_command cli_cmd_start = {
	.name = "start",
	.summary = "start tracing a session",
	.run = run_start,
	.help = help_start,
};

const struct cli_command cli_cmd_stop = {
	.name = "stop",
	.summary = "stop tracing a session",
	.run = run_stop,
	.help = help_stop,
};
