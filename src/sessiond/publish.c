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

#include "dist/dist.h"
#include "dist/nats-local.h"
#include "sessiond.h"

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

static void *publisher(void *arg)
{
	struct session *s = arg;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	char url[1024] = "", err[512], subject[64], sid[DIST_ID_LEN + 1], run[DIST_ID_LEN + 1];
	dist_chunk_id(s->name, sid); /* any session name makes a subject token */
	new_run(s, run);
	snprintf(subject, sizeof(subject), DIST_CHUNK_SUBJECT "%s", sid);
	pthread_mutex_lock(&s->lock);
	while (!s->publish_quit) {
		struct chunk *c = s->publish_url && *s->publish_url ? next_pending(s) : NULL;
		if (!c) {
			pthread_cond_wait(&s->publish_cond, &s->lock);
			continue;
		}
		/* the chunk may go (retention) while the lock is dropped:
		 * copies, and found again by index */
		char path[PATH_MAX];
		uint64_t index = c->index;
		bool same_url = !strcmp(url, s->publish_url);
		snprintf(url, sizeof(url), "%s", s->publish_url);
		snprintf(path, sizeof(path), "%s", c->path);
		pthread_mutex_unlock(&s->lock);

		if (!same_url && nc) {
			dist_nats_close(nc, js);
			nc = NULL;
			js = NULL;
		}
		int ok = 0;
		if (!nc && dist_nats_open(url, NULL, &nc, &js, err, sizeof(err)))
			nc = NULL;
		/* not while the client reconnects: it would keep the announcement
		 * and send it on reconnection, when the chunk may be gone (the
		 * retention), its removal not known to the broker */
		if (nc && natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED)
			snprintf(err, sizeof(err), "cannot reach the broker at %s: %s", url,
				 "reconnecting");
		else if (nc) {
			char abs[PATH_MAX], *msg = NULL;
			size_t len = 0;
			struct dist_chunk ch = {.session = s->name,
						.run = run,
						.index = index,
						.path = realpath(path, abs) ? abs : path};
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
				natsStatus st =
					js_Publish(NULL, js, subject, msg, (int)len, &po, &jerr);
				if (st == NATS_OK) {
					ok = 1;
				} else {
					dist_nats_err(err, sizeof(err), url, st, jerr);
					if (natsConnection_IsClosed(nc)) {
						dist_nats_close(nc, js);
						nc = NULL;
						js = NULL;
					}
				}
				free(msg);
			}
		}
		if (ok)
			set_error(s, ok > 0 ? "" : err);
		else
			set_error(s, err);
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->nr_chunks; i++)
			if (s->chunks[i].index == index && ok)
				s->chunks[i].publish_status = ok > 0 ? 0 : -2;
		if (!ok && !s->publish_quit) {
			/* the broker is away: try again in a second */
			struct timespec dl;
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += 1;
			pthread_cond_timedwait(&s->publish_cond, &s->lock, &dl);
		}
	}
	pthread_mutex_unlock(&s->lock);
	dist_nats_close(nc, js);
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
	pthread_mutex_unlock(&s->lock);
}
