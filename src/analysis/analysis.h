/* SPDX-License-Identifier: MIT */
/*
 * Reel's analyses (component-local API, used by `reel analyze` and the unit
 * tests): a kernel model of threads, their syscalls and the tasks CPUs run,
 * mapped chunk by chunk into partial results that a reduce merges in time
 * order. The model and its limits: doc/analysis.md.
 *
 * Owns src/analysis/; calls libreel-reader (include/reel/reader.h) and
 * src/common only.
 *
 * Threads: a partial and an an_names are used by one thread at a time,
 * except an_names_intern(), which is thread-safe (mappers of several chunks
 * share one table).
 */
#ifndef REEL_ANALYSIS_H
#define REEL_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Syscall names shared by every partial of one run: partials refer to a
 * name by its index. */
struct an_names;
struct an_names *an_names_new(void);
void an_names_destroy(struct an_names *n);
/* The index of `name` (len bytes), added if new; UINT32_MAX on ENOMEM. */
uint32_t an_names_intern(struct an_names *n, const char *name, size_t len);
const char *an_names_get(const struct an_names *n, uint32_t id);
uint32_t an_names_count(const struct an_names *n);

/* One event, as the model sees it (decoded from a reel_event by
 * an_ev_decode(), or made by a test). Strings need not be NUL-terminated. */
enum an_ev_kind {
	AN_EV_OTHER,
	AN_EV_SYS_ENTRY, /* name */
	AN_EV_SYS_EXIT,  /* ret */
	AN_EV_SWITCH,    /* a = next_tid, s1 = next_comm, b = prev_tid */
	AN_EV_FORK,      /* a = parent_pid, s1 = parent_comm, b = child_tid, c = child_pid, s2 = child_comm */
	AN_EV_EXEC,      /* a = tid */
	AN_EV_SD_PROC,   /* a = tid, b = pid, s1 = name */
	AN_EV_SD_FD,     /* a = pid, b = fd, s1 = filename, c = flags */
	AN_EV_WAKEUP,    /* sched_wakeup, sched_waking, sched_wakeup_new: a = tid */
	AN_EV_MARK,      /* a phase's begin and/or end (userspace): a = AN_MARK_*, tid = vtid,
			  * s1 = the --by field's value (begin) */
};
enum { AN_MARK_BEGIN = 1, AN_MARK_END = 2 };

/* What an I/O syscall does (an_io_kind()); its entry's fields in an_ev:
 * READ, WRITE, CLOSE: a = fd; OPEN: s1 = filename; DUP: a = oldfd;
 * DUP2: a = oldfd, b = newfd; FCNTL: a = fd, b = cmd; RW2 (sendfile64,
 * splice): a = the fd read, b = the fd written. */
enum an_io_kind {
	AN_IO_NONE,
	AN_IO_READ,
	AN_IO_WRITE,
	AN_IO_OPEN,
	AN_IO_CLOSE,
	AN_IO_DUP,
	AN_IO_DUP2,
	AN_IO_FCNTL,
	AN_IO_RW2,
};
/* The I/O kind of a syscall name (as after syscall_entry_). */
uint8_t an_io_kind(const char *name);

struct an_ev {
	uint8_t kind;
	int32_t cpu;
	int64_t ts;
	int64_t tid;         /* the `tid` context, or -1 */
	uint32_t name;       /* syscall name (an_names) */
	uint8_t io;          /* enum an_io_kind of the syscall (entry and exit) */
	int64_t ret;
	int64_t a, b, c;
	const char *s1, *s2;
	size_t l1, l2;
};

/* A partial result: the map of one chunk, or the reduce of consecutive ones. */
struct an_partial;

/* Flags of a map. */
enum {
	AN_CPU_ATTRIBUTION = 1 << 0, /* ignore the tid context: threads from sched_switch */
	AN_IO = 1 << 1,              /* keep the I/O log (an_report_io) */
	AN_CPU = 1 << 2,             /* CPU usage and wakeup latency (an_report_cpu) */
	AN_PHASES = 1 << 3,          /* with AN_IO: every syscall and the phase marks in the log
				      * (an_report_phases) */
};

/* The phases analysis's events (`reel analyze phases`), shared by every
 * partial of the run: the begin and end events (PROVIDER:EVENT, may be the
 * same: it ends the open phase and begins the next) and the begin event's
 * field naming the phase's group (NULL: one group). 0 or -ENOMEM. */
