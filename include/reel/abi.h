/* SPDX-License-Identifier: MIT */
/*
 * The interface between instrumented code (the expansion of the macros of
 * <reel/tracepoint.h>) and libreel-ust. Applications do not use it directly.
 *
 * Descriptions carry their own size so that a newer library can tell an
 * older provider's layout from its own.
 */
#ifndef REEL_ABI_H
#define REEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REEL_API __attribute__((visibility("default")))

enum reel_field_kind {
	REEL_FIELD_INTEGER = 1,
	REEL_FIELD_FLOAT = 2,
	REEL_FIELD_STRING = 3,
	REEL_FIELD_ARRAY = 4,    /* fixed-length array of integers */
	REEL_FIELD_SEQUENCE = 5, /* uint32 length, then that many integers */
	REEL_FIELD_ENUM = 6,     /* integer with labels */
};

struct reel_enum_label {
	const char *label; /* NULL terminates a label array */
	int64_t first;
	int64_t last; /* inclusive */
};

struct reel_enum_desc {
	const char *name;
	const struct reel_enum_label *labels;
	size_t nr_labels;
};

struct reel_field_desc {
	const char *name; /* NULL terminates a field array */
	uint8_t kind;     /* enum reel_field_kind */
	uint8_t size_bits; /* element size for arrays and sequences */
	uint8_t is_signed;
	uint8_t base;      /* 10 or 16 */
	uint32_t length;   /* arrays: number of elements */
	const struct reel_enum_desc *enum_desc;
};

struct reel_event_desc {
	size_t struct_size; /* sizeof(struct reel_event_desc) of the provider */
	const char *provider;
	const char *name;
	int loglevel;
	const struct reel_field_desc *fields;
	size_t nr_fields;
	/* Written by libreel-ust, read on every tracepoint call. */
	int enabled;
	uint32_t id;
	void *priv;
};

/* Space reserved for one event, filled by the probe between reserve and
 * commit. Only `pos` is for the probe. */
struct reel_event_ctx {
	char *pos;
	void *priv_stream;
	uint64_t *priv_commit;
	uint32_t priv_len;
};

/*
 * Make `desc` known to the tracer, which may then enable it. Called from the
 * constructor that REEL_EVENT generates in each translation unit, with that
 * unit's own field list: if it differs from the description's, the event is
 * defined inconsistently and stays disabled. Idempotent. Thread-safe.
 */
REEL_API void reel_event_register(struct reel_event_desc *desc, const struct reel_field_desc *fields,
				  size_t nr_fields);

/* Forget `desc` (its library is being unloaded): it is disabled and no
 * longer referenced. Its metadata stays in traces that recorded it. */
REEL_API void reel_event_unregister(struct reel_event_desc *desc);

/*
 * Reserve room for an event of `desc` with `payload_size` bytes of fields
 * on the calling CPU's buffer, and write its header. On success, returns 0
 * and sets ctx->pos where the payload goes; reel_event_commit() must follow.
 * Returns non-zero when the event is dropped (tracing off, buffer full,
 * event too large, nesting too deep); drops are counted. Wait-free apart
 * from retries caused by concurrent writers; async-signal-safe.
 */
REEL_API int reel_event_reserve(struct reel_event_ctx *ctx, const struct reel_event_desc *desc,
				size_t payload_size);

/* Publish an event reserved by reel_event_reserve(). Async-signal-safe. */
REEL_API void reel_event_commit(struct reel_event_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* REEL_ABI_H */
