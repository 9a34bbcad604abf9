/* SPDX-License-Identifier: MIT */
/* Syscall payloads from eBPF: the user strings (paths, names) and socket
 * addresses that syscalls receive, which tracefs records only as pointers.
 *
 * An optional CO-RE program (bpf/syscall-args.bpf.c) on the sys_enter raw
 * tracepoint copies, for every syscall configured here, each string argument
 * and the socket address into a ring buffer, one record per argument, keyed
 * by (thread, user pointer). The kernel domain drains the records after
 * reading a batch of tracefs pages and before converting it; when it
 * converts sys_enter_X of thread T whose string argument holds pointer P, it
 * takes the record (T, P).
 *
 * Records are missing, never wrong, when: the string's page was not resident
 * (the program may not fault; counted by reel_syscall_args_unreadable), the
 * ring buffer was full (reel_syscall_args_dropped), the thread belongs to
 * `self` (the daemon), or the syscall was a 32-bit one (which tracefs does
 * not record either).
 *
 * Syscall numbers. The program is keyed by syscall number; tracefs names
 * events by the kernel's syscall name and does not give the number (only
 * recorded events hold __syscall_nr). The names are mapped to numbers with a
 * table generated at build time from the target's <sys/syscall.h>
 * (gen-syscall-names.py), completed by: the kernel's names for syscalls that
 * the headers name differently (newstat is stat, umount is umount2 on
 * x86-64, sendfile64 is sendfile), and the numbers of syscalls newer than
 * the headers, which since Linux 5.1 are the same on every architecture
 * (424 and up). Syscall numbers are ABI, so the table built on an older
 * system stays right; a syscall it does not know is not configured. The
 * consumer needs no numbers: it matches records by (tid, pointer).
 *
 * Order: the program and the tracefs syscall events are both probes on the
 * sys_enter tracepoint, called in the order they were registered (ftrace
 * registers its probe when the first syscall event of any instance is
 * enabled). Open this before enabling the tracefs events, and a record is
 * in the ring buffer before the tracefs event of its syscall is; otherwise,
 * on a miss, drain once more before giving up on a string.
 *
 * Without clang, bpftool, libbpf or kernel BTF at build time, the loader is
 * built without the program and reel_syscall_args_open fails with
 * -ENOTSUP. Not thread-safe: one thread uses a handle at a time. */
#ifndef REEL_KERNEL_SYSCALL_ARGS_H
#define REEL_KERNEL_SYSCALL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

struct reel_syscall_args;

/* Which arguments (0 to 5, in the order of the sys_enter_X event's fields
 * after __syscall_nr) of syscall `nr` to copy: bit i of string_mask for a
 * user `const char *`; sockaddr_arg for a `struct sockaddr *` whose length
 * is the int argument sockaddr_len_arg (both -1 for none). */
struct reel_syscall_arg_config {
	uint32_t nr;
	uint8_t string_mask;
	int8_t sockaddr_arg;
	int8_t sockaddr_len_arg;
};

enum reel_syscall_arg_kind {
	REEL_SYSCALL_ARG_STRING = 1,   /* data: the string and its NUL (len counts it) */
	REEL_SYSCALL_ARG_SOCKADDR = 2, /* data: the first len (at most 28) bytes */
	REEL_SYSCALL_ARG_FORK = 3,     /* a task created: tid its; data: u32 tgid, u32 parent's tgid */
};

/* One record, as reel_syscall_args_drain passes it. */
struct reel_syscall_arg {
	uint64_t ktime; /* CLOCK_MONOTONIC ns, at syscall entry */
	uint32_t tid, tgid, nr, arg;
	uint64_t ptr; /* the user pointer the syscall received */
	uint8_t kind; /* enum reel_syscall_arg_kind */
	uint16_t len;
	const char *data;
};

/* Load the program, configure it with `cfg` (nr_cfg entries; a syscall
 * number at or above 512 is an error), and attach it. Threads of process
 * `self` are not recorded (pass getpid(), or 0 for none). On failure,
 * `reason` (when not NULL) gets a sentence saying why: not root, BPF refused,
 * built without eBPF, ... libbpf's own messages are silenced meanwhile (its
 * print callback is process-wide: not to be called while another thread
 * uses libbpf). Returns 0 and *ret, or a negative errno: -ENOTSUP when built
 * without eBPF, -EPERM when not allowed, -EINVAL for a bad configuration. */
int reel_syscall_args_open(const struct reel_syscall_arg_config *cfg, size_t nr_cfg, pid_t self,
			   struct reel_syscall_args **ret, char *reason,
			   size_t reason_size) REEL_HIDDEN;

/* Copy the arguments of syscall cfg->nr as `cfg` says (`on`), or none of
 * them: the configuration can change while the program runs. */
int reel_syscall_args_set(struct reel_syscall_args *sa, const struct reel_syscall_arg_config *cfg,
			  bool on) REEL_HIDDEN;

/* The ring buffer's file descriptor, for epoll: it becomes readable when
 * records fill an eighth of the ring buffer (512 KiB), not for each record
 * (a wakeup per record made every recorded syscall microseconds slower):
 * drain after every tracefs batch as well. */
int reel_syscall_args_fd(const struct reel_syscall_args *sa) REEL_HIDDEN;

/* Call cb for every record available now, oldest first; rec->data is valid
 * only during the call. A non-zero return of cb stops the drain and is
 * returned (records not yet passed stay for the next drain). Returns the
 * count of records passed, or a negative errno. */
int reel_syscall_args_drain(struct reel_syscall_args *sa,
			    int (*cb)(void *arg, const struct reel_syscall_arg *rec),
			    void *arg) REEL_HIDDEN;

/* Records lost because the ring buffer was full, since open. */
uint64_t reel_syscall_args_dropped(const struct reel_syscall_args *sa) REEL_HIDDEN;
/* Arguments not recorded because their memory could not be read then. */
uint64_t reel_syscall_args_unreadable(const struct reel_syscall_args *sa) REEL_HIDDEN;

/* Detach and free. Accepts NULL. */
void reel_syscall_args_destroy(struct reel_syscall_args *sa) REEL_HIDDEN;

/* Build the configuration from the tracefs directory `tracefs_dir` (e.g.
 * /sys/kernel/tracing or an instance): for every events/syscalls/sys_enter_X
 * whose syscall number is known (see above), the `const char *` fields that
 * are paths or names (not buffers such as write's buf), a few `char *`
 * ones that are paths too (mount's dev_name, dir_name and type, ...), and a
 * `struct sockaddr *` followed by an int length (connect, bind, sendto; not
 * accept's, which is written by the kernel). Syscalls without any are left
 * out. Returns 0 with *ret_cfg (free() it) and *ret_nr, or a negative errno
 * (-ENOENT when tracefs has no syscall events). */
int reel_syscall_args_config_from_tracefs(const char *tracefs_dir,
					  struct reel_syscall_arg_config **ret_cfg,
					  size_t *ret_nr) REEL_HIDDEN;

/* Whether field `name` of C type `type` (as a format file writes them) of
 * sys_enter_<sc> is a NUL-terminated user string that the program copies:
 * `const char *` ones but data buffers, a few `char *` paths. */
bool reel_syscall_arg_is_string(const char *sc, const char *type, const char *name) REEL_HIDDEN;

/* The number of syscall `name` (the kernel's name, as in sys_enter_<name>),
 * or -1 when unknown. */
long reel_syscall_nr_from_name(const char *name) REEL_HIDDEN;

#endif
