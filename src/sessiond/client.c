/* SPDX-License-Identifier: MIT */
/*
 * client: the control requests of libreel-ctl (src/common/protocol.h),
 * checked and carried out on the daemon's sessions. Every request gets one
 * reply: a status (0 or a negative errno), a message when it failed, and
 * the data asked for. Main thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../common/log.h"
#include "../common/protocol.h"
#include "../common/strbuf.h"
#include "sessiond.h"

#define MAX_PATTERN 1024
#define MAX_EXCLUDES 64

/* What a request may carry, parsed and checked once. */
struct request {
	const char *session, *output, *channel, *pattern, *context, *hook, *compress, *publish;
	uint64_t rotate_timer, rotate_size, id, timeout, keep_chunks, keep_bytes, snapshot;
	uint64_t max_size;
	uint64_t subbuf_size, num_subbuf, overwrite, buffers, switch_timer;
	uint64_t loglevel_match, domain, syscall;
	int64_t loglevel;
	const char *excludes[MAX_EXCLUDES];
	size_t nr_excludes;
};

static int parse(struct reel_msg *m, struct request *r)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	int e;
	memset(r, 0, sizeof(*r));
	reel_msg_iter_init(&it, m);
	while ((e = reel_msg_next(&it, &f)) > 0) {
		switch (f.tag) {
		case REEL_TAG_SESSION: e = reel_msg_str(&f, &r->session); break;
		case REEL_TAG_OUTPUT: e = reel_msg_str(&f, &r->output); break;
		case REEL_TAG_CHANNEL: e = reel_msg_str(&f, &r->channel); break;
		case REEL_TAG_PATTERN: e = reel_msg_str(&f, &r->pattern); break;
		case REEL_TAG_CONTEXT: e = reel_msg_str(&f, &r->context); break;
		case REEL_TAG_HOOK: e = reel_msg_str(&f, &r->hook); break;
		case REEL_TAG_PUBLISH: e = reel_msg_str(&f, &r->publish); break;
		case REEL_TAG_ID: e = reel_msg_u64(&f, &r->id); break;
		case REEL_TAG_TIMEOUT: e = reel_msg_u64(&f, &r->timeout); break;
		case REEL_TAG_KEEP_CHUNKS: e = reel_msg_u64(&f, &r->keep_chunks); break;
		case REEL_TAG_KEEP_BYTES: e = reel_msg_u64(&f, &r->keep_bytes); break;
		case REEL_TAG_SNAPSHOT: e = reel_msg_u64(&f, &r->snapshot); break;
		case REEL_TAG_ROTATE_TIMER: e = reel_msg_u64(&f, &r->rotate_timer); break;
		case REEL_TAG_ROTATE_SIZE: e = reel_msg_u64(&f, &r->rotate_size); break;
		case REEL_TAG_COMPRESS: e = reel_msg_str(&f, &r->compress); break;
		case REEL_TAG_MAX_SIZE: e = reel_msg_u64(&f, &r->max_size); break;
		case REEL_TAG_EXCLUDE:
			if (r->nr_excludes == MAX_EXCLUDES)
				return -E2BIG;
			e = reel_msg_str(&f, &r->excludes[r->nr_excludes]);
			if (!e && strlen(r->excludes[r->nr_excludes]) > MAX_PATTERN)
				e = -EINVAL;
			r->nr_excludes++;
			break;
		case REEL_TAG_SUBBUF_SIZE: e = reel_msg_u64(&f, &r->subbuf_size); break;
		case REEL_TAG_NUM_SUBBUF: e = reel_msg_u64(&f, &r->num_subbuf); break;
		case REEL_TAG_OVERWRITE: e = reel_msg_u64(&f, &r->overwrite); break;
		case REEL_TAG_BUFFERS: e = reel_msg_u64(&f, &r->buffers); break;
		case REEL_TAG_SWITCH_TIMER: e = reel_msg_u64(&f, &r->switch_timer); break;
		case REEL_TAG_LOGLEVEL_MATCH: e = reel_msg_u64(&f, &r->loglevel_match); break;
		case REEL_TAG_LOGLEVEL: e = reel_msg_i64(&f, &r->loglevel); break;
		case REEL_TAG_DOMAIN: e = reel_msg_u64(&f, &r->domain); break;
		case REEL_TAG_SYSCALL: e = reel_msg_u64(&f, &r->syscall); break;
		default: e = 0; break;
		}
		if (e < 0)
			return e;
	}
	if (e < 0)
		return e;
	if (r->subbuf_size > UINT32_MAX || r->num_subbuf > UINT32_MAX ||
	    r->switch_timer > UINT32_MAX || r->buffers > REEL_BUFFERS_PID ||
	    r->loglevel_match > REEL_LOGLEVEL_SINGLE || r->loglevel < 0 || r->loglevel > 14 ||
	    r->domain > REEL_DOMAIN_KERNEL)
		return -EINVAL;
	return 0;
}

