/* SPDX-License-Identifier: MIT */
/*
 * The reader's internals, shared by its files and nothing else: the CTF
 * type model built from TSDL metadata (tsdl.c), the decoding plans compiled
 * from it (plan.c), the stream decoder (decode.c), the trace set and merge
 * (trace.c), the filter language (filter.c) and the output formats
 * (format.c). Types and plans live in one arena per trace and die with it.
 */
#ifndef REEL_READER_LOCAL_H
#define REEL_READER_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/compiler.h"
#include "reel/reader.h"

/* ---- arena --------------------------------------------------------------- */

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t used, cap;
};

void *arena_alloc(struct arena *a, size_t size) REEL_HIDDEN;
void *arena_calloc(struct arena *a, size_t n, size_t size) REEL_HIDDEN;
char *arena_strndup(struct arena *a, const char *s, size_t n) REEL_HIDDEN;
char *arena_strdup(struct arena *a, const char *s) REEL_HIDDEN;
void arena_free(struct arena *a) REEL_HIDDEN;

/* ---- types ------------------------------------------------------------- */

enum ctf_kind {
	CTF_INT,
	CTF_ENUM,
	CTF_FLOAT,
	CTF_STRING,
	CTF_STRUCT,
	CTF_ARRAY,
	CTF_SEQ,
	CTF_VARIANT,
};

struct ctf_clock {
	const char *name;
	const char *description;
	uint64_t freq;
	int64_t offset_s;
	int64_t offset;      /* cycles, may be negative */
	int64_t base_ns; /* offset_s and offset in ns from the epoch */
	bool has_uuid;
	uint8_t uuid[16];
	bool absolute;
};

struct ctf_mapping {
	const char *label;
	/* [lo, hi], signed or unsigned as the container */
	uint64_t lo, hi;
};

struct ctf_field {
	const char *name;    /* as declared */
	struct ctf_type *type;
};

enum { CTF_BO_NATIVE, CTF_BO_LE, CTF_BO_BE };

struct ctf_type {
	enum ctf_kind kind;
	unsigned align;      /* bits, power of two */
	/* integer, enum container, float */
	unsigned size;       /* bits */
	bool sign;
	uint8_t byte_order;  /* CTF_BO_* */
	bool text;           /* integer with an encoding (UTF8/ASCII) */
	uint8_t base;        /* 2, 8, 10, 16 */
	struct ctf_clock *clock;
	/* float */
	unsigned exp_dig, mant_dig;
	/* enum */
	size_t nmap;
	struct ctf_mapping *map;
	/* struct, variant */
	size_t nfields;
	struct ctf_field *fields;
	/* array, sequence */
	uint64_t length;
	struct ctf_type *elem;
	/* sequence length, variant tag */
	const char *path;
	/* set while a struct type is being defined (struct-recursive) */
	bool incomplete;
};

struct plan_node;

/*
 * A plan tree flattened into a linear program, what the decoder runs: one
 * instruction per scalar, begin/end around structures, loops for arrays and
 * sequences, jump tables for variants. The "skim" program of the same tree
 * keeps only what finding the next event needs (lengths, tags, meanings)
 * and checks the bounds of the rest with fused skips: --stats runs it.
 */
enum xop_code {
	X_U8, X_U16, X_U32, X_U64, X_BITS, X_BIG, X_F32, X_F64, X_STRING,
	X_TEXT_ARRAY, X_TEXT_SEQ,
	X_BEGIN, X_END,       /* structure */
	X_ARRAY, X_SEQ, X_LOOP,
	X_VARIANT, X_VEND,
	X_ALIGN, X_SKIP, X_SKIPN, X_SKIPN_SEQ,
	X_HEADER,             /* struct { int tag; variant <tag> { struct { ints } ... } } */
	X_RET,
};

struct xop {
	uint8_t code;
	bool sign;
	bool be;
	uint16_t flags;
	uint32_t align;      /* bits, >= 1 */
	uint32_t size;       /* bits: scalar size, or skip length, or element size */
	int32_t reg;
	int32_t src_reg;
	uint32_t jump;
	uint64_t length;
	const struct plan_node *p;
	uint32_t *targets;   /* variant: first instruction of each option */
	const struct xheader *hdr; /* X_HEADER */
};

/* An event header shaped as LTTng's and Reel's (compact and large): the tag
 * integer, then a variant of structures of integers, in one instruction. */
struct xint {
	uint32_t align, size;
	bool be, sign;
	uint16_t flags;
	int32_t reg;
	const struct plan_node *p;
};

