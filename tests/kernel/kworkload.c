/* SPDX-License-Identifier: MIT */
/*
 * The known workload of the kernel domain's system tests:
 *   kworkload FILE N
 * opens FILE (O_RDWR | O_CREAT), reads it N times from the start (lseek,
 * read), writes one line, closes it, then forks a child that opens FILE
 * read-only, closes it and exits; the parent waits for it. Around each
 * step it calls getppid() and getuid() with a userspace event, kwork:mark
 * (step number), in between, to check the merged timeline of kernel and
 * userspace. Prints "pid PID child CHILD" at the end.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <reel/tracepoint.h>

REEL_EVENT(kwork, mark, REEL_LOGLEVEL_INFO, (int32_t step),
	   reel_field_integer(int32_t, step, step))

/* A userspace event that must land between the two syscalls. */
static void mark(int32_t step)
{
	getppid();
	reel_tracepoint(kwork, mark, step);
	getuid();
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kworkload FILE N\n");
		return 2;
	}
	long n = strtol(argv[2], NULL, 10);
	char buf[256];
	mark(1);
	int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		if (lseek(fd, 0, SEEK_SET) < 0 || read(fd, buf, sizeof(buf)) < 0) {
			perror("read");
			return 1;
		}
	}
	mark(2);
	static const char line[] = "kworkload was here\n";
	if (write(fd, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1)) {
		perror("write");
		return 1;
	}
	close(fd);
	mark(3);
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		int cfd = open(argv[1], O_RDONLY);
		if (cfd >= 0)
			close(cfd);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	mark(4);
	printf("pid %d child %d\n", (int)getpid(), (int)child);
	return 0;
}
