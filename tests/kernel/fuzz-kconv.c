/* SPDX-License-Identifier: MIT */
/*
 * Fuzz driver of the kernel domain's converter (src/kernel/kconvert.c):
 * its parsers of tracefs `format` files and of raw ring-buffer
 * sub-buffers. Self-contained (runs under gcc's ASan+UBSan in `make
 * check`): the seeds are format files as Linux writes them (embedded
 * below) and sub-buffers built here with records of their events.
 *
 *   fuzz-kconv SECONDS [SEED]
 *
 * Each round takes a fresh converter (1 to 4 CPUs, random packet size,
 * with or without a user-string callback), declares the formats (some
 * mutated) and a few classes of Reel's own, then feeds it sub-buffers
 * (valid, mutated, cut, in slices as the mmap reader does) interleaved
 * with flushes, chunk changes, discarded counts and kconv_emit(). Inputs
 * are copied to buffers of their exact size, so that an over-read is
 * ASan's. Every packet that comes out is checked: its header, sequence
 * numbers, discarded counts and timestamps, and each event in it against
 * the class declarations the converter gave out (kconv_metadata).
 *
 * Exit status 0 when nothing crashed (the sanitizers abort on a memory
 * error; a malformed packet aborts with a message).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "ctf/packet.h"
#include "kernel/kconvert.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t round_nr;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A number below n (0 when n is 0). */
static uint32_t pick(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

#define CHECK(cond, ...)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz-kconv: round %" PRIu64 ": ", round_nr); \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* ---- seeds: format files as Linux 6.18 writes them ----------------------- */

static const char fmt_sched_switch[] =
	"name: sched_switch\n"
	"ID: 372\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
	"\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
	"\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
	"\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n"
	"\n"
	"print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s "
	"next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->pre"
	"v_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x000"
	"00010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & "
	"((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x"
	"00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, { 0x00000002, "
	"\"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { 0x00"
	"000020, \"Z\" }, { 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", REC->prev_st"
	"ate & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010"
	" | 0x00000020 | 0x00000040) + 1) << 1) ? \"+\" : \"\", REC->next_comm, REC->next_pid"
	", REC->next_prio\n";

static const char fmt_sys_enter_openat[] =
	"name: sys_enter_openat\n"
	"ID: 782\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
	"\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n"
	"\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n"
	"\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n"
	"\n"
	"print fmt: \"dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx\", ((uns"
	"igned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flag"
	"s)), ((unsigned long)(REC->mode))\n";

static const char fmt_sys_exit_read[] =
	"name: sys_exit_read\n"
	"ID: 841\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
	"\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n"
	"\n"
	"print fmt: \"0x%lx\", REC->ret\n";

static const char fmt_sched_process_exec[] =
	"name: sched_process_exec\n"
	"ID: 365\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
	"\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n"
	"\n"
	"print fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, REC->ol"
	"d_pid\n";

static const char fmt_irq_handler_entry[] =
	"name: irq_handler_entry\n"
	"ID: 225\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:int irq;\toffset:8;\tsize:4;\tsigned:1;\n"
	"\tfield:__data_loc char[] name;\toffset:12;\tsize:4;\tsigned:0;\n"
	"\n"
	"print fmt: \"irq=%d name=%s\", REC->irq, __get_str(name)\n";

static const char fmt_raw_sys_enter[] =
	"name: sys_enter\n"
	"ID: 443\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n"
	"\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n"
	"\n"
	"print fmt: \"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)\", REC->id, REC->args[0], REC->ar"
	"gs[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]\n";

static const char fmt_sys_enter_connect[] =
	"name: sys_enter_connect\n"
	"ID: 2230\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
	"\tfield:int fd;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:struct sockaddr * uservaddr;\toffset:24;\tsize:8;\tsigned:0;\n"
	"\tfield:int addrlen;\toffset:32;\tsize:8;\tsigned:0;\n"
	"\n"
	"print fmt: \"fd: 0x%08lx, uservaddr: 0x%08lx, addrlen: 0x%08lx\", ((unsigned long)(R"
	"EC->fd)), ((unsigned long)(REC->uservaddr)), ((unsigned long)(REC->addrlen))\n";

static const char fmt_sched_process_fork[] =
	"name: sched_process_fork\n"
	"ID: 366\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n"
	"\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n"
	"\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n"
	"\n"
	"print fmt: \"comm=%s pid=%d child_comm=%s child_pid=%d\", __get_str(parent_comm), RE"
	"C->parent_pid, __get_str(child_comm), REC->child_pid\n";

/* Not from the kernel: a __rel_loc string (Linux 5.18+), a dynamic array
 * that is not a string, integers of every width, as a format file of a
 * module's event would give them. */
static const char fmt_fz_rel[] =
	"name: fz_rel\n"
	"ID: 60000\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:__rel_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:u8 level;\toffset:12;\tsize:1;\tsigned:0;\n"
	"\tfield:short code;\toffset:14;\tsize:2;\tsigned:1;\n"
	"\tfield:void * ip;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:u32 data[3];\toffset:24;\tsize:12;\tsigned:0;\n"
	"\tfield:__data_loc u8[] blob;\toffset:36;\tsize:4;\tsigned:0;\n"
	"\n"
	"print fmt: \"msg=%s\", __get_rel_str(msg)\n";

enum ev {
	EV_SWITCH,
	EV_OPENAT,
	EV_EXIT_READ,
	EV_EXEC,
	EV_IRQ,
	EV_RAW_ENTER,
	EV_CONNECT,
	EV_FORK,
	EV_REL,
	NR_EV
};

static const struct fmt_seed {
	const char *system, *name, *text;
	uint16_t id;
} fmts[NR_EV] = {
	[EV_SWITCH] = {"sched", "sched_switch", fmt_sched_switch, 372},
	[EV_OPENAT] = {"syscalls", "sys_enter_openat", fmt_sys_enter_openat, 782},
	[EV_EXIT_READ] = {"syscalls", "sys_exit_read", fmt_sys_exit_read, 841},
	[EV_EXEC] = {"sched", "sched_process_exec", fmt_sched_process_exec, 365},
	[EV_IRQ] = {"irq", "irq_handler_entry", fmt_irq_handler_entry, 225},
	[EV_RAW_ENTER] = {"raw_syscalls", "sys_enter", fmt_raw_sys_enter, 443},
	[EV_CONNECT] = {"syscalls", "sys_enter_connect", fmt_sys_enter_connect, 2230},
	[EV_FORK] = {"sched", "sched_process_fork", fmt_sched_process_fork, 366},
	[EV_REL] = {"fz", "fz_rel", fmt_fz_rel, 60000},
};

/* Names a format is declared under when it is mutated: they select the
 * converter's special cases (user strings, socket addresses, renamed
 * fields). */
static const char *const other_names[][2] = {
	{"syscalls", "sys_enter_openat"}, {"syscalls", "sys_enter_connect"},
	{"syscalls", "sys_enter_bind"},	  {"syscalls", "sys_enter_sendto"},
	{"syscalls", "sys_enter_umount"}, {"syscalls", "sys_enter_"},
	{"syscalls", "sys_exit_"},	  {"syscalls", "x"},
	{"sched", "sched_process_fork"},  {"sched", "sched_switch"},
	{"fz", "sys_enter_openat"},
};

/* Reel's own classes (the statedump's kind), as "type _name;" lines. */
static const char *const synthetic[][2] = {
	{"lttng_statedump_start", ""},
	{"lttng_statedump_process_state",
	 "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _tid;\n"
	 "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _pid;\n"
	 "\t\tstring { encoding = UTF8; } _name;\n"
	 "\t\tinteger { size = 8; align = 8; signed = 0; encoding = none; base = 10; } _cpu[3];\n"},
	{"lttng_statedump_file_descriptor",
	 "\t\tstring { encoding = UTF8; } _filename;\n"
	 "\t\tstring { encoding = UTF8; } _other;\n"
	 "\t\tinteger { size = 64; align = 8; signed = 0; encoding = none; base = 16; } _flags;\n"},
};

/* ---- the user memory that eBPF would have read ----------------------- */

struct ubuf {
	char *d; /* NULL: unknown */
	uint32_t n;
};

/* Selected by bits 4..6 of the pointer. */
static struct ubuf ustr[8], usock[8];
static uint64_t user_calls;

static struct ubuf ubuf_of(const void *bytes, uint32_t n)
{
	/* Exactly n bytes: reading past them is ASan's. */
	struct ubuf u = {malloc(n ? n : 1), n};
	if (!u.d)
		abort();
	memcpy(u.d, bytes, n);
	return u;
}

static void make_user(void)
{
	static char big[5000];
	memset(big, 'x', sizeof(big));
	ustr[0] = ubuf_of("/etc/ld.so.cache", 16);
	ustr[2] = ubuf_of(big, sizeof(big)); /* cut at USER_STRING_MAX */
	ustr[3] = ubuf_of("", 0);
	ustr[4] = ubuf_of("a\0b", 3);
	ustr[5] = ubuf_of(big, 4096);
	ustr[7] = ubuf_of("/tmp/with-nul", 14);

	uint8_t sa[128] = {0};
	uint16_t family = 2; /* AF_INET, port 80, 127.0.0.1 */
	memcpy(sa, &family, 2);
	sa[3] = 80;
	sa[4] = 127;
	sa[7] = 1;
	usock[0] = ubuf_of(sa, 16);
	usock[4] = ubuf_of(sa, 3);
	usock[7] = ubuf_of(sa, 4);
	family = 10; /* AF_INET6, port 443, ::1 */
	memcpy(sa, &family, 2);
	sa[2] = 1;
	sa[3] = 187;
	sa[23] = 1;
	usock[2] = ubuf_of(sa, 28);
	usock[5] = ubuf_of(sa, 20);
	usock[3] = ubuf_of(sa, 1);
	family = 1; /* AF_UNIX */
	memcpy(sa, &family, 2);
	memcpy(sa + 2, "/run/x.sock", 11);
	usock[6] = ubuf_of(sa, 110);
}

static const char *user_string(void *arg, uint8_t kind, uint32_t tid, uint64_t ptr,
			       uint32_t *ret_len)
{
	(void)tid;
	CHECK(arg == &user_calls, "user_string: wrong argument");
	CHECK(kind == KCONV_USER_STRING || kind == KCONV_USER_SOCKADDR || kind == KCONV_USER_FORK,
	      "user_string: kind %u", kind);
	user_calls++;
	if (kind == KCONV_USER_FORK) { /* the thread groups of a new task and its parent */
		static const int32_t ids[3] = { 4242, 17, 99 };
		CHECK(ptr == 0, "user_string: fork record with a pointer");
		switch (tid % 4) {
		case 0: return NULL;                /* unknown */
		case 1: *ret_len = 4; break;        /* short */
		default: *ret_len = 8 + tid % 2 * 4; break;
		}
		return (const char *)ids;
	}
	const struct ubuf *u = &(kind == KCONV_USER_STRING ? ustr : usock)[(ptr >> 4) & 7];
	if (!u->d)
		return NULL;
	*ret_len = u->n;
	return u->d;
}

static uint64_t user_ptr(void)
{
	return 0x7ffc00000000ull | (uint64_t)pick(1 << 12) << 4 | pick(16);
}

/* ---- the packet checker ----------------------------------------------- */

#define MAX_CPUS     5u
#define STRING_FIELD UINT32_MAX

/* An event class as the converter declared it: each field's bytes, or
 * STRING_FIELD. */
struct layout {
	uint32_t *fields;
	uint32_t nr_fields;
};

static struct {
	struct kconv_config config;
	struct layout *layouts;
	uint32_t nr_layouts;
	uint8_t uuid[16];
	uint64_t chunk_begin;
	uint64_t next_seq[MAX_CPUS], discarded[MAX_CPUS], last_end[MAX_CPUS];
	uint64_t events, packets; /* of this round */
} chk;

static uint64_t total_events, total_packets;

static void layouts_free(void)
{
	for (uint32_t i = 0; i < chk.nr_layouts; i++)
		free(chk.layouts[i].fields);
	free(chk.layouts);
	chk.layouts = NULL;
	chk.nr_layouts = 0;
}

static void layout_add(struct layout *l, uint32_t field)
{
	uint32_t *grown = realloc(l->fields, (l->nr_fields + 1) * sizeof(*grown));
	if (!grown)
		abort();
	l->fields = grown;
	l->fields[l->nr_fields++] = field;
}

/* The layouts of every class, read back from the TSDL the converter
 * gives out. */
static void parse_layouts(struct kconv *kc)
{
	layouts_free();
	struct reel_strbuf sb = {0};
	CHECK(kconv_metadata(kc, &sb, true) == 0, "kconv_metadata failed");
	for (const char *p = sb.data; p && (p = strstr(p, "event {\n"));) {
		const char *id = strstr(p, "\tid = ");
		CHECK(id, "TSDL: no id");
		CHECK(strtoul(id + 6, NULL, 10) == chk.nr_layouts, "TSDL: id %lu, expected %u",
		      strtoul(id + 6, NULL, 10), chk.nr_layouts);
		const char *f = strstr(id, "\tfields := struct {\n");
		CHECK(f, "TSDL: no fields");
		struct layout *grown = realloc(chk.layouts, (chk.nr_layouts + 1) * sizeof(*grown));
		if (!grown)
			abort();
		chk.layouts = grown;
		struct layout *l = &chk.layouts[chk.nr_layouts++];
		*l = (struct layout){0};
		for (f += 20;; f = strchr(f, '\n') + 1) {
			const char *eol = strchr(f, '\n');
			CHECK(eol, "TSDL: unterminated event");
			if (strncmp(f, "\t};\n", 4) == 0)
				break;
			if (strncmp(f, "\t\tstring { encoding = UTF8; } _", 31) == 0) {
				layout_add(l, STRING_FIELD);
				continue;
			}
			CHECK(strncmp(f, "\t\tinteger { size = ", 19) == 0, "TSDL: field line %.*s",
			      (int)(eol - f), f);
			unsigned long bits = strtoul(f + 19, NULL, 10), count = 1;
			const char *name = strstr(f, "} _");
			CHECK(bits % 8 == 0 && name && name < eol, "TSDL: field line %.*s",
			      (int)(eol - f), f);
			const char *bracket = memchr(name, '[', (size_t)(eol - name));
			if (bracket)
				count = strtoul(bracket + 1, NULL, 10);
			CHECK(bits / 8 * count < 65536, "TSDL: field of %lu bytes",
			      bits / 8 * count);
			layout_add(l, (uint32_t)(bits / 8 * count));
		}
		p = f;
	}
	reel_strbuf_free(&sb);
	/* All given out: nothing new until a class is added. */
	CHECK(kconv_metadata(kc, &sb, false) == 0 && sb.len == 0, "kconv_metadata: again");
	reel_strbuf_free(&sb);
}

/* Each event of a packet: a well-formed header, a class it declared,
 * fields that end where the next event begins, timestamps in order. */
static void check_events(const uint8_t *pk, size_t size, const struct reel_ctf_packet *h)
{
	const uint64_t low = (1ull << REEL_CTF_COMPACT_TS_BITS) - 1;
	uint64_t prev = h->timestamp_begin;
	size_t pos = REEL_CTF_PACKET_HEADER_SIZE;
	while (pos < size) {
		uint32_t word, id;
		uint64_t ts;
		CHECK(size - pos >= REEL_CTF_HEADER_COMPACT, "event header cut at %zu/%zu", pos,
		      size);
		memcpy(&word, pk + pos, sizeof(word));
		if ((word & 31) == REEL_CTF_EXTENDED_ID) {
			CHECK(size - pos >= REEL_CTF_HEADER_EXTENDED, "extended header cut");
			memcpy(&id, pk + pos + 1, sizeof(id));
			memcpy(&ts, pk + pos + 5, sizeof(ts));
			pos += REEL_CTF_HEADER_EXTENDED;
			CHECK(id > REEL_CTF_COMPACT_ID_MAX || (ts ^ prev) > low,
			      "extended header where a compact one fits");
		} else {
			id = word & 31;
			ts = (prev & ~low) | word >> 5;
			pos += REEL_CTF_HEADER_COMPACT;
		}
		CHECK(ts >= prev, "event at %" PRIu64 " after one at %" PRIu64, ts, prev);
		CHECK(ts >= chk.chunk_begin, "event at %" PRIu64 " before its chunk (%" PRIu64 ")",
		      ts, chk.chunk_begin);
		CHECK(id < chk.nr_layouts, "event of class %u, %u declared", id, chk.nr_layouts);
		const struct layout *l = &chk.layouts[id];
		for (uint32_t i = 0; i < l->nr_fields; i++) {
			if (l->fields[i] == STRING_FIELD) {
				const uint8_t *nul = memchr(pk + pos, 0, size - pos);
				CHECK(nul, "class %u: string %u without its NUL", id, i);
				pos = (size_t)(nul - pk) + 1;
			} else {
				CHECK(size - pos >= l->fields[i], "class %u: field %u cut", id, i);
				pos += l->fields[i];
			}
		}
		prev = ts;
		chk.events++;
	}
	CHECK(prev == h->timestamp_end, "timestamp_end %" PRIu64 ", last event %" PRIu64,
	      h->timestamp_end, prev);
}

static void on_packet(void *arg, uint32_t cpu, const char *packet, size_t size)
{
	CHECK(arg == &chk, "packet: wrong argument");
	CHECK(cpu < chk.config.nr_cpus, "packet of cpu %u", cpu);
	CHECK(size >= REEL_CTF_PACKET_HEADER_SIZE && size <= chk.config.packet_size,
	      "packet of %zu bytes (at most %u)", size, chk.config.packet_size);
	struct reel_ctf_packet h;
	memcpy(&h, packet, sizeof(h));
	CHECK(h.magic == REEL_CTF_MAGIC, "magic %#x", h.magic);
	CHECK(h.content_size == size * 8 && h.packet_size == size * 8,
	      "content_size %" PRIu64 ", packet_size %" PRIu64 ", %zu bytes", h.content_size,
	      h.packet_size, size);
	CHECK(memcmp(h.uuid, chk.uuid, 16) == 0, "uuid");
	CHECK(h.stream_id == 0 && h.stream_instance_id == cpu && h.cpu_id == cpu,
	      "stream of cpu %u", cpu);
	CHECK(h.packet_seq_num == chk.next_seq[cpu],
	      "cpu %u: packet %" PRIu64 ", expected %" PRIu64, cpu, h.packet_seq_num,
	      chk.next_seq[cpu]);
	chk.next_seq[cpu]++;
	CHECK(h.events_discarded >= chk.discarded[cpu],
	      "cpu %u: events_discarded %" PRIu64 " after %" PRIu64, cpu, h.events_discarded,
	      chk.discarded[cpu]);
	chk.discarded[cpu] = h.events_discarded;
	CHECK(h.timestamp_begin <= h.timestamp_end && h.timestamp_begin >= chk.chunk_begin &&
		      h.timestamp_begin >= chk.last_end[cpu],
	      "cpu %u: packet from %" PRIu64 " to %" PRIu64 " (chunk %" PRIu64 ", last %" PRIu64
	      ")",
	      cpu, h.timestamp_begin, h.timestamp_end, chk.chunk_begin, chk.last_end[cpu]);
	chk.last_end[cpu] = h.timestamp_end;
	check_events((const uint8_t *)packet, size, &h);
	chk.packets++;
}

/* ---- records and sub-buffers ------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static const char *const comms[] = {"swapper/0", "kworker/u8:3", "bash",
				    "0123456789abcdef" /* 16: no NUL */, ""};
