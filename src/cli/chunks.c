/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chunks.h"

bool chunk_has_metadata(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof(p), "%s/metadata", dir) >= (int)sizeof(p))
		return false;
	if (!stat(p, &st))
		return true;
	return snprintf(p, sizeof(p), "%s/metadata.zst", dir) < (int)sizeof(p) && !stat(p, &st);
}

bool chunk_name_index(const char *name, uint64_t *ret)
{
	const char *d = strrchr(name, '-');
	if (!d || name[0] == '.' || !d[1])
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(d + 1, &end, 10);
	if (*end || errno || d[1] == '-' || d[1] == '+')
		return false;
	*ret = v;
	return true;
}
