/* SPDX-License-Identifier: MIT */
/*
 * kconvert: tracefs raw pages to CTF packets (see kconvert.h). May call
 * src/ctf for the packet layout; nothing else.
 *
 * A raw page (a sub-buffer of the kernel's per-CPU ring buffer) is a
 * header, {u64 timestamp, u64 commit}, then records. Each record starts
 * with a 32-bit word: type_len in the low 5 bits, a time delta in the high
 * 27. type_len 1..28: a data record of type_len * 4 bytes; 0: a data
 * record whose length (plus 4) is the next word; 29: padding (a discarded
 * record, or the end of the page when its delta is 0); 30: a time
 * extension (delta += next word << 27); 31: an absolute time stamp. A data
 * record is a tracefs event: u16 type, u8 flags, u8 preempt count,
 * s32 pid, then the fields its `format` file describes.
 */
#define _GNU_SOURCE
#include "kconvert.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctf/packet.h"
#include "syscall-args.h"

#define COMMIT_MASK ((1u << 27) - 1)
#define MISSED_EVENTS (1ull << 31)
#define MISSED_STORED (1ull << 30)
#define PAGE_HEADER 16u
#define COMMON_SIZE 8u /* common_type, flags, preempt_count, pid */
#define USER_STRING_MAX 4096u
#define MAX_TYPES 65536u
#define CONTEXT_MAX 4u /* bytes of the event context: the tid */

enum op_kind {
	OP_COPY,        /* len bytes from src */
	OP_DATA_LOC,    /* a __data_loc string: u32 {offset, length << 16} at src */
	OP_REL_LOC,     /* the same, offset from the end of the u32 */
	OP_USER_STRING, /* a user pointer at src: the string it points to */
	OP_SOCKADDR,    /* a user struct sockaddr * at src: family, port, address */
	OP_FORK_TGID,   /* sched_process_fork: the thread group of the task whose id
			 * is at src (len 0: the new task's, 1: its parent's) */
	OP_RWBS,        /* block events: tracefs's rwbs text (len bytes at src) as
			 * LTTng's RWBS_FLAG_* bits */
};

/* LTTng's block request flags (lttng-modules' block instrumentation). */
enum {
	RWBS_WRITE = 1 << 0,
	RWBS_DISCARD = 1 << 1,
	RWBS_READ = 1 << 2,
	RWBS_RAHEAD = 1 << 3,
	RWBS_SYNC = 1 << 5,
	RWBS_META = 1 << 6,
	RWBS_SECURE = 1 << 7,
	RWBS_FLUSH = 1 << 8,
	RWBS_FUA = 1 << 9,
	RWBS_PREFLUSH = 1 << 10,
};

/* What OP_SOCKADDR writes, as LTTng's connect/bind/sendto entries: family,
 * dport (host order), v4addr[4], v6addr[16]. */
#define SOCKADDR_OUT 26u

struct op {
	uint16_t src, len;
	uint8_t kind;
};

struct kclass {
	uint32_t id;
	char *name;
	char *declaration; /* TSDL */
	bool declared;     /* given out by kconv_metadata() */
	struct op *ops;
	uint32_t nr_ops;
	uint32_t min_size;  /* record bytes the ops read */
	uint32_t out_fixed; /* payload bytes written by OP_COPY */
	uint32_t nr_strings;
	int fork_child_src; /* sched_process_fork: where the new task's id is */
};

struct kstream {
	char *packet;
	uint32_t len; /* 0: no packet open */
	uint64_t last_ts, seq, discarded;
};

struct kconv {
	struct kconv_config config;
	struct kclass *by_type[MAX_TYPES];
	struct kclass **classes; /* by CTF id */
	uint32_t nr_classes;
	struct kstream *streams;
	struct kconv_stats stats;
};

int kconv_new(const struct kconv_config *config, struct kconv **ret)
{
	if (!config->nr_cpus || config->packet_size < 65536 || !config->packet)
		return -EINVAL;
	struct kconv *kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	kc->config = *config;
	kc->streams = calloc(config->nr_cpus, sizeof(*kc->streams));
	if (!kc->streams) {
		kconv_destroy(kc);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < config->nr_cpus; i++) {
		kc->streams[i].packet = malloc(config->packet_size);
		if (!kc->streams[i].packet) {
			kconv_destroy(kc);
			return -ENOMEM;
		}
	}
	*ret = kc;
	return 0;
}

