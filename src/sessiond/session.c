/* SPDX-License-Identifier: MIT */
/*
 * session: tracing sessions, their channels and event rules, the traces
 * they write (one per user or per process), and the enablement each
 * application gets from them. Main thread; a session's lock is taken where
 * its consumer thread reads the same structures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/protocol.h"
#include "../ctf/metadata.h"
#include "sessiond.h"

struct daemon reeld = { .chunk_event_fd = -1 };

#define DEFAULT_SUBBUF_SIZE (512u * 1024)
#define DEFAULT_NUM_SUBBUF 4u
/* How long applications may take to apply new enablement. */
#define ACK_TIMEOUT_NS 2000000000ull

static int say(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return 0;
}

/* Now, as LTTng stamps directory names (`compact`: 20261122-104500) or
 * as ISO 8601 (20261122T104500+0000). */
static void datetime(char *buf, size_t size, bool compact)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (compact)
		strftime(buf, size, "%Y%m%d-%H%M%S", &tm);
	else
		strftime(buf, size, "%Y%m%dT%H%M%S%z", &tm);
}

/* ---- sessions ---------------------------------------------------------- */

struct session *session_find(uid_t uid, const char *name)
{
	for (struct session *s = reeld.sessions; s; s = s->next)
		if (strcmp(s->name, name) == 0 && (uid == 0 || s->uid == uid))
			return s;
	return NULL;
}

static bool name_is_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= MAX_NAME || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < ' ' || *p == '*')
			return false;
	return true;
}

int session_create(uid_t uid, const char *name, const char *output, bool snapshot,
		   struct session **ret, char *err, size_t err_size)
{
	char generated[MAX_NAME], stamp[32];
	datetime(stamp, sizeof(stamp), true);
	bool named = name != NULL;
	if (!name) {
		snprintf(generated, sizeof(generated), "auto-%s", stamp);
		name = generated;
	}
	if (!name_is_valid(name))
		return say(err, err_size,
			   "invalid session name '%s' (no '/', '*', control characters or leading '.')",
			   name),
		       -EINVAL;
	if (session_find(uid, name))
		return say(err, err_size, "session '%s' already exists", name), -EEXIST;
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->uid = uid;
	s->snapshot_mode = snapshot;
	int n;
	if (output) {
		if (output[0] != '/') {
			free(s);
			return say(err, err_size, "output directory must be absolute: %s", output),
			       -EINVAL;
		}
		n = snprintf(s->output, sizeof(s->output), "%s", output);
	} else {
		const char *home = getenv("HOME");
		/* As lttng: <name>-<date>-<time>, or auto-<date>-<time>. */
		n = named ? snprintf(s->output, sizeof(s->output), "%s/reel-traces/%s-%s",
				     home && *home ? home : "/tmp", name, stamp) :
			    snprintf(s->output, sizeof(s->output), "%s/reel-traces/%s",
				     home && *home ? home : "/tmp", name);
	}
	if (n < 0 || (size_t)n >= sizeof(s->output) - 128) {
		free(s);
		return say(err, err_size, "output path too long"), -ENAMETOOLONG;
	}
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		free(s);
		return -errno;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->flushed, NULL);
	s->next = reeld.sessions;
	reeld.sessions = s;
	snprintf(reeld.current, sizeof(reeld.current), "%s", s->name);
	*ret = s;
	return 0;
}

