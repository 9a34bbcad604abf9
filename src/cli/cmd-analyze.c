/* SPDX-License-Identifier: MIT */
/*
 * reel analyze: answers from kernel traces (src/analysis, doc/analysis.md),
 * chunk-parallel: each chunk mapped alone on a thread pool, the partial
 * results reduced in chunk order.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "analyze-follow.h"
#include "args.h"
#include "chunks.h"
#include "cli.h"
#include "dist/dist.h"

static void analyze_help(void)
{
	printf("Usage: reel analyze syscalls|io|cpu TRACE... [OPTIONS]\n"
	       "       reel analyze KIND --follow OUTPUT [--engine URL] [--metrics [ADDR:]PORT]\n"
	       "                    [OPTIONS]\n"
	       "       reel analyze KIND --follow --engine URL [--session NAME]\n"
	       "                    [--metrics [ADDR:]PORT] [OPTIONS]\n"
	       "       reel analyze fd TRACE... --pid PID --fd FD [--at TIME] [OPTIONS]\n"
	       "       reel analyze phases TRACE... --begin PROVIDER:EVENT --end PROVIDER:EVENT\n"
	       "                    [--by FIELD] [OPTIONS]\n"
	       "\n"
	       "Answers from kernel traces, as LTTng-analyses gives them:\n"
	       "  syscalls   per thread and syscall: count, errors by errno, latency\n"
	       "             min/average/max and p50/p99 (lttng-syscallstats)\n"
	       "  io         per thread, process and file: bytes read and written; the\n"
	       "             slowest I/O syscalls with their file, resolved from the fd\n"
	       "             (lttng-iousagetop, lttng-iolatencytop)\n"
	       "  cpu        CPU time per thread, process and CPU from sched_switch\n"
	       "             (lttng-cputop); wakeup latency per thread (sched_wakeup or\n"
	       "             sched_waking until the switch-in): min/average/max/p99\n"
	       "  fd         which file fd FD of process PID named: each interval [opened\n"
	       "             or first known, closed or the trace's end) with its file and\n"
	       "             how it was opened (the io analysis's fd model)\n"
	       "  phases     time in each syscall inside a thread's phases, from a userspace\n"
	       "             --begin event to its next --end event (the same event may be\n"
	       "             both), per group (the begin event's --by field): count,\n"
	       "             total, min, max per syscall; phases and their total time.\n"
	       "             Needs the userspace events' vtid context (reel add-context -u\n"
	       "             -t vtid) and the kernel syscalls (their tid context, reel\n"
	       "             add-context -k -t tid, or sched_switch)\n"
	       "\n"
	       "TRACE: a trace directory (its kernel trace; phases: its userspace traces\n"
	       "too), a rotated session (every\n"
	       "chunk of archives/ in order, then the chunk in progress), or chunks.\n"
	       "Chunks are analysed in parallel and the results merged: the same numbers\n"
	       "as one sequential pass.\n"
	       "\n"
	       "Options:\n"
	       "  -j, --jobs N     threads mapping chunks (default: the CPUs); with\n"
	       "                   --follow --engine: chunks sent to the workers at once\n"
	       "  --engine URL     map the chunks on `reel worker`s through the NATS\n"
	       "                   JetStream broker at URL (nats://HOST:PORT) instead of\n"
	       "                   local threads: the same result (doc/dist.md)\n"
	       "  --session NAME   with --engine: the chunks reeld announced for session\n"
	       "                   NAME (reel enable-rotation --publish URL), in order,\n"
	       "                   instead of (or before) TRACE arguments; with --follow,\n"
	       "                   the session followed\n"
	       "  --follow --engine URL  the chunks reeld announces at the broker for\n"
	       "                   --session NAME (default: the one session announcing\n"
	       "                   there): its latest run's, the oldest still announced\n"
	       "                   first, then each as it is announced, mapped by the\n"
	       "                   workers (which read the paths announced) and reduced\n"
	       "                   in order; the session created again starts the\n"
	       "                   result over; the report on SIGINT or SIGTERM (once\n"
	       "                   the chunks in progress are in; a second signal:\n"
	       "                   at once, no report, exit status 1)\n"
	       "  --follow OUTPUT  a rotating session's output directory: every chunk\n"
	       "                   archived and each new one as the daemon archives it,\n"
	       "                   reduced in order; the report on SIGINT or SIGTERM, or\n"
	       "                   when OUTPUT is removed. The chunks are found in OUTPUT\n"
	       "                   (with --engine too: the workers read them there, on\n"
	       "                   shared storage); with --engine each is mapped by a\n"
	       "                   worker, a chunk its workers gave up on counted as\n"
	       "                   failed (reel_chunks_failed_total)\n"
	       "  --metrics [ADDR:]PORT  with --follow: serve the current result as\n"
	       "                   Prometheus metrics at http://ADDR:PORT/metrics (ADDR\n"
	       "                   default 127.0.0.1; PORT 0: a free one, printed)\n"
	       "  --json           one JSON object (also the global --json)\n"
	       "  --sqlite FILE    also write the model as spans (threads, processes,\n"
	       "                   syscalls, fd intervals, phases) and the report's tables\n"
	       "                   to the SQLite database FILE (replaced; written whole or\n"
	       "                   not at all); schema: doc/analysis.md\n"
	       "  --quiet          no progress line on the terminal\n"
	       "  --limit N        io, cpu: at most N rows per table (default 10)\n"
	       "  --cpu-attribution  the thread of a syscall from sched_switch (as\n"
	       "                   LTTng-analyses), even where events carry a tid context\n"
	       "  --pid PID, --fd FD  fd: the process (thread group id) and its fd\n"
	       "  --at TIME        fd: only the interval containing TIME: an integer is\n"
	       "                   nanoseconds since the epoch (as --json prints times);\n"
	       "                   a number with a decimal point or a leading '+' is seconds\n"
	       "                   since the trace's first event (e.g. 1.5, +2)\n"
	       "  --begin, --end PROVIDER:EVENT  phases: the userspace events\n"
	       "  --by FIELD       phases: the begin event's field naming the group\n"
	       "  -h, --help       this text\n");
}

struct chunks {
	char **v;
	size_t n, cap;
};

static int push(struct chunks *c, const char *path)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n] = strdup(path);
	if (!c->v[c->n])
		return -ENOMEM;
	c->n++;
	return 0;
}

struct named {
	uint64_t index;
	char *name;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The chunks of one TRACE argument, in order: its kernel trace where it
 * has one (a session's output directory or a chunk), else itself. */