/* The session a request names, or the current one. */
static struct session *target(uid_t uid, const struct request *r, char *err, size_t size)
{
	const char *name = r->session ? r->session : reeld.current[0] ? reeld.current : NULL;
	if (!name) {
		snprintf(err, size, "no session given and no current session (create one first)");
		return NULL;
	}
	struct session *s = session_find(uid, name);
	if (!s)
		snprintf(err, size, "session '%s' not found", name);
	return s;
}

static struct channel *channel_or_default(struct session *s, const char *name, bool create,
					  int *ret_err, char *err, size_t size)
{
	const char *n = name ? name : "channel0";
	struct channel *ch = session_channel(s, n);
	if (ch || !create) {
		if (!ch) {
			snprintf(err, size, "channel '%s' not found in session '%s'", n, s->name);
			*ret_err = -ENOENT;
		}
		return ch;
	}
	struct reel_channel_config c = { .struct_size = sizeof(c), .name = n };
	*ret_err = session_add_channel(s, &c, err, size);
	return *ret_err ? NULL : session_channel(s, n);
}

static bool remove_disabled(struct channel *ch, const char *pattern)
{
	for (size_t i = 0; i < ch->nr_disabled; i++) {
		if (strcmp(ch->disabled[i], pattern) != 0)
			continue;
		free(ch->disabled[i]);
		ch->disabled[i] = ch->disabled[--ch->nr_disabled];
		return true;
	}
	return false;
}

/* A request's pattern: there, and not too long. */
static bool pattern_invalid(const struct request *r, char *err, size_t size)
{
	if (!r->pattern || !*r->pattern) {
		snprintf(err, size, "an event pattern is required");
		return true;
	}
	if (strlen(r->pattern) > MAX_PATTERN) {
		snprintf(err, size, "the event pattern is too long (%zu bytes; at most %d)",
			 strlen(r->pattern), MAX_PATTERN);
		return true;
	}
	return false;
}

/* ---- the kernel domain ------------------------------------------------------ */

static int kernel_allowed(uid_t uid, char *err, size_t size)
{
	if (reeld.no_kernel) {
		snprintf(err, size, "this session daemon refuses the kernel domain (reeld --no-kernel)");
		return -EPERM;
	}
	if (uid != 0) {
		snprintf(err, size, "kernel tracing needs root (run `reel` as root, which uses "
				    "root's session daemon)");
		return -EPERM;
	}
	return 0;
}

/* enable-channel -k: the kernel buffers' size, before the first kernel
 * event. One kernel channel, "channel0", as LTTng's default. */
static int kernel_channel(struct session *s, uid_t uid, const struct request *r, char *err,
			  size_t size)
{
	int e = kernel_allowed(uid, err, size);
	if (e)
		return e;
	if (s->kernel) {
		snprintf(err, size, "the kernel channel of session '%s' exists already (enable-channel "
				    "-k comes before the first kernel event)", s->name);
		return -EEXIST;
	}
	if (r->channel && strcmp(r->channel, "channel0") != 0) {
		snprintf(err, size, "the kernel domain has one channel, channel0");
		return -EINVAL;
	}
	if (r->overwrite) {
		snprintf(err, size, "kernel channels are in discard mode");
		return -ENOTSUP;
	}
	uint64_t bytes = (r->subbuf_size ? r->subbuf_size : 1u << 20) * (r->num_subbuf ? r->num_subbuf : 4);
	if (bytes < 65536 || bytes > (1ull << 32)) {
		snprintf(err, size, "kernel buffers of %llu bytes per CPU: give 64 KiB to 4 GiB",
			 (unsigned long long)bytes);
		return -EINVAL;
	}
	s->kernel_config.buffer_kb = (uint32_t)(bytes / 1024);
	s->kernel_subbuf_size = (uint32_t)(r->subbuf_size ? r->subbuf_size : 1u << 20);
	s->kernel_num_subbuf = (uint32_t)(r->num_subbuf ? r->num_subbuf : 4);
	return 0;
}

/* The rules `list` shows: "sched_*", "syscall openat"; a disabled one
 * goes, or shows as disabled. */
static void kernel_rule_note(struct session *s, const char *pattern, bool syscall, bool enable)
{
	char text[MAX_PATTERN + 32];
	snprintf(text, sizeof(text), "%s%s", syscall ? "syscall " : "", pattern);
	for (size_t i = 0; i < s->nr_kernel_rules; i++) {
		if (strcmp(s->kernel_rules[i], text) != 0)
			continue;
		if (!enable) {
			free(s->kernel_rules[i]);
			s->kernel_rules[i] = s->kernel_rules[--s->nr_kernel_rules];
		}
		return;
	}
	if (!enable)
		strncat(text, " (disabled)", sizeof(text) - strlen(text) - 1);
	char **grown = realloc(s->kernel_rules, (s->nr_kernel_rules + 1) * sizeof(*grown));
	char *copy = strdup(text);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			s->kernel_rules = grown;
		return;
	}
	s->kernel_rules = grown;
	s->kernel_rules[s->nr_kernel_rules++] = copy;
}

