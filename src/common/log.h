/* SPDX-License-Identifier: MIT */
/* The tracer's own diagnostics: silent unless REEL_DEBUG is set, since a
 * library traced into an application must not write on its stderr. */
#ifndef REEL_COMMON_LOG_H
#define REEL_COMMON_LOG_H

#include "compiler.h"

void reel_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2))) REEL_HIDDEN;

#endif