static const char *const paths[] = {
	"/usr/bin/true",
	"",
	"/x",
	"/usr/lib/very/long/path/to/some/binary/that/makes/the/record/longer/than/one/hundred/"
	"and/twelve/bytes/so/that/it/is/a/long/record/bin",
};

static void put_comm(uint8_t *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n < 16 ? n + 1 : 16);
}

/* A __data_loc (or __rel_loc) string: the word at `loc` locates `s`
 * copied at `at`. Returns where the record ends. */
static size_t put_dyn(uint8_t *p, size_t loc, size_t at, const char *s, bool rel)
{
	size_t len = strlen(s) + 1;
	if (pick(8) == 0 && len > 1)
		len--; /* without its NUL */
	memcpy(p + at, s, len);
	uint32_t off = (uint32_t)(rel ? at - (loc + 4) : at);
	put32(p + loc, off | (uint32_t)len << 16);
	return at + len;
}

#define RECORD_MAX 4096u

/* The payload of a record of event `e` (as its seed format lays it
 * out); returns its size. */
static size_t make_record(enum ev e, uint8_t *p)
{
	int32_t pid = (int32_t)pick(1 << 22);
	memset(p, 0, 256);
	put16(p, fmts[e].id);
	p[2] = (uint8_t)pick(256);
	p[3] = (uint8_t)pick(4);
	memcpy(p + 4, &pid, sizeof(pid));
	size_t end;
	switch (e) {
	case EV_SWITCH:
		put_comm(p + 8, comms[pick(ARRAY_SIZE(comms))]);
		put32(p + 24, (uint32_t)pid);
		put32(p + 28, 120);
		put64(p + 32, pick(3));
		put_comm(p + 40, comms[pick(ARRAY_SIZE(comms))]);
		put32(p + 56, pick(1 << 22));
		put32(p + 60, 100 + pick(40));
		return 64;
	case EV_OPENAT:
		put32(p + 8, 257);
		put64(p + 16, (uint64_t)-100);
		put64(p + 24, user_ptr());
		put64(p + 32, 0x80000);
		put64(p + 40, 0644);
		return 48;
	case EV_EXIT_READ:
		put32(p + 8, 0);
		put64(p + 16, (uint64_t)((int64_t)pick(8192) - 100));
		return 24;
	case EV_EXEC:
		put32(p + 12, (uint32_t)pid);
		put32(p + 16, (uint32_t)pid);
		return put_dyn(p, 8, 20, paths[pick(ARRAY_SIZE(paths))], false);
	case EV_IRQ:
		put32(p + 8, pick(64));
		return put_dyn(p, 12, 16, pick(2) ? "eth0" : "nvme0q3", false);
	case EV_RAW_ENTER:
		put64(p + 8, pick(450));
		for (int i = 0; i < 6; i++)
			put64(p + 16 + 8 * i, pick(2) ? user_ptr() : rnd());
		return 64;
	case EV_CONNECT:
		put32(p + 8, 42);
		put64(p + 16, 3);
		put64(p + 24, user_ptr());
		put64(p + 32, 16);
		return 40;
	case EV_FORK:
		end = put_dyn(p, 8, 24, comms[pick(ARRAY_SIZE(comms))], false);
		put32(p + 12, (uint32_t)pid);
		end = put_dyn(p, 16, end, comms[pick(ARRAY_SIZE(comms))], false);
		put32(p + 20, (uint32_t)pid + 1);
		return end;
	case EV_REL:
		end = put_dyn(p, 8, 40, comms[pick(ARRAY_SIZE(comms))], true);
		p[12] = (uint8_t)pick(8);
		put16(p + 14, (uint16_t)-pick(100));
		put64(p + 16, 0xffffffff81000000ull + pick(1 << 20));
		for (int i = 0; i < 3; i++)
			put32(p + 24 + 4 * i, (uint32_t)rnd());
		put32(p + 36, (uint32_t)end | 3u << 16);
		memset(p + end, 0xab, 3);
		return end + 3;
	default:
		abort();
	}
}

