/* SPDX-License-Identifier: MIT */
/*
 * The chunks reeld announces on the chunks stream (reel enable-rotation
 * --publish, src/sessiond/publish.c): read once for a batch run
 * (dist_session_chunks), or followed as they come (dist_follow_*), for the
 * latest run of a session (doc/dist.md).
 *
 * A session's announcements come in the order of its chunks (reeld
 * announces them oldest first, one publisher thread per session); a
 * session created again under the same name starts a new run, its indexes
 * from 0 again. Followers take the latest run's announcements from the
 * oldest still in the stream, through an ordered consumer (no acks; the
 * client library recreates it from the last sequence seen when the broker
 * comes back).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dist/dist.h"
#include "dist/nats-local.h"

static void session_subject(const char *session, char *out, size_t len)
{
	char sid[DIST_ID_LEN + 1];
	dist_chunk_id(session, sid); /* any session name makes a subject token */
	snprintf(out, len, DIST_CHUNK_SUBJECT "%s", sid);
}

/* The runs of a session already replaced by a later one. A session
 * created again never announces its earlier run again; announcements of
 * one that come after its successor's are from another daemon announcing
 * a session of the same name (or a publisher late with its last chunks):
 * taking them as a new run each time would start the result over at
 * every chunk, switching between the two. They are ignored, said once
 * per run. */
struct runs {
	struct replaced_run {
		char id[DIST_ID_LEN + 1];
		bool said; /* its announcements ignored, said so */
	} * v;
	size_t n;
};

static ssize_t runs_find(const struct runs *r, const char *run)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].id, run))
			return (ssize_t)i;
	return -1;
}

static int runs_add(struct runs *r, const char *run)
{
	if (runs_find(r, run) >= 0)
		return 0;
	struct replaced_run *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	snprintf(v[r->n].id, sizeof(v[r->n].id), "%s", run);
	v[r->n++].said = false;
	return 0;
}

/* run is one replaced already: say so the first time. */
static bool runs_replaced(struct runs *r, const char *session, const char *run)
{
	ssize_t i = runs_find(r, run);
	if (i < 0)
		return false;
	if (!r->v[i].said) {
		r->v[i].said = true;
		fprintf(stderr,
			"reel analyze: ignoring the announcements of an earlier run of session "
			"'%s' (run %s), which came after those of a later one: another daemon "
			"announces a session of that name at the broker\n",
			session, run[0] ? run : "without an id");
	}
	return true;
}

static void runs_free(struct runs *r)
{
	free(r->v);
}

/* ---- read once: the batch run ------------------------------------------- */

struct announced {
	uint64_t index;
	char *path;
};

