/* SPDX-License-Identifier: MIT */
/*
 * `reel analyze cpu` (doc/analysis.md, "CPU"): CPU time per thread and
 * CPU from sched_switch (lttng-cputop), wakeup latency per thread
 * (sched_wakeup/sched_waking until the switch-in, lttng-schedlog).
 *
 * Map: each thread and CPU keeps a summary that is a function of the
 * state the chunk inherits (soft begins, soft ends, wakeups before the
 * first switch-in). Reduce: the summaries compose, in O(1) per thread and
 * CPU (associative); the report resolves what is still open against the
 * trace's first and last event, as one sequential pass does.
 *
 * Owns the CPU tables of a partial and their report; calls nothing
 * outside src/analysis.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

void an_cpu_free(struct an_partial *p)
{
	for (uint32_t i = 0; i < p->cput.n; i++)
		free(((struct an_cput *)an_tab_at(&p->cput, i))->wh.b);
	an_tab_free(&p->cput);
	an_tab_free(&p->cpuu);
}

static struct an_cput *cput_get(struct an_partial *p, int64_t tid)
{
	bool fresh;
	struct an_cput *t = an_tab_get(&p->cput, (uint64_t)tid, &fresh);
	if (t && fresh) {
		t->tid = tid;
		t->wmin = INT64_MAX;
		t->wmax = INT64_MIN;
	}
	return t;
}

int an_cput_sample(struct an_cput *t, int64_t lat)
{
	t->wcount++;
	t->wsum += lat;
	if (lat < t->wmin)
		t->wmin = lat;
	if (lat > t->wmax)
		t->wmax = lat;
	/* negative latencies (a broken trace's clocks) count in bucket 0 */
	return an_hist_add(&t->wh, lat < 0 ? 0 : (uint64_t)lat, 1) ? -ENOMEM : 0;
}

static int on_switch(struct an_partial *p, const struct an_ev *ev)
{
	int64_t prev = ev->b, next = ev->a;
	bool fresh;
	struct an_cpuu *c = an_tab_get(&p->cpuu, (uint64_t)(uint32_t)ev->cpu, &fresh);
	if (!c)
		return -ENOMEM;
	if (fresh)
		c->cpu = ev->cpu;
	if (!c->seen) {
		c->seen = true;
		c->head_ts = ev->ts;
		c->head_busy = prev != 0;
	} else if (c->busy) {
		c->busy_ns += ev->ts - c->start;
	}
	c->busy = next != 0;
	c->start = ev->ts;
	/* the idle task (tid 0, one per CPU) is not a thread here */
	if (prev != 0) {
		struct an_cput *t = cput_get(p, prev);
		if (!t)
			return -ENOMEM;
		if (!t->seen) {
			t->seen = true;
			t->head_out = true;
			t->head_ts = ev->ts;
		} else if (t->running) {
			t->run_ns += ev->ts - t->in_ts;
		}
		t->running = false;
	}
	if (next != 0) {
		struct an_cput *t = cput_get(p, next);
		if (!t)
			return -ENOMEM;
		t->seen = true;
		t->running = true;
		t->in_ts = ev->ts;
		if (!t->has_first_in) {
			t->has_first_in = true;
			t->first_in = ev->ts;
		} else if (t->has_end_w) {
			if (an_cput_sample(t, ev->ts - t->end_w))
				return -ENOMEM;
		}
		t->has_end_w = false;
	}
	return 0;
}

static int on_wakeup(struct an_partial *p, const struct an_ev *ev)
{
	if (ev->a <= 0)
		return 0;
	struct an_cput *t = cput_get(p, ev->a);
	if (!t)
		return -ENOMEM;
	/* Only the first wakeup until the switch-in counts; a running
	 * thread's wakeups are ignored (lttng-analyses). */
	if (!t->seen) {
		if (!t->has_head_w) {
			t->has_head_w = true;
			t->head_w = ev->ts;
		}
	} else if (!t->has_first_in) {
		if (!t->has_mid_w) {
			t->has_mid_w = true;
			t->mid_w = ev->ts;
		}
	} else if (!t->running && !t->has_end_w) {
		t->has_end_w = true;
		t->end_w = ev->ts;
	}
	return 0;
}