#define PAGE_HEADER 16u
#define DATA_MAX    16368u
#define SLACK	    64u
#define TS_MASK	    ((1u << 27) - 1)

/* A sub-buffer as trace_pipe_raw gives it, with where its records are. */
struct page {
	uint8_t buf[PAGE_HEADER + DATA_MAX + SLACK];
	size_t len;			      /* of the data, as in commit */
	size_t size;			      /* what the read returned */
	uint64_t ts;			      /* the clock after the last record */
	uint32_t starts[2048], nr_starts;     /* where each record begins in the data */
	uint32_t payloads[2048], nr_payloads; /* where each data record's payload does */
	bool mutated;
};

static uint8_t *data_of(struct page *pg)
{
	return pg->buf + PAGE_HEADER;
}

static void emit_word(struct page *pg, uint32_t w)
{
	put32(data_of(pg) + pg->len, w);
	pg->len += 4;
}

static void record_start(struct page *pg)
{
	pg->starts[pg->nr_starts++] = (uint32_t)pg->len;
}

/* A data record `delta` after the previous one: small (type_len) when it
 * fits, else long (type_len 0); a time extend first when the delta needs
 * one. Returns false when there is no room below `cap`. */
static bool add_data(struct page *pg, size_t cap, uint64_t delta, const uint8_t *payload, size_t n,
		     bool force_long)
{
	size_t padded = (n + 3) & ~(size_t)3;
	bool lng = force_long || padded > 112 || !padded;
	size_t need = 4 + (lng ? 4 : 0) + padded + (delta > TS_MASK ? 8 : 0);
	if (pg->len + need > cap || pg->nr_starts + 2 > ARRAY_SIZE(pg->starts))
		return false;
	pg->ts += delta;
	if (delta > TS_MASK) {
		record_start(pg);
		emit_word(pg, 30 | (uint32_t)(delta & TS_MASK) << 5);
		emit_word(pg, (uint32_t)(delta >> 27));
		delta = 0;
	}
	record_start(pg);
	if (lng) {
		emit_word(pg, (uint32_t)delta << 5);
		emit_word(pg, (uint32_t)padded + 4);
	} else {
		emit_word(pg, (uint32_t)(padded / 4) | (uint32_t)delta << 5);
	}
	pg->payloads[pg->nr_payloads++] = (uint32_t)pg->len;
	memcpy(data_of(pg) + pg->len, payload, n);
	memset(data_of(pg) + pg->len + n, 0, padded - n);
	pg->len += padded;
	return true;
}

