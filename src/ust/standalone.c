/* SPDX-License-Identifier: MIT */
/*
 * standalone: tracing with nothing to start. Owns the in-process session
 * (one channel of per-CPU buffers), its consumer thread and its trace
 * directory. Calls the ring buffer, the registry and the CTF writer.
 *
 * The consumer thread moves complete packets from the buffers to the
 * stream files as they are, appends metadata as events register, closes
 * quiet packets on the switch timer, and at stop flushes everything.
 * Writers wake it with a futex when they complete a sub-buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <reel/reel.h>

#include "../common/clock.h"
#include "../common/fileio.h"
#include "../common/log.h"
#include "../ctf/metadata.h"
#include "../ringbuf/drain.h"
#include "ust-local.h"

#define DEFAULT_SUBBUF_SIZE (512u * 1024)
#define DEFAULT_NUM_SUBBUF 4u
#define DEFAULT_SWITCH_TIMER_US 1000000u
#define IDLE_WAIT_NS 200000000ull
#define STOP_DEADLINE_NS 500000000ull

#define TRACER_MAJOR 0
#define TRACER_MINOR 1
#define TRACER_PATCHLEVEL 0

struct session {
	struct reel_channel *channel; /* published to writers; retired at stop */
	struct reel_stream_file *files; /* one per stream */
	uint32_t nr_files;
	int metadata_fd;
	char dir[PATH_MAX];
	uint8_t uuid[16];
	uint64_t switch_timer_ns;
	char *copy_buf; /* overwrite mode: one sub-buffer */
	struct reel_clock_sample clock_start;
	struct reel_strbuf metadata;
	size_t metadata_cursor;
	char procname[17];
	char datetime[32];
	pid_t pid;

	pthread_t consumer;
	bool stopping;
};

/* Channels of stopped sessions: writers preempted inside a reservation may
 * still hold one, so they stay mapped for the life of the process. */
static pthread_mutex_t session_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct reel_channel *retired; /* guarded by session_mutex */
static struct session *active;     /* guarded by session_mutex */
static char last_dir[PATH_MAX];     /* guarded by session_mutex */
static struct session *parent_session; /* in a fork child: not ours to stop */
static struct reel_channel *parent_channels; /* in a fork child: the parent's */

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- waking the consumer ------------------------------------------------ */

/* Called by the writer that completes a sub-buffer, in any context,
 * signal handlers included: one atomic, and a system call only when the
 * consumer sleeps. */
/* Called by the writer that completes a sub-buffer, in any context,
 * signal handlers included: one atomic, and a system call only when the
 * consumer sleeps. The wake state lives in the channel, which outlives its
 * session: a writer may get here after the session stopped. */
