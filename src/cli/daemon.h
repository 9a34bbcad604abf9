/* SPDX-License-Identifier: MIT */
/* The `reel` commands' side of libreel-ctl: connecting with a clear error,
 * reporting the daemon's refusals, naming the session a command acts on,
 * and printing what the daemon knows about sessions and channels. */
#ifndef REEL_CLI_DAEMON_H
#define REEL_CLI_DAEMON_H

#include <stdbool.h>

#include <reel/ctl.h>

#include "output.h"

/* Connect to the daemon of reel_ctl_rundir() (REEL_RUNDIR or the user's
 * default). Returns 0, or prints why not ("no session daemon is running
 * ...") and returns the exit status (1). */
int cli_connect(const char *cmd, unsigned int flags, struct reel_ctl **ret);

/* Report that a request failed with `err` (a negative errno): "reel CMD:
 * <what the format says>: <the daemon's words, or strerror>". Returns 1. */
int cli_ctl_error(const char *cmd, const struct reel_ctl *ctl, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The session a command acts on: a copy of `name` when given, otherwise of
 * the daemon's current session for this user. Returns 0, or prints why
 * not (no current session, the daemon failed) and returns 1. */
int cli_session_name(const char *cmd, struct reel_ctl *ctl, const char *name, char **ret);

const struct reel_session_status *cli_find_session(const struct reel_session_list *list,
						   const char *name);
const struct reel_channel_status *cli_find_channel(const struct reel_session_status *session,
						   const char *name);

/* "uid" or "pid". */
const char *cli_buffers_name(uint32_t buffers);

/* A session (with its channels, their attributes, statistics and rules) as
 * one JSON object, and a channel alone. */
void cli_json_session(struct cli_json_writer *w, const char *key,
		      const struct reel_session_status *s, bool current);
void cli_json_channel(struct cli_json_writer *w, const char *key,
		      const struct reel_channel_status *c);

/* A session for people, as `lttng list SESSION` shows one. */
void cli_print_session(const struct reel_session_status *s, bool current);

/* Print on stderr how many events the session lost, if any (after stop). */
void cli_warn_losses(struct reel_ctl *ctl, const char *session);

#endif
