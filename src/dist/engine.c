/* SPDX-License-Identifier: MIT */
/*
 * The engines behind dist_engine_run(): the local thread pool, and NATS
 * JetStream's batch path: one task per chunk on reel.task.<run>, the
 * partials back on reel.result.<run>, reduced in chunk order as a prefix
 * of chunks completes (doc/dist.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist/dist.h"
#include "dist/nats-local.h"

struct dist_engine {
	int (*run)(struct dist_engine *e, const struct dist_job *job, struct an_names *names,
		   struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen);
	unsigned threads;
	natsConnection *nc;
	jsCtx *js;
};

static int local_run(struct dist_engine *e, const struct dist_job *job, struct an_names *names,
		     struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen)
{
	return an_map_chunks(job->chunks, job->n, e->threads, names, job->flags, prog, ret, err,
			     errlen);
}

struct dist_engine *dist_engine_local(unsigned threads)
{
	struct dist_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->run = local_run;
	e->threads = threads;
	return e;
}

int dist_engine_run(struct dist_engine *e, const struct dist_job *job, struct an_names *names,
		    struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen)
{
	return e->run(e, job, names, prog, ret, err, errlen);
}

void dist_engine_destroy(struct dist_engine *e)
{
	if (!e)
		return;
	dist_nats_close(e->nc, e->js);
	free(e);
}

/* ---- NATS -------------------------------------------------------------- */

struct slot {
	char id[DIST_ID_LEN + 1];
	char *path;
	uint64_t seq; /* the task's sequence in the tasks stream */
	struct an_partial *p;
	bool done;
};

/* The tasks of a run, published asynchronously: their acks (with their
 * sequence in the tasks stream) come on libnats's thread. */
struct pubs {
	pthread_mutex_t lock;
	struct slot *sl;
	size_t n;
	natsStatus err;
	jsErrCode jerr;
};

static void on_task_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	struct pubs *pb = closure;
	const char *id = NULL;
	natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
	pthread_mutex_lock(&pb->lock);
	if (pa && id) {
		for (size_t i = 0; i < pb->n; i++)
			if (!strcmp(pb->sl[i].id, id))
				pb->sl[i].seq = pa->Sequence;
	} else if (pb->err == NATS_OK) {
		pb->err = pae ? pae->Err : NATS_ERR;
		pb->jerr = pae ? pae->ErrCode : 0;
	}
	pthread_mutex_unlock(&pb->lock);
	natsMsg_Destroy(msg);
}

/* Whether file is named as a partial of task id in the shared store:
 * reel-partial-<task id>[.<worker's 16 hex>]. */
static bool store_name(const char *file, const char *id)
{
	char want[64];
	snprintf(want, sizeof(want), "reel-partial-%s", id);
	const char *base = strrchr(file, '/');
	size_t wl = strlen(want);
	bool named = base && !strncmp(base + 1, want, wl);
	if (named && base[1 + wl]) {
		/* the worker's suffix: '.' and DIST_ID_LEN hex digits */
		const char *x = base + 1 + wl;
		named = *x++ == '.' && strlen(x) == DIST_ID_LEN &&
			strspn(x, "0123456789abcdef") == DIST_ID_LEN;
	}
	return named;
}

/* A partial written to the shared store: only a file store_name() allows
 * is read, then removed. */
static struct an_partial *read_store(const char *file, const char *id, struct an_names *names,
				     char *err, size_t errlen)
{
	if (!store_name(file, id)) {
		snprintf(err, errlen, "result names a file that is not its partial: %.256s", file);
		errno = EINVAL;
		return NULL;
	}
	FILE *f = fopen(file, "rb");
	if (!f) {
		snprintf(err, errlen, "%.256s: %s", file, strerror(errno));
		return NULL;
	}
	struct an_partial *p = an_partial_read(names, f);
	int e = errno;
	fclose(f);
	if (!p)
		snprintf(err, errlen, "%.256s: %s", file,
			 e == EINVAL ? "malformed partial" : strerror(e));
	else
		unlink(file);
	return p;
}