static void wake_consumer(void *arg)
{
	struct reel_channel *c = arg;
	int saved = errno;
	/* Seq-cst with the consumer's store to `sleeping` then load of
	 * `wake_word` in wait_for_work(): one side sees the other. */
	__atomic_fetch_add(&c->wake_word, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->sleeping, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &c->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = saved;
}

static void wait_for_work(struct session *s, uint32_t seen, uint64_t timeout_ns)
{
	struct reel_channel *c = s->channel;
	__atomic_store_n(&c->sleeping, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->wake_word, __ATOMIC_SEQ_CST) == seen &&
	    !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { (time_t)(timeout_ns / 1000000000u),
				       (long)(timeout_ns % 1000000000u) };
		syscall(SYS_futex, &c->wake_word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
	}
	__atomic_store_n(&c->sleeping, 0, __ATOMIC_RELAXED);
}

/* ---- output ---------------------------------------------------------- */

/* DIR/ust/pid/<procname>-<pid>-<date>-<time>, new, as LTTng names the
 * trace of one process. */
static int make_trace_dir(struct session *s, const char *root)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	strftime(s->datetime, sizeof(s->datetime), "%Y%m%dT%H%M%S%z", &tm);
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[16] = "";
		if (attempt)
			snprintf(suffix, sizeof(suffix), "-%d", attempt);
		int n = snprintf(s->dir, sizeof(s->dir), "%s/ust/pid/%s-%d-%s%s", root, s->procname,
				 (int)s->pid, stamp, suffix);
		if (n < 0 || (size_t)n >= sizeof(s->dir))
			return -ENAMETOOLONG;
		char *last = strrchr(s->dir, '/');
		*last = '\0';
		int err = reel_mkdir_p(s->dir);
		*last = '/';
		if (err)
			return err;
		if (mkdir(s->dir, 0775) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int open_in_dir(struct session *s, const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
	return fd < 0 ? -errno : fd;
}

/* The whole metadata: header with the clock as now calibrated, and every
 * event registered so far. Written to a new file renamed into place, so a
 * reader never sees a partial one. */
static int write_metadata(struct session *s, uint64_t calibration_ns)
{
	struct reel_clock_desc clock;
	int err = reel_clock_describe(&s->clock_start, calibration_ns, &clock);
	if (err)
		return err;
	char vpid[16];
	snprintf(vpid, sizeof(vpid), "%d", (int)s->pid);
	char hostname[HOST_NAME_MAX + 1] = "";
	gethostname(hostname, sizeof(hostname) - 1);
	char trace_name[64];
	snprintf(trace_name, sizeof(trace_name), "%s-%s", s->procname, vpid);
	const struct reel_ctf_env_entry env[] = {
		{ "hostname", hostname, 0 },
		{ "domain", "ust", 0 },
		{ "tracer_name", "reel", 0 },
		{ "tracer_major", NULL, TRACER_MAJOR },
		{ "tracer_minor", NULL, TRACER_MINOR },
		{ "tracer_patchlevel", NULL, TRACER_PATCHLEVEL },
		{ "tracer_buffering_scheme", "pid", 0 },
		{ "tracer_buffering_id", NULL, s->pid },
		{ "architecture_bit_width", NULL, (int64_t)sizeof(long) * 8 },
		{ "trace_name", trace_name, 0 },
		{ "trace_creation_datetime", s->datetime, 0 },
		{ "procname", s->procname, 0 },
		{ "vpid", NULL, s->pid },
		{ "clock_source", clock.source, 0 },
	};
	struct reel_ctf_trace_desc trace = { .clock = &clock, .env = env,
					     .nr_env = REEL_ARRAY_SIZE(env) };
	memcpy(trace.uuid, s->uuid, sizeof(trace.uuid));

	/* Built aside: if it cannot be written, the file in place and what
	 * is still to be appended to it stay as they were. */
	struct reel_strbuf text = { 0 };
	size_t cursor = 0;
	err = reel_ctf_metadata_header(&text, &trace);
	if (!err)
		err = reel_registry_metadata(&text, &cursor);
	if (err) {
		reel_strbuf_free(&text);
		return err;
	}

	/* A dot-file until complete: readers take other files for streams. */
	int fd = open_in_dir(s, ".metadata.tmp");
	if (fd < 0) {
		reel_strbuf_free(&text);
		return fd;
	}
	err = reel_write_all(fd, text.data, text.len);
	char from[PATH_MAX + 64], to[PATH_MAX + 64];
	snprintf(from, sizeof(from), "%s/.metadata.tmp", s->dir);
	snprintf(to, sizeof(to), "%s/metadata", s->dir);
	if (!err && rename(from, to) < 0)
		err = -errno;
	if (err) {
		close(fd);
		unlink(from);
		reel_strbuf_free(&text);
		return err;
	}
	if (s->metadata_fd >= 0)
		close(s->metadata_fd);
	s->metadata_fd = fd; /* now names `metadata`; later events are appended */
	reel_strbuf_free(&s->metadata);
	s->metadata = text;
	s->metadata_cursor = cursor;
	return 0;
}

/* Append the events registered since the metadata was last written. */
static int append_metadata(struct session *s)
{
	if (s->metadata_fd < 0)
		return 0; /* not written yet: it will hold everything */
	size_t before = s->metadata.len;
	int err = reel_registry_metadata(&s->metadata, &s->metadata_cursor);
	if (err || s->metadata.len == before)
		return err;
	return reel_write_all(s->metadata_fd, s->metadata.data + before, s->metadata.len - before);
}

/* Write every complete packet of every stream. Returns how many. */
static unsigned int drain(struct session *s)
{
	unsigned int packets = 0;
	for (uint32_t i = 0; i < s->channel->nr_streams; i++)
		packets += reel_stream_file_drain(s->channel->streams[i], &s->files[i], s->copy_buf);
	return packets;
}

/* At stop: close open packets, record final loss counts, write it all. */
static void final_flush(struct session *s)
{
	uint64_t deadline = monotonic_ns() + STOP_DEADLINE_NS;
	for (;;) {
		bool done = true;
		append_metadata(s);
		for (uint32_t i = 0; i < s->channel->nr_streams; i++)
			if (!reel_stream_file_flush(s->channel->streams[i], &s->files[i], s->copy_buf))
				done = false;
		if (done)
			break;
		if (monotonic_ns() > deadline) {
			/* A writer stopped inside a reservation (a thread
			 * suspended forever): its packet cannot be completed. */
			reel_debug("%s: some packets were still being written at stop", s->dir);
			break;
		}
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
	}
}

static void *consumer_main(void *arg)
{
	struct session *s = arg;
	int err;
	uint64_t next_switch = s->switch_timer_ns ? monotonic_ns() + s->switch_timer_ns : UINT64_MAX;
	/* The metadata is written at once with the clock's frequency measured
	 * quickly (so that a filling disk still gets it), again once measured
	 * well, and at stop, measured over the whole session. */
	err = write_metadata(s, REEL_CLOCK_QUICK_NS);
	if (err)
		reel_debug("%s: writing metadata: %s", s->dir, strerror(-err));
	uint64_t metadata_at = monotonic_ns() + REEL_CLOCK_CALIBRATION_NS;
	bool metadata_written = false;

	while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
		uint32_t seen = __atomic_load_n(&s->channel->wake_word, __ATOMIC_SEQ_CST);
		if (!metadata_written && monotonic_ns() >= metadata_at) {
			err = write_metadata(s, REEL_CLOCK_CALIBRATION_NS);
			if (err)
				reel_debug("%s: writing metadata: %s", s->dir, strerror(-err));
			metadata_written = true;
		}
		append_metadata(s);
		unsigned int drained = drain(s);
		uint64_t now = monotonic_ns();
		if (now >= next_switch) {
			/* Even under load: a quiet CPU's packet must not wait
			 * for a busy one's. */
			for (uint32_t i = 0; i < s->channel->nr_streams; i++)
				reel_rb_switch(s->channel->streams[i]);
			next_switch = now + s->switch_timer_ns;
			continue;
		}
		if (drained)
			continue;
		uint64_t wake_at = !metadata_written && metadata_at < next_switch ? metadata_at :
										     next_switch;
		uint64_t timeout = wake_at > now ? wake_at - now : 0;
		wait_for_work(s, seen, timeout < IDLE_WAIT_NS ? timeout : IDLE_WAIT_NS);
	}
	final_flush(s);
	/* The frequency is now measured over the whole session. */
	err = write_metadata(s, REEL_CLOCK_CALIBRATION_NS);
	if (err)
		reel_debug("%s: writing metadata: %s", s->dir, strerror(-err));
	return NULL;
}

/* ---- channels ---------------------------------------------------------- */

static void channel_destroy(struct reel_channel *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; c->streams && i < c->nr_streams; i++)
		reel_rb_destroy(c->streams[i]);
	free(c->streams);
	free(c->view.streams);
	free(c);
}