void kconv_destroy(struct kconv *kc)
{
	if (!kc)
		return;
	for (uint32_t i = 0; i < kc->nr_classes; i++) {
		free(kc->classes[i]->name);
		free(kc->classes[i]->declaration);
		free(kc->classes[i]->ops);
		free(kc->classes[i]);
	}
	free(kc->classes);
	if (kc->streams)
		for (uint32_t i = 0; i < kc->config.nr_cpus; i++)
			free(kc->streams[i].packet);
	free(kc->streams);
	free(kc);
}

/* ---- event classes --------------------------------------------------------- */

/* One `field:` line of a format file. */
struct format_field {
	char type[128]; /* the C type, without the name and array suffix */
	char name[64];
	uint32_t offset, size, array; /* array: element count, 0 if none */
	bool is_signed;
};

static bool parse_field(const char *line, struct format_field *f)
{
	const char *decl = strstr(line, "field:");
	if (!decl)
		return false;
	decl += 6;
	const char *semi = strchr(decl, ';');
	const char *o = strstr(line, "offset:"), *z = strstr(line, "size:"),
		   *g = strstr(line, "signed:");
	if (!semi || !o || !z || !g)
		return false;
	memset(f, 0, sizeof(*f));
	f->offset = (uint32_t)strtoul(o + 7, NULL, 10);
	f->size = (uint32_t)strtoul(z + 5, NULL, 10);
	f->is_signed = strtoul(g + 7, NULL, 10) != 0;
	/* "TYPE NAME" or "TYPE NAME[N]": the name is the last identifier. */
	const char *end = semi;
	while (end > decl && isspace((unsigned char)end[-1]))
		end--;
	if (end > decl && end[-1] == ']') {
		const char *open = end - 1;
		while (open > decl && *open != '[')
			open--;
		if (*open != '[')
			return false;
		f->array = (uint32_t)strtoul(open + 1, NULL, 10);
		end = open;
	}
	const char *name = end;
	while (name > decl && (isalnum((unsigned char)name[-1]) || name[-1] == '_'))
		name--;
	size_t n = (size_t)(end - name), t = (size_t)(name - decl);
	if (!n || n >= sizeof(f->name) || t >= sizeof(f->type))
		return false;
	memcpy(f->name, name, n);
	memcpy(f->type, decl, t);
	/* Trim the type. */
	while (t && isspace((unsigned char)f->type[t - 1]))
		f->type[--t] = '\0';
	return true;
}

static bool type_is(const char *type, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(type, *list) == 0)
			return true;
	return false;
}

/* A syscall argument is recorded by tracefs as an unsigned long; LTTng
 * records it with the width of its C type. Little-endian: the low bytes
 * come first, so a narrower copy is the C conversion. */
static uint32_t syscall_arg_width(const char *type, bool *is_signed)
{
	static const char *const s32[] = { "int", "pid_t", "key_t", "clockid_t", "mqd_t",
					   "rwf_t", "key_serial_t", "timer_t", NULL };
	static const char *const u32[] = { "unsigned int", "uid_t", "gid_t", "u32", "__u32",
					   "qid_t", "old_uid_t", "old_gid_t", NULL };
	static const char *const s64[] = { "long", "loff_t", "off_t", "ssize_t", "time_t",
					   "__kernel_old_time_t", "s64", "__s64", NULL };
	if (strchr(type, '*')) {
		*is_signed = false;
		return 8;
	}
	if (type_is(type, s32)) {
		*is_signed = true;
		return 4;
	}
	if (type_is(type, u32)) {
		*is_signed = false;
		return 4;
	}
	if (strcmp(type, "umode_t") == 0) {
		*is_signed = false;
		return 2;
	}
	if (type_is(type, s64)) {
		*is_signed = true;
		return 8;
	}
	*is_signed = false;
	return 8;
}

struct class_builder {
	struct kclass *c;
	bool user_strings; /* string arguments are recorded as strings */
	int sockaddr_src;  /* the offset of a struct sockaddr * argument, or -1 */
	bool has_comm;     /* a `comm` field */
	struct reel_strbuf fields;
	uint32_t cap_ops;
	int err;
};

