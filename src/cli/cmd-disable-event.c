/* SPDX-License-Identifier: MIT */
/* reel disable-event: remove userspace event rules from a channel, as
 * `lttng disable-event -u`. */
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

#define CMD		"disable-event"

enum {
	OPT_SYSCALL = CLI_OPT_FIRST_LOCAL,
};
#define DEFAULT_CHANNEL "channel0"

static void help(void)
{
	printf("Usage: reel disable-event -u [-s SESSION] [-c CHANNEL] PATTERN[,PATTERN...]\n"
	       "       reel disable-event -u [-s SESSION] [-c CHANNEL] -a\n"
	       "       reel disable-event -k [-s SESSION] [--syscall] PATTERN[,PATTERN...]\n"
	       "\n"
	       "Stop recording the events of each PATTERN in a channel: the rules enabled\n"
	       "with exactly this pattern are removed; if there is none, the events\n"
	       "matching it are left out of the channel's other rules (disable-event -u\n"
	       "'myapp:noisy*' after enable-event -u 'myapp:*'), until enable-event names\n"
	       "the pattern again. Running applications apply it before this returns.\n"
	       "\n"
	       "  -u, --userspace        the userspace domain\n"
	       "  -k, --kernel           the kernel domain (root): tracepoint names, or with\n"
	       "      --syscall          syscall names\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "  -c, --channel CHANNEL  the channel; default channel0\n"
	       "  -a, --all              every rule and exclusion of the channel\n"
	       "      --json             print the rules removed, in JSON\n"
	       "  -h, --help             this text\n");
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userspace", no_argument, NULL, 'u'},
		{"kernel", no_argument, NULL, 'k'},
		{"session", required_argument, NULL, 's'},
		{"channel", required_argument, NULL, 'c'},
		{"all", no_argument, NULL, 'a'},
		{"syscall", no_argument, NULL, OPT_SYSCALL},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cli_domain dom = {0};
	int domain_status;
	bool all = false, syscall = false;
	int c, err;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":uks:c:ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
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
	if (all && optind < argc)
		return cli_usage_error(CMD, "-a disables every rule: give no pattern with it");
	if (!all && optind == argc)
		return cli_usage_error(
			CMD, "no event pattern: give PATTERN[,PATTERN...], or -a for every rule");
	if (argc - optind > 1)
		return cli_usage_error(
			CMD, "unexpected argument '%s' (several patterns are separated by commas)",
			argv[optind + 1]);

	/* libreel-ctl: the pattern "*" removes every rule of the channel. */
	char star[] = "*";
	char *all_pattern[] = {star};
	char **patterns = all_pattern;
	size_t nr = 1;
	if (!all && (err = cli_split_list(CMD, "event pattern", argv[optind], &patterns, &nr)))
		return err;

	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, dom.session, &sname)))
		goto out;
	const char *chname = dom.channel ? dom.channel : DEFAULT_CHANNEL;
	for (size_t i = 0; i < nr; i++) {
		err = dom.kernel ? reel_ctl_disable_kernel_event(ctl, sname, patterns[i], syscall) :
				   reel_ctl_disable_event(ctl, sname, dom.channel, patterns[i]);
		if (err) {
			status =
				cli_ctl_error(CMD, ctl, err,
					      "cannot disable '%s' in channel '%s' of session '%s'",
					      patterns[i], chname, sname);
			goto out;
		}
		if (cli_json)
			continue;
		const char *domain = dom.kernel ? (syscall ? "Kernel syscall" : "Kernel event") : "UST event";
		if (all)
			printf("All %ss are disabled in channel %s\n", domain, chname);
		else
			printf("%s %s disabled in channel %s\n", domain, patterns[i], chname);
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_string(&w, "channel", chname);
		cli_json_bool(&w, "all", all);
		cli_json_begin_array(&w, "patterns");
		for (size_t i = 0; i < nr; i++)
			cli_json_string(&w, NULL, patterns[i]);
		cli_json_end_array(&w);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	}
out:
	if (patterns != all_pattern)
		free(patterns);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_disable_event = {
	.name = CMD,
	.summary = "disable event rules of a channel",
	.run = run,
	.help = help,
};
