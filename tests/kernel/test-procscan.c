/* SPDX-License-Identifier: MIT */
/* Unit tests of the statedump's /proc scanner: the real /proc (this process,
 * a second thread, files, pipes, kthreadd, stopping early, a path longer than
 * PATH_MAX, a scan while processes and threads come and go) and a made-up
 * proc root (odd stat lines, nested pid namespaces, fdinfo flags,
 * partitions). `test-procscan bench` times a scan with 1000 more threads and
 * 10000 more fds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/procscan.h"

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define MAX_FDS 16

struct want_fd {
	int fd;
	const char *path; /* NULL: check the prefix only */
	const char *prefix;
	struct reel_proc_fd got;
	char got_path[PATH_MAX];
	int seen;
};

struct result {
	pid_t pid, tid2;
	int threads, fds, devices;
	int stop_after; /* return -ECANCELED at this callback count, 0: never */
	int calls;
	struct reel_proc_thread self, second, kthreadd;
	int seen_self, seen_second, seen_kthreadd;
	int fds_before_second; /* fds of this process reported before its second thread */
	struct want_fd want[MAX_FDS];
	int nr_want;
	struct reel_proc_thread fake[4];
	int nr_fake;
	uint32_t dev[4];
	char disk[4][32];
};

static int on_thread(void *arg, const struct reel_proc_thread *t)
{
	struct result *r = arg;
	r->threads++;
	if (r->stop_after && ++r->calls >= r->stop_after)
		return -ECANCELED;
	CHECK(t->name[sizeof(t->name) - 1] == '\0');
	CHECK(t->nr_pid_ns >= 1 && t->nr_pid_ns <= REEL_PROC_PID_NS_MAX);
	CHECK(t->pid_ns[t->nr_pid_ns - 1].level == 0);
	CHECK(t->pid_ns[t->nr_pid_ns - 1].vtid == t->tid);
	CHECK(t->mode == REEL_PROC_MODE_UNKNOWN && t->submode == REEL_PROC_SUBMODE_NONE);
	CHECK(t->status >= REEL_PROC_UNNAMED && t->status <= REEL_PROC_DEAD);
	if (t->pid == r->pid && t->tid == r->pid) {
		r->self = *t;
		r->seen_self++;
	} else if (t->pid == r->pid && t->tid == r->tid2) {
		r->second = *t;
		r->seen_second++;
	} else if (t->tid == 2 && !strcmp(t->name, "kthreadd")) {
		r->kthreadd = *t;
		r->seen_kthreadd++;
	}
	if (r->nr_fake < 4)
		r->fake[r->nr_fake++] = *t;
	return 0;
}

static int on_fd(void *arg, const struct reel_proc_fd *f)
{
	struct result *r = arg;
	r->fds++;
	if (r->stop_after && ++r->calls >= r->stop_after)
		return -ECANCELED;
	CHECK(f->path && strlen(f->path) < PATH_MAX);
	if (f->pid != r->pid)
		return 0;
	if (!r->seen_second)
		r->fds_before_second++;
	for (int i = 0; i < r->nr_want; i++) {
		struct want_fd *w = &r->want[i];
		if (w->fd != f->fd)
			continue;
		w->seen++;
		w->got = *f;
		snprintf(w->got_path, sizeof(w->got_path), "%s", f->path);
	}
	return 0;
}

static int on_block(void *arg, uint32_t dev, const char *name)
{
	struct result *r = arg;
	if (r->devices < 4) {
		r->dev[r->devices] = dev;
		snprintf(r->disk[r->devices], sizeof(r->disk[0]), "%s", name);
	}
	r->devices++;
	return 0;
}

