/* SPDX-License-Identifier: MIT */
/* Compression of archived chunks (compress.c), for the consumer. */
#ifndef REEL_SESSIOND_COMPRESS_H
#define REEL_SESSIOND_COMPRESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

enum { COMPRESS_NONE, COMPRESS_ZSTD };

struct compress_job;

struct compress_result {
	uint64_t bytes_in, bytes_out; /* of the files compressed */
	char failed[PATH_MAX];	      /* the file that could not be, or "" */
};

/* COMPRESS_* of a method's name ("zstd", "none"), or -EINVAL. */
int compress_method(const char *name);
const char *compress_method_name(int method);

/* Start compressing every regular file under `dir` with zstd, in a new
 * thread; `wake_fd` (an eventfd, or -1) is written when it is done. */
int compress_start(const char *dir, int wake_fd, struct compress_job **ret);
/* Whether the job is over: compress_finish() then returns at once. Any
 * thread. */
bool compress_done(const struct compress_job *j);
/* Wait for the job and free it. Returns 0, or the negative errno that
 * stopped it: the files compressed until then are <file>.zst, the others
 * are left as they were. `ret` (may be NULL) gets what was done. */
int compress_finish(struct compress_job *j, struct compress_result *ret);

#endif
