/* SPDX-License-Identifier: MIT */
/* reel set-session: choose the current session, as `lttng set-session`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "set-session"

static void help(void)
{
	printf("Usage: reel set-session SESSION\n"
	       "\n"
	       "Make SESSION the current session: the one that the commands taking a\n"
	       "session use when none is named. `reel create` sets it too.\n"
	       "\n"
	       "      --json             print {\"session\": SESSION}\n"
	       "  -h, --help             this text\n");
}

static int run(int argc, char **argv)
{
	const char *name;
	int parsed = cli_parse_plain(CMD, argc, argv, help, &name);
	if (parsed >= 0)
		return parsed;
	if (!name)
		return cli_usage_error(CMD, "no session name");

	struct reel_ctl *ctl = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	int err = reel_ctl_set_session(ctl, name);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot make '%s' the current session", name);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", name);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Session set to %s\n", name);
	}
out:
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_set_session = {
	.name = CMD,
	.summary = "choose the current session",
	.run = run,
	.help = help,
};
