/* SPDX-License-Identifier: MIT */
/*
 * app: what the daemon knows of one traced application: its hello and the
 * events it registered, parsed from untrusted messages and validated as
 * the CTF writer requires before anything else sees them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/protocol.h"
#include "../ctf/metadata.h"
#include "sessiond.h"

#define MAX_APP_EVENTS 65536u
#define MAX_FIELDS 1024u
#define MAX_LABELS 65536u
#define MAX_STASH 64u

static void event_free(struct app_event *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->desc.nr_fields; i++) {
		struct reel_field_desc *f = (struct reel_field_desc *)&e->desc.fields[i];
		free((char *)f->name);
		if (f->enum_desc) {
			struct reel_enum_desc *en = (struct reel_enum_desc *)f->enum_desc;
			for (size_t k = 0; k < en->nr_labels; k++)
				free((char *)en->labels[k].label);
			free((void *)en->labels);
			free((char *)en->name);
			free(en);
		}
	}
	free((void *)e->desc.fields);
	free((char *)e->desc.provider);
	free((char *)e->desc.name);
	free(e->full_name);
	free(e->signature);
	free(e->sent);
	free(e);
}

void app_free(struct app *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->nr_events; i++)
		event_free(a->events[i]);
	free(a->events);
	free(a->mapped);
	for (size_t i = 0; i < a->nr_stash; i++)
		reel_msg_free(&a->stash[i]);
	free(a->stash);
	reel_msg_inbuf_free(&a->in);
	if (a->sock >= 0)
		close(a->sock);
	free(a);
}

static int handle_hello(struct app *a, struct reel_msg *m)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	uint64_t abi = 0, bits = 0;
	const char *procname = "unknown";
	int r;
	reel_msg_iter_init(&it, m);
	while ((r = reel_msg_next(&it, &f)) > 0) {
		if (f.tag == REEL_TAG_ABI)
			r = reel_msg_u64(&f, &abi);
		else if (f.tag == REEL_TAG_BITS)
			r = reel_msg_u64(&f, &bits);
		else if (f.tag == REEL_TAG_PROCNAME)
			r = reel_msg_str(&f, &procname);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (abi != REEL_APP_ABI(REEL_RB_ABI_VERSION, REEL__VIEW_ABI) || bits != 64) {
		reel_debug("app %d: unsupported ABI %#llx (%llu-bit)", (int)a->pid,
			   (unsigned long long)abi, (unsigned long long)bits);
		return -EPROTO;
	}
	snprintf(a->procname, sizeof(a->procname), "%s", procname);
	for (char *p = a->procname; *p; p++)
		if (*p == '/' || *p < ' ')
			*p = '_';
	a->hello = true;
	return 0;
}

/* Build the event's signature: the bytes of its layout, compared to tell
 * whether two applications' events of one name can share an id. */
static int make_signature(struct app_event *e, const char *start, const char *end)
{
	e->signature_len = (size_t)(end - start);
	e->signature = malloc(e->signature_len ? e->signature_len : 1);
	if (!e->signature)
		return -ENOMEM;
	memcpy(e->signature, start, e->signature_len);
	return 0;
}

