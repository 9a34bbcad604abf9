/* SPDX-License-Identifier: MIT */
/* Syscall names and numbers of the build's target, generated at build time
 * from <sys/syscall.h> (gen-syscall-names.py), sorted by name. */
#ifndef REEL_KERNEL_SYSCALL_NAMES_H
#define REEL_KERNEL_SYSCALL_NAMES_H

#include <stddef.h>

#include "common/compiler.h"

struct reel_syscall_name {
	const char *name;
	long nr;
};

extern const struct reel_syscall_name reel_syscall_names[] REEL_HIDDEN;
extern const size_t reel_syscall_names_count REEL_HIDDEN;

#endif
