/* SPDX-License-Identifier: MIT */
/*
 * A reduced partial as Prometheus metrics: the text exposition format,
 * version 0.0.4 (HELP and TYPE lines, escaped label values, cumulative
 * histograms). The names, labels and units: doc/metrics.md.
 *
 * Owns the exposition; calls the analyses' visitors (analysis-local.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

/* The histogram's upper bounds, ns (the le labels in seconds). */
static const uint64_t le_ns[] = {
	1000,	 5000,	  10000,    50000,    100000,	 500000,
	1000000, 5000000, 10000000, 50000000, 100000000, 1000000000,
};
#define NLE (sizeof(le_ns) / sizeof(le_ns[0]))

/* A label value: \ " and newline escaped; bytes that are not UTF-8 become
 * U+FFFD (the format is UTF-8). */
static void label(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		unsigned char c = *u;
		if (c == '\\' || c == '"') {
			fputc('\\', f);
			fputc(c, f);
			u++;
			continue;
		}
		if (c == '\n') {
			fputs("\\n", f);
			u++;
			continue;
		}
		if (c < 0x80) {
			fputc(c, f);
			u++;
			continue;
		}
		/* a whole UTF-8 sequence, or U+FFFD */
		size_t n = an_utf8_len(u);
		if (n) {
			fwrite(u, 1, n, f);
			u += n;
		} else {
			fputs("\xef\xbf\xbd", f);
			u++;
		}
	}
}

/* ns as seconds, exactly: a negative value too (a duration whose exit was
 * stamped before its entry), "-0.000001500", never "0.-00001500" */