int dist_session_chunks(const char *url, const char *session, char ***ret, size_t *ret_n, char *err,
			size_t errlen)
{
	natsConnection *nc;
	jsCtx *js;
	if (dist_nats_open(url, NULL, &nc, &js, err, errlen))
		return -1;
	char subject[64];
	session_subject(session, subject, sizeof(subject));
	int r = -1;
	struct announced *v = NULL;
	size_t n = 0, cap = 0;
	/* the run of the chunks in v: a later run of the session (created
	 * again under its name) replaces them, in the stream's order */
	char run[DIST_ID_LEN + 1] = "";
	bool have_run = false;
	struct runs replaced = {0};
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = DIST_CHUNKS_STREAM;
	so.Config.AckPolicy = js_AckNone;
	so.Config.DeliverPolicy = js_DeliverAll;
	jsErrCode jerr = 0;
	natsStatus s = js_SubscribeSync(&sub, js, subject, NULL, &so, &jerr);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "reading the announced chunks", s, jerr);
		goto out;
	}
	for (;;) {
		natsMsg *m = NULL;
		/* every announcement is stored: the first comes at once, or none is there */
		s = natsSubscription_NextMsg(&m, sub, 2000);
		if (s == NATS_TIMEOUT)
			break;
		if (s != NATS_OK) {
			dist_nats_err(err, errlen, "reading the announced chunks", s, 0);
			goto out;
		}
		jsMsgMetaData *meta = NULL;
		uint64_t pending = 1;
		if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
			pending = meta->NumPending;
			jsMsgMetaData_Destroy(meta);
		}
		struct dist_chunk c;
		char *buf = NULL, perr[256];
		if (dist_chunk_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &c, &buf,
				     perr, sizeof(perr))) {
			fprintf(stderr,
				"reel analyze: ignoring a malformed chunk announcement: %s\n",
				perr);
		} else if (!strcmp(c.session, session) &&
			   !runs_replaced(&replaced, session, c.run ? c.run : "")) {
			if (!have_run || strcmp(run, c.run ? c.run : "")) {
				for (size_t i = 0; i < n; i++)
					free(v[i].path);
				n = 0;
				if (have_run && runs_add(&replaced, run)) {
					snprintf(err, errlen, "out of memory");
					free(buf);
					natsMsg_Destroy(m);
					goto out;
				}
				have_run = true;
				snprintf(run, sizeof(run), "%s", c.run ? c.run : "");
			}
			/* a run's chunks are announced in index order: a lower
			 * or equal index is one announced again */
			bool seen = n && c.index <= v[n - 1].index;
			if (!seen && n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct announced *nv = realloc(v, ncap * sizeof(*v));
				if (nv) {
					v = nv;
					cap = ncap;
				}
			}
			if (!seen && (n == cap || !(v[n].path = strdup(c.path)))) {
				snprintf(err, errlen, "out of memory");
				free(buf);
				natsMsg_Destroy(m);
				goto out;
			}
			if (!seen)
				v[n++].index = c.index;
		}
		free(buf);
		natsMsg_Destroy(m);
		if (!pending)
			break;
	}
	char **paths = calloc(n ? n : 1, sizeof(*paths));
	if (!paths) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		paths[i] = v[i].path;
		v[i].path = NULL;
	}
	*ret = paths;
	*ret_n = n;
	r = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	runs_free(&replaced);
	if (sub) {
		natsSubscription_Unsubscribe(sub);
		natsSubscription_Destroy(sub);
	}
	dist_nats_close(nc, js);
	return r;
}

/* ---- followed: the continuous run ----------------------------------------- */

struct dist_follow {
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	int notify_fd;
	pthread_mutex_t lock; /* what follows, taken by libnats's thread */
	pthread_cond_t cond;
	bool closed;   /* the subscription is gone: no callback comes any more */
	char *session; /* NULL until the first announcement picks it */
	/* the latest run when following began, and the stream sequence of
	 * its last announcement then: older runs' announcements up to there
	 * are history, skipped */
	char history_run[DIST_ID_LEN + 1];
	uint64_t history_seq;
	bool had; /* an announcement of it when following began */
	/* the run followed, and those it replaced (older ones in the
	 * history included) */
	char run[DIST_ID_LEN + 1];
	bool have_run;
	struct runs replaced;
	struct dist_announced *v;
	size_t n, cap;
	uint64_t malformed;
	int error; /* ENOMEM: an announcement could not be kept */
};

/* libnats's delivery thread: one announcement. */
static void on_announcement(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
	(void)nc;
	(void)sub;
	struct dist_follow *fw = closure;
	uint64_t seq = 0;
	jsMsgMetaData *meta = NULL;
	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		seq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
	}
	struct dist_chunk c;
	char *buf = NULL, perr[256];
	int pr = dist_chunk_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &c, &buf,
				  perr, sizeof(perr));
	natsMsg_Destroy(m);
	pthread_mutex_lock(&fw->lock);
	bool added = false;
	if (pr) {
		if (!fw->malformed++)
			fprintf(stderr,
				"reel analyze: ignoring a malformed chunk announcement: %s\n",
				perr);
	} else if (!fw->session || !strcmp(fw->session, c.session)) {
		const char *run = c.run ? c.run : "";
		bool history = seq && seq <= fw->history_seq && strcmp(run, fw->history_run);
		if (!fw->session && !(fw->session = strdup(c.session)))
			fw->error = ENOMEM;
		if (history) {
			if (runs_add(&fw->replaced, run))
				fw->error = ENOMEM;
		} else if (fw->session && runs_replaced(&fw->replaced, fw->session, run)) {
			history = true; /* not followed either */
		} else if (!fw->have_run || strcmp(run, fw->run)) {
			if (fw->have_run && runs_add(&fw->replaced, fw->run))
				fw->error = ENOMEM;
			snprintf(fw->run, sizeof(fw->run), "%s", run);
			fw->have_run = true;
		}
		if (!history && fw->session) {
			if (fw->n == fw->cap) {
				size_t cap = fw->cap ? fw->cap * 2 : 16;
				struct dist_announced *nv = realloc(fw->v, cap * sizeof(*nv));
				if (nv) {
					fw->v = nv;
					fw->cap = cap;
				}
			}
			struct dist_announced *a = fw->n < fw->cap ? &fw->v[fw->n] : NULL;
			if (a && (a->path = strdup(c.path))) {
				snprintf(a->run, sizeof(a->run), "%s", run);
				a->index = c.index;
				fw->n++;
				added = true;
			} else {
				fw->error = ENOMEM;
			}
		}
	}
	pthread_mutex_unlock(&fw->lock);
	free(buf);
	uint64_t one = 1;
	if (added && write(fw->notify_fd, &one, sizeof(one)) != sizeof(one))
		abort(); /* an eventfd write fails only on overflow */
}

