/* SPDX-License-Identifier: MIT */
/* What the syscall-args eBPF program and its loader share: the per-syscall
 * configuration map's value and the ring buffer record. Included by the BPF
 * program (types from vmlinux.h) and by the loader (types from
 * <linux/types.h>), so it uses only the kernel's __uN types. */
#ifndef REEL_KERNEL_BPF_SYSCALL_ARGS_ABI_H
#define REEL_KERNEL_BPF_SYSCALL_ARGS_ABI_H

/* Syscall numbers at or above this are ignored (x32 numbers, for one). */
#define REEL_SA_MAX_SYSCALLS 512
/* Longest payload: PATH_MAX, the kernel's own limit for a path. */
#define REEL_SA_MAX_DATA 4096
/* Bytes read from a struct sockaddr: sizeof(struct sockaddr_in6). */
#define REEL_SA_MAX_SOCKADDR 28

enum reel_sa_kind {
	REEL_SA_KIND_STRING = 1,
	REEL_SA_KIND_SOCKADDR = 2,
	/* A task was created (sched_process_fork): tid is the new task's, the
	 * data two __u32: its thread group id, its parent's. */
	REEL_SA_KIND_FORK = 3,
};

/* Value of the `sa_config` array map, indexed by syscall number. All zero
 * (the map's initial content): nothing to copy. */
struct reel_sa_config {
	__u8 string_mask;      /* bit i: argument i is a user `const char *` */
	__u8 has_sockaddr;     /* 1: the next two fields are meaningful */
	__u8 sockaddr_arg;     /* argument holding a `struct sockaddr *` */
	__u8 sockaddr_len_arg; /* argument holding its length (an int) */
};

/* One ring buffer record: this header, then `len` bytes of data. For a
 * string, `len` counts the terminating NUL (which is always there, the
 * string being cut if longer than REEL_SA_MAX_DATA - 1). */
struct reel_sa_record {
	__u64 ktime; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 tid;
	__u32 tgid;
	__u32 nr;
	__u32 arg;
	__u64 ptr;
	__u16 len;
	__u8 kind;
	__u8 pad[5];
};

#endif
