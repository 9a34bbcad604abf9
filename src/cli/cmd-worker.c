/* SPDX-License-Identifier: MIT */
/*
 * reel worker: maps chunks for `reel analyze --engine URL` on this machine
 * (src/dist, doc/dist.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli.h"
#include "dist/dist.h"

static void worker_help(void)
{
	printf("Usage: reel worker --engine URL [OPTIONS]\n"
	       "\n"
	       "Takes chunk analyses from the NATS JetStream broker at URL (nats://HOST:PORT),\n"
	       "one task at a time per job, maps each chunk and publishes its partial\n"
	       "result; `reel analyze KIND --engine URL CHUNKS...` reduces them. Chunk paths\n"
	       "must name the same files here as where they were published (shared storage).\n"
	       "Runs until SIGINT or SIGTERM; reconnects when the broker goes away.\n"
	       "\n"
	       "Options:\n"
	       "  --engine URL       the broker (required)\n"
	       "  -j, --jobs N       tasks mapped at once (default 1)\n"
	       "  --store DIR        where partials larger than the broker's max message go\n"
	       "                     (shared storage; default: the chunk's parent directory)\n"
	       "  --ack-wait SEC     the workers' consumer: a task not acknowledged nor kept\n"
	       "                     alive for SEC seconds goes to another worker (default 30)\n"
	       "  --max-deliver N    the workers' consumer: deliveries of a task before it is\n"
	       "                     given up (default 5)\n"
	       "                     (both apply when this worker creates the consumer; given\n"
	       "                     explicitly, they update an existing one)\n"
	       "  -h, --help         this text\n");
}

static int worker_run(int argc, char **argv)
{
	enum { OPT_ENGINE = 256, OPT_STORE, OPT_ACK, OPT_MAXDEL };
	static const struct option opts[] = {
		{"engine", required_argument, NULL, OPT_ENGINE},
		{"jobs", required_argument, NULL, 'j'},
		{"store", required_argument, NULL, OPT_STORE},
		{"ack-wait", required_argument, NULL, OPT_ACK},
		{"max-deliver", required_argument, NULL, OPT_MAXDEL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct dist_worker_opts o = {.jobs = 1, .ack_wait_ms = 30000, .max_deliver = 5};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:h", opts, NULL)) != -1) {
		char *end;
		long v;
		double d;
		switch (c) {
		case OPT_ENGINE:
			o.url = optarg;
			break;
		case 'j':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 256)
				return cli_usage_error("worker", "bad -j value '%s'", optarg);
			o.jobs = (unsigned)v;
			break;
		case OPT_STORE: {
			struct stat st;
			if (optarg[0] != '/' || stat(optarg, &st) || !S_ISDIR(st.st_mode))
				return cli_usage_error(
					"worker",
					"--store needs an existing directory, absolute: '%s'",
					optarg);
			o.store = optarg;
			break;
		}
		case OPT_ACK:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(d >= 0.1 && d <= 86400))
				return cli_usage_error(
					"worker", "bad --ack-wait value '%s' (seconds)", optarg);
			o.ack_wait_ms = (int64_t)(d * 1000);
			o.consumer_opts = true;
			break;
		case OPT_MAXDEL:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 1000)
				return cli_usage_error("worker", "bad --max-deliver value '%s'",
						       optarg);
			o.max_deliver = (int)v;
			o.consumer_opts = true;
			break;
		case 'h':
			worker_help();
			return 0;
		default:
			/* "requires an argument" for a known one without it */
			return cli_bad_option("worker", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("worker", "unexpected argument '%s'", argv[optind]);
	if (!o.url)
		return cli_usage_error(
			"worker", "--engine URL is required (the NATS broker, nats://HOST:PORT)");
	return dist_worker_run(&o);
}

const struct cli_command cli_cmd_worker = {
	.name = "worker",
	.summary = "map chunk analyses for `reel analyze --engine` (NATS JetStream)",
	.run = worker_run,
	.help = worker_help,
};