/* "stream_seq":N in a max-deliveries advisory (JSON from the server). */
static bool advisory_seq(const char *data, int len, uint64_t *ret)
{
	const char *k = memmem(data, (size_t)len, "\"stream_seq\":", 13);
	if (!k)
		return false;
	const char *p = k + 13, *end = data + len;
	uint64_t v = 0;
	int digits = 0;
	while (p < end && *p == ' ')
		p++;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (!digits)
		return false;
	*ret = v;
	return true;
}

/* REEL_DIST_DEBUG: where a batch run's time goes, on stderr. Runs of
 * several engines at once (the follower's mapper threads) may get here
 * together: the flag is read and set atomically (relaxed: every thread
 * computes the same value). */
static void dbg(const char *what)
{
	static int on = -1;
	int v = __atomic_load_n(&on, __ATOMIC_RELAXED);
	if (v < 0) {
		v = getenv("REEL_DIST_DEBUG") != NULL;
		__atomic_store_n(&on, v, __ATOMIC_RELAXED);
	}
	if (v)
		fprintf(stderr, "reel analyze: %.3f ms: %s\n",
			(double)nats_NowInNanoSeconds() / 1e6, what);
}

/* path's directory exists on this machine. */
static bool parent_here(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return false;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	struct stat st;
	return dir[0] && !stat(dir, &st) && S_ISDIR(st.st_mode);
}

