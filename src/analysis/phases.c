/* SPDX-License-Identifier: MIT */
/*
 * `reel analyze phases` (doc/analysis.md, "Phases"): the time a thread
 * spends in each syscall between a userspace begin mark and its next end
 * mark, summed per phase group (the begin mark's --by value).
 *
 * The map keeps every syscall entry and exit and the marks in the I/O log
 * (io.c, AN_PHASES), merged by time in the reduce like the I/O analysis's;
 * the report replays the whole log once, so a phase open at a chunk's end
 * and a syscall split across chunks resolve as in one sequential pass.
 *
 * Owns the phases report; calls nothing outside src/analysis.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-local.h"

/* A thread: its open syscall, its open phase and the syscalls counted in it. */
struct ph_thread {
	bool in_sys, in_phase;
	uint32_t sys_name;
	int64_t sys_ts;
	int64_t begin;
	uint32_t group;
	struct an_phase_list pend;
};

static int list_add(struct an_phase_list *l, uint32_t name, uint64_t count, int64_t sum,
		    int64_t min, int64_t max)
{
	uint32_t i;
	for (i = 0; i < l->n && l->v[i].name != name; i++)
		;
	if (i == l->n) {
		if (l->n == l->cap) {
			uint32_t cap = l->cap ? l->cap * 2 : 8;
			struct an_phase_sys *v = realloc(l->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n++] = (struct an_phase_sys){.name = name, .min = min, .max = max};
	}
	struct an_phase_sys *s = &l->v[i];
	s->count += count;
	s->sum += sum;
	if (min < s->min)
		s->min = min;
	if (max > s->max)
		s->max = max;
	return 0;
}

static int cmp_sys(const void *a, const void *b, void *names)
{
	const struct an_phase_sys *x = a, *y = b;
	if (x->sum != y->sum)
		return x->sum > y->sum ? -1 : 1;
	return strcmp(an_names_get(names, x->name), an_names_get(names, y->name));
}

void an_phases_free(struct an_phases *ph)
{
	for (uint32_t i = 0; i < ph->n; i++)
		free(ph->g[i].sys.v);
	free(ph->g);
	an_names_destroy(ph->groups);
	memset(ph, 0, sizeof(*ph));
}

int an_phases_run(const struct an_partial *p, const struct an_phase_sink *sink,
		  struct an_phases *ph)
{
	const struct an_iolog *l = &p->io;
	struct an_names *groups = an_names_new();
	struct an_tab threads, cpus;
	struct an_phase_group *g = NULL;
	uint32_t ng = 0, gcap = 0;
	int r = -ENOMEM;
	an_tab_init(&threads, sizeof(struct ph_thread));
	an_tab_init(&cpus, sizeof(int64_t));
	if (!groups)
		goto out;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct an_iorec *e = &l->v[i];
		int64_t tid = e->tid;
		if (e->type == AN_IOR_CPU) {
			int64_t *c = an_tab_get(&cpus, (uint64_t)(int64_t)e->cpu, NULL);
			if (!c)
				goto out;
			*c = e->tid;
			continue;
		}
		if (e->type != AN_IOR_ENTRY && e->type != AN_IOR_EXIT && e->type != AN_IOR_MARK)
			continue;
		if (tid < 0 && e->type != AN_IOR_MARK) {
			const int64_t *c = an_tab_find(&cpus, (uint64_t)(int64_t)e->cpu);
			if (!c || *c <= 0)
				continue; /* the CPU's task is not known, or idle */
			tid = *c;
		}
		if (tid < 0)
			continue;
		struct ph_thread *t = an_tab_get(&threads, (uint64_t)tid, NULL);
		if (!t)
			goto out;
		if (e->type == AN_IOR_ENTRY) {
			t->in_sys = true;
			t->sys_name = e->name;
			t->sys_ts = e->ts;
		} else if (e->type == AN_IOR_EXIT) {
			if (!t->in_sys)
				continue;
			t->in_sys = false;
			/* a syscall entered inside the thread's open phase */
			if (t->in_phase && t->sys_ts >= t->begin) {
				int64_t d = e->ts - t->sys_ts;
				if (list_add(&t->pend, t->sys_name, 1, d, d, d))
					goto out;
			}
		} else {
			if ((e->a & AN_MARK_END) && t->in_phase) {
				if (sink &&
				    (r = sink->phase(sink->ctx, tid, an_names_get(groups, t->group),
						     t->begin, e->ts)))
					goto out;
				r = -ENOMEM;
				struct an_phase_group *pg = &g[t->group];
				pg->phases++;
				pg->time += e->ts - t->begin;
				for (uint32_t k = 0; k < t->pend.n; k++) {
					const struct an_phase_sys *s = &t->pend.v[k];
					if (list_add(&pg->sys, s->name, s->count, s->sum, s->min, s->max))
						goto out;
				}
				t->in_phase = false;
			}
			if (e->a & AN_MARK_BEGIN) {
				const char *gs = e->str != UINT32_MAX ? l->pool + e->str : "";
				uint32_t gi = an_names_intern(groups, gs, strlen(gs));
				if (gi == UINT32_MAX)
					goto out;
				if (gi >= ng) {
					if (gi >= gcap) {
						uint32_t cap = gcap ? gcap * 2 : 8;
						while (cap <= gi)
							cap *= 2;
						struct an_phase_group *v =
							realloc(g, cap * sizeof(*v));
						if (!v)
							goto out;
						g = v;
						gcap = cap;
					}
					memset(&g[ng], 0, (gi + 1 - ng) * sizeof(*g));
					ng = gi + 1;
				}
				/* a begin inside an open phase restarts it */
				t->in_phase = true;
				t->begin = e->ts;
				t->group = gi;
				t->pend.n = 0;
			}
		}
	}
	/* phases still open at the trace's end: not counted */
	for (uint32_t i = 0; i < threads.n; i++) {
		const struct ph_thread *t = an_tab_at(&threads, i);
		if (!t->in_phase)
			continue;
		g[t->group].open++;
		if (sink && (r = sink->phase(sink->ctx, (int64_t)threads.keys[i],
					     an_names_get(groups, t->group), t->begin, -1)))
			goto out;
	}
	for (uint32_t i = 0; i < ng; i++)
		if (g[i].sys.n)
			qsort_r(g[i].sys.v, g[i].sys.n, sizeof(*g[i].sys.v), cmp_sys,
				(void *)p->names);
	*ph = (struct an_phases){.g = g, .n = ng, .groups = groups};
	g = NULL;
	ng = 0;
	groups = NULL;
	r = 0;
out:
	for (uint32_t i = 0; i < threads.n; i++)
		free(((struct ph_thread *)an_tab_at(&threads, i))->pend.v);
	for (uint32_t i = 0; i < ng; i++)
		free(g[i].sys.v);
	free(g);
	an_tab_free(&threads);
	an_tab_free(&cpus);
	an_names_destroy(groups);
	return r;
}