/* A stopped channel of this geometry, made ready for trace `uuid`, so that
 * start/stop cycles do not pile up buffers; NULL when there is none. */
static struct reel_channel *channel_reuse(const struct reel_rb_config *rbc, uint32_t nr_streams,
					  const uint8_t uuid[16])
{
	for (struct reel_channel **p = &retired; *p; p = &(*p)->retired_next) {
		struct reel_channel *c = *p;
		if (c->subbuf_size != rbc->subbuf_size || c->num_subbuf != rbc->num_subbuf ||
		    c->overwrite != rbc->overwrite || c->nr_streams != nr_streams)
			continue;
		/* Events that writers preempted across the stop recorded after
		 * the final flush belong to no trace: drop them. */
		char *copy = c->overwrite ? malloc(c->subbuf_size) : NULL;
		bool ready = !c->overwrite || copy;
		for (uint32_t i = 0; i < c->nr_streams && ready; i++) {
			struct reel_rb_packet packet;
			reel_rb_switch(c->streams[i]);
			while (reel_rb_get_packet(c->streams[i], copy, &packet) != -EAGAIN)
				reel_rb_put_packet(c->streams[i], &packet);
			ready = reel_rb_rebase(c->streams[i], uuid) == 0;
		}
		free(copy);
		if (!ready)
			continue; /* a late writer left data in it: keep it aside */
		*p = c->retired_next;
		c->retired_next = NULL;
		return c;
	}
	return NULL;
}

