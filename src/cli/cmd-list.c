/* SPDX-License-Identifier: MIT */
/* reel list: the sessions, one session's channels and rules, or the live
 * applications and their events, as `lttng list`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "list"

static void help(void)
{
	printf("Usage: reel list [SESSION]\n"
	       "       reel list -u\n"
	       "\n"
	       "Without arguments, list the sessions of this user. With SESSION, show its\n"
	       "channels: their attributes, statistics and event rules. With -u alone,\n"
	       "list the applications registered with the daemon and the events they\n"
	       "define.\n"
	       "\n"
	       "  SESSION                the session to show\n"
	       "  -u, --userspace        the userspace domain: the applications and their\n"
	       "                         events (with SESSION: the session's userspace\n"
	       "                         channels, which is all it has)\n"
	       "  -k, --kernel           the kernel domain (not available in this build)\n"
	       "      --json             the same, in JSON\n"
	       "  -h, --help             this text\n");
}

static int list_sessions(struct reel_ctl *ctl)
{
	struct reel_session_list *list;
	int err = reel_ctl_list_sessions(ctl, &list);
	if (err)
		return cli_ctl_error(CMD, ctl, err, "cannot list the sessions");
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_begin_array(&w, "sessions");
		for (size_t i = 0; i < list->nr_sessions; i++) {
			const struct reel_session_status *s = &list->sessions[i];
			bool current =
				list->current && s->name && strcmp(list->current, s->name) == 0;
			cli_json_session(&w, NULL, s, current);
		}
		cli_json_end_array(&w);
		cli_json_string(&w, "current", list->current);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else if (list->nr_sessions == 0) {
		printf("Currently no available recording session\n");
	} else {
		printf("Available recording sessions:\n");
		for (size_t i = 0; i < list->nr_sessions; i++) {
			const struct reel_session_status *s = &list->sessions[i];
			bool current =
				list->current && s->name && strcmp(list->current, s->name) == 0;
			printf("  %zu) %s (%s) [%s]%s\n", i + 1, s->name ? s->name : "?",
			       s->output ? s->output : "no output",
			       s->active ? "active" : "inactive", current ? " (current)" : "");
		}
		printf("\nUse `reel list SESSION` for more details\n");
	}
	reel_session_list_free(list);
	return 0;
}

static int show_session(struct reel_ctl *ctl, const char *name)
{
	struct reel_session_list *list;
	int err = reel_ctl_list_sessions(ctl, &list);
	if (err)
		return cli_ctl_error(CMD, ctl, err, "cannot list the sessions");
	int status = 0;
	const struct reel_session_status *s = cli_find_session(list, name);
	if (!s) {
		status = cli_error(CMD, "no session named '%s'", name);
	} else {
		bool current = list->current && strcmp(list->current, name) == 0;
		if (cli_json) {
			struct cli_json_writer w;
			cli_json_init(&w, stdout);
			cli_json_session(&w, NULL, s, current);
			cli_json_finish(&w);
		} else {
			cli_print_session(s, current);
		}
	}
	reel_session_list_free(list);
	return status;
}

static int list_apps(struct reel_ctl *ctl)
{
	struct reel_app_list *apps;
	int err = reel_ctl_list_apps(ctl, &apps);
	if (err)
		return cli_ctl_error(CMD, ctl, err, "cannot list the applications");
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_begin_array(&w, "apps");
		for (size_t i = 0; i < apps->nr_apps; i++) {
			const struct reel_app_info *a = &apps->apps[i];
			cli_json_begin_object(&w, NULL);
			cli_json_int(&w, "pid", a->pid);
			cli_json_uint(&w, "uid", a->uid);
			cli_json_string(&w, "procname", a->procname);
			cli_json_begin_array(&w, "events");
			for (size_t e = 0; e < a->nr_events; e++) {
				cli_json_begin_object(&w, NULL);
				cli_json_string(&w, "name", a->events[e].name);
				cli_json_int(&w, "loglevel", a->events[e].loglevel);
				cli_json_string(&w, "loglevel_name",
						cli_loglevel_name(a->events[e].loglevel));
				cli_json_end_object(&w);
			}
			cli_json_end_array(&w);
			cli_json_end_object(&w);
		}
		cli_json_end_array(&w);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("UST events:\n-------------\n\n");
		if (apps->nr_apps == 0)
			printf("None\n\n");
		for (size_t i = 0; i < apps->nr_apps; i++) {
			const struct reel_app_info *a = &apps->apps[i];
			printf("PID: %d - Name: %s\n", a->pid, a->procname ? a->procname : "?");
			for (size_t e = 0; e < a->nr_events; e++) {
				const char *lname = cli_loglevel_name(a->events[e].loglevel);
				printf("      %s (loglevel: %s (%d)) (type: tracepoint)\n",
				       a->events[e].name ? a->events[e].name : "?",
				       lname ? lname : "?", a->events[e].loglevel);
			}
			printf("\n");
		}
	}
	reel_app_list_free(apps);
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userspace", no_argument, NULL, 'u'},
		{"kernel", no_argument, NULL, 'k'},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	bool userspace = false, kernel = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ukh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			userspace = true;
			break;
		case 'k':
			kernel = true;
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
	if (kernel)
		return cli_kernel_unavailable(CMD);
	if (argc - optind > 1)
		return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
	const char *name = optind < argc ? argv[optind] : NULL;

	struct reel_ctl *ctl = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		return status;
	if (name)
		status = show_session(ctl, name);
	else if (userspace)
		status = list_apps(ctl);
	else
		status = list_sessions(ctl);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_list = {
	.name = CMD,
	.summary = "list sessions, a session's channels, or applications (-u)",
	.run = run,
	.help = help,
};
