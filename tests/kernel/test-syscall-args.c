/* SPDX-License-Identifier: MIT */
/* The eBPF syscall payloads (src/kernel/syscall-args.h): the configuration
 * read from tracefs, then, as root with eBPF, the records of a child's
 * openat, stat, unlink and connect, and the cost per syscall with and
 * without the program (printed, not checked). Exit 77 (skip) when not root,
 * or built without eBPF, or the kernel does not allow it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/syscall-args.h"

#define SKIP 77

static int failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                              \
		}                                                                                \
	} while (0)

/* Shared with the forked child at the same addresses: the pointers its
 * syscalls receive are these. */
static char path[128];
static struct sockaddr_in dest;

static const char *tracefs_dir(void)
{
	return access("/sys/kernel/tracing/events/syscalls", R_OK) == 0
		       ? "/sys/kernel/tracing"
		       : "/sys/kernel/debug/tracing";
}

static const struct reel_syscall_arg_config *find_cfg(const struct reel_syscall_arg_config *cfg,
						      size_t n, long nr)
{
	for (size_t i = 0; i < n; i++)
		if (cfg[i].nr == (uint32_t)nr)
			return &cfg[i];
	return NULL;
}

static void test_names(void)
{
	CHECK(reel_syscall_nr_from_name("openat") == SYS_openat);
	CHECK(reel_syscall_nr_from_name("connect") == SYS_connect);
#ifdef SYS_stat
	CHECK(reel_syscall_nr_from_name("newstat") == SYS_stat);
#endif
	CHECK(reel_syscall_nr_from_name("fchmodat2") == 452);
	CHECK(reel_syscall_nr_from_name("no_such_syscall") == -1);
}

static void test_config(const struct reel_syscall_arg_config *cfg, size_t n)
{
	const struct reel_syscall_arg_config *c;

	c = find_cfg(cfg, n, SYS_openat);
	CHECK(c && c->string_mask == 0x2 && c->sockaddr_arg == -1);
	c = find_cfg(cfg, n, SYS_execve);
	CHECK(c && c->string_mask == 0x1); /* not argv, a const char *const * */
	c = find_cfg(cfg, n, SYS_mount);
	CHECK(c && c->string_mask == 0x7);
	c = find_cfg(cfg, n, SYS_connect);
	CHECK(c && c->string_mask == 0 && c->sockaddr_arg == 1 && c->sockaddr_len_arg == 2);
	c = find_cfg(cfg, n, SYS_sendto);
	CHECK(c && c->sockaddr_arg == 4 && c->sockaddr_len_arg == 5);
	CHECK(!find_cfg(cfg, n, SYS_write));  /* buf: data, not a string */
	CHECK(!find_cfg(cfg, n, SYS_accept)); /* written by the kernel */
	for (size_t i = 1; i < n; i++)
		CHECK(cfg[i - 1].nr < cfg[i].nr);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void child_syscalls(void)
{
	struct stat st;
	int fd, s;

	fd = syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(1);
	close(fd);
#ifdef SYS_stat
	if (syscall(SYS_stat, path, &st) < 0)
		_exit(2);
#else
	if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) < 0)
		_exit(2);
#endif
#ifdef SYS_unlink
	if (syscall(SYS_unlink, path) < 0)
		_exit(3);
#else
	if (syscall(SYS_unlinkat, AT_FDCWD, path, 0) < 0)
		_exit(3);
#endif
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || syscall(SYS_connect, s, &dest, sizeof(dest)) < 0)
		_exit(4);
	close(s);
	_exit(0);
}

struct seen {
	pid_t child;
	int openat, stat, unlink, connect, self;
	uint64_t t0, t1;
};

static int check_record(void *arg, const struct reel_syscall_arg *rec)
{
	struct seen *s = arg;

	if (rec->tgid == (uint32_t)getpid())
		s->self++;
	if (rec->tid != (uint32_t)s->child)
		return 0;
	CHECK(rec->tgid == (uint32_t)s->child);
	CHECK(rec->ktime >= s->t0 && rec->ktime <= s->t1);
	if (rec->kind == REEL_SYSCALL_ARG_STRING && rec->ptr == (uintptr_t)path) {
		CHECK(rec->len == strlen(path) + 1 && !memcmp(rec->data, path, rec->len));
		if (rec->nr == SYS_openat && rec->arg == 1)
			s->openat++;
#ifdef SYS_stat
		else if (rec->nr == SYS_stat && rec->arg == 0)
#else
		else if (rec->nr == SYS_newfstatat && rec->arg == 1)
#endif
			s->stat++;
#ifdef SYS_unlink
		else if (rec->nr == SYS_unlink && rec->arg == 0)
#else
		else if (rec->nr == SYS_unlinkat && rec->arg == 1)
#endif
			s->unlink++;
	} else if (rec->kind == REEL_SYSCALL_ARG_SOCKADDR && rec->nr == SYS_connect) {
		struct sockaddr_in sin;

		CHECK(rec->arg == 1 && rec->ptr == (uintptr_t)&dest);
		CHECK(rec->len == sizeof(sin));
		memcpy(&sin, rec->data, sizeof(sin));
		CHECK(sin.sin_family == AF_INET && sin.sin_port == dest.sin_port &&
		      sin.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
		s->connect++;
	}
	return 0;
}

static pid_t run_child(void (*fn)(long), long n, int *ret_pipe)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		*ret_pipe = p[1];
		fn(n);
		_exit(0);
	}
	close(p[1]);
	*ret_pipe = p[0];
	return pid;
}

