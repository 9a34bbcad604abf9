/* SPDX-License-Identifier: MIT */
/* Shared by the files of reeld; nothing outside src/sessiond uses it.
 *
 * Threads: the main thread owns every structure here and serves the
 * sockets; each started session has a consumer thread that reads its
 * traces' buffers and writes files. A session's `lock` guards what both
 * touch: its traces, their buffer sets and event classes. */
#ifndef REEL_SESSIOND_H
#define REEL_SESSIOND_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <reel/abi.h>
#include <reel/ctl.h>

#include "../common/clock.h"
#include "../common/msg.h"
#include "../common/strbuf.h"
#include "../kernel/ktrace.h"
#include "../ringbuf/drain.h"
#include "../ringbuf/ringbuf.h"
#include "compress.h"

#define MAX_CHANNELS 64u
#define MAX_NAME 256u

/* An event as an application described it. */
struct app_event {
	struct reel_event_desc desc; /* owns provider, name, fields, enums */
	char *full_name;             /* provider:event */
	char *signature;             /* the layout, for matching across apps */
	size_t signature_len;
	/* The targets last sent for it (channel key, id, context). */
	uint64_t *sent;
	uint32_t nr_sent;
};

struct app {
	int sock;
	pid_t pid;
	uid_t uid;
	char procname[17];
	bool hello;
	struct app_event **events; /* by the app's id; NULL where unknown */
	uint32_t nr_events;
	uint64_t *mapped; /* keys of the buffer sets it was given */
	uint32_t nr_mapped;
	uint64_t next_seq;    /* of the enablement messages sent to it */
	uint64_t pending_ack; /* the one enablement_update() waits for */
	struct reel_msg_inbuf in; /* bytes received, not yet a whole message */
	/* Messages received while waiting for an acknowledgement, handled
	 * by the main loop afterwards. */
	struct reel_msg *stash;
	size_t nr_stash;
	bool dead; /* its socket failed: forgotten by the main loop */
	bool said_bye; /* exited normally: no reservation left open */
	bool statedumped; /* asked for its statedump once registered */
	struct app *next;
};

struct rule {
	char *pattern;
	uint32_t loglevel_match;
	int32_t loglevel;
	char **excludes; /* patterns this rule leaves out */
	size_t nr_excludes;
};

struct channel {
	char name[MAX_NAME];
	uint32_t index;    /* its stream class id */
	uint32_t contexts; /* REEL_CONTEXT_* */
	struct reel_channel_config config;
	struct rule *rules;
	size_t nr_rules;
	/* Patterns disabled without a rule of their own: left out of all. */
	char **disabled;
	size_t nr_disabled;
};

/* An event class of one channel of one trace. */
struct event_class {
	const char *full_name;
	char *signature;
	size_t signature_len;
	uint32_t id;
	bool written;      /* in the metadata file */
	char *declaration; /* its TSDL */
	/* Its layout (kinds and sizes only), to walk a packet to repair. */
	struct reel_field_desc *layout;
	size_t nr_fields;
};

/* One channel's buffers in one trace: a ring buffer per CPU, the files
 * they go to. */
struct bufset {
	uint64_t key; /* unique in the daemon: how applications name it */
	struct channel *channel;
	struct reel_rb **streams; /* their memfds are what applications map */
	struct reel_stream_file *files;
	uint32_t nr_streams;
	char *copy_buf;
	struct event_class *classes;
	uint32_t nr_classes;
	/* Per stream: since when its oldest sub-buffer is stalled, and where. */
	uint64_t *stall_since, *stall_at;
	/* Written out so far, published by the consumer under the lock. */
	uint64_t stat_packets, stat_bytes, stat_lost_packets;
};

/* One CTF trace of a session: per user (ust/uid/<uid>/64-bit) or per
 * process (ust/pid/<procname>-<pid>-<date>). */
struct trace {
	uint64_t owner; /* uid or pid */
	bool per_pid;
	char procname[17];
	char dir[PATH_MAX];
	char datetime[32];
	uint8_t uuid[16];
	struct reel_clock_sample clock_start;
	struct bufset *bufsets[MAX_CHANNELS];
	uint32_t nr_bufsets;
	int metadata_fd;
	bool metadata_dirty;
	bool orphan; /* per-process trace whose process left: flush, close */
	uint64_t orphan_since;
	bool flushed; /* orphan written out (consumer only) */
	bool suspect; /* an application killed while writing into it */
	bool no_files; /* a flight recorder's: written by snapshots only */
	struct trace *next;
};