#define XHEADER_MAX_INTS 4
struct xheader {
	uint32_t align;                 /* of the whole structure */
	struct xint tag;
	const struct plan_node *variant;
	uint32_t nopts;
	struct {
		uint32_t align, n;
		struct xint ints[XHEADER_MAX_INTS];
	} opt[2];
};

struct xprog {
	struct xop *ops;
	uint32_t n;
	bool flat;  /* skim: skips, alignments and strings only; full: structures,
		     * byte-aligned integers nothing depends on, strings */
};

/* ---- metadata ------------------------------------------------------------ */

struct ctf_event_class {
	const char *name;
	size_t namelen;
	uint32_t gindex;       /* the reader's numbering of every class */
	uint64_t id;
	uint64_t stream_id;
	bool has_stream_id;
	bool has_id;
	int64_t loglevel;
	bool has_loglevel;
	const char *model_emf_uri;
	struct ctf_type *context;
	struct ctf_type *fields;
	struct plan_node *p_context, *p_fields;
	struct xprog x_context, x_fields, s_context, s_fields;
	/* Not kept by the reader's name selection (set when it starts, by
	 * the one reader that owns the trace): its payload is skimmed. */
	bool unselected;
	struct ctf_event_class *next;
};

struct ctf_stream_class {
	uint64_t id;
	bool has_id;
	struct ctf_type *packet_context;
	struct ctf_type *event_header;
	struct ctf_type *event_context;
	struct plan_node *p_packet_context, *p_event_header, *p_event_context;
	struct xprog x_packet_context, x_event_header, x_event_context;
	struct xprog s_event_header, s_event_context;
	struct xprog s_event_header_general; /* without X_HEADER: its errors */
	struct ctf_clock *clock; /* default clock, NULL when none */
	/* event classes by id: small ids in a table, the rest in the list */
	struct ctf_event_class **by_id;
	size_t nby_id;
	bool by_id_sorted;
	struct ctf_event_class *events;
	struct ctf_stream_class *next;
};

struct ctf_env {
	const char *name;
	bool is_int;
	int64_t i;
	const char *s;
	struct ctf_env *next;
};

struct ctf_meta {
	struct arena arena;
	unsigned major, minor;
	bool be;
	bool has_byte_order;
	bool has_uuid;
	uint8_t uuid[16];
	struct ctf_type *packet_header;
	struct plan_node *p_packet_header;
	struct xprog x_packet_header;
	struct ctf_stream_class *streams;
	size_t nstreams;
	struct ctf_env *env;
	struct ctf_clock **clocks;
	size_t nclocks;
	unsigned nregs;       /* value registers the plans use */
	bool packetized;
};

/*
 * Parse TSDL text (plain or packetized) into `*ret_meta`. On error returns a
 * negative errno and writes a message with the line number into err.
 */
int ctf_meta_parse(const char *text, size_t len, struct ctf_meta **ret_meta,
		   char *err, size_t errlen) REEL_HIDDEN;
void ctf_meta_free(struct ctf_meta *m) REEL_HIDDEN;
const char *ctf_meta_env_string(const struct ctf_meta *m, const char *name) REEL_HIDDEN;
const struct ctf_env *ctf_meta_env(const struct ctf_meta *m, const char *name) REEL_HIDDEN;

/* ---- plans ----------------------------------------------------------------- */

enum plan_op {
	OP_INT_U8,      /* byte-aligned native-order integers of 8..64 bits */
	OP_INT_U16,
	OP_INT_U32,
	OP_INT_U64,
	OP_INT_BITS,    /* any other integer of up to 64 bits */
	OP_INT_BIG,     /* integer wider than 64 bits: kept as a bit range */
	OP_FLOAT32,
	OP_FLOAT64,
	OP_STRING,
	OP_STRUCT,
	OP_ARRAY,
	OP_SEQ,
	OP_VARIANT,
	OP_TEXT_ARRAY,  /* array/sequence of 8-bit encoded integers: a string */
	OP_TEXT_SEQ,
};

/* What the decoder does with an integer besides keeping it. */
enum {
	PF_EVENT_ID = 1 << 0,
	PF_CLOCK = 1 << 1,
	PF_TS_BEGIN = 1 << 2,
	PF_TS_END = 1 << 3,
	PF_CONTENT_SIZE = 1 << 4,
	PF_PACKET_SIZE = 1 << 5,
	PF_DISCARDED = 1 << 6,
	PF_SEQ_NUM = 1 << 7,
	PF_MAGIC = 1 << 8,
	PF_STREAM_ID = 1 << 9,
	PF_STREAM_INSTANCE = 1 << 10,
	PF_UUID = 1 << 11,
};

