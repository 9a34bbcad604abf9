/* SPDX-License-Identifier: MIT */
/* daemon: how the `reel` commands reach reeld and show what it says.
 * Calls libreel-ctl and output.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"

/* Without $REEL_SESSIOND_PATH, the reeld installed beside this reel (or
 * built beside it: src/cli/reel and src/sessiond/reeld), else $PATH's. */
static void find_sessiond(void)
{
	const char *set = getenv("REEL_SESSIOND_PATH");
	if (set && *set)
		return;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	static const char *const near[] = { "reeld", "../sessiond/reeld" };
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/%s", self, near[i]);
		if (access(path, X_OK) == 0) {
			setenv("REEL_SESSIOND_PATH", path, 1);
			return;
		}
	}
}

int cli_connect(const char *cmd, unsigned int flags, struct reel_ctl **ret)
{
	char rundir[PATH_MAX];
	if (flags & REEL_CTL_SPAWN)
		find_sessiond();
	int err = reel_ctl_rundir(rundir, sizeof(rundir));
	if (err)
		return cli_error(cmd, "the daemon's run directory is too long (REEL_RUNDIR?)");
	struct reel_ctl *ctl;
	err = reel_ctl_connect(rundir, flags, &ctl);
	if (err == 0) {
		*ret = ctl;
		return 0;
	}
	if (err == -ENOENT || err == -ECONNREFUSED) {
		if (flags & REEL_CTL_SPAWN)
			return cli_error(
				cmd,
				"no session daemon is running in %s and none could be started "
				"(reeld is looked for in $PATH, or at $REEL_SESSIOND_PATH)",
				rundir);
		return cli_error(
			cmd,
			"no session daemon is running in %s "
			"(start one with `reeld --daemonize`, or `reel create` starts one)",
			rundir);
	}
	if (err == -ECHILD && (flags & REEL_CTL_SPAWN))
		return cli_error(cmd,
				 "no session daemon is running in %s and the one started failed "
				 "(run `reeld --verbose` to see why)",
				 rundir);
	if (err == -EACCES || err == -EPERM)
		return cli_error(cmd, "not allowed to reach the session daemon in %s: %s", rundir,
				 strerror(-err));
	return cli_error(cmd, "cannot reach the session daemon in %s: %s", rundir, strerror(-err));
}

int cli_ctl_error(const char *cmd, const struct reel_ctl *ctl, int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *why = ctl ? reel_ctl_last_error(ctl) : NULL;
	if (!why || !*why)
		why = strerror(err < 0 ? -err : err);
	return cli_error(cmd, "%s: %s", what, why);
}

int cli_session_name(const char *cmd, struct reel_ctl *ctl, const char *name, char **ret)
{
	char *copy = NULL;
	if (name) {
		copy = strdup(name);
	} else {
		struct reel_session_list *list;
		int err = reel_ctl_list_sessions(ctl, &list);
		if (err)
			return cli_ctl_error(cmd, ctl, err, "cannot list the sessions");
		if (!list->current) {
			reel_session_list_free(list);
			return cli_error(
				cmd,
				"no current session: name one, or create one with `reel create`");
		}
		copy = strdup(list->current);
		reel_session_list_free(list);
	}
	if (!copy)
		return cli_error(cmd, "%s", strerror(ENOMEM));
	*ret = copy;
	return 0;
}

const struct reel_session_status *cli_find_session(const struct reel_session_list *list,
						   const char *name)
{
	for (size_t i = 0; name && i < list->nr_sessions; i++)
		if (list->sessions[i].name && strcmp(list->sessions[i].name, name) == 0)
			return &list->sessions[i];
	return NULL;
}

const struct reel_channel_status *cli_find_channel(const struct reel_session_status *session,
						   const char *name)
{
	for (size_t i = 0; name && i < session->nr_channels; i++)
		if (session->channels[i].name && strcmp(session->channels[i].name, name) == 0)
			return &session->channels[i];
	return NULL;
}

const char *cli_buffers_name(uint32_t buffers)
{
	return buffers == REEL_BUFFERS_PID ? "pid" : "uid";
}

void cli_json_channel(struct cli_json_writer *w, const char *key,
		      const struct reel_channel_status *c)
{
	cli_json_begin_object(w, key);
	cli_json_string(w, "name", c->name);
	cli_json_string(w, "domain", c->domain == REEL_DOMAIN_KERNEL ? "kernel" : "ust");
	cli_json_uint(w, "subbuf_size", c->subbuf_size);
	cli_json_uint(w, "num_subbuf", c->num_subbuf);
	cli_json_bool(w, "overwrite", c->overwrite);
	cli_json_string(w, "buffers", cli_buffers_name(c->buffers));
	cli_json_uint(w, "switch_timer_us", c->switch_timer_us);
	cli_json_uint(w, "packets_written", c->packets_written);
	cli_json_uint(w, "bytes_written", c->bytes_written);
	cli_json_uint(w, "events_discarded", c->events_discarded);
	cli_json_uint(w, "packets_lost", c->packets_lost);
	cli_json_double(w, "bytes_per_second", c->bytes_per_second);
	cli_json_begin_array(w, "rules");
	for (size_t i = 0; i < c->nr_rules; i++)
		cli_json_string(w, NULL, c->rules[i]);
	cli_json_end_array(w);
	cli_json_begin_array(w, "contexts");
	for (size_t i = 0; i < c->nr_contexts; i++)
		cli_json_string(w, NULL, c->contexts[i]);
	cli_json_end_array(w);
	cli_json_end_object(w);
}