static int add_trace(struct chunks *c, const char *arg)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/archives", arg);
	DIR *d = opendir(p);
	if (d) {
		struct named *v = NULL;
		size_t n = 0;
		struct dirent *de;
		int r = 0;
		while (!r && (de = readdir(d))) {
			uint64_t idx;
			if (!chunk_name_index(de->d_name, &idx))
				continue;
			struct named *nv = realloc(v, (n + 1) * sizeof(*nv));
			if (!nv || !(nv[n].name = strdup(de->d_name))) {
				free(nv ? nv : v);
				v = NULL;
				r = -ENOMEM;
				break;
			}
			v = nv;
			v[n].index = idx;
			n++;
		}
		closedir(d);
		qsort(v, n, sizeof(*v), cmp_named);
		for (size_t i = 0; i < n; i++) {
			if (!r) {
				snprintf(p, sizeof(p), "%s/archives/%s/kernel", arg, v[i].name);
				if (chunk_has_metadata(p))
					r = push(c, p);
			}
			free(v[i].name);
		}
		free(v);
		if (r)
			return r;
	}
	snprintf(p, sizeof(p), "%s/kernel", arg);
	if (chunk_has_metadata(p))
		return push(c, p);
	if (!d || chunk_has_metadata(arg))
		return push(c, arg);
	return 0;
}

struct progress {
	struct an_progress *prog;
	size_t total_chunks;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *progress_thread(void *arg)
{
	struct progress *pg = arg;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&pg->lock);
	while (!pg->stop) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 200000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pg->cond, &pg->lock, &dl);
		if (pg->stop)
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double s = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		uint64_t ev = __atomic_load_n(&pg->prog->events, __ATOMIC_RELAXED);
		uint64_t ch = __atomic_load_n(&pg->prog->chunks, __ATOMIC_RELAXED);
		fprintf(stderr, "\r%" PRIu64 " events, %" PRIu64 "/%zu chunks, %.1f M events/s   ", ev, ch,
			pg->total_chunks, s > 0 ? (double)ev / s / 1e6 : 0.0);
	}
	pthread_mutex_unlock(&pg->lock);
	fputs("\r\033[K", stderr);
	return NULL;
}

/* --at: an integer: ns since the epoch (AN_AT_ABS); with a decimal point
 * or a leading '+': seconds since the trace's first event (AN_AT_REL),
 * to the nanosecond. */
