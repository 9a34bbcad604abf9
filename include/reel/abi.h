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

/* The inline code below is Reel's, not the application's: its warnings
 * under the application's own flags are not the application's concern. */
#pragma GCC system_header

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h> /* glibc 2.35 and later */
#define REEL__HAVE_RSEQ 1
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define REEL_API __attribute__((visibility("default")))

/* An application built with REEL_DYNAMIC_LINKAGE defined (before the first
 * #include of a Reel header) does not need libreel-ust to run: its
 * references to the library are weak, and its events stay disabled unless
 * the library is loaded (LD_PRELOAD=libreel-ust.so.1), as LTTng-UST's
 * TRACEPOINT_PROBE_DYNAMIC_LINKAGE. */
#if defined(REEL_DYNAMIC_LINKAGE)
#define REEL__ENTRY REEL_API __attribute__((weak))
#define REEL__LOADED(fn) ((fn) != NULL)
#else
#define REEL__ENTRY REEL_API
#define REEL__LOADED(fn) 1
#endif

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
	/* Written by libreel-ust, read on every tracepoint call: `enabled`
	 * at the call site, then `targets` by the probe. */
	int enabled;
	uint32_t id; /* libreel-ust's own number for the event */
	const struct reel_event_targets *targets;
	void *priv;
};

/* Space reserved for one event, filled by the probe between reserve and
 * commit. Only `pos` is for the probe. */
struct reel_event_ctx {
	char *pos;
	void *priv_stream;     /* the stream's struct reel_rb */
	uint64_t *priv_commit; /* commit counter of the event's sub-buffer */
	uint64_t priv_mask;    /* sub-buffer size - 1 */
	uint32_t priv_len;
};

/*
 * The inline fast path's view of one per-CPU ring buffer (doc/ringbuf.md),
 * filled by libreel-ust before the channel is published and read-only
 * afterwards. The fast path covers the common case: a packet is open and
 * the event fits. Everything else goes to reel_event_reserve().
 */
struct reel_stream_view {
	void *write;      /* 16-byte {next position, last timestamp} */
	char *data;       /* N sub-buffers of subbuf_size bytes */
	char *commit;     /* commit counter of sub-buffer i at commit + 64 * i */
	void *stream;     /* struct reel_rb */
	uint64_t subbuf_size;
	uint64_t buf_mask;     /* N * subbuf_size - 1 */
	uint32_t subbuf_shift; /* log2(subbuf_size) */
	uint32_t index_mask;   /* N - 1 */
	uint32_t clock_tsc;    /* timestamps are TSC cycles, else CLOCK_MONOTONIC ns */
};

/* Bumped with any change to the layouts above or to the protocol the
 * inline code follows; a probe built for another version takes the
 * library's path for everything. */
#define REEL__VIEW_ABI 2

struct reel_channel_view {
	uint32_t abi_version; /* REEL__VIEW_ABI */
	uint32_t nr_streams;  /* one per possible CPU */
	struct reel_stream_view *streams;
};

/* Where an enabled event goes: a channel, and the event's id there. A
 * probe records the event once per target. Published by libreel-ust with
 * release into reel_event_desc.targets; a published target list, and the
 * channels it names, stay valid until the process exits. */
struct reel_event_target {
	const struct reel_channel_view *view;
	uint32_t id;
	uint32_t context; /* REEL_CONTEXT_* recorded before the fields */
};

/* Context fields a channel records with every event (`reel add-context`),
 * in this order: the library's path writes them. */
#define REEL_CONTEXT_VPID 0x1u       /* int32_t, the process id */
#define REEL_CONTEXT_VTID 0x2u       /* int32_t, the thread id */
#define REEL_CONTEXT_PROCNAME 0x4u   /* string, the thread's name */
#define REEL_CONTEXT_PTHREAD_ID 0x8u /* uint64_t, pthread_self() */
#define REEL_CONTEXT_CPU_ID 0x10u    /* uint32_t, the CPU */
#define REEL_CONTEXT_ALL 0x1fu

struct reel_event_targets {
	uint32_t nr;
	uint32_t reserved;
	const struct reel_event_target *target;
};

/* Wake the consumer of a completed sub-buffer of `stream` (ctx->priv_stream;
 * the rare path of commit). */
REEL__ENTRY void reel_event_deliver(void *stream);

