/* SPDX-License-Identifier: MIT */
/* Shared by the files of src/kernel; nothing outside uses it. */
#ifndef REEL_KERNEL_LOCAL_H
#define REEL_KERNEL_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kconvert.h"

/* statedump.c: the lttng_statedump_* event classes, and writing them. */
struct kstatedump {
	uint32_t start, end, process_state, file_descriptor, block_device;
};
int kstatedump_declare(struct kconv *kc, struct kstatedump *ret);
/* Scan `proc_root` and record what it holds on CPU 0's stream at `ts`. */
int kstatedump_write(struct kconv *kc, const struct kstatedump *ids, uint64_t ts,
		     const char *proc_root);

/* sysargs.c: syscall string arguments from eBPF, matched by (tid, pointer). */
struct reel_ktrace_syscall_args;
/* NULL, with `why` saying why, when eBPF cannot be used. */
struct reel_ktrace_syscall_args *kernel_syscall_args_open(char *why, size_t why_size);
void kernel_syscall_args_close(struct reel_ktrace_syscall_args *sa);
/* Copy the arguments of `syscall` from now on (`on`), or stop. */
void kernel_syscall_args_enable(struct reel_ktrace_syscall_args *sa, const char *syscall, bool on);
/* Take the records the program wrote since the last call. */
void kernel_syscall_args_drain(struct reel_ktrace_syscall_args *sa);
/* kconv_user_string_fn; `arg` is the struct reel_ktrace_syscall_args. */
const char *kernel_syscall_args_lookup(void *arg, uint8_t kind, uint32_t tid, uint64_t ptr,
				       uint32_t *ret_len);

#endif