struct session {
	char name[MAX_NAME];
	char output[PATH_MAX];
	uid_t uid;
	bool active;
	bool started_once;
	bool snapshot_mode; /* flight recorder: buffers written only on request */
	uint64_t snapshot_index;
	uint64_t snapshot_request, snapshot_done;
	int snapshot_error;
	char snapshot_dir[PATH_MAX];  /* where the next one goes ("" : output) */
	uint64_t snapshot_max_size;   /* of the next one, in bytes; 0: no limit */
	char snapshot_path[PATH_MAX + 128]; /* the last one recorded */
	char error[512]; /* the last thing that went wrong, for `status` */
	struct channel *channels[MAX_CHANNELS];
	uint32_t nr_channels;
	struct trace *traces;
	/* The kernel domain (root only): created by the first kernel
	 * enable-event, with the settings of enable-channel -k. */
	struct reel_ktrace *kernel;
	struct reel_ktrace_config kernel_config;
	uint32_t kernel_subbuf_size, kernel_num_subbuf; /* as enable-channel -k gave them */
	char **kernel_rules; /* as enable-event -k gave them, for `list` */
	size_t nr_kernel_rules;
	uint8_t kernel_uuid[16];
	char kernel_datetime[32];
	/* The clock as every metadata of the session describes it, measured
	 * again at each start, rotation and stop (consumer, lock held). */
	struct reel_clock_desc clock;
	bool clock_known;

	pthread_mutex_t lock;
	pthread_cond_t flushed;
	pthread_t consumer;
	bool consumer_running;
	int wake_fd; /* eventfd: applications completing sub-buffers */
	uint64_t flush_request, flush_done; /* stop: final flush asked / done */
	/* Rotation (consumer.c): settings by the main thread, chunks by the
	 * consumer, all under the lock. */
	uint64_t rotate_timer_us, rotate_size;
	char *rotate_hook;
	/* --publish (publish.c): chunk announcements to a NATS broker by the
	 * publisher thread; url and error under the lock */
	char *publish_url;
	char publish_error[512]; /* why the last announcement failed, or "" */
	bool publisher_running, publish_quit;
	pthread_t publisher;
	pthread_cond_t publish_cond;
	/* Announcements of chunks the retention removed, oldest first: the
	 * retention adds them, the publisher deletes them from the stream */
	struct unannouncement *unannounce;
	size_t nr_unannounce;
	uint64_t keep_chunks, keep_bytes; /* retention of archives; 0: all */
	int compress;                      /* COMPRESS_* of archived chunks */
	uint64_t rotate_request, rotate_done;
	bool statedump_pending; /* a chunk began: applications to dump their state */
	int rotate_error;
	char rotate_message[PATH_MAX + 256]; /* why the last rotation failed, or "" */
	uint64_t chunk_index;
	time_t chunk_begin;         /* for the chunk's name */
	uint64_t chunk_begin_ns;    /* for the timer: monotonic_ns() */
	uint64_t chunk_bytes_base; /* bytes written when the chunk began */
	struct chunk *chunks;
	size_t nr_chunks;
	bool quit;
	/* The consumer's working copy of the trace list. */
	struct trace **snapshot;
	size_t nr_snapshot, snapshot_cap;
	/* What freed per-process traces had written, per channel. */
	struct {
		uint64_t packets, bytes, lost_packets, discarded;
	} retired[MAX_CHANNELS];
	/* Rate estimate for `status`. */
	uint64_t rate_bytes, rate_at_ns;
	double rate;
	struct session *next;
};

/* An archived chunk of a rotated session. */
struct chunk {
	char *path;
	uint64_t index;
	pid_t hook_pid;  /* running hook, or 0 */
	uint64_t hook_started;
	int hook_status; /* exit status; -1 running, -2 no hook, -3 killed (hung) */
	int publish_status; /* 0 announced, -1 pending, -2 not announced */
	/* Announced: its message's sequence in the stream and its message
	 * id (DIST_ID_LEN hex digits), to delete it when the chunk goes. */
	uint64_t publish_seq;
	char publish_id[17];
	/* Being compressed: not announced (waiters, list-rotations, hook,
	 * retention) until it is done. */
	struct compress_job *compress;
	uint64_t compress_started; /* monotonic_ns() */
};

/* An announcement to delete from the chunks stream: its chunk is gone. */
struct unannouncement {
	uint64_t seq;	/* its sequence in the stream */
	uint64_t index; /* the chunk's, for the log */
	char id[17];	/* its message id: checked before deleting */
};