static void add_op(struct class_builder *b, uint8_t kind, uint32_t src, uint32_t len)
{
	struct kclass *c = b->c;
	if (b->err)
		return;
	/* In 64 bits: offset and size come from the format file, and their
	 * 32-bit sum wraps (offset:4294967295 size:2); so would the bytes an
	 * event writes, after 65537 fields of 64 KiB. */
	if ((uint64_t)src + len > UINT16_MAX ||
	    (uint64_t)c->out_fixed + len + SOCKADDR_OUT > UINT32_MAX) {
		b->err = -EINVAL;
		return;
	}
	if (kind == OP_COPY && c->nr_ops && c->ops[c->nr_ops - 1].kind == OP_COPY &&
	    c->ops[c->nr_ops - 1].src + c->ops[c->nr_ops - 1].len == src &&
	    c->ops[c->nr_ops - 1].len + len <= UINT16_MAX) {
		c->ops[c->nr_ops - 1].len = (uint16_t)(c->ops[c->nr_ops - 1].len + len);
	} else {
		if (c->nr_ops == b->cap_ops) {
			uint32_t cap = b->cap_ops ? 2 * b->cap_ops : 8;
			struct op *grown = realloc(c->ops, cap * sizeof(*grown));
			if (!grown) {
				b->err = -ENOMEM;
				return;
			}
			c->ops = grown;
			b->cap_ops = cap;
		}
		c->ops[c->nr_ops++] = (struct op){ (uint16_t)src, (uint16_t)len, kind };
	}
	uint32_t read = src + (kind == OP_COPY || kind == OP_RWBS ? len :
			       kind == OP_USER_STRING || kind == OP_SOCKADDR ? 8 :
									       4);
	if (read > c->min_size)
		c->min_size = read;
	if (kind == OP_COPY)
		c->out_fixed += len;
	else if (kind == OP_SOCKADDR)
		c->out_fixed += SOCKADDR_OUT;
	else if (kind == OP_FORK_TGID || kind == OP_RWBS)
		c->out_fixed += 4;
	else
		c->nr_strings++;
}

static void add_integer(struct class_builder *b, const char *name, uint32_t src,
			uint32_t bytes, bool is_signed, unsigned base)
{
	add_op(b, OP_COPY, src, bytes);
	reel_strbuf_printf(&b->fields,
			   "\t\tinteger { size = %u; align = 8; signed = %d; encoding = none; base = %u; } _%s;\n",
			   bytes * 8, is_signed, base, name);
}

static void add_string(struct class_builder *b, const char *name, uint8_t kind, uint32_t src)
{
	add_op(b, kind, src, 0);
	reel_strbuf_printf(&b->fields, "\t\tstring { encoding = UTF8; } _%s;\n", name);
}

/* LTTng's names for the fields of the `sched` events: a task's kernel id
 * is its "tid" there. */
static const char *lttng_field_name(const char *system, const char *field)
{
	static const char *const renames[][2] = {
		{ "pid", "tid" },         { "prev_pid", "prev_tid" }, { "next_pid", "next_tid" },
		{ "old_pid", "old_tid" }, { "orig_pid", "orig_tid" }, { "dest_pid", "dest_tid" },
	};
	if (strcmp(system, "sched") != 0)
		return field;
	for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++)
		if (strcmp(field, renames[i][0]) == 0)
			return renames[i][1];
	return field;
}

