/* SPDX-License-Identifier: MIT */
/*
 * statedump: what a userspace trace needs to know about a process that it
 * cannot see in its events, as LTTng-UST records it: the process name and
 * every loaded object (executable, shared libraries) with its load
 * address, size, path and build id, between lttng_ust_statedump:start and
 * :end. Emitted when the session daemon asks (a session starts, a chunk
 * begins, the application registers with a started session); recorded only
 * where a rule enables `lttng_ust_statedump:*`, as with LTTng.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <link.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <reel/tracepoint.h>

#include "ust-local.h"

REEL_EVENT(lttng_ust_statedump, start, REEL_LOGLEVEL_DEBUG_SYSTEM, (void), )

REEL_EVENT(lttng_ust_statedump, procname, REEL_LOGLEVEL_DEBUG_SYSTEM, (const char *procname),
	   reel_field_string(procname, procname))

REEL_EVENT(lttng_ust_statedump, bin_info, REEL_LOGLEVEL_DEBUG_SYSTEM,
	   (uint64_t baddr, uint64_t memsz, const char *path, uint8_t is_pic, uint8_t has_build_id),
	   reel_field_integer_hex(uint64_t, baddr, baddr)
	   reel_field_integer(uint64_t, memsz, memsz)
	   reel_field_string(path, path)
	   reel_field_integer(uint8_t, is_pic, is_pic)
	   reel_field_integer(uint8_t, has_build_id, has_build_id)
	   reel_field_integer(uint8_t, has_debug_link, 0))

REEL_EVENT(lttng_ust_statedump, build_id, REEL_LOGLEVEL_DEBUG_SYSTEM,
	   (uint64_t baddr, const uint8_t *id, uint32_t len),
	   reel_field_integer_hex(uint64_t, baddr, baddr)
	   reel_field_sequence(uint8_t, build_id, id, len))

REEL_EVENT(lttng_ust_statedump, end, REEL_LOGLEVEL_DEBUG_SYSTEM, (void), )

/* The GNU build id among the notes of a PT_NOTE segment, or NULL. */
static const uint8_t *find_build_id(const char *notes, size_t size, uint32_t *ret_len)
{
	size_t pos = 0;
	while (pos + sizeof(ElfW(Nhdr)) <= size) {
		ElfW(Nhdr) n;
		memcpy(&n, notes + pos, sizeof(n));
		size_t name = pos + sizeof(n), desc = name + ((n.n_namesz + 3u) & ~3u);
		size_t next = desc + ((n.n_descsz + 3u) & ~3u);
		if (next > size || next <= pos)
			return NULL;
		if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 &&
		    memcmp(notes + name, "GNU", 4) == 0) {
			*ret_len = n.n_descsz;
			return (const uint8_t *)notes + desc;
		}
		pos = next;
	}
	return NULL;
}

static int object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	uint64_t low = UINT64_MAX, high = 0;
	const uint8_t *id = NULL;
	uint32_t id_len = 0;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type == PT_LOAD) {
			if (p->p_vaddr < low)
				low = p->p_vaddr;
			if (p->p_vaddr + p->p_memsz > high)
				high = p->p_vaddr + p->p_memsz;
		} else if (p->p_type == PT_NOTE && !id) {
			id = find_build_id((const char *)(info->dlpi_addr + p->p_vaddr), p->p_memsz,
					   &id_len);
		}
	}
	if (low == UINT64_MAX)
		return 0; /* nothing mapped */
	const char *path = info->dlpi_name;
	if (!path || !*path) { /* the executable, as exec() was given it */
		const char *execfn = (const char *)getauxval(AT_EXECFN);
		path = execfn ? execfn : "";
	}
	uint64_t baddr = info->dlpi_addr + low;
	reel_tracepoint(lttng_ust_statedump, bin_info, baddr, high - low, path,
			(uint8_t)(info->dlpi_addr != 0), (uint8_t)(id != NULL));
	if (id)
		reel_tracepoint(lttng_ust_statedump, build_id, baddr, id, id_len);
	return 0;
}

void reel_ust_statedump(void)
{
	/* The process's name as the kernel has it (the executable's, 15
	 * bytes at most), without a system call: the statedump must not
	 * change the syscalls a traced program makes. */
	char name[16];
	snprintf(name, sizeof(name), "%s", program_invocation_short_name);
	reel_tracepoint(lttng_ust_statedump, start);
	reel_tracepoint(lttng_ust_statedump, procname, name);
	dl_iterate_phdr(object, NULL);
	reel_tracepoint(lttng_ust_statedump, end);
}