static uint64_t a_delta(void)
{
	switch (pick(16)) {
	case 0:
		return TS_MASK + 1 + pick(1u << 30); /* a time extend */
	case 1:
		return (uint64_t)pick(1u << 31) << 20;
	case 2:
		return 0;
	default:
		return pick(50000);
	}
}

/* A valid sub-buffer starting at `ts`: records of the seed events (small
 * and long), blobs, unknown types, time extends, absolute stamps,
 * discarded records, maybe the end padding and a missed-events count. */
static void build_page(struct page *pg, uint64_t ts)
{
	size_t cap = (pick(4) ? 4096 - PAGE_HEADER : DATA_MAX) - 8;
	uint32_t want = 1 + pick(pick(2) ? 8 : 300);
	uint8_t rec[RECORD_MAX];
	pg->len = pg->nr_starts = pg->nr_payloads = 0;
	pg->ts = ts;
	pg->mutated = false;
	for (uint32_t i = 0; i < want && pg->nr_starts + 2 <= ARRAY_SIZE(pg->starts); i++) {
		bool ok = true;
		size_t n;
		switch (pick(20)) {
		case 0: /* a time extend alone */
			if ((ok = pg->len + 8 <= cap)) {
				uint64_t d = TS_MASK + 1 + pick(1u << 31);
				record_start(pg);
				emit_word(pg, 30 | (uint32_t)(d & TS_MASK) << 5);
				emit_word(pg, (uint32_t)(d >> 27));
				pg->ts += d;
			}
			break;
		case 1: /* an absolute stamp, sometimes behind */
			if ((ok = pg->len + 8 <= cap)) {
				uint64_t abs =
					pick(4) ? pg->ts + pick(100000) : pg->ts - pick(100000);
				abs &= (1ull << 59) - 1;
				record_start(pg);
				emit_word(pg, 31 | (uint32_t)(abs & TS_MASK) << 5);
				emit_word(pg, (uint32_t)(abs >> 27));
				pg->ts = abs;
			}
			break;
		case 2: { /* a discarded record */
			uint32_t k = 4 * pick(20);
			if ((ok = pg->len + 8 + k <= cap)) {
				record_start(pg);
				emit_word(pg, 29 | (1 + pick(1000)) << 5);
				emit_word(pg, 4 + k);
				for (uint32_t j = 0; j < k; j++)
					data_of(pg)[pg->len + j] = (uint8_t)rnd();
				pg->len += k;
			}
			break;
		}
		case 3: /* a blob of a known type */
			n = 8 + pick(pick(4) ? 200 : RECORD_MAX - 8);
			for (size_t j = 0; j < n; j++)
				rec[j] = (uint8_t)rnd();
			put16(rec, fmts[pick(NR_EV)].id);
			ok = add_data(pg, cap, a_delta(), rec, n, false);
			break;
		case 4: /* an unknown type */
			n = make_record((enum ev)pick(NR_EV), rec);
			put16(rec, (uint16_t)rnd());
			ok = add_data(pg, cap, a_delta(), rec, n, false);
			break;
		default:
			n = make_record((enum ev)pick(NR_EV), rec);
			ok = add_data(pg, cap, a_delta(), rec, n, pick(8) == 0);
			break;
		}
		if (!ok)
			break;
	}
	if (pick(4) == 0 && pg->len + 4 <= cap) {
		record_start(pg);
		emit_word(pg, 29); /* padding to the end */
	}
	uint64_t commit = pg->len;
	pg->size = PAGE_HEADER + pg->len;
	if (pick(6) == 0) {
		commit |= 1ull << 31;
		if (pick(2)) {
			commit |= 1ull << 30;
			put64(data_of(pg) + pg->len, 1 + pick(1000));
			pg->size += 8;
		}
	}
	put64(pg->buf, ts);
	put64(pg->buf + 8, commit);
	if (pick(3) == 0) { /* the rest of the sub-buffer, as read() gives it */
		size_t to = pick(2) ? pg->size + pick(SLACK) : PAGE_HEADER + cap + 8;
		for (size_t j = pg->size; j < to; j++)
			pg->buf[j] = pick(2) ? 0 : (uint8_t)rnd();
		pg->size = to;
	}
}