static void on_closed(void *closure)
{
	struct dist_follow *fw = closure;
	pthread_mutex_lock(&fw->lock);
	fw->closed = true;
	pthread_cond_signal(&fw->cond);
	pthread_mutex_unlock(&fw->lock);
}

/* The latest announcement on subject: its run and stream sequence. 0, 1
 * when there is none, -1 with a message in err. */
static int latest(struct dist_follow *fw, const char *subject, char **session, char *err,
		  size_t errlen)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetLastMsg(&m, fw->js, DIST_CHUNKS_STREAM, subject, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
		return 1;
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "reading the announced chunks", s, jerr);
		return -1;
	}
	struct dist_chunk c;
	char *buf = NULL, perr[256];
	int r = 1; /* a malformed one: as if none */
	if (!dist_chunk_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &c, &buf, perr,
			      sizeof(perr))) {
		snprintf(fw->history_run, sizeof(fw->history_run), "%s", c.run ? c.run : "");
		fw->history_seq = natsMsg_GetSequence(m);
		fw->had = true;
		r = 0;
		if (session && !(*session = strdup(c.session))) {
			snprintf(err, errlen, "out of memory");
			r = -1;
		}
	}
	free(buf);
	natsMsg_Destroy(m);
	return r;
}

/* No session named: the one session announcing at the broker, if any.
 * *subject gets its subject, or the wildcard. 0, or -1 with a message. */
static int only_session(struct dist_follow *fw, char *subject, size_t len, char *err, size_t errlen)
{
	jsOptions o;
	jsOptions_Init(&o);
	o.Stream.Info.SubjectsFilter = DIST_CHUNKS_SUBJECTS;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, fw->js, DIST_CHUNKS_STREAM, &o, &jerr);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "reading the announced chunks", s, jerr);
		return -1;
	}
	const jsStreamStateSubjects *subs = si->State.Subjects;
	int count = subs ? subs->Count : 0;
	int r = 0;
	snprintf(subject, len, "%s", DIST_CHUNKS_SUBJECTS);
	if (count == 1) {
		snprintf(subject, len, "%s", subs->List[0].Subject);
		r = latest(fw, subject, &fw->session, err, errlen) < 0 ? -1 : 0;
	} else if (count > 1) {
		/* name them: the user picks one */
		char names[512] = "";
		size_t used = 0;
		for (int i = 0; i < count && used < sizeof(names) - 1; i++) {
			struct dist_follow one = {.js = fw->js};
			char *name = NULL, e[256];
			if (latest(&one, subs->List[i].Subject, &name, e, sizeof(e)) || !name)
				continue;
			int w = snprintf(names + used, sizeof(names) - used, "%s'%s'",
					 used ? ", " : "", name);
			used += w > 0 ? (size_t)w : 0;
			free(name);
		}
		if (used >= sizeof(names))
			snprintf(names + sizeof(names) - 4, 4, "...");
		snprintf(err, errlen,
			 "%d sessions announce chunks at the broker (%s): name one with --session",
			 count, names);
		r = -1;
	}
	jsStreamInfo_Destroy(si);
	return r;
}

