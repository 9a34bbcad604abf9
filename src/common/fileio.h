/* SPDX-License-Identifier: MIT */
/* File helpers shared by the writers of traces. */
#ifndef REEL_COMMON_FILEIO_H
#define REEL_COMMON_FILEIO_H

#include <stddef.h>

#include "compiler.h"

/* Write all of `data`, retrying short writes. Returns 0 or -errno. */
int reel_write_all(int fd, const void *data, size_t size) REEL_HIDDEN;
/* Create `path` and its missing parents (mode 0775). Returns 0 or -errno. */
int reel_mkdir_p(const char *path) REEL_HIDDEN;

#endif
