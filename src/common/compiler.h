/* SPDX-License-Identifier: MIT */
/* Compiler helpers shared by every component. */
#ifndef REEL_COMMON_COMPILER_H
#define REEL_COMMON_COMPILER_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define REEL_HIDDEN __attribute__((visibility("hidden")))
#define REEL_CACHELINE 64
#define REEL_ALIGN_CACHELINE __attribute__((aligned(REEL_CACHELINE)))

#define REEL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Relaxed, acquire and release accessors; every acquire/release use says at
 * its call site which operation it pairs with. */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif
