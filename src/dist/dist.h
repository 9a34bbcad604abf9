/* SPDX-License-Identifier: MIT */
/*
 * Reel's dispatch of chunk analyses (component-local API, used by
 * `reel analyze`, `reel worker` and the tests): one small interface, the
 * engine, that maps chunks somewhere and returns their partials reduced in
 * chunk order, with two implementations: the local thread pool of `-j N`
 * (an_map_chunks) and NATS JetStream (tasks out to `reel worker`s,
 * partials back). The messages, streams and their guarantees:
 * doc/dist.md.
 *
 * Owns src/dist/; calls src/analysis (analysis.h), src/common and libnats.
 * The message formats (msg.c) need neither: the fuzz target and the
 * session daemon's chunk announcements use them alone.
 */
#ifndef REEL_DIST_H
#define REEL_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"

#define DIST_ID_LEN  16	  /* hex digits of a task or chunk id */
#define DIST_RUN_LEN 16	  /* hex digits of a run id */
#define DIST_STR_MAX 4096 /* longest string field */

/* ---- the engine ----------------------------------------------------- */

/* One analysis over chunks: what changes the map of a chunk. */
struct dist_job {
	unsigned flags;		      /* AN_* flags of the map */
	const char *begin, *end, *by; /* phases (AN_PHASES), else NULL */
	char *const *chunks;	      /* chunk directories, in order */
	size_t n;
};

struct dist_engine;

/* The local thread pool (`-j N`). NULL with errno ENOMEM. */
struct dist_engine *dist_engine_local(unsigned threads);

/* NATS JetStream at `url` (nats://HOST:PORT): connects, creates the
 * streams if missing. NULL with a message in err when the broker cannot be
 * reached or has no JetStream. */
struct dist_engine *dist_engine_nats(const char *url, char *err, size_t errlen);

/* Map job's chunks and reduce them in chunk order; *ret gets the result
 * (names: the run's table, with the phases set by the caller; several
 * runs may share it). One run at a time per engine: threads that run jobs
 * at once open an engine each (the follower does). Returns 0 or a
 * negative errno with a message in err. */
int dist_engine_run(struct dist_engine *e, const struct dist_job *job, struct an_names *names,
		    struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen);

/* Accepts NULL. */
void dist_engine_destroy(struct dist_engine *e);

/* ---- the chunks reeld announces (announced.c) ------------------------ */

/* The chunks reeld announced for `session` on the broker at url (reel
 * enable-rotation --publish), its latest run's, by index, each once: *ret
 * gets n malloc'ed paths (free each, and the array). 0, or -1 with a
 * message in err. */
int dist_session_chunks(const char *url, const char *session, char ***ret, size_t *ret_n, char *err,
			size_t errlen);

/* One announcement followed. */
struct dist_announced {
	char run[DIST_ID_LEN + 1]; /* the session's run ("" when absent) */
	uint64_t index;		   /* the chunk's place in its run */
	char *path;		   /* the chunk directory */
};

struct dist_follow;

/* Follow the announcements of `session` at url, or with session NULL of
 * the one session announcing there (several: an error naming them; none
 * yet: the first to announce): its latest run's from the oldest still in
 * the stream, then each as it comes, in the stream's order; a later run
 * (the session created again) comes after. Each new announcement raises
 * notify_fd (an eventfd, written 1 from libnats's thread). The broker
 * going away is waited for. NULL with a message in err. */
struct dist_follow *dist_follow_start(const char *url, const char *session, int notify_fd,
				      char *err, size_t errlen);
/* The session followed, malloc'ed; NULL while none has announced. */
char *dist_follow_session(struct dist_follow *fw);
/* The stream held an announcement of the session followed (any, with
 * session NULL) when following began. */
bool dist_follow_had_announcements(const struct dist_follow *fw);
/* The announcements received since the last call, in order: *ret gets
 * n of them (dist_announced_free). 0, or -ENOMEM when one was lost for
 * want of memory. */
