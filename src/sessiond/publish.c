/* SPDX-License-Identifier: MIT */
/*
 * reel enable-rotation --publish URL: each archived chunk of the session is
 * announced on the NATS JetStream chunks stream at once (subject
 * reel.chunk.<session id>, message id = the chunk id: a repeated
 * announcement is dropped by the server), for `reel analyze --engine URL
 * --session NAME` and followers, which choose the analyses (doc/dist.md).
 *
 * One publisher thread per session, so that a broker that is slow or down
 * never holds the consumer: chunks wait, marked pending (list-rotations),
 * the failure is in list-rotations and the daemon's log, and they go when
 * the broker is back, oldest first. A chunk removed by the retention before
 * that is never announced (list-rotations no longer lists it either).
 *
 * The retention (consumer thread, lock held, no network I/O there) hands
 * the announcements of the chunks it removes to this thread: each chunk
 * keeps its message's stream sequence (from the publish ack) and id, and
 * the thread deletes the message, first checking that the sequence still
 * holds it (same subject and message id: never another's). They wait
 * while the broker is away, tried before new announcements; a chunk
 * removed while its announcement was in flight has it deleted once it is
 * stored. A message already gone counts as deleted; what the server
 * refuses, and what is left when the session goes (publish_join, after
 * one last try), is logged. Each deletion is in the REEL_DEBUG log.
 *
 * Each announcement carries the session's run: an id drawn when its
 * publisher starts, that is once per session created. The subject is the
 * session name's, and a session created again under that name counts its
 * chunks from 0 again: readers keep the latest run's chunks only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dist/dist.h"
#include "dist/nats-local.h"
#include "sessiond.h"

_Static_assert(sizeof(((struct chunk *)0)->publish_id) == DIST_ID_LEN + 1, "a chunk id");
_Static_assert(sizeof(((struct unannouncement *)0)->id) == DIST_ID_LEN + 1, "a chunk id");

/* The chunk to announce next: the oldest pending one. Lock held. */
static struct chunk *next_pending(struct session *s)
{
	for (size_t i = 0; i < s->nr_chunks; i++)
		if (s->chunks[i].publish_status == -1 && s->chunks[i].path &&
		    !s->chunks[i].compress)
			return &s->chunks[i];
	return NULL;
}

static void set_error(struct session *s, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	bool changed = strcmp(s->publish_error, msg) != 0;
	snprintf(s->publish_error, sizeof(s->publish_error), "%s", msg);
	pthread_mutex_unlock(&s->lock);
	if (changed && *msg)
		fprintf(stderr, "reeld: session %s: chunks not announced: %s (retrying)\n", s->name,
			msg);
	else if (changed)
		fprintf(stderr, "reeld: session %s: announcing chunks again\n", s->name);
}

/* An id for this session's announcements, distinct from any earlier
 * session's of the same name (random; without entropy yet, the clock,
 * the pid and the session's address). */
static void new_run(const struct session *s, char out[DIST_ID_LEN + 1])
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v)) {
		snprintf(out, DIST_ID_LEN + 1, "%016llx", (unsigned long long)v);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char seed[128];
	snprintf(seed, sizeof(seed), "%lld.%09ld %d %p", (long long)ts.tv_sec, ts.tv_nsec,
		 (int)getpid(), (const void *)s);
	dist_chunk_id(seed, out);
}

/* The publisher thread's connection: to `url`, NULL while there is none. */
struct conn {
	char url[1024];
	natsConnection *nc;
	jsCtx *js;
	bool deletes_failing; /* said so in the log */
};

/* The connection to `target`, opened anew when the URL changed or the
 * last one closed. 0, or -1 with why in err. Lock not held. */