int an_cpu_feed(struct an_partial *p, const struct an_ev *ev)
{
	switch (ev->kind) {
	case AN_EV_SWITCH:
		return on_switch(p, ev);
	case AN_EV_WAKEUP:
		return on_wakeup(p, ev);
	default:
		return 0;
	}
}

/* a's thread · b's thread */
static int cput_merge(struct an_cput *at, const struct an_cput *bt)
{
	/* wakeups: b's first switch-in meets a's state at its end */
	if (!bt->seen) {
		if (!bt->has_head_w)
			;
		else if (at->has_first_in) {
			if (!at->running && !at->has_end_w) {
				at->has_end_w = true;
				at->end_w = bt->head_w;
			}
		} else if (at->seen) {
			if (!at->has_mid_w) {
				at->has_mid_w = true;
				at->mid_w = bt->head_w;
			}
		} else if (!at->has_head_w) {
			at->has_head_w = true;
			at->head_w = bt->head_w;
		}
	} else if (at->has_first_in) {
		bool has_w = true;
		int64_t w = at->end_w;
		if (at->has_end_w)
			;
		else if (!at->running && bt->has_head_w)
			w = bt->head_w;
		else if (bt->has_mid_w)
			w = bt->mid_w;
		else
			has_w = false;
		if (bt->has_first_in) {
			if (has_w && an_cput_sample(at, bt->first_in - w))
				return -ENOMEM;
			at->has_end_w = bt->has_end_w;
			at->end_w = bt->end_w;
		} else {
			at->has_end_w = has_w;
			at->end_w = w;
		}
	} else {
		if (at->seen) {
			/* a: switch-outs only, then b's head and mid wakeups */
			if (!at->has_mid_w && (bt->has_head_w || bt->has_mid_w)) {
				at->has_mid_w = true;
				at->mid_w = bt->has_head_w ? bt->head_w : bt->mid_w;
			}
		} else {
			if (!at->has_head_w && bt->has_head_w) {
				at->has_head_w = true;
				at->head_w = bt->head_w;
			}
			at->has_mid_w = bt->has_mid_w;
			at->mid_w = bt->mid_w;
		}
		at->has_first_in = bt->has_first_in;
		at->first_in = bt->first_in;
		at->has_end_w = bt->has_end_w;
		at->end_w = bt->end_w;
	}
	/* CPU time: b's soft begin meets a's soft end */
	if (bt->seen) {
		if (at->seen) {
			if (bt->head_out && at->running)
				at->run_ns += bt->head_ts - at->in_ts;
		} else {
			at->head_out = bt->head_out;
			at->head_ts = bt->head_ts;
		}
		at->seen = true;
		at->run_ns += bt->run_ns;
		at->running = bt->running;
		at->in_ts = bt->in_ts;
	}
	/* b's own latencies */
	at->wcount += bt->wcount;
	at->wsum += bt->wsum;
	if (bt->wmin < at->wmin)
		at->wmin = bt->wmin;
	if (bt->wmax > at->wmax)
		at->wmax = bt->wmax;
	if (bt->wh.n && an_hist_grow(&at->wh, bt->wh.n))
		return -ENOMEM;
	for (uint32_t i = 0; i < bt->wh.n; i++)
		at->wh.b[i] += bt->wh.b[i];
	return 0;
}

