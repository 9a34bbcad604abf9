/* SPDX-License-Identifier: MIT */
/* reel enable-event: enable userspace event rules in a channel, as
 * `lttng enable-event -u`. */
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

#define CMD		"enable-event"
#define DEFAULT_CHANNEL "channel0"

enum {
	OPT_LOGLEVEL = CLI_OPT_FIRST_LOCAL,
	OPT_LOGLEVEL_ONLY,
	OPT_SYSCALL,
};

static void help(void)
{
	printf("Usage: reel enable-event -u [-s SESSION] [-c CHANNEL] PATTERN[,PATTERN...]\n"
	       "                        [--loglevel LEVEL | --loglevel-only LEVEL]\n"
	       "       reel enable-event -u [-s SESSION] [-c CHANNEL] -a [--loglevel...]\n"
	       "       reel enable-event -k [-s SESSION] [--syscall] PATTERN[,PATTERN...] | -a\n"
	       "\n"
	       "Enable the userspace events whose names match each PATTERN (\"provider:event\",\n"
	       "with * globs: 'myapp:*'), in every traced application: those running now\n"
	       "and those that start later. Quote patterns with * from the shell.\n"
	       "\n"
	       "With -k (root), enable kernel tracepoints by their tracefs names\n"
	       "('sched_switch', 'block_rq_*', or 'system:event' globs), or with --syscall,\n"
	       "the entry and exit of syscalls by name ('openat,read', '*'); -a: every\n"
	       "tracepoint and syscall. `reel list -k` lists them.\n"
	       "\n"
	       "  -u, --userspace        the userspace domain\n"
	       "  -k, --kernel           the kernel domain\n"
	       "      --syscall          (-k) PATTERN names syscalls\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "  -c, --channel CHANNEL  the channel; default channel0, created when missing\n"
	       "  -a, --all              every event (the pattern *)\n"
	       "  -x, --exclude LIST     leave out the events matching these comma-separated\n"
	       "                         patterns (globs), as lttng's -x\n"
	       "      --loglevel LEVEL   only events of log level LEVEL or more severe\n"
	       "      --loglevel-only LEVEL\n"
	       "                         only events of exactly log level LEVEL\n"
	       "      --json             print the rules enabled, in JSON\n"
	       "  -h, --help             this text\n"
	       "\n"
	       "LEVEL is a number from 0 (most severe) to 14, or its name, with or without\n"
	       "TRACE_, in any case: EMERG ALERT CRIT ERR WARNING NOTICE INFO DEBUG_SYSTEM\n"
	       "DEBUG_PROGRAM DEBUG_PROCESS DEBUG_MODULE DEBUG_UNIT DEBUG_FUNCTION DEBUG_LINE\n"
	       "DEBUG.\n");
}

static const char *match_name(uint32_t match)
{
	switch (match) {
	case REEL_LOGLEVEL_RANGE:
		return "range";
	case REEL_LOGLEVEL_SINGLE:
		return "single";
	default:
		return "all";
	}
}