static int bench_fd;

/* n openat of a path that does not exist, timed; the time goes to the pipe. */
static void bench_child(long n)
{
	static const char missing[] = "/nonexistent/reel-syscall-args-bench";
	uint64_t t0 = now_ns(), dt;

	for (long i = 0; i < n; i++)
		syscall(SYS_openat, AT_FDCWD, missing, O_RDONLY);
	dt = now_ns() - t0;
	if (write(bench_fd, &dt, sizeof(dt)) != sizeof(dt))
		_exit(1);
}

static int count_record(void *arg, const struct reel_syscall_arg *rec)
{
	(void)rec;
	++*(long *)arg;
	return 0;
}

/* Cost per call of bench_child, draining `sa` (when not NULL) meanwhile as
 * the daemon would. Returns ns per call, or -1. */
static double bench(struct reel_syscall_args *sa, long n, long *ret_records)
{
	uint64_t dt = 0;
	long records = 0;
	int rfd, status;
	pid_t pid;

	pid = run_child(bench_child, n, &bench_fd);
	if (pid < 0)
		return -1;
	rfd = bench_fd;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = rfd, .events = POLLIN}};
		int nfds = 1;

		if (sa) {
			pfd[1] = (struct pollfd){.fd = reel_syscall_args_fd(sa), .events = POLLIN};
			nfds = 2;
		}
		if (poll(pfd, nfds, 100) < 0 && errno != EINTR)
			break;
		if (sa)
			reel_syscall_args_drain(sa, count_record, &records);
		if (pfd[0].revents) {
			if (read(rfd, &dt, sizeof(dt)) != sizeof(dt))
				dt = 0;
			break;
		}
	}
	close(rfd);
	waitpid(pid, &status, 0);
	if (sa)
		reel_syscall_args_drain(sa, count_record, &records);
	*ret_records = records;
	return dt ? (double)dt / n : -1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	struct reel_syscall_arg_config *cfg;
	struct reel_syscall_args *sa;
	struct seen seen = {0};
	char reason[512] = "";
	double base, with;
	long records;
	size_t ncfg;
	int r, status;

	test_names();
	r = reel_syscall_args_config_from_tracefs(tracefs_dir(), &cfg, &ncfg);
	if (r < 0) {
		printf("SKIP: no syscall events in tracefs (%s): %s\n", tracefs_dir(),
		       strerror(-r));
		return failures ? 1 : SKIP;
	}
	test_config(cfg, ncfg);
	printf("configuration: %zu syscalls with string or sockaddr arguments\n", ncfg);
	if (geteuid() != 0) {
		printf("SKIP: not root, eBPF part not run\n");
		free(cfg);
		return failures ? 1 : SKIP;
	}

	r = reel_syscall_args_open(cfg, ncfg, getpid(), &sa, reason, sizeof(reason));
	free(cfg);
	if (r == -ENOTSUP || r == -EPERM) {
		printf("SKIP: %s\n", reason);
		return failures ? 1 : SKIP;
	}
	if (r < 0) {
		fprintf(stderr, "reel_syscall_args_open: %s (%s)\n", strerror(-r), reason);
		return 1;
	}
	CHECK(reel_syscall_args_fd(sa) >= 0);
	reel_syscall_args_drain(sa, count_record, &records); /* older records out */

	snprintf(path, sizeof(path), "/tmp/reel-syscall-args-%d-%llu", (int)getpid(),
		 (unsigned long long)now_ns());
	dest = (struct sockaddr_in){.sin_family = AF_INET,
				    .sin_port = htons(40000 + getpid() % 20000),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	seen.t0 = now_ns();
	seen.child = fork();
	if (seen.child == 0)
		child_syscalls();
	/* Our own syscall on the same path: not recorded (self). */
	CHECK(syscall(SYS_openat, AT_FDCWD, "/nonexistent/reel-self", O_RDONLY) < 0);
	waitpid(seen.child, &status, 0);
	seen.t1 = now_ns();
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	r = reel_syscall_args_drain(sa, check_record, &seen);
	CHECK(r >= 4);
	printf("child %d: openat %d, stat %d, unlink %d, connect %d records; own %d\n",
	       (int)seen.child, seen.openat, seen.stat, seen.unlink, seen.connect, seen.self);
	CHECK(seen.openat == 1 && seen.stat == 1 && seen.unlink == 1 && seen.connect == 1);
	CHECK(seen.self == 0);

	with = bench(sa, n, &records);
	printf("with the program: %ld records drained, %llu dropped, %llu unreadable\n", records,
	       (unsigned long long)reel_syscall_args_dropped(sa),
	       (unsigned long long)reel_syscall_args_unreadable(sa));
	reel_syscall_args_destroy(sa);
	reel_syscall_args_destroy(NULL);
	base = bench(NULL, n, &records);
	printf("openat of a missing path, %ld calls: %.0f ns/call without the program, %.0f "
	       "ns/call with it "
	       "(+%.0f ns)\n",
	       n, base, with, with - base);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