static void add_field(struct class_builder *b, const char *system, const char *event,
		      const struct format_field *f, bool syscall)
{
	if (syscall) {
		bool is_signed;
		if (b->user_strings && strncmp(event, "sys_enter_", 10) == 0 &&
		    reel_syscall_arg_is_string(event + 10, f->type, f->name) && f->size == 8) {
			add_string(b, f->name, OP_USER_STRING, f->offset);
			return;
		}
		if (b->user_strings && strncmp(event, "sys_enter_", 10) == 0 &&
		    strcmp(f->type, "struct sockaddr *") == 0 && f->size == 8 &&
		    (strcmp(event + 10, "connect") == 0 || strcmp(event + 10, "bind") == 0 ||
		     strcmp(event + 10, "sendto") == 0))
			b->sockaddr_src = (int)f->offset;
		uint32_t width = syscall_arg_width(f->type, &is_signed);
		if (width > f->size)
			width = f->size;
		add_integer(b, f->name, f->offset, width, is_signed, strchr(f->type, '*') ? 16 : 10);
		return;
	}
	if (strncmp(f->type, "__data_loc ", 11) == 0 || strncmp(f->type, "__rel_loc ", 10) == 0) {
		bool rel = f->type[2] == 'r';
		if (strstr(f->type, "char[]") && f->size == 4)
			add_string(b, f->name, rel ? OP_REL_LOC : OP_DATA_LOC, f->offset);
		return; /* dynamic arrays of other kinds: not recorded */
	}
	if (strcmp(system, "block") == 0 && strcmp(f->name, "rwbs") == 0 && f->array &&
	    f->size == f->array) {
		/* LTTng records the request's kind as flags, not as text. */
		add_op(b, OP_RWBS, f->offset, f->size);
		reel_strbuf_printf(&b->fields,
				   "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 10; } _rwbs;\n");
		return;
	}
	if (f->array) {
		if (!f->size || f->size % f->array)
			return;
		uint32_t elem = f->size / f->array;
		bool text = strcmp(f->type, "char") == 0 || strcmp(f->type, "const char") == 0;
		if (elem != 1 && elem != 2 && elem != 4 && elem != 8)
			return;
		add_op(b, OP_COPY, f->offset, f->size);
		reel_strbuf_printf(&b->fields,
				   "\t\tinteger { size = %u; align = 8; signed = %d; encoding = %s; base = 10; } _%s[%u];\n",
				   elem * 8, text ? 0 : f->is_signed, text ? "UTF8" : "none", f->name,
				   f->array);
		return;
	}
	if (f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8)
		return;
	unsigned base = strchr(f->type, '*') ? 16 : 10;
	/* sched_process_fork: LTTng has both the tid and the pid of each;
	 * tracefs gives the task's kernel id, which is both for a process. */
	if (strcmp(event, "sched_process_fork") == 0 && f->size == 4 &&
	    (strcmp(f->name, "parent_pid") == 0 || strcmp(f->name, "child_pid") == 0)) {
		char tid[64];
		bool parent = f->name[0] == 'p';
		snprintf(tid, sizeof(tid), "%.*s_tid", (int)(strlen(f->name) - 4), f->name);
		add_integer(b, tid, f->offset, f->size, f->is_signed, base);
		if (!b->user_strings) { /* no eBPF: the tids stand for the pids */
			add_integer(b, f->name, f->offset, f->size, f->is_signed, base);
			return;
		}
		if (!parent)
			b->c->fork_child_src = (int)f->offset;
		add_op(b, OP_FORK_TGID, f->offset, parent);
		reel_strbuf_printf(&b->fields,
				   "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _%s;\n",
				   f->name);
		return;
	}
	add_integer(b, lttng_field_name(system, f->name), f->offset, f->size, f->is_signed, base);
}

static int add_class(struct kconv *kc, struct kclass *c, const char *fields)
{
	struct reel_strbuf decl = { 0 };
	reel_strbuf_printf(&decl,
			   "event {\n\tname = \"%s\";\n\tid = %u;\n\tstream_id = 0;\n"
			   "\tfields := struct {\n%s\t};\n};\n\n",
			   c->name, c->id, fields);
	if (!decl.data) {
		reel_strbuf_free(&decl);
		return -ENOMEM;
	}
	struct kclass **grown = realloc(kc->classes, (kc->nr_classes + 1) * sizeof(*grown));
	if (!grown) {
		reel_strbuf_free(&decl);
		return -ENOMEM;
	}
	kc->classes = grown;
	c->declaration = decl.data;
	kc->classes[kc->nr_classes++] = c;
	return 0;
}

static void class_free(struct kclass *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->ops);
	free(c);
}