/* The kernel events of a pattern list ("a,b,c"), enabled or disabled. */
static int kernel_events(struct session *s, uid_t uid, const struct request *r, bool enable,
			 struct reel_msg *data, char *err, size_t size)
{
	int e = kernel_allowed(uid, err, size);
	if (e)
		return e;
	if (pattern_invalid(r, err, size))
		return -EINVAL;
	bool created = false;
	if (!s->kernel) {
		if (!enable) {
			snprintf(err, size, "session '%s' records no kernel event", s->name);
			return -ENOENT;
		}
		if (s->started_once) {
			snprintf(err, size, "the kernel domain is added before the session first starts");
			return -EINVAL;
		}
		s->kernel_config.snapshot = s->snapshot_mode;
		e = reel_ktrace_new(&s->kernel_config, &s->kernel, err, size);
		if (e)
			return e;
		created = true;
		if (getrandom(s->kernel_uuid, sizeof(s->kernel_uuid), 0) != sizeof(s->kernel_uuid))
			memset(s->kernel_uuid, 0x5a, sizeof(s->kernel_uuid));
		s->kernel_uuid[6] = (uint8_t)((s->kernel_uuid[6] & 0x0f) | 0x40);
		s->kernel_uuid[8] = (uint8_t)((s->kernel_uuid[8] & 0x3f) | 0x80);
		time_t now = time(NULL);
		struct tm tm;
		strftime(s->kernel_datetime, sizeof(s->kernel_datetime), "%Y%m%dT%H%M%S%z",
			 localtime_r(&now, &tm));
		const char *why = reel_ktrace_warning(s->kernel);
		if (why)
			reel_msg_put_str(data, REEL_TAG_WARNING, why);
	}
	char list[MAX_PATTERN + 1];
	snprintf(list, sizeof(list), "%s", r->pattern);
	char *save = NULL;
	/* All or nothing: every pattern must name something first. */
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		const char *pattern = strcmp(p, "-a") == 0 ? "*" : p;
		if ((e = reel_ktrace_check(s->kernel, pattern, r->syscall != 0, err, size)) < 0)
			break;
	}
	snprintf(list, sizeof(list), "%s", r->pattern);
	save = NULL;
	for (char *p = e < 0 ? NULL : strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		const char *pattern = strcmp(p, "-a") == 0 ? "*" : p;
		e = enable ? reel_ktrace_enable(s->kernel, pattern, r->syscall != 0, err, size) :
			     reel_ktrace_disable(s->kernel, pattern, r->syscall != 0, err, size);
		if (e < 0)
			break;
		kernel_rule_note(s, pattern, r->syscall != 0, enable);
	}
	/* A kernel domain this request created records nothing: it goes. */
	if (e < 0 && created && !s->nr_kernel_rules) {
		reel_ktrace_destroy(s->kernel);
		s->kernel = NULL;
	}
	return e < 0 ? e : 0;
}