static struct reel_channel *channel_new(struct reel_rb_config *rbc, uint32_t nr_streams)
{
	struct reel_channel *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nr_streams = nr_streams;
	c->subbuf_size = rbc->subbuf_size;
	c->num_subbuf = rbc->num_subbuf;
	c->overwrite = rbc->overwrite;
	c->streams = calloc(nr_streams, sizeof(*c->streams));
	c->view.streams = calloc(nr_streams, sizeof(*c->view.streams));
	if (!c->streams || !c->view.streams)
		goto fail;
	rbc->deliver = wake_consumer;
	rbc->deliver_arg = c;
	for (uint32_t i = 0; i < nr_streams; i++) {
		rbc->cpu = i;
		c->streams[i] = reel_rb_create(rbc);
		if (!c->streams[i])
			goto fail;
		c->view.streams[i] = c->streams[i]->view;
	}
	c->view.abi_version = REEL__VIEW_ABI;
	c->view.nr_streams = nr_streams;
	return c;
fail:;
	int err = errno;
	channel_destroy(c);
	errno = err;
	return NULL;
}

/* ---- session lifetime ------------------------------------------------- */

static void session_free(struct session *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->files && i < s->nr_files; i++)
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
	if (s->metadata_fd >= 0)
		close(s->metadata_fd);
	free(s->files);
	free(s->copy_buf);
	reel_strbuf_free(&s->metadata);
	/* A channel here was never published (a failed start). */
	channel_destroy(s->channel);
	free(s);
}

static int start_locked(const struct reel_output_config *config)
{
	if (active)
		return -EBUSY;
	if (!config || config->struct_size < sizeof(*config) || !config->path || !*config->path)
		return -EINVAL;

	reel_clock_init();
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->metadata_fd = -1;
	s->pid = getpid();
	reel_clock_sample(&s->clock_start);
	int err = -errno;
	if (getrandom(s->uuid, sizeof(s->uuid), 0) != sizeof(s->uuid))
		goto fail;
	s->uuid[6] = (uint8_t)((s->uuid[6] & 0x0f) | 0x40); /* version 4 */
	s->uuid[8] = (uint8_t)((s->uuid[8] & 0x3f) | 0x80);
	s->switch_timer_ns = config->switch_timer_us == UINT32_MAX ? 0 :
			     (uint64_t)(config->switch_timer_us ? config->switch_timer_us :
								  DEFAULT_SWITCH_TIMER_US) * 1000;
	const char *name = program_invocation_short_name;
	snprintf(s->procname, sizeof(s->procname), "%s", name && *name ? name : "unknown");
	for (char *p = s->procname; *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '_';

	/* Absolute, since the application may change directory. */
	char root[PATH_MAX];
	int n = config->path[0] == '/' || !getcwd(root, sizeof(root)) ?
			snprintf(root, sizeof(root), "%s", config->path) :
			snprintf(root + strlen(root), sizeof(root) - strlen(root), "/%s",
				 config->path);
	err = -ENAMETOOLONG;
	if (n < 0 || strlen(root) >= sizeof(root) - 1)
		goto fail;
	err = make_trace_dir(s, root);
	if (err)
		goto fail;

	struct reel_rb_config rbc = {
		.subbuf_size = config->subbuf_size ? config->subbuf_size : DEFAULT_SUBBUF_SIZE,
		.num_subbuf = config->num_subbuf ? config->num_subbuf : DEFAULT_NUM_SUBBUF,
		.overwrite = config->overwrite != 0,
	};
	memcpy(rbc.trace_uuid, s->uuid, sizeof(s->uuid));
	int nr_cpus = get_nprocs_conf();
	uint32_t nr_streams = nr_cpus > 0 ? (uint32_t)nr_cpus : 1;
	s->channel = channel_reuse(&rbc, nr_streams, s->uuid);
	if (!s->channel && !(s->channel = channel_new(&rbc, nr_streams))) {
		err = -errno;
		goto fail;
	}
	s->files = malloc(nr_streams * sizeof(*s->files));
	err = -ENOMEM;
	if (!s->files)
		goto fail;
	s->nr_files = nr_streams;
	for (uint32_t i = 0; i < nr_streams; i++)
		reel_stream_file_init(&s->files[i]);
	if (rbc.overwrite && !(s->copy_buf = malloc(rbc.subbuf_size)))
		goto fail;
	for (uint32_t i = 0; i < nr_streams; i++) {
		char file[32];
		snprintf(file, sizeof(file), "channel0_%u", i);
		s->files[i].fd = open_in_dir(s, file);
		if (s->files[i].fd < 0) {
			err = s->files[i].fd;
			goto fail;
		}
	}

	/* The consumer thread takes no signal meant for the application. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = -pthread_create(&s->consumer, NULL, consumer_main, s);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err)
		goto fail;
	pthread_setname_np(s->consumer, "reel-consumer");

	reel_registry_enable(config->events, &s->channel->view);
	active = s;
	snprintf(last_dir, sizeof(last_dir), "%s", s->dir);
	return 0;
fail:
	reel_debug("cannot start tracing into %s: %s", config->path, strerror(-err));
	if (s->dir[0]) {
		for (uint32_t i = 0; i < s->nr_files; i++) {
			char path[PATH_MAX + 64];
			snprintf(path, sizeof(path), "%s/channel0_%u", s->dir, i);
			unlink(path);
		}
		rmdir(s->dir);
	}
	session_free(s);
	return err;
}

int reel_output_start(const struct reel_output_config *config)
{
	pthread_mutex_lock(&session_mutex);
	int err = start_locked(config);
	pthread_mutex_unlock(&session_mutex);
	return err;
}

int reel_output_stop(void)
{
	pthread_mutex_lock(&session_mutex);
	struct session *s = active;
	if (!s || s->pid != getpid()) {
		pthread_mutex_unlock(&session_mutex);
		return -ENOENT;
	}
	active = NULL;
	/* No reservation starts after this; those in flight complete during
	 * the consumer's final flush, which waits for them. */
	reel_registry_disable();
	__atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
	wake_consumer(s->channel);
	pthread_join(s->consumer, NULL);
	int err = 0;
	for (uint32_t i = 0; i < s->nr_files; i++)
		if (s->files[i].failed)
			err = -EIO;
	/* Writers that saw the channel before this keep a valid pointer: it
	 * stays mapped (see struct reel_channel). */
	s->channel->retired_next = retired;
	retired = s->channel;
	s->channel = NULL;
	session_free(s);
	pthread_mutex_unlock(&session_mutex);
	return err;
}

const char *reel_output_path(void)
{
	pthread_mutex_lock(&session_mutex);
	const char *path = last_dir[0] ? last_dir : NULL;
	pthread_mutex_unlock(&session_mutex);
	return path;
}

/* ---- automatic start from the environment, fork, exit ----------------- */

static uint32_t env_size(const char *name, uint32_t fallback)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return fallback;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	unsigned int shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'm' || *end == 'M')
		shift = 20, end++;
	if (errno || *end || *v == '-' || n > (UINT32_MAX >> shift)) {
		reel_debug("ignoring %s=%s", name, v);
		return fallback;
	}
	return (uint32_t)(n << shift);
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&session_mutex);
	reel_registry_lock();
}

