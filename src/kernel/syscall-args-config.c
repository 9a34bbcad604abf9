/* SPDX-License-Identifier: MIT */
/* The syscall-args configuration read from tracefs: which arguments of which
 * syscall are user strings or socket addresses, and syscall names mapped to
 * numbers (see syscall-args.h for why and how). Reads files only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/syscall-args.h"
#include "kernel/syscall-names.h"

/* Syscalls of Linux 5.1 and later are numbered alike on every architecture
 * but alpha: the numbers of those newer than the build's headers may be.
 * Only the ones whose name the headers lack are looked up here. */
static const struct reel_syscall_name unified_names[] = {
	{"cachestat", 451},	    {"fchmodat2", 452},	       {"map_shadow_stack", 453},
	{"futex_wake", 454},	    {"futex_wait", 455},       {"futex_requeue", 456},
	{"statmount", 457},	    {"listmount", 458},	       {"lsm_get_self_attr", 459},
	{"lsm_set_self_attr", 460}, {"lsm_list_modules", 461}, {"mseal", 462},
	{"setxattrat", 463},	    {"getxattrat", 464},       {"listxattrat", 465},
	{"removexattrat", 466},	    {"open_tree_attr", 467},   {"file_getattr", 468},
	{"file_setattr", 469},
};

/* Kernel names (SYSCALL_DEFINE, hence tracefs) that differ from the
 * headers' __NR_ names, when the headers lack the kernel's. */
static const struct {
	const char *kernel, *header;
} renamed[] = {
	{"sendfile64", "sendfile"},
	{"umount", "umount2"},
};

static int name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct reel_syscall_name *)elem)->name);
}

static long header_nr(const char *name)
{
	const struct reel_syscall_name *n =
		bsearch(name, reel_syscall_names, reel_syscall_names_count, sizeof(*n), name_cmp);

	return n ? n->nr : -1;
}

long reel_syscall_nr_from_name(const char *name)
{
	long nr = header_nr(name);

	if (nr >= 0)
		return nr;
	/* newstat, newlstat, newfstat, newuname: the headers' stat, ... */
	if (!strncmp(name, "new", 3) && (nr = header_nr(name + 3)) >= 0)
		return nr;
	for (size_t i = 0; i < REEL_ARRAY_SIZE(renamed); i++)
		if (!strcmp(name, renamed[i].kernel))
			return header_nr(renamed[i].header);
#if !defined(__alpha__)
	for (size_t i = 0; i < REEL_ARRAY_SIZE(unified_names); i++)
		if (!strcmp(name, unified_names[i].name))
			return unified_names[i].nr;
#endif
	return -1;
}

/* Is field `name` of type `type` of syscall `sc` a NUL-terminated user
 * string? `const char *` ones are, except data buffers; of the `char *`
 * ones, which are mostly buffers the kernel writes, only a few paths. */
bool reel_syscall_arg_is_string(const char *sc, const char *type, const char *name)
{
	static const char *const buffers[] = {"buf", "ubuf", "u_msg_ptr"};
	static const char *const paths[] = {"filename", "pathname", "dev_name", "dir_name", "type"};

	if (!strcmp(type, "const char *")) {
		for (size_t i = 0; i < REEL_ARRAY_SIZE(buffers); i++)
			if (!strcmp(name, buffers[i]))
				return false;
		return true;
	}
	if (!strcmp(type, "char *")) {
		if (!strcmp(sc, "umount") && !strcmp(name, "name"))
			return true;
		for (size_t i = 0; i < REEL_ARRAY_SIZE(paths); i++)
			if (!strcmp(name, paths[i]))
				return true;
	}
	return false;
}

/* Parse one "\tfield:TYPE NAME;\toffset:..." line into `type` and `name`.
 * Returns false for any other line. */
