/* SPDX-License-Identifier: MIT */
/* args: parsing and checking the values given on the command line, with
 * clear messages. Calls only the C library. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <reel/tracepoint.h>

#include "args.h"
#include "cli.h"

/* Parse the leading decimal digits of `s`; *end is where they stop. */
static int parse_digits(const char *s, uint64_t *ret, const char **end)
{
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	uint64_t v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -ERANGE;
	}
	*ret = v;
	*end = s;
	return 0;
}

int cli_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	const char *end;
	int err = parse_digits(s, &v, &end);
	if (err)
		return err;
	if (*end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	const char *end;
	int err = parse_digits(s, &v, &end);
	if (err)
		return err;
	unsigned int shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	}
	if (shift) {
		end++;
		if (strcmp(end, "B") == 0 || strcmp(end, "iB") == 0)
			end += strlen(end);
	}
	if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	v <<= shift;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int cli_parse_duration_us(const char *s, uint64_t max, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		uint64_t us;
	} units[] = {
		{"", 1},	{"us", 1},	 {"ms", 1000},
		{"s", 1000000}, {"m", 60000000}, {"h", 3600000000ull},
	};
	uint64_t v;
	const char *end;
	int err = parse_digits(s, &v, &end);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (__builtin_mul_overflow(v, units[i].us, &v) || v > max)
			return -ERANGE;
		*ret = v;
		return 0;
	}
	return -EINVAL;
}

static const char *const loglevel_names[] = {
	[REEL_LOGLEVEL_EMERG] = "TRACE_EMERG",
	[REEL_LOGLEVEL_ALERT] = "TRACE_ALERT",
	[REEL_LOGLEVEL_CRIT] = "TRACE_CRIT",
	[REEL_LOGLEVEL_ERR] = "TRACE_ERR",
	[REEL_LOGLEVEL_WARNING] = "TRACE_WARNING",
	[REEL_LOGLEVEL_NOTICE] = "TRACE_NOTICE",
	[REEL_LOGLEVEL_INFO] = "TRACE_INFO",
	[REEL_LOGLEVEL_DEBUG_SYSTEM] = "TRACE_DEBUG_SYSTEM",
	[REEL_LOGLEVEL_DEBUG_PROGRAM] = "TRACE_DEBUG_PROGRAM",
	[REEL_LOGLEVEL_DEBUG_PROCESS] = "TRACE_DEBUG_PROCESS",
	[REEL_LOGLEVEL_DEBUG_MODULE] = "TRACE_DEBUG_MODULE",
	[REEL_LOGLEVEL_DEBUG_UNIT] = "TRACE_DEBUG_UNIT",
	[REEL_LOGLEVEL_DEBUG_FUNCTION] = "TRACE_DEBUG_FUNCTION",
	[REEL_LOGLEVEL_DEBUG_LINE] = "TRACE_DEBUG_LINE",
	[REEL_LOGLEVEL_DEBUG] = "TRACE_DEBUG",
};

#define NR_LOGLEVELS ((int32_t)(sizeof(loglevel_names) / sizeof(loglevel_names[0])))

int cli_parse_loglevel(const char *s, int32_t *ret)
{
	uint64_t v;
	int err = cli_parse_uint(s, NR_LOGLEVELS - 1, &v);
	if (err != -EINVAL) {
		if (!err)
			*ret = (int32_t)v;
		return err;
	}
	const char *name = strncasecmp(s, "TRACE_", 6) == 0 ? s + 6 : s;
	for (int32_t i = 0; i < NR_LOGLEVELS; i++) {
		if (strcasecmp(name, loglevel_names[i] + 6) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cli_loglevel_name(int32_t level)
{
	return level >= 0 && level < NR_LOGLEVELS ? loglevel_names[level] : NULL;
}

int cli_split_list(const char *cmd, const char *what, char *text, char ***ret, size_t *ret_nr)
{
	size_t nr = 1;
	for (const char *p = text; *p; p++)
		nr += *p == ',';
	char **items = calloc(nr, sizeof(*items));
	if (!items)
		return cli_error(cmd, "%s", strerror(ENOMEM));
	char *p = text;
	for (size_t i = 0; i < nr; i++) {
		items[i] = p;
		p += strcspn(p, ",");
		if (*p)
			*p++ = '\0';
		if (!*items[i]) {
			free(items);
			return cli_usage_error(cmd, "empty %s in the list", what);
		}
	}
	*ret = items;
	*ret_nr = nr;
	return 0;
}

int cli_bad_option(const char *cmd, int c, int argc, char **argv, const struct option *longopts)
{
	const char *arg = optind >= 1 && optind - 1 < argc ? argv[optind - 1] : "";
	bool is_long = strncmp(arg, "--", 2) == 0;
	size_t name_len = is_long ? strcspn(arg, "=") : 0;

	if (c == ':') {
		if (is_long)
			return cli_usage_error(cmd, "option '%.*s' requires an argument",
					       (int)name_len, arg);
		return cli_usage_error(cmd, "option '-%c' requires an argument", optopt);
	}
	if (c == '?' && is_long && arg[name_len] == '=') {
		/* "--json=x": a known option that takes no argument? */
		for (const struct option *o = longopts; o->name; o++) {
			if (strlen(o->name) == name_len - 2 &&
			    strncmp(o->name, arg + 2, name_len - 2) == 0 &&
			    o->has_arg == no_argument)
				return cli_usage_error(cmd, "option '--%s' takes no argument",
						       o->name);
		}
	}
	if (c == '?' && !is_long && optopt > 0 && optopt < 0x100)
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);
	if (is_long)
		return cli_usage_error(cmd, "unknown or ambiguous option '%.*s'", (int)name_len,
				       arg);
	return cli_usage_error(cmd, "unknown option '%s'", arg);
}

int cli_domain_option(const char *cmd, int c, struct cli_domain *ret)
{
	switch (c) {
	case 'u':
		ret->userspace = true;
		return 0;
	case 'k':
		ret->kernel = true;
		return 0;
	case 's':
		if (!*optarg)
			return cli_usage_error(cmd, "the session name is empty");
		ret->session = optarg;
		return 0;
	case 'c':
		if (!*optarg)
			return cli_usage_error(cmd, "the channel name is empty");
		ret->channel = optarg;
		return 0;
	default:
		return -1;
	}
}

int cli_domain_check(const char *cmd, const struct cli_domain *d, bool kernel_ok)
{
	if (d->kernel && d->userspace)
		return cli_usage_error(cmd, "-u and -k exclude each other: one domain at a time");
	if (d->kernel && !kernel_ok)
		return cli_error(cmd, "the kernel domain has no %s; use -u (--userspace)", cmd);
	if (!d->userspace && !d->kernel)
		return cli_usage_error(cmd, "no domain: give -u (--userspace) or -k (--kernel)");
	return 0;
}

int cli_parse_plain(const char *cmd, int argc, char **argv, void (*help)(void),
		    const char **ret_arg)
{
	static const struct option longopts[] = {
		CLI_HELP_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case CLI_OPT_JSON:
			cli_json = true;
			break;
		default:
			return cli_bad_option(cmd, c, argc, argv, longopts);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	*ret_arg = optind < argc ? argv[optind] : NULL;
	return -1;
}
