/* SPDX-License-Identifier: MIT */
/*
 * sysargs: the strings and socket addresses that syscalls received,
 * recorded by the eBPF program of syscall-args.c, kept until the
 * conversion of the matching sys_enter event asks for them by (thread,
 * user pointer).
 *
 * The program copies the arguments of the syscalls whose entry is
 * enabled only (kernel_syscall_args_enable()). Records live in a ring of
 * slots, the oldest overwritten first (those no event asks for). Each key
 * (kind, thread, pointer) has a first-in first-out queue of its records: a
 * thread that passes the same buffer again and again (a path in a loop)
 * queues records in the order its events come, and both the lookup and the
 * eviction take a queue's head: constant time, however long the queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tracefs.h>

#include "../common/log.h"
#include "kernel-local.h"
#include "syscall-args.h"

#define NR_SLOTS 65536u /* records kept: the backlog of one pass and more */
#define NR_BUCKETS 131072u
#define INLINE 120u /* bytes of a record kept in its slot; longer ones on the heap */
#define NONE UINT32_MAX

struct slot {
	uint64_t seq;
	uint32_t len;
	uint32_t key;  /* its queue */
	uint32_t next; /* the next record of its queue */
	bool used;
	char *heap; /* the data when longer than INLINE */
	char text[INLINE];
};

struct key {
	uint64_t ptr;
	uint32_t tid;
	uint8_t kind; /* enum kconv_user_kind */
	uint32_t head, tail; /* slots, oldest first */
	uint32_t next;       /* in its bucket */
};

struct reel_ktrace_syscall_args {
	struct reel_syscall_args *bpf;
	struct reel_syscall_arg_config *cfg; /* every syscall that has some, by number */
	size_t nr_cfg;
	struct slot slots[NR_SLOTS];
	struct key keys[NR_SLOTS]; /* at most one per slot in use */
	uint32_t free_keys[NR_SLOTS];
	uint32_t nr_free_keys;
	uint32_t buckets[NR_BUCKETS];
	uint64_t seq; /* records received */
};

static uint32_t bucket_of(uint8_t kind, uint32_t tid, uint64_t ptr)
{
	uint64_t h = (ptr ^ ((uint64_t)tid << 32) ^ tid ^ kind) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 47) & (NR_BUCKETS - 1);
}

static uint32_t key_find(const struct reel_ktrace_syscall_args *sa, uint8_t kind, uint32_t tid,
			 uint64_t ptr)
{
	for (uint32_t k = sa->buckets[bucket_of(kind, tid, ptr)]; k != NONE; k = sa->keys[k].next)
		if (sa->keys[k].ptr == ptr && sa->keys[k].tid == tid && sa->keys[k].kind == kind)
			return k;
	return NONE;
}

static void key_free(struct reel_ktrace_syscall_args *sa, uint32_t k)
{
	struct key *key = &sa->keys[k];
	uint32_t *link = &sa->buckets[bucket_of(key->kind, key->tid, key->ptr)];
	while (*link != NONE && *link != k)
		link = &sa->keys[*link].next;
	if (*link == k)
		*link = key->next;
	sa->free_keys[sa->nr_free_keys++] = k;
}

/* Take the head of queue `k`; the queue goes when empty. */
static uint32_t pop(struct reel_ktrace_syscall_args *sa, uint32_t k)
{
	uint32_t i = sa->keys[k].head;
	sa->keys[k].head = sa->slots[i].next;
	if (sa->keys[k].head == NONE)
		key_free(sa, k);
	sa->slots[i].used = false;
	return i;
}

static const char *slot_data(const struct slot *s)
{
	return s->heap ? s->heap : s->text;
}

