/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "rundir.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int print(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int reel_rundir(char *buf, size_t size)
{
	const char *dir = getenv("REEL_RUNDIR");
	if (dir && *dir)
		return print(buf, size, dir, "");
	if (geteuid() == 0)
		return print(buf, size, "/run/reel", "");
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return -ENOENT;
	return print(buf, size, home, "/.reel/run");
}

int reel_rundir_socket(const char *rundir, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", rundir, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
