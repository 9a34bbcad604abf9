/* SPDX-License-Identifier: MIT */
/*
 * The ordered reducer (analysis.h, "ordered reducer"): partials tagged with
 * their chunk index arrive in any order (a thread pool, workers on other
 * machines); those ahead of the first missing chunk wait, duplicates are
 * dropped, and the complete prefix is merged in chunk order, so that the
 * result is the one a sequential pass over the same chunks gives.
 *
 * Owns nothing but its held partials; calls an_partial_merge() only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

struct held {
	uint64_t index;
	struct an_partial *p;
};

struct an_reducer {
	uint64_t next;		   /* the first chunk not merged */
	struct an_partial *result; /* chunks [first, next), NULL while none */
	struct held *held;	   /* early partials, by index */
	size_t nheld, cap;
	bool broken; /* a merge failed: result lost */
};

struct an_reducer *an_reducer_new(uint64_t first)
{
	struct an_reducer *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->next = first;
	return r;
}

void an_reducer_destroy(struct an_reducer *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nheld; i++)
		an_partial_destroy(r->held[i].p);
	free(r->held);
	an_partial_destroy(r->result);
	free(r);
}

/* The position of `index` in held[] (where it is, or would be inserted). */
static size_t find(const struct an_reducer *r, uint64_t index)
{
	size_t lo = 0, hi = r->nheld;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->held[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int an_reducer_put(struct an_reducer *r, uint64_t index, struct an_partial *p)
{
	if (r->broken) {
		an_partial_destroy(p);
		return -ENOMEM;
	}
	size_t at = find(r, index);
	if (index < r->next || (at < r->nheld && r->held[at].index == index)) {
		an_partial_destroy(p);
		return AN_REDUCER_DUPLICATE;
	}
	if (index != r->next) {
		if (r->nheld == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			struct held *h = realloc(r->held, cap * sizeof(*h));
			if (!h) {
				an_partial_destroy(p);
				return -ENOMEM;
			}
			r->held = h;
			r->cap = cap;
		}
		memmove(&r->held[at + 1], &r->held[at], (r->nheld - at) * sizeof(*r->held));
		r->held[at] = (struct held){index, p};
		r->nheld++;
		return AN_REDUCER_HELD;
	}
	/* p completes the prefix: merge it, then every held one that follows */
	size_t taken = 0;
	for (;;) {
		if (!r->result) {
			r->result = p;
		} else if (an_partial_merge(r->result, p)) {
			/* a is unusable (analysis.h): the reducer is broken */
			an_partial_destroy(r->result);
			r->result = NULL;
			r->broken = true;
			if (taken)
				memmove(r->held, r->held + taken, (r->nheld - taken) * sizeof(*r->held));
			r->nheld -= taken;
			return -ENOMEM;
		}
		r->next++;
		if (taken == r->nheld || r->held[taken].index != r->next)
			break;
		p = r->held[taken++].p;
	}
	if (taken)
		memmove(r->held, r->held + taken, (r->nheld - taken) * sizeof(*r->held));
	r->nheld -= taken;
	return AN_REDUCER_ADVANCED;
}

const struct an_partial *an_reducer_result(const struct an_reducer *r)
{
	return r->result;
}

uint64_t an_reducer_next(const struct an_reducer *r)
{
	return r->next;
}

size_t an_reducer_held(const struct an_reducer *r)
{
	return r->nheld;
}

struct an_partial *an_reducer_take(struct an_reducer *r)
{
	struct an_partial *p = r->result;
	r->result = NULL;
	return p;
}
