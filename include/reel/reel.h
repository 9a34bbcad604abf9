/* SPDX-License-Identifier: MIT */
/*
 * libreel-ust: control of in-process tracing.
 *
 * Standalone mode writes the process's own trace through a consumer thread
 * inside the process, with no daemon. It starts by itself when the
 * environment has REEL_OUTPUT=DIR, or by a call to reel_output_start().
 * The trace goes to DIR/ust/pid/<procname>-<pid>-<date>-<time>/, laid out as
 * LTTng lays out per-process traces: open it with `babeltrace2 DIR`.
 *
 * Environment (read by the automatic start):
 *   REEL_OUTPUT=DIR          start tracing into DIR
 *   REEL_EVENTS=GLOB,...     enable only matching "provider:event" names
 *   REEL_SUBBUF_SIZE=BYTES   sub-buffer size (power of two, k/M suffixes)
 *   REEL_NUM_SUBBUF=N        sub-buffers per CPU (power of two)
 *   REEL_OVERWRITE=1         flight-recorder mode: overwrite oldest packets
 *   REEL_SWITCH_TIMER_US=US  close quiet packets this often (0: never)
 *   REEL_CLOCK=monotonic     use CLOCK_MONOTONIC rather than the TSC
 *   REEL_DEBUG=1             print the tracer's own errors on stderr
 */
#ifndef REEL_REEL_H
#define REEL_REEL_H

#include <stddef.h>
#include <stdint.h>

#include <reel/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct reel_output_config {
	size_t struct_size;    /* sizeof(struct reel_output_config) */
	const char *path;      /* output directory; required */
	const char *events;    /* comma-separated globs; NULL: every event */
	uint32_t subbuf_size;  /* 0: 512 KiB */
	uint32_t num_subbuf;   /* 0: 4 */
	int overwrite;         /* non-zero: overwrite mode */
	uint32_t switch_timer_us; /* 0: 1 s; UINT32_MAX: never */
};

/*
 * Start standalone tracing. Returns 0, -EBUSY when tracing is already on,
 * -EINVAL for a bad configuration, or the negative errno of what failed
 * (creating the output directory, the buffers, the consumer thread).
 * Thread-safe. The trace directory is available from reel_output_path().
 */
REEL_API int reel_output_start(const struct reel_output_config *config);

/*
 * Stop: disable every event, flush every buffer to disk, write the final
 * metadata and join the consumer thread. Called automatically at exit.
 * Returns 0, -ENOENT when tracing was off, or -EIO when some data could not
 * be written. Thread-safe; not from a signal handler.
 */
REEL_API int reel_output_stop(void);

/* The trace directory of the current or last standalone session, or NULL. */
REEL_API const char *reel_output_path(void);

#ifdef __cplusplus
}
#endif

#endif
