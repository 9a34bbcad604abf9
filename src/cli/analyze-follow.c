/* SPDX-License-Identifier: MIT */
/*
 * `reel analyze KIND --follow DIR|--engine URL` (analyze-follow.h,
 * doc/analysis.md, doc/dist.md): the main thread waits in poll() on the
 * chunks' source, a signalfd (SIGINT, SIGTERM) and an eventfd the mappers
 * raise. The source is inotify on an output directory (the daemon's
 * .reel-archived marker, renamed into place once per archived chunk, and
 * the directory's own removal), or the announcements reeld publishes to
 * the broker (src/dist/announced.c raises an eventfd for each). Chunks are
 * queued to `jobs` mapper threads, each mapping one chunk at a time through its own engine
 * (src/dist: the local map, or a one-chunk job on the `reel worker`s of a
 * NATS broker); their partials go through the ordered reducer; each time
 * partials come in the metrics text is rendered once and handed to the
 * HTTP thread (metrics-http.c), which serves it until the next one.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze-follow.h"
#include "chunks.h"
#include "cli.h"
#include "dist/dist.h"
#include "metrics-http.h"

#define MARKER ".reel-archived"

struct job {
	uint64_t gen;	      /* the run followed when it was queued */
	uint64_t index;	      /* in the reducer */
	char *path;	      /* the chunk's directory */
	struct an_partial *p; /* result, NULL: failed */
	char err[512];
	struct job *next;
};

/* A mapper thread and its engine (one each: an engine runs one job at a
 * time). */
struct mapper {
	struct follow *f;
	struct dist_engine *engine;
	pthread_t tid;
};

struct follow {
	const char *dir;	 /* the output directory followed, or NULL: */
	struct dist_follow *ann; /* the broker's announcements */
	const char *url;	 /* --engine, else NULL */
	unsigned flags;
	struct an_names *names;
	struct an_progress prog;
	pthread_mutex_t lock; /* the queues and stop */
	pthread_cond_t cond;
	struct job *todo, **todo_tail, *done;
	bool stop;
	int done_fd; /* eventfd: a job is done */
	/* main thread only */
	bool started;	   /* first index known */
	uint64_t first;	   /* the first chunk followed */
	uint64_t next;	   /* the next index to queue */
	uint64_t inflight; /* queued or mapping */
	uint64_t failed;
	struct an_reducer *red; /* from the first chunk done */
	/* following announcements: the session's run, and the last chunk
	 * index queued in it (the reducer's indexes count the chunks queued:
	 * chunks removed before they were announced leave gaps) */
	uint64_t gen; /* runs followed so far */
	char run[DIST_ID_LEN + 1];
	uint64_t last_index;
	/* the metrics served, if any: the result's text, rendered when the
	 * prefix grows, and when it did */
	struct metrics_server *ms;
	char *body;
	size_t body_len;
	int64_t updated;
	/* the paths of the chunks queued for the result, in its order */
	char **chunks;
	size_t nchunks, chunks_cap;
};

static void chunks_free(struct follow *f)
{
	for (size_t i = 0; i < f->nchunks; i++)
		free(f->chunks[i]);
	free(f->chunks);
	f->chunks = NULL;
	f->nchunks = f->chunks_cap = 0;
}

/* Job j is done: to the done list, the main thread woken. Lock held. */
static void job_done(struct follow *f, struct job *j)
{
	j->next = f->done;
	f->done = j;
	uint64_t one = 1;
	if (write(f->done_fd, &one, sizeof(one)) != sizeof(one))
		abort(); /* an eventfd write fails only on overflow */
}

/* A job of the run followed, for the reducer's index (the next one: jobs
 * are made in the result's order), its path kept for the report. NULL:
 * ENOMEM. */
static struct job *job_new(struct follow *f, uint64_t index, const char *path)
{
	if (f->nchunks == f->chunks_cap) {
		size_t cap = f->chunks_cap ? f->chunks_cap * 2 : 64;
		char **v = realloc(f->chunks, cap * sizeof(*v));
		if (!v)
			return NULL;
		f->chunks = v;
		f->chunks_cap = cap;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(path)) || !(f->chunks[f->nchunks] = strdup(path))) {
		if (j)
			free(j->path);
		free(j);
		return NULL;
	}
	f->nchunks++;
	j->gen = f->gen;
	j->index = index;
	return j;
}