static void atfork_parent(void)
{
	reel_registry_unlock();
	pthread_mutex_unlock(&session_mutex);
}

/* The child shares the parent's buffers (shared memory) but not its
 * consumer thread: it must not write into them. It runs untraced. */
static void atfork_child(void)
{
	reel_registry_unlock();
	pthread_mutex_unlock(&session_mutex);
	parent_session = active;
	active = NULL;
	parent_channels = retired; /* shared with the parent: never reused here */
	retired = NULL;
	/* The parent's channel is not the child's. (Under a daemon, the
	 * control thread's own handler gives the child its enablement.) */
	if (parent_session)
		reel_registry_disable();
}

__attribute__((constructor)) static void standalone_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	const char *output = getenv("REEL_OUTPUT");
	if (!output || !*output)
		return;
	const char *overwrite = getenv("REEL_OVERWRITE");
	struct reel_output_config config = {
		.struct_size = sizeof(config),
		.path = output,
		.events = getenv("REEL_EVENTS"),
		.subbuf_size = env_size("REEL_SUBBUF_SIZE", 0),
		.num_subbuf = env_size("REEL_NUM_SUBBUF", 0),
		.overwrite = overwrite && *overwrite && *overwrite != '0',
		.switch_timer_us = getenv("REEL_SWITCH_TIMER_US") &&
						   strcmp(getenv("REEL_SWITCH_TIMER_US"), "0") == 0 ?
					   UINT32_MAX :
					   env_size("REEL_SWITCH_TIMER_US", 0),
	};
	/* Errors leave the application untraced, never stopped. */
	reel_output_start(&config);
}

__attribute__((destructor)) static void standalone_fini(void)
{
	reel_output_stop();
}