static void seconds(FILE *f, int64_t ns)
{
	uint64_t m = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	fprintf(f, "%s%" PRIu64 ".%09" PRIu64, ns < 0 ? "-" : "", m / 1000000000, m % 1000000000);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void pid_label(FILE *f, int64_t pid, bool known)
{
	if (known)
		fprintf(f, "pid=\"%" PRId64 "\"", pid);
	else
		fputs("pid=\"unknown\"", f);
}

/* ---- syscalls: per process (pid, comm) and syscall ------------------------ */

struct sys_row {
	int64_t pid;
	bool pid_known;
	const char *comm, *name;
	const struct an_stat *st;
};

static int cmp_sys_row(const void *a, const void *b)
{
	const struct sys_row *x = a, *y = b;
	if (x->pid_known != y->pid_known)
		return x->pid_known ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	int c = strcmp(x->comm, y->comm);
	return c ? c : strcmp(x->name, y->name);
}

static bool same_group(const struct sys_row *x, const struct sys_row *y)
{
	return x->pid_known == y->pid_known && x->pid == y->pid && !strcmp(x->comm, y->comm) &&
	       !strcmp(x->name, y->name);
}

static void sys_labels(FILE *f, const struct sys_row *r)
{
	pid_label(f, r->pid, r->pid_known);
	fputs(",comm=\"", f);
	label(f, r->comm);
	fputs("\",syscall=\"", f);
	label(f, r->name);
	fputc('"', f);
}

static const char *errno_name(int64_t ret, char *buf, size_t len)
{
	const char *s = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
	if (s)
		return s;
	snprintf(buf, len, "%" PRId64, ret);
	return buf;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int write_syscalls(const struct an_partial *p, FILE *f)
{
	struct sys_row *rows = calloc(p->stats.n + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	size_t n = 0;
	for (uint32_t i = 0; i < p->stats.n; i++) {
		const struct an_stat *st = an_tab_at(&p->stats, i);
		const struct an_thread *t = an_tab_find(&p->threads, (uint64_t)st->tid);
		if (!st->count || !t || !t->emitted)
			continue;
		const struct an_snap *s = &t->first_emit;
		rows[n++] = (struct sys_row){.pid = s->pid_known ? s->pid : 0,
					     .pid_known = s->pid_known,
					     .comm = s->comm_known ? s->comm : "",
					     .name = an_names_get(p->names, st->name),
					     .st = st};
	}
	qsort(rows, n, sizeof(*rows), cmp_sys_row);

	family(f, "reel_syscall_duration_seconds", "histogram",
	       "Duration of system calls (entry to exit) per process and syscall.");
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint64_t b[NLE + 1] = {0}, count = 0;
		int64_t sum = 0;
		for (; j < n && same_group(&rows[i], &rows[j]); j++) {
			const struct an_stat *st = rows[j].st;
			count += st->count;
			sum += st->sum;
			/* a histogram bucket goes under the first bound it lies
			 * below entirely: within its width (1/64) of the value */
			size_t k = 0;
			for (uint32_t h = 0; h < st->hist.n; h++) {
				if (!st->hist.b[h])
					continue;
				uint64_t low, width;
				an_hist_range(h, &low, &width);
				while (k < NLE && low + width - 1 > le_ns[k])
					k++;
				b[k] += st->hist.b[h];
			}
		}
		uint64_t cum = 0;
		for (size_t k = 0; k <= NLE; k++) {
			cum += b[k];
			fputs("reel_syscall_duration_seconds_bucket{", f);
			sys_labels(f, &rows[i]);
			if (k < NLE)
				fprintf(f, ",le=\"%.9g\"} %" PRIu64 "\n", (double)le_ns[k] / 1e9,
					cum);
			else
				fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", count);
		}
		fputs("reel_syscall_duration_seconds_sum{", f);
		sys_labels(f, &rows[i]);
		fputs("} ", f);
		seconds(f, sum);
		fputc('\n', f);
		fputs("reel_syscall_duration_seconds_count{", f);
		sys_labels(f, &rows[i]);
		fprintf(f, "} %" PRIu64 "\n", count);
		i = j;
	}

	family(f, "reel_syscall_errors_total", "counter",
	       "System calls that returned an error, per process, syscall and errno.");
	for (size_t i = 0; i < n;) {
		size_t j = i, ne = 0;
		for (; j < n && same_group(&rows[i], &rows[j]); j++)
			ne += rows[j].st->nerrs;
		struct {
			int64_t ret;
			uint64_t count;
		} *e = calloc(ne + 1, sizeof(*e));
		int64_t *rets = calloc(ne + 1, sizeof(*rets));
		if (!e || !rets) {
			free(e);
			free(rets);
			free(rows);
			return -ENOMEM;
		}
		size_t m = 0;
		for (size_t k = i; k < j; k++)
			for (uint32_t x = 0; x < rows[k].st->nerrs; x++)
				rets[m++] = rows[k].st->errs[x].ret;
		qsort(rets, m, sizeof(*rets), cmp_i64);
		size_t u = 0;
		for (size_t k = 0; k < m; k++)
			if (!u || e[u - 1].ret != rets[k])
				e[u++].ret = rets[k];
		for (size_t k = i; k < j; k++)
			for (uint32_t x = 0; x < rows[k].st->nerrs; x++)
				for (size_t y = 0; y < u; y++)
					if (e[y].ret == rows[k].st->errs[x].ret)
						e[y].count += rows[k].st->errs[x].count;
		for (size_t y = 0; y < u; y++) {
			char eb[32];
			fputs("reel_syscall_errors_total{", f);
			sys_labels(f, &rows[i]);
			fputs(",errno=\"", f);
			label(f, errno_name(e[y].ret, eb, sizeof(eb)));
			fprintf(f, "\"} %" PRIu64 "\n", e[y].count);
		}
		free(e);
		free(rets);
		i = j;
	}
	free(rows);
	return 0;
}

/* ---- I/O: bytes per file and process --------------------------------------- */

struct io_row {
	char *file;
	int64_t pid;
	const char *comm;
	uint64_t rd, wr;
};

struct io_rows {
	struct io_row *v;
	size_t n, cap;
};

static int io_add(void *arg, const char *file, int64_t pid, const char *comm, uint64_t rd,
		  uint64_t wr)
{
	struct io_rows *r = arg;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct io_row *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	char *fc = strdup(file ? file : "unknown");
	if (!fc)
		return -ENOMEM;
	r->v[r->n++] = (struct io_row){fc, pid, comm, rd, wr};
	return 0;
}

static int cmp_io_row(const void *a, const void *b)
{
	const struct io_row *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->file, y->file);
}

static void io_labels(FILE *f, const struct io_row *r)
{
	pid_label(f, r->pid, true);
	fputs(",comm=\"", f);
	label(f, r->comm);
	fputs("\",file=\"", f);
	label(f, r->file);
	fputc('"', f);
}

static int write_io(const struct an_partial *p, FILE *f)
{
	struct io_rows rows = {0};
	int r = an_io_visit_files(p, io_add, &rows);
	if (!r) {
		/* the unknown files of one process are one row */
		if (rows.n)
			qsort(rows.v, rows.n, sizeof(*rows.v), cmp_io_row);
		size_t w = 0;
		for (size_t i = 0; i < rows.n; i++) {
			if (w && !cmp_io_row(&rows.v[w - 1], &rows.v[i])) {
				rows.v[w - 1].rd += rows.v[i].rd;
				rows.v[w - 1].wr += rows.v[i].wr;
				free(rows.v[i].file);
				continue;
			}
			rows.v[w++] = rows.v[i];
		}
		rows.n = w;
		family(f, "reel_io_read_bytes_total", "counter",
		       "Bytes read (read, pread, readv, recv..., sendfile's input) per file and "
		       "process.");
		for (size_t i = 0; i < rows.n; i++) {
			fputs("reel_io_read_bytes_total{", f);
			io_labels(f, &rows.v[i]);
			fprintf(f, "} %" PRIu64 "\n", rows.v[i].rd);
		}
		family(f, "reel_io_written_bytes_total", "counter",
		       "Bytes written (write, pwrite, writev, send..., sendfile's output) per file "
		       "and process.");
		for (size_t i = 0; i < rows.n; i++) {
			fputs("reel_io_written_bytes_total{", f);
			io_labels(f, &rows.v[i]);
			fprintf(f, "} %" PRIu64 "\n", rows.v[i].wr);
		}
	}
	for (size_t i = 0; i < rows.n; i++)
		free(rows.v[i].file);
	free(rows.v);
	return r;
}

/* ---- CPU time per process ------------------------------------------------------ */

struct cpu_row {
	int64_t pid, ns;
};

struct cpu_rows {
	struct cpu_row *v;
	size_t n, cap;
};

static int cpu_add(void *arg, int64_t tid, int64_t pid, int64_t ns)
{
	(void)tid;
	struct cpu_rows *r = arg;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].pid == pid) {
			r->v[i].ns += ns;
			return 0;
		}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct cpu_row *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct cpu_row){pid, ns};
	return 0;
}

