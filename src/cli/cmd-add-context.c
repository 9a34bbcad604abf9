/* SPDX-License-Identifier: MIT */
/* reel add-context: record context fields with every event of a channel,
 * as `lttng add-context -u`. */
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

#define CMD	  "add-context"
#define MAX_TYPES 16

static void help(void)
{
	printf("Usage: reel add-context -u [-s SESSION] [-c CHANNEL] -t TYPE [-t TYPE...]\n"
	       "\n"
	       "Record context fields with every event of a channel (of every channel of\n"
	       "the session without -c), before the session first starts. Readers show\n"
	       "them as the event's context (babeltrace2: the second { ... }).\n"
	       "\n"
	       "Types: vpid (process id), vtid (thread id), procname (thread name),\n"
	       "pthread_id (pthread_self()), cpu_id (the CPU). Kernel (-k, root): tid\n"
	       "(the task's id; cpu_id is in every packet).\n"
	       "\n"
	       "  -u, --userspace        the userspace domain\n"
	       "  -k, --kernel           the kernel domain\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "  -c, --channel CHANNEL  the channel; default: every channel\n"
	       "  -t, --type TYPE        a context type; repeat for several\n"
	       "      --json             print what was added, in JSON\n"
	       "  -h, --help             this text\n");
}

static bool known_type(const char *t)
{
	static const char *const types[] = {"vpid", "vtid", "procname", "pthread_id", "cpu_id"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i], t) == 0)
			return true;
	return false;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userspace", no_argument, NULL, 'u'},
		{"kernel", no_argument, NULL, 'k'},
		{"session", required_argument, NULL, 's'},
		{"channel", required_argument, NULL, 'c'},
		{"type", required_argument, NULL, 't'},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cli_domain dom = {0};
	int domain_status;
	const char *types[MAX_TYPES];
	size_t nr_types = 0;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":uks:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (nr_types == MAX_TYPES)
				return cli_usage_error(CMD, "too many -t options");
			types[nr_types++] = optarg;
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
	if (!nr_types)
		return cli_usage_error(CMD, "no context type: give -t TYPE");
	for (size_t i = 0; i < nr_types; i++) {
		if (dom.kernel && strcmp(types[i], "tid") != 0)
			return cli_usage_error(CMD, "unknown kernel context type '%s' (tid)", types[i]);
		if (!dom.kernel && !known_type(types[i]))
			return cli_usage_error(CMD,
					       "unknown context type '%s' (vpid, vtid, procname, "
					       "pthread_id, cpu_id)",
					       types[i]);
	}
	if (dom.kernel && dom.channel)
		return cli_usage_error(CMD, "the kernel domain has one channel: no -c");
	if (optind < argc)
		return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);

	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, dom.session, &sname)))
		goto out;
	for (size_t i = 0; i < nr_types; i++) {
		int err = dom.kernel ? reel_ctl_add_kernel_context(ctl, sname, types[i]) :
				       reel_ctl_add_context(ctl, sname, dom.channel, types[i]);
		if (err) {
			status = cli_ctl_error(CMD, ctl, err, "cannot add context '%s'", types[i]);
			goto out;
		}
		if (!cli_json)
			printf("%s context %s added to %s%s of session %s\n",
			       dom.kernel ? "Kernel" : "UST", types[i],
			       dom.channel ? "channel " : "all channels",
			       dom.channel ? dom.channel : "", sname);
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_string(&w, "channel", dom.channel);
		cli_json_begin_array(&w, "types");
		for (size_t i = 0; i < nr_types; i++)
			cli_json_string(&w, NULL, types[i]);
		cli_json_end_array(&w);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	}
out:
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_add_context = {
	.name = CMD,
	.summary = "record context fields (vpid, vtid, procname...) with every event",
	.run = run,
	.help = help,
};