/*
 * Make `desc` known to the tracer, which may then enable it. Called from the
 * constructor that REEL_EVENT generates in each translation unit, with that
 * unit's own field list: if it differs from the description's, the event is
 * defined inconsistently and stays disabled. Idempotent. Thread-safe.
 */
REEL__ENTRY void reel_event_register(struct reel_event_desc *desc, const struct reel_field_desc *fields,
				  size_t nr_fields);

/* Forget `desc` (its library is being unloaded): it is disabled and no
 * longer referenced. Its metadata stays in traces that recorded it. */
REEL__ENTRY void reel_event_unregister(struct reel_event_desc *desc);

/*
 * Reserve room for an event with `payload_size` bytes of fields on the
 * calling CPU's buffer of `target`'s channel, and write its header and the
 * target's context fields. On success, returns 0
 * and sets ctx->pos where the payload goes; reel_event_commit() must follow.
 * Returns non-zero when the event is dropped (tracing off, buffer full,
 * event too large); drops are counted. Probes call reel__event_reserve(),
 * which does the common case inline and this for the rest. Wait-free apart
 * from retries caused by concurrent writers; async-signal-safe.
 */
REEL__ENTRY int reel_event_reserve(struct reel_event_ctx *ctx, const struct reel_event_target *target,
				size_t payload_size);

/* Publish an event reserved by reel_event_reserve(). Async-signal-safe. */
REEL__ENTRY void reel_event_commit(struct reel_event_ctx *ctx);

/* ---- the inline fast path ------------------------------------------------ */

/* The CTF event header (doc/ctf-layout.md), as LTTng's "compact" one: a
 * 5-bit id with a 27-bit timestamp (4 bytes), or id 31 followed by a 32-bit
 * id and a 64-bit timestamp (13 bytes). The compact form is valid when the
 * timestamp's bits above the low 27 equal those of the previous event of
 * the packet (or of its timestamp_begin): readers rebuild them from it. */
#define REEL__COMPACT_ID_MAX 30u
#define REEL__EXTENDED_ID 31u
#define REEL__COMPACT_TS_BITS 27
#define REEL__HEADER_COMPACT 4u
#define REEL__HEADER_EXTENDED 13u

static inline uint32_t reel__event_header_size(uint32_t id, uint64_t ts, uint64_t prev_ts)
{
	return id <= REEL__COMPACT_ID_MAX && ((ts ^ prev_ts) >> REEL__COMPACT_TS_BITS) == 0 ?
		       REEL__HEADER_COMPACT :
		       REEL__HEADER_EXTENDED;
}

static inline void reel__event_header_write(char *dst, uint32_t header_size, uint32_t id,
					    uint64_t ts)
{
	if (header_size == REEL__HEADER_COMPACT) {
		uint32_t word = id | (uint32_t)(ts << 5);
		memcpy(dst, &word, 4);
	} else {
		dst[0] = (char)REEL__EXTENDED_ID;
		memcpy(dst + 1, &id, 4);
		memcpy(dst + 5, &ts, 8);
	}
}

__extension__ typedef unsigned __int128 reel__u128;

/* 16-byte compare-and-swap of {lo, hi}, without needing -mcx16 from the
 * application. */
static inline int reel__cas16(void *p, uint64_t old_lo, uint64_t old_hi, uint64_t new_lo,
			      uint64_t new_hi)
{
#if defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_16)
	reel__u128 expected = ((reel__u128)old_hi << 64) | old_lo;
	reel__u128 desired = ((reel__u128)new_hi << 64) | new_lo;
	return __sync_bool_compare_and_swap((reel__u128 *)p, expected, desired);
#elif defined(__x86_64__)
	unsigned char ok;
	__asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
			     : "=q"(ok), "+m"(*(reel__u128 *)p), "+a"(old_lo), "+d"(old_hi)
			     : "b"(new_lo), "c"(new_hi)
			     : "memory", "cc");
	return ok;
#else
#error "Reel needs a 16-byte compare-and-swap"
#endif
}

/* The CPU the thread runs on, from glibc's rseq area (a load away), or -1
 * when the kernel does not keep it there for this thread. */