int kconv_add_event(struct kconv *kc, const char *system, const char *name, const char *format)
{
	const char *id_line = strstr(format, "\nID: ");
	id_line = id_line ? id_line + 5 : strncmp(format, "ID: ", 4) == 0 ? format + 4 : NULL;
	if (!id_line && (id_line = strstr(format, "ID: ")))
		id_line += 4;
	if (!id_line)
		return -EINVAL;
	unsigned long type = strtoul(id_line, NULL, 10);
	if (!type || type >= MAX_TYPES)
		return -EINVAL;
	if (kc->by_type[type])
		return -EEXIST;

	bool syscall = strcmp(system, "syscalls") == 0;
	char ctf_name[256];
	if (syscall && strncmp(name, "sys_enter_", 10) == 0)
		snprintf(ctf_name, sizeof(ctf_name), "syscall_entry_%s", name + 10);
	else if (syscall && strncmp(name, "sys_exit_", 9) == 0)
		snprintf(ctf_name, sizeof(ctf_name), "syscall_exit_%s", name + 9);
	else
		snprintf(ctf_name, sizeof(ctf_name), "%s", name);

	/* The layout is LTTng's whether eBPF gives the strings or not (an
	 * empty string, zeros where it does not). */
	struct class_builder b = { .c = calloc(1, sizeof(struct kclass)),
				   .user_strings = true,
				   .sockaddr_src = -1 };
	if (!b.c)
		return -ENOMEM;
	b.c->name = strdup(ctf_name);
	b.c->id = kc->nr_classes;
	b.c->fork_child_src = -1;
	b.c->min_size = COMMON_SIZE;
	if (!b.c->name)
		b.err = -ENOMEM;
	bool any = false;
	for (const char *line = format; line && *line && !b.err; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		struct format_field f;
		const char *eol = strchr(line, '\n');
		char buf[512];
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		if (n >= sizeof(buf))
			continue;
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (!parse_field(buf, &f))
			continue;
		any = true;
		if (strncmp(f.name, "common_", 7) == 0 || strcmp(f.name, "__syscall_nr") == 0)
			continue;
		if (strcmp(f.name, "comm") == 0)
			b.has_comm = true;
		add_field(&b, system, name, &f, syscall);
	}
	if (!b.err && !any)
		b.err = -EINVAL;
	if (!b.err && strcmp(system, "block") == 0 && b.has_comm) {
		/* LTTng's block events name the task by its tid too: the
		 * record's own. */
		add_integer(&b, "tid", 4, 4, true, 10);
	}
	if (!b.err && b.sockaddr_src >= 0) {
		/* After the arguments, as LTTng: the address it points to. */
		add_op(&b, OP_SOCKADDR, (uint32_t)b.sockaddr_src, 0);
		reel_strbuf_printf(&b.fields,
				   "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _family;\n"
				   "\t\tinteger { size = 16; align = 8; signed = 0; encoding = none; base = 10; } _dport;\n"
				   "\t\tinteger { size = 8; align = 8; signed = 0; encoding = none; base = 10; } _v4addr[4];\n"
				   "\t\tinteger { size = 8; align = 8; signed = 0; encoding = none; base = 16; } _v6addr[16];\n");
	}
	if (!b.err && !b.fields.data)
		reel_strbuf_printf(&b.fields, "%s", "");
	if (!b.err && !b.fields.data)
		b.err = -ENOMEM;
	if (!b.err)
		b.err = add_class(kc, b.c, b.fields.data);
	reel_strbuf_free(&b.fields);
	if (b.err) {
		class_free(b.c);
		return b.err;
	}
	kc->by_type[type] = b.c;
	return 0;
}

int kconv_add_synthetic(struct kconv *kc, const char *name, const char *fields_tsdl,
			uint32_t *ret_id)
{
	struct kclass *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	c->id = kc->nr_classes;
	int err = c->name ? add_class(kc, c, fields_tsdl) : -ENOMEM;
	if (err) {
		class_free(c);
		return err;
	}
	*ret_id = c->id;
	return 0;
}

int kconv_metadata(struct kconv *kc, struct reel_strbuf *out, bool all)
{
	for (uint32_t i = 0; i < kc->nr_classes; i++) {
		if (kc->classes[i]->declared && !all)
			continue;
		int err = reel_strbuf_printf(out, "%s", kc->classes[i]->declaration);
		if (err)
			return err;
		kc->classes[i]->declared = true;
	}
	return 0;
}

/* ---- packets --------------------------------------------------------------- */

static void packet_open(struct kconv *kc, uint32_t cpu, uint64_t ts)
{
	struct kstream *st = &kc->streams[cpu];
	struct reel_ctf_packet h = {
		.magic = REEL_CTF_MAGIC,
		.stream_id = 0,
		.stream_instance_id = cpu,
		.timestamp_begin = ts,
		.packet_seq_num = st->seq,
		.cpu_id = cpu,
	};
	memcpy(h.uuid, kc->config.uuid, sizeof(h.uuid));
	memcpy(st->packet, &h, sizeof(h));
	st->len = REEL_CTF_PACKET_HEADER_SIZE;
	if (ts > st->last_ts)
		st->last_ts = ts;
}

void kconv_flush(struct kconv *kc, uint32_t cpu, bool always)
{
	if (cpu >= kc->config.nr_cpus)
		return;
	struct kstream *st = &kc->streams[cpu];
	if (!st->len) {
		if (!always)
			return;
		packet_open(kc, cpu, st->last_ts);
	}
	struct reel_ctf_packet *h = (struct reel_ctf_packet *)st->packet;
	h->timestamp_end = st->last_ts;
	h->content_size = h->packet_size = (uint64_t)st->len * 8;
	h->events_discarded = st->discarded;
	kc->config.packet(kc->config.arg, cpu, st->packet, st->len);
	kc->stats.packets++;
	kc->stats.bytes += st->len;
	st->seq++;
	st->len = 0;
}