static int add_field(struct app_event *e, size_t *cap, const char *name)
{
	if (e->desc.nr_fields >= MAX_FIELDS)
		return -E2BIG;
	if (e->desc.nr_fields == *cap) {
		size_t n = *cap ? *cap * 2 : 8;
		struct reel_field_desc *grown = realloc((void *)e->desc.fields, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		e->desc.fields = grown;
		*cap = n;
	}
	struct reel_field_desc *f = (struct reel_field_desc *)&e->desc.fields[e->desc.nr_fields];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	e->desc.nr_fields++;
	return 0;
}

static int add_label(struct reel_field_desc *f, size_t *cap, const char *label)
{
	struct reel_enum_desc *en = (struct reel_enum_desc *)f->enum_desc;
	if (!en || en->nr_labels >= MAX_LABELS)
		return -EBADMSG;
	if (en->nr_labels == *cap) {
		size_t n = *cap ? *cap * 2 : 8;
		struct reel_enum_label *grown = realloc((void *)en->labels, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		en->labels = grown;
		*cap = n;
	}
	struct reel_enum_label *l = (struct reel_enum_label *)&en->labels[en->nr_labels];
	l->label = strdup(label);
	l->first = l->last = 0;
	if (!l->label)
		return -ENOMEM;
	en->nr_labels++;
	return 0;
}

/* Parse one event record; `it` is past its REEL_TAG_EVENT marker. */
static int parse_event(struct reel_msg_iter *it, struct app_event **ret, uint64_t *ret_id)
{
	struct app_event *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->desc.struct_size = sizeof(e->desc);
	size_t field_cap = 0, label_cap = 0;
	uint64_t id = UINT64_MAX;
	struct reel_field_desc *field = NULL;
	bool range_due = false;
	/* The id comes first, so that the rest (the signature) does not
	 * depend on it. */
	struct reel_msg_field idf;
	int r = reel_msg_next(it, &idf);
	if (r > 0)
		r = idf.tag == REEL_TAG_ID ? reel_msg_u64(&idf, &id) : -EBADMSG;
	else
		r = -EBADMSG;
	const char *start = it->pos;
	while (r >= 0) {
		struct reel_msg_iter peek = *it;
		struct reel_msg_field f;
		r = reel_msg_next(&peek, &f);
		if (r <= 0 || f.tag == REEL_TAG_EVENT)
			break;
		*it = peek;
		const char *s;
		uint64_t v;
		int64_t iv;
		switch (f.tag) {
		case REEL_TAG_PROVIDER:
			if (!(r = reel_msg_str(&f, &s)) && !e->desc.provider)
				r = (e->desc.provider = strdup(s)) ? 0 : -ENOMEM;
			break;
		case REEL_TAG_NAME:
			if (!(r = reel_msg_str(&f, &s)) && !e->desc.name)
				r = (e->desc.name = strdup(s)) ? 0 : -ENOMEM;
			break;
		case REEL_TAG_LOGLEVEL:
			if (!(r = reel_msg_i64(&f, &iv)))
				e->desc.loglevel = iv < 0 || iv > 14 ? 14 : (int)iv;
			break;
		case REEL_TAG_FIELD:
			if (range_due) {
				r = -EBADMSG;
				break;
			}
			if (!(r = reel_msg_str(&f, &s)) && !(r = add_field(e, &field_cap, s))) {
				field = (struct reel_field_desc *)&e->desc.fields[e->desc.nr_fields - 1];
				label_cap = 0;
			}
			break;
		case REEL_TAG_FIELD_TYPE:
			if (!field || (r = reel_msg_u64(&f, &v)))
				r = r ? r : -EBADMSG;
			else {
				field->kind = (uint8_t)v;
				field->size_bits = (uint8_t)(v >> 8);
				field->is_signed = (uint8_t)(v >> 16);
				field->base = (uint8_t)(v >> 24);
			}
			break;
		case REEL_TAG_FIELD_LENGTH:
			if (!field || (r = reel_msg_u64(&f, &v)) || v > UINT32_MAX)
				r = r ? r : -EBADMSG;
			else
				field->length = (uint32_t)v;
			break;
		case REEL_TAG_ENUM_NAME:
			if (!field || field->enum_desc || (r = reel_msg_str(&f, &s))) {
				r = r ? r : -EBADMSG;
				break;
			}
			{
				struct reel_enum_desc *en = calloc(1, sizeof(*en));
				if (!en || !(en->name = strdup(s))) {
					free(en);
					r = -ENOMEM;
					break;
				}
				field->enum_desc = en;
			}
			break;
		case REEL_TAG_ENUM_LABEL:
			if (range_due || !field || (r = reel_msg_str(&f, &s))) {
				r = r ? r : -EBADMSG;
				break;
			}
			r = add_label(field, &label_cap, s);
			range_due = true;
			break;
		case REEL_TAG_ENUM_RANGE: {
			int64_t range[2];
			if (!range_due || f.len != sizeof(range)) {
				r = -EBADMSG;
				break;
			}
			memcpy(range, f.data, sizeof(range));
			struct reel_enum_desc *en = (struct reel_enum_desc *)field->enum_desc;
			struct reel_enum_label *l = (struct reel_enum_label *)&en->labels[en->nr_labels - 1];
			l->first = range[0];
			l->last = range[1];
			range_due = false;
			break;
		}
		default:
			break; /* a newer library's field */
		}
		if (r < 0)
			break;
	}
	if (r >= 0 && (range_due || id >= MAX_APP_EVENTS || !e->desc.provider || !e->desc.name))
		r = -EBADMSG;
	if (r >= 0 && !reel_ctf_event_is_valid(&e->desc))
		r = -EBADMSG;
	if (r >= 0 && asprintf(&e->full_name, "%s:%s", e->desc.provider, e->desc.name) < 0) {
		e->full_name = NULL;
		r = -ENOMEM;
	}
	if (r >= 0)
		r = make_signature(e, start, it->pos);
	if (r < 0) {
		event_free(e);
		return r;
	}
	*ret = e;
	*ret_id = id;
	return 0;
}

static bool knows_statedump(const struct app *a)
{
	for (uint32_t i = 0; i < a->nr_events; i++)
		if (a->events[i] && strcmp(a->events[i]->full_name, "lttng_ust_statedump:end") == 0)
			return true;
	return false;
}

static int handle_events(struct app *a, struct reel_msg *m)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	int r;
	bool changed = false, has_seq = false;
	uint64_t seq = 0;
	reel_msg_iter_init(&it, m);
	while ((r = reel_msg_next(&it, &f)) > 0) {
		if (f.tag == REEL_TAG_SEQ && !has_seq) {
			if (reel_msg_u64(&f, &seq) < 0)
				return -EBADMSG;
			has_seq = true;
			continue;
		}
		if (f.tag != REEL_TAG_EVENT)
			return -EBADMSG;
		struct app_event *e;
		uint64_t id;
		r = parse_event(&it, &e, &id);
		if (r < 0)
			return r;
		if (id >= a->nr_events) {
			uint32_t n = a->nr_events ? a->nr_events : 16;
			while (n <= id)
				n *= 2;
			struct app_event **grown = realloc(a->events, n * sizeof(*grown));
			if (!grown) {
				event_free(e);
				return -ENOMEM;
			}
			memset(grown + a->nr_events, 0, (n - a->nr_events) * sizeof(*grown));
			a->events = grown;
			a->nr_events = n;
		}
		if (a->events[id]) {
			event_free(e); /* already described: ids never change meaning */
			continue;
		}
		/* The signature omits the id: two applications' events of one
		 * name and layout are one event class. */
		e->desc.id = (uint32_t)id;
		a->events[id] = e;
		changed = true;
	}
	if (r < 0)
		return r;
	if (changed)
		enablement_update();
	/* Registered with a started session, its statedump events known
	 * and enabled: its state, as LTTng-UST. */
	bool dump = false;
	for (struct session *s = reeld.sessions; s && !dump; s = s->next)
		dump = s->active;
	dump = dump && !a->statedumped && knows_statedump(a);
	if (!has_seq) {
		if (dump)
			statedump_request(a);
		return 0;
	}
	/* After the enablement: the application may now go on. */
	struct reel_msg ack;
	reel_msg_init(&ack, REEL_APP_ACK);
	reel_msg_put_u64(&ack, REEL_TAG_SEQ, seq);
	r = reel_msg_send(a->sock, &ack);
	reel_msg_free(&ack);
	if (!r && dump)
		statedump_request(a);
	return r;
}

int app_handle(struct app *a, struct reel_msg *m)
{
	if (!a->hello && m->type != REEL_APP_HELLO)
		return -EPROTO;
	switch (m->type) {
	case REEL_APP_HELLO:
		return a->hello ? -EPROTO : handle_hello(a, m);
	case REEL_APP_EVENTS:
		return handle_events(a, m);
	case REEL_APP_BYE:
		a->said_bye = true;
		return 0;
	default:
		return -EPROTO;
	}
}

void rule_free(struct rule *r)
{
	free(r->pattern);
	for (size_t i = 0; i < r->nr_excludes; i++)
		free(r->excludes[i]);
	free(r->excludes);
}

bool channel_records(const struct channel *ch, const struct app_event *e)
{
	for (size_t i = 0; i < ch->nr_disabled; i++)
		if (fnmatch(ch->disabled[i], e->full_name, 0) == 0)
			return false;
	for (size_t i = 0; i < ch->nr_rules; i++)
		if (event_matches_rule(e, &ch->rules[i]))
			return true;
	return false;
}

bool event_matches_rule(const struct app_event *e, const struct rule *r)
{
	if (fnmatch(r->pattern, e->full_name, 0) != 0)
		return false;
	for (size_t i = 0; i < r->nr_excludes; i++)
		if (fnmatch(r->excludes[i], e->full_name, 0) == 0)
			return false;
	switch (r->loglevel_match) {
	case REEL_LOGLEVEL_RANGE:
		return e->desc.loglevel <= r->loglevel;
	case REEL_LOGLEVEL_SINGLE:
		return e->desc.loglevel == r->loglevel;
	default:
		return true;
	}
}

static bool is_ack(struct reel_msg *m, uint64_t seq)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	uint64_t v;
	if (m->type != REEL_APP_ACK)
		return false;
	reel_msg_iter_init(&it, m);
	while (reel_msg_next(&it, &f) > 0)
		if (f.tag == REEL_TAG_SEQ && reel_msg_u64(&f, &v) == 0 && v == seq)
			return true;
	return false;
}

