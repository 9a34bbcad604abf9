/* SPDX-License-Identifier: MIT */
/*
 * libreel-reader: read CTF 1.8 traces (Reel's, LTTng's, any conforming
 * writer's), merge their streams and traces on one timeline, and format
 * events as babeltrace2's text, JSON lines or Chrome Trace Event JSON.
 *
 * Every function returns 0 or a negative errno (pointer-returning ones
 * return NULL and set errno); reel_reader_error() then describes the last
 * failure. A reader is used by one thread at a time. The library never
 * prints.
 */
#ifndef REEL_READER_H
#define REEL_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define REEL_READER_API __attribute__((visibility("default")))
#else
#define REEL_READER_API
#endif

struct reel_reader;
struct reel_event;

/* Create an empty reader. Returns NULL with errno set on failure. */
REEL_READER_API struct reel_reader *reel_reader_new(void);

/* Destroy a reader (NULL accepted). */
REEL_READER_API void reel_reader_destroy(struct reel_reader *r);

/* A human-readable description of the last error ("" if none). */
REEL_READER_API const char *reel_reader_error(const struct reel_reader *r);

/*
 * Add every trace under `path`: a directory holding a `metadata` file is a
 * trace, its other regular files are its streams; directories are searched
 * recursively (rotated chunks under archives/ included). Returns the number
 * of traces found (0 is not an error) or a negative errno.
 */
REEL_READER_API int reel_reader_add_path(struct reel_reader *r, const char *path);

/* Parse and check the metadata file (or text) alone. */
REEL_READER_API int reel_reader_check_metadata(struct reel_reader *r, const char *path);

/* Event selection, before the first reel_reader_next(). */
REEL_READER_API int reel_reader_set_names(struct reel_reader *r, const char *globs); /* "a*,b" */
REEL_READER_API int reel_reader_set_filter(struct reel_reader *r, const char *expr);
/* Keep events with begin_ns <= time <= end_ns (ns from the epoch). */
REEL_READER_API int reel_reader_set_range(struct reel_reader *r, int64_t begin_ns, int64_t end_ns);

/* Whether events keep their field values (default true). Without them,
 * every field is still bounds-checked but only the event's name, time and
 * stream are known: enough for counting, much faster. A filter needs values
 * and turns them back on. */
REEL_READER_API int reel_reader_set_values(struct reel_reader *r, bool values);

/* Called for every packet whose events-discarded counter grew, and every gap
 * in packet sequence numbers: `what` is "events" or "packets". */
typedef void (*reel_discarded_fn)(void *arg, const char *what, uint64_t count,
				   bool has_range, int64_t begin_ns, int64_t end_ns,
				   const char *trace_path, const char *stream_path);
REEL_READER_API void reel_reader_on_discarded(struct reel_reader *r, reel_discarded_fn fn, void *arg);

/*
 * The next event of the merged timeline (by timestamp, then stream).
 * Returns 1 and sets *ret_event (valid until the next call), 0 at the end,
 * or a negative errno for a malformed trace.
 */
REEL_READER_API int reel_reader_next(struct reel_reader *r, const struct reel_event **ret_event);

/* Event accessors. */
REEL_READER_API const char *reel_event_name(const struct reel_event *ev);
REEL_READER_API bool reel_event_timestamp(const struct reel_event *ev, int64_t *ret_ns);
REEL_READER_API uint64_t reel_event_cycles(const struct reel_event *ev);
/* Integer value of a payload or context field by name; -ENOENT if none. */
REEL_READER_API int reel_event_field_int(const struct reel_event *ev, const char *name, int64_t *ret);

/* The event's class: a pointer that is the same for every event of one
 * class of one trace, valid while the reader lives (dispatch without
 * comparing names). */
REEL_READER_API const void *reel_event_class(const struct reel_event *ev);
/* String value of a payload or context field by name (not NUL-terminated:
 * *ret_len bytes, valid until the next reel_reader_next()); -ENOENT if none. */
REEL_READER_API int reel_event_field_str(const struct reel_event *ev, const char *name,
					 const char **ret, size_t *ret_len);
/* Integer value of an event context field only (a payload field of the same
 * name, e.g. sched events' `tid`, does not hide it); -ENOENT if none. */
REEL_READER_API int reel_event_context_int(const struct reel_event *ev, const char *name, int64_t *ret);
/* Integer value of a packet context field (e.g. `cpu_id`); -ENOENT if none. */
REEL_READER_API int reel_event_packet_int(const struct reel_event *ev, const char *name, int64_t *ret);