static int conn_open(struct conn *k, const char *target, char *err, size_t errlen)
{
	if (k->nc && (strcmp(k->url, target) || natsConnection_IsClosed(k->nc))) {
		dist_nats_close(k->nc, k->js);
		k->nc = NULL;
		k->js = NULL;
	}
	if (target != k->url)
		snprintf(k->url, sizeof(k->url), "%s", target);
	if (!k->nc && dist_nats_open(target, NULL, &k->nc, &k->js, err, errlen)) {
		k->nc = NULL;
		k->js = NULL;
		return -1;
	}
	/* not while the client reconnects: it would keep an announcement and
	 * send it on reconnection, when its chunk may be gone (the retention)
	 * with its deletion already given up */
	if (natsConnection_Status(k->nc) != NATS_CONN_STATUS_CONNECTED) {
		snprintf(err, errlen, "cannot reach the broker at %s: reconnecting", target);
		return -1;
	}
	return 0;
}

/* The message, or its whole stream, is not there. */
static bool not_found(natsStatus st, jsErrCode jerr)
{
	return st == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr || jerr == JSStreamNotFoundErr;
}

/*
 * Delete announcement `u` of subject `subject` from the stream. The
 * message at its sequence is read first: one of another subject or id is
 * not ours (the stream was made anew, or --publish names another broker
 * now) and stays. 0: done (deleted, already gone, not ours; what in
 * `what`); 1: the server refuses (given up, why in err); -1: no answer
 * (retried, why in err). Publisher thread, lock not held.
 */
static int delete_announcement(jsCtx *js, jsOptions *jo, const char *subject,
			       const struct unannouncement *u, const char **what, char *err,
			       size_t errlen)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus st = js_GetMsg(&m, js, DIST_CHUNKS_STREAM, u->seq, jo, &jerr);
	if (not_found(st, jerr)) {
		*what = "already gone";
		return 0;
	}
	if (st != NATS_OK) {
		dist_nats_err(err, errlen, "reading the announcement", st, jerr);
		return jerr ? 1 : -1;
	}
	const char *id = NULL, *subj = natsMsg_GetSubject(m);
	bool ours = subj && !strcmp(subj, subject) &&
		    natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id && !strcmp(id, u->id);
	natsMsg_Destroy(m);
	if (!ours) {
		*what = "left: that sequence holds another message";
		return 0;
	}
	jerr = 0;
	st = js_DeleteMsg(js, DIST_CHUNKS_STREAM, u->seq, jo, &jerr);
	if (st == NATS_OK) {
		*what = "deleted";
		return 0;
	}
	dist_nats_err(err, errlen, "deleting the announcement", st, jerr);
	if (jerr) {
		/* "no message found": gone since it was read (its age, another
		 * client), which a second read tells */
		jsErrCode jerr2 = 0;
		m = NULL;
		natsStatus st2 = js_GetMsg(&m, js, DIST_CHUNKS_STREAM, u->seq, jo, &jerr2);
		natsMsg_Destroy(m);
		if (not_found(st2, jerr2)) {
			*what = "already gone";
			return 0;
		}
	}
	return jerr ? 1 : -1;
}

/* Delete the pending announcements of removed chunks from the stream at
 * `target`, oldest first, until one gets no answer. 0, or -1 when the
 * broker is away (the rest wait; with `last`, publish_join says so).
 * Publisher thread, lock not held. */