static int on_record(void *arg, const struct reel_syscall_arg *rec)
{
	struct reel_ktrace_syscall_args *sa = arg;
	uint8_t kind;
	uint32_t len = rec->len;
	if (rec->kind == REEL_SYSCALL_ARG_STRING) {
		kind = KCONV_USER_STRING;
		len = len ? len - 1u : 0; /* without its NUL */
	} else if (rec->kind == REEL_SYSCALL_ARG_SOCKADDR) {
		kind = KCONV_USER_SOCKADDR;
	} else if (rec->kind == REEL_SYSCALL_ARG_FORK) {
		kind = KCONV_USER_FORK;
	} else {
		return 0;
	}
	uint32_t i = (uint32_t)(sa->seq % NR_SLOTS);
	struct slot *s = &sa->slots[i];
	if (s->used) /* the oldest record: the head of its queue */
		pop(sa, s->key);
	free(s->heap);
	s->heap = NULL;
	if (len >= INLINE && !(s->heap = malloc(len + 1)))
		return 0;
	char *dst = s->heap ? s->heap : s->text;
	memcpy(dst, rec->data, len);
	dst[len] = '\0';
	s->len = len;
	s->seq = sa->seq++;
	s->next = NONE;
	s->used = true;
	uint32_t k = key_find(sa, kind, rec->tid, rec->ptr);
	if (k == NONE) {
		k = sa->free_keys[--sa->nr_free_keys];
		uint32_t b = bucket_of(kind, rec->tid, rec->ptr);
		sa->keys[k] = (struct key){ rec->ptr, rec->tid, kind, i, i, sa->buckets[b] };
		sa->buckets[b] = k;
	} else {
		sa->slots[sa->keys[k].tail].next = i;
		sa->keys[k].tail = i;
	}
	s->key = k;
	return 0;
}

struct reel_ktrace_syscall_args *kernel_syscall_args_open(char *why, size_t why_size)
{
	struct reel_ktrace_syscall_args *sa = calloc(1, sizeof(*sa));
	if (!sa) {
		snprintf(why, why_size, "syscall string arguments unavailable: out of memory");
		return NULL;
	}
	const char *dir = tracefs_tracing_dir();
	int e = dir ? reel_syscall_args_config_from_tracefs(dir, &sa->cfg, &sa->nr_cfg) : -ENOENT;
	if (e) {
		snprintf(why, why_size, "syscall string arguments unavailable: %s", strerror(-e));
		free(sa);
		return NULL;
	}
	memset(sa->buckets, 0xff, sizeof(sa->buckets));
	for (uint32_t k = 0; k < NR_SLOTS; k++)
		sa->free_keys[k] = NR_SLOTS - 1 - k;
	sa->nr_free_keys = NR_SLOTS;
	char reason[256] = "";
	/* Nothing copied until a syscall is enabled. */
	e = reel_syscall_args_open(NULL, 0, getpid(), &sa->bpf, reason, sizeof(reason));
	if (e) {
		snprintf(why, why_size,
			 "syscall string arguments (paths) are recorded as pointers: %s",
			 reason[0] ? reason : strerror(-e));
		free(sa->cfg);
		free(sa);
		return NULL;
	}
	return sa;
}

void kernel_syscall_args_enable(struct reel_ktrace_syscall_args *sa, const char *syscall, bool on)
{
	long nr = reel_syscall_nr_from_name(syscall);
	for (size_t i = 0; nr >= 0 && i < sa->nr_cfg; i++)
		if (sa->cfg[i].nr == (uint32_t)nr) {
			int e = reel_syscall_args_set(sa->bpf, &sa->cfg[i], on);
			if (e)
				reel_debug("syscall %s arguments: %s", syscall, strerror(-e));
			return;
		}
}

void kernel_syscall_args_close(struct reel_ktrace_syscall_args *sa)
{
	if (!sa)
		return;
	reel_syscall_args_destroy(sa->bpf);
	for (uint32_t i = 0; i < NR_SLOTS; i++)
		free(sa->slots[i].heap);
	free(sa->cfg);
	free(sa);
}

void kernel_syscall_args_drain(struct reel_ktrace_syscall_args *sa)
{
	reel_syscall_args_drain(sa->bpf, on_record, sa);
}

const char *kernel_syscall_args_lookup(void *arg, uint8_t kind, uint32_t tid, uint64_t ptr,
				       uint32_t *ret_len)
{
	struct reel_ktrace_syscall_args *sa = arg;
	uint32_t k = key_find(sa, kind, tid, ptr);
	if (k == NONE) {
		/* Its record may have been written just after the event was
		 * read: the program can run after tracefs's probe. */
		kernel_syscall_args_drain(sa);
		k = key_find(sa, kind, tid, ptr);
	}
	if (k == NONE)
		return NULL;
	uint32_t i = pop(sa, k);
	*ret_len = sa->slots[i].len;
	return slot_data(&sa->slots[i]);
}
