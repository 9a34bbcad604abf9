/* SPDX-License-Identifier: MIT */
/*
 * reel view: print the events of CTF traces (babeltrace2's text by
 * default), as JSON lines or Chrome Trace Event JSON, or a summary
 * (--stats). Reads through libreel-reader only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "reel/reader.h"

static void view_help(void)
{
	printf("Usage: reel view [OPTIONS] TRACE...\n"
	       "\n"
	       "Print the events of the CTF traces under each TRACE directory, merged in\n"
	       "time order (rotated chunks included), as babeltrace2 prints them.\n"
	       "\n"
	       "Options:\n"
	       "  --names GLOB[,GLOB]   only events whose name matches a glob\n"
	       "  --filter EXPR         only events for which EXPR holds, e.g.\n"
	       "                        'tid == 42 && name =~ \"foo*\"' (fields, contexts, name;\n"
	       "                        == != < <= > >= =~ !~ && || ! and parentheses)\n"
	       "  --begin TIME          only events at or after TIME\n"
	       "  --end TIME            only events at or before TIME\n"
	       "                        TIME: seconds from the epoch (1700000000.5), or\n"
	       "                        'YYYY-MM-DD HH:MM:SS[.NS]' in local time\n"
	       "  --clock-seconds       timestamps as seconds.nanoseconds\n"
	       "  --clock-gmt           timestamps in UTC rather than local time\n"
	       "  --no-delta            no (+delta) column\n"
	       "  --fields              payload fields only (no contexts)\n"
	       "  --format FMT          text (default), json (JSON lines), or perfetto\n"
	       "                        (Chrome Trace Event JSON for ui.perfetto.dev)\n"
	       "  --stats               event counts per name, time range, streams,\n"
	       "                        discarded events (JSON with the global --json)\n"
	       "  --full-decode         with --stats: keep every field's value, as printing\n"
	       "                        does (--stats only checks the bounds of fields\n"
	       "                        nothing depends on)\n"
	       "  --threads N           threads in all: one reads, N - 1 format (default:\n"
	       "                        1); with --stats, N decode packets (default: the\n"
	       "                        CPUs)\n"
	       "  -h, --help            this text\n");
}

static int parse_time(const char *s, int64_t *ret)
{
	char *end;
	errno = 0;
	/* seconds from the epoch, with an optional fraction */
	if ((*s >= '0' && *s <= '9') || *s == '-') {
		long long sec = strtoll(s, &end, 10);
		if (!errno && (*end == 0 || *end == '.')) {
			int64_t ns = 0;
			if (*end == '.') {
				const char *f = end + 1;
				int n = 0;
				for (; *f >= '0' && *f <= '9'; f++, n++)
					if (n < 9)
						ns = ns * 10 + (*f - '0');
				if (*f)
					goto datetime;
				for (; n < 9; n++)
					ns *= 10;
			}
			int64_t v;
			if (__builtin_mul_overflow((int64_t)sec, INT64_C(1000000000), &v) ||
			    __builtin_add_overflow(v, sec < 0 ? -ns : ns, &v))
				return -ERANGE;
			*ret = v;
			return 0;
		}
	}
datetime:;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	int64_t ns = 0;
	if (*p == '.') {
		int n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 9)
				ns = ns * 10 + (*p - '0');
		for (; n < 9; n++)
			ns *= 10;
	}
	if (*p)
		return -EINVAL;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (int64_t)t * 1000000000 + ns;
	return 0;
}

static void fmt_time(char *buf, size_t n, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	if (ns >= 0 && localtime_r(&t, &tm))
		snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d.%09lld", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(ns % 1000000000));
	else
		snprintf(buf, n, "%lld.%09lld", (long long)(ns / 1000000000),
			 (long long)llabs(ns % 1000000000));
}

