/* SPDX-License-Identifier: MIT */
/*
 * libreel-ctl: control Reel's session daemon (reeld) from a program. The
 * `reel` command line is built on it.
 *
 *   struct reel_ctl *ctl;
 *   reel_ctl_connect(NULL, REEL_CTL_SPAWN, &ctl);
 *   struct reel_session_config s = { .struct_size = sizeof(s), .name = "demo" };
 *   reel_ctl_create_session(ctl, &s, NULL, NULL);
 *   struct reel_event_rule r = { .struct_size = sizeof(r), .session = "demo",
 *                                .pattern = "myapp:*" };
 *   reel_ctl_enable_event(ctl, &r);
 *   reel_ctl_start(ctl, "demo");
 *   ...
 *   reel_ctl_stop(ctl, "demo");
 *   reel_ctl_destroy(ctl, "demo");
 *   reel_ctl_close(ctl);
 *
 * Conventions: functions return 0 or a negative errno; when the daemon
 * refused a request (-EINVAL, -ENOENT, -EEXIST, ...), reel_ctl_last_error()
 * says why in words. Out-parameters come last and are written only on
 * success; what they return is freed with the matching *_free(), which
 * accepts NULL. A
 * connection is used by one thread at a time. Structures passed in carry
 * their size (struct_size) so that the library can grow them.
 *
 * A session's name may be NULL in every call that takes one: the daemon
 * then uses the client's current session (the last one it created or named
 * with reel_ctl_set_session()), as `lttng` does.
 */
#ifndef REEL_CTL_H
#define REEL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REEL_CTL_API __attribute__((visibility("default")))

struct reel_ctl;

/* reel_ctl_connect() flags. */
#define REEL_CTL_SPAWN 0x1u /* start a daemon (reeld --daemonize) when none runs */

/*
 * The daemon's run directory (sockets): $REEL_RUNDIR when set, otherwise
 * /run/reel for root and $HOME/.reel/run for other users. Writes it into
 * `buf` (`size` bytes). Returns 0 or -ENAMETOOLONG.
 */
REEL_CTL_API int reel_ctl_rundir(char *buf, size_t size);

/* Connect to the daemon of `rundir` (NULL: reel_ctl_rundir()). Returns
 * -ECONNREFUSED or -ENOENT when no daemon runs. With REEL_CTL_SPAWN, one
 * is started first: $REEL_SESSIOND_PATH, or `reeld` from $PATH (-ECHILD:
 * it started but failed). */
REEL_CTL_API int reel_ctl_connect(const char *rundir, unsigned int flags, struct reel_ctl **ret);
/* Close the connection; accepts NULL. */
REEL_CTL_API void reel_ctl_close(struct reel_ctl *ctl);
/* Why the daemon refused the last request, or "" (valid until the next call). */
REEL_CTL_API const char *reel_ctl_last_error(const struct reel_ctl *ctl);
/* A remark on the last request, which succeeded (e.g. syscall arguments
 * recorded as raw values: eBPF unavailable), or NULL. */
REEL_CTL_API const char *reel_ctl_last_warning(const struct reel_ctl *ctl);

/* ---- sessions ---------------------------------------------------------- */

struct reel_session_config {
	size_t struct_size;
	const char *name;   /* NULL: "auto-<date>-<time>" */
	const char *output; /* trace directory; NULL: $HOME/reel-traces/<name>-<date>-<time> */
	bool snapshot;      /* flight recorder: overwrite-mode buffers, written only
			     * by reel_ctl_snapshot_record() */
};

/* Create a session (it becomes the current one). The name and output the
 * daemon chose are returned in `*ret_name` and `*ret_output` (free() them)
 * unless those are NULL. */
REEL_CTL_API int reel_ctl_create_session(struct reel_ctl *ctl, const struct reel_session_config *config,
					 char **ret_name, char **ret_output);