static int delete_pending(struct session *s, struct conn *k, const char *target,
			  const char *subject, jsOptions *jo, bool last)
{
	char err[512];
	for (;;) {
		pthread_mutex_lock(&s->lock);
		if (!s->nr_unannounce) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		/* only this thread removes entries: the first stays the first */
		struct unannouncement u = s->unannounce[0];
		pthread_mutex_unlock(&s->lock);
		const char *what = NULL;
		int r = conn_open(k, target, err, sizeof(err));
		if (!r)
			r = delete_announcement(k->js, jo, subject, &u, &what, err, sizeof(err));
		if (r < 0) {
			if (!k->deletes_failing && !last)
				fprintf(stderr,
					"reeld: session %s: announcements of removed chunks not "
					"deleted: %s (retrying)\n",
					s->name, err);
			k->deletes_failing = true;
			return -1;
		}
		if (k->deletes_failing)
			fprintf(stderr, "reeld: session %s: deleting announcements again\n",
				s->name);
		k->deletes_failing = false;
		if (r > 0)
			fprintf(stderr,
				"reeld: session %s: the announcement of removed chunk %llu (%s "
				"sequence %llu) stays: %s\n",
				s->name, (unsigned long long)u.index, DIST_CHUNKS_STREAM,
				(unsigned long long)u.seq, err);
		else
			reel_debug("session %s: announcement of removed chunk %llu (%s sequence "
				   "%llu) %s",
				   s->name, (unsigned long long)u.index, DIST_CHUNKS_STREAM,
				   (unsigned long long)u.seq, what);
		pthread_mutex_lock(&s->lock);
		s->nr_unannounce--;
		memmove(s->unannounce, s->unannounce + 1,
			s->nr_unannounce * sizeof(*s->unannounce));
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

/* Add an announcement to delete. Lock held. */
static void unannounce_add(struct session *s, uint64_t seq, uint64_t index, const char *id)
{
	struct unannouncement *v =
		realloc(s->unannounce, (s->nr_unannounce + 1) * sizeof(*s->unannounce));
	if (!v) {
		fprintf(stderr,
			"reeld: session %s: out of memory: the announcement of removed chunk "
			"%llu (%s sequence %llu) stays\n",
			s->name, (unsigned long long)index, DIST_CHUNKS_STREAM,
			(unsigned long long)seq);
		return;
	}
	s->unannounce = v;
	struct unannouncement *u = &v[s->nr_unannounce++];
	u->seq = seq;
	u->index = index;
	snprintf(u->id, sizeof(u->id), "%s", id);
	pthread_cond_signal(&s->publish_cond);
}

void publish_unannounce(struct session *s, const struct chunk *c)
{
	if (c->publish_status == 0)
		unannounce_add(s, c->publish_seq, c->index, c->publish_id);
}

/* The broker is away: try again in a second, or when woken. Lock held. */
static void wait_a_second(struct session *s)
{
	if (s->publish_quit)
		return;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 1;
	pthread_cond_timedwait(&s->publish_cond, &s->lock, &dl);
}

static void *publisher(void *arg)
{
	struct session *s = arg;
	struct conn k = {.url = ""};
	char err[512], subject[64], sid[DIST_ID_LEN + 1], run[DIST_ID_LEN + 1];
	char target[sizeof(k.url)];
	dist_chunk_id(s->name, sid); /* any session name makes a subject token */
	new_run(s, run);
	snprintf(subject, sizeof(subject), DIST_CHUNK_SUBJECT "%s", sid);
	pthread_mutex_lock(&s->lock);
	/* Deletions first; when the broker did not answer them, the
	 * announcements have their turn (they fail too, and say so in
	 * list-rotations, or go) before the deletions are tried again. */
	bool try_deletes = true;
	while (!s->publish_quit) {
		bool announcing = s->publish_url && *s->publish_url;
		/* to the broker of the announcements, or the last one when
		 * --publish "" stopped them */
		bool deletes = s->nr_unannounce && (announcing || *k.url);
		if (deletes && try_deletes) {
			snprintf(target, sizeof(target), "%s", announcing ? s->publish_url : k.url);
			pthread_mutex_unlock(&s->lock);
			try_deletes = !delete_pending(s, &k, target, subject, NULL, false);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		struct chunk *c = announcing ? next_pending(s) : NULL;
		if (!c) {
			if (deletes)
				wait_a_second(s);
			else
				pthread_cond_wait(&s->publish_cond, &s->lock);
			try_deletes = true;
			continue;
		}
		/* the chunk may go (retention) while the lock is dropped:
		 * copies, and found again by index */
		char path[PATH_MAX];
		uint64_t index = c->index, seq = 0;
		snprintf(target, sizeof(target), "%s", s->publish_url);
		snprintf(path, sizeof(path), "%s", c->path);
		pthread_mutex_unlock(&s->lock);

		int ok = 0;
		struct dist_chunk ch = {.session = s->name, .run = run, .index = index};
		if (!conn_open(&k, target, err, sizeof(err))) {
			char abs[PATH_MAX], *msg = NULL;
			size_t len = 0;
			ch.path = realpath(path, abs) ? abs : path;
			dist_chunk_id(ch.path, ch.id);
			int r = dist_chunk_encode(&ch, &msg, &len);
			if (r) {
				snprintf(err, sizeof(err), "%.400s: cannot encode its announcement",
					 path);
				ok = -1; /* never announceable: not retried */
			} else {
				jsPubOptions po;
				jsPubOptions_Init(&po);
				po.MsgId = ch.id;
				jsErrCode jerr = 0;
				jsPubAck *pa = NULL;
				natsStatus st =
					js_Publish(&pa, k.js, subject, msg, (int)len, &po, &jerr);
				if (st == NATS_OK) {
					/* a duplicate's ack names the first one's */
					ok = 1;
					seq = pa->Sequence;
				} else {
					dist_nats_err(err, sizeof(err), target, st, jerr);
				}
				if (pa)
					jsPubAck_Destroy(pa);
				free(msg);
			}
		}
		set_error(s, ok > 0 ? "" : err);
		pthread_mutex_lock(&s->lock);
		bool found = false;
		for (size_t i = 0; i < s->nr_chunks; i++) {
			struct chunk *f = &s->chunks[i];
			if (f->index != index)
				continue;
			found = true;
			if (ok)
				f->publish_status = ok > 0 ? 0 : -2;
			if (ok > 0) {
				f->publish_seq = seq;
				snprintf(f->publish_id, sizeof(f->publish_id), "%s", ch.id);
			}
		}
		if (ok > 0 && !found) {
			/* removed by the retention while it was being announced */
			reel_debug("session %s: chunk %llu removed while announced", s->name,
				   (unsigned long long)index);
			unannounce_add(s, seq, index, ch.id);
		}
		if (!ok)
			wait_a_second(s);
		try_deletes = true;
	}
	bool last_try = s->nr_unannounce && k.nc &&
			natsConnection_Status(k.nc) == NATS_CONN_STATUS_CONNECTED;
	pthread_mutex_unlock(&s->lock);
	if (last_try) {
		/* the session goes: one last try on the open connection, each
		 * call waiting 2 s at most; what is left is logged by
		 * publish_join */
		jsOptions jo;
		jsOptions_Init(&jo);
		jo.Wait = 2000;
		delete_pending(s, &k, k.url, subject, &jo, true);
	}
	dist_nats_close(k.nc, k.js);
	return NULL;
}

int publish_start(struct session *s)
{
	if (s->publisher_running)
		return 0;
	pthread_cond_init(&s->publish_cond, NULL);
	s->publish_quit = false;
	int r = pthread_create(&s->publisher, NULL, publisher, s);
	if (r) {
		pthread_cond_destroy(&s->publish_cond);
		return -r;
	}
	/* the consumer reads it (publish_chunk) under the lock */
	pthread_mutex_lock(&s->lock);
	s->publisher_running = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void publish_chunk(struct session *s, struct chunk *c)
{
	if (!s->publish_url || !*s->publish_url || !s->publisher_running)
		return;
	c->publish_status = -1;
	pthread_cond_signal(&s->publish_cond);
}

void publish_join(struct session *s)
{
	if (!s->publisher_running)
		return;
	pthread_mutex_lock(&s->lock);
	s->publish_quit = true;
	pthread_cond_signal(&s->publish_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->publisher, NULL);
	pthread_cond_destroy(&s->publish_cond);
	pthread_mutex_lock(&s->lock);
	s->publisher_running = false;
	for (size_t i = 0; i < s->nr_unannounce; i++)
		fprintf(stderr,
			"reeld: session %s: the announcement of removed chunk %llu (%s sequence "
			"%llu) stays: the broker was away\n",
			s->name, (unsigned long long)s->unannounce[i].index, DIST_CHUNKS_STREAM,
			(unsigned long long)s->unannounce[i].seq);
	free(s->unannounce);
	s->unannounce = NULL;
	s->nr_unannounce = 0;
	pthread_mutex_unlock(&s->lock);
}