static bool parse_field(char *line, const char **ret_type, const char **ret_name)
{
	char *f = strstr(line, "field:"), *end, *sp;

	if (!f)
		return false;
	f += strlen("field:");
	end = strchr(f, ';');
	if (!end)
		return false;
	*end = '\0';
	sp = strrchr(f, ' ');
	if (!sp || sp == f)
		return false;
	*sp = '\0';
	*ret_type = f;
	*ret_name = sp + 1;
	return true;
}

/* Fill `c` from the format file of sys_enter_<sc>. Returns 1 when the
 * syscall has something to copy, 0 when not, or a negative errno. */
static int parse_format(FILE *f, const char *sc, struct reel_syscall_arg_config *c)
{
	char line[512], prev_type[64] = "";
	int arg = -1;

	c->string_mask = 0;
	c->sockaddr_arg = c->sockaddr_len_arg = -1;
	while (fgets(line, sizeof(line), f)) {
		const char *type, *name;

		if (!parse_field(line, &type, &name) || !strncmp(name, "common_", 7))
			continue;
		if (!strcmp(name, "__syscall_nr")) {
			arg = 0;
			continue;
		}
		if (arg < 0 || arg > 5)
			return -EBADMSG; /* not the layout of a syscall event */
		if (reel_syscall_arg_is_string(sc, type, name))
			c->string_mask |= 1u << arg;
		if (!strcmp(type, "int") && !strcmp(prev_type, "struct sockaddr *")) {
			c->sockaddr_arg = arg - 1;
			c->sockaddr_len_arg = arg;
		}
		snprintf(prev_type, sizeof(prev_type), "%s", type);
		arg++;
	}
	if (ferror(f))
		return -EIO;
	return c->string_mask || c->sockaddr_arg >= 0;
}

static int cfg_cmp(const void *a, const void *b)
{
	const struct reel_syscall_arg_config *x = a, *y = b;

	return (x->nr > y->nr) - (x->nr < y->nr);
}

int reel_syscall_args_config_from_tracefs(const char *tracefs_dir,
					  struct reel_syscall_arg_config **ret_cfg, size_t *ret_nr)
{
	struct reel_syscall_arg_config *cfg = NULL;
	size_t nr = 0, cap = 0;
	struct dirent *de;
	char path[4096];
	DIR *d;
	int r = 0;

	if (!tracefs_dir || !ret_cfg || !ret_nr)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/events/syscalls", tracefs_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		const char *sc;
		long sc_nr;
		FILE *f;

		if (strncmp(de->d_name, "sys_enter_", 10))
			continue;
		sc = de->d_name + 10;
		sc_nr = reel_syscall_nr_from_name(sc);
		if (sc_nr < 0 || sc_nr >= 512)
			continue; /* unknown to this build: not configured */
		if ((size_t)snprintf(path, sizeof(path), "%s/events/syscalls/%s/format",
				     tracefs_dir, de->d_name) >= sizeof(path)) {
			r = -ENAMETOOLONG;
			goto out;
		}
		if (nr == cap) {
			size_t ncap = cap ? cap * 2 : 64, bytes;
			void *p;

			if (__builtin_mul_overflow(ncap, sizeof(*cfg), &bytes)) {
				r = -ENOMEM;
				goto out;
			}
			p = realloc(cfg, bytes);
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			cfg = p;
			cap = ncap;
		}
		f = fopen(path, "re");
		if (!f) {
			r = -errno;
			goto out;
		}
		cfg[nr].nr = sc_nr;
		r = parse_format(f, sc, &cfg[nr]);
		fclose(f);
		if (r < 0)
			goto out;
		nr += r;
		r = 0;
	}
	if (errno) {
		r = -errno;
		goto out;
	}
	if (!nr) {
		r = -ENOENT;
		goto out;
	}
	qsort(cfg, nr, sizeof(*cfg), cfg_cmp);
out:
	closedir(d);
	if (r < 0) {
		free(cfg);
		return r;
	}
	*ret_cfg = cfg;
	*ret_nr = nr;
	return 0;
}