struct channel *session_channel(struct session *s, const char *name)
{
	for (uint32_t i = 0; i < s->nr_channels; i++)
		if (strcmp(s->channels[i]->name, name) == 0)
			return s->channels[i];
	return NULL;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int session_add_channel(struct session *s, const struct reel_channel_config *config, char *err,
			size_t err_size)
{
	const char *name = config->name ? config->name : "channel0";
	if (!name_is_valid(name) || strlen(name) > 200)
		return say(err, err_size,
			   "invalid channel name '%s' (at most 200 bytes, no '/', '*', control "
			   "characters or leading '.')",
			   name),
		       -EINVAL;
	if (session_channel(s, name))
		return say(err, err_size, "channel '%s' already exists in session '%s'", name, s->name),
		       -EEXIST;
	if (s->started_once)
		return say(err, err_size, "session '%s' has been started: channels cannot be added",
			   s->name),
		       -EBUSY;
	if (s->nr_channels == MAX_CHANNELS)
		return say(err, err_size, "too many channels (at most %u)", MAX_CHANNELS), -E2BIG;
	struct reel_channel_config c = *config;
	if (s->snapshot_mode)
		c.overwrite = true; /* a flight recorder keeps the newest */
	c.subbuf_size = c.subbuf_size ? c.subbuf_size : DEFAULT_SUBBUF_SIZE;
	c.num_subbuf = c.num_subbuf ? c.num_subbuf : DEFAULT_NUM_SUBBUF;
	if (!is_pow2(c.subbuf_size) || c.subbuf_size < 4096 || c.subbuf_size > (1u << 30))
		return say(err, err_size, "sub-buffer size must be a power of two from 4096 to 1G"),
		       -EINVAL;
	if (!is_pow2(c.num_subbuf) || c.num_subbuf < 2 || c.num_subbuf > 65536)
		return say(err, err_size, "number of sub-buffers must be a power of two from 2 to 65536"),
		       -EINVAL;
	if (c.buffers > REEL_BUFFERS_PID)
		return say(err, err_size, "unknown buffering scheme"), -EINVAL;
	if (s->nr_channels && s->channels[0]->config.buffers != c.buffers)
		return say(err, err_size,
			   "all channels of a session share one buffering scheme (--buffers-%s here)",
			   s->channels[0]->config.buffers == REEL_BUFFERS_PID ? "pid" : "uid"),
		       -EINVAL;
	struct channel *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->config = c;
	ch->config.name = ch->name;
	ch->config.session = NULL;
	ch->index = s->nr_channels;
	s->channels[s->nr_channels++] = ch;
	return 0;
}

/* ---- traces ------------------------------------------------------------- */

static void bufset_free(struct bufset *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->nr_streams; i++) {
		if (b->streams)
			reel_rb_destroy(b->streams[i]);
		if (b->files && b->files[i].fd >= 0)
			close(b->files[i].fd);
	}
	for (uint32_t i = 0; i < b->nr_classes; i++) {
		free((char *)b->classes[i].full_name);
		free(b->classes[i].signature);
		free(b->classes[i].declaration);
		free(b->classes[i].layout);
	}
	free(b->classes);
	free(b->streams);
	free(b->files);
	free(b->stall_since);
	free(b->stall_at);
	free(b->copy_buf);
	free(b);
}

static struct bufset *bufset_new(struct trace *t, struct channel *ch, bool files)
{
	struct bufset *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	int nr_cpus = get_nprocs_conf();
	b->nr_streams = nr_cpus > 0 ? (uint32_t)nr_cpus : 1;
	b->channel = ch;
	b->key = ++reeld.next_key;
	b->streams = calloc(b->nr_streams, sizeof(*b->streams));
	b->files = malloc(b->nr_streams * sizeof(*b->files));
	b->stall_since = calloc(b->nr_streams, sizeof(*b->stall_since));
	b->stall_at = calloc(b->nr_streams, sizeof(*b->stall_at));
	if (!b->streams || !b->files || !b->stall_since || !b->stall_at)
		goto fail;
	for (uint32_t i = 0; i < b->nr_streams; i++)
		reel_stream_file_init(&b->files[i]);
	if (ch->config.overwrite && !(b->copy_buf = malloc(ch->config.subbuf_size)))
		goto fail;
	struct reel_rb_config rbc = {
		.subbuf_size = ch->config.subbuf_size,
		.num_subbuf = ch->config.num_subbuf,
		.overwrite = ch->config.overwrite,
		.stream_id = ch->index,
	};
	memcpy(rbc.trace_uuid, t->uuid, sizeof(rbc.trace_uuid));
	for (uint32_t i = 0; i < b->nr_streams; i++) {
		rbc.cpu = i;
		b->streams[i] = reel_rb_create(&rbc);
		if (!b->streams[i])
			goto fail;
		if (!files)
			continue; /* a flight recorder's buffers go to snapshots */
		char path[PATH_MAX + MAX_NAME + 16];
		snprintf(path, sizeof(path), "%s/%s_%u", t->dir, ch->name, i);
		b->files[i].fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
		if (b->files[i].fd < 0)
			goto fail;
	}
	return b;
fail:
	bufset_free(b);
	return NULL;
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nr_bufsets; i++)
		bufset_free(t->bufsets[i]);
	if (t->metadata_fd >= 0)
		close(t->metadata_fd);
	free(t);
}

