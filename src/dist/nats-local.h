/* SPDX-License-Identifier: MIT */
/* src/dist's NATS JetStream plumbing, shared by the batch engine, the
 * worker and the chunk publisher (doc/dist.md: streams, subjects). */
#ifndef REEL_DIST_NATS_LOCAL_H
#define REEL_DIST_NATS_LOCAL_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

#define DIST_TASKS_STREAM     "REEL_TASKS"
#define DIST_TASKS_SUBJECTS   "reel.task.>"
#define DIST_TASK_SUBJECT     "reel.task." /* + run id */
#define DIST_RESULTS_STREAM   "REEL_RESULTS"
#define DIST_RESULTS_SUBJECTS "reel.result.>"
#define DIST_RESULT_SUBJECT   "reel.result." /* + run id */
#define DIST_CHUNKS_STREAM    "REEL_CHUNKS"
#define DIST_CHUNKS_SUBJECTS  "reel.chunk.>"
#define DIST_CHUNK_SUBJECT    "reel.chunk." /* + session name */
#define DIST_CONSUMER	      "reel-workers"
/* the server drops a message whose id it saw this recently */
#define DIST_DEDUP_NS (120 * 1000000000LL)

/* Connect to url: "send as soon as possible" on (REEL_NATS_SEND_ASAP=0
 * turns it off: the benchmark's comparison only); reconnect: forever when
 * forever_as names the program (it logs its disconnections and
 * reconnections on stderr under that name), else for about a minute, NULL.
 * Then the JetStream context and the three streams, created when missing.
 * 0, or -1 with a message in err. */
int dist_nats_open(const char *url, const char *forever_as, natsConnection **ret_nc,
		   jsCtx **ret_js, char *err, size_t errlen);
void dist_nats_close(natsConnection *nc, jsCtx *js);

/* A message for err from a failed call. */
void dist_nats_err(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr);

#endif
