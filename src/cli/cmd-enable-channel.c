/* SPDX-License-Identifier: MIT */
/* reel enable-channel: create a userspace channel in a session, as
 * `lttng enable-channel -u`. */
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

#define CMD "enable-channel"

#define MIN_SUBBUF_SIZE 4096u
#define MAX_POW2_U32	0x80000000u

enum {
	OPT_SUBBUF_SIZE = CLI_OPT_FIRST_LOCAL,
	OPT_NUM_SUBBUF,
	OPT_OVERWRITE,
	OPT_DISCARD,
	OPT_BUFFERS_UID,
	OPT_BUFFERS_PID,
	OPT_SWITCH_TIMER,
};

static void help(void)
{
	printf("Usage: reel enable-channel -u [-s SESSION] NAME [OPTIONS]\n"
	       "       reel enable-channel -k [-s SESSION] channel0 [--subbuf-size SIZE] [--num-subbuf N]\n"
	       "\n"
	       "Create the userspace channel NAME in a session, before the session starts.\n"
	       "A channel is a set of ring buffers (per CPU) and the stream files they are\n"
	       "written to; event rules are enabled in a channel (default: channel0).\n"
	       "\n"
	       "With -k (root), size the kernel's buffers before the first kernel event:\n"
	       "SIZE x N bytes per CPU (default 1M x 4), in discard mode.\n"
	       "\n"
	       "  -u, --userspace        the userspace domain\n"
	       "  -k, --kernel           the kernel domain\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "      --subbuf-size SIZE sub-buffer (packet) size in bytes, a power of two of\n"
	       "                         at least 4k; suffixes k, M, G; default 512k\n"
	       "      --num-subbuf N     sub-buffers per buffer, a power of two of at least 2;\n"
	       "                         default 4\n"
	       "      --overwrite        flight-recorder mode: when the buffers are full,\n"
	       "                         overwrite the oldest packets\n"
	       "      --discard          when the buffers are full, discard new events and\n"
	       "                         count them (the default)\n"
	       "      --buffers-uid      one set of buffers per user (the default)\n"
	       "      --buffers-pid      one set of buffers per process\n"
	       "      --switch-timer US  close a quiet packet after US microseconds so that\n"
	       "                         its events reach the disk; suffixes us, ms, s, m, h;\n"
	       "                         default 0: packets close when full or at stop\n"
	       "      --json             print the channel as the daemon has it, in JSON\n"
	       "  -h, --help             this text\n");
}