/* Make `name` the current session of this client's user. */
REEL_CTL_API int reel_ctl_set_session(struct reel_ctl *ctl, const char *name);
REEL_CTL_API int reel_ctl_start(struct reel_ctl *ctl, const char *session);
/* Stop: every event committed so far is on disk when this returns. */
REEL_CTL_API int reel_ctl_stop(struct reel_ctl *ctl, const char *session);
/* Stop if needed, then forget the session. The trace stays on disk. */
REEL_CTL_API int reel_ctl_destroy(struct reel_ctl *ctl, const char *session);

/* ---- channels and events ------------------------------------------------ */

/* Where events come from. */
enum reel_domain {
	REEL_DOMAIN_UST = 0,    /* applications instrumented with <reel/tracepoint.h> */
	REEL_DOMAIN_KERNEL = 1, /* the kernel, through tracefs and eBPF (root only) */
};

enum reel_buffers {
	REEL_BUFFERS_UID = 0, /* one set of buffers per user (the default) */
	REEL_BUFFERS_PID = 1, /* one set per process */
};

struct reel_channel_config {
	size_t struct_size;
	const char *session;
	const char *name;     /* NULL: "channel0" */
	uint32_t subbuf_size; /* bytes, a power of two >= 4096; 0: 512 KiB */
	uint32_t num_subbuf;  /* a power of two >= 2; 0: 4 */
	bool overwrite;       /* flight-recorder mode: overwrite the oldest */
	uint32_t buffers;     /* enum reel_buffers */
	uint32_t switch_timer_us; /* 0: never; packets close when full or at stop */
	/* Since 0.2. REEL_DOMAIN_KERNEL: the kernel buffers' size per CPU
	 * (subbuf_size * num_subbuf; default 4 x 1 MiB), before the first
	 * kernel event; the other settings do not apply. */
	uint32_t domain;
};

/* Create a channel (before the session starts). */
REEL_CTL_API int reel_ctl_enable_channel(struct reel_ctl *ctl, const struct reel_channel_config *config);

/* Log-level comparison of an event rule, as lttng's --loglevel and
 * --loglevel-only. */
enum reel_loglevel_match {
	REEL_LOGLEVEL_ALL = 0,   /* any */
	REEL_LOGLEVEL_RANGE = 1, /* as severe as `loglevel` or more (<= in number) */
	REEL_LOGLEVEL_SINGLE = 2, /* exactly `loglevel` */
};

struct reel_event_rule {
	size_t struct_size;
	const char *session;
	const char *channel; /* NULL: "channel0", created when missing */
	const char *pattern; /* "provider:event", globs allowed; "*" for all */
	uint32_t loglevel_match; /* enum reel_loglevel_match */
	int32_t loglevel;
	/* Patterns (globs) of events the rule leaves out, as lttng's -x. */
	const char *const *excludes;
	size_t nr_excludes;
	/* Since 0.2. REEL_DOMAIN_KERNEL: `pattern` is a list of tracefs
	 * event globs ("sched_switch,block_rq_*", "-a" for all), or with
	 * `syscall`, of syscall names; loglevels and excludes do not apply. */
	uint32_t domain;
	bool syscall;
};

/* Enable the events matching a rule, in every traced application, now and
 * in applications that register later. */
REEL_CTL_API int reel_ctl_enable_event(struct reel_ctl *ctl, const struct reel_event_rule *rule);
/* Stop recording the events of `pattern` in a channel: the rules enabled
 * with exactly this pattern are removed; if there are none, the events
 * matching it are left out of every rule of the channel (`reel
 * disable-event -u 'myapp:noisy*'` after `enable-event -u 'myapp:*'`),
 * until an enable-event names the same pattern. "*" removes every rule and
 * exclusion of the channel. Returns once running applications applied it. */
REEL_CTL_API int reel_ctl_disable_event(struct reel_ctl *ctl, const char *session,
					const char *channel, const char *pattern);

/* Stop recording the kernel events (or syscalls) matching `pattern`. */
REEL_CTL_API int reel_ctl_disable_kernel_event(struct reel_ctl *ctl, const char *session,
					       const char *pattern, bool syscall);