static uint64_t trace_owner(const struct session *s, const struct app *a)
{
	return s->nr_channels && s->channels[0]->config.buffers == REEL_BUFFERS_PID ?
		       (uint64_t)a->pid :
		       (uint64_t)a->uid;
}

/* The trace of `a` in `s`, created with its buffers when missing. Called
 * with the session's lock held. */
static struct trace *trace_get(struct session *s, const struct app *a)
{
	bool per_pid = s->channels[0]->config.buffers == REEL_BUFFERS_PID;
	uint64_t owner = trace_owner(s, a);
	for (struct trace *t = s->traces; t; t = t->next)
		if (t->owner == owner && !t->orphan)
			return t;
	struct trace *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->owner = owner;
	t->per_pid = per_pid;
	t->no_files = s->snapshot_mode;
	snprintf(t->procname, sizeof(t->procname), "%s", a->procname);
	datetime(t->datetime, sizeof(t->datetime), false);
	t->metadata_fd = -1;
	if (getrandom(t->uuid, sizeof(t->uuid), 0) != sizeof(t->uuid))
		goto fail;
	t->uuid[6] = (uint8_t)((t->uuid[6] & 0x0f) | 0x40);
	t->uuid[8] = (uint8_t)((t->uuid[8] & 0x3f) | 0x80);
	reel_clock_sample(&t->clock_start);
	int n;
	if (per_pid) {
		char stamp[32];
		datetime(stamp, sizeof(stamp), true);
		n = snprintf(t->dir, sizeof(t->dir), "%s/ust/pid/%s-%d-%s", s->output, a->procname,
			     (int)a->pid, stamp);
	} else {
		n = snprintf(t->dir, sizeof(t->dir), "%s/ust/uid/%u/64-bit", s->output,
			     (unsigned int)a->uid);
	}
	int err = n < 0 || (size_t)n >= sizeof(t->dir) ? -ENAMETOOLONG :
		  s->snapshot_mode ? 0 : reel_mkdir_p(t->dir);
	if (err) {
		reel_debug("cannot create %s: %s", t->dir, strerror(-err));
		errno = -err;
		goto fail;
	}
	for (uint32_t i = 0; i < s->nr_channels; i++) {
		t->bufsets[i] = bufset_new(t, s->channels[i], !s->snapshot_mode);
		if (!t->bufsets[i]) {
			reel_debug("cannot create the buffers of %s: %s", t->dir, strerror(errno));
			goto fail;
		}
		t->nr_bufsets++;
	}
	t->metadata_dirty = true;
	t->next = s->traces;
	s->traces = t;
	return t;
fail:;
	int saved = errno;
	trace_free(t);
	errno = saved;
	return NULL;
}