static void *mapper(void *arg)
{
	struct mapper *m = arg;
	struct follow *f = m->f;
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->todo && !f->stop)
			pthread_cond_wait(&f->cond, &f->lock);
		struct job *j = f->todo;
		if (!j)
			break; /* stopping, nothing left */
		f->todo = j->next;
		if (!f->todo)
			f->todo_tail = &f->todo;
		pthread_mutex_unlock(&f->lock);
		/* its kernel trace (the userspace one beside it is read with it),
		 * else whatever traces it holds */
		char kp[PATH_MAX];
		snprintf(kp, sizeof(kp), "%s/kernel", j->path);
		char *chunk = chunk_has_metadata(kp) ? kp : j->path;
		const struct dist_job job = {.flags = f->flags,
					     .begin = an_names_phase(f->names, 0),
					     .end = an_names_phase(f->names, 1),
					     .by = an_names_phase(f->names, 2),
					     .chunks = &chunk,
					     .n = 1};
		/* a broker engine that failed is replaced for the next chunk: its
		 * connection may be closed for good (the broker away too long) */
		if (!m->engine && f->url)
			m->engine = dist_engine_nats(f->url, j->err, sizeof(j->err));
		int r = m->engine ? dist_engine_run(m->engine, &job, f->names, &f->prog, &j->p,
						    j->err, sizeof(j->err))
				  : -EIO;
		if (r && f->url) {
			dist_engine_destroy(m->engine);
			m->engine = NULL;
		}
		if (r) {
			j->p = NULL;
			if (!j->err[0])
				snprintf(j->err, sizeof(j->err), "%s", strerror(-r));
		}
		pthread_mutex_lock(&f->lock);
		job_done(f, j);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static int queue(struct follow *f, uint64_t index, const char *path)
{
	struct job *j = job_new(f, index, path);
	if (!j)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	*f->todo_tail = j;
	f->todo_tail = &j->next;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	f->inflight++;
	return 0;
}

/* The index the daemon last announced (its marker), -1 without one. */
static int64_t archived_index(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/" MARKER, dir);
	FILE *fp = fopen(p, "re");
	if (!fp)
		return -1;
	unsigned long long v;
	int n = fscanf(fp, "%llu", &v);
	fclose(fp);
	return n == 1 && v < INT64_MAX ? (int64_t)v : -1;
}

