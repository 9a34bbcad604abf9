/* SPDX-License-Identifier: MIT */
/* The trace clock: source selection and calibration (see clock.h). */
#define _GNU_SOURCE
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

bool reel_clock_is_tsc;

static bool read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* The TSC is usable when it is invariant (constant rate, runs in deep
 * C-states) and the kernel trusts it enough to use it as its clocksource,
 * which it only does once it has checked that the CPUs' TSCs agree. */
static bool tsc_is_reliable(void)
{
#if defined(__x86_64__)
	unsigned int eax, ebx, ecx, edx;
	if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 8)))
		return false;
	char source[64];
	if (!read_small_file("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			     source, sizeof(source)))
		return false;
	return strcmp(source, "tsc") == 0;
#else
	return false;
#endif
}

static void choose_source(void)
{
	const char *forced = getenv("REEL_CLOCK");
	if (forced && strcmp(forced, "monotonic") == 0)
		reel_clock_is_tsc = false;
	else
		reel_clock_is_tsc = tsc_is_reliable();
}

void reel_clock_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, choose_source);
}

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Read `clock_id` and the trace clock at (nearly) the same instant: the
 * trace clock is read on both sides and the narrowest of a few tries wins. */
static void sample_pair(clockid_t clock_id, uint64_t *ret_ticks, uint64_t *ret_ns)
{
	uint64_t best_width = UINT64_MAX;
	for (int i = 0; i < 16; i++) {
		struct timespec ts;
		uint64_t before = reel_clock_read();
		clock_gettime(clock_id, &ts);
		uint64_t after = reel_clock_read();
		if (after - before < best_width) {
			best_width = after - before;
			*ret_ticks = before + (after - before) / 2;
			*ret_ns = timespec_ns(&ts);
		}
	}
}

void reel_clock_sample(struct reel_clock_sample *ret)
{
	sample_pair(CLOCK_MONOTONIC_RAW, &ret->ticks, &ret->raw_ns);
}

/* The boot id, with its last hex digit changed for the TSC source so that
 * the two sources never claim to be the same clock. */
static void clock_uuid(char uuid[37])
{
	if (!read_small_file("/proc/sys/kernel/random/boot_id", uuid, 37) || strlen(uuid) != 36)
		strcpy(uuid, "00000000-0000-4000-8000-000000000000");
	if (reel_clock_is_tsc) {
		static const char hex[] = "0123456789abcdef";
		const char *digit = strchr(hex, uuid[35]);
		uuid[35] = hex[(digit && *digit ? digit - hex : 0) ^ 1];
	}
}

int reel_clock_describe(const struct reel_clock_sample *since, uint64_t min_ns,
			struct reel_clock_desc *ret)
{
	struct reel_clock_desc desc = { 0 };
	uint64_t freq = 1000000000u;

	if (reel_clock_is_tsc) {
		struct reel_clock_sample now;
		reel_clock_sample(&now);
		if (now.raw_ns < since->raw_ns + min_ns) {
			uint64_t wait = since->raw_ns + min_ns - now.raw_ns;
			struct timespec ts = { 0, (long)wait };
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
			reel_clock_sample(&now);
		}
		if (now.raw_ns <= since->raw_ns || now.ticks <= since->ticks)
			return -EINVAL;
		freq = (uint64_t)((unsigned __int128)(now.ticks - since->ticks) * 1000000000u /
				  (now.raw_ns - since->raw_ns));
		if (freq == 0)
			return -EINVAL;
	}

	/* Epoch time of tick 0, in ns. */
	uint64_t ticks, real_ns;
	sample_pair(CLOCK_REALTIME, &ticks, &real_ns);
	unsigned __int128 elapsed_ns = (unsigned __int128)ticks * 1000000000u / freq;
	if (elapsed_ns > real_ns)
		return -ERANGE; /* the wall clock says it is before boot */
	uint64_t zero_ns = real_ns - (uint64_t)elapsed_ns;

	desc.freq = freq;
	desc.offset_s = (int64_t)(zero_ns / 1000000000u);
	desc.offset = (uint64_t)((unsigned __int128)(zero_ns % 1000000000u) * freq / 1000000000u);
	desc.source = reel_clock_is_tsc ? "tsc" : "monotonic";
	clock_uuid(desc.uuid);
	*ret = desc;
	return 0;
}