int dist_follow_take(struct dist_follow *fw, struct dist_announced **ret, size_t *ret_n);
void dist_announced_free(struct dist_announced *v, size_t n);
/* Accepts NULL. */
void dist_follow_stop(struct dist_follow *fw);

/* ---- the worker ----------------------------------------------------- */

struct dist_worker_opts {
	const char *url;
	unsigned jobs;	     /* tasks mapped at once */
	const char *store;   /* where partials too large for a message go;
			      * NULL: the chunk's parent directory */
	int64_t ack_wait_ms; /* of the consumer, when this worker creates it */
	int max_deliver;     /* likewise */
	bool consumer_opts;  /* ack_wait_ms, max_deliver given: update an
			      * existing consumer to them */
};

/* `reel worker`: take tasks, map them, publish the partials, until
 * SIGINT/SIGTERM. Logs to stderr. Returns 0, or 1
 * with a message on stderr when the broker cannot be reached at start. */
int dist_worker_run(const struct dist_worker_opts *o);

/* ---- messages (msg.c): doc/dist.md ---------------------------------- */


/* A task: map one chunk. Strings point into the parsed buffer's copy. */
struct dist_task {
	char id[DIST_ID_LEN + 1]; /* message id: dist_task_id() */
	char run[DIST_RUN_LEN + 1];
	uint64_t index; /* the chunk's place in its run */
	unsigned flags;
	char *begin, *end, *by; /* NULL when absent */
	char *path;		/* absolute */
};

/* A result: the partial of one task, inline (data, size), in a file of the
 * shared store (file), or the error that stopped its map (error). */
struct dist_result {
	char id[DIST_ID_LEN + 1]; /* the task's id */
	char run[DIST_RUN_LEN + 1];
	uint64_t index;
	char *worker;
	char *error;	  /* NULL when mapped */
	char *file;	  /* NULL when inline */
	const void *data; /* inline: the binary partial */
	size_t size;
};

/* A chunk announcement (reeld --publish): one archived chunk. */
struct dist_chunk {
	char id[DIST_ID_LEN + 1]; /* dist_chunk_id(path) */
	char *session;
	/* DIST_ID_LEN hex digits naming the announcing session's instance
	 * (one per session reeld created: a session created again under the
	 * same name starts its indexes over), or NULL when absent */
	char *run;
	uint64_t index;
	char *path; /* the archived chunk directory, absolute */
};

/* FNV-1a 64 over the task's fields, as DIST_ID_LEN hex digits. */
void dist_task_id(const struct dist_task *t, char out[DIST_ID_LEN + 1]);
void dist_chunk_id(const char *path, char out[DIST_ID_LEN + 1]);

/* The broker URL url (one, or several separated by commas) for messages
 * and records: a password in it (`nats://user:password@host`) written
 * `***`, a token (`nats://token@host`) too. Truncated to fit out. */
void dist_url_display(const char *url, char *out, size_t len);

/* Encode into a malloc'ed buffer (*ret, *ret_len). 0, -EINVAL (a string
 * too long or holding a newline) or -ENOMEM. */
int dist_task_encode(const struct dist_task *t, char **ret, size_t *ret_len);
int dist_result_encode(const struct dist_result *r, char **ret, size_t *ret_len);
int dist_chunk_encode(const struct dist_chunk *c, char **ret, size_t *ret_len);

/* Parse a message (untrusted: every field checked). The strings of *ret
 * live in *ret_buf (free() it); a result's inline data points into msg.
 * 0 or -EINVAL (with errno-like message in err), -ENOMEM. */
int dist_task_parse(const void *msg, size_t len, struct dist_task *ret, char **ret_buf, char *err,
		    size_t errlen);
int dist_result_parse(const void *msg, size_t len, struct dist_result *ret, char **ret_buf,
		      char *err, size_t errlen);
int dist_chunk_parse(const void *msg, size_t len, struct dist_chunk *ret, char **ret_buf, char *err,
		     size_t errlen);

#endif