static uint32_t some_start(const struct page *pg)
{
	return pg->nr_starts ? pg->starts[pick(pg->nr_starts)] : 0;
}

static void mutate_page(struct page *pg)
{
	static const uint32_t words[] = {0,    1,	   3,	       4,	   5,
					 8,    0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc,
					 4092, 4096,	   4100,       65536};
	uint8_t *d = data_of(pg);
	pg->mutated = true;
	for (int r = 1 + (int)pick(4); r > 0; r--) {
		size_t at;
		switch (pick(11)) {
		case 0: /* flip a bit */
			at = pick((uint32_t)pg->size);
			pg->buf[at] ^= (uint8_t)(1u << pick(8));
			break;
		case 1: /* a random byte */
			pg->buf[pick((uint32_t)pg->size)] = (uint8_t)rnd();
			break;
		case 2: { /* the commit word */
			uint64_t c;
			switch (pick(4)) {
			case 0:
				c = rnd();
				break;
			case 1:
				c = pg->len + pick(32) - 16;
				break;
			case 2:
				c = pg->len | (rnd() & ~(uint64_t)TS_MASK);
				break;
			default:
				c = pick(DATA_MAX + SLACK + 16);
				break;
			}
			put64(pg->buf + 8, c);
			break;
		}
		case 3: { /* a record header: its type_len or all of it */
			at = some_start(pg);
			uint32_t w;
			memcpy(&w, d + at, 4);
			w = pick(2) ? (w & ~31u) | pick(32) : (uint32_t)rnd();
			put32(d + at, w);
			break;
		}
		case 4: /* the type of a data record */
			if (pg->nr_payloads) {
				uint16_t type = pick(2) ? fmts[pick(NR_EV)].id : (uint16_t)rnd();
				put16(d + pg->payloads[pick(pg->nr_payloads)], type);
			}
			break;
		case 5: /* the word after a header: a length, an extension */
			at = some_start(pg) + 4;
			if (at + 4 <= DATA_MAX + SLACK)
				put32(d + at,
				      pick(2) ? words[pick(ARRAY_SIZE(words))] : (uint32_t)rnd());
			break;
		case 6: /* the size read */
			pg->size = pick(2) ? pick(sizeof(pg->buf) + 1)
					   : PAGE_HEADER + pg->len + 8 - pick(16);
			if (pg->size > sizeof(pg->buf))
				pg->size = sizeof(pg->buf);
			break;
		case 7: /* a word of a payload (a __data_loc) */
			if (pg->nr_payloads) {
				at = pg->payloads[pick(pg->nr_payloads)] + 4 * pick(12);
				uint32_t loc =
					pick(2) ? pick(80) | pick(80) << 16 : (uint32_t)rnd();
				if (at + 4 <= DATA_MAX + SLACK)
					put32(d + at, loc);
			}
			break;
		case 8: { /* the missed-events count after the data */
			uint64_t commit;
			memcpy(&commit, pg->buf + 8, 8);
			commit |= 3ull << 30;
			put64(pg->buf + 8, commit);
			at = commit & TS_MASK;
			static const uint64_t counts[] = {0, 1, 1ull << 63, UINT64_MAX,
							  UINT64_MAX - 1};
			if (at + 8 <= DATA_MAX + SLACK)
				put64(d + at, pick(2) ? counts[pick(ARRAY_SIZE(counts))] : rnd());
			break;
		}
		case 9: { /* records copied over others */
			size_t from = some_start(pg), to = some_start(pg), n = pick(256);
			if (from + n > pg->len)
				n = pg->len - from;
			if (to + n > DATA_MAX + SLACK)
				n = DATA_MAX + SLACK - to;
			memmove(d + to, d + from, n);
			break;
		}
		default: /* a delta */
			at = some_start(pg);
			put32(d + at, (d[at] & 31u) | (uint32_t)rnd() << 5);
			break;
		}
	}
}