/*
 * Field references: a field found by name once per event class, then read
 * from every event of that class by its position (no name comparison).
 * `scope`: where to look (REEL_SCOPE_ANY: payload, then the event contexts,
 * then the packet context, as reel_event_field_int()). *ret_ref is valid
 * for every event of the class of `ev` (the same reel_event_class()) while
 * the reader lives; reading an event of another class is safe (checked) but
 * may answer -ENOENT. Returns 0, or -ENOENT when `ev` has no such field.
 */
enum reel_scope {
	REEL_SCOPE_ANY,
	REEL_SCOPE_PAYLOAD,
	REEL_SCOPE_EVENT_CONTEXT,  /* the stream's event context, then the class's (as reel_event_context_int) */
	REEL_SCOPE_PACKET_CONTEXT, /* e.g. `cpu_id` */
};
REEL_READER_API int reel_event_field_ref(const struct reel_event *ev, enum reel_scope scope,
					 const char *name, uint32_t *ret_ref);
/* The integer at a reference (as reel_event_field_int); -ENOENT if none. */
REEL_READER_API int reel_event_ref_int(const struct reel_event *ev, uint32_t ref, int64_t *ret);
/* The string at a reference (as reel_event_field_str); -ENOENT if none. */
REEL_READER_API int reel_event_ref_str(const struct reel_event *ev, uint32_t ref, const char **ret,
				       size_t *ret_len);

/* Output formats. */
enum reel_format {
	REEL_FORMAT_TEXT,     /* babeltrace2's default text */
	REEL_FORMAT_JSON,     /* one JSON object per line */
	REEL_FORMAT_PERFETTO, /* Chrome Trace Event JSON */
};

enum {
	REEL_TEXT_NO_DELTA = 1 << 0,
	REEL_TEXT_CLOCK_SECONDS = 1 << 1,
	REEL_TEXT_FIELD_NAMES_ONLY_PAYLOAD = 1 << 2, /* --fields: payload only */
	REEL_TEXT_GMT = 1 << 3,
};

struct reel_formatter;
REEL_READER_API struct reel_formatter *reel_formatter_new(enum reel_format fmt, unsigned flags, FILE *out);
/* Format one event. */
REEL_READER_API int reel_formatter_event(struct reel_formatter *f, const struct reel_event *ev);
/* Finish the output (closing bracket of Perfetto JSON, flush) and destroy. */
REEL_READER_API int reel_formatter_finish(struct reel_formatter *f);

/* Times of the first and last events returned so far (ns from the epoch);
 * -ENOENT before any event with a timestamp. */
REEL_READER_API int reel_reader_time_range(const struct reel_reader *r, int64_t *ret_first, int64_t *ret_last);

/*
 * Count every event of the traces (no names, filter or range may be set)
 * without merging them: packets are decoded in parallel on `threads`
 * threads where each packet carries its own start time. Replaces
 * reel_reader_next(); then reel_reader_class_stats(), reel_reader_time_range()
 * and reel_reader_stream_stats() give the results.
 */
REEL_READER_API int reel_reader_summarize(struct reel_reader *r, unsigned threads);
/* Event class i (0...) and its count, after a summary; -ENOENT past the end. */
REEL_READER_API int reel_reader_class_stats(const struct reel_reader *r, size_t i,
					    const char **ret_name, uint64_t *ret_count);

/*
 * Format every (selected) event to `out`, in order, with `threads` formatter
 * threads beside the calling one (0: all in the calling thread). Returns 0,
 * or a negative errno (reel_reader_error() for malformed traces) after
 * writing the events before the error.
 */
REEL_READER_API int reel_reader_format(struct reel_reader *r, enum reel_format fmt, unsigned flags,
				       FILE *out, unsigned threads);

/* Totals so far (all streams): for --stats. */
struct reel_stream_stats {
	const char *path;
	uint64_t events;
	uint64_t discarded;
	uint64_t lost_packets;
};
REEL_READER_API size_t reel_reader_stream_count(const struct reel_reader *r);
REEL_READER_API int reel_reader_stream_stats(const struct reel_reader *r, size_t i,
					     struct reel_stream_stats *ret);
REEL_READER_API size_t reel_reader_trace_count(const struct reel_reader *r);

#ifdef __cplusplus
}
#endif

#endif