static int cmp_cpu_row(const void *a, const void *b)
{
	const struct cpu_row *x = a, *y = b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int write_cpu(const struct an_partial *p, FILE *f)
{
	struct cpu_rows rows = {0};
	int r = an_cpu_visit_threads(p, cpu_add, &rows);
	if (!r) {
		if (rows.n)
			qsort(rows.v, rows.n, sizeof(*rows.v), cmp_cpu_row);
		family(f, "reel_cpu_seconds_total", "counter",
		       "CPU time per process, from sched_switch.");
		for (size_t i = 0; i < rows.n; i++) {
			const struct an_thread *t =
				an_tab_find(&p->threads, (uint64_t)rows.v[i].pid);
			fputs("reel_cpu_seconds_total{", f);
			pid_label(f, rows.v[i].pid, true);
			fputs(",comm=\"", f);
			label(f, t && t->comm_set ? t->comm : "?");
			fputs("\"} ", f);
			seconds(f, rows.v[i].ns);
			fputc('\n', f);
		}
	}
	free(rows.v);
	return r;
}

/* ---- phases: syscall time per phase group ---------------------------------------- */

struct ph_buf {
	FILE *groups, *count, *time;
};

static int ph_group(void *arg, const char *group, uint64_t phases, int64_t time_ns)
{
	struct ph_buf *b = arg;
	fputs("reel_phases_total{group=\"", b->groups);
	label(b->groups, group);
	fprintf(b->groups, "\"} %" PRIu64 "\n", phases);
	fputs("reel_phase_seconds_total{group=\"", b->time);
	label(b->time, group);
	fputs("\"} ", b->time);
	seconds(b->time, time_ns);
	fputc('\n', b->time);
	return 0;
}

static int ph_sys(void *arg, const char *group, const char *syscall, uint64_t count, int64_t sum_ns)
{
	(void)sum_ns;
	struct ph_buf *b = arg;
	fputs("reel_phase_syscalls_total{group=\"", b->count);
	label(b->count, group);
	fputs("\",syscall=\"", b->count);
	label(b->count, syscall);
	fprintf(b->count, "\"} %" PRIu64 "\n", count);
	return 0;
}

static int ph_sys_time(void *arg, const char *group, const char *syscall, uint64_t count,
		       int64_t sum_ns)
{
	(void)count;
	FILE *f = arg;
	fputs("reel_phase_syscall_seconds_total{group=\"", f);
	label(f, group);
	fputs("\",syscall=\"", f);
	label(f, syscall);
	fputs("\"} ", f);
	seconds(f, sum_ns);
	fputc('\n', f);
	return 0;
}

static int no_group(void *arg, const char *group, uint64_t phases, int64_t time_ns)
{
	(void)arg, (void)group, (void)phases, (void)time_ns;
	return 0;
}

static int write_phases(const struct an_partial *p, FILE *f)
{
	/* one family at a time: the groups, then the syscalls' counts, then
	 * their time (each family's lines together, as the format wants) */
	char *gb = NULL, *cb = NULL;
	size_t gl = 0, cl = 0;
	struct ph_buf b = {open_memstream(&gb, &gl), open_memstream(&cb, &cl), NULL};
	int r = -ENOMEM;
	if (!b.groups || !b.count)
		goto out;
	char *tb = NULL;
	size_t tl = 0;
	b.time = open_memstream(&tb, &tl);
	if (!b.time)
		goto out;
	r = an_phases_visit(p, ph_group, ph_sys, &b);
	fclose(b.time);
	b.time = NULL;
	if (r) {
		free(tb);
		goto out;
	}
	fclose(b.groups);
	fclose(b.count);
	b.groups = b.count = NULL;
	family(f, "reel_phases_total", "counter",
	       "Phases completed (a begin mark to the next end mark), per group.");
	fwrite(gb, 1, gl, f);
	family(f, "reel_phase_seconds_total", "counter", "Time in completed phases, per group.");
	fwrite(tb, 1, tl, f);
	free(tb);
	family(f, "reel_phase_syscalls_total", "counter",
	       "System calls made inside completed phases, per group and syscall.");
	fwrite(cb, 1, cl, f);
	family(f, "reel_phase_syscall_seconds_total", "counter",
	       "Time in system calls made inside completed phases, per group and syscall.");
	r = an_phases_visit(p, no_group, ph_sys_time, f);
out:
	if (b.groups)
		fclose(b.groups);
	if (b.count)
		fclose(b.count);
	free(gb);
	free(cb);
	return r;
}

int an_metrics_write_follower(FILE *f, const struct an_metrics_info *info)
{
	family(f, "reel_chunks_failed_total", "counter",
	       "Chunks that could not be read: merged as empty chunks (the error is on the "
	       "follower's stderr).");
	fprintf(f, "reel_chunks_failed_total %" PRIu64 "\n", info->chunks_failed);
	family(f, "reel_chunks_waiting", "gauge",
	       "Chunks mapped but not merged yet: an earlier chunk is missing.");
	fprintf(f, "reel_chunks_waiting %" PRIu64 "\n", info->chunks_waiting);
	family(f, "reel_chunks_pending", "gauge",
	       "Chunks found but not merged yet: queued, being mapped, or waiting (the "
	       "backlog of a follower catching up).");
	fprintf(f, "reel_chunks_pending %" PRIu64 "\n", info->chunks_pending);
	if (info->updated_ns) {
		family(f, "reel_result_updated_timestamp_seconds", "gauge",
		       "When the result last grew (the follower's clock, seconds since the "
		       "epoch).");
		fputs("reel_result_updated_timestamp_seconds ", f);
		seconds(f, info->updated_ns);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

int an_metrics_write(const struct an_partial *p, FILE *f)
{
	family(f, "reel_chunks_total", "counter",
	       "Trace chunks merged into the result (a complete prefix).");
	fprintf(f, "reel_chunks_total %" PRIu64 "\n", p ? p->chunks : 0);
	family(f, "reel_events_total", "counter", "Events read from the merged chunks.");
	fprintf(f, "reel_events_total %" PRIu64 "\n", p ? p->events : 0);
	family(f, "reel_lost_events_total", "counter",
	       "Events the tracer lost (discarded) in the merged chunks.");
	fprintf(f, "reel_lost_events_total %" PRIu64 "\n", p ? p->lost : 0);
	if (p && p->has_range) {
		family(f, "reel_newest_event_timestamp_seconds", "gauge",
		       "Time of the last event of the newest merged chunk (seconds since the "
		       "epoch).");
		fputs("reel_newest_event_timestamp_seconds ", f);
		seconds(f, p->last_ts);
		fputc('\n', f);
	}
	if (!p)
		return ferror(f) ? -EIO : 0;
	int r = write_syscalls(p, f);
	if (!r && (p->flags & AN_IO) && !(p->flags & AN_PHASES))
		r = write_io(p, f);
	if (!r && (p->flags & AN_CPU))
		r = write_cpu(p, f);
	if (!r && (p->flags & AN_PHASES))
		r = write_phases(p, f);
	if (r)
		return r;
	return ferror(f) ? -EIO : 0;
}