struct variant_range {
	uint64_t lo, hi;
	uint32_t option;
};

struct plan_node {
	uint8_t op;
	bool sign;
	bool in_ir;         /* printed (babeltrace2's trace IR) */
	uint8_t base;
	uint16_t flags;
	int16_t pad_;
	uint32_t align;     /* bits */
	uint32_t size;      /* integer/float bits */
	bool be;
	int32_t reg;        /* register the value is stored into, or -1 */
	int32_t src_reg;    /* sequence length / variant tag register */
	const struct plan_node *src; /* the node that register holds */
	const char *name;   /* display name (escape '_' removed) */
	uint32_t namelen;
	const char *raw;    /* declared name */
	const struct ctf_type *type;
	struct ctf_clock *clock;
	struct plan_node *parent;
	uint32_t nkids;
	struct plan_node **kids;     /* members, options, or the element */
	uint64_t length;             /* array */
	size_t nranges;
	struct variant_range *ranges; /* variant: tag value -> option */
	uint32_t index;              /* position in the parent */
	struct text_plan *text;      /* structure of scalars: its text, precompiled */
};

/* The text of a structure whose members are all scalars: literal, value,
 * literal, value... (format.c). */
struct text_item {
	const char *lit;   /* "{ name = " or ", name = " */
	uint32_t litlen;
	uint32_t at;       /* value: index after the structure's own */
	const struct plan_node *p;
};

struct text_plan {
	uint32_t n;
	struct text_item items[];
};

int text_plan_build(struct arena *a, struct plan_node *root) REEL_HIDDEN;

int ctf_meta_compile(struct ctf_meta *m, char *err, size_t errlen) REEL_HIDDEN;
int xprog_build(struct arena *a, const struct plan_node *root, bool skim, struct xprog *ret) REEL_HIDDEN;
/* The same; `fuse`: an LTTng-like event header becomes one X_HEADER. */
int xprog_build_header(struct arena *a, const struct plan_node *root, bool skim, bool fuse,
		       struct xprog *ret) REEL_HIDDEN;

/* ---- decoded values ----------------------------------------------------------- */

/* One decoded field, in pre-order: compound values are followed by their
 * descendants; `end` is the index after the last of them. */
struct rval {
	const struct plan_node *p;
	union {
		uint64_t u;
		int64_t s;
		double d;
		struct {
			const char *ptr;
			uint32_t len;
		} str;
		struct {
			uint64_t bitpos; /* OP_INT_BIG: position in the packet */
			const uint8_t *base;
		} big;
	};
	uint32_t count; /* compound: children; */
	uint32_t end;
};

struct rvbuf {
	struct rval *v;
	uint32_t n, cap;
};

/* ---- streams and traces ------------------------------------------------- */

struct rtrace;

struct rstream {
	struct rtrace *trace;
	char *path;
	int fd;
	const uint8_t *map;
	uint64_t file_size;
	/* The map holds a decompressed file (anonymous memory): its pages
	 * are never given back with MADV_DONTNEED, which would zero them. */
	bool in_memory;
	const struct ctf_stream_class *sc;
	uint64_t instance_id;
	bool has_instance_id;
	/* current packet, in bits from the start of the file */
	uint64_t pkt_off;      /* bytes */
	uint64_t pkt_bits, content_bits;
	uint64_t pos;          /* bits, relative to pkt_off */
	bool in_packet;
	uint64_t clock;        /* cycles */
	uint64_t ts_begin, ts_end;
	bool has_ts_begin, has_ts_end;
	uint64_t discarded, prev_discarded;
	bool has_discarded, had_packet;
	uint64_t seq_num, prev_seq_num;
	bool has_seq_num;
	uint64_t prev_ts_end;
	bool has_prev_ts_end;
	uint64_t *regs;
	struct rvbuf pkt;      /* packet header + context */
	uint32_t pkt_ctx_index; /* where the context starts in pkt, or UINT32_MAX */
	struct rvbuf ev;       /* current event */
	uint32_t ev_ctx_index, ev_spec_index, ev_fields_index;
	const struct ctf_event_class *ec;
	uint64_t ev_clock;
	uint64_t key;          /* merge key of the current event */
	uint64_t events;
	uint64_t total_discarded, lost_packets;
	uint64_t index;        /* order of opening: ties */
	uint64_t dontneed_off; /* bytes already given back */
	bool eof;
	uint64_t end_off;      /* stop at this packet offset (parallel summaries) */
	uint64_t packets_done;
	bool skim;             /* decode without keeping values (--stats) */
};