/* Record context field `type` ("vpid", "vtid", "procname", "pthread_id",
 * "cpu_id") with every event of `channel` (NULL: every channel of the
 * session; the default one is created if there is none), before the
 * session first starts. */
REEL_CTL_API int reel_ctl_add_context(struct reel_ctl *ctl, const char *session,
				      const char *channel, const char *type);

/* Record context field `type` with every kernel event: "tid" (the task's
 * id, LTTng's kernel `tid` context), before the session first starts. */
REEL_CTL_API int reel_ctl_add_kernel_context(struct reel_ctl *ctl, const char *session,
					     const char *type);

/* ---- rotation ------------------------------------------------------------- */

/* Archive the session's current chunk now: once this returns, the chunk is
 * a complete trace in `<output>/archives/<begin>-<end>-<index>/`, whose
 * path `*ret_path` gets (free() it; NULL: not wanted). The session goes on
 * tracing into the next chunk. */
REEL_CTL_API int reel_ctl_rotate(struct reel_ctl *ctl, const char *session, char **ret_path);

/* Rotate every `timer_us` microseconds and/or whenever `size` bytes were
 * written (0: unchanged; at least one must be given), and run `hook` (a
 * shell command; NULL: unchanged) with each archived chunk's path as $1. */
REEL_CTL_API int reel_ctl_enable_rotation(struct reel_ctl *ctl, const char *session,
					  uint64_t timer_us, uint64_t size, const char *hook);
/* Retention of archived chunks: keep at most `max_chunks` of them and/or
 * `max_bytes` of them (0: unchanged), the oldest deleted first, never the
 * newest nor one whose hook still runs. */
REEL_CTL_API int reel_ctl_set_retention(struct reel_ctl *ctl, const char *session,
					uint64_t max_chunks, uint64_t max_bytes);

/* Compress each archived chunk with `method` ("zstd", or "none": the
 * default). A zstd chunk's files become <file>.zst, written in the
 * background while tracing goes on; the chunk is announced (wait, list,
 * hook, retention, reel_ctl_rotate()'s return) once they are all written.
 * Readers: libreel-reader reads them as they are; `zstd -d` restores them. */
REEL_CTL_API int reel_ctl_set_compression(struct reel_ctl *ctl, const char *session,
					  const char *method);

/* Announce each archived chunk to the NATS JetStream broker at `url`
 * (nats://HOST:PORT) at once, beside the hook: its path on the chunks
 * stream (doc/dist.md), for `reel analyze --engine URL --session NAME` and
 * followers that choose the analyses. A broker that is down never stops
 * tracing: the chunks wait (list-rotations says so) and go when it is
 * back; "" stops announcing. */
REEL_CTL_API int reel_ctl_set_publish(struct reel_ctl *ctl, const char *session, const char *url);

/* No more scheduled rotations (reel_ctl_rotate() still works). */
REEL_CTL_API int reel_ctl_disable_rotation(struct reel_ctl *ctl, const char *session);

struct reel_chunk_info {
	char *path;
	uint64_t index;
	int32_t hook_status; /* exit status; -1 running, -2 no hook, -3 killed (hung) */
};

struct reel_rotation_list {
	uint64_t timer_us, size; /* the schedule, 0: none */
	uint64_t keep_chunks, keep_bytes; /* the retention, 0: everything */
	char *hook;
	struct reel_chunk_info *chunks;
	size_t nr_chunks;
	char *compress; /* "zstd", "none"; NULL from a daemon that does not say */
	/* reel_ctl_set_publish(): the broker (NULL: none), why the last
	 * announcement failed (NULL: it did not), and per chunk (as chunks[])
	 * 0 announced, -1 waiting for the broker, -2 not announced (the
	 * chunk came before --publish) */
	char *publish;
	char *publish_error;
	int32_t *publish_status;
};

