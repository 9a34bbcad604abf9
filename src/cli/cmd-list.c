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
#include "kernel/ktrace.h"

#define CMD "list"

enum {
	OPT_SYSCALL = CLI_OPT_FIRST_LOCAL,
};

struct kernel_listing {
	bool syscall;
	struct cli_json_writer w;
	const char *last; /* syscall name printed last (entry and exit) */
	char last_buf[256];
};

static int kernel_event(void *arg, const char *system, const char *event)
{
	struct kernel_listing *l = arg;
	bool is_syscall = strcmp(system, "syscalls") == 0;
	if (is_syscall != l->syscall)
		return 0;
	const char *name = event;
	if (is_syscall) {
		name = strncmp(event, "sys_enter_", 10) == 0 ? event + 10 :
		       strncmp(event, "sys_exit_", 9) == 0   ? event + 9 :
								NULL;
		if (!name || (l->last && strcmp(l->last, name) == 0))
			return 0;
		snprintf(l->last_buf, sizeof(l->last_buf), "%s", name);
		l->last = l->last_buf;
	}
	if (cli_json) {
		cli_json_begin_object(&l->w, NULL);
		cli_json_string(&l->w, "name", name);
		if (!is_syscall)
			cli_json_string(&l->w, "system", system);
		cli_json_end_object(&l->w);
	} else if (is_syscall) {
		printf("      %s\n", name);
	} else {
		printf("      %s (%s)\n", name, system);
	}
	return 0;
}

/* `lttng list -k`: the tracepoints (or syscalls) tracefs offers. */
static int list_kernel(bool syscall)
{
	struct kernel_listing l = { .syscall = syscall };
	if (cli_json) {
		cli_json_init(&l.w, stdout);
		cli_json_begin_object(&l.w, NULL);
		cli_json_begin_array(&l.w, syscall ? "syscalls" : "events");
	} else {
		printf("Kernel %s:\n-------------\n", syscall ? "system calls" : "events");
	}
	char err[512] = "";
	int e = reel_ktrace_list(kernel_event, &l, err, sizeof(err));
	if (e < 0) {
		if (cli_json)
			printf("\n");
		return cli_error(CMD, "%s", err);
	}
	if (cli_json) {
		cli_json_end_array(&l.w);
		cli_json_end_object(&l.w);
		cli_json_finish(&l.w);
	}
	return 0;
}

static void help(void)
{
	printf("Usage: reel list [SESSION]\n"
	       "       reel list -u\n"
	       "       reel list -k [--syscall]\n"
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
	       "  -k, --kernel           the kernel tracepoints tracefs offers (root), and with\n"
	       "      --syscall          the syscalls\n"
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
		{"syscall", no_argument, NULL, OPT_SYSCALL},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	bool userspace = false, kernel = false, syscall = false;
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
		case OPT_SYSCALL:
			syscall = true;
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
		return list_kernel(syscall);
	if (syscall)
		return cli_usage_error(CMD, "--syscall goes with -k (--kernel)");
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