static const struct reel_proc_scan_ops ops = {
	.thread = on_thread,
	.fd = on_fd,
	.block_device = on_block,
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pid_t second_tid;
static int release;

static void *second_thread(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "second");
	pthread_mutex_lock(&lock);
	second_tid = gettid();
	pthread_cond_broadcast(&cond);
	while (!release)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static struct want_fd *add_want(struct result *r, int fd, const char *path, const char *prefix)
{
	CHECK(fd >= 0 && r->nr_want < MAX_FDS);
	struct want_fd *w = &r->want[r->nr_want++];
	w->fd = fd;
	w->path = path;
	w->prefix = prefix;
	return w;
}

/* A file more than PATH_MAX deep under dir; its fd, the directories left for
 * cleanup in *ret_depth. */
static int open_deep(const char *dir, char *component, int *ret_depth)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	int depth = 0;
	for (size_t total = strlen(dir); total <= PATH_MAX + 200; total += strlen(component) + 1) {
		CHECK(mkdirat(d, component, 0700) == 0);
		int next = openat(d, component, O_RDONLY | O_DIRECTORY);
		CHECK(next >= 0);
		close(d);
		d = next;
		depth++;
	}
	int fd = openat(d, "deep", O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(d);
	*ret_depth = depth;
	return fd;
}

static void remove_deep(const char *dir, const char *component, int depth)
{
	/* Walk down again, then remove from the bottom up through ".." fds. */
	int fds[64];
	CHECK(depth < 63);
	fds[0] = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(fds[0] >= 0);
	for (int i = 1; i <= depth; i++) {
		fds[i] = openat(fds[i - 1], component, O_RDONLY | O_DIRECTORY);
		CHECK(fds[i] >= 0);
	}
	CHECK(unlinkat(fds[depth], "deep", 0) == 0);
	for (int i = depth; i >= 1; i--) {
		close(fds[i]);
		CHECK(unlinkat(fds[i - 1], component, AT_REMOVEDIR) == 0);
	}
	close(fds[0]);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wait until thread tid of this process sleeps: a thread that has released
 * the mutex in pthread_cond_wait but was preempted before its futex wait is
 * still runnable ('R'), for as long as a loaded machine keeps it off a CPU. */
static void wait_sleeping(pid_t tid)
{
	char path[64], stat[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	for (double deadline = now_ms() + 30e3;;) {
		FILE *f = fopen(path, "r");
		CHECK(f);
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		const char *close = strrchr(stat, ')');
		CHECK(close && close[1] == ' ');
		if (close[2] == 'S')
			return;
		CHECK(now_ms() < deadline);
		usleep(1000);
	}
}

static void test_real_proc(void)
{
	static struct result r;
	memset(&r, 0, sizeof(r));
	r.pid = getpid();

	CHECK(prctl(PR_SET_NAME, "weird (na)me") == 0);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, second_thread, NULL) == 0);
	pthread_mutex_lock(&lock);
	while (!second_tid)
		pthread_cond_wait(&cond, &lock);
	r.tid2 = second_tid;
	pthread_mutex_unlock(&lock);

	char tmp[] = "/tmp/reel-procscan-XXXXXX";
	int file = mkstemp(tmp);
	char real[PATH_MAX];
	CHECK(file >= 0 && realpath(tmp, real));
	struct want_fd *w_file = add_want(&r, file, real, NULL);
	int append = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
	struct want_fd *w_append = add_want(&r, append, real, NULL);
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	struct want_fd *w_pipe_r = add_want(&r, p[0], NULL, "pipe:[");
	struct want_fd *w_pipe_w = add_want(&r, p[1], NULL, "pipe:[");
	int opath = open("/", O_PATH | O_DIRECTORY);
	struct want_fd *w_opath = add_want(&r, opath, "/", NULL);

	char dir[] = "/tmp/reel-procscan-dir-XXXXXX";
	CHECK(mkdtemp(dir));
	char component[251];
	memset(component, 'd', sizeof(component) - 1);
	component[sizeof(component) - 1] = '\0';
	int depth;
	int deep = open_deep(dir, component, &depth);
	struct want_fd *w_deep = add_want(&r, deep, NULL, "");

	wait_sleeping(r.tid2);
	double t0 = now_ms();
	CHECK(reel_proc_scan("/proc", &ops, &r) == 0);
	double t1 = now_ms();
	printf("real /proc: %d threads, %d fds, %d block devices in %.1f ms\n", r.threads, r.fds,
	       r.devices, t1 - t0);

	/* This thread, its name parsed around the parentheses. */
	CHECK(r.seen_self == 1);
	CHECK(r.self.tid == r.pid && r.self.pid == r.pid && r.self.ppid == getppid());
	CHECK(!strcmp(r.self.name, "weird (na)me"));
	CHECK(r.self.type == REEL_PROC_USER_THREAD);
	CHECK(r.self.status == REEL_PROC_WAIT_CPU); /* running: R */
	CHECK(r.self.cpu < (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
	CHECK(r.self.file_table == (uint64_t)r.pid);
	CHECK(r.self.vtid == r.self.pid_ns[0].vtid && r.self.vpid == r.self.pid_ns[0].vpid);
	if (r.self.nr_pid_ns == 1)
		CHECK(r.self.vtid == r.pid && r.self.vpid == r.pid && r.self.vppid == getppid());

	/* The second thread: same process, its own tid, waiting. */
	CHECK(r.seen_second == 1);
	CHECK(r.second.tid == r.tid2 && r.second.pid == r.pid && r.second.ppid == getppid());
	CHECK(!strcmp(r.second.name, "second"));
	CHECK(r.second.status == REEL_PROC_WAIT);
	CHECK(r.second.file_table == r.self.file_table);

	/* The fds, reported once, between the first thread and the next. */
	CHECK(r.fds_before_second >= 6);
	CHECK(w_file->seen == 1 && !strcmp(w_file->got_path, real));
	CHECK(w_file->got.file_table == r.self.file_table);
	CHECK((w_file->got.flags & O_ACCMODE) == O_RDWR && !(w_file->got.flags & O_CLOEXEC));
	CHECK(w_file->got.fmode == 0x3);
	CHECK(w_append->seen == 1 && !strcmp(w_append->got_path, real));
	CHECK((w_append->got.flags & O_ACCMODE) == O_WRONLY);
	CHECK((w_append->got.flags & (O_APPEND | O_CLOEXEC)) == (O_APPEND | O_CLOEXEC));
	CHECK(w_append->got.fmode == 0x2);
	CHECK(w_pipe_r->seen == 1 && !strncmp(w_pipe_r->got_path, "pipe:[", 6));
	CHECK(w_pipe_r->got.fmode == 0x1 && (w_pipe_r->got.flags & O_NONBLOCK));
	CHECK(w_pipe_w->seen == 1 && !strcmp(w_pipe_w->got_path, w_pipe_r->got_path));
	CHECK(w_pipe_w->got.fmode == 0x2);
	CHECK(w_opath->seen == 1 && !strcmp(w_opath->got_path, "/"));
	CHECK((w_opath->got.flags & (O_PATH | O_DIRECTORY)) == (O_PATH | O_DIRECTORY));
	CHECK(w_opath->got.fmode == 0x4000);
	/* Longer than PATH_MAX: the kernel cannot print it; reported, not fatal. */
	CHECK(w_deep->seen == 1 && strlen(w_deep->got_path) < PATH_MAX);
	CHECK(w_deep->got.fmode == 0x3);

	if (r.seen_kthreadd) {
		CHECK(r.kthreadd.type == REEL_PROC_KERNEL_THREAD);
		CHECK(r.kthreadd.pid == 2 && r.kthreadd.ppid == 0);
	} else {
		printf("no kthreadd in this pid namespace: its check skipped\n");
	}

	/* A callback's error stops the scan at once, from either callback. */
	for (int stop = 1; stop <= 4; stop++) {
		static struct result s;
		memset(&s, 0, sizeof(s));
		s.pid = r.pid;
		s.stop_after = stop;
		CHECK(reel_proc_scan("/proc", &ops, &s) == -ECANCELED);
		CHECK(s.calls == stop);
	}

	pthread_mutex_lock(&lock);
	release = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	CHECK(pthread_join(th, NULL) == 0);
	close(file);
	close(append);
	close(p[0]);
	close(p[1]);
	close(deep);
	close(opath);
	unlink(tmp);
	remove_deep(dir, component, depth);
	CHECK(rmdir(dir) == 0);
}

/* root/path, its missing directories created. */
static void make_path(char *full, size_t size, const char *root, const char *path)
{
	snprintf(full, size, "%s/%s", root, path);
	for (char *slash = strchr(full + strlen(root) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		CHECK(mkdir(full, 0700) == 0 || errno == EEXIST);
		*slash = '/';
	}
}

static void put(const char *root, const char *path, const char *text)
{
	char full[PATH_MAX];
	make_path(full, sizeof(full), root, path);
	FILE *f = fopen(full, "w");
	CHECK(f);
	fputs(text, f);
	CHECK(fclose(f) == 0);
}

static void link_to(const char *root, const char *path, const char *target)
{
	char full[PATH_MAX];
	make_path(full, sizeof(full), root, path);
	CHECK(symlink(target, full) == 0);
}

/* Fields 10 to 52 of a stat line: one thread, last ran on CPU 3. */
#define STAT_TAIL                                      \
	" 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0" \
	" 0 0 0 0 0 0 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static void test_fake_proc(void)
{
	char root[] = "/tmp/reel-fakeproc-XXXXXX";
	CHECK(mkdtemp(root));

	/* Process 100, in a nested pid namespace (id 7 there), parent 50 (id 1
	 * there): one thread with an odd comm, one whose stat is cut short. */
	put(root, "100/status", "Name:\tx\nTgid:\t100\nNStgid:\t100\t7\nNSpid:\t100\t7\n");
	put(root, "100/task/100/stat", "100 (a) b) (c\nd) S 50 100 100 0 -1 4194560" STAT_TAIL);
	put(root, "100/task/100/status", "Name:\tx\nNStgid:\t100\t7\nNSpid:\t100\t7\n");
	put(root, "100/task/101/stat", "101 (cut) S 50");
	put(root, "100/task/101/status", "NSpid:\t101\t8\n");
	put(root, "100/task/100/fdinfo/3", "pos:\t0\nflags:\t02004002\nmnt_id:\t9\n");
	link_to(root, "100/task/100/fd/3", "socket:[123]");
	put(root, "100/task/100/fdinfo/4", "pos:\t0\nflags:\t010200000\n");
	link_to(root, "100/task/100/fd/4", "/some/dir");
	link_to(root, "100/task/100/fd/5", "/no/fdinfo"); /* closed meanwhile: skipped */
	put(root, "50/status", "Name:\tinit\nNStgid:\t50\t1\n");
	/* Process 2: a kernel thread, a workqueue worker in a zombie state. */
	put(root, "2/status", "Name:\tkthreadd\nNStgid:\t2\n");
	link_to(root, "2/ns/pid", "pid:[4026531836]");
	put(root, "2/task/2/stat", "2 (kworker/0:1H-kblockd) Z 0 0 0 0 -1 2097248" STAT_TAIL);
	/* Not processes. */
	put(root, "self/status", "");
	put(root, "50x/status", "");
	put(root, "partitions",
	    "major minor  #blocks  name\n\n 259        0  500107608 nvme0n1\n"
	    "   8        1     524288 sda1\n 253 1048575 1 dm-x");

	static struct result r;
	memset(&r, 0, sizeof(r));
	r.pid = 100;
	CHECK(reel_proc_scan(root, &ops, &r) == 0);
	CHECK(r.threads == 2 && r.nr_fake == 2); /* 100 and 2; 50 has no task dir */

	const struct reel_proc_thread *t = NULL, *k = NULL;
	for (int i = 0; i < r.nr_fake; i++) {
		if (r.fake[i].tid == 100)
			t = &r.fake[i];
		if (r.fake[i].tid == 2)
			k = &r.fake[i];
	}
	CHECK(t && k);
	CHECK(!strcmp(t->name, "a) b) (c\nd"));
	CHECK(t->pid == 100 && t->ppid == 50 && t->cpu == 3);
	CHECK(t->type == REEL_PROC_USER_THREAD && t->status == REEL_PROC_WAIT);
	CHECK(t->file_table == 100);
	CHECK(t->nr_pid_ns == 2);
	CHECK(t->vtid == 7 && t->vpid == 7 && t->vppid == 1);
	CHECK(t->pid_ns[0].level == 1 && t->pid_ns[0].vtid == 7 && t->pid_ns[0].vppid == 1);
	CHECK(t->pid_ns[1].level == 0 && t->pid_ns[1].vtid == 100 && t->pid_ns[1].vppid == 50);

	CHECK(!strcmp(k->name, "kworker/0:1H"));
	CHECK(k->type == REEL_PROC_KERNEL_THREAD && k->status == REEL_PROC_ZOMBIE);
	CHECK(k->file_table == 0 && k->ppid == 0);
	CHECK(k->nr_pid_ns == 1 && k->pid_ns[0].inum == 4026531836u);

	CHECK(r.fds == 2);

	CHECK(r.devices == 3);
	CHECK(r.dev[0] == (259u << 20) && !strcmp(r.disk[0], "nvme0n1"));
	CHECK(r.dev[1] == ((8u << 20) | 1) && !strcmp(r.disk[1], "sda1"));
	CHECK(r.dev[2] == ((253u << 20) | 1048575) && !strcmp(r.disk[2], "dm-x"));

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

/* The fds of the made-up process, checked one by one. */
static int check_fake_fd(void *arg, const struct reel_proc_fd *f)
{
	int *n = arg;
	CHECK(f->pid == 100 && f->file_table == 100);
	if (f->fd == 3) {
		CHECK(!strcmp(f->path, "socket:[123]"));
		CHECK(f->flags == (O_RDWR | O_NONBLOCK | O_CLOEXEC) && f->fmode == 0x3);
	} else {
		CHECK(f->fd == 4 && !strcmp(f->path, "/some/dir"));
		CHECK(f->flags == (O_PATH | O_DIRECTORY) && f->fmode == 0x4000);
	}
	++*n;
	return 0;
}

static int ignore_thread(void *arg, const struct reel_proc_thread *t)
{
	(void)arg;
	(void)t;
	return 0;
}

static void test_fake_fds(void)
{
	char root[] = "/tmp/reel-fakeproc-XXXXXX";
	CHECK(mkdtemp(root));
	put(root, "100/status", "NStgid:\t100\n");
	put(root, "100/task/100/stat", "100 (x) R 1 100 100 0 -1 0" STAT_TAIL);
	put(root, "100/task/100/fdinfo/3", "pos:\t0\nflags:\t02004002\n");
	link_to(root, "100/task/100/fd/3", "socket:[123]");
	put(root, "100/task/100/fdinfo/4", "flags:\t010200000\n");
	link_to(root, "100/task/100/fd/4", "/some/dir");
	link_to(root, "100/task/100/fd/5", "/no/fdinfo");
	struct reel_proc_scan_ops o = {.thread = ignore_thread, .fd = check_fake_fd};
	int n = 0;
	CHECK(reel_proc_scan(root, &o, &n) == 0);
	CHECK(n == 2);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

static void test_errors(void)
{
	struct result r = {0};
	CHECK(reel_proc_scan("/nonexistent-proc", &ops, &r) == -ENOENT);
	CHECK(reel_proc_scan("/etc/passwd", &ops, &r) == -ENOTDIR);
	struct reel_proc_scan_ops none = {0};
	CHECK(reel_proc_scan("/proc", &none, &r) == -EINVAL);
	CHECK(r.threads == 0);
}

static void *short_thread(void *arg)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		close(fd);
	return arg;
}

/* Scans while another process forks, exits, starts and ends threads and
 * opens and closes fds: what vanishes is skipped, nothing fails. */
static void test_churn(void)
{
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		for (;;) {
			pid_t p = fork();
			if (p == 0)
				_exit(0);
			pthread_t th[4];
			for (int i = 0; i < 4; i++)
				pthread_create(&th[i], NULL, short_thread, NULL);
			for (int i = 0; i < 4; i++)
				pthread_join(th[i], NULL);
			if (p > 0)
				waitpid(p, NULL, 0);
		}
	}
	for (int i = 0; i < 30; i++) {
		static struct result r;
		memset(&r, 0, sizeof(r));
		CHECK(reel_proc_scan("/proc", &ops, &r) == 0);
		CHECK(r.threads > 0);
	}
	kill(child, SIGKILL);
	CHECK(waitpid(child, NULL, 0) == child);
}

static void *idle_thread(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!release)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return arg;
}

static int count_thread(void *arg, const struct reel_proc_thread *t)
{
	(void)t;
	((int *)arg)[0]++;
	return 0;
}

static int count_fd(void *arg, const struct reel_proc_fd *f)
{
	(void)f;
	((int *)arg)[1]++;
	return 0;
}

static void bench(void)
{
	enum { THREADS = 1000, FDS = 10000 };
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > FDS + 100);
	static pthread_t th[THREADS];
	release = 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&th[i], &attr, idle_thread, NULL) == 0);
	for (int i = 0; i < FDS; i++)
		CHECK(open("/dev/null", O_RDONLY) >= 0);
	struct reel_proc_scan_ops o = {.thread = count_thread, .fd = count_fd};
	for (int run = 0; run < 5; run++) {
		int n[2] = {0, 0};
		double t0 = now_ms();
		CHECK(reel_proc_scan("/proc", &o, n) == 0);
		printf("bench: %d threads, %d fds in %.1f ms\n", n[0], n[1], now_ms() - t0);
	}
	pthread_mutex_lock(&lock);
	release = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "bench")) {
		bench();
		return 0;
	}
	test_errors();
	test_fake_proc();
	test_fake_fds();
	test_real_proc();
	test_churn();
	printf("procscan: ok\n");
	return 0;
}
