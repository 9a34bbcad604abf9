/* SPDX-License-Identifier: MIT */
/*
 * registry: the events that providers registered, their ids and their
 * enablement. Owns the `enabled`, `id` and `targets` members of event
 * descriptions: an event's id is libreel-ust's number for it (one per name
 * and layout); its targets say which channels record it, under which id
 * there (standalone mode: the one channel; under a daemon: what the daemon
 * says).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../ctf/metadata.h"
#include "ust-local.h"

struct registered_event {
	struct reel_event_desc *desc;
	bool conflict; /* defined differently in two places: never enabled */
};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct registered_event *events;
static size_t nr_events, cap_events;
static uint32_t next_id;
/* Standalone mode: the channel, and which events go to it. */
static const struct reel_channel_view *standalone_view;
static char *enable_globs; /* NULL: all */
/* The targets of each id. Lists are interned (one allocation per distinct
 * list) and never freed: a probe may still read any list once published. */
struct interned_targets {
	struct interned_targets *next;
	struct reel_event_targets list;
	struct reel_event_target target[];
};
static struct interned_targets *interned;
static const struct reel_event_targets **id_targets;
static size_t cap_id_targets;
/* TSDL declarations of every event ever registered, in id order; kept
 * when a provider is unloaded, since traces may hold its events. */
static struct reel_strbuf declarations;

