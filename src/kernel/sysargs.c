/* SPDX-License-Identifier: MIT */
/*
 * sysargs: the strings that syscalls received, recorded by the eBPF
 * program of syscall-args.c, kept until the conversion of the matching
 * sys_enter event asks for them by (thread, user pointer).
 *
 * Records live in a ring of slots, oldest overwritten first (those no
 * event asks for: syscalls or threads not traced), indexed by a chained
 * hash of (tid, pointer). When a thread passes the same pointer several
 * times before the consumer gets there, the oldest record goes to the
 * first event: both are in order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tracefs.h>

#include "kernel-local.h"
#include "syscall-args.h"

#define NR_SLOTS 16384u
#define NR_BUCKETS 32768u
#define NONE UINT32_MAX

struct slot {
	uint64_t ptr, seq;
	uint32_t tid, len, cap;
	uint8_t kind; /* enum kconv_user_kind */
	uint32_t next; /* in its bucket's chain */
	bool used;
	char *str;
};

struct reel_ktrace_syscall_args {
	struct reel_syscall_args *bpf;
	struct slot slots[NR_SLOTS];
	uint32_t buckets[NR_BUCKETS];
	uint64_t seq; /* records received */
};

static uint32_t bucket_of(uint32_t tid, uint64_t ptr)
{
	uint64_t h = (ptr ^ ((uint64_t)tid << 32) ^ tid) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 49) & (NR_BUCKETS - 1);
}

static void unlink_slot(struct reel_ktrace_syscall_args *sa, uint32_t i)
{
	struct slot *s = &sa->slots[i];
	uint32_t *link = &sa->buckets[bucket_of(s->tid, s->ptr)];
	while (*link != NONE && *link != i)
		link = &sa->slots[*link].next;
	if (*link == i)
		*link = s->next;
	s->used = false;
}

static int on_record(void *arg, const struct reel_syscall_arg *rec)
{
	struct reel_ktrace_syscall_args *sa = arg;
	if (rec->kind != REEL_SYSCALL_ARG_STRING && rec->kind != REEL_SYSCALL_ARG_SOCKADDR)
		return 0;
	bool string = rec->kind == REEL_SYSCALL_ARG_STRING;
	uint32_t i = (uint32_t)(sa->seq % NR_SLOTS);
	struct slot *s = &sa->slots[i];
	if (s->used)
		unlink_slot(sa, i);
	uint32_t len = string && rec->len ? rec->len - 1u : rec->len; /* a string without its NUL */
	if (len + 1 > s->cap) {
		char *grown = realloc(s->str, len + 1);
		if (!grown)
			return 0;
		s->str = grown;
		s->cap = len + 1;
	}
	memcpy(s->str, rec->data, len);
	s->str[len] = '\0';
	s->len = len;
	s->tid = rec->tid;
	s->ptr = rec->ptr;
	s->kind = string ? KCONV_USER_STRING : KCONV_USER_SOCKADDR;
	s->seq = sa->seq++;
	s->used = true;
	uint32_t b = bucket_of(s->tid, s->ptr);
	s->next = sa->buckets[b];
	sa->buckets[b] = i;
	return 0;
}

struct reel_ktrace_syscall_args *kernel_syscall_args_open(char *why, size_t why_size)
{
	struct reel_syscall_arg_config *cfg = NULL;
	size_t nr = 0;
	const char *dir = tracefs_tracing_dir();
	int e = dir ? reel_syscall_args_config_from_tracefs(dir, &cfg, &nr) : -ENOENT;
	if (e) {
		snprintf(why, why_size, "syscall string arguments unavailable: %s", strerror(-e));
		return NULL;
	}
	struct reel_ktrace_syscall_args *sa = calloc(1, sizeof(*sa));
	if (!sa) {
		free(cfg);
		snprintf(why, why_size, "syscall string arguments unavailable: out of memory");
		return NULL;
	}
	memset(sa->buckets, 0xff, sizeof(sa->buckets));
	char reason[256] = "";
	e = reel_syscall_args_open(cfg, nr, getpid(), &sa->bpf, reason, sizeof(reason));
	free(cfg);
	if (e) {
		snprintf(why, why_size,
			 "syscall string arguments (paths) are recorded as pointers: %s",
			 reason[0] ? reason : strerror(-e));
		free(sa);
		return NULL;
	}
	return sa;
}

void kernel_syscall_args_close(struct reel_ktrace_syscall_args *sa)
{
	if (!sa)
		return;
	reel_syscall_args_destroy(sa->bpf);
	for (uint32_t i = 0; i < NR_SLOTS; i++)
		free(sa->slots[i].str);
	free(sa);
}

void kernel_syscall_args_drain(struct reel_ktrace_syscall_args *sa)
{
	reel_syscall_args_drain(sa->bpf, on_record, sa);
}

static uint32_t find(struct reel_ktrace_syscall_args *sa, uint8_t kind, uint32_t tid, uint64_t ptr)
{
	uint32_t best = NONE;
	for (uint32_t i = sa->buckets[bucket_of(tid, ptr)]; i != NONE; i = sa->slots[i].next) {
		const struct slot *s = &sa->slots[i];
		if (s->tid == tid && s->ptr == ptr && s->kind == kind &&
		    (best == NONE || s->seq < sa->slots[best].seq))
			best = i;
	}
	return best;
}

const char *kernel_syscall_args_lookup(void *arg, uint8_t kind, uint32_t tid, uint64_t ptr,
				       uint32_t *ret_len)
{
	struct reel_ktrace_syscall_args *sa = arg;
	uint32_t best = find(sa, kind, tid, ptr);
	if (best == NONE) {
		/* Its record may have been written just after the event was
		 * read: the program can run after tracefs's probe. */
		kernel_syscall_args_drain(sa);
		best = find(sa, kind, tid, ptr);
	}
	if (best == NONE)
		return NULL;
	unlink_slot(sa, best);
	*ret_len = sa->slots[best].len;
	return sa->slots[best].str;
}