struct dist_follow *dist_follow_start(const char *url, const char *session, int notify_fd,
				      char *err, size_t errlen)
{
	struct dist_follow *fw = calloc(1, sizeof(*fw));
	if (!fw) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fw->notify_fd = notify_fd;
	pthread_mutex_init(&fw->lock, NULL);
	pthread_cond_init(&fw->cond, NULL);
	fw->closed = true;
	/* a follower waits for a broker that goes away */
	if (dist_nats_open(url, "reel analyze", &fw->nc, &fw->js, err, errlen)) {
		dist_follow_stop(fw);
		return NULL;
	}
	char subject[64];
	int r = 0;
	if (session) {
		session_subject(session, subject, sizeof(subject));
		if (!(fw->session = strdup(session))) {
			snprintf(err, errlen, "out of memory");
			r = -1;
		} else {
			r = latest(fw, subject, NULL, err, errlen) < 0 ? -1 : 0;
		}
	} else {
		r = only_session(fw, subject, sizeof(subject), err, errlen);
	}
	if (!r) {
		jsSubOptions so;
		jsSubOptions_Init(&so);
		so.Stream = DIST_CHUNKS_STREAM;
		so.Ordered = true;
		so.Config.DeliverPolicy = js_DeliverAll;
		jsErrCode jerr = 0;
		fw->closed = false;
		natsStatus s = js_Subscribe(&fw->sub, fw->js, subject, on_announcement, fw, NULL,
					    &so, &jerr);
		if (s == NATS_OK)
			s = natsSubscription_SetOnCompleteCB(fw->sub, on_closed, fw);
		if (s != NATS_OK) {
			if (!fw->sub)
				fw->closed = true;
			dist_nats_err(err, errlen, "following the announced chunks", s, jerr);
			r = -1;
		}
	}
	if (r) {
		dist_follow_stop(fw);
		return NULL;
	}
	return fw;
}

bool dist_follow_had_announcements(const struct dist_follow *fw)
{
	return fw->had; /* written before the subscription: no lock */
}

char *dist_follow_session(struct dist_follow *fw)
{
	pthread_mutex_lock(&fw->lock);
	char *s = fw->session ? strdup(fw->session) : NULL;
	pthread_mutex_unlock(&fw->lock);
	return s;
}

int dist_follow_take(struct dist_follow *fw, struct dist_announced **ret, size_t *ret_n)
{
	pthread_mutex_lock(&fw->lock);
	int r = -fw->error;
	*ret = fw->v;
	*ret_n = fw->n;
	fw->v = NULL;
	fw->n = fw->cap = 0;
	pthread_mutex_unlock(&fw->lock);
	return r;
}

void dist_announced_free(struct dist_announced *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

void dist_follow_stop(struct dist_follow *fw)
{
	if (!fw)
		return;
	if (fw->sub) {
		/* the consumer goes with it; then no callback may still run.
		 * With the broker away, deleting the consumer would wait for
		 * the request's timeout (10 s): the connection is closed
		 * instead, which ends the subscription at once (the server
		 * drops an ephemeral consumer left without its subscriber) */
		if (natsConnection_Status(fw->nc) == NATS_CONN_STATUS_CONNECTED)
			natsSubscription_Unsubscribe(fw->sub);
		else
			natsConnection_Close(fw->nc);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 10;
		pthread_mutex_lock(&fw->lock);
		while (!fw->closed &&
		       pthread_cond_timedwait(&fw->cond, &fw->lock, &dl) != ETIMEDOUT)
			;
		bool closed = fw->closed;
		pthread_mutex_unlock(&fw->lock);
		if (!closed) {
			/* never seen; a callback that might still run would use fw */
			fprintf(stderr, "reel analyze: the broker's subscription did not close\n");
			return;
		}
		natsSubscription_Destroy(fw->sub);
	}
	dist_nats_close(fw->nc, fw->js);
	dist_announced_free(fw->v, fw->n);
	runs_free(&fw->replaced);
	free(fw->session);
	pthread_cond_destroy(&fw->cond);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}