static void on_discarded(void *arg, const char *what, uint64_t count, bool has_range, int64_t begin_ns,
			 int64_t end_ns, const char *trace_path, const char *stream_path)
{
	(void)arg;
	(void)trace_path;
	if (has_range) {
		char b[64], e[64];
		fmt_time(b, sizeof(b), begin_ns);
		fmt_time(e, sizeof(e), end_ns);
		fprintf(stderr, "reel view: warning: tracer discarded %" PRIu64 " %s between [%s] and [%s] "
			"in stream %s\n", count, what, b, e, stream_path);
	} else {
		fprintf(stderr, "reel view: warning: tracer discarded %" PRIu64 " %s in stream %s\n",
			count, what, stream_path);
	}
}

/* ---- --stats ------------------------------------------------------------------ */

struct name_count {
	const char *name;
	uint64_t count;
};

struct stats {
	struct name_count *v; /* open addressing on the name pointer */
	struct name_count *recent; /* the last one counted */
	size_t cap, n;
	uint64_t total;
	bool has_ts;
	int64_t first, last;
};

static int stats_add_n(struct stats *st, const char *name, uint64_t n)
{
	if (st->recent && st->recent->name == name) {
		st->recent->count += n;
		return 0;
	}
	if (st->n * 2 >= st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		struct name_count *nv = calloc(cap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		for (size_t i = 0; i < st->cap; i++) {
			if (!st->v[i].count)
				continue;
			size_t h = ((uintptr_t)st->v[i].name >> 4) * 0x9E3779B97F4A7C15ull % cap;
			while (nv[h].count)
				h = (h + 1) % cap;
			nv[h] = st->v[i];
		}
		free(st->v);
		st->v = nv;
		st->cap = cap;
		st->recent = NULL;
	}
	size_t h = ((uintptr_t)name >> 4) * 0x9E3779B97F4A7C15ull % st->cap;
	while (st->v[h].count && st->v[h].name != name)
		h = (h + 1) % st->cap;
	if (!st->v[h].count) {
		st->v[h].name = name;
		st->n++;
	}
	st->v[h].count += n;
	st->recent = &st->v[h];
	return 0;
}

static int stats_add(struct stats *st, const char *name)
{
	return stats_add_n(st, name, 1);
}

static int cmp_name(const void *a, const void *b)
{
	const struct name_count *x = a, *y = b;
	const char *xn = x->name ? x->name : "", *yn = y->name ? y->name : "";
	return strcmp(xn, yn);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int print_stats(struct reel_reader *r, struct stats *st)
{
	/* merge counts of equal names (several traces) */
	size_t n = 0;
	for (size_t i = 0; i < st->cap; i++)
		if (st->v[i].count)
			st->v[n++] = st->v[i];
	qsort(st->v, n, sizeof(*st->v), cmp_name);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const char *a = st->v[i].name ? st->v[i].name : "<unknown>";
		if (m && !strcmp(a, st->v[m - 1].name)) {
			st->v[m - 1].count += st->v[i].count;
			continue;
		}
		st->v[m] = st->v[i];
		st->v[m].name = a;
		m++;
	}
	uint64_t disc = 0, lost = 0;
	size_t ns = reel_reader_stream_count(r);
	for (size_t i = 0; i < ns; i++) {
		struct reel_stream_stats ss;
		if (!reel_reader_stream_stats(r, i, &ss)) {
			disc += ss.discarded;
			lost += ss.lost_packets;
		}
	}
	char b[64], e[64];
	if (st->has_ts) {
		fmt_time(b, sizeof(b), st->first);
		fmt_time(e, sizeof(e), st->last);
	}
	if (cli_json) {
		printf("{\"traces\":%zu,\"streams\":%zu,\"events\":%" PRIu64, reel_reader_trace_count(r), ns,
		       st->total);
		if (st->has_ts)
			printf(",\"begin_ns\":%" PRId64 ",\"end_ns\":%" PRId64 ",\"begin\":\"%s\",\"end\":\"%s\"",
			       st->first, st->last, b, e);
		printf(",\"discarded_events\":%" PRIu64 ",\"lost_packets\":%" PRIu64 ",\"names\":{", disc, lost);
		for (size_t i = 0; i < m; i++) {
			if (i)
				putchar(',');
			json_str(st->v[i].name);
			printf(":%" PRIu64, st->v[i].count);
		}
		printf("},\"stream_list\":[");
		for (size_t i = 0; i < ns; i++) {
			struct reel_stream_stats ss;
			if (reel_reader_stream_stats(r, i, &ss))
				continue;
			if (i)
				putchar(',');
			printf("{\"path\":");
			json_str(ss.path);
			printf(",\"events\":%" PRIu64 ",\"discarded_events\":%" PRIu64 ",\"lost_packets\":%" PRIu64 "}",
			       ss.events, ss.discarded, ss.lost_packets);
		}
		printf("]}\n");
		return 0;
	}
	printf("Traces: %zu, streams: %zu, events: %" PRIu64 "\n", reel_reader_trace_count(r), ns, st->total);
	if (st->has_ts)
		printf("Time range: [%s] to [%s] (%" PRId64 ".%09" PRId64 " s)\n", b, e,
		       (st->last - st->first) / 1000000000, (st->last - st->first) % 1000000000);
	printf("Discarded events: %" PRIu64 ", lost packets: %" PRIu64 "\n", disc, lost);
	printf("\n%12s  %s\n", "COUNT", "EVENT");
	for (size_t i = 0; i < m; i++)
		printf("%12" PRIu64 "  %s\n", st->v[i].count, st->v[i].name);
	printf("\n%12s  %12s  %s\n", "EVENTS", "DISCARDED", "STREAM");
	for (size_t i = 0; i < ns; i++) {
		struct reel_stream_stats ss;
		if (!reel_reader_stream_stats(r, i, &ss))
			printf("%12" PRIu64 "  %12" PRIu64 "  %s\n", ss.events, ss.discarded, ss.path);
	}
	return 0;
}

/* ---- main ---------------------------------------------------------------------- */

enum {
	OPT_NAMES = 256, OPT_FILTER, OPT_BEGIN, OPT_END, OPT_CLOCK_SECONDS, OPT_CLOCK_GMT, OPT_NO_DELTA,
	OPT_FIELDS, OPT_FORMAT, OPT_STATS, OPT_JSON, OPT_FULL_DECODE, OPT_THREADS,
};

static int view_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "names", required_argument, NULL, OPT_NAMES },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "begin", required_argument, NULL, OPT_BEGIN },
		{ "end", required_argument, NULL, OPT_END },
		{ "clock-seconds", no_argument, NULL, OPT_CLOCK_SECONDS },
		{ "clock-gmt", no_argument, NULL, OPT_CLOCK_GMT },
		{ "no-delta", no_argument, NULL, OPT_NO_DELTA },
		{ "fields", no_argument, NULL, OPT_FIELDS },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "full-decode", no_argument, NULL, OPT_FULL_DECODE },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *names = NULL, *filter = NULL;
	int64_t begin = INT64_MIN, end = INT64_MAX;
	bool has_range = false, stats = false, format_set = false, full_decode = false;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = ncpu > 0 ? (unsigned)ncpu : 1;
	bool threads_set = false;
	unsigned flags = 0;
	enum reel_format fmt = REEL_FORMAT_TEXT;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NAMES: names = optarg; break;
		case OPT_FILTER: filter = optarg; break;
		case OPT_BEGIN:
		case OPT_END: {
			int64_t t;
			if (parse_time(optarg, &t))
				return cli_usage_error("view", "invalid time '%s'", optarg);
			if (c == OPT_BEGIN)
				begin = t;
			else
				end = t;
			has_range = true;
			break;
		}
		case OPT_CLOCK_SECONDS: flags |= REEL_TEXT_CLOCK_SECONDS; break;
		case OPT_CLOCK_GMT: flags |= REEL_TEXT_GMT; break;
		case OPT_NO_DELTA: flags |= REEL_TEXT_NO_DELTA; break;
		case OPT_FIELDS: flags |= REEL_TEXT_FIELD_NAMES_ONLY_PAYLOAD; break;
		case OPT_FORMAT:
			format_set = true;
			if (!strcmp(optarg, "text"))
				fmt = REEL_FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = REEL_FORMAT_JSON;
			else if (!strcmp(optarg, "perfetto") || !strcmp(optarg, "chrome"))
				fmt = REEL_FORMAT_PERFETTO;
			else
				return cli_usage_error("view", "unknown format '%s'", optarg);
			break;
		case OPT_STATS: stats = true; break;
		case OPT_FULL_DECODE: full_decode = true; break;
		case OPT_THREADS: {
			char *rest;
			unsigned long n = strtoul(optarg, &rest, 10);
			if (*rest || n < 1 || n > 64)
				return cli_usage_error("view", "invalid thread count '%s'", optarg);
			threads = (unsigned)n;
			threads_set = true;
			break;
		}
		case OPT_JSON: cli_json = true; break;
		case 'h': view_help(); return 0;
		default:
			return cli_usage_error("view", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("view", "no trace given");
	if (cli_json && !format_set && !stats)
		fmt = REEL_FORMAT_JSON;

	struct reel_reader *r = reel_reader_new();
	if (!r)
		return cli_error("view", "out of memory");
	int status = 1;
	struct stats st = { 0 };
	reel_reader_on_discarded(r, on_discarded, NULL);
	for (int i = optind; i < argc; i++) {
		int n = reel_reader_add_path(r, argv[i]);
		if (n < 0) {
			cli_error("view", "%s", reel_reader_error(r));
			goto out;
		}
		if (n == 0) {
			cli_error("view", "%s: no CTF trace found", argv[i]);
			goto out;
		}
	}
	if (names && reel_reader_set_names(r, names)) {
		cli_error("view", "%s", reel_reader_error(r));
		goto out;
	}
	if (filter && reel_reader_set_filter(r, filter)) {
		status = cli_usage_error("view", "%s", reel_reader_error(r));
		goto out;
	}
	if (has_range)
		reel_reader_set_range(r, begin, end);
	if (stats && !full_decode && !names && !filter && !has_range) {
		/* every event counted, in parallel, without the merge */
		if (reel_reader_summarize(r, threads)) {
			cli_error("view", "%s", reel_reader_error(r));
			goto out;
		}
		const char *cname;
		uint64_t count;
		for (size_t i = 0; reel_reader_class_stats(r, i, &cname, &count) == 0; i++) {
			if (!count)
				continue;
			st.total += count;
			if (stats_add_n(&st, cname, count)) {
				cli_error("view", "out of memory");
				goto out;
			}
		}
		st.has_ts = reel_reader_time_range(r, &st.first, &st.last) == 0;
		print_stats(r, &st);
		status = 0;
		goto out;
	}
	if (stats && !full_decode)
		reel_reader_set_values(r, false);
	if (!stats) {
		/* N threads in all: this one reads, N - 1 format. One by default:
		 * formatting threads win only with idle CPUs (doc/benchmarks.md). */
		int fe = reel_reader_format(r, fmt, flags, stdout, threads_set ? threads - 1 : 0);
		if (fe == -EIO) {
			cli_error("view", "write error");
			goto out;
		}
		if (fe) {
			cli_error("view", "%s", fe == -ENOMEM ? "out of memory" : reel_reader_error(r));
			goto out;
		}
		status = 0;
		goto out;
	}
	const struct reel_event *ev;
	int e;
	while ((e = reel_reader_next(r, &ev)) == 1) {
		st.total++;
		if (stats_add(&st, reel_event_name(ev))) {
			cli_error("view", "out of memory");
			goto out;
		}
	}
	if (e < 0) {
		cli_error("view", "%s", reel_reader_error(r));
		goto out;
	}
	if (stats) {
		st.has_ts = reel_reader_time_range(r, &st.first, &st.last) == 0;
		print_stats(r, &st);
	}
	status = 0;
out:
	free(st.v);
	reel_reader_destroy(r);
	return status;
}

const struct cli_command cli_cmd_view = {
	.name = "view",
	.summary = "print the events of CTF traces (babeltrace2's text, JSON, Perfetto)",
	.run = view_run,
	.help = view_help,
};
