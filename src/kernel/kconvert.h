/* SPDX-License-Identifier: MIT */
/*
 * kconvert: tracefs raw ring-buffer pages to Reel's CTF packets (packet.h),
 * with event and field names as LTTng's kernel tracer writes them
 * (`sched_switch` with `prev_tid`, `syscall_entry_openat` with `filename`,
 * ...). Owns the event classes, built from tracefs `format` files, and the
 * per-CPU output packets; knows nothing of instances or files.
 *
 * The hot path, kconv_page(), walks the kernel's ring-buffer records and
 * copies each one into the open packet through a short list of copy
 * operations made once per event class: no allocation, no lookup but an
 * array index.
 */
#ifndef REEL_KERNEL_KCONVERT_H
#define REEL_KERNEL_KCONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"

struct kconv;

/* What syscalls read from user memory (eBPF): a string argument, or the
 * bytes of a socket address. */
enum kconv_user_kind {
	KCONV_USER_STRING = 1,
	KCONV_USER_SOCKADDR = 2,
	KCONV_USER_FORK = 3, /* ptr 0, tid the new task's: u32 tgid, u32 parent's tgid */
};

/* The bytes thread `tid` passed at user address `ptr` (a string without
 * its NUL), or NULL when unknown. */
typedef const char *(*kconv_user_string_fn)(void *arg, uint8_t kind, uint32_t tid, uint64_t ptr,
					    uint32_t *ret_len);

/* A packet is complete: its bytes are to be written as they are. */
typedef void (*kconv_packet_fn)(void *arg, uint32_t cpu, const char *packet, size_t size);

struct kconv_config {
	uint32_t nr_cpus;
	uint32_t packet_size; /* bytes of an output packet (>= 64 KiB) */
	uint8_t uuid[16];     /* of the trace: in every packet header */
	bool context_tid;     /* each event begins with the task's id (`_tid`) */
	bool overwrite;       /* the kernel overwrites: its losses are lost packets */
	kconv_packet_fn packet;
	void *arg; /* of packet */
	kconv_user_string_fn user_string; /* NULL: pointers stay integers */
	void *user_string_arg;
};

int kconv_new(const struct kconv_config *config, struct kconv **ret);
void kconv_destroy(struct kconv *kc);

/* Declare tracefs event `system:name` from the text of its `format` file.
 * Returns 0 (its CTF declaration is then appended to kconv_metadata()),
 * -EEXIST when already known, or -EINVAL for a format it cannot read. */
int kconv_add_event(struct kconv *kc, const char *system, const char *name, const char *format);

/* The TSDL of the event classes declared since the last call (appended to
 * `out`); `all` gives every one. */
int kconv_metadata(struct kconv *kc, struct reel_strbuf *out, bool all);

/* Convert one raw sub-buffer of CPU `cpu` (what a read() of its
 * trace_pipe_raw returns). Returns the number of events, or -EBADMSG when
 * the page is malformed (what was valid before is kept). */
int kconv_page(struct kconv *kc, uint32_t cpu, const char *page, size_t size);

/* The records of a sub-buffer's data from `data` to `data + len`, the
 * clock at `*ts_io` before the first (updated to after the last): the
 * mmap reader converts a sub-buffer in several pieces. Without `emit`, only
 * the clock advances (records consumed before). Returns the number of
 * records, or -EBADMSG. */
int kconv_records(struct kconv *kc, uint32_t cpu, const char *data, size_t len, uint64_t *ts_io,
		  bool emit);

/* Events the kernel dropped on `cpu` (its buffer was full): carried by the
 * next packet's events_discarded. */
void kconv_discarded(struct kconv *kc, uint32_t cpu, uint64_t count);

/* Close CPU `cpu`'s open packet, if it holds events (or `always`). */
void kconv_flush(struct kconv *kc, uint32_t cpu, bool always);

/* Record the task id with each event from now on (before any event is
 * converted: the metadata declares it for the whole trace). */
void kconv_set_context_tid(struct kconv *kc, bool on);

/* The trace's UUID, for the packets opened from now on. */
void kconv_set_uuid(struct kconv *kc, const uint8_t uuid[16]);

/* Begin a new trace (rotation) at `begin`: packet sequence numbers go
 * on, the discarded count restarts, no event is stamped before `begin`
 * (a record committed late is moved up to it). Open packets must have
 * been flushed. */
void kconv_new_chunk(struct kconv *kc, uint64_t begin);

/* An event class of Reel's own (the statedump's), with the TSDL of its
 * fields (lines of "type _name;"). */
int kconv_add_synthetic(struct kconv *kc, const char *name, const char *fields_tsdl,
			uint32_t *ret_id);

/* Record an event of class `id` on CPU `cpu`'s stream at `ts`, its payload
 * laid out as its declaration says. */
int kconv_emit(struct kconv *kc, uint32_t cpu, uint32_t id, uint64_t ts, const void *payload,
	       size_t size);

struct kconv_stats {
	uint64_t events, packets, bytes, discarded, unknown, lost_packets;
};
void kconv_stats(const struct kconv *kc, struct kconv_stats *ret);

#endif