/* A client waiting for a session's chunk (reel wait-rotation). */
struct rotation_waiter {
	int sock;
	uid_t uid;
	char session[MAX_NAME];
	uint64_t index;    /* the chunk awaited */
	uint64_t deadline; /* monotonic_ns() */
	struct rotation_waiter *next;
};

struct daemon {
	char rundir[PATH_MAX];
	struct session *sessions;
	struct app *apps;
	char current[MAX_NAME]; /* current session */
	struct reel_clock_sample clock_start; /* the daemon's: calibrates every trace's clock */
	uint64_t next_key;
	int chunk_event_fd; /* eventfd: a consumer archived a chunk */
	struct rotation_waiter *waiters;
	bool no_kernel; /* --no-kernel: the kernel domain is refused */
};

extern struct daemon reeld;

/* session.c */
struct session *session_find(uid_t uid, const char *name);
int session_create(uid_t uid, const char *name, const char *output, bool snapshot,
		   struct session **ret, char *err, size_t err_size);
int session_start(struct session *s, char *err, size_t err_size);
int session_stop(struct session *s);
void session_destroy(struct session *s);

/* publish.c: announce archived chunks to s->publish_url. Start the
 * publisher (main thread, lock not held; idempotent); mark a chunk to
 * announce and wake it (lock held); stop it (main thread, lock not held). */
int publish_start(struct session *s);
void publish_chunk(struct session *s, struct chunk *c);
void publish_join(struct session *s);
/* Chunk `c` is being removed (retention, lock held): its announcement, if
 * it was announced, is to be deleted from the stream by the publisher. No
 * network I/O here. */
void publish_unannounce(struct session *s, const struct chunk *c);
int session_add_channel(struct session *s, const struct reel_channel_config *config,
			char *err, size_t err_size);
struct channel *session_channel(struct session *s, const char *name);
/* Recompute and send every application's enablement. */
void enablement_update(void);
/* Ask applications to record their lttng_ust_statedump:* events: `a`, or
 * every one (NULL). */
void statedump_request(struct app *a);
/* The sessions whose consumer began a chunk: their applications' state. */
void statedump_pending_serve(void);
void app_forget(struct app *a);
void trace_free(struct trace *t);

/* app.c */
int app_handle(struct app *a, struct reel_msg *m);
/* Wait until `a` acknowledges message `seq`, until `deadline` at most
 * (monotonic_ns()). */
int app_wait_ack(struct app *a, uint64_t seq, uint64_t deadline);
/* Handle every whole message received from `a` so far (those stashed by
 * app_wait_ack() first). */
int app_pump(struct app *a);
void app_free(struct app *a);
bool event_matches_rule(const struct app_event *e, const struct rule *r);
/* Whether a channel records event `e`: a rule matches, no exclusion does. */
bool channel_records(const struct channel *ch, const struct app_event *e);
void rule_free(struct rule *r);

/* The REEL_CONTEXT_* bit of a context type's name; 0 if unknown. */
uint32_t context_of_name(const char *name);
extern const char *const context_names[];

/* consumer.c */
int consumer_start(struct session *s);
/* Ask the consumer for a final flush and wait for it. */
void consumer_flush(struct session *s);
void consumer_join(struct session *s);
/* Ask the consumer for a rotation and wait for it. Returns 0 (the chunk is
 * the last of s->chunks) or a negative errno. */
int consumer_rotate(struct session *s);
/* Record a snapshot of a flight-recorder session into `dir` (NULL: its
 * output), of at most `max_size` bytes of packets (0: everything the
 * buffers hold), and wait for it; the path is then s->snapshot_path.
 * -EINVAL (and why in `err`) when `max_size` cannot hold a sub-buffer of
 * every stream. */
int consumer_snapshot(struct session *s, const char *dir, uint64_t max_size, char *err,
		      size_t err_size);
uint64_t monotonic_ns(void);
/* Write the kernel trace's metadata and start recording the kernel into
 * <output>/kernel. Main thread. */
int consumer_kernel_start(struct session *s, char *err, size_t err_size);

/* client.c */
int client_handle(int sock, uid_t uid, struct reel_msg *req);
/* Answer the rotation waiters whose chunk exists, or whose time is up
 * (all of them with `all`); forget those of `sock` when it is >= 0 (the
 * client left). Returns the next deadline (UINT64_MAX: none). */
uint64_t rotation_waiters_serve(bool all, int gone_sock);

#endif
