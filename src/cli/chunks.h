/* SPDX-License-Identifier: MIT */
/* A session's output as `reel analyze` reads it: trace directories and the
 * archived chunks of rotation (archives/<begin>-<end>-<index>/). */
#ifndef REEL_CLI_CHUNKS_H
#define REEL_CLI_CHUNKS_H

#include <stdbool.h>
#include <stdint.h>

/* dir holds a CTF trace: its metadata file, plain or zstd-compressed. */
bool chunk_has_metadata(const char *dir);

/* The index of an archived chunk's directory name <begin>-<end>-<index>;
 * false for any other name (hidden ones, a missing or signed index). */
bool chunk_name_index(const char *name, uint64_t *ret);

#endif
