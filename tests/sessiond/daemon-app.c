/* SPDX-License-Identifier: MIT */
/*
 * Test application for the session daemon's system tests. Modes:
 *   steps N    for each line "go K" read on stdin: N "dapp:step" events
 *              (step K, i = 0..N-1) and N "dapp:noisy" events, then print
 *              "done K"; exit at end of input
 *   fork N     N "dapp:step" events of step 1; fork: the child emits N of
 *              step 2 at once and exits; the parent waits, then N of step 3
 *   spin       "dapp:step" events (step 0, i = 0, 1, ...) at about one
 *              million a second until killed, printing "at I" every
 *              10000 events (all events below I are committed)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <reel/tracepoint.h>

REEL_EVENT(dapp, step, REEL_LOGLEVEL_INFO, (int32_t step, int64_t i),
	   reel_field_integer(int32_t, step, step)
	   reel_field_integer(int64_t, i, i))

REEL_EVENT(dapp, noisy, REEL_LOGLEVEL_DEBUG, (int64_t i),
	   reel_field_integer(int64_t, i, i))

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "steps") == 0) {
		long n = strtol(argv[2], NULL, 0);
		char line[64];
		while (fgets(line, sizeof(line), stdin)) {
			int k;
			if (sscanf(line, "go %d", &k) != 1)
				continue;
			for (long i = 0; i < n; i++) {
				reel_tracepoint(dapp, step, (int32_t)k, (int64_t)i);
				reel_tracepoint(dapp, noisy, (int64_t)i);
			}
			printf("done %d\n", k);
		}
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "fork") == 0) {
		long n = strtol(argv[2], NULL, 0);
		for (long i = 0; i < n; i++)
			reel_tracepoint(dapp, step, 1, (int64_t)i);
		pid_t child = fork();
		if (child < 0)
			return 1;
		if (child == 0) {
			for (long i = 0; i < n; i++)
				reel_tracepoint(dapp, step, 2, (int64_t)i);
			_exit(0);
		}
		int status;
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
		for (long i = 0; i < n; i++)
			reel_tracepoint(dapp, step, 3, (int64_t)i);
		printf("child %d\n", (int)child);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "spin") == 0) {
		for (int64_t i = 0;; i++) {
			reel_tracepoint(dapp, step, 0, i);
			if (i % 1000 == 999)
				pause_us(1000);
			if (i % 10000 == 9999)
				printf("at %lld\n", (long long)(i + 1));
		}
	}
	fprintf(stderr, "usage: daemon-app steps N | spin\n");
	return 2;
}
