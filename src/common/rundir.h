/* SPDX-License-Identifier: MIT */
/* Where a daemon's sockets are: shared by the daemon, libreel-ctl and
 * libreel-ust so that all three agree. */
#ifndef REEL_COMMON_RUNDIR_H
#define REEL_COMMON_RUNDIR_H

#include <stddef.h>

#include "compiler.h"

/* $REEL_RUNDIR when set; otherwise /run/reel for root and $HOME/.reel/run
 * for other users. Returns 0 or -ENAMETOOLONG / -ENOENT (no home). */
int reel_rundir(char *buf, size_t size) REEL_HIDDEN;

/* `rundir`/`name` into buf, for a Unix socket address (sun_path). */
int reel_rundir_socket(const char *rundir, const char *name, char *buf, size_t size) REEL_HIDDEN;

#endif
