/* SPDX-License-Identifier: MIT */
/* Instantiates the LTTng-UST probes and tracepoint definitions of
 * bench-tp-lttng.h, once per program. */
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "bench-tp-lttng.h"