static bool name_matches(const struct reel_event_desc *desc, const char *globs)
{
	if (!globs)
		return true;
	char name[512];
	snprintf(name, sizeof(name), "%s:%s", desc->provider, desc->name);
	const char *p = globs;
	while (*p) {
		size_t len = strcspn(p, ",");
		char glob[512];
		if (len > 0 && len < sizeof(glob)) {
			memcpy(glob, p, len);
			glob[len] = '\0';
			if (fnmatch(glob, name, 0) == 0)
				return true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool same_layout(const struct reel_field_desc *a, size_t nr_a,
			const struct reel_field_desc *b, size_t nr_b)
{
	if (nr_a != nr_b)
		return false;
	for (size_t i = 0; i < nr_a; i++) {
		const struct reel_field_desc *x = &a[i], *y = &b[i];
		if (strcmp(x->name, y->name) || x->kind != y->kind || x->size_bits != y->size_bits ||
		    x->is_signed != y->is_signed || x->length != y->length)
			return false;
	}
	return true;
}

/* The interned copy of a target list (NULL for an empty one). */
static const struct reel_event_targets *intern_locked(const struct reel_event_target *targets,
							 uint32_t nr)
{
	if (nr == 0)
		return NULL;
	for (struct interned_targets *it = interned; it; it = it->next)
		if (it->list.nr == nr && memcmp(it->target, targets, nr * sizeof(*targets)) == 0)
			return &it->list;
	struct interned_targets *it = malloc(sizeof(*it) + nr * sizeof(*targets));
	if (!it)
		return NULL;
	memcpy(it->target, targets, nr * sizeof(*targets));
	it->list.nr = nr;
	it->list.reserved = 0;
	it->list.target = it->target;
	it->next = interned;
	interned = it;
	return &it->list;
}

static int set_targets_locked(uint32_t id, const struct reel_event_target *targets, uint32_t nr)
{
	if (nr > REEL_MAX_TARGETS)
		return -E2BIG;
	if (id >= cap_id_targets) {
		size_t cap = cap_id_targets ? cap_id_targets : 64;
		while (cap <= id)
			cap *= 2;
		const struct reel_event_targets **grown =
			realloc(id_targets, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + cap_id_targets, 0, (cap - cap_id_targets) * sizeof(*grown));
		id_targets = grown;
		cap_id_targets = cap;
	}
	const struct reel_event_targets *list = intern_locked(targets, nr);
	if (nr && !list)
		return -ENOMEM;
	id_targets[id] = list;
	return 0;
}

/* Publish an event's targets to its probes, and its enablement to its
 * call sites. */
static void apply_locked(struct registered_event *e)
{
	const struct reel_event_targets *list =
		e->conflict || e->desc->id >= cap_id_targets ? NULL : id_targets[e->desc->id];
	/* Release: pairs with the probe's acquire; the list is complete. */
	__atomic_store_n(&e->desc->targets, list, __ATOMIC_RELEASE);
	__atomic_store_n(&e->desc->enabled, list != NULL, __ATOMIC_RELEASE);
}

void reel_event_register(struct reel_event_desc *desc, const struct reel_field_desc *fields,
			 size_t nr_fields)
{
	if (!reel_ctf_event_is_valid(desc)) {
		reel_debug("ignoring malformed event description %s:%s",
			   desc->provider ? desc->provider : "?", desc->name ? desc->name : "?");
		return;
	}
	bool new_id = false;
	pthread_mutex_lock(&registry_mutex);
	struct registered_event *same_name = NULL;
	for (size_t i = 0; i < nr_events; i++) {
		if (events[i].desc == desc) {
			/* Registered by another translation unit: both must
			 * have defined the event alike. */
			if (!events[i].conflict &&
			    !same_layout(desc->fields, desc->nr_fields, fields, nr_fields)) {
				reel_debug("event %s:%s is defined differently in two places; "
					   "it stays disabled",
					   desc->provider, desc->name);
				events[i].conflict = true;
				__atomic_store_n(&desc->enabled, 0, __ATOMIC_RELAXED);
			}
			goto out;
		}
		if (!same_name && strcmp(events[i].desc->provider, desc->provider) == 0 &&
		    strcmp(events[i].desc->name, desc->name) == 0)
			same_name = &events[i];
	}
	bool conflict = !same_layout(desc->fields, desc->nr_fields, fields, nr_fields);
	if (same_name && !same_layout(same_name->desc->fields, same_name->desc->nr_fields,
				      desc->fields, desc->nr_fields)) {
		reel_debug("event %s:%s is defined twice with different fields; the second "
			   "definition stays disabled",
			   desc->provider, desc->name);
		goto out;
	}
	if (nr_events == cap_events) {
		size_t cap = cap_events ? cap_events * 2 : 64;
		struct registered_event *grown = realloc(events, cap * sizeof(*grown));
		if (!grown)
			goto out;
		events = grown;
		cap_events = cap;
	}
	if (same_name) {
		desc->id = same_name->desc->id;
	} else {
		desc->id = next_id;
		size_t before = declarations.len;
		if (reel_ctf_metadata_event(&declarations, desc) != 0) {
			declarations.len = before; /* out of memory: not registered */
			declarations.failed = false;
			if (declarations.data)
				declarations.data[before] = '\0';
			goto out;
		}
		next_id++;
	}
	events[nr_events++] = (struct registered_event){ desc, conflict };
	if (!same_name) {
		if (standalone_view && name_matches(desc, enable_globs))
			set_targets_locked(desc->id,
					   &(struct reel_event_target){ standalone_view, desc->id, 0 }, 1);
		new_id = true;
	}
	apply_locked(&events[nr_events - 1]);
out:
	pthread_mutex_unlock(&registry_mutex);
	/* Under a daemon, the event's enablement comes back before the
	 * constructor registering it returns, so that its first calls count. */
	if (new_id)
		reel_control_sync();
}

void reel_event_unregister(struct reel_event_desc *desc)
{
	pthread_mutex_lock(&registry_mutex);
	for (size_t i = 0; i < nr_events; i++) {
		if (events[i].desc == desc) {
			__atomic_store_n(&desc->enabled, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&desc->targets, NULL, __ATOMIC_RELAXED);
			memmove(&events[i], &events[i + 1], (nr_events - i - 1) * sizeof(events[0]));
			nr_events--;
			break;
		}
	}
	pthread_mutex_unlock(&registry_mutex);
}

void reel_registry_enable(const char *globs, const struct reel_channel_view *view)
{
	pthread_mutex_lock(&registry_mutex);
	free(enable_globs);
	enable_globs = globs ? strdup(globs) : NULL;
	standalone_view = view;
	for (size_t i = 0; i < nr_events; i++) {
		struct reel_event_desc *desc = events[i].desc;
		struct reel_event_target t = { view, desc->id, 0 };
		set_targets_locked(desc->id, &t, name_matches(desc, enable_globs) ? 1 : 0);
	}
	for (size_t i = 0; i < nr_events; i++)
		apply_locked(&events[i]);
	pthread_mutex_unlock(&registry_mutex);
}

void reel_registry_disable(void)
{
	pthread_mutex_lock(&registry_mutex);
	standalone_view = NULL;
	for (size_t id = 0; id < cap_id_targets; id++)
		id_targets[id] = NULL;
	for (size_t i = 0; i < nr_events; i++)
		apply_locked(&events[i]);
	pthread_mutex_unlock(&registry_mutex);
}

int reel_registry_set_targets(uint32_t id, const struct reel_event_target *targets, uint32_t nr)
{
	pthread_mutex_lock(&registry_mutex);
	int err = id < next_id ? set_targets_locked(id, targets, nr) : -EINVAL;
	for (size_t i = 0; !err && i < nr_events; i++)
		if (events[i].desc->id == id)
			apply_locked(&events[i]);
	pthread_mutex_unlock(&registry_mutex);
	return err;
}

void reel_registry_drop_view(const struct reel_channel_view *view)
{
	pthread_mutex_lock(&registry_mutex);
	for (uint32_t id = 0; id < next_id && id < cap_id_targets; id++) {
		const struct reel_event_targets *list = id_targets[id];
		if (!list)
			continue;
		struct reel_event_target kept[REEL_MAX_TARGETS];
		uint32_t n = 0;
		for (uint32_t k = 0; k < list->nr; k++)
			if (list->target[k].view != view)
				kept[n++] = list->target[k];
		if (n != list->nr)
			set_targets_locked(id, kept, n);
	}
	for (size_t i = 0; i < nr_events; i++)
		apply_locked(&events[i]);
	pthread_mutex_unlock(&registry_mutex);
}

int reel_registry_describe(uint32_t from_id, reel_registry_describe_fn fn, void *arg,
			   uint32_t *ret_next)
{
	int err = 0;
	pthread_mutex_lock(&registry_mutex);
	/* One description per id: the first registered (events are in
	 * registration order, and a later one of an id has its layout). */
	for (size_t i = 0; i < nr_events && !err; i++) {
		struct reel_event_desc *desc = events[i].desc;
		if (desc->id < from_id || events[i].conflict)
			continue;
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			if (events[j].desc->id == desc->id && !events[j].conflict)
				first = false;
		if (first)
			err = fn(desc, arg);
	}
	if (!err)
		*ret_next = next_id;
	pthread_mutex_unlock(&registry_mutex);
	return err;
}


int reel_registry_metadata(struct reel_strbuf *out, size_t *cursor)
{
	int err = 0;
	pthread_mutex_lock(&registry_mutex);
	if (*cursor < declarations.len)
		err = reel_strbuf_printf(out, "%s", declarations.data + *cursor);
	if (!err)
		*cursor = declarations.len;
	pthread_mutex_unlock(&registry_mutex);
	return err;
}

void reel_registry_lock(void)
{
	pthread_mutex_lock(&registry_mutex);
}

void reel_registry_unlock(void)
{
	pthread_mutex_unlock(&registry_mutex);
}
