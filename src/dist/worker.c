/* SPDX-License-Identifier: MIT */
/*
 * `reel worker`: takes tasks from the shared durable consumer, one at a
 * time per job, maps the chunk (an_map_path) while keeping the task alive
 * (InProgress), publishes the partial (message id = the task's id) and
 * acknowledges the task only once the server accepted the result
 * (doc/dist.md).
 *
 * Threads: `jobs` job threads, each with its own pull subscription to the
 * one consumer and, while mapping, a keep-alive thread; one connection
 * shared by all (libnats is thread-safe).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dist/dist.h"
#include "dist/nats-local.h"

/* Set by the signal handler (on whichever thread takes the signal) or a
 * job thread, read by every job thread: atomic (lock-free, so
 * async-signal-safe), relaxed: it orders nothing else. */
static int stop;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

struct worker {
	const struct dist_worker_opts *o;
	natsConnection *nc;
	jsCtx *js;
	int64_t ack_wait_ms;
	char name[128];
	uint64_t test_sleep_ms; /* REEL_WORKER_TEST_SLEEP_MS (tests only) */
	bool test_no_keepalive; /* REEL_WORKER_TEST_NO_KEEPALIVE (tests only) */
	int failed;		/* a job thread could not take tasks (atomic) */
};

static void wlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wlog(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "reel worker[%d]: %s\n", (int)getpid(), line);
}

/* ---- keep-alive ---------------------------------------------------------- */

struct keepalive {
	natsMsg *msg;
	int64_t period_ms;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *keepalive_thread(void *arg)
{
	struct keepalive *k = arg;
	pthread_mutex_lock(&k->lock);
	while (!k->done) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += k->period_ms / 1000;
		dl.tv_nsec += (k->period_ms % 1000) * 1000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&k->cond, &k->lock, &dl) == ETIMEDOUT && !k->done)
			/* resets the server's ack timer; lost while disconnected:
			 * then the task may go to another worker too, and its
			 * result is a duplicate dropped by id */
			natsMsg_InProgress(k->msg, NULL);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* ---- one task -------------------------------------------------------------- */

/* Encode p; into the store when the message would exceed the broker's
 * max payload: the file is named after the task and this worker (a task
 * redone by another worker makes another file), its path in stored
 * (size DIST_STORE_PATH_MAX; "" when none). */
#define DIST_STORE_PATH_MAX 4200
static int result_message(struct worker *w, const struct dist_task *t, struct an_partial *p,
			  const char *error, char **ret, size_t *ret_len, char *stored, char *err,
			  size_t errlen)
{
	stored[0] = '\0';
	struct dist_result res = {.index = t->index, .worker = w->name};
	memcpy(res.id, t->id, sizeof(res.id));
	memcpy(res.run, t->run, sizeof(res.run));
	char *data = NULL, file[DIST_STORE_PATH_MAX];
	size_t size = 0;
	int r;
	if (error) {
		res.error = (char *)error;
		return dist_result_encode(&res, ret, ret_len);
	}
	FILE *f = open_memstream(&data, &size);
	if (!f)
		return -ENOMEM;
	r = an_partial_write(p, f);
	if (fclose(f) || r) {
		free(data);
		snprintf(err, errlen, "encoding the partial failed");
		return -ENOMEM;
	}
	int64_t max = natsConnection_GetMaxPayload(w->nc);
	if ((int64_t)size + DIST_STR_MAX * 2 > max) {
		char dir[4096];
		if (w->o->store) {
			snprintf(dir, sizeof(dir), "%s", w->o->store);
		} else {
			snprintf(dir, sizeof(dir), "%s", t->path);
			char *d = dirname(dir);
			memmove(dir, d, strlen(d) + 1);
		}
		char tmp[DIST_STORE_PATH_MAX + 100], self[DIST_ID_LEN + 1];
		dist_chunk_id(w->name, self);
		snprintf(file, sizeof(file), "%s/reel-partial-%s.%s", dir, t->id, self);
		snprintf(tmp, sizeof(tmp), "%s.%d.tmp", file, (int)getpid());
		FILE *o = fopen(tmp, "wbx");
		bool ok = o && fwrite(data, 1, size, o) == size;
		if (o && fclose(o))
			ok = false;
		if (!ok || rename(tmp, file)) {
			snprintf(err, errlen, "writing %.512s: %s", file, strerror(errno));
			unlink(tmp);
			free(data);
			return -EIO;
		}
		wlog("task %" PRIu64 ": partial of %zu bytes (over the broker's max message): %s",
		     t->index, size, file);
		free(data);
		data = NULL;
		size = 0;
		res.file = file;
		snprintf(stored, DIST_STORE_PATH_MAX, "%s", file);
	}
	res.data = data;
	res.size = size;
	r = dist_result_encode(&res, ret, ret_len);
	free(data);
	return r;
}