void kconv_set_context_tid(struct kconv *kc, bool on)
{
	kc->config.context_tid = on;
}

void kconv_set_uuid(struct kconv *kc, const uint8_t uuid[16])
{
	memcpy(kc->config.uuid, uuid, sizeof(kc->config.uuid));
}

void kconv_new_chunk(struct kconv *kc, uint64_t begin)
{
	for (uint32_t i = 0; i < kc->config.nr_cpus; i++) {
		kc->streams[i].len = 0;
		kc->streams[i].discarded = 0;
		kc->streams[i].last_ts = begin;
	}
}

void kconv_discarded(struct kconv *kc, uint32_t cpu, uint64_t count)
{
	if (cpu >= kc->config.nr_cpus)
		return;
	/* Saturated: a corrupt missed count (a page's, up to 2^64 - 1) must
	 * not wrap events_discarded, which readers expect never to go back. */
	if (__builtin_add_overflow(kc->streams[cpu].discarded, count, &kc->streams[cpu].discarded))
		kc->streams[cpu].discarded = UINT64_MAX;
	kc->stats.discarded += count;
}

/* Room for an event of at most `max_payload` bytes at `ts`; returns where
 * its payload goes, after the header. */
static inline char *event_begin(struct kconv *kc, uint32_t cpu, uint32_t id, uint64_t *ts,
				int32_t tid, size_t max_payload)
{
	struct kstream *st = &kc->streams[cpu];
	if (*ts < st->last_ts)
		*ts = st->last_ts; /* a record committed late: keep the stream ordered */
	if (st->len && st->len + REEL_CTF_HEADER_EXTENDED + CONTEXT_MAX + max_payload >
			       kc->config.packet_size)
		kconv_flush(kc, cpu, false);
	if (!st->len)
		packet_open(kc, cpu, *ts);
	uint32_t header = reel_ctf_event_header_size(id, *ts, st->last_ts);
	char *dst = st->packet + st->len;
	reel_ctf_event_header_write(dst, header, id, *ts);
	st->last_ts = *ts;
	dst += header;
	if (kc->config.context_tid) {
		memcpy(dst, &tid, sizeof(tid));
		dst += sizeof(tid);
	}
	return dst;
}

static inline void event_end(struct kconv *kc, uint32_t cpu, const char *end)
{
	struct kstream *st = &kc->streams[cpu];
	st->len = (uint32_t)(end - st->packet);
	kc->stats.events++;
}

int kconv_emit(struct kconv *kc, uint32_t cpu, uint32_t id, uint64_t ts, const void *payload,
	       size_t size)
{
	if (cpu >= kc->config.nr_cpus || id >= kc->nr_classes ||
	    size + REEL_CTF_PACKET_HEADER_SIZE + REEL_CTF_HEADER_EXTENDED + CONTEXT_MAX >
		    kc->config.packet_size)
		return -EINVAL;
	char *dst = event_begin(kc, cpu, id, &ts, 0, size);
	if (size)
		memcpy(dst, payload, size);
	event_end(kc, cpu, dst + size);
	return 0;
}

/* Copy a string of at most `n` bytes (it may lack its NUL) and a NUL. */
static inline char *put_string(char *dst, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return dst + len + 1;
}

/* family, dport, v4addr[4], v6addr[16] of the sockaddr the syscall got:
 * zeros where unknown. */
static char *put_sockaddr(struct kconv *kc, char *dst, const char *rec, uint32_t src)
{
	uint64_t ptr;
	int32_t tid, family = 0;
	uint32_t len = 0;
	uint16_t port = 0;
	memcpy(&ptr, rec + src, sizeof(ptr));
	memcpy(&tid, rec + 4, sizeof(tid));
	const unsigned char *sa =
		kc->config.user_string ?
			(const unsigned char *)kc->config.user_string(
				kc->config.user_string_arg, KCONV_USER_SOCKADDR, (uint32_t)tid, ptr, &len) :
			NULL;
	memset(dst, 0, SOCKADDR_OUT);
	if (sa && len >= 2) {
		uint16_t f;
		memcpy(&f, sa, sizeof(f));
		family = f;
		if ((family == 2 || family == 10) && len >= 4)
			port = (uint16_t)(sa[2] << 8 | sa[3]); /* network order */
		if (family == 2 /* AF_INET */ && len >= 8)
			memcpy(dst + 6, sa + 4, 4);
		if (family == 10 /* AF_INET6 */ && len >= 24)
			memcpy(dst + 10, sa + 8, 16);
	}
	memcpy(dst, &family, sizeof(family));
	memcpy(dst + 4, &port, sizeof(port));
	return dst + SOCKADDR_OUT;
}