static int parse_at(const char *s, int *mode, int64_t *ret)
{
	bool rel = *s == '+' || strchr(s, '.');
	if (*s == '+')
		s++;
	if (!rel) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || *end || end == s || v < 0)
			return -1;
		*mode = AN_AT_ABS;
		*ret = v;
		return 0;
	}
	int64_t sec = 0, ns = 0;
	int nd = 0, digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (sec > (INT64_MAX / 1000000000 - 9) / 10)
			return -1;
		sec = sec * 10 + (*s - '0');
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (nd < 9) {
				ns = ns * 10 + (*s - '0');
				nd++;
			}
	if (*s || !digits)
		return -1;
	for (; nd < 9; nd++)
		ns *= 10;
	*mode = AN_AT_REL;
	*ret = sec * 1000000000 + ns;
	return 0;
}

static int analyze_run(int argc, char **argv)
{
	enum {
		OPT_JSON = 256,
		OPT_QUIET,
		OPT_CUT,
		OPT_CPU,
		OPT_LIMIT,
		OPT_PID,
		OPT_FD,
		OPT_AT,
		OPT_BEGIN,
		OPT_END,
		OPT_BY,
		OPT_ENGINE,
		OPT_SESSION,
		OPT_SQLITE,
		OPT_FOLLOW,
		OPT_METRICS
	};
	static const struct option opts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, OPT_JSON},
		{"sqlite", required_argument, NULL, OPT_SQLITE},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"cpu-attribution", no_argument, NULL, OPT_CPU},
		{"pid", required_argument, NULL, OPT_PID},
		{"fd", required_argument, NULL, OPT_FD},
		{"at", required_argument, NULL, OPT_AT},
		{"begin", required_argument, NULL, OPT_BEGIN},
		{"end", required_argument, NULL, OPT_END},
		{"by", required_argument, NULL, OPT_BY},
		{"engine", required_argument, NULL, OPT_ENGINE},
		{"session", required_argument, NULL, OPT_SESSION},
		/* --follow OUTPUT: OUTPUT is the operand (or --follow=OUTPUT) */
		{"follow", optional_argument, NULL, OPT_FOLLOW},
		{"metrics", required_argument, NULL, OPT_METRICS},
		/* test mode (doc/analysis.md): one trace cut every N events */
		{"cut-every", required_argument, NULL, OPT_CUT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	bool json = cli_json, quiet = false;
	unsigned flags = 0;
	uint64_t cut = 0;
	unsigned limit = 10;
	int64_t pid = -1, fd = -1, at = 0;
	int at_mode = AN_AT_NONE;
	const char *pbegin = NULL, *pend = NULL, *pby = NULL, *engine_url = NULL, *session = NULL;
	const char *sqlite = NULL;
	const char *follow = NULL, *metrics = NULL;
	bool following = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'j':
			errno = 0;
			jobs = strtol(optarg, &end, 10);
			if (errno || *end || jobs < 1 || jobs > 1024)
				return cli_usage_error("analyze", "bad -j value '%s'", optarg);
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_SQLITE:
			if (!*optarg)
				return cli_usage_error("analyze", "empty --sqlite");
			sqlite = optarg;
			break;
		case OPT_LIMIT: {
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > 1000000)
				return cli_usage_error("analyze", "bad --limit value '%s'", optarg);
			limit = (unsigned)v;
			break;
		}
		case OPT_CPU:
			flags |= AN_CPU_ATTRIBUTION;
			break;
		case OPT_PID:
		case OPT_FD: {
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > INT32_MAX)
				return cli_usage_error("analyze", "bad --%s value '%s'", c == OPT_PID ? "pid" : "fd",
						       optarg);
			*(c == OPT_PID ? &pid : &fd) = v;
			break;
		}
		case OPT_AT:
			if (parse_at(optarg, &at_mode, &at))
				return cli_usage_error("analyze", "bad --at value '%s' (ns since the epoch, or seconds.decimals since the trace's start)",
						       optarg);
			break;
		case OPT_BEGIN:
		case OPT_END:
			if (!strchr(optarg, ':') || strchr(optarg, ','))
				return cli_usage_error("analyze", "bad --%s value '%s' (PROVIDER:EVENT)",
						       c == OPT_BEGIN ? "begin" : "end", optarg);
			*(c == OPT_BEGIN ? &pbegin : &pend) = optarg;
			break;
		case OPT_FOLLOW:
			following = true;
			follow = optarg;
			break;
		case OPT_METRICS:
			if (!*optarg)
				return cli_usage_error("analyze", "empty --metrics ([ADDR:]PORT)");
			metrics = optarg;
			break;
		case OPT_BY:
			if (!*optarg)
				return cli_usage_error("analyze", "empty --by");
			pby = optarg;
			break;
		case OPT_ENGINE:
			if (!*optarg)
				return cli_usage_error("analyze", "empty --engine (nats://HOST:PORT)");
			engine_url = optarg;
			break;
		case OPT_SESSION:
			/* no session has an empty name: it would be waited for forever */
			if (!*optarg)
				return cli_usage_error("analyze", "empty --session");
			session = optarg;
			break;
		case OPT_CUT: {
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || v < 1 || optarg[0] == '-')
				return cli_usage_error("analyze", "bad --cut-every value '%s'", optarg);
			cut = v;
			break;
		}
		case 'h':
			analyze_help();
			return 0;
		default:
			return cli_bad_option("analyze", c, argc, argv, opts);
		}
	}
	/* getopt_long permutes: options may come anywhere */
	if (optind >= argc)
		return cli_usage_error("analyze", "which analysis? (syscalls, io, cpu, fd, phases)");
	const char *what = argv[optind++];
	bool io = !strcmp(what, "io"), cpu = !strcmp(what, "cpu"), fdh = !strcmp(what, "fd");
	bool ph = !strcmp(what, "phases");
	if (strcmp(what, "syscalls") && !io && !cpu && !fdh && !ph)
		return cli_usage_error("analyze", "unknown analysis '%s' (syscalls, io, cpu, fd, phases)", what);
	if (ph && (!pbegin || !pend))
		return cli_usage_error("analyze", "phases needs --begin PROVIDER:EVENT and --end PROVIDER:EVENT");
	if (!ph && (pbegin || pend || pby))
		return cli_usage_error("analyze", "--begin, --end and --by are options of 'reel analyze phases'");
	if (ph)
		flags |= AN_IO | AN_PHASES;
	if (fdh && (pid < 0 || fd < 0))
		return cli_usage_error("analyze", "fd needs --pid PID and --fd FD");
	if (!fdh && (pid >= 0 || fd >= 0 || at_mode != AN_AT_NONE))
		return cli_usage_error("analyze", "--pid, --fd and --at are options of 'reel analyze fd'");
	if (io || fdh)
		flags |= AN_IO;
	if (cpu)
		flags |= AN_CPU;
	if (session && !engine_url)
		return cli_usage_error("analyze", "--session NAME needs --engine URL (the broker it announces to)");
	if (following && !follow && optind < argc)
		follow = argv[optind++];
	if (follow && !*follow)
		return cli_usage_error("analyze", "empty --follow OUTPUT");
	if (follow && session)
		return cli_usage_error("analyze", "--follow OUTPUT finds the chunks in the session's output directory; --session follows the broker's announcements (--follow --engine URL --session NAME)");
	if (following && !follow && !engine_url)
		return cli_usage_error("analyze", "--follow needs the session's output directory (--follow OUTPUT), or the broker reeld announces the chunks at (--follow --engine URL, reel enable-rotation --publish URL)");
	if (metrics && !following)
		return cli_usage_error("analyze", "--metrics goes with --follow");
	if (following && optind < argc)
		return cli_usage_error("analyze", "--follow takes one output directory: no TRACE ('%s')",
				       argv[optind]);
	if (following && cut)
		return cli_usage_error("analyze", "--cut-every does not go with --follow");
	if (!following && optind >= argc && !session)
		return cli_usage_error("analyze", "no trace given");
	if (engine_url && cut)
		return cli_usage_error("analyze", "--cut-every is local only (not with --engine)");

	int status = 1;
	struct chunks ch = {0};
	struct an_names *names = an_names_new();
	struct an_partial *res = NULL;
	struct an_progress prog = {0};
	struct dist_engine *engine = NULL;
	struct an_sqlite *db = NULL;
	char err[1024] = "";
	if (!names || (ph && an_names_set_phases(names, pbegin, pend, pby))) {
		cli_error("analyze", "out of memory");
		goto out;
	}
	/* the database's place first: an unwritable one fails before the analysis */
	if (sqlite && !(db = an_sqlite_open(sqlite, err, sizeof(err)))) {
		cli_error("analyze", "%s", err);
		goto out;
	}
	if (following) {
		if (analyze_follow(follow, session, (unsigned)jobs, engine_url, flags, names, metrics,
				   quiet, &res, &ch.v, &ch.n))
			goto out;
		ch.cap = ch.n;
		if (!res && !(res = an_partial_new(names, flags))) {
			cli_error("analyze", "out of memory");
			goto out;
		}
		goto report;
	}
	if (session) {
		char **paths = NULL;
		size_t np = 0;
		if (dist_session_chunks(engine_url, session, &paths, &np, err, sizeof(err))) {
			cli_error("analyze", "%s", err);
			goto out;
		}
		int pr = 0;
		for (size_t i = 0; i < np; i++) {
			struct stat st;
			if (stat(paths[i], &st) && errno == ENOENT)
				/* the retention's, while its announcement was going */
				fprintf(stderr, "reel analyze: %s: announced, but removed since: skipped\n",
					paths[i]);
			else if (!pr && add_trace(&ch, paths[i]))
				pr = -ENOMEM;
			free(paths[i]);
		}
		free(paths);
		if (pr) {
			cli_error("analyze", "out of memory");
			goto out;
		}
		if (!np && optind >= argc) {
			char shown[1024];
			dist_url_display(engine_url, shown, sizeof(shown));
			cli_error("analyze",
				  "no chunk announced for session '%s' at %s (reel enable-rotation "
				  "--publish)",
				  session, shown);
			goto out;
		}
	}
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			cli_error("analyze", "%s: not a trace directory", argv[i]);
			goto out;
		}
		if (add_trace(&ch, argv[i])) {
			cli_error("analyze", "out of memory");
			goto out;
		}
	}
	engine = engine_url ? dist_engine_nats(engine_url, err, sizeof(err)) : dist_engine_local((unsigned)jobs);
	if (!engine) {
		cli_error("analyze", "%s", err[0] ? err : "out of memory");
		goto out;
	}
	struct progress pg = {.prog = &prog, .total_chunks = ch.n};
	pthread_t pt;
	bool progress = !quiet && isatty(STDERR_FILENO);
	if (progress) {
		pthread_mutex_init(&pg.lock, NULL);
		pthread_cond_init(&pg.cond, NULL);
		if (pthread_create(&pt, NULL, progress_thread, &pg))
			progress = false;
	}
	int r;
	if (cut)
		r = an_map_cut(ch.v, ch.n, cut, names, flags, &prog, &res, err, sizeof(err));
	else
		r = dist_engine_run(engine,
				    &(struct dist_job){.flags = flags, .begin = pbegin, .end = pend, .by = pby,
						       .chunks = ch.v, .n = ch.n},
				    names, &prog, &res, err, sizeof(err));
	if (progress) {
		pthread_mutex_lock(&pg.lock);
		pg.stop = 1;
		pthread_cond_signal(&pg.cond);
		pthread_mutex_unlock(&pg.lock);
		pthread_join(pt, NULL);
	}
	if (r) {
		cli_error("analyze", "%s", err[0] ? err : strerror(-r));
		goto out;
	}
