/* SPDX-License-Identifier: MIT */
/* reel rotate: archive a session's current chunk now, as `lttng rotate`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "rotate"

static void help(void)
{
	printf("Usage: reel rotate [SESSION]\n"
	       "\n"
	       "Archive the session's current chunk: when this returns, every packet\n"
	       "completed so far is in <output>/archives/<begin>-<end>-<index>/, a complete\n"
	       "trace that babeltrace2 and `reel view` read alone. Tracing goes on into the\n"
	       "next chunk; no event is lost or written twice. Prints the chunk's path.\n"
	       "\n"
	       "      --json             print {\"session\": S, \"chunk\": PATH}\n"
	       "  -h, --help             this text\n");
}

static int run(int argc, char **argv)
{
	const char *session;
	int parsed = cli_parse_plain(CMD, argc, argv, help, &session);
	if (parsed >= 0)
		return parsed;
	struct reel_ctl *ctl = NULL;
	char *sname = NULL, *path = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, session, &sname)))
		goto out;
	int err = reel_ctl_rotate(ctl, sname, &path);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot rotate session '%s'", sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_string(&w, "chunk", path);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Trace chunk archive for session %s is now readable at %s\n", sname, path);
	}
out:
	free(path);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_rotate = {
	.name = CMD,
	.summary = "archive the current trace chunk now",
	.run = run,
	.help = help,
};