/* tracefs's rwbs text ("FWS": preflush, write, sync) as LTTng's flags. */
static uint32_t rwbs_flags(const char *text, size_t n)
{
	uint32_t flags = 0;
	size_t i = 0, len = strnlen(text, n);
	if (len > 1 && text[0] == 'F') { /* a flush before the operation */
		flags |= RWBS_PREFLUSH;
		i++;
	}
	if (i < len) {
		switch (text[i++]) {
		case 'W': flags |= RWBS_WRITE; break;
		case 'R': flags |= RWBS_READ; break;
		case 'D': flags |= RWBS_DISCARD; break;
		case 'E': flags |= RWBS_DISCARD | RWBS_SECURE; break;
		case 'F': flags |= RWBS_FLUSH; break;
		default: break; /* 'N': none */
		}
	}
	for (; i < len; i++) {
		switch (text[i]) {
		case 'F': flags |= RWBS_FUA; break;
		case 'A': flags |= RWBS_RAHEAD; break;
		case 'S': flags |= RWBS_SYNC; break;
		case 'M': flags |= RWBS_META; break;
		default: break;
		}
	}
	return flags;
}

/* The thread groups of a new task and of its parent (eBPF): 1, or -1
 * when unknown. */
static int fork_tgids(struct kconv *kc, const struct kclass *c, const char *rec, int32_t ret[2])
{
	int32_t child;
	uint32_t len = 0;
	if (c->fork_child_src < 0 || !kc->config.user_string)
		return -1;
	memcpy(&child, rec + c->fork_child_src, sizeof(child));
	const char *ids = kc->config.user_string(kc->config.user_string_arg, KCONV_USER_FORK,
						 (uint32_t)child, 0, &len);
	if (!ids || len < 2 * sizeof(int32_t))
		return -1;
	memcpy(ret, ids, 2 * sizeof(int32_t));
	return 1;
}

static void convert_record(struct kconv *kc, uint32_t cpu, uint64_t ts, const char *rec,
			   uint32_t size)
{
	if (size < COMMON_SIZE)
		return;
	uint16_t type;
	memcpy(&type, rec, sizeof(type));
	const struct kclass *c = kc->by_type[type];
	if (__builtin_expect(!c || size < c->min_size, 0)) {
		kc->stats.unknown++;
		return;
	}
	size_t max = c->out_fixed;
	if (c->nr_strings)
		max += (size_t)c->nr_strings * (size + USER_STRING_MAX + 1);
	if (max + REEL_CTF_PACKET_HEADER_SIZE + REEL_CTF_HEADER_EXTENDED + CONTEXT_MAX >
	    kc->config.packet_size) {
		kc->stats.unknown++;
		return;
	}
	int32_t tid;
	memcpy(&tid, rec + 4, sizeof(tid));
	char *dst = event_begin(kc, cpu, c->id, &ts, tid, max);
	int fork_known = 0;
	int32_t fork[2];
	for (uint32_t i = 0; i < c->nr_ops; i++) {
		const struct op *o = &c->ops[i];
		if (__builtin_expect(o->kind == OP_COPY, 1)) {
			memcpy(dst, rec + o->src, o->len);
			dst += o->len;
		} else if (o->kind == OP_USER_STRING) {
			uint64_t ptr;
			uint32_t len = 0;
			memcpy(&ptr, rec + o->src, sizeof(ptr));
			if (!kc->config.user_string) {
				/* No eBPF: the raw argument, as text in LTTng's
				 * string field. */
				char raw[24];
				int n = snprintf(raw, sizeof(raw), "0x%" PRIx64, ptr);
				dst = put_string(dst, raw, (size_t)n);
				continue;
			}
			const char *s = kc->config.user_string(kc->config.user_string_arg,
							       KCONV_USER_STRING, (uint32_t)tid, ptr,
							       &len);
			dst = put_string(dst, s ? s : "", s ? (len < USER_STRING_MAX ? len : USER_STRING_MAX) : 0);
		} else if (o->kind == OP_SOCKADDR) {
			dst = put_sockaddr(kc, dst, rec, o->src);
		} else if (o->kind == OP_RWBS) {
			uint32_t flags = rwbs_flags(rec + o->src, o->len);
			memcpy(dst, &flags, sizeof(flags));
			dst += sizeof(flags);
		} else if (o->kind == OP_FORK_TGID) {
			if (!fork_known)
				fork_known = fork_tgids(kc, c, rec, fork);
			int32_t id;
			memcpy(&id, rec + o->src, sizeof(id));
			if (fork_known > 0)
				id = fork[o->len];
			memcpy(dst, &id, sizeof(id));
			dst += sizeof(id);
		} else {
			uint32_t loc;
			memcpy(&loc, rec + o->src, sizeof(loc));
			uint32_t off = loc & 0xffff, len = loc >> 16;
			if (o->kind == OP_REL_LOC)
				off += o->src + 4u;
			if (off > size || len > size - off)
				len = 0, off = 0;
			dst = put_string(dst, rec + off, len);
		}
	}
	event_end(kc, cpu, dst);
}

