/* SPDX-License-Identifier: MIT */
/*
 * ktrace: the kernel trace of one session. Owns a private tracefs instance
 * (`instances/reel-<daemon pid>-<n>`), its per-CPU raw buffers, and the
 * CTF trace they become in `<output>/kernel/`: metadata, one stream per
 * CPU, the statedump. Root only.
 *
 * Threads: the daemon's main thread creates, enables and destroys; the
 * session's consumer thread consumes. A mutex inside guards what both
 * touch (the event classes, the files).
 */
#ifndef REEL_KERNEL_KTRACE_H
#define REEL_KERNEL_KTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ctf/metadata.h"

struct reel_ktrace;

struct reel_ktrace_config {
	uint32_t buffer_kb;   /* per-CPU kernel buffer; 0: 4096 */
	uint32_t packet_size; /* output packets; 0: 1 MiB */
	bool context_tid;     /* each event with the task's id (`add-context -k -t tid`) */
	bool snapshot;        /* flight recorder: the kernel overwrites its oldest events;
			       * nothing is read but by reel_ktrace_snapshot() */
};

/* The size of the packets of a flight-recorder kernel trace: what each of
 * its streams needs at least in a snapshot of limited size. */
#define REEL_KTRACE_SNAPSHOT_PACKET (64u * 1024)

/* Mount tracefs when it is missing, create the instance. `err` says what
 * is missing and how to fix it when it fails. */
int reel_ktrace_new(const struct reel_ktrace_config *config, struct reel_ktrace **ret,
		    char *err, size_t err_size);
void reel_ktrace_destroy(struct reel_ktrace *kt);

/* Enable the tracefs events whose name matches glob `pattern`
 * ("sched_switch", "block_rq_*", or "system:event" globs), or with
 * `syscall`, the entry and exit of the syscalls matching it ("openat",
 * "*"). Returns the number of events enabled, or a negative errno (-ENOENT:
 * none matches). */
int reel_ktrace_enable(struct reel_ktrace *kt, const char *pattern, bool syscall, char *err,
		       size_t err_size);
/* How many events `pattern` names (as reel_ktrace_enable() would), or
 * -ENOENT with `err` saying so: to refuse a list before enabling any. */
int reel_ktrace_check(struct reel_ktrace *kt, const char *pattern, bool syscall, char *err,
		      size_t err_size);

/* The opposite: events matching stop being recorded. */
int reel_ktrace_disable(struct reel_ktrace *kt, const char *pattern, bool syscall, char *err,
			size_t err_size);

/* The trace's description (env, clock, uuid; its stream fields are
 * ignored): for the metadata written from now on, and the metadata file
 * now open, rewritten. Before the first start, and again whenever the
 * clock is measured again. */
int reel_ktrace_set_metadata(struct reel_ktrace *kt, const struct reel_ctf_trace_desc *trace);

/* Add a context field to every event ("tid", the only one), before the
 * first start. Returns -EINVAL for another, -EBUSY once started. */
int reel_ktrace_add_context(struct reel_ktrace *kt, const char *type);

/* Start recording into `dir` (created). The statedump is written first. */
int reel_ktrace_start(struct reel_ktrace *kt, const char *dir, char *err, size_t err_size);
/* Stop the kernel recording (buffers are then consumed to the end by
 * reel_ktrace_consume(kt, true)). */
int reel_ktrace_stop(struct reel_ktrace *kt);
/* Record again after a stop, into the same files. */
int reel_ktrace_resume(struct reel_ktrace *kt);

/* Read what the kernel buffers hold and write it. `flush` also closes the
 * open packets (switch timer, stop, rotation). Returns the number of pages
 * read (more may wait when it is large), or a negative errno. Consumer
 * thread. */
int reel_ktrace_consume(struct reel_ktrace *kt, bool flush);

/* Flight recorder: write what the kernel's buffers hold now as a trace in
 * `dir` (metadata, a stream per CPU, the statedump first), while tracing
 * goes on; reading empties the buffers (the next snapshot has what came
 * after). With `budget` (bytes; UINT64_MAX: none), each CPU's stream keeps
 * its newest packets within it. */
int reel_ktrace_snapshot(struct reel_ktrace *kt, const char *dir, uint64_t budget);
/* The first error writing the current chunk (its files, its metadata: a
 * full disk), or 0. Packets that could not be written are cut off: the
 * files hold whole packets only. */
int reel_ktrace_chunk_error(struct reel_ktrace *kt);

/* The streams a snapshot writes (one per CPU). */
uint32_t reel_ktrace_nr_streams(const struct reel_ktrace *kt);

/* Rotation: everything so far is consumed and written, the files closed;
 * new files are opened in `dir`, with a statedump. The caller moves the
 * old directory in between: see reel_ktrace_close_chunk(). */
int reel_ktrace_close_chunk(struct reel_ktrace *kt);
int reel_ktrace_open_chunk(struct reel_ktrace *kt, const char *dir);

struct reel_ktrace_stats {
	uint64_t events, packets, bytes, discarded, lost_packets;
	uint32_t nr_events; /* event classes enabled */
};
void reel_ktrace_stats(struct reel_ktrace *kt, struct reel_ktrace_stats *ret);

/* Why syscall arguments are recorded as raw values (eBPF unavailable),
 * or NULL. */
const char *reel_ktrace_warning(const struct reel_ktrace *kt);

/* Remove instances left by dead daemons (reel-<pid>-*). */
void reel_ktrace_cleanup_stale(void);

/* `reel list -k`: every tracefs event ("system:event") and syscall,
 * through `cb`. */
int reel_ktrace_list(int (*cb)(void *arg, const char *system, const char *event), void *arg,
		     char *err, size_t err_size);

#endif
