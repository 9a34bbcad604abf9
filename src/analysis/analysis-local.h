/* SPDX-License-Identifier: MIT */
/* The analyses' internals: partials and their tables (src/analysis only). */
#ifndef REEL_ANALYSIS_LOCAL_H
#define REEL_ANALYSIS_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "analysis/hist.h"

/* A table of fixed-size items keyed by 64-bit integers, items in insertion
 * order (an_tab_at(t, i), i < t->n). */
struct an_tab {
	uint64_t *keys;
	uint32_t *slot; /* open addressing: item index, UINT32_MAX empty */
	void *items;
	size_t size, cap;
	uint32_t n, icap;
};
int an_tab_init(struct an_tab *t, size_t size);
void an_tab_free(struct an_tab *t);
void *an_tab_find(const struct an_tab *t, uint64_t key);
/* Find or add (zeroed); NULL on ENOMEM. Pointers stay valid until the next
 * an_tab_get() on the table. */
void *an_tab_get(struct an_tab *t, uint64_t key, bool *ret_new);
static inline void *an_tab_at(const struct an_tab *t, uint32_t i)
{
	return (char *)t->items + (size_t)i * t->size;
}

#define AN_COMM 16 /* TASK_COMM_LEN */

/* A thread's attributes at some point (ts): known in the chunk (set at
 * pid_ts, comm_ts), or inherited. */
struct an_snap {
	bool valid, pid_known, comm_known;
	int64_t pid;
	char comm[AN_COMM];
	int64_t ts, pid_ts, comm_ts;
};

enum an_sys_state {
	AN_UNTOUCHED, /* no syscall event in the partial: state inherited */
	AN_NONE,      /* not in a syscall */
	AN_OPEN,      /* in a syscall (a soft end at the partial's end) */
};

struct an_thread {
	int64_t tid;
	/* attributes at the partial's end, when set in it (at pid_ts, comm_ts) */
	int64_t pid;
	char comm[AN_COMM];
	bool pid_set, comm_set;
	int64_t pid_ts, comm_ts;
	/* the thread in the statedump of the partial's first chunk that has it:
	 * stamped at the chunk's start, while the previous chunk's last events
	 * may be later (the reduce orders them by time) */
	bool sd_valid;
	int64_t sd_ts, sd_pid;
	char sd_comm[AN_COMM];
	/* syscall span */
	uint8_t state;
	bool has_head;     /* first syscall event an exit: a soft begin */
	bool emitted;      /* a syscall counted for this thread */
	bool uncertain;    /* lost events, or an inconsistent trace */
	bool chunk_touched;
	uint32_t open_name;
	int64_t open_ts;
	int64_t head_ts, head_ret;
	int64_t first_ts;  /* first syscall event (or fork) */
	struct an_snap head_snap;  /* attributes at the soft begin's exit */
	struct an_snap first_emit; /* attributes at the first counted syscall */
};

struct an_err {
	int64_t ret;
	uint64_t count;
};

struct an_stat {
	int64_t tid;
	uint32_t name;
	uint32_t nerrs;
	uint64_t count, errors;
	int64_t min, max;
	int64_t sum;
	/* sum of the squared durations (ns^2), for the stdev: exact, merges in
	 * any order; AN_SUMSQ_OVERFLOW once it no longer fits */
	unsigned __int128 sumsq;
	struct an_err *errs;
	struct an_hist hist;
};

#define AN_SUMSQ_OVERFLOW (~(unsigned __int128)0)

/* sumsq += v, saturating at AN_SUMSQ_OVERFLOW. */
static inline void an_sumsq_add(unsigned __int128 *sumsq, unsigned __int128 v)
{
	if (__builtin_add_overflow(*sumsq, v, sumsq))
		*sumsq = AN_SUMSQ_OVERFLOW;
}

/* The sample standard deviation of a stat's durations, in ns, as
 * lttng-syscallstats computes it (Python's statistics.stdev: the square
 * root of sum((x - mean)^2) / (count - 1), the exact rational correctly
 * rounded to a double). 0, or -EDOM where lttng-syscallstats prints '?'
 * (count <= 2), or the sums overflowed. */
int an_stat_stdev(const struct an_stat *s, double *ret_stdev);

static inline uint64_t an_stat_key(int64_t tid, uint32_t name)
{
	return ((uint64_t)(uint32_t)tid << 32) | name;
}

/* A syscall event of a CPU before its first switch in the chunk. */
struct an_pev {
	uint8_t kind;
	uint32_t name;
	int64_t ts, ret;
};

struct an_cpu {
	int64_t cpu;
	bool known;         /* a switch seen: cur is the CPU's task */
	bool pre_uncertain;
	int64_t cur;
	struct an_pev *pre; /* before the first switch: owner unknown */
	uint32_t npre, pcap;
};