int an_cpu_merge(struct an_partial *a, const struct an_partial *b)
{
	for (uint32_t i = 0; i < b->cput.n; i++) {
		const struct an_cput *bt = an_tab_at(&b->cput, i);
		struct an_cput *at = cput_get(a, bt->tid);
		if (!at || cput_merge(at, bt))
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < b->cpuu.n; i++) {
		const struct an_cpuu *bc = an_tab_at(&b->cpuu, i);
		bool fresh;
		struct an_cpuu *ac = an_tab_get(&a->cpuu, (uint64_t)(uint32_t)bc->cpu, &fresh);
		if (!ac)
			return -ENOMEM;
		if (fresh)
			*ac = *bc;
		else if (bc->seen) {
			if (ac->seen) {
				/* the sequential pass follows a's state, not b's prev_tid */
				if (ac->busy)
					ac->busy_ns += bc->head_ts - ac->start;
			} else {
				ac->head_ts = bc->head_ts;
				ac->head_busy = bc->head_busy;
			}
			ac->seen = true;
			ac->busy_ns += bc->busy_ns;
			ac->busy = bc->busy;
			ac->start = bc->start;
		}
	}
	return 0;
}

/* ---- the report ------------------------------------------------------------ */

static int cmp_crow(const void *a, const void *b)
{
	const struct an_cpu_row *x = a, *y = b;
	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_wrow(const void *a, const void *b)
{
	const struct an_cpu_row *x = a, *y = b;
	if (x->wmax != y->wmax)
		return x->wmax > y->wmax ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct an_cpu_row *x = a, *y = b;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

double an_cpu_pct(int64_t ns, int64_t dur)
{
	return dur > 0 ? (double)ns * 100.0 / (double)dur : 0.0;
}

/* A thread's final numbers: its open ends resolved against the trace's
 * first and last events; the latency at its first switch-in from its
 * wakeups before it (nothing inherited: the trace's start). */
static int finalize(const struct an_partial *p, const struct an_cput *t, struct an_cpu_row *r,
		    struct an_hist *h)
{
	struct an_cput c = *t;
	c.wh.b = NULL;
	c.wh.n = 0;
	if (t->wh.n && an_hist_grow(&c.wh, t->wh.n))
		return -ENOMEM;
	if (t->wh.n)
		memcpy(c.wh.b, t->wh.b, t->wh.n * sizeof(*t->wh.b));
	if (c.has_first_in && (c.has_head_w || c.has_mid_w) &&
	    an_cput_sample(&c, c.first_in - (c.has_head_w ? c.head_w : c.mid_w))) {
		free(c.wh.b);
		return -ENOMEM;
	}
	int64_t ns = c.run_ns;
	if (c.head_out)
		ns += c.head_ts - p->first_ts;
	if (c.running)
		ns += p->last_ts - c.in_ts;
	const struct an_thread *th = an_tab_find(&p->threads, (uint64_t)t->tid);
	*r = (struct an_cpu_row){.tid = t->tid,
				 .pid = th && th->pid_set ? th->pid : t->tid,
				 .comm = th && th->comm_set ? th->comm : "?",
				 .ns = ns,
				 .wcount = c.wcount,
				 .wmin = c.wmin,
				 .wmax = c.wmax,
				 .wsum = c.wsum};
	if (c.wcount)
		r->p99 = an_hist_quantile(&c.wh, c.wcount, 0.99, (uint64_t)(c.wmin < 0 ? 0 : c.wmin),
					  (uint64_t)(c.wmax < 0 ? 0 : c.wmax));
	*h = c.wh;
	return 0;
}

void an_cpu_rows_free(struct an_cpu_rows *t)
{
	free(t->th);
	free(t->pr);
	free(t->wk);
	free(t->cp);
}

int an_cpu_rows(const struct an_partial *p, struct an_cpu_rows *t)
{
	size_t nt = p->cput.n, nc = p->cpuu.n;
	memset(t, 0, sizeof(*t));
	struct an_cpu_row *th = t->th = calloc(nt + 1, sizeof(*th)),
			  *pr = t->pr = calloc(nt + 1, sizeof(*pr)),
			  *wk = t->wk = calloc(nt + 1, sizeof(*wk)),
			  *cp = t->cp = calloc(nc + 1, sizeof(*cp));
	if (!th || !pr || !wk || !cp)
		return -ENOMEM;
	int64_t dur = p->has_range ? p->last_ts - p->first_ts : 0;
	size_t n = 0, npr = 0, nwk = 0;
	for (uint32_t i = 0; i < nt; i++) {
		struct an_hist h;
		if (finalize(p, an_tab_at(&p->cput, i), &th[n], &h))
			return -ENOMEM;
		free(h.b);
		if (th[n].wcount)
			wk[nwk++] = th[n];
		if (th[n].ns > 0 || th[n].wcount)
			n++;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < npr && pr[k].pid != th[i].pid; k++)
			;
		if (k == npr) {
			const struct an_thread *pt = an_tab_find(&p->threads, (uint64_t)th[i].pid);
			pr[npr++] = (struct an_cpu_row){.tid = th[i].pid,
							.pid = th[i].pid,
							.comm = pt && pt->comm_set ? pt->comm
										   : th[i].comm};
		}
		pr[k].ns += th[i].ns;
	}
	int64_t busy = 0;
	for (uint32_t i = 0; i < nc; i++) {
		const struct an_cpuu *c = an_tab_at(&p->cpuu, i);
		int64_t ns = c->busy_ns;
		if (c->head_busy)
			ns += c->head_ts - p->first_ts;
		if (c->busy)
			ns += p->last_ts - c->start;
		cp[i] = (struct an_cpu_row){.tid = c->cpu, .ns = ns};
		busy += ns;
	}
	qsort(th, n, sizeof(*th), cmp_crow);
	qsort(pr, npr, sizeof(*pr), cmp_crow);
	qsort(wk, nwk, sizeof(*wk), cmp_wrow);
	qsort(cp, nc, sizeof(*cp), cmp_cpu);
	t->total = nc ? an_cpu_pct(busy, dur) / (double)nc : 0.0;
	t->dur = dur;
	t->n = n;
	t->npr = npr;
	t->nwk = nwk;
	t->nc = nc;
	return 0;
}

int an_report_cpu(const struct an_partial *p, FILE *f, bool json, unsigned limit)
{
	struct an_cpu_rows t;
	int r = an_cpu_rows(p, &t);
	if (r)
		goto out;
	const struct an_cpu_row *th = t.th, *pr = t.pr, *wk = t.wk, *cp = t.cp;
	size_t n = t.n, npr = t.npr, nwk = t.nwk, nc = t.nc;
	int64_t dur = t.dur;
	double total = t.total;
	if (json) {
		fprintf(f, "{\"analysis\":\"cpu\",\"events\":%" PRIu64 ",\"chunks\":%" PRIu64
			   ",\"lost_events\":%" PRIu64 ",\"uncertain\":%s,",
			p->events, p->chunks, p->lost, p->lost ? "true" : "false");
		if (p->has_range)
			fprintf(f, "\"begin_ns\":%" PRId64 ",\"end_ns\":%" PRId64 ",", p->first_ts, p->last_ts);
		fprintf(f, "\"duration_ns\":%" PRId64 ",\"usage\":%.6f,\"threads\":[", dur, total);
		for (size_t i = 0; i < n && i < limit; i++) {
			fprintf(f, "%s{\"tid\":%" PRId64 ",\"pid\":%" PRId64 ",\"comm\":", i ? "," : "", th[i].tid,
				th[i].pid);
			an_json_str(f, th[i].comm);
			fprintf(f, ",\"cpu_ns\":%" PRId64 ",\"usage\":%.6f}", th[i].ns,
				an_cpu_pct(th[i].ns, dur));
		}
		fputs("],\"processes\":[", f);
		for (size_t i = 0; i < npr && i < limit; i++) {
			fprintf(f, "%s{\"pid\":%" PRId64 ",\"comm\":", i ? "," : "", pr[i].pid);
			an_json_str(f, pr[i].comm);
			fprintf(f, ",\"cpu_ns\":%" PRId64 ",\"usage\":%.6f}", pr[i].ns,
				an_cpu_pct(pr[i].ns, dur));
		}
		fputs("],\"cpus\":[", f);
		for (size_t i = 0; i < nc; i++)
			fprintf(f,
				"%s{\"cpu\":%" PRId64 ",\"busy_ns\":%" PRId64
				",\"idle_ns\":%" PRId64 ",\"usage\":%.6f}",
				i ? "," : "", cp[i].tid, cp[i].ns, dur - cp[i].ns,
				an_cpu_pct(cp[i].ns, dur));
		fputs("],\"wakeup_latency\":[", f);
		for (size_t i = 0; i < nwk && i < limit; i++) {
			fprintf(f, "%s{\"tid\":%" PRId64 ",\"pid\":%" PRId64 ",\"comm\":", i ? "," : "", wk[i].tid,
				wk[i].pid);
			an_json_str(f, wk[i].comm);
			fprintf(f, ",\"count\":%" PRIu64 ",\"min_ns\":%" PRId64 ",\"max_ns\":%" PRId64
				   ",\"sum_ns\":%" PRId64 ",\"avg_ns\":%.3f,\"p99_ns\":%" PRIu64 "}",
				wk[i].wcount, wk[i].wmin, wk[i].wmax, wk[i].wsum,
				(double)wk[i].wsum / (double)wk[i].wcount, wk[i].p99);
		}
		fputs("]}\n", f);
	} else {
		fprintf(f, "Timerange: [%" PRId64 ", %" PRId64 "] (%.3f s)\n", p->first_ts, p->last_ts,
			(double)dur / 1e9);
		fputs("Per-TID Usage                   Process\n"
		      "################################################################################\n", f);
		for (size_t i = 0; i < n && i < limit; i++)
			fprintf(f, "%7.2f %%  %s (%" PRId64 ", tid %" PRId64 ")\n",
				an_cpu_pct(th[i].ns, dur), th[i].comm, th[i].pid, th[i].tid);
		fputs("\nPer-PID Usage                   Process\n"
		      "################################################################################\n", f);
		for (size_t i = 0; i < npr && i < limit; i++)
			fprintf(f, "%7.2f %%  %s (%" PRId64 ")\n", an_cpu_pct(pr[i].ns, dur),
				pr[i].comm, pr[i].pid);
		fputs("\nPer-CPU Usage\n"
		      "################################################################################\n", f);
		for (size_t i = 0; i < nc; i++)
			fprintf(f, "%7.2f %%  CPU %" PRId64 "\n", an_cpu_pct(cp[i].ns, dur),
				cp[i].tid);
		fprintf(f, "\nTotal CPU Usage: %.2f%%\n", total);
		fputs("\nWakeup latency (usec)\n"
		      "Process (pid, tid)                      Count        Min    Average        Max        P99\n", f);
		for (size_t i = 0; i < nwk && i < limit; i++) {
			char who[64];
			snprintf(who, sizeof(who), "%s (%" PRId64 ", %" PRId64 ")", wk[i].comm, wk[i].pid, wk[i].tid);
			fprintf(f, "%-38s %6" PRIu64 " %10.3f %10.3f %10.3f %10.3f\n", who, wk[i].wcount,
				(double)wk[i].wmin / 1e3, (double)wk[i].wsum / (double)wk[i].wcount / 1e3,
				(double)wk[i].wmax / 1e3, (double)wk[i].p99 / 1e3);
		}
		if (p->lost)
			fprintf(f, "\n%" PRIu64 " events lost: the numbers may be incomplete (uncertain)\n", p->lost);
	}
	r = ferror(f) ? -EIO : 0;
out:
	an_cpu_rows_free(&t);
	return r;
}

int an_cpu_visit_threads(const struct an_partial *p, an_cpu_thread_fn fn, void *arg)
{
	struct an_cpu_rows t;
	int r = an_cpu_rows(p, &t);
	for (size_t i = 0; !r && i < t.n; i++)
		if (t.th[i].ns > 0)
			r = fn(arg, t.th[i].tid, t.th[i].pid, t.th[i].ns);
	an_cpu_rows_free(&t);
	return r;
}
