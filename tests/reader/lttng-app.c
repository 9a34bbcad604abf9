/* SPDX-License-Identifier: MIT */
/* An LTTng-UST application emitting every field kind (lttng-tp.h), so that
 * `reel view` can be compared with babeltrace2 on a real LTTng trace.
 * Usage: lttng-app [ROUNDS] */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng-tp.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	static const int32_t a[] = { -1, 0, 2147483647, 42, -7 };
	static const char *const strs[] = { "hello, world", "tab\there \"q\" back\\slash", "x", "caf\xc3\xa9" };
	/* Empty strings only before any other: babeltrace2 2.0.4 shows a stale
	 * value for an empty string (or text sequence) that follows a non-empty
	 * one in the same stream, and this trace is compared with its output. */
	char empty[16] = { 0 };
	lttng_ust_tracepoint(reeltest, strings, empty, 0);
	for (int r = 0; r < rounds; r++) {
		lttng_ust_tracepoint(reeltest, ints, INT64_MIN + r, UINT64_MAX - (uint64_t)r, (int8_t)(-128 + r),
				     (uint16_t)(65535 - r));
		lttng_ust_tracepoint(reeltest, ints, 42, 3735928559u, -1, 0x1234);
		lttng_ust_tracepoint(reeltest, floats, 1.5f + (float)r, -2.25e-300);
		lttng_ust_tracepoint(reeltest, floats, 0.0f, 3.14159265358979);
		for (int s = 0; s < 4; s++) {
			/* the text array reads 8 bytes: from a buffer that long */
			char buf[32] = { 0 };
			strncpy(buf, strs[s], sizeof(buf) - 1);
			lttng_ust_tracepoint(reeltest, strings, buf, (size_t)s + 2);
		}
		lttng_ust_tracepoint(reeltest, arrays, a, (size_t)(r % 6));
		for (int c = -3; c < 22; c += 5)
			lttng_ust_tracepoint(reeltest, enums, c);
		lttng_ust_tracepoint(reeltest, empty);
	}
	return 0;
}
