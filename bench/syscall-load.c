/* SPDX-License-Identifier: MIT */
/*
 * syscall-load: a fixed count of cheap syscalls in THREADS threads, timed;
 * the workload of bench/kernel.sh (doc/benchmarks.md, "Kernel domain").
 *
 *   syscall-load MODE ROUNDS [THREADS]     (THREADS: default 2)
 *
 * MODE mix: each round is getppid(), a 1-byte read() of /dev/zero, and
 * openat()+close() of /dev/null (4 syscalls, one with a path); MODE openat:
 * each round is openat()+close() (2 syscalls, one with a path). Every
 * thread runs ROUNDS rounds, not pinned. Prints one line:
 *
 *   result wall_s=S syscalls=N ns_per_syscall=X
 *
 * wall_s from the threads' common start (a barrier) to the last one's end.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool openat_only;
static long rounds;
static pthread_barrier_t start;

static void *load(void *arg)
{
	(void)arg;
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero < 0) {
		perror("syscall-load: /dev/zero");
		exit(1);
	}
	char c;
	pthread_barrier_wait(&start);
	for (long i = 0; i < rounds; i++) {
		if (!openat_only) {
			(void)getppid();
			if (read(zero, &c, 1) != 1) {
				perror("syscall-load: read");
				exit(1);
			}
		}
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("syscall-load: /dev/null");
			exit(1);
		}
		close(fd);
	}
	close(zero);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "mix") != 0 && strcmp(argv[1], "openat") != 0)) {
		fprintf(stderr, "usage: syscall-load mix|openat ROUNDS [THREADS]\n");
		return 1;
	}
	openat_only = strcmp(argv[1], "openat") == 0;
	rounds = atol(argv[2]);
	int threads = argc > 3 ? atoi(argv[3]) : 2;
	if (rounds <= 0 || threads < 1 || threads > 64) {
		fprintf(stderr, "syscall-load: bad ROUNDS or THREADS\n");
		return 1;
	}
	pthread_t tid[64];
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, load, NULL)) {
			fprintf(stderr, "syscall-load: pthread_create failed\n");
			return 1;
		}
	struct timespec t0, t1;
	pthread_barrier_wait(&start);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	long calls = rounds * threads * (openat_only ? 2 : 4);
	printf("result wall_s=%.6f syscalls=%ld ns_per_syscall=%.1f\n", wall, calls,
	       wall * 1e9 / (double)calls * threads);
	return 0;
}
