// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* syscall-args: copies the user strings and socket addresses that syscalls
 * receive into a ring buffer, so that the kernel domain of reeld can put
 * them in the syscall_entry_* events that tracefs records only as pointers.
 * Attached to the sys_enter raw tracepoint (BTF-typed); loaded and fed by
 * src/kernel/syscall-args.c, which owns the configuration. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "syscall-args-abi.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The daemon's own process: its syscalls are not recorded (feedback). Set
 * by the loader before load. */
const volatile __u32 self_tgid = 0;
/* Bytes waiting in the ring buffer from which a record wakes the reader up.
 * Waking it for every record (the default when it keeps up) costs the
 * traced syscall microseconds; the reader drains after every tracefs batch
 * anyway. Set by the loader. */
const volatile __u32 wakeup_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REEL_SA_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct reel_sa_config);
} sa_config SEC(".maps");

/* Sized by the loader (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} sa_records SEC(".maps");

enum { STAT_DROPPED, STAT_UNREADABLE, STAT_COUNT };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sa_stats SEC(".maps");

/* A record is built here, then copied at its exact size into the ring buffer:
 * reserving the largest size for every record would fill it with unused
 * bytes, paths being mostly short. */
struct scratch {
	struct reel_sa_record hdr;
	char data[REEL_SA_MAX_DATA];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} sa_scratch SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&sa_stats, &which);

	if (v)
		*v += 1; /* per-CPU, and this program does not nest on a CPU */
}

/* The i-th syscall argument as the user passed it. */
static __always_inline __u64 syscall_arg(struct pt_regs *regs, int i)
{
#if defined(__TARGET_ARCH_x86)
	switch (i) {
	case 0:
		return BPF_CORE_READ(regs, di);
	case 1:
		return BPF_CORE_READ(regs, si);
	case 2:
		return BPF_CORE_READ(regs, dx);
	case 3:
		return BPF_CORE_READ(regs, r10);
	case 4:
		return BPF_CORE_READ(regs, r8);
	default:
		return BPF_CORE_READ(regs, r9);
	}
#elif defined(__TARGET_ARCH_arm64)
	/* x0 is overwritten by the return value; orig_x0 keeps the argument. */
	struct user_pt_regs *u = (struct user_pt_regs *)regs;

	switch (i) {
	case 0:
		return BPF_CORE_READ(regs, orig_x0);
	case 1:
		return BPF_CORE_READ(u, regs[1]);
	case 2:
		return BPF_CORE_READ(u, regs[2]);
	case 3:
		return BPF_CORE_READ(u, regs[3]);
	case 4:
		return BPF_CORE_READ(u, regs[4]);
	default:
		return BPF_CORE_READ(u, regs[5]);
	}
#else
#error "syscall-args.bpf.c: unsupported architecture"
#endif
}

static __always_inline void emit(struct scratch *s, __u32 kind, __u32 arg, __u64 ptr, long len)
{
	__u64 flags;

	/* Bounded again, right before use, so that the verifier sees the
	 * size's range whatever clang did with the earlier checks. */
	if (len < 0 || len > REEL_SA_MAX_DATA)
		return;
	s->hdr.kind = kind;
	s->hdr.arg = arg;
	s->hdr.ptr = ptr;
	s->hdr.len = len;
	flags = bpf_ringbuf_query(&sa_records, BPF_RB_AVAIL_DATA) >= wakeup_bytes
			? BPF_RB_FORCE_WAKEUP
			: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&sa_records, s, sizeof(s->hdr) + len, flags))
		stat_inc(STAT_DROPPED);
}

static __always_inline void copy_string(struct scratch *s, struct pt_regs *regs, __u8 mask, int i)
{
	__u64 ptr;
	long n;

	if (!(mask & (1u << i)))
		return;
	ptr = syscall_arg(regs, i);
	if (!ptr)
		return;
	/* Fails when the page is not resident: this program may not fault
	 * it in. Such a string is counted, not recorded. */
	n = bpf_probe_read_user_str(s->data, sizeof(s->data), (const void *)ptr);
	if (n <= 0) {
		stat_inc(STAT_UNREADABLE);
		return;
	}
	emit(s, REEL_SA_KIND_STRING, i, ptr, n);
}

static __always_inline void copy_sockaddr(struct scratch *s, struct pt_regs *regs,
					  const struct reel_sa_config *c)
{
	__u64 ptr;
	long len;

	if (c->sockaddr_arg > 5 || c->sockaddr_len_arg > 5)
		return;
	ptr = syscall_arg(regs, c->sockaddr_arg);
	len = (int)syscall_arg(regs, c->sockaddr_len_arg);
	if (!ptr || len <= 0)
		return;
	if (len > REEL_SA_MAX_SOCKADDR)
		len = REEL_SA_MAX_SOCKADDR;
	if (bpf_probe_read_user(s->data, len, (const void *)ptr)) {
		stat_inc(STAT_UNREADABLE);
		return;
	}
	emit(s, REEL_SA_KIND_SOCKADDR, c->sockaddr_arg, ptr, len);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(reel_sys_enter, struct pt_regs *regs, long id)
{
	const struct reel_sa_config *c;
	struct scratch *s;
	__u32 key = 0, nr;
	__u64 pid_tgid;

	if (id < 0 || id >= REEL_SA_MAX_SYSCALLS)
		return 0;
	nr = id;
	c = bpf_map_lookup_elem(&sa_config, &nr);
	if (!c || (!c->string_mask && !c->has_sockaddr))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)(pid_tgid >> 32) == self_tgid)
		return 0;
#if defined(__TARGET_ARCH_x86)
	/* A 32-bit syscall numbers its calls differently, and tracefs does
	 * not record it: TS_COMPAT (asm/thread_info.h, a macro BTF lacks). */
	if (bpf_core_field_exists(struct thread_info, status) &&
	    (bpf_get_current_task_btf()->thread_info.status & 0x0002))
		return 0;
#endif
	s = bpf_map_lookup_elem(&sa_scratch, &key);
	if (!s)
		return 0;
	s->hdr.ktime = bpf_ktime_get_ns();
	s->hdr.tid = (__u32)pid_tgid;
	s->hdr.tgid = pid_tgid >> 32;
	s->hdr.nr = nr;

	copy_string(s, regs, c->string_mask, 0);
	copy_string(s, regs, c->string_mask, 1);
	copy_string(s, regs, c->string_mask, 2);
	copy_string(s, regs, c->string_mask, 3);
	copy_string(s, regs, c->string_mask, 4);
	copy_string(s, regs, c->string_mask, 5);
	if (c->has_sockaddr)
		copy_sockaddr(s, regs, c);
	return 0;
}

/* tracefs's sched_process_fork names the tasks by their kernel ids (tids);
 * LTTng's gives the thread groups too, which analyses need to tell a new
 * thread from a new process. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(reel_fork, struct task_struct *parent, struct task_struct *child)
{
	struct scratch *s;
	__u32 key = 0, ids[2];

	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	s = bpf_map_lookup_elem(&sa_scratch, &key);
	if (!s)
		return 0;
	ids[0] = BPF_CORE_READ(child, tgid);
	ids[1] = BPF_CORE_READ(parent, tgid);
	s->hdr.ktime = bpf_ktime_get_ns();
	s->hdr.tid = BPF_CORE_READ(child, pid);
	s->hdr.tgid = ids[0];
	s->hdr.nr = 0;
	__builtin_memcpy(s->data, ids, sizeof(ids));
	emit(s, REEL_SA_KIND_FORK, 0, 0, sizeof(ids));
	return 0;
}