/* The I/O log (io.c): the I/O-relevant events of the partial's chunks, in
 * time order, with their thread where the chunk knew it (tid -1: the task
 * of `cpu` at the previous chunk's end, given by a CPU record). */
enum an_iorec_type {
	AN_IOR_ENTRY = 1, /* io, name, a, b, str (filename) */
	AN_IOR_EXIT,      /* io, name, a = ret */
	AN_IOR_FORK,      /* a = parent_pid, b = child_tid, c = child_pid */
	AN_IOR_SDPROC,    /* a = tid, b = pid */
	AN_IOR_SDFD,      /* a = pid, b = fd, str = filename */
	AN_IOR_CPU,       /* cpu ran tid at the chunk's end */
	AN_IOR_MARK,      /* AN_PHASES: a phase mark: a = AN_MARK_*, tid = vtid, str = group */
};

struct an_iorec {
	uint8_t type, io;
	int32_t cpu;
	uint32_t name;
	uint32_t str; /* offset in the pool, UINT32_MAX: none */
	int64_t ts, tid, a, b, c;
};

struct an_iolog {
	struct an_iorec *v;
	uint32_t n, cap;
	char *pool; /* NUL-terminated strings */
	size_t plen, pcap;
};

int an_io_feed(struct an_partial *p, const struct an_ev *ev);

/* The I/O log replayed through the I/O report's fd model (io.c), for the
 * outputs beside the reports (sqlite.c). A syscall of the log: */
struct an_io_sys {
	uint32_t name; /* an_names */
	uint8_t io;    /* enum an_io_kind as the model used it; AN_IO_NONE for a
			* syscall that is not I/O (phases' log), or an fcntl not F_DUPFD */
	int64_t tid, pid;
	int64_t entry_ts, exit_ts; /* -1: not in the trace */
	int64_t ret;		   /* with an exit */
	int64_t fd;	  /* the fd used (open, dup: the one returned), -1: none or unknown */
	const char *file; /* the file the fd named then, NULL: unknown */
	int64_t bytes;	  /* counted by the I/O report, -1: none */
};
/* An fd interval, as `reel analyze fd` prints it: how = statedump, open,
 * dup, fork; end_how = close, replaced, trace_end (end -1). tid, from
 * (dup: the old fd, fork: the parent pid), end_tid: -1 where none;
 * syscall, end_syscall: NULL where none. */
struct an_io_fd {
	int64_t pid, fd, begin, end;
	const char *file, *how, *syscall, *end_how, *end_syscall;
	int64_t tid, from, end_tid;
};
/* Callbacks (non-zero return: stop, returned): every syscall of the log,
 * then the report's rows (per thread, per process, per (file, process):
 * bytes read and written; comm "?" where unknown), then every fd interval
 * of every process. */
struct an_io_sink {
	void *ctx;
	int (*syscall)(void *ctx, const struct an_io_sys *s);
	int (*thread)(void *ctx, int64_t tid, int64_t pid, const char *comm, uint64_t rd,
		      uint64_t wr);
	int (*process)(void *ctx, int64_t pid, const char *comm, uint64_t rd, uint64_t wr);
	int (*file)(void *ctx, const char *file, int64_t pid, uint64_t rd, uint64_t wr);
	int (*fd)(void *ctx, const struct an_io_fd *f);
};
int an_io_export(const struct an_partial *p, const struct an_io_sink *sink);
int an_io_end_chunk(struct an_partial *p);
int an_io_append(struct an_partial *a, const struct an_partial *b);
void an_io_free(struct an_iolog *l);

/* CPU time and wakeups of a thread (cpu.c), as a function of the state
 * the partial inherits: a soft begin (its first sched_switch event is a
 * switch-out: it ran since before the partial), a soft end (running at
 * the end), and the wakeups before its first switch-in (their first
 * accepted one gives the latency at that switch-in, resolved in the
 * reduce or, for the first chunk, in the report). */
struct an_cput {
	int64_t tid;
	bool seen;       /* a sched_switch of the thread (in or out) */
	bool head_out;   /* its first one is a switch-out, at head_ts */
	bool running;    /* switched in at in_ts, not out since */
	bool has_head_w; /* first wakeup before any switch event: head_w */
	bool has_mid_w;  /* first wakeup after switch-outs, before a switch-in */
	bool has_first_in, has_end_w;
	int64_t head_ts, in_ts, run_ns;
	int64_t head_w, mid_w, first_in, end_w;
	/* wakeup latencies counted in the partial */
	uint64_t wcount;
	int64_t wmin, wmax, wsum;
	struct an_hist wh;
};

/* Busy (non-idle) time of a CPU: its first sched_switch in the partial at
 * head_ts (busy before it when its prev_tid is not 0), busy since start
 * at the end when its task is not the idle task. */
struct an_cpuu {
	int64_t cpu;
	bool seen, head_busy, busy;
	int64_t head_ts, start, busy_ns;
};

