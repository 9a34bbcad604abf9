/* SPDX-License-Identifier: MIT */
/* reel status: the current session and how much its channels wrote, as
 * `lttng status` with the write statistics of each channel. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "status"

static void help(void)
{
	printf("Usage: reel status\n"
	       "\n"
	       "Show the current session: whether it records, where, how many\n"
	       "applications trace into it, and per channel the packets and bytes\n"
	       "written, the events discarded (lost because the buffers were full) and\n"
	       "the write rate over the last second or so.\n"
	       "\n"
	       "      --json             the session, its channels and their statistics,\n"
	       "                         as `reel list --json SESSION` prints them\n"
	       "  -h, --help             this text\n");
}

static void print_status(const struct reel_session_status *s)
{
	printf("Recording session %s: [%s]\n", s->name, s->active ? "active" : "inactive");
	printf("    Trace output: %s\n", s->output ? s->output : "(none)");
	printf("    Applications: %u\n", s->nr_apps);
	if (s->error)
		printf("    Error: %s\n", s->error);
	printf("\n");
	if (!s->nr_channels) {
		printf("No channel: `reel enable-channel -u` or `reel enable-event -u` adds "
		       "one.\n");
		return;
	}
	printf("%-16s %12s %14s %12s %10s %12s  %s\n", "Channel", "Packets", "Written", "Discarded",
	       "Lost pkts", "Rate", "Rules");
	for (size_t i = 0; i < s->nr_channels; i++) {
		const struct reel_channel_status *c = &s->channels[i];
		char written[32], rate[32];
		cli_format_bytes(written, sizeof(written), (double)c->bytes_written);
		snprintf(rate, sizeof(rate), "%.2f MB/s", c->bytes_per_second / 1e6);
		char name[64];
		snprintf(name, sizeof(name), "%s%s", c->name ? c->name : "?",
			 c->domain == REEL_DOMAIN_KERNEL ? " (kernel)" : "");
		printf("%-16s %12llu %14s %12llu %10llu %12s  ", name,
		       (unsigned long long)c->packets_written, written,
		       (unsigned long long)c->events_discarded, (unsigned long long)c->packets_lost,
		       rate);
		if (!c->nr_rules)
			printf("none");
		for (size_t r = 0; r < c->nr_rules; r++)
			printf("%s%s", r ? ", " : "", c->rules[r] ? c->rules[r] : "?");
		printf("\n");
	}
}

static int run(int argc, char **argv)
{
	const char *arg;
	int parsed = cli_parse_plain(CMD, argc, argv, help, &arg);
	if (parsed >= 0)
		return parsed;
	if (arg)
		return cli_usage_error(
			CMD, "unexpected argument '%s' (`reel list SESSION` shows any session)", arg);

	struct reel_ctl *ctl = NULL;
	struct reel_session_list *list = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	int err = reel_ctl_list_sessions(ctl, &list);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot list the sessions");
		goto out;
	}
	if (!list->current) {
		status = cli_error(
			CMD, "no current session: create one with `reel create`, or choose one "
			     "with `reel set-session`");
		goto out;
	}
	const struct reel_session_status *s = cli_find_session(list, list->current);
	if (!s) {
		status = cli_error(CMD, "the current session '%s' no longer exists", list->current);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_session(&w, NULL, s, true);
		cli_json_finish(&w);
	} else {
		print_status(s);
	}
out:
	if (list)
		reel_session_list_free(list);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_status = {
	.name = CMD,
	.summary = "show the current session and its channels' statistics",
	.run = run,
	.help = help,
};