/* The id of `e` in bufset `b`, a new event class when needed. */
static int class_get(struct bufset *b, const struct app_event *e, uint32_t *ret)
{
	for (uint32_t i = 0; i < b->nr_classes; i++) {
		struct event_class *c = &b->classes[i];
		if (strcmp(c->full_name, e->full_name) == 0 && c->signature_len == e->signature_len &&
		    memcmp(c->signature, e->signature, e->signature_len) == 0) {
			*ret = c->id;
			return 0;
		}
	}
	struct event_class *grown = realloc(b->classes, (b->nr_classes + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	b->classes = grown;
	struct event_class *c = &b->classes[b->nr_classes];
	memset(c, 0, sizeof(*c));
	c->full_name = strdup(e->full_name);
	c->signature = malloc(e->signature_len ? e->signature_len : 1);
	if (!c->full_name || !c->signature) {
		free((char *)c->full_name);
		free(c->signature);
		return -ENOMEM;
	}
	memcpy(c->signature, e->signature, e->signature_len);
	c->signature_len = e->signature_len;
	c->id = b->nr_classes;
	/* The declaration, rendered now: the application may leave. */
	struct reel_strbuf text = { 0 };
	if (reel_ctf_metadata_event_in(&text, &e->desc, c->id, b->channel->index) < 0) {
		free((char *)c->full_name);
		free(c->signature);
		reel_strbuf_free(&text);
		return -ENOMEM;
	}
	c->declaration = text.data;
	c->nr_fields = e->desc.nr_fields;
	c->layout = calloc(c->nr_fields ? c->nr_fields : 1, sizeof(*c->layout));
	if (!c->layout) {
		free((char *)c->full_name);
		free(c->signature);
		free(c->declaration);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nr_fields; i++) {
		c->layout[i] = e->desc.fields[i];
		c->layout[i].name = NULL;
		c->layout[i].enum_desc = NULL;
	}
	b->nr_classes++;
	*ret = c->id;
	return 0;
}

/* ---- enablement ---------------------------------------------------------- */

static bool app_has_bufset(const struct app *a, uint64_t key)
{
	for (uint32_t i = 0; i < a->nr_mapped; i++)
		if (a->mapped[i] == key)
			return true;
	return false;
}

/* Hand the buffers of `b` to `a`: one message per stream, with its memfd
 * and the session's wake-up eventfd. */
static int send_bufset(struct app *a, struct session *s, struct bufset *b)
{
	if (app_has_bufset(a, b->key))
		return 0;
	uint64_t *grown = realloc(a->mapped, (a->nr_mapped + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	a->mapped = grown;
	for (uint32_t i = 0; i < b->nr_streams; i++) {
		struct reel_msg m;
		reel_msg_init(&m, REEL_APP_STREAM);
		reel_msg_put_u64(&m, REEL_TAG_CHANNEL_KEY, b->key);
		reel_msg_put_u64(&m, REEL_TAG_CPU, i);
		reel_msg_put_u64(&m, REEL_TAG_NR_STREAMS, b->nr_streams);
		reel_msg_put_fd(&m, b->streams[i]->fd);
		reel_msg_put_fd(&m, s->wake_fd);
		int err = reel_msg_send(a->sock, &m);
		m.nr_fds = 0; /* not ours to close */
		reel_msg_free(&m);
		if (err)
			return err;
	}
	a->mapped[a->nr_mapped++] = b->key;
	return 0;
}

static bool same_targets(const struct app_event *e, const uint64_t *triples, uint32_t nr)
{
	return e->nr_sent == nr && (nr == 0 || memcmp(e->sent, triples, nr * 3 * sizeof(*triples)) == 0);
}

const char *const context_names[] = { "vpid", "vtid", "procname", "pthread_id", "cpu_id", NULL };

uint32_t context_of_name(const char *name)
{
	for (uint32_t i = 0; context_names[i]; i++)
		if (strcmp(context_names[i], name) == 0)
			return 1u << i;
	return 0;
}

/* Compute what `a` must record and send what changed; `*ret_seq` is the
 * number to wait for (0: nothing sent). */
static int update_app(struct app *a, uint64_t *ret_seq)
{
	struct reel_msg targets;
	reel_msg_init(&targets, REEL_APP_TARGETS);
	int err = 0;
	uint64_t triples[3 * 64];
	for (uint32_t id = 0; id < a->nr_events && !err; id++) {
		struct app_event *e = a->events[id];
		if (!e)
			continue;
		uint32_t nr = 0;
		for (struct session *s = reeld.sessions; s && !err; s = s->next) {
			if (!s->active)
				continue;
			for (uint32_t c = 0; c < s->nr_channels && nr < 64; c++) {
				struct channel *ch = s->channels[c];
				if (!channel_records(ch, e))
					continue;
				pthread_mutex_lock(&s->lock);
				struct trace *t = trace_get(s, a);
				if (!t) {
					/* This session cannot trace it; the others
					 * still do. `status` says why. */
					snprintf(s->error, sizeof(s->error),
						 "cannot trace %s (pid %d): %s", a->procname,
						 (int)a->pid, strerror(errno));
					pthread_mutex_unlock(&s->lock);
					continue;
				}
				uint32_t class_id = 0;
				err = class_get(t->bufsets[c], e, &class_id);
				if (!err) {
					t->metadata_dirty = true;
					triples[3 * nr] = t->bufsets[c]->key;
					triples[3 * nr + 1] = class_id;
					triples[3 * nr + 2] = ch->contexts;
				}
				pthread_mutex_unlock(&s->lock);
				if (!err)
					err = send_bufset(a, s, t->bufsets[c]);
				if (err)
					break;
				nr++;
			}
		}
		if (err || same_targets(e, triples, nr))
			continue;
		uint64_t *copy = malloc((nr ? nr : 1) * 3 * sizeof(*copy));
		if (!copy) {
			err = -ENOMEM;
			break;
		}
		memcpy(copy, triples, nr * 3 * sizeof(*copy));
		free(e->sent);
		e->sent = copy;
		e->nr_sent = nr;
		reel_msg_put_u64(&targets, REEL_TAG_ID, id);
		for (uint32_t k = 0; k < nr; k++) {
			reel_msg_put_u64(&targets, REEL_TAG_CHANNEL_KEY, triples[3 * k]);
			reel_msg_put_u64(&targets, REEL_TAG_TARGET_CONTEXT, triples[3 * k + 2]);
			reel_msg_put_u64(&targets, REEL_TAG_TARGET_ID, triples[3 * k + 1]);
		}
	}
	uint64_t seq = 0;
	if (!err && targets.len) {
		/* Acknowledged once applied: when the command that changed
		 * the enablement returns, applications follow it. */
		seq = ++a->next_seq;
		reel_msg_put_u64(&targets, REEL_TAG_SEQ, seq);
		err = reel_msg_send(a->sock, &targets);
	}
	reel_msg_free(&targets);
	*ret_seq = err ? 0 : seq;
	return err;
}

static void app_failed(struct app *a, int err)
{
	/* The application is gone or misbehaves: the main loop sees its
	 * socket close and forgets it. */
	reel_debug("app %d: %s", (int)a->pid, strerror(-err));
	a->dead = true;
	shutdown(a->sock, SHUT_RDWR);
}

void enablement_update(void)
{
	/* Every application first, then the acknowledgements: they apply
	 * it at the same time. */
	for (struct app *a = reeld.apps; a; a = a->next) {
		a->pending_ack = 0;
		if (!a->hello || a->dead)
			continue;
		int err = update_app(a, &a->pending_ack);
		if (err)
			app_failed(a, err);
	}
	uint64_t deadline = monotonic_ns() + ACK_TIMEOUT_NS;
	for (struct app *a = reeld.apps; a; a = a->next) {
		if (!a->pending_ack || a->dead)
			continue;
		int err = app_wait_ack(a, a->pending_ack, deadline);
		a->pending_ack = 0;
		if (err)
			app_failed(a, err);
	}
}

void statedump_request(struct app *only)
{
	for (struct app *a = only ? only : reeld.apps; a; a = only ? NULL : a->next) {
		if (!a->hello || a->dead || a->sock < 0)
			continue;
		struct reel_msg m;
		reel_msg_init(&m, REEL_APP_STATEDUMP);
		int err = reel_msg_send(a->sock, &m);
		reel_msg_free(&m);
		a->statedumped = true;
		if (err)
			app_failed(a, err);
	}
}

void statedump_pending_serve(void)
{
	bool any = false;
	for (struct session *s = reeld.sessions; s; s = s->next) {
		pthread_mutex_lock(&s->lock);
		any |= s->statedump_pending;
		s->statedump_pending = false;
		pthread_mutex_unlock(&s->lock);
	}
	if (any)
		statedump_request(NULL);
}

/* An application left: its per-process traces are complete; if it was
 * killed, it may have left an event unfinished in any trace it wrote. */
void app_forget(struct app *a)
{
	uint64_t now = monotonic_ns();
	for (struct session *s = reeld.sessions; s; s = s->next) {
		if (!s->nr_channels)
			continue;
		bool per_pid = s->channels[0]->config.buffers == REEL_BUFFERS_PID;
		pthread_mutex_lock(&s->lock);
		for (struct trace *t = s->traces; t; t = t->next) {
			if (t->orphan || t->owner != (per_pid ? (uint64_t)a->pid : (uint64_t)a->uid))
				continue;
			bool wrote = false;
			for (uint32_t i = 0; i < t->nr_bufsets && !wrote; i++)
				wrote = app_has_bufset(a, t->bufsets[i]->key);
			if (!wrote)
				continue;
			if (!a->said_bye)
				t->suspect = true;
			if (!per_pid)
				continue;
			t->orphan_since = now;
			for (uint32_t i = 0; i < t->nr_bufsets; i++)
				for (uint32_t k = 0; k < t->bufsets[i]->nr_streams; k++)
					reel_rb_set_closed(t->bufsets[i]->streams[k], true);
			/* Release: the consumer reads it without the lock. */
			__atomic_store_n(&t->orphan, true, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* ---- start, stop, destroy ------------------------------------------------ */

static void set_closed(struct session *s, bool closed)
{
	pthread_mutex_lock(&s->lock);
	for (struct trace *t = s->traces; t; t = t->next)
		for (uint32_t i = 0; i < t->nr_bufsets; i++)
			for (uint32_t k = 0; k < t->bufsets[i]->nr_streams; k++)
				reel_rb_set_closed(t->bufsets[i]->streams[k], closed || t->orphan);
	pthread_mutex_unlock(&s->lock);
}

int session_start(struct session *s, char *err, size_t err_size)
{
	if (s->active)
		return say(err, err_size, "session '%s' is already started", s->name), -EALREADY;
	if (s->nr_channels == 0 && !s->kernel) {
		struct reel_channel_config c = { .struct_size = sizeof(c) };
		int e = session_add_channel(s, &c, err, err_size);
		if (e)
			return e;
	}
	int e = reel_mkdir_p(s->output);
	if (e)
		return say(err, err_size, "cannot create %s: %s", s->output, strerror(-e)), e;
	if (!s->consumer_running) {
		e = consumer_start(s);
		if (e)
			return say(err, err_size, "cannot start the consumer: %s", strerror(-e)), e;
	}
	if (s->kernel && !s->started_once) {
		e = consumer_kernel_start(s, err, err_size);
		if (e)
			return e;
	} else if (s->kernel && reel_ktrace_resume(s->kernel) < 0) {
		return say(err, err_size, "cannot restart the kernel recording"), -EIO;
	}
	set_closed(s, false);
	/* the consumer reads them (the timer rotation) under the lock; only
	 * this thread writes them */
	pthread_mutex_lock(&s->lock);
	s->active = true;
	if (!s->started_once) {
		s->chunk_begin = time(NULL);
		s->chunk_begin_ns = monotonic_ns();
	}
	pthread_mutex_unlock(&s->lock);
	s->started_once = true;
	enablement_update();
	statedump_request(NULL);
	return 0;
}

int session_stop(struct session *s)
{
	if (!s->active)
		return -EALREADY;
	pthread_mutex_lock(&s->lock);
	s->active = false;
	pthread_mutex_unlock(&s->lock);
	/* Applications stop calling into the buffers; closing them makes
	 * sure that no packet opens after the flush, whatever an
	 * application has not yet heard. */
	enablement_update();
	set_closed(s, true);
	if (s->kernel)
		reel_ktrace_stop(s->kernel);
	consumer_flush(s);
	return 0;
}

void session_destroy(struct session *s)
{
	if (s->active)
		session_stop(s);
	consumer_join(s);
	publish_join(s);
	reel_ktrace_destroy(s->kernel);
	s->kernel = NULL;
	for (size_t i = 0; i < s->nr_kernel_rules; i++)
		free(s->kernel_rules[i]);
	free(s->kernel_rules);
	/* Applications forget its buffers. */
	for (struct app *a = reeld.apps; a; a = a->next) {
		struct reel_msg m;
		reel_msg_init(&m, REEL_APP_CHANNEL_DROP);
		for (struct trace *t = s->traces; t; t = t->next)
			for (uint32_t i = 0; i < t->nr_bufsets; i++)
				if (app_has_bufset(a, t->bufsets[i]->key))
					reel_msg_put_u64(&m, REEL_TAG_CHANNEL_KEY, t->bufsets[i]->key);
		if (m.len && a->sock >= 0)
			reel_msg_send(a->sock, &m);
		reel_msg_free(&m);
	}
	for (struct session **p = &reeld.sessions; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	if (strcmp(reeld.current, s->name) == 0)
		reeld.current[0] = '\0';
	while (s->traces) {
		struct trace *t = s->traces;
		s->traces = t->next;
		trace_free(t);
	}
	for (uint32_t i = 0; i < s->nr_channels; i++) {
		struct channel *ch = s->channels[i];
		for (size_t r = 0; r < ch->nr_rules; r++)
			rule_free(&ch->rules[r]);
		free(ch->rules);
		for (size_t r = 0; r < ch->nr_disabled; r++)
			free(ch->disabled[r]);
		free(ch->disabled);
		free(ch);
	}
	close(s->wake_fd);
	free(s->snapshot);
	for (size_t i = 0; i < s->nr_chunks; i++)
		free(s->chunks[i].path);
	free(s->chunks);
	free(s->rotate_hook);
	free(s->publish_url);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->flushed);
	free(s);
}
