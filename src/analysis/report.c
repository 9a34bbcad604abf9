/* SPDX-License-Identifier: MIT */
/*
 * Reports of a reduced partial: `reel analyze syscalls` as text (the layout
 * of lttng-syscallstats) or one JSON object. Rows are sorted (count, then
 * tid or name) so that equal results print equal text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

struct row_thread {
	const struct an_thread *t;
	uint64_t total;
	const struct an_stat **stats;
	size_t n;
};

static int cmp_stat(const void *a, const void *b, void *names)
{
	const struct an_stat *x = *(const struct an_stat *const *)a, *y = *(const struct an_stat *const *)b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(an_names_get(names, x->name), an_names_get(names, y->name));
}

static int cmp_thread(const void *a, const void *b)
{
	const struct row_thread *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->t->tid < y->t->tid ? -1 : x->t->tid > y->t->tid;
}

/* Threads with counted syscalls, each with its stats, sorted. */
static struct row_thread *collect(const struct an_partial *p, size_t *ret_n, const struct an_stat ***ret_base)
{
	struct row_thread *rows = calloc(p->threads.n + 1, sizeof(*rows));
	const struct an_stat **all = calloc(p->stats.n + 1, sizeof(*all));
	if (!rows || !all) {
		free(rows);
		free(all);
		return NULL;
	}
	/* group stats by thread: sort pointers by tid */
	for (uint32_t i = 0; i < p->stats.n; i++)
		all[i] = an_tab_at(&p->stats, i);
	size_t n = 0;
	for (uint32_t i = 0; i < p->threads.n; i++) {
		const struct an_thread *t = an_tab_at(&p->threads, i);
		if (t->emitted)
			rows[n++].t = t;
	}
	/* one pass: count per row, then slices of `all` */
	size_t off = 0;
	const struct an_stat **sorted = calloc(p->stats.n + 1, sizeof(*sorted));
	if (!sorted) {
		free(rows);
		free(all);
		return NULL;
	}
	for (size_t k = 0; k < n; k++) {
		rows[k].stats = sorted + off;
		for (uint32_t i = 0; i < p->stats.n; i++)
			if (all[i]->tid == rows[k].t->tid) {
				sorted[off++] = all[i];
				rows[k].n++;
				rows[k].total += all[i]->count;
			}
		qsort_r(rows[k].stats, rows[k].n, sizeof(*rows[k].stats), cmp_stat, p->names);
	}
	free(all);
	qsort(rows, n, sizeof(*rows), cmp_thread);
	*ret_n = n;
	*ret_base = sorted;
	return rows;
}

const char *an_errno_name(int64_t ret, char *buf, size_t len)
{
	const char *s = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
	if (s)
		return s;
	snprintf(buf, len, "%" PRId64, ret);
	return buf;
}

size_t an_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n = 0;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)))
		return 0;
	if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

void an_json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	while (*s) {
		unsigned char c = *s;
		size_t n = c < 0x80 ? 1 : an_utf8_len(s);
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (n)
			fwrite(s, 1, n, f);
		else
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
		s += n ? n : 1;
	}
	fputc('"', f);
}

static int cmp_err(const void *a, const void *b)
{
	const struct an_err *x = a, *y = b;
	return x->ret > y->ret ? -1 : x->ret < y->ret;
}

/* The errors of a stat, sorted (-1 first): the same text whatever order the
 * merges met them in. */
static void sort_errs(const struct an_stat *st)
{
	if (st->nerrs > 1)
		qsort(st->errs, st->nerrs, sizeof(*st->errs), cmp_err);
}

static void row(FILE *out, const char *a, const char *b, const char *c, const char *d,
		const char *e, const char *sd, const char *f, const char *g, const char *h)
{
	fprintf(out, "%-38s %14s %14s %14s %14s %14s %14s %14s  %s\n", a, b, c, d, e, sd, f, g, h);
}