void cli_json_session(struct cli_json_writer *w, const char *key,
		      const struct reel_session_status *s, bool current)
{
	cli_json_begin_object(w, key);
	cli_json_string(w, "name", s->name);
	cli_json_string(w, "output", s->output);
	cli_json_bool(w, "active", s->active);
	cli_json_bool(w, "current", current);
	cli_json_uint(w, "apps", s->nr_apps);
	cli_json_string(w, "error", s->error);
	cli_json_begin_array(w, "channels");
	for (size_t i = 0; i < s->nr_channels; i++)
		cli_json_channel(w, NULL, &s->channels[i]);
	cli_json_end_array(w);
	cli_json_end_object(w);
}

static const char *str_or(const char *s, const char *fallback)
{
	return s ? s : fallback;
}

void cli_print_session(const struct reel_session_status *s, bool current)
{
	char buf[64];
	printf("Recording session %s: [%s]%s\n", str_or(s->name, "?"),
	       s->active ? "active" : "inactive", current ? " (current)" : "");
	printf("    Trace output: %s\n", str_or(s->output, "(none)"));
	printf("    Applications: %u\n", s->nr_apps);
	if (s->error)
		printf("    Error: %s\n", s->error);
	if (!s->nr_channels) {
		printf("\nNo channel: `reel enable-channel -u` or `reel enable-event -u` adds "
		       "one.\n");
		return;
	}
	uint32_t domain = UINT32_MAX;
	for (size_t i = 0; i < s->nr_channels; i++) {
		const struct reel_channel_status *c = &s->channels[i];
		if (c->domain != domain) {
			domain = c->domain;
			printf("\n=== Domain: %s ===\n\nChannels:\n-------------\n",
			       domain == REEL_DOMAIN_KERNEL ? "Linux kernel" : "User space");
		}
		printf("- %s:\n\n", str_or(c->name, "?"));
		printf("    Attributes:\n");
		printf("      Event-loss mode:  %s\n", c->overwrite ? "overwrite" : "discard");
		cli_format_bytes(buf, sizeof(buf), c->subbuf_size);
		printf("      Sub-buffer size:  %u bytes (%s)\n", c->subbuf_size, buf);
		printf("      Sub-buffer count: %u\n", c->num_subbuf);
		if (c->domain == REEL_DOMAIN_KERNEL)
			printf("      Buffering:        per-CPU, tracefs\n");
		else
			printf("      Buffering:        per-%s\n", cli_buffers_name(c->buffers));
		if (c->switch_timer_us)
			printf("      Switch timer:     %u us\n", c->switch_timer_us);
		else
			printf("      Switch timer:     off\n");
		printf("\n    Statistics:\n");
		printf("      Packets written:  %llu\n", (unsigned long long)c->packets_written);
		cli_format_bytes(buf, sizeof(buf), (double)c->bytes_written);
		printf("      Bytes written:    %llu (%s)\n", (unsigned long long)c->bytes_written,
		       buf);
		printf("      Discarded events: %llu\n", (unsigned long long)c->events_discarded);
		printf("      Lost packets:     %llu\n", (unsigned long long)c->packets_lost);
		printf("      Write rate:       %.2f MB/s\n", c->bytes_per_second / 1e6);
		printf("\n    Recording event rules:\n");
		if (!c->nr_rules)
			printf("      None\n");
		for (size_t r = 0; r < c->nr_rules; r++)
			printf("      %s\n", str_or(c->rules[r], "?"));
		if (c->nr_contexts) {
			printf("\n    Context fields:\n");
			for (size_t k = 0; k < c->nr_contexts; k++)
				printf("      %s\n", str_or(c->contexts[k], "?"));
		}
		printf("\n");
	}
}

void cli_warn_losses(struct reel_ctl *ctl, const char *session)
{
	struct reel_session_list *list;
	if (reel_ctl_list_sessions(ctl, &list) != 0)
		return;
	const struct reel_session_status *s = cli_find_session(list, session);
	uint64_t discarded = 0, lost = 0;
	for (size_t i = 0; s && i < s->nr_channels; i++) {
		discarded += s->channels[i].events_discarded;
		lost += s->channels[i].packets_lost;
	}
	/* As lttng stop says it. */
	if (discarded)
		fprintf(stderr,
			"Warning: %llu events were discarded in session %s: the buffers were full "
			"(see `reel help enable-channel` for --subbuf-size and --num-subbuf)\n",
			(unsigned long long)discarded, session);
	if (lost)
		fprintf(stderr,
			"Warning: %llu packets were lost in session %s: overwritten (--overwrite) "
			"or not written (see `reel status`)\n",
			(unsigned long long)lost, session);
	if (s && s->error)
		fprintf(stderr, "Warning: session %s: %s\n", session, s->error);
	reel_session_list_free(list);
}
