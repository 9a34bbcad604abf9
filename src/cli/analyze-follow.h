/* SPDX-License-Identifier: MIT */
/* `reel analyze KIND --follow DIR`: a rotating session's chunks as they are
 * archived, mapped on a thread pool, reduced in chunk order (doc/analysis.md,
 * "Following a session"). */
#ifndef REEL_CLI_ANALYZE_FOLLOW_H
#define REEL_CLI_ANALYZE_FOLLOW_H

#include <stdbool.h>

#include "analysis/analysis.h"

/* Follow the session output directory `dir` until SIGINT or SIGTERM, or
 * until `dir` is removed or moved, `jobs` chunks mapped at once: here, or
 * on the `reel worker`s of the NATS broker at `engine` unless NULL (one
 * connection per mapper thread; the broker unreachable at start is an
 * error); serve the metrics on `metrics` ([ADDR:]PORT) unless NULL. *ret
 * gets the result (NULL: no chunk). Prints its errors. Returns 0 or 1 (the
 * exit status). */
int analyze_follow(const char *dir, unsigned jobs, const char *engine, unsigned flags,
		   struct an_names *names, const char *metrics, bool quiet,
		   struct an_partial **ret);

#endif