static int nats_run(struct dist_engine *e, const struct dist_job *job, struct an_names *names,
		    struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen)
{
	int r = -EIO;
	uint64_t rid;
	char run[DIST_RUN_LEN + 1], tsubj[64], rsubj[64];
	natsSubscription *sub = NULL, *adv = NULL;
	struct an_partial *acc = NULL;
	size_t next = 0, dups = 0;
	jsErrCode jerr = 0;
	natsStatus s;
	if (getrandom(&rid, sizeof(rid), 0) != sizeof(rid)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -EIO;
	}
	snprintf(run, sizeof(run), "%016" PRIx64, rid);
	snprintf(tsubj, sizeof(tsubj), DIST_TASK_SUBJECT "%s", run);
	snprintf(rsubj, sizeof(rsubj), DIST_RESULT_SUBJECT "%s", run);
	struct slot *sl = calloc(job->n ? job->n : 1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	/* tasks go out at once, their acks collected (a synchronous publish
	 * waits a round trip each) */
	struct pubs pb = {.sl = sl, .n = job->n};
	pthread_mutex_init(&pb.lock, NULL);
	jsCtx *pjs = NULL;
	jsOptions pjo;
	jsOptions_Init(&pjo);
	pjo.Wait = 10000;
	pjo.PublishAsync.AckHandler = on_task_ack;
	pjo.PublishAsync.AckHandlerClosure = &pb;
	pjo.PublishAsync.MaxPending = 1024;
	s = natsConnection_JetStream(&pjs, e->nc, &pjo);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "JetStream", s, 0);
		goto out;
	}

	/* results first: none published before this is missed */
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = DIST_RESULTS_STREAM;
	so.Config.AckPolicy = js_AckNone;
	so.Config.DeliverPolicy = js_DeliverAll;
	s = js_SubscribeSync(&sub, e->js, rsubj, NULL, &so, &jerr);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "subscribing to the results", s, jerr);
		goto out;
	}
	/* tasks the workers gave up on (max deliver) */
	s = natsConnection_SubscribeSync(
		&adv, e->nc,
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." DIST_TASKS_STREAM "." DIST_CONSUMER);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "subscribing to advisories", s, 0);
		goto out;
	}
	dbg("subscribed");
	for (size_t i = 0; i < job->n; i++) {
		char abs[PATH_MAX];
		if (!realpath(job->chunks[i], abs)) {
			/* an absolute path this machine does not see goes as it
			 * is: the workers read it (the follower of reeld's
			 * announcements needs no access to the chunks). One
			 * whose directory is here is gone (the retention's):
			 * no task for it */
			int en = errno;
			if ((en != ENOENT && en != EACCES && en != ENOTDIR) ||
			    job->chunks[i][0] != '/' || strlen(job->chunks[i]) >= sizeof(abs) ||
			    parent_here(job->chunks[i])) {
				snprintf(err, errlen, "%.256s: %s", job->chunks[i], strerror(en));
				goto out;
			}
			strcpy(abs, job->chunks[i]);
		}
		struct dist_task t = {.index = i,
				      .flags = job->flags,
				      .begin = (char *)job->begin,
				      .end = (char *)job->end,
				      .by = (char *)job->by,
				      .path = abs};
		memcpy(t.run, run, sizeof(run));
		dist_task_id(&t, t.id);
		memcpy(sl[i].id, t.id, sizeof(t.id));
		if (!(sl[i].path = strdup(job->chunks[i]))) {
			r = -ENOMEM;
			goto out;
		}
		char *msg;
		size_t len;
		if ((r = dist_task_encode(&t, &msg, &len))) {
			snprintf(err, errlen, "%.256s: %s", abs,
				 r == -EINVAL ? "path too long for a task" : strerror(-r));
			goto out;
		}
		r = -EIO;
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MsgId = t.id;
		s = js_PublishAsync(pjs, tsubj, msg, (int)len, &po);
		free(msg);
		if (s != NATS_OK) {
			dist_nats_err(err, errlen, "publishing a task", s, 0);
			goto out;
		}
	}
	jsPubOptions pco;
	jsPubOptions_Init(&pco);
	pco.MaxWait = 30000;
	s = js_PublishAsyncComplete(pjs, &pco);
	pthread_mutex_lock(&pb.lock);
	if (s == NATS_OK && pb.err != NATS_OK)
		s = pb.err;
	jerr = pb.jerr;
	pthread_mutex_unlock(&pb.lock);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "publishing the tasks", s, jerr);
		goto out;
	}

	dbg("tasks published");
	int64_t since = nats_Now(); /* the last result, or the start */
	bool warned = false;
	while (next < job->n) {
		natsMsg *m = NULL;
		if (!warned && nats_Now() - since > 5000) {
			/* say why nothing comes when no worker is there */
			jsConsumerInfo *ci = NULL;
			jsErrCode cj = 0;
			natsStatus cs = js_GetConsumerInfo(&ci, e->js, DIST_TASKS_STREAM,
							   DIST_CONSUMER, NULL, &cj);
			if (cs == NATS_NOT_FOUND ||
			    (cs == NATS_OK && !ci->NumWaiting && !ci->NumAckPending))
				fprintf(stderr, "reel analyze: waiting for workers: none is taking "
						"tasks (reel worker --engine URL)\n");
			jsConsumerInfo_Destroy(ci);
			warned = true;
		}
		s = natsSubscription_NextMsg(&m, adv, 0);
		if (s == NATS_OK) {
			uint64_t seq;
			if (advisory_seq(natsMsg_GetData(m), natsMsg_GetDataLength(m), &seq))
				for (size_t i = 0; i < job->n; i++)
					if (sl[i].seq == seq && !sl[i].done) {
						snprintf(err, errlen,
							 "%.256s: no result after the consumer's "
							 "max deliveries (workers died or timed "
							 "out on it)",
							 sl[i].path);
						natsMsg_Destroy(m);
						goto out;
					}
			natsMsg_Destroy(m);
		}
		s = natsSubscription_NextMsg(&m, sub, 500);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK) {
			if (natsConnection_IsReconnecting(e->nc)) {
				nats_Sleep(200);
				continue;
			}
			dist_nats_err(err, errlen, "waiting for results", s, 0);
			goto out;
		}
		struct dist_result res;
		char *buf = NULL, perr[256];
		if (dist_result_parse(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &res,
				      &buf, perr, sizeof(perr))) {
			fprintf(stderr, "reel analyze: ignoring a malformed result: %s\n", perr);
			natsMsg_Destroy(m);
			continue;
		}
		if (strcmp(res.run, run) || res.index >= job->n ||
		    strcmp(res.id, sl[res.index].id)) {
			fprintf(stderr, "reel analyze: ignoring a result of another task (%s)\n",
				res.id);
		} else if (sl[res.index].done) {
			dups++; /* a redelivered task's second result: the first counts */
			if (res.file && store_name(res.file, res.id))
				unlink(res.file); /* after the broker's duplicate window */
		} else if (res.error) {
			snprintf(err, errlen, "%.256s (worker %.64s): %.512s", sl[res.index].path,
				 res.worker, res.error);
			free(buf);
			natsMsg_Destroy(m);
			goto out;
		} else {
			struct an_partial *p;
			if (res.file) {
				p = read_store(res.file, res.id, names, err, errlen);
			} else {
				FILE *f = fmemopen((void *)res.data, res.size, "rb");
				p = f ? an_partial_read(names, f) : NULL;
				if (f)
					fclose(f);
				if (!p)
					snprintf(err, errlen,
						 "%.256s (worker %.64s): malformed partial",
						 sl[res.index].path, res.worker);
			}
			if (!p) {
				free(buf);
				natsMsg_Destroy(m);
				goto out;
			}
			sl[res.index].p = p;
			sl[res.index].done = true;
			since = nats_Now();
			dbg("result");
			if (prog) {
				__atomic_fetch_add(&prog->events, an_partial_events(p),
						   __ATOMIC_RELAXED);
				__atomic_fetch_add(&prog->chunks, 1, __ATOMIC_RELAXED);
			}
			/* the reduce follows the chunk order: hold what came early */
			while (next < job->n && sl[next].done) {
				struct an_partial *q = sl[next].p;
				sl[next++].p = NULL;
				if (!acc) {
					acc = q;
				} else if ((r = an_partial_merge(acc, q))) {
					snprintf(err, errlen, "reduce: %s", strerror(-r));
					free(buf);
					natsMsg_Destroy(m);
					goto out;
				}
			}
		}
		free(buf);
		natsMsg_Destroy(m);
	}
	if (!acc && !(acc = an_partial_new(names, job->flags))) {
		r = -ENOMEM;
		goto out;
	}
	dbg("reduced");
	if (dups && getenv("REEL_DIST_DEBUG"))
		fprintf(stderr, "reel analyze: %zu duplicate results discarded\n", dups);
	*ret = acc;
	acc = NULL;
	r = 0;
