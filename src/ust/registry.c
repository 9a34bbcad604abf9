/* SPDX-License-Identifier: MIT */
/*
 * registry: the events that providers registered, their ids and their
 * enablement. Owns the `enabled` and `id` members of event descriptions.
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
	bool primary; /* first description of its id: the one in metadata */
};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct registered_event *events;
static size_t nr_events, cap_events;
static uint32_t next_id;
static bool tracing_on;
static char *enable_globs; /* NULL: all */

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

static bool field_is_valid(const struct reel_field_desc *f)
{
	bool int_size = f->size_bits == 8 || f->size_bits == 16 || f->size_bits == 32 ||
			f->size_bits == 64;
	switch (f->kind) {
	case REEL_FIELD_INTEGER:
	case REEL_FIELD_SEQUENCE:
		return int_size;
	case REEL_FIELD_ARRAY:
		return int_size && f->length > 0;
	case REEL_FIELD_ENUM:
		return int_size && f->enum_desc && f->enum_desc->labels;
	case REEL_FIELD_FLOAT:
		return f->size_bits == 32 || f->size_bits == 64;
	case REEL_FIELD_STRING:
		return true;
	default:
		return false;
	}
}

static bool desc_is_valid(const struct reel_event_desc *desc)
{
	if (desc->struct_size < sizeof(struct reel_event_desc) || !desc->provider || !desc->name ||
	    (desc->nr_fields && !desc->fields))
		return false;
	for (size_t i = 0; i < desc->nr_fields; i++)
		if (!desc->fields[i].name || !field_is_valid(&desc->fields[i]))
			return false;
	return true;
}

static bool same_layout(const struct reel_event_desc *a, const struct reel_event_desc *b)
{
	if (a->nr_fields != b->nr_fields)
		return false;
	for (size_t i = 0; i < a->nr_fields; i++) {
		const struct reel_field_desc *x = &a->fields[i], *y = &b->fields[i];
		if (strcmp(x->name, y->name) || x->kind != y->kind || x->size_bits != y->size_bits ||
		    x->is_signed != y->is_signed || x->length != y->length)
			return false;
	}
	return true;
}

void reel_event_register(struct reel_event_desc *desc)
{
	if (!desc_is_valid(desc)) {
		reel_debug("ignoring malformed event description %s:%s",
			   desc->provider ? desc->provider : "?", desc->name ? desc->name : "?");
		return;
	}
	pthread_mutex_lock(&registry_mutex);
	struct registered_event *same_name = NULL;
	for (size_t i = 0; i < nr_events; i++) {
		if (events[i].desc == desc)
			goto out; /* registered by another translation unit */
		if (!same_name && strcmp(events[i].desc->provider, desc->provider) == 0 &&
		    strcmp(events[i].desc->name, desc->name) == 0)
			same_name = &events[i];
	}
	if (same_name && !same_layout(same_name->desc, desc)) {
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
	desc->id = same_name ? same_name->desc->id : next_id++;
	events[nr_events++] = (struct registered_event){ desc, same_name == NULL };
	if (tracing_on && name_matches(desc, enable_globs))
		__atomic_store_n(&desc->enabled, 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&registry_mutex);
}

void reel_registry_enable(const char *globs)
{
	pthread_mutex_lock(&registry_mutex);
	free(enable_globs);
	enable_globs = globs ? strdup(globs) : NULL;
	tracing_on = true;
	for (size_t i = 0; i < nr_events; i++)
		__atomic_store_n(&events[i].desc->enabled,
				 name_matches(events[i].desc, enable_globs) ? 1 : 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&registry_mutex);
}

void reel_registry_disable(void)
{
	pthread_mutex_lock(&registry_mutex);
	tracing_on = false;
	for (size_t i = 0; i < nr_events; i++)
		__atomic_store_n(&events[i].desc->enabled, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&registry_mutex);
}

int reel_registry_metadata(struct reel_strbuf *out, size_t *cursor)
{
	int err = 0;
	pthread_mutex_lock(&registry_mutex);
	for (; *cursor < nr_events && !err; ++*cursor)
		if (events[*cursor].primary)
			err = reel_ctf_metadata_event(out, events[*cursor].desc);
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
