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
	const char *session;
	int parsed = cli_parse_plain(cmd, argc, argv, start ? help_start : help_stop, &session);
	if (parsed >= 0)
		return parsed;

	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(cmd, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(cmd, ctl, session, &sname)))
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