out:
	if (pjs && r) {
		/* no ack left to come to pb once it is gone */
		jsPubOptions pw;
		jsPubOptions_Init(&pw);
		pw.MaxWait = 2000;
		js_PublishAsyncComplete(pjs, &pw);
	}
	jsCtx_Destroy(pjs);
	pthread_mutex_destroy(&pb.lock);
	natsSubscription_Destroy(adv);
	if (sub) {
		natsSubscription_Unsubscribe(sub);
		natsSubscription_Destroy(sub);
	}
	/* this run's results are read: drop them (and, on failure, its tasks) */
	jsOptions po;
	jsOptions_Init(&po);
	po.Stream.Purge.Subject = rsubj;
	js_PurgeStream(e->js, DIST_RESULTS_STREAM, &po, NULL);
	if (r) {
		po.Stream.Purge.Subject = tsubj;
		js_PurgeStream(e->js, DIST_TASKS_STREAM, &po, NULL);
	}
	for (size_t i = 0; i < job->n; i++) {
		an_partial_destroy(sl[i].p);
		free(sl[i].path);
	}
	free(sl);
	an_partial_destroy(acc);
	return r;
}

struct dist_engine *dist_engine_nats(const char *url, char *err, size_t errlen)
{
	struct dist_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->run = nats_run;
	dbg("connecting");
	/* a batch run gives up on a broker that stays away */
	if (dist_nats_open(url, NULL, &e->nc, &e->js, err, errlen)) {
		free(e);
		return NULL;
	}
	return e;
}