static void handle(struct worker *w, natsMsg *msg)
{
	struct dist_task t;
	char *buf = NULL, err[1024] = "";
	if (dist_task_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &t, &buf, err,
			    sizeof(err))) {
		/* never redelivered: no worker can do better */
		wlog("dropping a malformed task: %s", err);
		natsMsg_Term(msg, NULL);
		return;
	}
	wlog("task %" PRIu64 " of run %s: mapping %s", t.index, t.run, t.path);
	int64_t t0 = nats_NowInNanoSeconds(), t_map = 0, t_pub = 0;

	struct keepalive k = {.msg = msg,
			      .period_ms = w->ack_wait_ms / 3 > 0 ? w->ack_wait_ms / 3 : 1};
	pthread_mutex_init(&k.lock, NULL);
	pthread_cond_init(&k.cond, NULL);
	pthread_t kt;
	bool kalive = !w->test_no_keepalive && !pthread_create(&kt, NULL, keepalive_thread, &k);

	struct an_names *names = an_names_new();
	struct an_partial *p = NULL;
	struct an_progress prog = {0};
	int r = -ENOMEM;
	if (names && (!(t.flags & AN_PHASES) || !an_names_set_phases(names, t.begin, t.end, t.by)))
		r = an_map_path(t.path, names, t.flags, &prog, &p, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "out of memory");
	t_map = nats_NowInNanoSeconds();
	if (w->test_sleep_ms) {
		struct timespec ts = {(time_t)(w->test_sleep_ms / 1000),
				      (long)(w->test_sleep_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	char *out = NULL;
	size_t len = 0;
	char eerr[1024] = "", stored[DIST_STORE_PATH_MAX];
	int er = result_message(w, &t, r ? NULL : p, r ? (err[0] ? err : strerror(-r)) : NULL, &out,
				&len, stored, eerr, sizeof(eerr));
	if (er) {
		/* the map worked, its result cannot be sent: say so instead */
		wlog("task %" PRIu64 ": %s", t.index, eerr[0] ? eerr : strerror(-er));
		r = er;
		struct dist_result res = {.index = t.index,
					  .worker = w->name,
					  .error = eerr[0] ? eerr
							   : (char *)"encoding the result failed"};
		memcpy(res.id, t.id, sizeof(res.id));
		memcpy(res.run, t.run, sizeof(res.run));
		if (dist_result_encode(&res, &out, &len))
			out = NULL;
	}
	bool published = false;
	size_t result_bytes = len;
	if (out) {
		char subj[64];
		snprintf(subj, sizeof(subj), DIST_RESULT_SUBJECT "%s", t.run);
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MsgId = t.id;
		/* through a reconnection: retry while the task is kept alive */
		for (int attempt = 0; !published && attempt < 60; attempt++) {
			jsErrCode jerr = 0;
			jsPubAck *pa = NULL;
			natsStatus s = js_Publish(&pa, w->js, subj, out, (int)len, &po, &jerr);
			if (s == NATS_OK) {
				/* another worker's result of the task came first:
				 * the broker dropped this one, no one reads its file */
				if (pa && pa->Duplicate && stored[0] && !unlink(stored))
					wlog("task %" PRIu64 ": a duplicate result: %s removed",
					     t.index, stored);
				jsPubAck_Destroy(pa);
				published = true;
				break;
			}
			jsPubAck_Destroy(pa);
			if (attempt == 0 || attempt % 10 == 9) {
				dist_nats_err(err, sizeof(err), "publishing the result", s, jerr);
				wlog("task %" PRIu64 ": %s (retrying)", t.index, err);
			}
			nats_Sleep(500);
		}
		free(out);
	}
	if (kalive) {
		pthread_mutex_lock(&k.lock);
		k.done = true;
		pthread_cond_signal(&k.cond);
		pthread_mutex_unlock(&k.lock);
		pthread_join(kt, NULL);
	}
	pthread_mutex_destroy(&k.lock);
	pthread_cond_destroy(&k.cond);
	t_pub = nats_NowInNanoSeconds();
	if (published) {
		jsErrCode jerr = 0;
		natsStatus s = natsMsg_AckSync(msg, NULL, &jerr);
		if (s != NATS_OK) {
			/* redelivered later; its new result is a duplicate */
			dist_nats_err(err, sizeof(err), "acknowledging the task", s, jerr);
			wlog("task %" PRIu64 ": %s", t.index, err);
		} else {
			int64_t t_ack = nats_NowInNanoSeconds();
			wlog("task %" PRIu64 " of run %s: %s, %" PRIu64
			     " events, %.1f ms (map %.1f, result %.1f (%zu bytes), ack %.1f)",
			     t.index, t.run, r ? "failed (error sent)" : "done", prog.events,
			     (double)(t_ack - t0) / 1e6, (double)(t_map - t0) / 1e6,
			     (double)(t_pub - t_map) / 1e6, result_bytes,
			     (double)(t_ack - t_pub) / 1e6);
		}
	} else {
		if (stored[0])
			unlink(stored);
		wlog("task %" PRIu64 ": result not published: left to redelivery", t.index);
	}
	an_partial_destroy(p);
	an_names_destroy(names);
	free(buf);
}

/* ---- the job threads ------------------------------------------------------ */

static void *job_thread(void *arg)
{
	struct worker *w = arg;
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = DIST_TASKS_STREAM;
	so.Consumer = DIST_CONSUMER;
	jsErrCode jerr = 0;
	natsStatus s =
		js_PullSubscribe(&sub, w->js, DIST_TASKS_SUBJECTS, DIST_CONSUMER, NULL, &so, &jerr);
	if (s != NATS_OK) {
		char err[512];
		dist_nats_err(err, sizeof(err), "subscribing to the tasks", s, jerr);
		wlog("%s", err);
		__atomic_store_n(&w->failed, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	bool down = false;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		natsMsgList list = {0};
		s = natsSubscription_Fetch(&list, sub, 1, 1000, &jerr);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK) {
			if (!down)
				wlog("waiting for the broker (%s)", natsStatus_GetText(s));
			down = true;
			nats_Sleep(250);
			continue;
		}
		if (down)
			wlog("broker back");
		down = false;
		for (int i = 0; i < list.Count; i++)
			handle(w, list.Msgs[i]);
		natsMsgList_Destroy(&list);
	}
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	return NULL;
}

/* The one durable pull consumer of the tasks stream, shared by every
 * worker: explicit acks, the ack wait and the retry limit set here. */
static int ensure_consumer(struct worker *w, char *err, size_t errlen)
{
	jsConsumerConfig cc;
	jsConsumerConfig_Init(&cc);
	cc.Durable = DIST_CONSUMER;
	cc.AckPolicy = js_AckExplicit;
	cc.AckWait = w->o->ack_wait_ms * 1000000;
	cc.MaxDeliver = w->o->max_deliver;
	cc.DeliverPolicy = js_DeliverAll;
	cc.FilterSubject = DIST_TASKS_SUBJECTS;
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_AddConsumer(&ci, w->js, DIST_TASKS_STREAM, &cc, NULL, &jerr);
	if (s != NATS_OK) {
		jsErrCode j2 = 0;
		/* made by another worker: its settings hold unless asked */
		if (w->o->consumer_opts)
			s = js_UpdateConsumer(&ci, w->js, DIST_TASKS_STREAM, &cc, NULL, &j2);
		else
			s = js_GetConsumerInfo(&ci, w->js, DIST_TASKS_STREAM, DIST_CONSUMER, NULL,
					       &j2);
		if (s != NATS_OK) {
			dist_nats_err(err, errlen, "the workers' consumer", s, j2 ? j2 : jerr);
			return -1;
		}
	}
	w->ack_wait_ms = ci->Config->AckWait / 1000000;
	if (w->ack_wait_ms < 1)
		w->ack_wait_ms = 1;
	wlog("consumer %s: ack wait %" PRId64 " ms, max deliver %" PRId64, DIST_CONSUMER,
	     w->ack_wait_ms, ci->Config->MaxDeliver);
	jsConsumerInfo_Destroy(ci);
	return 0;
}

int dist_worker_run(const struct dist_worker_opts *o)
{
	struct worker w = {.o = o};
	char err[1024];
	char host[64] = "?";
	gethostname(host, sizeof(host) - 1);
	snprintf(w.name, sizeof(w.name), "%s:%d", host, (int)getpid());
	const char *ts = getenv("REEL_WORKER_TEST_SLEEP_MS");
	if (ts)
		w.test_sleep_ms = strtoull(ts, NULL, 10);
	w.test_no_keepalive = getenv("REEL_WORKER_TEST_NO_KEEPALIVE") != NULL;

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (dist_nats_open(o->url, "reel worker", &w.nc, &w.js, err, sizeof(err))) {
		fprintf(stderr, "reel worker: %s\n", err);
		return 1;
	}
	natsConnection_Flush(w.nc);
	if (ensure_consumer(&w, err, sizeof(err))) {
		fprintf(stderr, "reel worker: %s\n", err);
		dist_nats_close(w.nc, w.js);
		return 1;
	}
	unsigned n = o->jobs ? o->jobs : 1;
	pthread_t *tids = calloc(n, sizeof(*tids));
	unsigned started = 0;
	if (tids)
		for (; started < n; started++)
			if (pthread_create(&tids[started], NULL, job_thread, &w))
				break;
	if (!started) {
		fprintf(stderr, "reel worker: cannot start its threads\n");
		free(tids);
		dist_nats_close(w.nc, w.js);
		return 1;
	}
	wlog("%s: %u job%s, taking tasks", w.name, started, started > 1 ? "s" : "");
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	dist_nats_close(w.nc, w.js);
	if (__atomic_load_n(&w.failed, __ATOMIC_RELAXED)) {
		wlog("stopped: it could not take tasks");
		return 1;
	}
	wlog("stopped");
	return 0;
}