static int enable_event(struct session *s, const struct request *r, char *err, size_t size)
{
	if (pattern_invalid(r, err, size))
		return -EINVAL;
	int e = 0;
	struct channel *ch = channel_or_default(s, r->channel, true, &e, err, size);
	if (!ch)
		return e;
	/* Naming a disabled pattern again enables it again. */
	bool was_disabled = remove_disabled(ch, r->pattern);
	for (size_t i = 0; i < ch->nr_rules; i++) {
		struct rule *x = &ch->rules[i];
		if (strcmp(x->pattern, r->pattern) == 0 && x->loglevel_match == r->loglevel_match &&
		    x->loglevel == r->loglevel && x->nr_excludes == r->nr_excludes) {
			if (was_disabled) {
				enablement_update();
				return 0;
			}
			snprintf(err, size, "event rule '%s' is already enabled in channel '%s'",
				 r->pattern, ch->name);
			return -EEXIST;
		}
	}
	struct rule *grown = realloc(ch->rules, (ch->nr_rules + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ch->rules = grown;
	struct rule *x = &ch->rules[ch->nr_rules];
	memset(x, 0, sizeof(*x));
	x->pattern = strdup(r->pattern);
	x->excludes = r->nr_excludes ? calloc(r->nr_excludes, sizeof(*x->excludes)) : NULL;
	bool ok = x->pattern && (!r->nr_excludes || x->excludes);
	for (size_t i = 0; ok && i < r->nr_excludes; i++) {
		x->excludes[i] = strdup(r->excludes[i]);
		ok = x->excludes[i] != NULL;
		x->nr_excludes += ok;
	}
	if (!ok) {
		rule_free(x);
		return -ENOMEM;
	}
	x->loglevel_match = (uint32_t)r->loglevel_match;
	x->loglevel = (int32_t)r->loglevel;
	ch->nr_rules++;
	enablement_update();
	return 0;
}

static int disable_event(struct session *s, const struct request *r, char *err, size_t size)
{
	if (pattern_invalid(r, err, size))
		return -EINVAL;
	int e = 0;
	struct channel *ch = channel_or_default(s, r->channel, false, &e, err, size);
	if (!ch)
		return e;
	bool all = strcmp(r->pattern, "*") == 0;
	size_t kept = 0, removed = 0;
	for (size_t i = 0; i < ch->nr_rules; i++) {
		if (all || strcmp(ch->rules[i].pattern, r->pattern) == 0) {
			rule_free(&ch->rules[i]);
			removed++;
		} else {
			ch->rules[kept++] = ch->rules[i];
		}
	}
	ch->nr_rules = kept;
	if (all) {
		while (ch->nr_disabled)
			free(ch->disabled[--ch->nr_disabled]);
	} else if (!removed) {
		/* No rule of its own: leave its events out of the others. */
		bool known = false;
		for (size_t i = 0; i < ch->nr_disabled && !known; i++)
			known = strcmp(ch->disabled[i], r->pattern) == 0;
		if (known) {
			snprintf(err, size, "'%s' is already disabled in channel '%s'", r->pattern,
				 ch->name);
			return -EEXIST;
		}
		char **grown = realloc(ch->disabled, (ch->nr_disabled + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ch->disabled = grown;
		if (!(ch->disabled[ch->nr_disabled] = strdup(r->pattern)))
			return -ENOMEM;
		ch->nr_disabled++;
	}
	enablement_update();
	return 0;
}

/* add-context -k: "tid", LTTng's kernel context, before the session
 * starts. */
static int kernel_context(struct session *s, uid_t uid, const struct request *r, char *err,
			  size_t size)
{
	int e = kernel_allowed(uid, err, size);
	if (e)
		return e;
	if (!r->context || strcmp(r->context, "tid") != 0) {
		snprintf(err, size, "unknown kernel context type '%s' (tid)",
			 r->context ? r->context : "");
		return -EINVAL;
	}
	if (s->started_once) {
		snprintf(err, size, "session '%s' has been started: contexts cannot be added", s->name);
		return -EBUSY;
	}
	s->kernel_config.context_tid = true;
	return s->kernel ? reel_ktrace_add_context(s->kernel, r->context) : 0;
}

static int add_context(struct session *s, const struct request *r, char *err, size_t size)
{
	uint32_t bit = r->context ? context_of_name(r->context) : 0;
	if (!bit) {
		snprintf(err, size, "unknown context type '%s' (vpid, vtid, procname, pthread_id, cpu_id)",
			 r->context ? r->context : "");
		return -EINVAL;
	}
	if (s->started_once) {
		snprintf(err, size, "session '%s' has been started: contexts cannot be added", s->name);
		return -EBUSY;
	}
	int e = 0;
	if (r->channel || s->nr_channels == 0) {
		struct channel *ch = channel_or_default(s, r->channel, !r->channel, &e, err, size);
		if (!ch)
			return e;
	}
	for (uint32_t i = 0; i < s->nr_channels; i++) {
		struct channel *ch = s->channels[i];
		if (r->channel && strcmp(ch->name, r->channel) != 0)
			continue;
		if (ch->contexts & bit && r->channel) {
			snprintf(err, size, "context '%s' is already in channel '%s'", r->context,
				 ch->name);
			return -EEXIST;
		}
		ch->contexts |= bit;
	}
	return 0;
}

static uint32_t apps_tracing(const struct session *s)
{
	uint32_t n = 0;
	if (!s->active)
		return 0;
	for (const struct app *a = reeld.apps; a; a = a->next) {
		bool in = false;
		for (uint32_t i = 0; i < a->nr_events && !in; i++)
			if (a->events[i] && a->events[i]->nr_sent)
				in = true;
		n += in;
	}
	return n;
}

static void describe_session(struct reel_msg *m, struct session *s)
{
	reel_msg_put_str(m, REEL_TAG_SESSION, s->name);
	reel_msg_put_str(m, REEL_TAG_OUTPUT, s->output);
	reel_msg_put_u64(m, REEL_TAG_ACTIVE, s->active);
	reel_msg_put_u64(m, REEL_TAG_NR_APPS, apps_tracing(s));
	pthread_mutex_lock(&s->lock);
	if (s->error[0] || s->publish_error[0]) {
		/* --publish failing is the session's error too (status) */
		char both[sizeof(s->error) + sizeof(s->publish_error) + 64];
		snprintf(both, sizeof(both), "%s%s%s%s%s", s->error, s->error[0] && s->publish_error[0] ? "; " : "",
			 s->publish_error[0] ? "chunks not announced: " : "", s->publish_error,
			 s->publish_error[0] ? " (retrying)" : "");
		reel_msg_put_str(m, REEL_TAG_SESSION_ERROR, both);
	}
	for (uint32_t c = 0; c < s->nr_channels; c++) {
		struct channel *ch = s->channels[c];
		uint64_t packets = s->retired[c].packets, bytes = s->retired[c].bytes;
		uint64_t discarded = s->retired[c].discarded, lost = s->retired[c].lost_packets;
		for (struct trace *t = s->traces; t; t = t->next) {
			struct bufset *b = c < t->nr_bufsets ? t->bufsets[c] : NULL;
			if (!b)
				continue;
			packets += b->stat_packets;
			bytes += b->stat_bytes;
			lost += b->stat_lost_packets;
			for (uint32_t k = 0; k < b->nr_streams; k++)
				discarded += reel_rb_lost_total(b->streams[k]);
		}
		reel_msg_put_str(m, REEL_TAG_CHANNEL, ch->name);
		reel_msg_put_u64(m, REEL_TAG_SUBBUF_SIZE, ch->config.subbuf_size);
		reel_msg_put_u64(m, REEL_TAG_NUM_SUBBUF, ch->config.num_subbuf);
		reel_msg_put_u64(m, REEL_TAG_OVERWRITE, ch->config.overwrite);
		reel_msg_put_u64(m, REEL_TAG_BUFFERS, ch->config.buffers);
		reel_msg_put_u64(m, REEL_TAG_SWITCH_TIMER, ch->config.switch_timer_us);
		reel_msg_put_u64(m, REEL_TAG_PACKETS, packets);
		reel_msg_put_u64(m, REEL_TAG_BYTES, bytes);
		reel_msg_put_u64(m, REEL_TAG_DISCARDED, discarded);
		reel_msg_put_u64(m, REEL_TAG_LOST_PACKETS, lost);
		for (size_t r = 0; r < ch->nr_rules; r++) {
			struct reel_strbuf text = { 0 };
			const struct rule *x = &ch->rules[r];
			reel_strbuf_printf(&text, "%s", x->pattern);
			if (x->loglevel_match == REEL_LOGLEVEL_RANGE)
				reel_strbuf_printf(&text, " (loglevel <= %d)", x->loglevel);
			else if (x->loglevel_match == REEL_LOGLEVEL_SINGLE)
				reel_strbuf_printf(&text, " (loglevel == %d)", x->loglevel);
			for (size_t k = 0; k < x->nr_excludes; k++)
				reel_strbuf_printf(&text, "%s%s", k ? ", " : " (excluding ",
						   x->excludes[k]);
			if (x->nr_excludes)
				reel_strbuf_printf(&text, ")");
			reel_msg_put_str(m, REEL_TAG_RULE, text.failed ? "?" : text.data);
			reel_strbuf_free(&text);
		}
		for (size_t k = 0; k < ch->nr_disabled; k++) {
			struct reel_strbuf text = { 0 };
			reel_strbuf_printf(&text, "%s (disabled)", ch->disabled[k]);
			reel_msg_put_str(m, REEL_TAG_RULE, text.failed ? "?" : text.data);
			reel_strbuf_free(&text);
		}
		for (uint32_t k = 0; context_names[k]; k++)
			if (ch->contexts & (1u << k))
				reel_msg_put_str(m, REEL_TAG_CONTEXT, context_names[k]);
	}
	uint64_t rate = (uint64_t)s->rate;
	pthread_mutex_unlock(&s->lock);
	if (s->kernel) {
		struct reel_ktrace_stats k;
		reel_ktrace_stats(s->kernel, &k);
		reel_msg_put_str(m, REEL_TAG_CHANNEL, "channel0");
		reel_msg_put_u64(m, REEL_TAG_DOMAIN, REEL_DOMAIN_KERNEL);
		reel_msg_put_u64(m, REEL_TAG_SUBBUF_SIZE, s->kernel_subbuf_size ? s->kernel_subbuf_size : 1u << 20);
		reel_msg_put_u64(m, REEL_TAG_NUM_SUBBUF, s->kernel_num_subbuf ? s->kernel_num_subbuf : 4);
		reel_msg_put_u64(m, REEL_TAG_PACKETS, k.packets);
		reel_msg_put_u64(m, REEL_TAG_BYTES, k.bytes);
		reel_msg_put_u64(m, REEL_TAG_DISCARDED, k.discarded);
		reel_msg_put_u64(m, REEL_TAG_LOST_PACKETS, k.lost_packets);
		for (size_t r = 0; r < s->nr_kernel_rules; r++)
			reel_msg_put_str(m, REEL_TAG_RULE, s->kernel_rules[r]);
	}
	reel_msg_put_u64(m, REEL_TAG_RATE, rate);
}

static void list_apps(struct reel_msg *m, uid_t uid)
{
	for (struct app *a = reeld.apps; a; a = a->next) {
		if (!a->hello || (uid != 0 && a->uid != uid))
			continue;
		reel_msg_put_i64(m, REEL_TAG_APP_PID, a->pid);
		reel_msg_put_u64(m, REEL_TAG_UID, a->uid);
		reel_msg_put_str(m, REEL_TAG_PROCNAME, a->procname);
		for (uint32_t i = 0; i < a->nr_events; i++) {
			if (!a->events[i])
				continue;
			reel_msg_put_str(m, REEL_TAG_NAME, a->events[i]->full_name);
			reel_msg_put_i64(m, REEL_TAG_LOGLEVEL, a->events[i]->desc.loglevel);
		}
	}
}

static void reply_chunk(int sock, int status, const char *error, const struct chunk *c)
{
	struct reel_msg reply;
	reel_msg_init(&reply, REEL_CTL_REPLY);
	reel_msg_put_i64(&reply, REEL_TAG_STATUS, status);
	if (status)
		reel_msg_put_str(&reply, REEL_TAG_ERROR, error);
	else {
		reel_msg_put_str(&reply, REEL_TAG_CHUNK, c->path);
		reel_msg_put_u64(&reply, REEL_TAG_ID, c->index);
	}
	reel_msg_send(sock, &reply);
	reel_msg_free(&reply);
}

/* The chunk of index `index` or later, if archived (and compressed, when
 * it is: chunks are announced in order, once their files are final). Lock
 * held. */
static const struct chunk *chunk_from(const struct session *s, uint64_t index)
{
	for (size_t i = 0; i < s->nr_chunks; i++)
		if (s->chunks[i].index >= index && s->chunks[i].path && !s->chunks[i].compress)
			return &s->chunks[i];
	return NULL;
}

/* Answer `sock` when chunk `index` of `s` is announced, or after
 * `timeout_ms` (0: an hour). */
static int add_waiter(int sock, uid_t uid, const struct session *s, uint64_t index,
		      uint64_t timeout_ms)
{
	struct rotation_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->sock = sock;
	w->uid = uid;
	snprintf(w->session, sizeof(w->session), "%s", s->name);
	w->index = index;
	w->deadline = monotonic_ns() + (timeout_ms ? timeout_ms : 3600000) * 1000000ull;
	w->next = reeld.waiters;
	reeld.waiters = w;
	return 0;
}

uint64_t rotation_waiters_serve(bool all, int gone_sock)
{
	uint64_t now = monotonic_ns(), next = UINT64_MAX;
	for (struct rotation_waiter **p = &reeld.waiters; *p;) {
		struct rotation_waiter *w = *p;
		if (w->sock == gone_sock) {
			*p = w->next;
			free(w);
			continue;
		}
		struct session *s = session_find(w->uid, w->session);
		bool done = true;
		if (!s) {
			reply_chunk(w->sock, -ENOENT, "the session was destroyed", NULL);
		} else {
			pthread_mutex_lock(&s->lock);
			const struct chunk *c = chunk_from(s, w->index);
			if (c)
				reply_chunk(w->sock, 0, NULL, c);
			else if (all || now >= w->deadline)
				reply_chunk(w->sock, -ETIMEDOUT, "no rotation happened in time", NULL);
			else
				done = false;
			pthread_mutex_unlock(&s->lock);
		}
		if (done) {
			*p = w->next;
			free(w);
		} else {
			next = w->deadline < next ? w->deadline : next;
			p = &w->next;
		}
	}
	return next;
}

int client_handle(int sock, uid_t uid, struct reel_msg *req)
{
	struct reel_msg reply;
	reel_msg_init(&reply, REEL_CTL_REPLY);
	struct reel_msg data;
	reel_msg_init(&data, 0);
	char err[512] = "";
	struct request r;
	struct session *s = NULL;
	int status = parse(req, &r);
	if (status) {
		snprintf(err, sizeof(err), "malformed request");
		goto reply;
	}
	switch (req->type) {
	case REEL_CTL_CREATE:
		status = session_create(uid, r.session, r.output, r.snapshot != 0, &s, err,
					sizeof(err));
		if (!status) {
			reel_msg_put_str(&data, REEL_TAG_SESSION, s->name);
			reel_msg_put_str(&data, REEL_TAG_OUTPUT, s->output);
		}
		break;
	case REEL_CTL_SET_SESSION:
		if ((s = target(uid, &r, err, sizeof(err))))
			snprintf(reeld.current, sizeof(reeld.current), "%s", s->name);
		else
			status = -ENOENT;
		break;
	case REEL_CTL_START:
		if (!(s = target(uid, &r, err, sizeof(err))))
			status = -ENOENT;
		else
			status = session_start(s, err, sizeof(err));
		break;
	case REEL_CTL_STOP:
		if (!(s = target(uid, &r, err, sizeof(err))))
			status = -ENOENT;
		else if ((status = session_stop(s)) == -EALREADY)
			snprintf(err, sizeof(err), "session '%s' is already stopped", s->name);
		break;
	case REEL_CTL_DESTROY:
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
		} else {
			reel_msg_put_str(&data, REEL_TAG_SESSION, s->name);
			reel_msg_put_str(&data, REEL_TAG_OUTPUT, s->output);
			session_destroy(s);
		}
		break;
	case REEL_CTL_ENABLE_CHANNEL: {
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
			break;
		}
		if (r.domain == REEL_DOMAIN_KERNEL) {
			status = kernel_channel(s, uid, &r, err, sizeof(err));
			break;
		}
		struct reel_channel_config c = {
			.struct_size = sizeof(c),
			.name = r.channel,
			.subbuf_size = (uint32_t)r.subbuf_size,
			.num_subbuf = (uint32_t)r.num_subbuf,
			.overwrite = r.overwrite != 0,
			.buffers = (uint32_t)r.buffers,
			.switch_timer_us = (uint32_t)r.switch_timer,
		};
		status = session_add_channel(s, &c, err, sizeof(err));
		break;
	}
	case REEL_CTL_ENABLE_EVENT:
		if (!(s = target(uid, &r, err, sizeof(err))))
			status = -ENOENT;
		else if (r.domain == REEL_DOMAIN_KERNEL)
			status = kernel_events(s, uid, &r, true, &data, err, sizeof(err));
		else
			status = enable_event(s, &r, err, sizeof(err));
		break;
	case REEL_CTL_DISABLE_EVENT:
		if (!(s = target(uid, &r, err, sizeof(err))))
			status = -ENOENT;
		else if (r.domain == REEL_DOMAIN_KERNEL)
			status = kernel_events(s, uid, &r, false, &data, err, sizeof(err));
		else
			status = disable_event(s, &r, err, sizeof(err));
		break;
	case REEL_CTL_ADD_CONTEXT:
		if (!(s = target(uid, &r, err, sizeof(err))))
			status = -ENOENT;
		else
			status = r.domain == REEL_DOMAIN_KERNEL ?
					 kernel_context(s, uid, &r, err, sizeof(err)) :
					 add_context(s, &r, err, sizeof(err));
		break;
	case REEL_CTL_SNAPSHOT_RECORD:
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
		} else if (!s->snapshot_mode) {
			status = -EINVAL;
			snprintf(err, sizeof(err),
				 "session '%s' is not a snapshot session (reel create --snapshot)",
				 s->name);
		} else if (!s->started_once) {
			status = -EINVAL;
			snprintf(err, sizeof(err), "session '%s' was never started: nothing to record",
				 s->name);
		} else if (r.output && r.output[0] != '/') {
			status = -EINVAL;
			snprintf(err, sizeof(err), "the snapshot directory must be absolute");
		} else if ((status = consumer_snapshot(s, r.output, r.max_size, err,
						       sizeof(err))) < 0) {
			if (!err[0])
				snprintf(err, sizeof(err), "snapshot of session '%s' failed: %s",
					 s->name, strerror(-status));
		} else {
			pthread_mutex_lock(&s->lock);
			reel_msg_put_str(&data, REEL_TAG_CHUNK, s->snapshot_path);
			pthread_mutex_unlock(&s->lock);
		}
		break;
	case REEL_CTL_ROTATE:
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
		} else if (!s->started_once || s->snapshot_mode) {
			status = -EINVAL;
			snprintf(err, sizeof(err), "session '%s' %s: nothing to rotate", s->name,
				 s->snapshot_mode ? "is a snapshot session" : "was never started");
		} else if ((status = consumer_rotate(s)) < 0) {
			pthread_mutex_lock(&s->lock);
			const char *why = s->rotate_message[0] ? s->rotate_message :
								 strerror(-status);
			if (snprintf(err, sizeof(err), "rotation of session '%s' failed: %s",
				     s->name, why) >= (int)sizeof(err))
				reel_debug("session %s: %s", s->name, why); /* cut: all of it here */
			pthread_mutex_unlock(&s->lock);
		} else {
			/* A chunk being compressed is answered once it is. */
			pthread_mutex_lock(&s->lock);
			const struct chunk *c = &s->chunks[s->nr_chunks - 1];
			uint64_t index = c->index;
			bool pending = c->compress != NULL;
			if (!pending)
				reel_msg_put_str(&data, REEL_TAG_CHUNK, c->path);
			pthread_mutex_unlock(&s->lock);
			if (pending && (status = add_waiter(sock, uid, s, index, 0)) == 0) {
				reel_msg_free(&reply);
				reel_msg_free(&data);
				return 0;
			}
		}
		break;
	case REEL_CTL_ENABLE_ROTATION:
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
		} else if (!r.rotate_timer && !r.rotate_size && !r.keep_chunks && !r.keep_bytes &&
			   !r.compress && !r.publish) {
			status = -EINVAL;
			snprintf(err, sizeof(err), "give a timer, a size, a retention, a compression or a broker");
		} else if (r.publish && strlen(r.publish) > 1000) {
			status = -EINVAL;
			snprintf(err, sizeof(err), "broker URL too long");
		} else if (r.compress && compress_method(r.compress) < 0) {
			status = -EINVAL;
			snprintf(err, sizeof(err), "unknown compression '%s' (zstd, none)", r.compress);
		} else {
			char *hook = r.hook ? strdup(r.hook) : NULL;
			pthread_mutex_lock(&s->lock);
			if (r.rotate_timer)
				s->rotate_timer_us = r.rotate_timer;
			if (r.rotate_size)
				s->rotate_size = r.rotate_size;
			if (r.keep_chunks)
				s->keep_chunks = r.keep_chunks;
			if (r.keep_bytes)
				s->keep_bytes = r.keep_bytes;
			if (r.compress)
				s->compress = compress_method(r.compress);
			if (r.hook) {
				free(s->rotate_hook);
				s->rotate_hook = hook;
			}
			char *url = r.publish ? strdup(r.publish) : NULL;
			if (url) {
				free(s->publish_url);
				s->publish_url = url;
				s->publish_error[0] = '\0';
			}
			pthread_mutex_unlock(&s->lock);
			if (url && *url && publish_start(s)) {
				status = -EAGAIN;
				snprintf(err, sizeof(err), "cannot start the chunk publisher");
			}
		}
		break;
	case REEL_CTL_DISABLE_ROTATION:
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
		} else {
			pthread_mutex_lock(&s->lock);
			s->rotate_timer_us = s->rotate_size = 0;
			pthread_mutex_unlock(&s->lock);
		}
		break;
	case REEL_CTL_LIST_ROTATIONS:
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
			break;
		}
		pthread_mutex_lock(&s->lock);
		reel_msg_put_u64(&data, REEL_TAG_ROTATE_TIMER, s->rotate_timer_us);
		reel_msg_put_u64(&data, REEL_TAG_ROTATE_SIZE, s->rotate_size);
		reel_msg_put_u64(&data, REEL_TAG_KEEP_CHUNKS, s->keep_chunks);
		reel_msg_put_u64(&data, REEL_TAG_KEEP_BYTES, s->keep_bytes);
		if (s->rotate_hook)
			reel_msg_put_str(&data, REEL_TAG_HOOK, s->rotate_hook);
		reel_msg_put_str(&data, REEL_TAG_COMPRESS, compress_method_name(s->compress));
		if (s->publish_url && *s->publish_url)
			reel_msg_put_str(&data, REEL_TAG_PUBLISH, s->publish_url);
		if (s->publish_error[0])
			reel_msg_put_str(&data, REEL_TAG_PUBLISH_ERROR, s->publish_error);
		for (size_t i = 0; i < s->nr_chunks; i++) {
			if (!s->chunks[i].path || s->chunks[i].compress)
				continue; /* not announced yet */
			reel_msg_put_str(&data, REEL_TAG_CHUNK, s->chunks[i].path);
			reel_msg_put_u64(&data, REEL_TAG_ID, s->chunks[i].index);
			reel_msg_put_i64(&data, REEL_TAG_HOOK_STATUS, s->chunks[i].hook_status);
			reel_msg_put_i64(&data, REEL_TAG_PUBLISH_STATUS, s->chunks[i].publish_status);
		}
		pthread_mutex_unlock(&s->lock);
		break;
	case REEL_CTL_WAIT_ROTATION: {
		if (!(s = target(uid, &r, err, sizeof(err)))) {
			status = -ENOENT;
			break;
		}
		/* Answered now if the chunk is there, else when it comes (or
		 * the time is up): the client waits for the reply. */
		pthread_mutex_lock(&s->lock);
		const struct chunk *c = chunk_from(s, r.id);
		if (c) {
			reel_msg_put_str(&data, REEL_TAG_CHUNK, c->path);
			reel_msg_put_u64(&data, REEL_TAG_ID, c->index);
		}
		pthread_mutex_unlock(&s->lock);
		if (c)
			break;
		if ((status = add_waiter(sock, uid, s, r.id, r.timeout)) < 0)
			break;
		reel_msg_free(&reply);
		reel_msg_free(&data);
		return 0;
	}
	case REEL_CTL_LIST_SESSIONS:
		if (reeld.current[0] && session_find(uid, reeld.current))
			reel_msg_put_str(&data, REEL_TAG_CURRENT, reeld.current);
		for (s = reeld.sessions; s; s = s->next)
			if (uid == 0 || s->uid == uid)
				describe_session(&data, s);
		break;
	case REEL_CTL_LIST_APPS:
		list_apps(&data, uid);
		break;
	default:
		status = -EOPNOTSUPP;
		snprintf(err, sizeof(err), "unknown request %u", req->type);
		break;
	}
reply:
	reel_msg_put_i64(&reply, REEL_TAG_STATUS, status);
	if (status)
		reel_msg_put_str(&reply, REEL_TAG_ERROR, err[0] ? err : strerror(-status));
	if (!status && data.failed) {
		/* Too large a listing for one message. */
		reel_msg_free(&reply);
		reel_msg_init(&reply, REEL_CTL_REPLY);
		status = -E2BIG;
		snprintf(err, sizeof(err), "the reply is larger than %u MiB",
			 REEL_MSG_MAX_PAYLOAD >> 20);
		reel_msg_put_i64(&reply, REEL_TAG_STATUS, status);
		reel_msg_put_str(&reply, REEL_TAG_ERROR, err);
	} else if (!status) {
		reel_msg_append(&reply, &data); /* the data follow the status */
	}
	int e = reel_msg_send(sock, &reply);
	reel_msg_free(&reply);
	reel_msg_free(&data);
	return e;
}