/* A power of two in [min, 2^31], from `text` parsed by `parse`. */
static int parse_pow2(const char *opt, const char *text, uint32_t min, bool size, uint32_t *ret)
{
	uint64_t v;
	int err = size ? cli_parse_size(text, MAX_POW2_U32, &v)
		       : cli_parse_uint(text, MAX_POW2_U32, &v);
	if (err == -EINVAL)
		return cli_usage_error(CMD, "%s: '%s' is not a %s", opt, text,
				       size ? "size (a number with an optional k, M or G suffix)"
					    : "number");
	if (err == -ERANGE || v < min)
		return cli_usage_error(CMD, "%s: '%s' is out of range (%u to %u)", opt, text, min,
				       MAX_POW2_U32);
	if (v & (v - 1))
		return cli_usage_error(CMD, "%s: '%s' is not a power of two", opt, text);
	*ret = (uint32_t)v;
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userspace", no_argument, NULL, 'u'},
		{"kernel", no_argument, NULL, 'k'},
		{"session", required_argument, NULL, 's'},
		{"subbuf-size", required_argument, NULL, OPT_SUBBUF_SIZE},
		{"num-subbuf", required_argument, NULL, OPT_NUM_SUBBUF},
		{"overwrite", no_argument, NULL, OPT_OVERWRITE},
		{"discard", no_argument, NULL, OPT_DISCARD},
		{"buffers-uid", no_argument, NULL, OPT_BUFFERS_UID},
		{"buffers-pid", no_argument, NULL, OPT_BUFFERS_PID},
		{"switch-timer", required_argument, NULL, OPT_SWITCH_TIMER},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct reel_channel_config config = {.struct_size = sizeof(config)};
	struct cli_domain dom = {0};
	int domain_status;
	bool discard = false, uid = false, pid = false;
	uint64_t v;
	int c, err;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":uks:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SUBBUF_SIZE:
			if ((err = parse_pow2("--subbuf-size", optarg, MIN_SUBBUF_SIZE, true,
					      &config.subbuf_size)))
				return err;
			break;
		case OPT_NUM_SUBBUF:
			if ((err = parse_pow2("--num-subbuf", optarg, 2, false,
					      &config.num_subbuf)))
				return err;
			break;
		case OPT_OVERWRITE:
			config.overwrite = true;
			break;
		case OPT_DISCARD:
			discard = true;
			break;
		case OPT_BUFFERS_UID:
			uid = true;
			break;
		case OPT_BUFFERS_PID:
			pid = true;
			break;
		case OPT_SWITCH_TIMER:
			err = cli_parse_duration_us(optarg, UINT32_MAX, &v);
			if (err == -EINVAL)
				return cli_usage_error(
					CMD,
					"--switch-timer: '%s' is not a duration "
					"(microseconds, or a number with us, ms, s, m or h)",
					optarg);
			if (err)
				return cli_usage_error(
					CMD, "--switch-timer: '%s' is too long (at most %u us)",
					optarg, UINT32_MAX);
			config.switch_timer_us = (uint32_t)v;
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
	if (optind == argc)
		return cli_usage_error(CMD, "no channel name");
	if (argc - optind > 1)
		return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
	if (config.overwrite && discard)
		return cli_usage_error(CMD, "--overwrite and --discard exclude each other");
	if (uid && pid)
		return cli_usage_error(CMD, "--buffers-uid and --buffers-pid exclude each other");
	const char *name = argv[optind];
	if (!*name)
		return cli_usage_error(CMD, "the channel name is empty");
	config.name = name;
	config.buffers = pid ? REEL_BUFFERS_PID : REEL_BUFFERS_UID;
	if (dom.kernel && (config.overwrite || pid || config.switch_timer_us))
		return cli_usage_error(CMD, "kernel channels take --subbuf-size and --num-subbuf only");
	config.domain = dom.kernel ? REEL_DOMAIN_KERNEL : REEL_DOMAIN_UST;

	struct reel_ctl *ctl = NULL;
	struct reel_session_list *list = NULL;
	char *sname = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, dom.session, &sname)))
		goto out;
	config.session = sname;
	err = reel_ctl_enable_channel(ctl, &config);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot enable channel '%s' in session '%s'",
				       name, sname);
		goto out;
	}
	if (!cli_json || dom.kernel) {
		if (cli_json) {
			struct cli_json_writer kw;
			cli_json_init(&kw, stdout);
			cli_json_begin_object(&kw, NULL);
			cli_json_string(&kw, "session", sname);
			cli_json_begin_object(&kw, "channel");
			cli_json_string(&kw, "name", name);
			cli_json_string(&kw, "domain", "kernel");
			cli_json_uint(&kw, "subbuf_size", config.subbuf_size);
			cli_json_uint(&kw, "num_subbuf", config.num_subbuf);
			cli_json_end_object(&kw);
			cli_json_end_object(&kw);
			cli_json_finish(&kw);
		} else
			printf("%s channel %s enabled for session %s\n", dom.kernel ? "Kernel" : "UST",
			       name, sname);
		goto out;
	}
	/* The channel as the daemon made it, defaults filled in. */
	err = reel_ctl_list_sessions(ctl, &list);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "channel '%s' enabled, but cannot list it",
				       name);
		goto out;
	}
	const struct reel_session_status *s = cli_find_session(list, sname);
	const struct reel_channel_status *ch = s ? cli_find_channel(s, name) : NULL;
	if (!ch) {
		status = cli_error(CMD, "channel '%s' enabled, but the daemon does not list it",
				   name);
		goto out;
	}
	struct cli_json_writer w;
	cli_json_init(&w, stdout);
	cli_json_begin_object(&w, NULL);
	cli_json_string(&w, "session", sname);
	cli_json_channel(&w, "channel", ch);
	cli_json_end_object(&w);
	cli_json_finish(&w);
out:
	if (list)
		reel_session_list_free(list);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_enable_channel = {
	.name = CMD,
	.summary = "create a channel in a session",
	.run = run,
	.help = help,
};