/* Wait for chunk `index` of the session (REEL_CTL_NEXT_CHUNK: the next one
 * to be archived) for `timeout_ms` at most (0: an hour), and return its
 * path and index in `*ret` (free ret->path). A chunk archived already
 * returns at once. -ETIMEDOUT when none came in time. This is the
 * notification of rotations for programs: the daemon answers as soon as
 * the chunk is archived. */
#define REEL_CTL_NEXT_CHUNK UINT64_MAX
REEL_CTL_API int reel_ctl_wait_rotation(struct reel_ctl *ctl, const char *session, uint64_t index,
					uint32_t timeout_ms, struct reel_chunk_info *ret);

/* The session's archived chunks, oldest first, and its schedule. */
REEL_CTL_API int reel_ctl_list_rotations(struct reel_ctl *ctl, const char *session,
					 struct reel_rotation_list **ret);
REEL_CTL_API void reel_rotation_list_free(struct reel_rotation_list *list);

/* ---- snapshots ------------------------------------------------------------ */

/* Record what a snapshot session's buffers hold now, while it goes on
 * tracing, as a complete trace in `dir` (NULL: the session's output), in
 * `snapshot-<n>-<date>-<time>-<index>/`, whose path `*ret_path` gets
 * (free() it; NULL: not wanted). */
REEL_CTL_API int reel_ctl_snapshot_record(struct reel_ctl *ctl, const char *session,
					  const char *dir, char **ret_path);
/* The same, keeping at most `max_size` bytes of packets in all (0: no
 * limit): each stream gets an equal share, filled with its newest packets.
 * -EINVAL when a share cannot hold one sub-buffer of every stream (the
 * error text says how much is needed). */
REEL_CTL_API int reel_ctl_snapshot_record_max(struct reel_ctl *ctl, const char *session,
					      const char *dir, uint64_t max_size,
					      char **ret_path);

/* ---- what the daemon knows ---------------------------------------------- */

struct reel_channel_status {
	char *name;
	uint32_t subbuf_size;
	uint32_t num_subbuf;
	bool overwrite;
	uint32_t buffers; /* enum reel_buffers */
	uint32_t switch_timer_us;
	uint64_t packets_written;
	uint64_t bytes_written;
	uint64_t events_discarded; /* lost: buffers full (discard mode), or a
				    * sub-buffer still being written (overwrite) */
	uint64_t packets_lost;     /* overwritten before they were read (overwrite
				    * mode), or not written (disk full) */
	double bytes_per_second;   /* write rate over the last second or so */
	char **rules;              /* enabled patterns (with loglevel suffix) */
	size_t nr_rules;
	char **contexts;           /* context fields recorded ("vpid", ...) */
	size_t nr_contexts;
	uint32_t domain;           /* enum reel_domain (since 0.2) */
};

struct reel_session_status {
	char *name;
	char *output;
	bool active;
	uint32_t nr_apps; /* applications tracing into it now */
	char *error;      /* the last thing that went wrong, or NULL */
	struct reel_channel_status *channels;
	size_t nr_channels;
};

struct reel_session_list {
	struct reel_session_status *sessions;
	size_t nr_sessions;
	char *current; /* the current session, or NULL */
};

/* Every session of the client's user (root sees all), with its channels. */
REEL_CTL_API int reel_ctl_list_sessions(struct reel_ctl *ctl, struct reel_session_list **ret);
REEL_CTL_API void reel_session_list_free(struct reel_session_list *list);

struct reel_app_event {
	char *name; /* provider:event */
	int32_t loglevel;
};

struct reel_app_info {
	int32_t pid;
	uint32_t uid;
	char *procname;
	struct reel_app_event *events;
	size_t nr_events;
};

struct reel_app_list {
	struct reel_app_info *apps;
	size_t nr_apps;
};

/* The applications registered with the daemon (the client's own user's;
 * root sees all) and the events they define. */
REEL_CTL_API int reel_ctl_list_apps(struct reel_ctl *ctl, struct reel_app_list **ret);
REEL_CTL_API void reel_app_list_free(struct reel_app_list *list);

#ifdef __cplusplus
}
#endif

#endif /* REEL_CTL_H */