report:
	if ((ph    ? an_report_phases(res, stdout, json) :
	     fdh   ? an_report_fd(res, stdout, json, pid, fd, at_mode, at) :
	     io    ? an_report_io(res, stdout, json, limit) :
	     cpu   ? an_report_cpu(res, stdout, json, limit) :
		     an_report_syscalls(res, stdout, json)) ||
	    fflush(stdout)) {
		cli_error("analyze", "writing the report: %s", strerror(errno));
		goto out;
	}
	if (!json && an_partial_lost_events(res))
		fprintf(stderr, "Warning: %" PRIu64 " events were lost: the results marked (uncertain) may be incomplete\n",
			an_partial_lost_events(res));
	if (db) {
		/* what was followed: the output directory, or the broker
		 * (without its password: the database is shared) */
		char shown[1024] = "";
		if (following && !follow)
			dist_url_display(engine_url, shown, sizeof(shown));
		char *follow_path[] = {follow ? (char *)follow : shown};
		const struct an_sqlite_meta m = {.analysis = what,
						 .version = REEL_VERSION,
						 .paths = following ? follow_path : argv + optind,
						 .npaths = following ? 1 : (size_t)(argc - optind),
						 .chunks = ch.v,
						 .nchunks = ch.n};
		if (an_sqlite_write(db, res, &m, err, sizeof(err))) {
			cli_error("analyze", "%s", err);
			goto out;
		}
	}
	status = 0;
out:
	dist_engine_destroy(engine);
	an_sqlite_destroy(db);
	an_partial_destroy(res);
	an_names_destroy(names);
	for (size_t i = 0; i < ch.n; i++)
		free(ch.v[i]);
	free(ch.v);
	return status;
}

const struct cli_command cli_cmd_analyze = {
	.name = "analyze",
	.summary = "answers from kernel traces: syscall statistics, I/O usage, CPU usage, fd history, phases, chunk-parallel",
	.run = analyze_run,
	.help = analyze_help,
};
