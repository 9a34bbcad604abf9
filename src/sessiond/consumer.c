/* SPDX-License-Identifier: MIT */
/*
 * consumer: one thread per started session. Moves complete packets from
 * every buffer of the session's traces to their stream files as they are,
 * keeps each trace's metadata up to date with the event classes the main
 * thread adds, closes quiet packets on each channel's switch timer, and on
 * request (stop) flushes everything. Applications wake it through the
 * session's eventfd when they complete a sub-buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../ctf/metadata.h"
#include "sessiond.h"

extern char **environ;

#define IDLE_WAIT_MS 100
/* A sub-buffer left incomplete this long after an application died is
 * taken to hold that application's unfinished event. */
#define STALL_NS 500000000ull
#define FLUSH_DEADLINE_NS 1000000000ull
/* Kernel packets close at least this often, so that files follow. */
#define KERNEL_SWITCH_NS 1000000000ull
/* The kernel's buffers are read this often (their poll() is not reliable
 * enough to wait on: it can report data that read() then does not give);
 * a pass that read many pages goes again at once. */
#define KERNEL_POLL_NS 10000000ull
#define KERNEL_BUSY_PAGES 64
#define TRACER_MAJOR 0
#define TRACER_MINOR 1
#define TRACER_PATCHLEVEL 0

uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- metadata ------------------------------------------------------------ */

/* Measure the clock again (the longer since the daemon started, the more
 * exactly): every metadata written after describes it so, the kernel's
 * and the applications' alike, so that their events interleave exactly.
 * Lock held. */
static int measure_clock(struct session *s)
{
	int err = reel_clock_describe(&reeld.clock_start, REEL_CLOCK_QUICK_NS, &s->clock);
	s->clock_known = !err;
	return err;
}

/* The kernel trace's environment is LTTng's kernel tracer's, so that
 * LTTng-analyses, Trace Compass and Babeltrace take it for a kernel trace;
 * reel_tracer says who wrote it. */
static int kernel_metadata(struct session *s)
{
	if (!s->clock_known) {
		int err = measure_clock(s);
		if (err)
			return err;
	}
	char hostname[256] = "";
	gethostname(hostname, sizeof(hostname) - 1);
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	struct reel_ctf_env_entry env[] = {
		{ "hostname", hostname, 0 },
		{ "domain", "kernel", 0 },
		{ "sysname", u.sysname, 0 },
		{ "kernel_release", u.release, 0 },
		{ "kernel_version", u.version, 0 },
		{ "tracer_name", "lttng-modules", 0 },
		{ "tracer_major", NULL, 2 },
		{ "tracer_minor", NULL, 13 },
		{ "tracer_patchlevel", NULL, 0 },
		{ "reel_tracer", "reel " REEL_VERSION, 0 },
		{ "trace_buffering_scheme", "global", 0 },
		{ "trace_name", s->name, 0 },
		{ "trace_creation_datetime", s->kernel_datetime, 0 },
		{ "clock_source", s->clock.source, 0 },
	};
	struct reel_ctf_trace_desc desc = { .clock = &s->clock, .env = env,
					    .nr_env = sizeof(env) / sizeof(env[0]) };
	memcpy(desc.uuid, s->kernel_uuid, sizeof(desc.uuid));
	return reel_ktrace_set_metadata(s->kernel, &desc);
}

int consumer_kernel_start(struct session *s, char *err, size_t err_size)
{
	pthread_mutex_lock(&s->lock);
	int e = kernel_metadata(s);
	pthread_mutex_unlock(&s->lock);
	if (e) {
		snprintf(err, err_size, "cannot describe the kernel trace: %s", strerror(-e));
		return e;
	}
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/kernel", s->output);
	return reel_ktrace_start(s->kernel, dir, err, err_size);
}

static int metadata_header(struct session *s, struct trace *t, struct reel_strbuf *out)
{
	if (!s->clock_known) {
		int err = measure_clock(s);
		if (err)
			return err;
	}
	struct reel_clock_desc clock = s->clock;
	char hostname[256] = "";
	gethostname(hostname, sizeof(hostname) - 1);
	struct reel_ctf_env_entry env[16];
	unsigned int n = 0;
	env[n++] = (struct reel_ctf_env_entry){ "hostname", hostname, 0 };
	env[n++] = (struct reel_ctf_env_entry){ "domain", "ust", 0 };
	env[n++] = (struct reel_ctf_env_entry){ "tracer_name", "reel", 0 };
	env[n++] = (struct reel_ctf_env_entry){ "tracer_major", NULL, TRACER_MAJOR };
	env[n++] = (struct reel_ctf_env_entry){ "tracer_minor", NULL, TRACER_MINOR };
	env[n++] = (struct reel_ctf_env_entry){ "tracer_patchlevel", NULL, TRACER_PATCHLEVEL };
	env[n++] = (struct reel_ctf_env_entry){ "tracer_buffering_scheme",
						t->per_pid ? "pid" : "uid", 0 };
	env[n++] = (struct reel_ctf_env_entry){ "tracer_buffering_id", NULL, (int64_t)t->owner };
	env[n++] = (struct reel_ctf_env_entry){ "architecture_bit_width", NULL, 64 };
	env[n++] = (struct reel_ctf_env_entry){ "trace_name", s->name, 0 };
	env[n++] = (struct reel_ctf_env_entry){ "trace_creation_datetime", t->datetime, 0 };
	if (t->per_pid) {
		env[n++] = (struct reel_ctf_env_entry){ "procname", t->procname, 0 };
		env[n++] = (struct reel_ctf_env_entry){ "vpid", NULL, (int64_t)t->owner };
	}
	env[n++] = (struct reel_ctf_env_entry){ "clock_source", clock.source, 0 };
	uint32_t contexts[MAX_CHANNELS];
	for (uint32_t i = 0; i < t->nr_bufsets; i++)
		contexts[i] = t->bufsets[i]->channel->contexts;
	struct reel_ctf_trace_desc desc = { .clock = &clock, .env = env, .nr_env = n,
					    .nr_streams = t->nr_bufsets,
					    .stream_contexts = contexts };
	memcpy(desc.uuid, t->uuid, sizeof(desc.uuid));
	return reel_ctf_metadata_header(out, &desc);
}