/* ---- format files -------------------------------------------------------- */

#define FORMAT_MAX 16384u

static const char *const numbers[] = {
	"0",
	"1",
	"2",
	"3",
	"4",
	"7",
	"8",
	"12",
	"16",
	"48",
	"64",
	"65532",
	"65534",
	"65535",
	"65536",
	"65540",
	"2147483648",
	"4294967292",
	"4294967295",
	"4294967296",
	"-1",
	"-8",
	"0x10",
	"18446744073709551615",
	"99999999999999999999999",
};
static const char *const tokens[] = {
	"field:",
	"offset:",
	"size:",
	"signed:",
	";",
	"\n",
	"\t",
	"[",
	"]",
	"[]",
	"ID: ",
	"\nID: ",
	"__data_loc char[] ",
	"__rel_loc char[] ",
	"const char * ",
	"char ",
	"struct sockaddr * ",
	"unsigned long ",
	"common_",
	"__syscall_nr",
	" _",
	"*",
};
static const char *const field_types[] = {
	"int",
	"unsigned int",
	"long",
	"unsigned long",
	"pid_t",
	"char",
	"const char *",
	"char *",
	"struct sockaddr *",
	"umode_t",
	"u64",
	"__data_loc char[]",
	"__rel_loc char[]",
	"__data_loc int[]",
	"unsigned short",
	"void *",
	"loff_t",
	"u8",
	"const char",
	"uid_t",
};
static const char *const field_names[] = {
	"filename",
	"buf",
	"name",
	"pathname",
	"prev_pid",
	"next_pid",
	"parent_pid",
	"child_pid",
	"pid",
	"common_pid",
	"__syscall_nr",
	"uservaddr",
	"args",
	"x",
	"type",
	"dev_name",
	"a_very_long_field_name_that_does_not_fit_in_sixty_four_bytes_at_all",
};

static void insert(char *d, size_t *n, size_t cap, size_t at, const char *s, size_t len)
{
	if (at > *n || *n + len >= cap)
		return;
	memmove(d + at + len, d + at, *n - at);
	memcpy(d + at, s, len);
	*n += len;
	d[*n] = '\0';
}

/* The beginning of the line holding d[at]. */
static size_t line_start(const char *d, size_t at)
{
	while (at && d[at - 1] != '\n')
		at--;
	return at;
}

static size_t line_end(const char *d, size_t n, size_t at)
{
	while (at < n && d[at] != '\n')
		at++;
	return at < n ? at + 1 : n;
}

static size_t mutate_format(char *d, size_t n, size_t cap)
{
	for (int r = 1 + (int)pick(4); r > 0; r--) {
		size_t at = pick((uint32_t)n + 1), s, e;
		char line[256];
		switch (pick(11)) {
		case 0: /* flip a bit */
			if (at < n)
				d[at] ^= (char)(1u << pick(8));
			break;
		case 1: /* a character that means something */
			if (at < n)
				d[at] = "0123456789:;[]\n\t -x*_"[pick(22)];
			break;
		case 2: /* cut */
			n = at;
			d[n] = '\0';
			break;
		case 3: /* a line twice */
			s = line_start(d, at);
			e = line_end(d, n, s);
			if (e - s < sizeof(line)) {
				memcpy(line, d + s, e - s);
				insert(d, &n, cap, e, line, e - s);
			}
			break;
		case 4: /* a line less */
			s = line_start(d, at);
			e = line_end(d, n, s);
			memmove(d + s, d + e, n - e + 1);
			n -= e - s;
			break;
		case 5: { /* another number */
			while (at < n && !(d[at] >= '0' && d[at] <= '9'))
				at++;
			e = at;
			while (e < n && d[e] >= '0' && d[e] <= '9')
				e++;
			memmove(d + at, d + e, n - e + 1);
			n -= e - at;
			const char *num = numbers[pick(ARRAY_SIZE(numbers))];
			insert(d, &n, cap, at, num, strlen(num));
			break;
		}
		case 6: { /* a token */
			const char *t = tokens[pick(ARRAY_SIZE(tokens))];
			insert(d, &n, cap, at, t, strlen(t));
			break;
		}
		case 7: { /* a field line of its own */
			char array[32] = "";
			if (pick(3) == 0)
				snprintf(array, sizeof(array), "[%s]",
					 numbers[pick(ARRAY_SIZE(numbers))]);
			int len = snprintf(line, sizeof(line),
					   "\tfield:%s %s%s;\toffset:%s;\tsize:%s;\tsigned:%u;\n",
					   field_types[pick(ARRAY_SIZE(field_types))],
					   field_names[pick(ARRAY_SIZE(field_names))], array,
					   numbers[pick(ARRAY_SIZE(numbers))],
					   numbers[pick(ARRAY_SIZE(numbers))], pick(2));
			if (len > 0 && (size_t)len < sizeof(line))
				insert(d, &n, cap, line_start(d, at), line, (size_t)len);
			break;
		}
		case 8: { /* a line of another format */
			const char *o = fmts[pick(NR_EV)].text;
			size_t on = strlen(o), os = line_start(o, pick((uint32_t)on)),
			       oe = line_end(o, on, os);
			insert(d, &n, cap, line_start(d, at), o + os, oe - os);
			break;
		}
		case 10: { /* fields that make events larger than a packet */
			static const uint32_t sizes[] = {32768, 40000, 65527};
			bool strings = pick(2);
			uint32_t size = sizes[pick(ARRAY_SIZE(sizes))];
			s = line_start(d, at);
			for (uint32_t i = 0, times = strings ? 8 + pick(24) : 1 + pick(3);
			     i < times; i++) {
				int len = strings ? snprintf(line, sizeof(line),
							     "\tfield:__data_loc char[] "
							     "s%u;\toffset:%u;"
							     "\tsize:4;\tsigned:0;\n",
							     i, 8 + 4 * pick(4))
						  : snprintf(line, sizeof(line),
							     "\tfield:char big%u[%u];\toffset:8;"
							     "\tsize:%u;\tsigned:0;\n",
							     i, size, size);
				if (len > 0 && (size_t)len < sizeof(line))
					insert(d, &n, cap, s, line, (size_t)len);
			}
			break;
		}
		default: { /* a number of a field made small or large */
			static const char *const keys[] = {"offset:", "size:", "["};
			const char *k = strstr(d + line_start(d, at), keys[pick(3)]);
			if (k) {
				at = (size_t)(k - d) + strcspn(k, "0123456789");
				e = at;
				while (e < n && d[e] >= '0' && d[e] <= '9')
					e++;
				memmove(d + at, d + e, n - e + 1);
				n -= e - at;
				const char *num = numbers[pick(ARRAY_SIZE(numbers))];
				insert(d, &n, cap, at, num, strlen(num));
			}
			break;
		}
		}
	}
	return n;
}