int an_report_phases(const struct an_partial *p, FILE *f, bool json)
{
	struct an_phases ph = {0};
	int r = an_phases_run(p, NULL, &ph);
	if (r)
		return r;
	struct an_names *groups = ph.groups;
	struct an_phase_group *g = ph.g;
	uint32_t ng = ph.n;
	const char *begin = an_names_phase(p->names, 0), *end = an_names_phase(p->names, 1),
		   *by = an_names_phase(p->names, 2);
	if (json) {
		fputs("{\"analysis\":\"phases\",\"begin\":", f);
		an_json_str(f, begin ? begin : "");
		fputs(",\"end\":", f);
		an_json_str(f, end ? end : "");
		fputs(",\"by\":", f);
		if (by)
			an_json_str(f, by);
		else
			fputs("null", f);
		fprintf(f, ",\"events\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"lost_events\":%" PRIu64 ",\"groups\":[",
			p->events, p->chunks, p->lost);
	} else {
		fprintf(f, "Phases from %s to %s%s%s\n", begin ? begin : "?", end ? end : "?", by ? ", by " : "",
			by ? by : "");
	}
	for (uint32_t i = 0; i < ng; i++) {
		struct an_phase_group *pg = &g[i];
		const char *gn = an_names_get(groups, i);
		if (json) {
			fprintf(f, "%s{\"group\":", i ? "," : "");
			an_json_str(f, gn);
			fprintf(f, ",\"phases\":%" PRIu64 ",\"open\":%" PRIu64 ",\"time_ns\":%" PRId64 ",\"syscalls\":[",
				pg->phases, pg->open, pg->time);
			for (uint32_t k = 0; k < pg->sys.n; k++) {
				const struct an_phase_sys *s = &pg->sys.v[k];
				fprintf(f, "%s{\"name\":", k ? "," : "");
				an_json_str(f, an_names_get(p->names, s->name));
				fprintf(f, ",\"count\":%" PRIu64 ",\"total_ns\":%" PRId64 ",\"min_ns\":%" PRId64
					   ",\"max_ns\":%" PRId64 "}",
					s->count, s->sum, s->min, s->max);
			}
			fputs("]}", f);
		} else {
			fprintf(f, "\nGroup %s: %" PRIu64 " phases, %.9f s", by ? gn : "(all)", pg->phases,
				(double)pg->time / 1e9);
			if (pg->open)
				fprintf(f, " (%" PRIu64 " open at the end, not counted)", pg->open);
			fprintf(f, "\n  %-20s %10s %16s %12s %12s %12s\n", "Syscall", "Count", "Total (ns)", "Min (ns)",
				"Avg (ns)", "Max (ns)");
			for (uint32_t k = 0; k < pg->sys.n; k++) {
				const struct an_phase_sys *s = &pg->sys.v[k];
				fprintf(f, "  %-20s %10" PRIu64 " %16" PRId64 " %12" PRId64 " %12" PRId64 " %12" PRId64 "\n",
					an_names_get(p->names, s->name), s->count, s->sum, s->min,
					s->sum / (int64_t)s->count, s->max);
			}
		}
	}
	if (json)
		fputs("]}\n", f);
	else if (!ng)
		fputs("No phase.\n", f);
	r = ferror(f) ? -EIO : 0;
	an_phases_free(&ph);
	return r;
}

int an_phases_visit(const struct an_partial *p, an_phase_group_fn gfn, an_phase_sys_fn sfn,
		    void *arg)
{
	struct an_phases ph = {0};
	int r = an_phases_run(p, NULL, &ph);
	for (uint32_t i = 0; !r && i < ph.n; i++) {
		const struct an_phase_group *pg = &ph.g[i];
		const char *gn = an_names_get(ph.groups, i);
		r = gfn(arg, gn, pg->phases, pg->time);
		for (uint32_t k = 0; !r && k < pg->sys.n; k++)
			r = sfn(arg, gn, an_names_get(p->names, pg->sys.v[k].name),
				pg->sys.v[k].count, pg->sys.v[k].sum);
	}
	an_phases_free(&ph);
	return r;
}
