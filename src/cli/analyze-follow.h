/* SPDX-License-Identifier: MIT */
/* `reel analyze KIND --follow DIR|--engine URL`: a rotating session's
 * chunks as they are archived or announced, mapped on a thread pool or the
 * broker's workers, reduced in chunk order (doc/analysis.md,
 * "Following a session"). */
#ifndef REEL_CLI_ANALYZE_FOLLOW_H
#define REEL_CLI_ANALYZE_FOLLOW_H

#include <stdbool.h>

#include "analysis/analysis.h"

/* Follow the session output directory `dir`, until it is removed or
 * moved; or with dir NULL the chunks reeld announces at the broker
 * `engine` for `session` (NULL: the one session announcing there), a new
 * run of the session (created again) starting the result over. Until
 * SIGINT or SIGTERM, `jobs` chunks mapped at once: here, or on the `reel
 * worker`s of the NATS broker at `engine` unless NULL (one connection per
 * mapper thread; the broker unreachable at start is an error); serve the
 * metrics on `metrics` ([ADDR:]PORT) unless NULL. *ret gets the result
 * (NULL: no chunk), *ret_chunks the paths of its chunks in order
 * (*ret_nchunks of them, malloc'ed each and the array; those removed
 * before they were read named so). Prints its errors. Returns 0 or 1 (the exit
 * status). */
int analyze_follow(const char *dir, const char *session, unsigned jobs, const char *engine,
		   unsigned flags, struct an_names *names, const char *metrics, bool quiet,
		   struct an_partial **ret, char ***ret_chunks, size_t *ret_nchunks);

#endif