int an_report_syscalls(const struct an_partial *p, FILE *out, bool json)
{
	size_t n = 0;
	const struct an_stat **base = NULL;
	struct row_thread *rows = collect(p, &n, &base);
	if (!rows)
		return -ENOMEM;
	uint64_t total = 0;
	bool uncertain = p->lost > 0;
	for (size_t k = 0; k < n; k++) {
		total += rows[k].total;
		uncertain |= rows[k].t->uncertain;
	}
	char eb[32];
	if (json) {
		fprintf(out, "{\"analysis\":\"syscalls\",\"events\":%" PRIu64 ",\"chunks\":%" PRIu64
			     ",\"lost_events\":%" PRIu64 ",\"uncertain\":%s,",
			p->events, p->chunks, p->lost, uncertain ? "true" : "false");
		if (p->has_range)
			fprintf(out, "\"begin_ns\":%" PRId64 ",\"end_ns\":%" PRId64 ",", p->first_ts, p->last_ts);
		fprintf(out, "\"total\":%" PRIu64 ",\"threads\":[", total);
		for (size_t k = 0; k < n; k++) {
			const struct an_thread *t = rows[k].t;
			const struct an_snap *s = &t->first_emit;
			fprintf(out, "%s{\"tid\":%" PRId64 ",\"pid\":", k ? "," : "", t->tid);
			if (s->pid_known)
				fprintf(out, "%" PRId64, s->pid);
			else
				fputs("null", out);
			fputs(",\"comm\":", out);
			an_json_str(out, s->comm_known ? s->comm : "");
			fprintf(out, ",\"uncertain\":%s,\"count\":%" PRIu64 ",\"syscalls\":[",
				t->uncertain ? "true" : "false", rows[k].total);
			for (size_t i = 0; i < rows[k].n; i++) {
				const struct an_stat *st = rows[k].stats[i];
				sort_errs(st);
				fprintf(out, "%s{\"name\":", i ? "," : "");
				an_json_str(out, an_names_get(p->names, st->name));
				fprintf(out,
					",\"count\":%" PRIu64 ",\"errors\":%" PRIu64
					",\"min_ns\":%" PRId64 ",\"max_ns\":%" PRId64
					",\"sum_ns\":%" PRId64 ",\"avg_ns\":%.3f"
					",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
					",\"stdev_ns\":",
					st->count, st->errors, st->min, st->max, st->sum,
					(double)st->sum / (double)st->count,
					an_hist_quantile(&st->hist, st->count, 0.5,
							 (uint64_t)st->min, (uint64_t)st->max),
					an_hist_quantile(&st->hist, st->count, 0.99,
							 (uint64_t)st->min, (uint64_t)st->max));
				/* %.17g: read back as the same double */
				double sd;
				if (an_stat_stdev(st, &sd) == 0)
					fprintf(out, "%.17g", sd);
				else
					fputs("null", out);
				fputs(",\"errno\":{", out);
				for (uint32_t e = 0; e < st->nerrs; e++) {
					fprintf(out, "%s", e ? "," : "");
					an_json_str(out,
						 an_errno_name(st->errs[e].ret, eb, sizeof(eb)));
					fprintf(out, ":%" PRIu64, st->errs[e].count);
				}
				fputs("}}", out);
			}
			fputs("]}", out);
		}
		fputs("]}\n", out);
	} else {
		if (p->lost)
			fprintf(out, "Warning: %" PRIu64 " events lost: the threads marked (uncertain) may miss syscalls\n",
				p->lost);
		fputs("Per-TID syscalls statistics (usec)\n", out);
		for (size_t k = 0; k < n; k++) {
			const struct an_thread *t = rows[k].t;
			const struct an_snap *s = &t->first_emit;
			char title[128], pid[24];
			if (s->pid_known)
				snprintf(pid, sizeof(pid), "%" PRId64, s->pid);
			else
				snprintf(pid, sizeof(pid), "?");
			snprintf(title, sizeof(title), "%s (%s, TID: %" PRId64 ")%s", s->comm_known ? s->comm : "",
				 pid, t->tid, t->uncertain ? " (uncertain)" : "");
			row(out, title, "Count", "Min", "Average", "Max", "Stdev", "P50", "P99",
			    "Errors");
			for (size_t i = 0; i < rows[k].n; i++) {
				const struct an_stat *st = rows[k].stats[i];
				sort_errs(st);
				char name[64], c[24], mn[24], av[24], mx[24], sd[32], p50[24],
					p99[24], errs[256];
				snprintf(name, sizeof(name), " - %s", an_names_get(p->names, st->name));
				snprintf(c, sizeof(c), "%" PRIu64, st->count);
				snprintf(mn, sizeof(mn), "%.3f", (double)st->min / 1e3);
				snprintf(av, sizeof(av), "%.3f", (double)st->sum / (double)st->count / 1e3);
				snprintf(mx, sizeof(mx), "%.3f", (double)st->max / 1e3);
				/* lttng-syscallstats: round(stdev_ns / 1000, 3), '?' for
				 * two calls or fewer */
				double sdv;
				if (an_stat_stdev(st, &sdv) == 0)
					snprintf(sd, sizeof(sd), "%.3f", sdv / 1e3);
				else
					snprintf(sd, sizeof(sd), "?");
				snprintf(p50, sizeof(p50), "%.3f",
					 (double)an_hist_quantile(&st->hist, st->count, 0.5, (uint64_t)st->min,
								  (uint64_t)st->max) / 1e3);
				snprintf(p99, sizeof(p99), "%.3f",
					 (double)an_hist_quantile(&st->hist, st->count, 0.99, (uint64_t)st->min,
								  (uint64_t)st->max) / 1e3);
				size_t off = 0;
				errs[0] = 0;
				for (uint32_t e = 0; e < st->nerrs && off < sizeof(errs) - 1; e++) {
					int w = snprintf(
						errs + off, sizeof(errs) - off, "%s%s: %" PRIu64,
						e ? ", " : "",
						an_errno_name(st->errs[e].ret, eb, sizeof(eb)),
						st->errs[e].count);
					if (w < 0)
						break;
					off += (size_t)w;
				}
				row(out, name, c, mn, av, mx, sd, p50, p99, errs);
			}
			char tot[24];
			snprintf(tot, sizeof(tot), "%" PRIu64, rows[k].total);
			row(out, "Total:", tot, "", "", "", "", "", "", "");
			fputs("--------------------------------------------------------------------"
			      "-----------"
			      "-------------------------------------------------------------------"
			      "\n",
			      out);
		}
		fprintf(out, "\nTotal syscalls: %" PRIu64 "\n", total);
	}
	free((void *)base);
	free(rows);
	return ferror(out) ? -EIO : 0;
}