/* -k: each pattern (with -a, every tracepoint, then every syscall). */
static int enable_kernel(struct reel_ctl *ctl, const char *sname, char **patterns, size_t nr,
			 bool all, bool syscall)
{
	int passes = all && !syscall ? 2 : 1;
	/* One request for the whole list: the daemon enables all of it or,
	 * when a name matches nothing, none. */
	size_t len = 1;
	for (size_t i = 0; i < nr; i++)
		len += strlen(patterns[i]) + 1;
	char *list = malloc(len);
	if (!list)
		return cli_error(CMD, "out of memory");
	list[0] = '\0';
	for (size_t i = 0; i < nr; i++) {
		if (i)
			strcat(list, ",");
		strcat(list, patterns[i]);
	}
	for (int pass = 0; pass < passes; pass++) {
		bool sc = syscall || pass == 1;
		struct reel_event_rule rule = {
			.struct_size = sizeof(rule),
			.session = sname,
			.pattern = list,
			.domain = REEL_DOMAIN_KERNEL,
			.syscall = sc,
		};
		int err = reel_ctl_enable_event(ctl, &rule);
		if (err) {
			int status = cli_ctl_error(CMD, ctl, err,
						   "cannot enable kernel %s '%s' in session '%s'",
						   sc ? "syscalls" : "events", list, sname);
			free(list);
			return status;
		}
		const char *warning = reel_ctl_last_warning(ctl);
		if (warning)
			fprintf(stderr, "Warning: %s\n", warning);
		for (size_t i = 0; i < nr; i++) {
			if (cli_json)
				continue;
			if (all)
				printf("All kernel %s are enabled in channel channel0\n",
				       sc ? "system calls" : "tracepoints");
			else
				printf("Kernel %s %s enabled in channel channel0\n",
				       sc ? "syscall" : "event", patterns[i]);
		}
	}
	free(list);
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_string(&w, "domain", "kernel");
		cli_json_begin_array(&w, "events");
		for (int pass = 0; pass < passes; pass++)
			for (size_t i = 0; i < nr; i++) {
				cli_json_begin_object(&w, NULL);
				cli_json_string(&w, "pattern", patterns[i]);
				cli_json_bool(&w, "syscall", syscall || pass == 1);
				cli_json_end_object(&w);
			}
		cli_json_end_array(&w);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userspace", no_argument, NULL, 'u'},
		{"kernel", no_argument, NULL, 'k'},
		{"session", required_argument, NULL, 's'},
		{"channel", required_argument, NULL, 'c'},
		{"all", no_argument, NULL, 'a'},
		{"exclude", required_argument, NULL, 'x'},
		{"loglevel", required_argument, NULL, OPT_LOGLEVEL},
		{"loglevel-only", required_argument, NULL, OPT_LOGLEVEL_ONLY},
		{"syscall", no_argument, NULL, OPT_SYSCALL},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cli_domain dom = {0};
	int domain_status;
	bool all = false, syscall = false;
	char *exclude_arg = NULL;
	uint32_t match = REEL_LOGLEVEL_ALL;
	int32_t loglevel = 0;
	int c, err;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":uks:c:ax:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'x':
			if (exclude_arg)
				return cli_usage_error(CMD,
						       "give -x once, with a comma-separated list");
			exclude_arg = optarg;
			break;
		case OPT_LOGLEVEL:
		case OPT_LOGLEVEL_ONLY: {
			uint32_t m = c == OPT_LOGLEVEL ? REEL_LOGLEVEL_RANGE : REEL_LOGLEVEL_SINGLE;
			if (match != REEL_LOGLEVEL_ALL && match != m)
				return cli_usage_error(
					CMD, "--loglevel and --loglevel-only exclude each other");
			if (cli_parse_loglevel(optarg, &loglevel))
				return cli_usage_error(
					CMD,
					"%s: unknown log level '%s' (0 to 14, or a name "
					"such as INFO or TRACE_DEBUG_LINE)",
					c == OPT_LOGLEVEL ? "--loglevel" : "--loglevel-only",
					optarg);
			match = m;
			break;
		}
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
			domain_status = cli_domain_option(CMD, c, &dom);
			if (domain_status < 0)
				return cli_bad_option(CMD, c, argc, argv, longopts);
			if (domain_status > 0)
				return domain_status;
			break;
		}
	}
	domain_status = cli_domain_check(CMD, &dom, true);
	if (domain_status)
		return domain_status;
	if (syscall && !dom.kernel)
		return cli_usage_error(CMD, "--syscall goes with -k (--kernel)");
	if (dom.kernel && (exclude_arg || match != REEL_LOGLEVEL_ALL))
		return cli_usage_error(CMD, "-x and log levels are for userspace events");
	if (all && optind < argc)
		return cli_usage_error(CMD, "-a enables every event: give no pattern with it");
	if (!all && optind == argc)
		return cli_usage_error(
			CMD, "no event pattern: give PATTERN[,PATTERN...], or -a for every event");
	if (argc - optind > 1)
		return cli_usage_error(
			CMD, "unexpected argument '%s' (several patterns are separated by commas)",
			argv[optind + 1]);

	char star[] = "*";
	char *all_pattern[] = {star};
	char **patterns = all_pattern;
	size_t nr = 1;
	if (!all && (err = cli_split_list(CMD, "event pattern", argv[optind], &patterns, &nr)))
		return err;
	char **excludes = NULL;
	size_t nr_excludes = 0;
	if (exclude_arg &&
	    (err = cli_split_list(CMD, "excluded pattern", exclude_arg, &excludes, &nr_excludes))) {
		if (patterns != all_pattern)
			free(patterns);
		return err;
	}

	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, dom.session, &sname)))
		goto out;
	const char *chname = dom.channel ? dom.channel : DEFAULT_CHANNEL;
	if (dom.kernel) {
		status = enable_kernel(ctl, sname, patterns, nr, all, syscall);
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		struct reel_event_rule rule = {
			.struct_size = sizeof(rule),
			.session = sname,
			.channel = dom.channel,
			.pattern = patterns[i],
			.loglevel_match = match,
			.loglevel = loglevel,
			.excludes = (const char *const *)excludes,
			.nr_excludes = nr_excludes,
		};
		err = reel_ctl_enable_event(ctl, &rule);
		if (err) {
			status = cli_ctl_error(CMD, ctl, err,
					       "cannot enable '%s' in channel '%s' of session '%s'",
					       patterns[i], chname, sname);
			goto out;
		}
		if (cli_json)
			continue;
		if (all)
			printf("All UST events are enabled in channel %s", chname);
		else
			printf("UST event %s created in channel %s", patterns[i], chname);
		const char *lname = cli_loglevel_name(loglevel);
		if (match == REEL_LOGLEVEL_RANGE)
			printf(" for loglevel %s (%d) and more severe", lname, loglevel);
		else if (match == REEL_LOGLEVEL_SINGLE)
			printf(" for loglevel %s (%d) only", lname, loglevel);
		printf("\n");
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_string(&w, "channel", chname);
		cli_json_begin_array(&w, "rules");
		for (size_t i = 0; i < nr; i++) {
			cli_json_begin_object(&w, NULL);
			cli_json_string(&w, "pattern", patterns[i]);
			cli_json_string(&w, "loglevel_match", match_name(match));
			if (match != REEL_LOGLEVEL_ALL) {
				cli_json_int(&w, "loglevel", loglevel);
				cli_json_string(&w, "loglevel_name", cli_loglevel_name(loglevel));
			}
			cli_json_end_object(&w);
		}
		cli_json_end_array(&w);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	}
out:
	if (patterns != all_pattern)
		free(patterns);
	free(excludes);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_enable_event = {
	.name = CMD,
	.summary = "enable event rules in a channel",
	.run = run,
	.help = help,
};