static inline int32_t reel__rseq_cpu(void)
{
#if defined(REEL__HAVE_RSEQ)
	if (__builtin_expect(__rseq_size > 0, 1)) {
		const struct rseq *rs =
			(const struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
		return (int32_t)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
	}
#endif
	return -1;
}

/* The TSC, read first thing by the fast path so that its latency overlaps
 * the loads that follow; 0 where there is none. */
static inline uint64_t reel__tsc(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

/*
 * Reserve `payload` bytes for event `id` in the open packet of stream `s`,
 * at time `now` (reel__tsc()): read the position and last timestamp, take
 * the later of `now` and the last timestamp (so that timestamps never go
 * back along the buffer, whatever CPU wrote before), and move both with one
 * 16-byte compare-and-swap; write the event header (compact when the id and
 * the timestamp's high bits allow). Returns 0, or 1 when the slow path must
 * run (no open packet, the event does not fit with a byte to spare, or the
 * clock is not the TSC).
 */
static inline int reel__stream_reserve(const struct reel_stream_view *s, uint32_t id,
				       size_t payload, uint64_t now, struct reel_event_ctx *ret)
{
	uint64_t *word = (uint64_t *)s->write;
	uint64_t old, last, ts, pos;
	uint32_t header;
	if (__builtin_expect(!s->clock_tsc, 0))
		return 1; /* CLOCK_MONOTONIC is read by the library */
	for (;;) {
		old = __atomic_load_n(&word[0], __ATOMIC_RELAXED);
		last = __atomic_load_n(&word[1], __ATOMIC_RELAXED);
		ts = __builtin_expect(now < last, 0) ? last : now;
		pos = old & (s->subbuf_size - 1);
		header = reel__event_header_size(id, ts, last);
		if (__builtin_expect(pos == 0 || payload >= s->subbuf_size ||
					     pos + header + payload >= s->subbuf_size,
				     0))
			return 1;
		if (__builtin_expect(reel__cas16(word, old, last, old + header + payload, ts), 1))
			break;
		now = reel__tsc(); /* another writer came first: it is later now */
	}

	char *dst = s->data + (old & s->buf_mask);
	reel__event_header_write(dst, header, id, ts);
	ret->pos = dst + header;
	ret->priv_stream = s->stream;
	ret->priv_commit = (uint64_t *)(s->commit + 64 * ((old >> s->subbuf_shift) & s->index_mask));
	ret->priv_mask = s->subbuf_size - 1;
	ret->priv_len = header + (uint32_t)payload;
	return 0;
}

/* The rest, out of the probe's way. The context comes back by value, so
 * that the probe's own never has its address taken and lives in
 * registers. */
__attribute__((noinline, cold, unused)) static struct reel_event_ctx
reel__event_reserve_slow(const struct reel_event_target *target, size_t payload, int *ret_err)
{
	struct reel_event_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	*ret_err = reel_event_reserve(&ctx, target, payload);
	return ctx;
}

/* Copy a string measured before the reservation. Should another thread
 * change it meanwhile, the record keeps the measured length and its final
 * NUL (an early NUL becomes '#' padding, as LTTng does), so that readers
 * never lose their place in the stream. */
static inline char *reel__put_string(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n - 1);
	char *nul = (char *)memchr(dst, 0, n - 1);
	if (__builtin_expect(nul != NULL, 0))
		memset(nul, '#', n - 1 - (size_t)(nul - dst));
	dst[n - 1] = '\0';
	return dst + n;
}

/* What a probe calls: the fast path inline, the rest in the library. */
static inline int reel__event_reserve(struct reel_event_ctx *ctx,
				      const struct reel_event_target *target, size_t payload)
{
	uint64_t now = reel__tsc();
	const struct reel_channel_view *ch = target->view;
	int32_t cpu = reel__rseq_cpu();
	if (__builtin_expect(target->context == 0, 1) &&
	    __builtin_expect(cpu >= 0 && (uint32_t)cpu < ch->nr_streams, 1) &&
	    __builtin_expect(ch->abi_version == REEL__VIEW_ABI, 1) &&
	    __builtin_expect(
		    reel__stream_reserve(&ch->streams[cpu], target->id, payload, now, ctx) == 0, 1))
		return 0;
	int err;
	*ctx = reel__event_reserve_slow(target, payload, &err);
	return err;
}

static inline void reel__event_commit(struct reel_event_ctx *ctx)
{
	/* Release: pairs with the consumer's acquire of the counter; it then
	 * sees the event. The writer completing a sub-buffer wakes it. */
	uint64_t count = __atomic_add_fetch(ctx->priv_commit, ctx->priv_len, __ATOMIC_RELEASE);
	if (__builtin_expect((count & ctx->priv_mask) == 0, 0))
		reel_event_deliver(ctx->priv_stream);
}

#ifdef __cplusplus
}
#endif

#endif /* REEL_ABI_H */