int an_cpu_feed(struct an_partial *p, const struct an_ev *ev);
int an_cpu_merge(struct an_partial *a, const struct an_partial *b);
void an_cpu_free(struct an_partial *p);
int an_cput_sample(struct an_cput *t, int64_t lat);

/* The CPU report's rows (cpu.c): threads that ran or waited (th, n),
 * processes (pr), threads with wakeup latencies (wk), CPUs (cp; tid is
 * the CPU, ns its busy time), each sorted as printed; over dur ns, total
 * the CPUs' average usage in %. comm "?" where unknown. */
struct an_cpu_row {
	int64_t tid, pid;
	const char *comm;
	int64_t ns;
	/* wakeup latency */
	uint64_t wcount;
	int64_t wmin, wmax, wsum;
	uint64_t p99;
};
struct an_cpu_rows {
	struct an_cpu_row *th, *pr, *wk, *cp;
	size_t n, npr, nwk, nc;
	int64_t dur;
	double total;
};
int an_cpu_rows(const struct an_partial *p, struct an_cpu_rows *ret);
void an_cpu_rows_free(struct an_cpu_rows *t);
double an_cpu_pct(int64_t ns, int64_t dur); /* ns over dur in %, 0 for no duration */

struct an_partial {
	struct an_names *names;
	unsigned flags;
	uint64_t events, chunks, lost, chunk_lost;
	bool has_range;
	int64_t first_ts, last_ts;
	struct an_tab threads; /* tid -> an_thread */
	struct an_tab cpus;    /* cpu -> an_cpu */
	struct an_tab stats;   /* (tid, name) -> an_stat */
	struct an_iolog io;    /* with AN_IO */
	struct an_tab cput;    /* with AN_CPU: tid -> an_cput */
	struct an_tab cpuu;    /* with AN_CPU: cpu -> an_cpuu */
};

int an_partial_merge_into(struct an_partial *a, const struct an_partial *b);

/* A syscall's return value as the reports name it: the errno's name
 * (ENOENT) for -1..-4095, else the number (in buf). */
const char *an_errno_name(int64_t ret, char *buf, size_t len);

/* The length of the whole UTF-8 sequence at s (2 to 4 bytes: no overlong
 * form, no surrogate), 0 when s does not start one. */
size_t an_utf8_len(const unsigned char *s);
/* s as a JSON string: " and \ escaped, control characters as \uXXXX,
 * UTF-8 as it is, bytes that are not UTF-8 as U+FFFD (names and paths from
 * the trace are bytes). */
void an_json_str(FILE *f, const char *s);

/* The phases report's numbers (phases.c): per group (index in groups,
 * the begin marks' --by values), its phases, those open at the end, their
 * total time, and per syscall count, total, min, max (sorted as printed).
 * The sink, if any, gets each phase: a thread's begin mark to its end mark
 * (end -1: open at the trace's end; non-zero return: stop, returned). */
struct an_phase_sys {
	uint32_t name;
	uint64_t count;
	int64_t sum, min, max;
};
struct an_phase_list {
	struct an_phase_sys *v;
	uint32_t n, cap;
};
struct an_phase_group {
	uint64_t phases, open;
	int64_t time;
	struct an_phase_list sys;
};
struct an_phases {
	struct an_phase_group *g;
	uint32_t n;
	struct an_names *groups;
};
struct an_phase_sink {
	void *ctx;
	int (*phase)(void *ctx, int64_t tid, const char *group, int64_t begin, int64_t end);
};
int an_phases_run(const struct an_partial *p, const struct an_phase_sink *sink,
		  struct an_phases *ret);
void an_phases_free(struct an_phases *ph);

/* Visitors for the metrics (metrics.c), from the reports' own models: they
 * stop at the first callback returning non-zero and return it (or
 * -ENOMEM). */
/* Bytes read and written per file (NULL: not known) and process, from the
 * fd model's replay (with AN_IO). */
typedef int (*an_io_file_fn)(void *arg, const char *file, int64_t pid, const char *comm,
			     uint64_t rd, uint64_t wr);
int an_io_visit_files(const struct an_partial *p, an_io_file_fn fn, void *arg);
/* CPU time per thread (with AN_CPU), ns > 0 only. */
typedef int (*an_cpu_thread_fn)(void *arg, int64_t tid, int64_t pid, int64_t ns);
int an_cpu_visit_threads(const struct an_partial *p, an_cpu_thread_fn fn, void *arg);
/* Per phase group (with AN_PHASES): its phases and their time, then the
 * syscalls made inside them (count, total ns), in the report's order. */
typedef int (*an_phase_group_fn)(void *arg, const char *group, uint64_t phases, int64_t time_ns);
typedef int (*an_phase_sys_fn)(void *arg, const char *group, const char *syscall, uint64_t count,
			       int64_t sum_ns);
int an_phases_visit(const struct an_partial *p, an_phase_group_fn gfn, an_phase_sys_fn sfn,
		    void *arg);

#endif