/* ---- rounds ---------------------------------------------------------------- */

static uint64_t nr_rounds, nr_formats, nr_pages, nr_slices, nr_emits;
static bool clean; /* no mutation: what is valid must convert */

static void feed_page(struct kconv *kc, const struct page *pg, uint32_t cpu)
{
	char *copy = malloc(pg->size ? pg->size : 1);
	if (!copy)
		abort();
	memcpy(copy, pg->buf, pg->size);
	int rc = kconv_page(kc, cpu, copy, pg->size);
	free(copy);
	nr_pages++;
	CHECK(rc >= 0 || rc == -EBADMSG, "kconv_page: %d", rc);
	if (!pg->mutated && cpu < chk.config.nr_cpus)
		CHECK(rc == (int)pg->nr_payloads, "kconv_page: %d records of %u", rc,
		      pg->nr_payloads);
}

static int records(struct kconv *kc, uint32_t cpu, const uint8_t *data, size_t len, uint64_t *ts,
		   bool emit)
{
	char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, data, len);
	int rc = kconv_records(kc, cpu, copy, len, ts, emit);
	free(copy);
	nr_slices++;
	CHECK(rc >= 0 || rc == -EBADMSG, "kconv_records: %d", rc);
	return rc;
}

/* The data of a sub-buffer in pieces, as the mmap reader converts it:
 * cut between records, or anywhere. */
static void feed_slices(struct kconv *kc, struct page *pg, uint32_t cpu)
{
	uint64_t ts;
	memcpy(&ts, pg->buf, sizeof(ts));
	if (pick(3) == 0) {
		size_t a = pick(DATA_MAX + SLACK), b = a + pick(DATA_MAX + SLACK - (uint32_t)a + 1);
		records(kc, cpu, data_of(pg) + a, b - a, pick(2) ? &ts : &(uint64_t){rnd()},
			pick(4) != 0);
		return;
	}
	size_t from = 0, len = pg->mutated ? pick(DATA_MAX + SLACK + 1) : pg->len;
	uint32_t next = 0;
	int total = 0;
	bool emit = pick(4) != 0, fails = false;
	while (from < len) {
		size_t to = len;
		while (next < pg->nr_starts && pg->starts[next] <= from)
			next++;
		if (next < pg->nr_starts && pick(3))
			to = pg->starts[next +
					pick(pg->nr_starts - next < 4 ? pg->nr_starts - next : 4)];
		if (to > len)
			to = len;
		int rc = records(kc, cpu, data_of(pg) + from, to - from, &ts, emit || pick(2));
		fails |= rc < 0;
		total += rc > 0 ? rc : 0;
		from = to;
	}
	if (!pg->mutated && cpu < chk.config.nr_cpus)
		CHECK(!fails && total == (int)pg->nr_payloads, "kconv_records: %d records of %u",
		      total, pg->nr_payloads);
}

/* An event of class `id` laid out as declared, at `ts`. */
static void emit_one(struct kconv *kc, uint32_t cpu, uint32_t id, uint64_t ts)
{
	size_t size = 0, cap = 256;
	uint8_t *p = malloc(cap);
	if (!p)
		abort();
	const struct layout *l = id < chk.nr_layouts ? &chk.layouts[id] : NULL;
	for (uint32_t i = 0; l && i < l->nr_fields; i++) {
		size_t n = l->fields[i];
		if (n == STRING_FIELD)
			n = (pick(8) ? pick(40) : pick(chk.config.packet_size + 64)) + 1;
		if (size + n > cap) {
			cap = (size + n) * 2;
			uint8_t *grown = realloc(p, cap);
			if (!grown)
				abort();
			p = grown;
		}
		if (l->fields[i] == STRING_FIELD) {
			memset(p + size, 'a' + (int)pick(26), n - 1);
			p[size + n - 1] = '\0';
		} else {
			for (size_t j = 0; j < n; j++)
				p[size + j] = (uint8_t)rnd();
		}
		size += n;
	}
	if (!l)
		size = pick(64);
	bool valid = cpu < chk.config.nr_cpus && l &&
		     size + REEL_CTF_PACKET_HEADER_SIZE + REEL_CTF_HEADER_EXTENDED <=
			     chk.config.packet_size;
	uint8_t *exact = malloc(size ? size : 1);
	if (!exact)
		abort();
	memcpy(exact, p, size);
	free(p);
	int rc = kconv_emit(kc, cpu, id, ts, exact, size);
	free(exact);
	nr_emits++;
	CHECK(valid ? rc == 0 : rc == -EINVAL, "kconv_emit: %d (%zu bytes, class %u, cpu %u)", rc,
	      size, id, cpu);
}

static void flush_all(struct kconv *kc)
{
	for (uint32_t cpu = 0; cpu < chk.config.nr_cpus; cpu++)
		kconv_flush(kc, cpu, pick(4) == 0);
}