static int stash(struct app *a, struct reel_msg *m)
{
	struct reel_msg *grown = a->nr_stash < MAX_STASH ?
		realloc(a->stash, (a->nr_stash + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		reel_msg_free(m);
		return -ENOBUFS;
	}
	a->stash = grown;
	a->stash[a->nr_stash++] = *m;
	return 0;
}

int app_wait_ack(struct app *a, uint64_t seq, uint64_t deadline)
{
	for (;;) {
		struct reel_msg m;
		int r;
		while ((r = reel_msg_inbuf_take(&a->in, &m)) == 1) {
			if (is_ack(&m, seq)) {
				reel_msg_free(&m);
				return 0;
			}
			if (m.type == REEL_APP_ACK) { /* an older one, timed out */
				reel_msg_free(&m);
				continue;
			}
			if ((r = stash(a, &m)) < 0)
				return r;
		}
		if (r < 0)
			return r;
		uint64_t now = monotonic_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { a->sock, POLLIN, 0 };
		int n = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && (r = reel_msg_inbuf_fill(a->sock, &a->in)) < 0 && r != -EAGAIN)
			return r;
	}
}

int app_pump(struct app *a)
{
	int err = 0;
	/* Handling may stash more: take one at a time. */
	while (a->nr_stash && !err && !a->dead) {
		struct reel_msg m = a->stash[0];
		memmove(a->stash, a->stash + 1, (a->nr_stash - 1) * sizeof(*a->stash));
		a->nr_stash--;
		err = app_handle(a, &m);
		reel_msg_free(&m);
	}
	struct reel_msg m;
	int r;
	while (!err && !a->dead && (r = reel_msg_inbuf_take(&a->in, &m)) != 0) {
		if (r < 0)
			return r;
		err = app_handle(a, &m);
		reel_msg_free(&m);
		/* Messages stashed meanwhile come before the rest. */
		while (a->nr_stash && !err && !a->dead) {
			struct reel_msg s = a->stash[0];
			memmove(a->stash, a->stash + 1, (a->nr_stash - 1) * sizeof(*a->stash));
			a->nr_stash--;
			err = app_handle(a, &s);
			reel_msg_free(&s);
		}
	}
	return a->dead ? -EPIPE : err;
}
