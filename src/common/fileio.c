/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int reel_write_all(int fd, const void *data, size_t size)
{
	const char *p = data;
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int reel_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int err = mkdir(path, 0775) < 0 && errno != EEXIST ? -errno : 0;
		*p = '/';
		if (err)
			return err;
	}
	return mkdir(path, 0775) < 0 && errno != EEXIST ? -errno : 0;
}