/* The whole metadata, written aside and renamed into place. */
/* The whole metadata of trace `t` as it is now. Lock held. */
static int metadata_text(struct session *s, struct trace *t, struct reel_strbuf *text)
{
	int err = metadata_header(s, t, text);
	for (uint32_t i = 0; !err && i < t->nr_bufsets; i++)
		for (uint32_t k = 0; k < t->bufsets[i]->nr_classes; k++)
			err = reel_strbuf_printf(text, "%s", t->bufsets[i]->classes[k].declaration);
	return err;
}

static int metadata_rewrite(struct session *s, struct trace *t)
{
	if (s->snapshot_mode)
		return 0; /* written into each snapshot */
	struct reel_strbuf text = { 0 };
	int err = metadata_text(s, t, &text);
	char from[PATH_MAX + 32], to[PATH_MAX + 32];
	snprintf(from, sizeof(from), "%s/.metadata.tmp", t->dir);
	snprintf(to, sizeof(to), "%s/metadata", t->dir);
	int fd = -1;
	if (!err) {
		fd = open(from, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
		err = fd < 0 ? -errno : reel_write_all(fd, text.data, text.len);
	}
	if (!err && rename(from, to) < 0)
		err = -errno;
	reel_strbuf_free(&text);
	if (err) {
		if (fd >= 0) {
			close(fd);
			unlink(from);
		}
		return err;
	}
	if (t->metadata_fd >= 0)
		close(t->metadata_fd);
	t->metadata_fd = fd;
	for (uint32_t i = 0; i < t->nr_bufsets; i++)
		for (uint32_t k = 0; k < t->bufsets[i]->nr_classes; k++)
			t->bufsets[i]->classes[k].written = true;
	t->metadata_dirty = false;
	return 0;
}

/* Append the event classes added since the metadata was written. */
static int metadata_update(struct session *s, struct trace *t)
{
	if (!t->metadata_dirty || s->snapshot_mode)
		return 0;
	if (t->metadata_fd < 0)
		return metadata_rewrite(s, t);
	/* A declaration cut short (a full disk) would spoil the whole
	 * metadata: what could not be written whole is cut off, and written
	 * again next time. */
	off_t end = lseek(t->metadata_fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	for (uint32_t i = 0; i < t->nr_bufsets; i++) {
		struct bufset *b = t->bufsets[i];
		for (uint32_t k = 0; k < b->nr_classes; k++) {
			if (b->classes[k].written)
				continue;
			int err = reel_write_all(t->metadata_fd, b->classes[k].declaration,
						 strlen(b->classes[k].declaration));
			if (err) {
				if (ftruncate(t->metadata_fd, end) < 0 ||
				    lseek(t->metadata_fd, end, SEEK_SET) < 0)
					reel_debug("%s: cannot cut the metadata back", t->dir);
				return err;
			}
			end += (off_t)strlen(b->classes[k].declaration);
			b->classes[k].written = true;
		}
	}
	t->metadata_dirty = false;
	return 0;
}

/* ---- streams left incomplete by dead applications ---------------------- */

static int class_event_size(void *arg, uint32_t id, const char *payload, size_t avail,
			    size_t *ret)
{
	struct bufset *b = arg;
	if (id >= b->nr_classes)
		return -EBADMSG;
	/* The channel's context fields come first. */
	uint32_t context = b->channel->contexts;
	size_t skip = (context & REEL_CONTEXT_VPID ? 4 : 0) + (context & REEL_CONTEXT_VTID ? 4 : 0);
	if (context & REEL_CONTEXT_PROCNAME) {
		const char *nul = skip < avail ? memchr(payload + skip, '\0', avail - skip) : NULL;
		if (!nul)
			return -EBADMSG;
		skip = (size_t)(nul - payload) + 1;
	}
	skip += (context & REEL_CONTEXT_PTHREAD_ID ? 8 : 0) + (context & REEL_CONTEXT_CPU_ID ? 4 : 0);
	size_t size;
	if (skip > avail || reel_ctf_payload_size(b->classes[id].layout, b->classes[id].nr_fields,
						  payload + skip, avail - skip, &size) < 0)
		return -EBADMSG;
	*ret = skip + size;
	return 0;
}

/* Called with the session's lock held: the classes are the main thread's. */
static void repair(struct bufset *b, uint32_t k)
{
	if (reel_rb_repair(b->streams[k], class_event_size, b) > 0)
		reel_debug("stream %s_%u: repaired a packet left incomplete by a dead application",
			   b->channel->name, k);
	b->stall_since[k] = 0;
}

static void repair_trace(struct trace *t)
{
	for (uint32_t i = 0; i < t->nr_bufsets; i++)
		for (uint32_t k = 0; k < t->bufsets[i]->nr_streams; k++)
			repair(t->bufsets[i], k);
}

/* Repair the streams of traces a killed application wrote into that stay
 * stalled for long. Lock held. */
static void check_stalls(struct session *s, uint64_t now)
{
	for (struct trace *t = s->traces; t; t = t->next) {
		if (!t->suspect)
			continue;
		for (uint32_t i = 0; i < t->nr_bufsets; i++) {
			struct bufset *b = t->bufsets[i];
			for (uint32_t k = 0; k < b->nr_streams; k++) {
				struct reel_rb *rb = b->streams[k];
				if (!reel_rb_is_stalled(rb)) {
					b->stall_since[k] = 0;
					continue;
				}
				uint64_t at = READ_ONCE(rb->shm->consumed);
				if (!b->stall_since[k] || b->stall_at[k] != at) {
					b->stall_since[k] = now;
					b->stall_at[k] = at;
				} else if (now - b->stall_since[k] > STALL_NS) {
					repair(b, k);
				}
			}
		}
	}
}

/* ---- the thread ------------------------------------------------------------ */

/*
 * The consumer writes without the session's lock, so that a slow disk never
 * holds the main thread: it works on a snapshot of the trace list taken
 * under the lock. Traces are added at the head of the list by the main
 * thread, and removed only by this thread (orphans) or once it is joined
 * (destroy); a stream's buffer and file are this thread's alone.
 */
static int take_snapshot(struct session *s)
{
	size_t n = 0;
	for (struct trace *t = s->traces; t; t = t->next)
		n++;
	if (n > s->snapshot_cap) {
		struct trace **grown = realloc(s->snapshot, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->snapshot = grown;
		s->snapshot_cap = n;
	}
	s->nr_snapshot = 0;
	for (struct trace *t = s->traces; t; t = t->next) {
		int err = metadata_update(s, t);
		if (err)
			reel_debug("%s: metadata: %s", t->dir, strerror(-err));
		s->snapshot[s->nr_snapshot++] = t;
	}
	return 0;
}

/* Write what is complete in trace `t`; with `flush`, close open packets
 * too. Returns true when everything reserved is written. No lock. */
static bool drain_trace(struct trace *t, bool flush)
{
	bool done = true;
	if (t->no_files)
		return true; /* a flight recorder's: read by snapshots only */
	for (uint32_t i = 0; i < t->nr_bufsets; i++) {
		struct bufset *b = t->bufsets[i];
		for (uint32_t k = 0; k < b->nr_streams; k++) {
			if (flush)
				done &= reel_stream_file_flush(b->streams[k], &b->files[k], b->copy_buf);
			else
				reel_stream_file_drain(b->streams[k], &b->files[k], b->copy_buf);
		}
	}
	return done;
}

/* What `status` reports, copied under the lock. */
static void publish_stats(struct trace *t)
{
	for (uint32_t i = 0; i < t->nr_bufsets; i++) {
		struct bufset *b = t->bufsets[i];
		uint64_t packets = 0, bytes = 0, lost = 0;
		for (uint32_t k = 0; k < b->nr_streams; k++) {
			packets += b->files[k].packets;
			bytes += b->files[k].bytes;
			lost += b->files[k].lost_packets;
		}
		b->stat_packets = packets;
		b->stat_bytes = bytes;
		b->stat_lost_packets = lost;
	}
}

/* Close every open packet and write everything, waiting for reservations
 * in flight to be committed, up to a deadline: an application stopped or
 * killed inside a reservation never completes its packet. Lock held on
 * entry and exit, released while writing. */
static void final_flush(struct session *s)
{
	uint64_t deadline = monotonic_ns() + FLUSH_DEADLINE_NS;
	bool repaired = false;
	for (;;) {
		if (take_snapshot(s) < 0)
			break;
		pthread_mutex_unlock(&s->lock);
		bool done = true;
		for (size_t i = 0; i < s->nr_snapshot; i++)
			done &= drain_trace(s->snapshot[i], true);
		pthread_mutex_lock(&s->lock);
		if (done)
			break;
		if (monotonic_ns() > deadline) {
			/* What a killed application left unfinished is
			 * repaired; otherwise a writer is suspended. */
			bool suspect = false;
			for (struct trace *t = s->traces; t; t = t->next)
				if (t->suspect) {
					repair_trace(t);
					suspect = true;
				}
			if (suspect && !repaired) {
				repaired = true;
				continue;
			}
			reel_debug("session %s: some packets were still being written at stop", s->name);
			break;
		}
		pthread_mutex_unlock(&s->lock);
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
		pthread_mutex_lock(&s->lock);
	}
	/* The kernel's buffers, to the end (recording stopped before). */
	if (s->kernel) {
		pthread_mutex_unlock(&s->lock);
		while (reel_ktrace_consume(s->kernel, true) > 0)
			;
		pthread_mutex_lock(&s->lock);
	}
	/* The clock's frequency is now measured over a longer time. */
	if (measure_clock(s))
		reel_debug("session %s: cannot measure the clock", s->name);
	if (s->kernel && kernel_metadata(s))
		reel_debug("session %s: cannot write the kernel metadata", s->name);
	int kernel_err = s->kernel ? reel_ktrace_chunk_error(s->kernel) : 0;
	if (kernel_err)
		snprintf(s->error, sizeof(s->error),
			 "the kernel trace is incomplete: packets or metadata could not be written: %s",
			 strerror(-kernel_err));
	for (struct trace *t = s->traces; t; t = t->next) {
		publish_stats(t);
		int err = metadata_rewrite(s, t);
		if (err)
			reel_debug("%s: metadata: %s", t->dir, strerror(-err));
	}
}

/* Per-process traces whose process left, once written out (or after a
 * second, whatever a killed writer left): complete, closed, freed. Lock
 * held. */
static void retire_orphans(struct session *s, uint64_t now)
{
	for (struct trace **p = &s->traces; *p;) {
		struct trace *t = *p;
		if (!t->orphan || (!t->flushed && now - t->orphan_since < FLUSH_DEADLINE_NS)) {
			p = &t->next;
			continue;
		}
		if (!t->flushed && t->suspect) {
			repair_trace(t);
			pthread_mutex_unlock(&s->lock);
			drain_trace(t, true);
			pthread_mutex_lock(&s->lock);
			/* The main thread may have added traces meanwhile. */
			for (p = &s->traces; *p != t; p = &(*p)->next)
				;
		}
		publish_stats(t);
		for (uint32_t i = 0; i < t->nr_bufsets; i++) {
			s->retired[t->bufsets[i]->channel->index].packets += t->bufsets[i]->stat_packets;
			s->retired[t->bufsets[i]->channel->index].bytes += t->bufsets[i]->stat_bytes;
			s->retired[t->bufsets[i]->channel->index].lost_packets +=
				t->bufsets[i]->stat_lost_packets;
			for (uint32_t k = 0; k < t->bufsets[i]->nr_streams; k++)
				s->retired[t->bufsets[i]->channel->index].discarded +=
					reel_rb_lost_total(t->bufsets[i]->streams[k]);
		}
		int err = metadata_rewrite(s, t);
		if (err)
			reel_debug("%s: metadata: %s", t->dir, strerror(-err));
		*p = t->next;
		trace_free(t);
	}
}

static void wake(struct session *s)
{
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		reel_debug("session %s: cannot wake the consumer", s->name);
}

/* ---- snapshots ------------------------------------------------------------ */

struct snapshot_file {
	int fd;
	bool first;
	uint64_t discarded_base;
	int err;
	/* With a size limit, the packets are kept here first (oldest
	 * first), and only the newest that fit the stream's budget written. */
	bool collect;
	char *buf;
	size_t len, cap;
	uint32_t *sizes;
	size_t nr, sizes_cap;
};

/* Keep a copy of a packet of a size-limited snapshot. */
static void snapshot_collect(struct snapshot_file *f, const char *packet, uint32_t size)
{
	if (f->err)
		return;
	if (f->len + size > f->cap) {
		size_t cap = f->cap ? f->cap : 1u << 20;
		while (cap < f->len + size)
			cap *= 2;
		char *grown = realloc(f->buf, cap);
		if (!grown) {
			f->err = -ENOMEM;
			return;
		}
		f->buf = grown;
		f->cap = cap;
	}
	if (f->nr == f->sizes_cap) {
		size_t cap = f->sizes_cap ? 2 * f->sizes_cap : 64;
		uint32_t *grown = realloc(f->sizes, cap * sizeof(*grown));
		if (!grown) {
			f->err = -ENOMEM;
			return;
		}
		f->sizes = grown;
		f->sizes_cap = cap;
	}
	memcpy(f->buf + f->len, packet, size);
	f->len += size;
	f->sizes[f->nr++] = size;
}

/* Write one packet of a snapshot; its loss count is rebased on the
 * snapshot's first packet, so that the snapshot reports only its own. */
static void snapshot_packet(void *arg, const char *packet, uint32_t size)
{
	struct snapshot_file *f = arg;
	if (f->collect) {
		snapshot_collect(f, packet, size);
		return;
	}
	char *context = (char *)packet; /* our copy */
	uint64_t discarded;
	memcpy(&discarded, context + offsetof(struct reel_ctf_packet, events_discarded),
	       sizeof(discarded));
	if (f->first) {
		f->discarded_base = discarded;
		f->first = false;
	}
	discarded = discarded >= f->discarded_base ? discarded - f->discarded_base : 0;
	memcpy(context + offsetof(struct reel_ctf_packet, events_discarded), &discarded,
	       sizeof(discarded));
	if (!f->err)
		f->err = reel_write_all(f->fd, packet, size);
}

/* Write the newest packets collected that fit in `budget` bytes, oldest
 * first. */
static void snapshot_write_newest(struct snapshot_file *f, uint64_t budget)
{
	size_t first = f->nr, off = f->len;
	uint64_t kept = 0;
	while (first > 0 && kept + f->sizes[first - 1] <= budget) {
		first--;
		kept += f->sizes[first];
		off -= f->sizes[first];
	}
	f->collect = false;
	for (size_t i = first; i < f->nr; i++) {
		snapshot_packet(f, f->buf + off, f->sizes[i]);
		off += f->sizes[i];
	}
}

static size_t snapshot_streams(const struct session *s, uint32_t *ret_max_subbuf)
{
	size_t n = 0;
	uint32_t max_subbuf = 0;
	for (const struct trace *t = s->traces; t; t = t->next)
		for (uint32_t b = 0; b < t->nr_bufsets; b++) {
			n += t->bufsets[b]->nr_streams;
			if (t->bufsets[b]->nr_streams &&
			    t->bufsets[b]->channel->config.subbuf_size > max_subbuf)
				max_subbuf = t->bufsets[b]->channel->config.subbuf_size;
		}
	if (s->kernel) {
		n += reel_ktrace_nr_streams(s->kernel);
		if (REEL_KTRACE_SNAPSHOT_PACKET > max_subbuf)
			max_subbuf = REEL_KTRACE_SNAPSHOT_PACKET;
	}
	*ret_max_subbuf = max_subbuf;
	return n;
}

/*
 * Record what a flight-recorder session's buffers hold now, while tracing
 * goes on: for each of its traces, under <dir>/snapshot-<n>-<date>-<time>-<i>/
 * (as LTTng names snapshots), the metadata and every complete packet of
 * every stream, oldest first (the open packets are closed first). With a
 * maximum size, each stream gets an equal share of it, and keeps its newest
 * packets that fit. Lock held.
 */
static int record_snapshot(struct session *s)
{
	uint32_t max_subbuf;
	size_t nr_streams = snapshot_streams(s, &max_subbuf);
	uint64_t budget = s->snapshot_max_size && nr_streams ?
		s->snapshot_max_size / nr_streams : UINT64_MAX;
	char stamp[32], root[PATH_MAX + 128];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	const char *dir = s->snapshot_dir[0] ? s->snapshot_dir : s->output;
	int n = snprintf(root, sizeof(root), "%s/snapshot-%llu-%s-%llu", dir,
			 (unsigned long long)s->snapshot_index + 1, stamp,
			 (unsigned long long)s->snapshot_index);
	if (n < 0 || (size_t)n >= sizeof(root) - 8)
		return -ENAMETOOLONG;
	int err = reel_mkdir_p(root);
	size_t out_len = strlen(s->output);
	for (struct trace *t = s->traces; t && !err; t = t->next) {
		char tdir[PATH_MAX * 2 + 160], path[PATH_MAX * 2 + MAX_NAME + 200];
		snprintf(tdir, sizeof(tdir), "%s%s", root, t->dir + out_len);
		if ((err = reel_mkdir_p(tdir)) < 0)
			break;
		struct reel_strbuf text = { 0 };
		err = metadata_text(s, t, &text);
		snprintf(path, sizeof(path), "%s/metadata", tdir);
		int fd = err ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
		if (!err)
			err = fd < 0 ? -errno : reel_write_all(fd, text.data, text.len);
		if (fd >= 0)
			close(fd);
		reel_strbuf_free(&text);
		for (uint32_t b = 0; b < t->nr_bufsets && !err; b++) {
			struct bufset *set = t->bufsets[b];
			for (uint32_t k = 0; k < set->nr_streams && !err; k++) {
				snprintf(path, sizeof(path), "%s/%s_%u", tdir, set->channel->name, k);
				struct snapshot_file f = { .first = true,
							   .collect = budget != UINT64_MAX };
				f.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
				if (f.fd < 0) {
					err = -errno;
					break;
				}
				reel_rb_switch(set->streams[k]);
				reel_rb_snapshot(set->streams[k], set->copy_buf, snapshot_packet, &f);
				if (f.collect)
					snapshot_write_newest(&f, budget);
				free(f.buf);
				free(f.sizes);
				close(f.fd);
				err = f.err;
			}
		}
	}
	if (!err && s->kernel) {
		/* The kernel's buffers, as they are now (tracing goes on). */
		char kdir[PATH_MAX + 160];
		snprintf(kdir, sizeof(kdir), "%s/kernel", root);
		err = reel_ktrace_snapshot(s->kernel, kdir, budget);
	}
	if (err)
		return err;
	snprintf(s->snapshot_path, sizeof(s->snapshot_path), "%s", root);
	s->snapshot_index++;
	return 0;
}

int consumer_snapshot(struct session *s, const char *dir, uint64_t max_size, char *err_text,
		      size_t err_size)
{
	if (!s->consumer_running)
		return -ENOTCONN;
	pthread_mutex_lock(&s->lock);
	if (max_size) {
		/* As LTTng: at least one whole sub-buffer of every stream. */
		uint32_t subbuf;
		size_t n = snapshot_streams(s, &subbuf);
		if (n && max_size / n < subbuf) {
			snprintf(err_text, err_size,
				 "--max-size %llu is too small: the session has %zu streams, each "
				 "needs at least one sub-buffer (%u bytes): %llu bytes or more",
				 (unsigned long long)max_size, n, subbuf,
				 (unsigned long long)subbuf * n);
			pthread_mutex_unlock(&s->lock);
			return -EINVAL;
		}
	}
	s->snapshot_max_size = max_size;
	snprintf(s->snapshot_dir, sizeof(s->snapshot_dir), "%s", dir ? dir : "");
	uint64_t ticket = ++s->snapshot_request;
	wake(s);
	while (s->snapshot_done < ticket)
		pthread_cond_wait(&s->flushed, &s->lock);
	int err = s->snapshot_error;
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* ---- rotation ------------------------------------------------------------- */

/* What went wrong, for `status` (cut to fit). Lock held. */
__attribute__((format(printf, 3, 4))) static void set_text(char *buf, size_t size,
							   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

#define HOOK_TIMEOUT_NS (300 * 1000000000ull)

static void iso8601(char *buf, size_t size, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y%m%dT%H%M%S%z", &tm);
}

/* Run the session's hook with the chunk's path, in the background. */
static void run_hook(struct session *s, struct chunk *c)
{
	c->hook_status = -2;
	if (!s->rotate_hook)
		return;
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", s->rotate_hook, (char *)"reel-hook",
			 c->path, NULL };
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	if (err) {
		reel_debug("session %s: cannot run the rotation hook: %s", s->name, strerror(err));
		c->hook_status = 127;
		return;
	}
	c->hook_pid = pid;
	c->hook_started = monotonic_ns();
	c->hook_status = -1;
}

/* nftw() takes no argument for its callback: the sum is the calling
 * thread's, each session's consumer having its own. */
static __thread uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F)
		tree_bytes += (uint64_t)st->st_size;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		reel_debug("retention: %s: %s", path, strerror(errno));
	return 0;
}

static uint64_t chunk_bytes(const char *path)
{
	tree_bytes = 0;
	nftw(path, add_size, 16, FTW_PHYS);
	return tree_bytes;
}

/* Retention: the oldest archived chunks go while there are more than
 * keep_chunks, or their bytes exceed keep_bytes; never the newest one, nor
 * one whose hook still runs (it may be reading it). Their announcements
 * (--publish) go to the publisher, which deletes them from the stream.
 * Lock held. */
static void apply_retention(struct session *s)
{
	if (!s->keep_chunks && !s->keep_bytes)
		return;
	uint64_t total = 0;
	uint64_t *sizes = calloc(s->nr_chunks ? s->nr_chunks : 1, sizeof(*sizes));
	if (!sizes)
		return;
	for (size_t i = 0; i < s->nr_chunks; i++)
		total += sizes[i] = s->keep_bytes ? chunk_bytes(s->chunks[i].path) : 0;
	size_t kept = s->nr_chunks, first = 0;
	while (kept > 1 && ((s->keep_chunks && kept > s->keep_chunks) ||
			    (s->keep_bytes && total > s->keep_bytes))) {
		struct chunk *c = &s->chunks[first];
		if (c->hook_pid || c->compress)
			break;
		nftw(c->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		reel_debug("session %s: retention removed %s", s->name, c->path);
		publish_unannounce(s, c);
		free(c->path);
		total -= sizes[first];
		first++;
		kept--;
	}
	memmove(s->chunks, s->chunks + first, kept * sizeof(*s->chunks));
	s->nr_chunks = kept;
	free(sizes);
}

/* Collect finished hooks; kill those that hang. Lock held. */
static void reap_hooks(struct session *s, uint64_t now)
{
	for (size_t i = 0; i < s->nr_chunks; i++) {
		struct chunk *c = &s->chunks[i];
		if (!c->hook_pid)
			continue;
		int status;
		pid_t r = waitpid(c->hook_pid, &status, WNOHANG);
		if (r == c->hook_pid) {
			c->hook_pid = 0;
			if (c->hook_status == -1)
				c->hook_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
			if (c->hook_status)
				reel_debug("session %s: rotation hook for %s: status %d", s->name,
					   c->path, c->hook_status);
		} else if (r < 0) {
			c->hook_pid = 0;
		} else if (now - c->hook_started > HOOK_TIMEOUT_NS && c->hook_status == -1) {
			kill(c->hook_pid, SIGKILL);
			c->hook_status = -3;
		}
	}
}

/* The newest announced chunk on disk, for the followers that watch the
 * output directory (reel analyze --follow, doc/sessiond.md): its index and
 * directory name in <output>/.reel-archived, written aside and renamed into
 * place (one inotify IN_MOVED_TO per chunk). The temporary name is made
 * anew (O_EXCL, O_NOFOLLOW): whatever is there (a link another user of the
 * output directory left) is removed, never written through. Lock held. */
static void write_archived_marker(struct session *s, const struct chunk *c)
{
	char tmp[PATH_MAX + 32], final[PATH_MAX + 32], line[PATH_MAX + 32];
	const char *base = strrchr(c->path, '/');
	base = base ? base + 1 : c->path;
	int n = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)c->index, base);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    snprintf(tmp, sizeof(tmp), "%s/.reel-archived.tmp", s->output) >= (int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s/.reel-archived", s->output) >= (int)sizeof(final))
		return;
	if (unlink(tmp) < 0 && errno != ENOENT) {
		reel_debug("session %s: %s: %s", s->name, tmp, strerror(errno));
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		reel_debug("session %s: %s: %s", s->name, tmp, strerror(errno));
		return;
	}
	int w = reel_write_all(fd, line, (size_t)n);
	int e = errno;
	if (close(fd) < 0 && w >= 0) {
		w = -1;
		e = errno;
	}
	if (w < 0 || rename(tmp, final) < 0) {
		reel_debug("session %s: %s: %s", s->name, final, strerror(w < 0 ? e : errno));
		unlink(tmp);
	}
}

/* A chunk's files are final: waiters are answered, the hook runs, the
 * retention applies (it may move s->chunks). Lock held. */
static void announce_chunk(struct session *s, struct chunk *c)
{
	if (c->path)
		write_archived_marker(s, c);
	uint64_t one = 1;
	if (reeld.chunk_event_fd >= 0 && write(reeld.chunk_event_fd, &one, sizeof(one)) < 0)
		reel_debug("session %s: cannot announce chunk %llu", s->name,
			   (unsigned long long)c->index);
	if (c->path) {
		run_hook(s, c);
		publish_chunk(s, c);
	}
	apply_retention(s);
}

/*
 * Archive the current chunk: every packet completed so far is written,
 * the chunk's metadata completed, its directory moved to
 * <output>/archives/<begin>-<end>-<index>/ (ISO 8601 times, as LTTng names
 * them), and the traces go on in new files. Packets still being written
 * land in the next chunk: every event is in exactly one. Lock held on
 * entry and exit.
 */
static int rotate(struct session *s)
{
	int err = take_snapshot(s);
	if (err)
		return err;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nr_snapshot; i++) {
		struct trace *t = s->snapshot[i];
		for (uint32_t b = 0; b < t->nr_bufsets; b++)
			for (uint32_t k = 0; k < t->bufsets[b]->nr_streams; k++) {
				reel_rb_switch(t->bufsets[b]->streams[k]);
				reel_stream_file_drain(t->bufsets[b]->streams[k],
						       &t->bufsets[b]->files[k],
						       t->bufsets[b]->copy_buf);
			}
	}
	if (s->kernel)
		reel_ktrace_close_chunk(s->kernel);
	pthread_mutex_lock(&s->lock);
	/* Packets that could not be written (a full disk) leave the chunk
	 * incomplete: it is archived still, and the rotation fails, saying
	 * why. */
	int incomplete = 0;
	for (struct trace *t = s->traces; t; t = t->next)
		for (uint32_t b = 0; b < t->nr_bufsets && !incomplete; b++)
			for (uint32_t k = 0; k < t->bufsets[b]->nr_streams && !incomplete; k++)
				if (t->bufsets[b]->files[k].failed)
					incomplete = t->bufsets[b]->files[k].error ?
						t->bufsets[b]->files[k].error : -EIO;
	if (!incomplete && s->kernel)
		incomplete = reel_ktrace_chunk_error(s->kernel);
	s->rotate_message[0] = 0;

	time_t end = time(NULL);
	char begin_text[32], end_text[32], from[PATH_MAX + 8], to[PATH_MAX + 128];
	iso8601(begin_text, sizeof(begin_text), s->chunk_begin);
	iso8601(end_text, sizeof(end_text), end);
	snprintf(from, sizeof(from), "%s/ust", s->output);
	int n = snprintf(to, sizeof(to), "%s/archives/%s-%s-%llu", s->output, begin_text, end_text,
			 (unsigned long long)s->chunk_index);
	if (n < 0 || (size_t)n >= sizeof(to) - 8)
		return -ENAMETOOLONG;
	struct chunk *grown = realloc(s->chunks, (s->nr_chunks + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->chunks = grown;
	/* The chunk's metadata, complete and measured to now. */
	if (measure_clock(s))
		reel_debug("session %s: cannot measure the clock", s->name);
	if (s->kernel && (err = kernel_metadata(s)) < 0 && !incomplete)
		incomplete = err;
	for (struct trace *t = s->traces; t; t = t->next) {
		err = metadata_rewrite(s, t);
		if (err)
			reel_debug("%s: metadata: %s", t->dir, strerror(-err));
		/* Without a metadata file at all, the chunk cannot be read. */
		char mp[PATH_MAX + 16];
		snprintf(mp, sizeof(mp), "%s/metadata", t->dir);
		if (err && !incomplete && t->metadata_fd < 0 && access(mp, F_OK) < 0)
			incomplete = err;
	}
	if ((err = reel_mkdir_p(to)) < 0) {
		set_text(s->rotate_message, sizeof(s->rotate_message),
			 "cannot create %s: %s", to, strerror(-err));
		return err;
	}
	char to_ust[PATH_MAX + 160];
	snprintf(to_ust, sizeof(to_ust), "%s/ust", to);
	/* Open files move with their directory; they are closed after. */
	if (access(from, F_OK) == 0 && rename(from, to_ust) < 0) {
		err = -errno;
		set_text(s->rotate_message, sizeof(s->rotate_message),
			 "cannot move the chunk to %s: %s", to_ust, strerror(-err));
		return err;
	}
	if (s->kernel) {
		char from_kernel[PATH_MAX + 16], to_kernel[PATH_MAX + 160];
		snprintf(from_kernel, sizeof(from_kernel), "%s/kernel", s->output);
		snprintf(to_kernel, sizeof(to_kernel), "%s/kernel", to);
		if (access(from_kernel, F_OK) == 0 && rename(from_kernel, to_kernel) < 0) {
			err = -errno;
			set_text(s->rotate_message, sizeof(s->rotate_message),
				 "cannot move the chunk to %s: %s", to_kernel, strerror(-err));
			return err;
		}
		if ((err = reel_ktrace_open_chunk(s->kernel, from_kernel)) < 0)
			set_text(s->error, sizeof(s->error),
				 "the kernel trace's next chunk %s cannot be written: %s", from_kernel,
				 strerror(-err));
	}
	for (struct trace *t = s->traces; t; t = t->next) {
		if ((err = reel_mkdir_p(t->dir)) < 0)
			reel_debug("%s: %s", t->dir, strerror(-err));
		if (t->metadata_fd >= 0)
			close(t->metadata_fd);
		t->metadata_fd = -1;
		t->metadata_dirty = true;
		for (uint32_t b = 0; b < t->nr_bufsets; b++) {
			struct bufset *set = t->bufsets[b];
			for (uint32_t k = 0; k < set->nr_streams; k++) {
				char path[PATH_MAX + MAX_NAME + 16];
				snprintf(path, sizeof(path), "%s/%s_%u", t->dir, set->channel->name, k);
				if (set->files[k].fd >= 0)
					close(set->files[k].fd);
				int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
				int open_err = fd < 0 ? -errno : 0;
				if (fd < 0)
					reel_debug("%s: %s", path, strerror(errno));
				reel_stream_file_new_chunk(&set->files[k], fd);
				if (open_err) {
					/* Counted as lost until the next rotation. */
					set->files[k].failed = true;
					set->files[k].error = open_err;
				}
			}
		}
		metadata_update(s, t);
	}
	/* The new chunk's applications record their state first thing. */
	s->statedump_pending = true;
	uint64_t one = 1;
	if (reeld.chunk_event_fd >= 0 && write(reeld.chunk_event_fd, &one, sizeof(one)) < 0)
		reel_debug("session %s: cannot ask for a statedump", s->name);
	struct chunk *c = &s->chunks[s->nr_chunks++];
	memset(c, 0, sizeof(*c));
	c->path = strdup(to);
	c->index = s->chunk_index++;
	s->chunk_begin = end;
	s->chunk_begin_ns = monotonic_ns();
	c->hook_status = -2;
	c->publish_status = -2;
	if (c->path && s->compress == COMPRESS_ZSTD) {
		err = compress_start(c->path, s->wake_fd, &c->compress);
		if (err) {
			c->compress = NULL;
			set_text(s->error, sizeof(s->error), "cannot compress chunk %s: %s",
				 c->path, strerror(-err));
		} else {
			c->compress_started = monotonic_ns();
		}
	}
	if (incomplete) {
		set_text(s->rotate_message, sizeof(s->rotate_message),
			 "chunk %s is incomplete: packets or metadata could not be written: %s",
			 c->path ? c->path : to, strerror(-incomplete));
		set_text(s->error, sizeof(s->error), "%s", s->rotate_message);
	}
	if (!c->compress)
		announce_chunk(s, c);
	return incomplete;
}

/* Announce the chunks whose compression is over, in order (all of them,
 * waiting, with `wait`): their files are final. Lock held. */
static void finish_compressions(struct session *s, bool wait)
{
	for (;;) {
		struct chunk *c = NULL;
		for (size_t i = 0; i < s->nr_chunks && !c; i++)
			if (s->chunks[i].compress)
				c = &s->chunks[i];
		if (!c || (!wait && !compress_done(c->compress)))
			return;
		struct compress_result res;
		int err = compress_finish(c->compress, &res);
		c->compress = NULL;
		uint64_t ns = monotonic_ns() - c->compress_started;
		reel_debug("session %s: chunk %llu compressed: %llu -> %llu bytes in %llu ms",
			   s->name, (unsigned long long)c->index, (unsigned long long)res.bytes_in,
			   (unsigned long long)res.bytes_out, (unsigned long long)(ns / 1000000));
		if (err)
			set_text(s->error, sizeof(s->error),
				 "chunk %s is left uncompressed from %s on: %s", c->path, res.failed,
				 strerror(-err));
		announce_chunk(s, c);
	}
}

int consumer_rotate(struct session *s)
{
	if (!s->consumer_running)
		return -ENOTCONN;
	pthread_mutex_lock(&s->lock);
	uint64_t ticket = ++s->rotate_request;
	wake(s);
	while (s->rotate_done < ticket)
		pthread_cond_wait(&s->flushed, &s->lock);
	int err = s->rotate_error;
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void switch_channel(struct session *s, uint32_t index)
{
	for (size_t i = 0; i < s->nr_snapshot; i++) {
		struct trace *t = s->snapshot[i];
		if (index < t->nr_bufsets)
			for (uint32_t k = 0; k < t->bufsets[index]->nr_streams; k++)
				reel_rb_switch(t->bufsets[index]->streams[k]);
	}
}

static void *consumer_main(void *arg)
{
	struct session *s = arg;
	uint64_t next_switch[MAX_CHANNELS];
	uint64_t now = monotonic_ns(), rotations_seen = 0;
	uint64_t next_kernel_switch = now + KERNEL_SWITCH_NS;
	for (uint32_t i = 0; i < MAX_CHANNELS; i++)
		next_switch[i] = now;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->flush_request != s->flush_done) {
			final_flush(s);
			s->flush_done = s->flush_request;
			pthread_cond_broadcast(&s->flushed);
		}
		if (s->rotate_request != s->rotate_done) {
			s->rotate_error = rotate(s);
			s->rotate_done = s->rotate_request;
			pthread_cond_broadcast(&s->flushed);
		}
		if (s->snapshot_request != s->snapshot_done) {
			s->snapshot_error = record_snapshot(s);
			s->snapshot_done = s->snapshot_request;
			pthread_cond_broadcast(&s->flushed);
		}
		if (s->quit) {
			finish_compressions(s, true);
			break;
		}
		if (take_snapshot(s) < 0) {
			pthread_mutex_unlock(&s->lock);
			struct timespec pause = { 0, 10000000 };
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		bool active = s->active;
		pthread_mutex_unlock(&s->lock);

		for (size_t i = 0; i < s->nr_snapshot; i++) {
			struct trace *t = s->snapshot[i];
			/* An orphan is flushed: its process will write no more. */
			bool done = drain_trace(t, __atomic_load_n(&t->orphan, __ATOMIC_ACQUIRE));
			if (done && t->orphan)
				t->flushed = true;
		}
		/* The kernel's buffers; its packets close on the timer too. */
		now = monotonic_ns();
		bool kernel_busy = false;
		if (s->kernel) {
			bool close = active && now >= next_kernel_switch;
			if (close)
				next_kernel_switch = now + KERNEL_SWITCH_NS;
			kernel_busy = reel_ktrace_consume(s->kernel, close) >= KERNEL_BUSY_PAGES;
		}
		/* Quiet streams' packets close on their channel's timer. */
		uint64_t wake = kernel_busy ? now : now + IDLE_WAIT_MS * 1000000ull;
		if (s->kernel && active && !kernel_busy)
			wake = now + KERNEL_POLL_NS;
		for (uint32_t i = 0; i < s->nr_channels; i++) {
			uint64_t period = (uint64_t)s->channels[i]->config.switch_timer_us * 1000;
			if (!period || !active)
				continue;
			if (now >= next_switch[i]) {
				switch_channel(s, i);
				next_switch[i] = now + period;
			}
			if (next_switch[i] < wake)
				wake = next_switch[i];
		}

		pthread_mutex_lock(&s->lock);
		uint64_t total = 0;
		for (size_t i = 0; i < s->nr_snapshot; i++) {
			publish_stats(s->snapshot[i]);
			for (uint32_t k = 0; k < s->snapshot[i]->nr_bufsets; k++)
				total += s->snapshot[i]->bufsets[k]->stat_bytes;
		}
		for (uint32_t k = 0; k < s->nr_channels; k++)
			total += s->retired[k].bytes;
		if (s->kernel) {
			struct reel_ktrace_stats ks;
			reel_ktrace_stats(s->kernel, &ks);
			total += ks.bytes;
		}
		/* The write rate over the last second or so, for `status`. */
		if (!s->rate_at_ns || now - s->rate_at_ns >= 1000000000ull) {
			s->rate = s->rate_at_ns ? (double)(total - s->rate_bytes) * 1e9 /
							  (double)(now - s->rate_at_ns) :
						  0;
			s->rate_at_ns = now;
			s->rate_bytes = total;
		}
		check_stalls(s, now);
		retire_orphans(s, now);
		reap_hooks(s, now);
		finish_compressions(s, false);
		/* Scheduled rotations, while the session runs. The size counts
		 * from the last rotation, whoever asked for it. */
		if (rotations_seen != s->rotate_done) {
			rotations_seen = s->rotate_done;
			s->chunk_bytes_base = total;
		}
		if (s->rotate_request == s->rotate_done && s->active &&
		    ((s->rotate_size && total - s->chunk_bytes_base >= s->rotate_size) ||
		     (s->rotate_timer_us &&
		      now - s->chunk_begin_ns >= s->rotate_timer_us * 1000ull)))
			s->rotate_request++;
		if (s->flush_request != s->flush_done || s->rotate_request != s->rotate_done ||
		    s->snapshot_request != s->snapshot_done || s->quit)
			continue;
		pthread_mutex_unlock(&s->lock);
		struct pollfd p = { s->wake_fd, POLLIN, 0 };
		int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		if (poll(&p, 1, ms) > 0) {
			uint64_t count;
			if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				reel_debug("session %s: wake-up: %s", s->name, strerror(errno));
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}


int consumer_start(struct session *s)
{
	int err = -pthread_create(&s->consumer, NULL, consumer_main, s);
	if (err)
		return err;
	pthread_setname_np(s->consumer, "reeld-consumer");
	s->consumer_running = true;
	return 0;
}

void consumer_flush(struct session *s)
{
	if (!s->consumer_running)
		return;
	pthread_mutex_lock(&s->lock);
	uint64_t ticket = ++s->flush_request;
	wake(s);
	while (s->flush_done < ticket)
		pthread_cond_wait(&s->flushed, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

void consumer_join(struct session *s)
{
	if (!s->consumer_running)
		return;
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	wake(s);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->consumer, NULL);
	s->consumer_running = false;
}