int an_names_set_phases(struct an_names *n, const char *begin, const char *end, const char *by);
const char *an_names_phase(const struct an_names *n, int which); /* 0 begin, 1 end, 2 by */

struct an_partial *an_partial_new(struct an_names *names, unsigned flags);
/* n chunks that could not be read, merged in their place so that the
 * chunk count goes on: an empty partial of n chunks. */
struct an_partial *an_partial_new_missing(struct an_names *names, unsigned flags, uint64_t n);
void an_partial_destroy(struct an_partial *p);

/* Map: apply one event (events in time order). Returns 0 or -ENOMEM. */
int an_partial_feed(struct an_partial *p, const struct an_ev *ev);
/* The chunk lost `count` events (discarded by the tracer): everything it
 * measured is marked uncertain at an_partial_end_chunk(). */
void an_partial_lost(struct an_partial *p, uint64_t count);
/* End of the chunk's events. Returns 0 or -ENOMEM. */
int an_partial_end_chunk(struct an_partial *p);

/* Reduce: a = a · b, where b's chunks follow a's; b is destroyed. Returns 0
 * or -ENOMEM (a is then unusable). Associative. */
int an_partial_merge(struct an_partial *a, struct an_partial *b);

/* Binary form (doc/analysis.md): write, and read back into a partial using
 * `names` (name indexes are remapped). Reading checks every size and index:
 * NULL with errno EINVAL for a malformed input. */
int an_partial_write(const struct an_partial *p, FILE *out);
struct an_partial *an_partial_read(struct an_names *names, FILE *in);

/* The syscalls report. json: one JSON object; else text as
 * lttng-syscallstats prints it. */
int an_report_syscalls(const struct an_partial *p, FILE *out, bool json);

/* The I/O report of a partial mapped with AN_IO: bytes read and written
 * per thread, process and file, and the `limit` slowest I/O syscalls with
 * their file (lttng-iousagetop, lttng-iolatencytop). json: one JSON
 * object. Returns 0, -ENOMEM or -EIO. */
int an_report_io(const struct an_partial *p, FILE *out, bool json, unsigned limit);

/* The history of fd `fd` of process `pid` (a thread group id) in a
 * partial mapped with AN_IO, from the I/O report's fd model: each interval
 * [opened or first known, closed or the trace's last event) with its file
 * and how it was opened (statedump, open/openat/creat, dup*, fcntl dup,
 * inherited at fork) and ended (close, replaced, the trace's end). With
 * at_mode AN_AT_ABS (at: ns since the epoch) or AN_AT_REL (at: ns since the
 * partial's first event), only the interval containing that time (an
 * interval open at the end contains every later time). json: one JSON
 * object. Returns 0, -ENOMEM or -EIO. */
enum { AN_AT_NONE, AN_AT_ABS, AN_AT_REL };
int an_report_fd(const struct an_partial *p, FILE *out, bool json, int64_t pid, int64_t fd, int at_mode,
		 int64_t at);

/* The CPU report of a partial mapped with AN_CPU: CPU time per thread,
 * process and CPU over the partial's time range (lttng-cputop), and the
 * wakeup latency per thread (min/avg/max/p99, `limit` rows per table).
 * json: one JSON object. Returns 0, -ENOMEM or -EIO. */
int an_report_cpu(const struct an_partial *p, FILE *out, bool json, unsigned limit);

/* The phases report of a partial mapped with AN_IO | AN_PHASES: per
 * group (the begin event's --by value), its phases (a thread's begin mark
 * to its next end mark), their total time, and per syscall the count,
 * total, min and max of the syscalls the phases' threads made inside them
 * (entry to exit). json: one JSON object. Returns 0, -ENOMEM or -EIO. */
int an_report_phases(const struct an_partial *p, FILE *out, bool json);

/* ---- SQLite output (`--sqlite FILE`, doc/analysis.md) -------------------- */

/* What the database's trace and chunk tables say of the run. */
struct an_sqlite_meta {
	const char *analysis; /* syscalls, io, cpu, fd, phases */
	const char *version;  /* Reel's */
	char *const *paths;   /* the TRACE arguments */
	size_t npaths;
	char *const *chunks; /* the chunks (directories) mapped */
	size_t nchunks;
};
struct an_sqlite;
/* Reserve FILE.tmp-XXXXXX beside `path` (before the analysis runs: an
 * unwritable place fails at once). NULL with a message in err. */
