/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void reel_debug(const char *fmt, ...)
{
	static int enabled = -1;
	int saved = errno;
	if (enabled < 0) {
		const char *v = getenv("REEL_DEBUG");
		enabled = v && *v && *v != '0';
	}
	if (enabled) {
		char line[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		fprintf(stderr, "reel: %s\n", line);
	}
	errno = saved;
}