static void one_round(void)
{
	static const uint32_t packet_sizes[] = {65536, 65536 + 4096, 1u << 20};
	chk.config = (struct kconv_config){
		.nr_cpus = 1 + pick(4),
		.packet_size = pick(4) ? packet_sizes[pick(ARRAY_SIZE(packet_sizes))]
				       : 65536 + pick(1 << 16),
		.packet = on_packet,
		.arg = &chk,
		.user_string = pick(2) ? user_string : NULL,
		.user_string_arg = &user_calls,
	};
	for (int i = 0; i < 16; i++)
		chk.config.uuid[i] = (uint8_t)rnd();
	memcpy(chk.uuid, chk.config.uuid, 16);
	chk.chunk_begin = 0;
	memset(chk.next_seq, 0, sizeof(chk.next_seq));
	memset(chk.discarded, 0, sizeof(chk.discarded));
	memset(chk.last_end, 0, sizeof(chk.last_end));
	chk.events = chk.packets = 0;
	struct kconv *kc;
	CHECK(kconv_new(&chk.config, &kc) == 0, "kconv_new");

	/* The classes: the seeds, some mutated, and Reel's own. */
	static char text[FORMAT_MAX];
	uint32_t declared = 0, nr_formats_now = NR_EV + (clean ? 0 : pick(3));
	for (uint32_t e = 0; e < nr_formats_now; e++) {
		const struct fmt_seed *s = &fmts[e < NR_EV ? e : pick(NR_EV)];
		const char *system = s->system, *name = s->name;
		size_t n = strlen(s->text);
		memcpy(text, s->text, n + 1);
		if (!clean && (e >= NR_EV || pick(3) == 0)) {
			n = mutate_format(text, n, sizeof(text));
			if (pick(8) == 0) {
				const char *const *other =
					other_names[pick(ARRAY_SIZE(other_names))];
				system = other[0];
				name = other[1];
			}
		}
		char *exact = malloc(n + 1);
		if (!exact)
			abort();
		memcpy(exact, text, n + 1);
		int rc = kconv_add_event(kc, system, name, exact);
		free(exact);
		nr_formats++;
		CHECK(rc == 0 || rc == -EEXIST || rc == -EINVAL, "kconv_add_event: %d", rc);
		CHECK(!clean || rc == 0, "kconv_add_event %s: %d", name, rc);
		declared += rc == 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(synthetic); i++) {
		uint32_t id;
		CHECK(kconv_add_synthetic(kc, synthetic[i][0], synthetic[i][1], &id) == 0 &&
			      id == declared,
		      "kconv_add_synthetic");
		declared++;
	}
	parse_layouts(kc);
	CHECK(chk.nr_layouts == declared, "%u classes declared, %u in the metadata", declared,
	      chk.nr_layouts);
	if (clean) {
		/* openat: dfd (int), filename (a string, eBPF or not: LTTng's
		 * layout), flags (int), mode (umode_t). */
		const struct layout *l = &chk.layouts[EV_OPENAT];
		CHECK(l->nr_fields == 4 && l->fields[0] == 4 && l->fields[2] == 4 &&
			      l->fields[3] == 2 && l->fields[1] == STRING_FIELD,
		      "sys_enter_openat: unexpected layout");
		/* connect: fd, uservaddr, addrlen, then the address (always). */
		CHECK(chk.layouts[EV_CONNECT].nr_fields == 7u,
		      "sys_enter_connect: unexpected layout");
	}

	/* Sub-buffers and the rest, interleaved. */
	static struct page pg;
	uint64_t now = pick(4) ? 1000000 + pick(1u << 30) : (rnd() >> 5);
	for (uint32_t a = 1 + pick(24); a > 0; a--) {
		uint32_t cpu = pick(chk.config.nr_cpus + (clean ? 0 : 1));
		switch (pick(10)) {
		case 0:
		case 1:
		case 2:
			build_page(&pg, now);
			if (!clean && pick(2))
				mutate_page(&pg);
			feed_page(kc, &pg, cpu);
			break;
		case 3:
		case 4:
			build_page(&pg, now);
			if (!clean && pick(2))
				mutate_page(&pg);
			feed_slices(kc, &pg, cpu);
			break;
		case 5:
			kconv_flush(kc, cpu, pick(2));
			break;
		case 6: { /* a new chunk (rotation), maybe a new trace UUID */
			flush_all(kc);
			uint64_t begin = pick(2) ? now : now - pick(1u << 20);
			kconv_new_chunk(kc, begin);
			chk.chunk_begin = begin;
			memset(chk.discarded, 0, sizeof(chk.discarded));
			memset(chk.last_end, 0, sizeof(chk.last_end));
			if (pick(2)) {
				for (int i = 0; i < 16; i++)
					chk.uuid[i] = (uint8_t)rnd();
				kconv_set_uuid(kc, chk.uuid);
			}
			break;
		}
		case 7:
			kconv_discarded(kc, cpu, pick(4) ? pick(100) : pick(1u << 31));
			break;
		default:
			emit_one(kc, cpu, pick(chk.nr_layouts + 2),
				 pick(4) ? now : now - pick(1000));
			break;
		}
		now += pick(1u << 22) + (pick(16) ? 0 : pg.ts - now);
	}

	for (uint32_t cpu = 0; cpu < chk.config.nr_cpus; cpu++)
		kconv_flush(kc, cpu, false);
	struct kconv_stats st;
	kconv_stats(kc, &st);
	CHECK(st.events == chk.events && st.packets == chk.packets,
	      "stats: %" PRIu64 " events in %" PRIu64 " packets, checked %" PRIu64 " in %" PRIu64,
	      st.events, st.packets, chk.events, chk.packets);
	total_events += chk.events;
	total_packets += chk.packets;
	kconv_destroy(kc);
	nr_rounds++;
}

/* What kconv_new refuses. */
static void config_edges(void)
{
	struct kconv_config c = {.nr_cpus = 1, .packet_size = 65536, .packet = on_packet};
	struct kconv *kc = NULL;
	c.packet_size = 65535;
	CHECK(kconv_new(&c, &kc) == -EINVAL, "kconv_new: small packets");
	c.packet_size = 65536;
	c.nr_cpus = 0;
	CHECK(kconv_new(&c, &kc) == -EINVAL, "kconv_new: no CPU");
	c.nr_cpus = 1;
	c.packet = NULL;
	CHECK(kconv_new(&c, &kc) == -EINVAL, "kconv_new: no callback");
	kconv_destroy(NULL);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	if (argc > 2)
		rng = strtoull(argv[2], NULL, 0) | 1;
	make_user();
	config_edges();

	/* The seeds as they are, first. */
	clean = true;
	for (int i = 0; i < 64; i++) {
		round_nr++;
		one_round();
	}
	clean = false;

	struct timespec t0, t;
	double elapsed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		round_nr++;
		one_round();
		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
	} while (elapsed < seconds);

	layouts_free();
	for (size_t i = 0; i < 8; i++) {
		free(ustr[i].d);
		free(usock[i].d);
	}
	printf("fuzz-kconv: %" PRIu64 " rounds (%.0f/s): %" PRIu64 " formats, %" PRIu64
	       " sub-buffers, %" PRIu64 " slices, %" PRIu64 " emits (%.0f inputs/s); %" PRIu64
	       " events in %" PRIu64 " packets checked, %" PRIu64 " user lookups; no crash\n",
	       nr_rounds, (double)nr_rounds / elapsed, nr_formats, nr_pages, nr_slices, nr_emits,
	       (double)(nr_formats + nr_pages + nr_slices + nr_emits) / elapsed, total_events,
	       total_packets, user_calls);
	return 0;
}
