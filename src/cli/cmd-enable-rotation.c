/* SPDX-License-Identifier: MIT */
/* reel enable-rotation / disable-rotation: scheduled rotations, as lttng's. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

static void help_enable(void)
{
	printf("Usage: reel enable-rotation [-s SESSION] (--timer PERIOD | --size SIZE)...\n"
	       "                            [--hook COMMAND] [--keep N] [--keep-size SIZE]\n"
	       "                            [--compress zstd|none] [--publish URL]\n"
	       "\n"
	       "Rotate the session every PERIOD, and/or whenever SIZE bytes were written\n"
	       "since the last rotation: each chunk is archived as with `reel rotate`.\n"
	       "\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "      --timer PERIOD     microseconds, or with a unit: 500ms, 30s, 5m, 1h\n"
	       "      --size SIZE        bytes, or with a unit: 64k, 500M, 2G\n"
	       "      --hook COMMAND     a shell command run with each archived chunk's path\n"
	       "                         as $1 (compress it, upload it, notify a queue); its\n"
	       "                         failures are reported by `reel list-rotations` and\n"
	       "                         never stop tracing; a hook running 5 minutes is killed\n"
	       "      --keep N           keep at most N archived chunks: the oldest are deleted\n"
	       "      --keep-size SIZE   keep at most SIZE bytes of archived chunks (the newest\n"
	       "                         chunk and those whose hook runs are always kept)\n"
	       "      --compress zstd    compress each archived chunk's files (<file>.zst) in\n"
	       "                         the background; the chunk is announced (hook,\n"
	       "                         wait-rotation, `reel rotate`) once they are written;\n"
	       "                         `reel view` reads them, `zstd -d` restores them\n"
	       "                         (none: stop compressing)\n"
	       "      --publish URL      announce each archived chunk at once on the NATS\n"
	       "                         JetStream broker at URL (nats://HOST:PORT): its path,\n"
	       "                         for `reel analyze KIND --engine URL --session NAME` and\n"
	       "                         followers, which choose the analyses (doc/dist.md); a\n"
	       "                         broker that is down never stops tracing: the chunks\n"
	       "                         wait (list-rotations) and go when it is back\n"
	       "                         (\"\": stop announcing)\n"
	       "      --json             print the schedule, in JSON\n"
	       "  -h, --help             this text\n");
}

static void help_disable(void)
{
	printf("Usage: reel disable-rotation [-s SESSION]\n"
	       "\n"
	       "No more scheduled rotations for the session (`reel rotate` still works).\n"
	       "\n"
	       "  -s, --session SESSION  the session; default: the current session\n"
	       "      --json             print {\"session\": S}\n"
	       "  -h, --help             this text\n");
}

enum { OPT_TIMER = 0x200, OPT_SIZE, OPT_HOOK, OPT_KEEP, OPT_KEEP_SIZE, OPT_COMPRESS, OPT_PUBLISH };

static int run_rotation(const char *cmd, bool enable, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"session", required_argument, NULL, 's'},
		{"timer", required_argument, NULL, OPT_TIMER},
		{"size", required_argument, NULL, OPT_SIZE},
		{"hook", required_argument, NULL, OPT_HOOK},
		{"keep", required_argument, NULL, OPT_KEEP},
		{"keep-size", required_argument, NULL, OPT_KEEP_SIZE},
		{"compress", required_argument, NULL, OPT_COMPRESS},
		{"publish", required_argument, NULL, OPT_PUBLISH},
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *session = NULL, *hook = NULL, *compress = NULL, *publish = NULL;
	uint64_t timer = 0, size = 0, keep = 0, keep_size = 0;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return cli_usage_error(cmd, "the session name is empty");
			session = optarg;
			break;
		case OPT_TIMER:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (cli_parse_duration_us(optarg, UINT64_MAX / 2, &timer) || timer < 1000)
				return cli_usage_error(
					cmd, "--timer: '%s' is not a period of 1 ms or more",
					optarg);
			break;
		case OPT_SIZE:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (cli_parse_size(optarg, UINT64_MAX / 2, &size) || size < 4096)
				return cli_usage_error(
					cmd, "--size: '%s' is not a size of 4k or more", optarg);
			break;
		case OPT_HOOK:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (!*optarg)
				return cli_usage_error(cmd, "--hook: the command is empty");
			hook = optarg;
			break;
		case OPT_KEEP:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (cli_parse_uint(optarg, UINT32_MAX, &keep) || !keep)
				return cli_usage_error(
					cmd, "--keep: '%s' is not a number of chunks", optarg);
			break;
		case OPT_KEEP_SIZE:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (cli_parse_size(optarg, UINT64_MAX / 2, &keep_size) || !keep_size)
				return cli_usage_error(cmd, "--keep-size: '%s' is not a size",
						       optarg);
			break;
		case OPT_COMPRESS:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (strcmp(optarg, "zstd") != 0 && strcmp(optarg, "none") != 0)
				return cli_usage_error(
					cmd, "--compress: '%s' is not a compression (zstd, none)",
					optarg);
			compress = optarg;
			break;
		case OPT_PUBLISH:
			if (!enable)
				return cli_bad_option(cmd, '?', argc, argv, longopts);
			if (*optarg && !strstr(optarg, "://"))
				return cli_usage_error(cmd, "--publish: '%s' is not a broker URL (nats://HOST:PORT)",
						       optarg);
			publish = optarg;
			break;
		case 'h':
			enable ? help_enable() : help_disable();
			return 0;
		case CLI_OPT_JSON:
			cli_json = true;
			break;
		default:
			return cli_bad_option(cmd, c, argc, argv, longopts);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (enable && !timer && !size && !keep && !keep_size && !compress && !publish)
		return cli_usage_error(
			cmd, "give --timer PERIOD and/or --size SIZE (or a retention, a compression)");
	struct reel_ctl *ctl = NULL;
	char *sname = NULL;
	int status = cli_connect(cmd, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(cmd, ctl, session, &sname)))
		goto out;
	int err = 0;
	/* first: the first chunk of the new schedule is announced too */
	if (enable && publish)
		err = reel_ctl_set_publish(ctl, sname, publish);
	if (enable && !err && (timer || size || hook))
		err = reel_ctl_enable_rotation(ctl, sname, timer, size, hook);
	if (enable && !err && (keep || keep_size))
		err = reel_ctl_set_retention(ctl, sname, keep, keep_size);
	if (enable && !err && compress)
		err = reel_ctl_set_compression(ctl, sname, compress);
	if (!enable)
		err = reel_ctl_disable_rotation(ctl, sname);
	if (err) {
		status = cli_ctl_error(cmd, ctl, err, "cannot change the rotation of session '%s'",
				       sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		if (enable) {
			cli_json_uint(&w, "timer_us", timer);
			cli_json_uint(&w, "size", size);
			cli_json_string(&w, "hook", hook);
			if (compress)
				cli_json_string(&w, "compress", compress);
			if (publish)
				cli_json_string(&w, "publish", publish);
		}
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else if (enable) {
		if (timer)
			printf("Rotation of session %s every %llu us enabled\n", sname,
			       (unsigned long long)timer);
		if (size)
			printf("Rotation of session %s every %llu bytes written enabled\n", sname,
			       (unsigned long long)size);
		if (hook)
			printf("Each chunk's path goes to: %s\n", hook);
		if (keep)
			printf("At most %llu archived chunks are kept\n", (unsigned long long)keep);
		if (keep_size)
			printf("At most %llu bytes of archived chunks are kept\n",
			       (unsigned long long)keep_size);
		if (compress)
			printf("Archived chunks of session %s are compressed: %s\n", sname,
			       compress);
		if (publish && *publish)
			printf("Archived chunks of session %s are announced to %s\n", sname, publish);
	} else {
		printf("Scheduled rotations of session %s disabled\n", sname);
	}
out:
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

static int run_enable(int argc, char **argv)
{
	return run_rotation("enable-rotation", true, argc, argv);
}

static int run_disable(int argc, char **argv)
{
	return run_rotation("disable-rotation", false, argc, argv);
}

const struct cli_command cli_cmd_enable_rotation = {
	.name = "enable-rotation",
	.summary = "rotate a session on a timer or a size",
	.run = run_enable,
	.help = help_enable,
};

const struct cli_command cli_cmd_disable_rotation = {
	.name = "disable-rotation",
	.summary = "stop scheduled rotations",
	.run = run_disable,
	.help = help_disable,
};