struct an_sqlite *an_sqlite_open(const char *path, char *err, size_t errlen);
/* Write the partial (its model as spans and its reports' tables, in one
 * transaction) to the temporary file and rename it to `path`. 0, or
 * -ENOMEM / -EIO with a message in err. */
int an_sqlite_write(struct an_sqlite *s, const struct an_partial *p, const struct an_sqlite_meta *m,
		    char *err, size_t errlen);
/* Close; removes the temporary file if an_sqlite_write() did not rename it. */
void an_sqlite_destroy(struct an_sqlite *s);

/* ---- the event source (libreel-reader) -------------------------------- */

/* Progress counters, updated by mapper threads (relaxed atomics). */
struct an_progress {
	uint64_t events;
	uint64_t chunks;
};

/* Map one chunk (a directory holding one trace, or several: every trace
 * under it is read, merged). *ret gets the partial. err: message on failure. */
int an_map_path(const char *path, struct an_names *names, unsigned flags,
		struct an_progress *prog, struct an_partial **ret, char *err, size_t errlen);

/* Test mode: read the traces under paths[] as one, cut into chunks of
 * `every` events each, map each alone and reduce them (as a balanced tree).
 * *ret gets the result. */
int an_map_cut(char *const *paths, size_t npaths, uint64_t every, struct an_names *names,
	       unsigned flags, struct an_progress *prog, struct an_partial **ret, char *err,
	       size_t errlen);

/* Map chunks[0..n) on `threads` threads and reduce in chunk order. */
int an_map_chunks(char *const *chunks, size_t n, unsigned threads, struct an_names *names,
		  unsigned flags, struct an_progress *prog, struct an_partial **ret, char *err,
		  size_t errlen);

/* Totals of a partial, for progress and output. */
uint64_t an_partial_events(const struct an_partial *p);
uint64_t an_partial_chunks(const struct an_partial *p);
uint64_t an_partial_lost_events(const struct an_partial *p);

/* ---- the ordered reducer (reducer.c) ----------------------------------- */

/* Partials tagged with their chunk index, put in any order: a partial
 * ahead of the first missing chunk is held, a duplicate (an index already
 * merged or held) destroyed, and the complete prefix merged in chunk order
 * as soon as it grows. The result equals an_map_chunks()' on the same
 * chunks. One thread at a time (the caller locks). */
struct an_reducer;
/* first: the index of the first chunk (the prefix starts there). */
struct an_reducer *an_reducer_new(uint64_t first);
void an_reducer_destroy(struct an_reducer *r);
enum {
	AN_REDUCER_HELD = 0,	  /* early: kept until the chunks before it are in */
	AN_REDUCER_ADVANCED = 1,  /* the prefix grew: an_reducer_result() changed */
	AN_REDUCER_DUPLICATE = 2, /* already merged or held: p destroyed */
};
/* Take p (always: destroyed on error) as chunk `index`. Returns an
 * AN_REDUCER_* or -ENOMEM (a merge failed: the reducer refuses every later
 * partial). */
int an_reducer_put(struct an_reducer *r, uint64_t index, struct an_partial *p);
/* The merge of the chunks [first, an_reducer_next()), NULL while none;
 * valid until the next an_reducer_put(). */
const struct an_partial *an_reducer_result(const struct an_reducer *r);
/* The result, taken: the reducer holds none after (its next chunks would
 * begin a new one). */
struct an_partial *an_reducer_take(struct an_reducer *r);
uint64_t an_reducer_next(const struct an_reducer *r);
size_t an_reducer_held(const struct an_reducer *r);

/* ---- Prometheus metrics (metrics.c, doc/metrics.md) ---------------------- */

struct an_metrics_info {
	uint64_t chunks_failed;	 /* chunks that could not be read */
	uint64_t chunks_waiting; /* mapped, held by the reducer */
	uint64_t chunks_pending; /* found, not merged yet: queued, mapping, held */
	int64_t updated_ns;	 /* when the result last grew (epoch ns), 0: unknown */
};
/* The text exposition format (0.0.4) of a reduced partial (NULL: no chunk
 * yet): the syscall metrics; with AN_IO the I/O bytes, with AN_CPU the
 * CPU time, with AN_PHASES the phases. Returns 0, -ENOMEM or -EIO. */
int an_metrics_write(const struct an_partial *p, FILE *out);
/* The follower's own families (info), written beside the result's: they
 * change while the result does not. Returns 0 or -EIO. */
int an_metrics_write_follower(FILE *out, const struct an_metrics_info *info);

#endif
