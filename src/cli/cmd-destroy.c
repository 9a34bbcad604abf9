/* SPDX-License-Identifier: MIT */
/* reel destroy: stop and forget sessions, as `lttng destroy`. Their traces
 * stay on disk. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "destroy"

static void help(void)
{
	printf("Usage: reel destroy [SESSION]\n"
	       "       reel destroy -a\n"
	       "\n"
	       "Stop a session if it records (every event recorded reaches the disk), then\n"
	       "forget it. Its trace stays on disk.\n"
	       "\n"
	       "  SESSION                the session; default: the current session\n"
	       "  -a, --all              every session of this user\n"
	       "      --json             print {\"destroyed\": [SESSION...]}\n"
	       "  -h, --help             this text\n");
}

static void print_json(char **names, size_t nr)
{
	struct cli_json_writer w;
	cli_json_init(&w, stdout);
	cli_json_begin_object(&w, NULL);
	cli_json_begin_array(&w, "destroyed");
	for (size_t i = 0; i < nr; i++)
		cli_json_string(&w, NULL, names[i]);
	cli_json_end_array(&w);
	cli_json_end_object(&w);
	cli_json_finish(&w);
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"all", no_argument, NULL, 'a'},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	bool all = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
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
	if (all && optind < argc)
		return cli_usage_error(CMD, "-a destroys every session: name none with it");
	if (argc - optind > 1)
		return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);

	struct reel_ctl *ctl = NULL;
	struct reel_session_list *list = NULL;
	char *single[1] = {NULL}; /* the one session named, or the current one */
	char **names = NULL;
	size_t nr = 0, done = 0;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if (all) {
		int err = reel_ctl_list_sessions(ctl, &list);
		if (err) {
			status = cli_ctl_error(CMD, ctl, err, "cannot list the sessions");
			goto out;
		}
		nr = list->nr_sessions;
		names = calloc(nr ? nr : 1, sizeof(*names));
		if (!names) {
			status = cli_error(CMD, "%s", strerror(ENOMEM));
			goto out;
		}
		for (size_t i = 0; i < nr; i++)
			names[i] = list->sessions[i].name;
	} else {
		if ((status = cli_session_name(CMD, ctl, optind < argc ? argv[optind] : NULL,
					       &single[0])))
			goto out;
		names = single;
		nr = 1;
	}
	for (; done < nr; done++) {
		/* Stopped first (if it runs), so that its losses can be told. */
		if (reel_ctl_stop(ctl, names[done]) == 0)
			cli_warn_losses(ctl, names[done]);
		int err = reel_ctl_destroy(ctl, names[done]);
		if (err) {
			status = cli_ctl_error(CMD, ctl, err, "cannot destroy session '%s'",
					       names[done]);
			break;
		}
		if (!cli_json)
			printf("Session %s destroyed\n", names[done]);
	}
	if (status)
		goto out;
	if (cli_json)
		print_json(names, nr);
	else if (all && nr == 0)
		printf("No session found, nothing to do.\n");
out:
	if (names != single)
		free(names);
	free(single[0]);
	if (list)
		reel_session_list_free(list);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_destroy = {
	.name = CMD,
	.summary = "stop and forget a session (the trace stays)",
	.run = run,
	.help = help,
};