struct rtrace {
	char *path;
	struct ctf_meta *meta;
	const char *hostname, *procname;
	char *text_prefix;     /* "host:proc:(vpid) " of the text format */
	size_t text_prefix_len;
	bool has_vpid;
	int64_t vpid;
	struct rstream **streams;
	size_t nstreams;
	size_t index;
};

/* Whether a file name ends in .zst: a compressed chunk's file, read as the
 * file without the suffix. */
bool zst_name(const char *name) REEL_HIDDEN;
/* Decompress the zstd frames of file `fd` (at most `limit` bytes out) into
 * a private anonymous mapping, read-only: *ret (NULL when empty), to be
 * munmap()ed with *ret_size. -EBADMSG when they are not valid zstd, -EFBIG
 * past the limit. */
int zst_map(int fd, uint64_t limit, void **ret, uint64_t *ret_size) REEL_HIDDEN;

/* Open the stream file of a trace (mapped, not read; a .zst one
 * decompressed into memory). */
int rstream_open(struct rtrace *t, const char *path, struct rstream **ret, char *err, size_t errlen) REEL_HIDDEN;
void rstream_close(struct rstream *s) REEL_HIDDEN;
/* Decode the next event into s->ev. Returns 1 for an event, 0 at the end of
 * the stream, a negative errno (message in err) on malformed data. */
int rstream_next(struct rstream *s, char *err, size_t errlen) REEL_HIDDEN;

/* --stats: skim the remaining events of the open packet, counting each in
 * t->counts[class gindex] and t->n; t->first_clock is set to the clock of
 * the event that makes t->n 1; s->ev_clock ends as the last event's. Returns
 * 0 at the end of the packet content (the packet stays open), a negative
 * errno (message in err) as rstream_next would. One thread per stream copy. */
struct skim_tally {
	uint64_t *counts;
	uint64_t n;
	uint64_t first_clock;
};
int rstream_skim_packet(struct rstream *s, struct skim_tally *t, char *err, size_t errlen) REEL_HIDDEN;

/* Packet by packet, without the events: open the next packet (1, 0 at the
 * end, <0 on error), then end it (the offset moves past it). */
int rstream_open_next_packet(struct rstream *s, char *err, size_t errlen) REEL_HIDDEN;
void rstream_end_packet(struct rstream *s) REEL_HIDDEN;

/* Event timestamp in ns from the epoch, as babeltrace2 computes it. */
int64_t ctf_clock_ns(const struct ctf_clock *c, uint64_t cycles) REEL_HIDDEN;

/* Read `size` (<= 64) bits at bit `pos` of `base`, in the given order. */
uint64_t ctf_read_bits(const uint8_t *base, uint64_t pos, unsigned size, bool be) REEL_HIDDEN;

/* ---- the public handles ------------------------------------------------------- */

struct reel_event {
	struct rstream *s;
	int64_t ns;
	bool ns_valid; /* ns computed (lazily: a division) */
	bool has_ts;
};

/* format.c, for pformat.c */
struct reel_formatter *formatter_new_mem(enum reel_format fmt, unsigned flags) REEL_HIDDEN;
void formatter_begin(struct reel_formatter *f, bool has_prev, int64_t prev_ns, uint64_t index) REEL_HIDDEN;
/* Take the formatted bytes: swaps the sink with (*buf, *cap). */
int formatter_end(struct reel_formatter *f, char **buf, size_t *cap, size_t *ret_len) REEL_HIDDEN;
int formatter_write_raw(struct reel_formatter *f, const char *buf, size_t len) REEL_HIDDEN;
void formatter_set_state(struct reel_formatter *f, bool has_last, int64_t last_ns, uint64_t nevents) REEL_HIDDEN;

struct filter;
int filter_parse(const char *expr, struct filter **ret, char *err, size_t errlen) REEL_HIDDEN;
bool filter_match(const struct filter *f, const struct reel_event *ev) REEL_HIDDEN;
void filter_free(struct filter *f) REEL_HIDDEN;

/* Find a field of an event by name: payload first, then contexts. Returns
 * the value index in s->ev or s->pkt (*ret_pkt), or -1. */
const struct rval *event_find_field(const struct reel_event *ev, const char *name) REEL_HIDDEN;

#endif