int kconv_records(struct kconv *kc, uint32_t cpu, const char *data, size_t len, uint64_t *ts_io,
		  bool emit)
{
	if (cpu >= kc->config.nr_cpus)
		return -EBADMSG;
	const char *p = data, *end = data + len;
	uint64_t ts = *ts_io;
	int events = 0, err = 0;
	while (end - p >= 4) {
		uint32_t word, arg;
		memcpy(&word, p, sizeof(word));
		uint32_t type_len = word & 31, delta = word >> 5;
		if (type_len >= 1 && type_len <= 28) {
			ts += delta;
			uint32_t n = type_len * 4;
			if ((size_t)(end - p) < 4 + n) {
				err = -EBADMSG;
				break;
			}
			if (emit)
				convert_record(kc, cpu, ts, p + 4, n);
			p += 4 + n;
			events++;
			continue;
		}
		if (end - p < 8) {
			if (type_len != 29 || delta != 0)
				err = -EBADMSG;
			break;
		}
		memcpy(&arg, p + 4, sizeof(arg));
		if (type_len == 0) { /* a long record: arg is its length plus 4 */
			ts += delta;
			if (arg < 4 || (size_t)(end - p) < 4 + (size_t)arg) {
				err = -EBADMSG;
				break;
			}
			if (emit)
				convert_record(kc, cpu, ts, p + 8, arg - 4);
			p += 4 + arg;
			events++;
		} else if (type_len == 29) { /* padding: the end, or a discarded record */
			if (delta == 0)
				break;
			if ((size_t)(end - p) < 4 + (size_t)arg) {
				err = -EBADMSG;
				break;
			}
			p += 4 + arg;
		} else if (type_len == 30) {
			ts += ((uint64_t)arg << 27) + delta;
			p += 8;
		} else { /* 31: absolute; the top bits come from the last stamp */
			uint64_t abs = ((uint64_t)arg << 27) | delta;
			const uint64_t low = (1ull << 59) - 1;
			abs |= ts & ~low;
			if (abs < ts && ts - abs > (1ull << 58))
				abs += 1ull << 59;
			ts = abs;
			p += 8;
		}
	}
	*ts_io = ts;
	return err ? err : events;
}

int kconv_page(struct kconv *kc, uint32_t cpu, const char *page, size_t size)
{
	if (cpu >= kc->config.nr_cpus || size < PAGE_HEADER)
		return -EBADMSG;
	uint64_t ts, commit;
	memcpy(&ts, page, sizeof(ts));
	memcpy(&commit, page + 8, sizeof(commit));
	size_t len = commit & COMMIT_MASK;
	if (len > size - PAGE_HEADER)
		return -EBADMSG;
	if (commit & MISSED_EVENTS) {
		uint64_t missed = 0;
		if ((commit & MISSED_STORED) && len + 8 <= size - PAGE_HEADER)
			memcpy(&missed, page + PAGE_HEADER + len, sizeof(missed));
		if (kc->config.overwrite) {
			/* Overwritten, not refused: lost packets, as LTTng's
			 * flight recorder shows them (a sequence gap). */
			kconv_flush(kc, cpu, false);
			kc->streams[cpu].seq++;
			kc->stats.lost_packets++;
		} else {
			kconv_discarded(kc, cpu, missed ? missed : 1);
		}
	}
	return kconv_records(kc, cpu, page + PAGE_HEADER, len, &ts, true);
}

void kconv_stats(const struct kconv *kc, struct kconv_stats *ret)
{
	*ret = kc->stats;
}