struct entry {
	uint64_t index;
	char *name;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Queue every announced chunk not queued yet. A chunk that is gone
 * (removed by the retention before it was read) is queued all the same:
 * it fails to map and counts as failed. */
static int scan(struct follow *f)
{
	int64_t last = archived_index(f->dir);
	if (last < 0 || (f->started && (uint64_t)last < f->next))
		return 0;
	char ap[PATH_MAX];
	snprintf(ap, sizeof(ap), "%s/archives", f->dir);
	DIR *d = opendir(ap);
	if (!d)
		return 0;
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t idx;
		if (!chunk_name_index(de->d_name, &idx) || idx > (uint64_t)last ||
		    (f->started && idx < f->next))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct entry *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[n].name = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		v[n++].index = idx;
	}
	closedir(d);
	if (!r && n)
		qsort(v, n, sizeof(*v), cmp_entry);
	if (!r && !f->started && n) {
		f->started = true;
		f->first = f->next = v[0].index; /* older ones were removed before we came */
	}
	size_t k = 0;
	while (!r && f->started && f->next <= (uint64_t)last) {
		char cp[PATH_MAX + 256];
		if (k < n && v[k].index == f->next)
			snprintf(cp, sizeof(cp), "%s/%s", ap, v[k++].name);
		else
			snprintf(cp, sizeof(cp), "%s/(chunk %" PRIu64 ", removed)", ap, f->next);
		r = queue(f, f->next, cp);
		if (!r)
			f->next++;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return r;
}

/* A result that needs no map (p: taken), into the done list as a mapper
 * would put it. 0 or -ENOMEM. */
static int done_now(struct follow *f, uint64_t index, const char *what, struct an_partial *p)
{
	struct job *j = job_new(f, index, what);
	if (!j)
		return -ENOMEM;
	j->p = p;
	f->inflight++;
	pthread_mutex_lock(&f->lock);
	job_done(f, j);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* A new run of the session followed (created again): the chunks of the
 * last one still queued are dropped, those mapping are dropped when they
 * are done (collect), and the result starts over. */
static void new_run(struct follow *f, const char *session)
{
	pthread_mutex_lock(&f->lock);
	for (struct job *j = f->todo, *n; j; j = n) {
		n = j->next;
		free(j->path);
		free(j);
		f->inflight--;
	}
	f->todo = NULL;
	f->todo_tail = &f->todo;
	pthread_mutex_unlock(&f->lock);
	an_reducer_destroy(f->red);
	f->red = NULL;
	chunks_free(f);
	f->gen++;
	f->failed = 0;
	f->started = false;
	fprintf(stderr,
		"Session '%s' was created again: following its new run, the result starts over\n",
		session);
}

/* Queue the chunks announced since the last call. reeld announces a run's
 * chunks in order: an index past the next one means chunks removed (the
 * retention) before they were announced or read; they count as failed.
 * *ret_restarted: a new run began. */
static int take_announced(struct follow *f, bool quiet, bool *ret_restarted)
{
	struct dist_announced *v;
	size_t n;
	int r = dist_follow_take(f->ann, &v, &n);
	if (r)
		cli_error("analyze", "an announcement was lost: %s", strerror(-r));
	char *session = n ? dist_follow_session(f->ann) : NULL;
	for (size_t i = 0; i < n && r != -ENOMEM; i++) {
		const struct dist_announced *a = &v[i];
		if (f->started && strcmp(a->run, f->run)) {
			new_run(f, session ? session : "?");
			*ret_restarted = true;
		}
		if (!f->started) {
			if (!f->gen && !quiet)
				fprintf(stderr, "Following session '%s'\n",
					session ? session : "?");
			f->started = true;
			f->first = f->next = 0;
			snprintf(f->run, sizeof(f->run), "%s", a->run);
		} else if (a->index <= f->last_index) {
			continue; /* announced again */
		} else if (a->index > f->last_index + 1) {
			uint64_t lost = a->index - f->last_index - 1;
			cli_error("analyze",
				  "%" PRIu64 " chunk%s of session '%s' (%" PRIu64 " to %" PRIu64
				  ") removed before %s announced or read: counted as failed",
				  lost, lost > 1 ? "s" : "", session ? session : "?",
				  f->last_index + 1, a->index - 1,
				  lost > 1 ? "they were" : "it was");
			f->failed += lost;
			/* merged as empty, as a chunk that cannot be read */
			struct an_partial *gap = an_partial_new_missing(f->names, f->flags, lost);
			char what[128];
			snprintf(what, sizeof(what),
				 "(chunks %" PRIu64 " to %" PRIu64 ", removed before announced)",
				 f->last_index + 1, a->index - 1);
			if (!gap || done_now(f, f->next, what, gap)) {
				an_partial_destroy(gap);
				r = -ENOMEM;
				break;
			}
			f->next++;
		}
		f->last_index = a->index;
		int qr = queue(f, f->next, a->path);
		if (qr)
			r = qr;
		else
			f->next++;
	}
	free(session);
	dist_announced_free(v, n);
	return r == -ENOMEM ? r : 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The result's metrics text, rendered once each time the prefix grows
 * (the result, NULL: none yet); *body keeps it. 0, or -errno. */
static int render(const struct an_partial *result, char **body, size_t *body_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return -errno;
	int r = an_metrics_write(result, m);
	if (fclose(m) && !r)
		r = -errno;
	if (r) {
		free(text);
		return r;
	}
	free(*body);
	*body = text;
	*body_len = len;
	return 0;
}

/* Serve the follower's own counters and the rendered result. */
static void publish(struct metrics_server *ms, const char *body, size_t body_len,
		    const struct an_metrics_info *info)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return;
	int r = an_metrics_write_follower(m, info);
	fwrite(body, 1, body_len, m);
	if (fclose(m) || r) {
		free(text);
		cli_error("analyze", "the metrics: %s", strerror(r ? -r : errno));
		return;
	}
	metrics_server_set(ms, text, len);
}

/* Collect the mappers' results into the reducer; true when the prefix grew. */
static int collect(struct follow *f, bool *ret_grew)
{
	pthread_mutex_lock(&f->lock);
	struct job *j = f->done;
	f->done = NULL;
	pthread_mutex_unlock(&f->lock);
	int r = 0;
	while (j) {
		struct job *next = j->next;
		f->inflight--;
		struct an_partial *p = j->p;
		if (j->gen != f->gen) {
			/* a run no longer followed */
			an_partial_destroy(p);
			free(j->path);
			free(j);
			j = next;
			continue;
		}
		if (!f->red && !(f->red = an_reducer_new(f->first))) {
			an_partial_destroy(p);
			p = NULL;
			r = -ENOMEM;
		}
		if (!p && !r) {
			/* an empty chunk in its place: the prefix goes on */
			/* the engines' messages name the chunk already */
			bool named = !strncmp(j->err, j->path, strlen(j->path));
			cli_error("analyze", "%s%s%s (counted as an empty chunk)",
				  named ? "" : j->path, named ? "" : ": ", j->err);
			f->failed++;
			p = an_partial_new_missing(f->names, f->flags, 1);
		}
		int pr = p ? an_reducer_put(f->red, j->index, p) : -ENOMEM;
		if (pr == AN_REDUCER_ADVANCED)
			*ret_grew = true;
		else if (pr < 0 && !r)
			r = pr;
		free(j->path);
		free(j);
		j = next;
	}
	return r;
}

/* Serve the follower's counters beside the result's text, as they are
 * now: after chunks come in, or are found. */
static void serve(const struct follow *f)
{
	if (!f->ms || !f->body)
		return;
	size_t held = f->red ? an_reducer_held(f->red) : 0;
	struct an_metrics_info info = {.chunks_failed = f->failed,
				       .chunks_waiting = held,
				       .chunks_pending = f->inflight + held,
				       .updated_ns = f->updated};
	publish(f->ms, f->body, f->body_len, &info);
}

/* The chunks done: into the reducer, and the metrics served updated. */
static int chunks_done(struct follow *f)
{
	uint64_t v;
	if (read(f->done_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	bool grew = false;
	int r = collect(f, &grew);
	if (grew)
		f->updated = now_ns();
	if (f->ms && grew && render(an_reducer_result(f->red), &f->body, &f->body_len))
		cli_error("analyze", "the metrics: out of memory");
	/* also when only the held chunks changed: reel_chunks_waiting
	 * shows a chunk that keeps the prefix back (a slow worker) */
	serve(f);
	return r;
}

/* Nothing yet (the start, a new run): an empty result served. */
static void serve_empty(struct follow *f)
{
	if (!f->ms)
		return;
	f->updated = 0;
	if (render(NULL, &f->body, &f->body_len))
		cli_error("analyze", "the metrics: out of memory");
	serve(f);
}

/* Room for n more connections under the open files limit, raised up to
 * its hard limit when needed. 0, or -EMFILE. */
static int room_for_connections(unsigned n)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	/* those open now (stdio, the follower's own), and the follower's
	 * own connection, the metrics server's sockets */
	rlim_t need = (rlim_t)n + 64;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return -EMFILE;
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -EMFILE : 0;
}

/* poll() until something comes. 0 or -errno. */
static int wait_events(struct pollfd *pf, nfds_t n)
{
	while (poll(pf, n, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* The signal the signalfd holds, 0 when none could be read. */
static int read_signal(int sfd)
{
	struct signalfd_siginfo si;
	return read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

static void say_finishing(int sig)
{
	fprintf(stderr, "%s: finishing the chunks in progress\n", strsignal(sig));
}

int analyze_follow(const char *dir, const char *session, unsigned jobs, const char *engine,
		   unsigned flags, struct an_names *names, const char *metrics, bool quiet,
		   struct an_partial **ret, char ***ret_chunks, size_t *ret_nchunks)
{
	struct stat st;
	if (dir && (stat(dir, &st) || !S_ISDIR(st.st_mode))) {
		cli_error("analyze", "%s: not a directory (--follow: a session's output directory)",
			  dir);
		return 1;
	}
	struct follow f = {
		.dir = dir, .url = engine, .flags = flags, .names = names, .done_fd = -1};
	f.todo_tail = &f.todo;
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	/* src: inotify on dir, or the announcements' eventfd */
	int status = 1, src = -1, sfd = -1;
	unsigned nthreads = 0;
	struct mapper *th = calloc(jobs, sizeof(*th));
	char err[512];
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	/* blocked before any thread starts (libnats's too): every thread
	 * inherits the mask, the signals come through the signalfd only */
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	if (!th) {
		cli_error("analyze", "out of memory");
		goto out;
	}
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0 ||
	    (src = dir ? inotify_init1(IN_CLOEXEC) : eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (f.done_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
		cli_error("analyze", "--follow: %s", strerror(errno));
		goto out;
	}
	/* the marker is renamed into place: IN_MOVED_TO; the directory's end */
	if (dir && inotify_add_watch(src, dir, IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		cli_error("analyze", "%s: cannot watch: %s", dir, strerror(errno));
		goto out;
	}
	/* a connection (a socket) per mapper with --engine: an open files
	 * limit below that made libnats say the broker could not be reached */
	if (engine && room_for_connections(jobs)) {
		cli_error("analyze",
			  "-j %u: a connection to the broker each, more than the open files limit "
			  "allows (ulimit -n): a smaller -j",
			  jobs);
		goto out;
	}
	/* the engines first: a broker that cannot be reached fails here */
	for (unsigned i = 0; i < jobs; i++) {
		th[i].f = &f;
		err[0] = 0;
		th[i].engine =
			engine ? dist_engine_nats(engine, err, sizeof(err)) : dist_engine_local(1);
		if (!th[i].engine) {
			cli_error("analyze", "%s", err[0] ? err : "out of memory");
			goto out;
		}
	}
	if (!dir && !(f.ann = dist_follow_start(engine, session, src, err, sizeof(err)))) {
		cli_error("analyze", "%s", err);
		goto out;
	}
	if (metrics) {
		f.ms = metrics_server_start(metrics, err, sizeof(err));
		if (!f.ms) {
			cli_error("analyze", "--metrics: %s", err);
			goto out;
		}
	}
	for (; nthreads < jobs; nthreads++)
		if (pthread_create(&th[nthreads].tid, NULL, mapper, &th[nthreads])) {
			cli_error("analyze", "cannot start a mapper thread");
			goto out;
		}
	if (f.ms) {
		serve_empty(&f);
		fprintf(stderr, "Serving the metrics on http://%s/metrics\n",
			metrics_server_address(f.ms));
	}
	/* the broker's URL without its password */
	char shown[1024] = "";
	if (engine)
		dist_url_display(engine, shown, sizeof(shown));
	if (!quiet && dir)
		fprintf(stderr, "Following %s%s%s: Ctrl-C for the report\n", dir,
			engine ? ", mapping on the workers of " : "", shown);
	else if (!quiet)
		fprintf(stderr,
			"Following the chunks %s%s%s announces at %s, mapping on its workers: "
			"Ctrl-C for the report\n",
			session ? "session '" : "the session", session ? session : "",
			session ? "'" : "", shown);
	if (!quiet && f.ann && session && !dist_follow_had_announcements(f.ann))
		/* a misspelt name waits too: say it */
		fprintf(stderr,
			"No chunk announced for session '%s' at %s yet: waiting for its first "
			"(reel enable-rotation --publish URL)\n",
			session, shown);
	int r = dir ? scan(&f) : 0;
	bool signalled = false;
	while (!r) {
		struct pollfd pf[3] = {{.fd = sfd, .events = POLLIN},
				       {.fd = src, .events = POLLIN},
				       {.fd = f.done_fd, .events = POLLIN}};
		if ((r = wait_events(pf, 3)))
			break;
		if (pf[0].revents) {
			int sig = read_signal(sfd);
			if (sig && !quiet)
				say_finishing(sig);
			signalled = true;
			break;
		}
		if (pf[1].revents && !dir) {
			uint64_t v;
			if (read(src, &v, sizeof(v)) < 0 && errno != EAGAIN) {
				r = -errno;
				break;
			}
			bool restarted = false;
			r = take_announced(&f, quiet, &restarted);
			if (restarted)
				serve_empty(&f);
			else
				serve(&f);
		} else if (pf[1].revents) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t n = read(src, buf, sizeof(buf));
			bool gone = false;
			for (ssize_t o = 0; o < n;) {
				const struct inotify_event *ev =
					(const struct inotify_event *)(buf + o);
				if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
					gone = true;
				o += (ssize_t)sizeof(*ev) + ev->len;
			}
			if (gone) {
				if (!quiet)
					fprintf(stderr,
						"%s is gone: finishing the chunks in progress\n",
						dir);
				break;
			}
			r = scan(&f);
			serve(&f);
		}
		if (!r && pf[2].revents)
			r = chunks_done(&f);
	}
	if (r) {
		cli_error("analyze", "--follow: %s", strerror(-r));
		goto out;
	}
	/* no announcement after this one: the chunks queued are the report's */
	dist_follow_stop(f.ann);
	f.ann = NULL;
	/* the chunks queued: mapped to the end (the metrics still served as
	 * they come in), then the report. A signal (a second one, after
	 * SIGINT or SIGTERM) stops at once: the mappers may wait for workers
	 * that never come, inside the engine, so the process exits here */
	while (f.inflight) {
		struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
				       {.fd = f.done_fd, .events = POLLIN}};
		if ((r = wait_events(pf, 2)))
			break;
		if (pf[0].revents) {
			int sig = read_signal(sfd);
			if (!sig)
				continue;
			if (!signalled) {
				signalled = true;
				if (!quiet)
					say_finishing(sig);
				continue;
			}
			cli_error("analyze",
				  "%s again: stopping without the %" PRIu64
				  " chunk%s in progress (no report)",
				  strsignal(sig), f.inflight, f.inflight > 1 ? "s" : "");
			fflush(stdout);
			_exit(1);
		}
		if (pf[1].revents && (r = chunks_done(&f)))
			break;
	}
	if (r) {
		cli_error("analyze", "--follow: %s", strerror(-r));
		goto out;
	}
	/* the result is the reducer's: taken whole (every queued chunk is in;
	 * the mappers, idle, are stopped below) */
	*ret = f.red ? an_reducer_take(f.red) : NULL;
	*ret_chunks = f.chunks;
	*ret_nchunks = f.nchunks;
	f.chunks = NULL;
	f.nchunks = 0;
	status = 0;
out:
	pthread_mutex_lock(&f.lock);
	f.stop = true;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(th[i].tid, NULL);
	dist_follow_stop(f.ann);
	metrics_server_stop(f.ms);
	free(f.body);
	chunks_free(&f);
	an_reducer_destroy(f.red);
	for (struct job *j = f.todo, *n; j; j = n) {
		n = j->next;
		free(j->path);
		free(j);
	}
	for (struct job *j = f.done, *n; j; j = n) {
		n = j->next;
		an_partial_destroy(j->p);
		free(j->path);
		free(j);
	}
	if (sfd >= 0)
		close(sfd);
	if (src >= 0)
		close(src);
	if (f.done_fd >= 0)
		close(f.done_fd);
	for (unsigned i = 0; th && i < jobs; i++)
		dist_engine_destroy(th[i].engine);
	free(th);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
