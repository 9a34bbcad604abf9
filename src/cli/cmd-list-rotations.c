/* SPDX-License-Identifier: MIT */
/* reel list-rotations: a session's archived chunks and its schedule. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "daemon.h"
#include "output.h"

#define CMD "list-rotations"

static void help(void)
{
	printf("Usage: reel list-rotations [SESSION]\n"
	       "\n"
	       "The session's archived chunks, oldest first (index, path, hook status), and\n"
	       "its rotation schedule.\n"
	       "\n"
	       "      --json             {\"session\": S, \"timer_us\": N, \"size\": N, \"hook\": "
	       "H,\n"
	       "                          \"compress\": \"zstd\" or \"none\",\n"
	       "                          \"chunks\": [{\"index\": N, \"path\": P, "
	       "\"hook_status\": N}]}\n"
	       "                         hook_status: exit status, -1 running, -2 no hook,\n"
	       "                         -3 killed (it ran 5 minutes)\n"
	       "  -h, --help             this text\n");
}

static const char *hook_text(int status, char *buf, size_t size)
{
	switch (status) {
	case -1:
		return "hook running";
	case -2:
		return "";
	case -3:
		return "hook killed (hung)";
	default:
		snprintf(buf, size, "hook exit status %d", status);
		return buf;
	}
}

static int run(int argc, char **argv)
{
	const char *session;
	int parsed = cli_parse_plain(CMD, argc, argv, help, &session);
	if (parsed >= 0)
		return parsed;
	struct reel_ctl *ctl = NULL;
	struct reel_rotation_list *list = NULL;
	char *sname = NULL;
	int status = cli_connect(CMD, 0, &ctl);
	if (status)
		goto out;
	if ((status = cli_session_name(CMD, ctl, session, &sname)))
		goto out;
	int err = reel_ctl_list_rotations(ctl, sname, &list);
	if (err) {
		status = cli_ctl_error(CMD, ctl, err, "cannot list the rotations of '%s'", sname);
		goto out;
	}
	if (cli_json) {
		struct cli_json_writer w;
		cli_json_init(&w, stdout);
		cli_json_begin_object(&w, NULL);
		cli_json_string(&w, "session", sname);
		cli_json_uint(&w, "timer_us", list->timer_us);
		cli_json_uint(&w, "size", list->size);
		cli_json_uint(&w, "keep_chunks", list->keep_chunks);
		cli_json_uint(&w, "keep_bytes", list->keep_bytes);
		cli_json_string(&w, "hook", list->hook);
		cli_json_string(&w, "compress", list->compress ? list->compress : "none");
		cli_json_string(&w, "publish", list->publish);
		cli_json_string(&w, "publish_error", list->publish_error);
		cli_json_begin_array(&w, "chunks");
		for (size_t i = 0; i < list->nr_chunks; i++) {
			cli_json_begin_object(&w, NULL);
			cli_json_uint(&w, "index", list->chunks[i].index);
			cli_json_string(&w, "path", list->chunks[i].path);
			cli_json_int(&w, "hook_status", list->chunks[i].hook_status);
			if (list->publish_status)
				cli_json_int(&w, "publish_status", list->publish_status[i]);
			cli_json_end_object(&w);
		}
		cli_json_end_array(&w);
		cli_json_end_object(&w);
		cli_json_finish(&w);
	} else {
		printf("Rotations of session %s:", sname);
		if (!list->timer_us && !list->size)
			printf(" none scheduled\n");
		if (list->timer_us)
			printf(" every %llu us", (unsigned long long)list->timer_us);
		if (list->size)
			printf("%s every %llu bytes", list->timer_us ? "," : "",
			       (unsigned long long)list->size);
		if (list->timer_us || list->size)
			printf("\n");
		if (list->hook)
			printf("Hook: %s\n", list->hook);
		if (list->compress && strcmp(list->compress, "none") != 0)
			printf("Chunks compressed with %s\n", list->compress);
		if (list->publish)
			printf("Announced to: %s\n", list->publish);
		if (list->publish_error)
			printf("Announcements failing: %s (retrying)\n", list->publish_error);
		if (list->keep_chunks || list->keep_bytes)
			printf("Kept: at most %llu chunks, %llu bytes (0: no limit)\n",
			       (unsigned long long)list->keep_chunks,
			       (unsigned long long)list->keep_bytes);
		for (size_t i = 0; i < list->nr_chunks; i++) {
			char buf[64];
			int ps = list->publish_status ? list->publish_status[i] : -2;
			const char *h = hook_text(list->chunks[i].hook_status, buf, sizeof(buf));
			const char *pt = ps == 0    ? "announced"
					 : ps == -1 ? "announcement pending"
						    : "";
			printf("  %llu  %s  %s%s%s\n", (unsigned long long)list->chunks[i].index,
			       list->chunks[i].path, h, *h && *pt ? ", " : "", pt);
		}
	}
out:
	reel_rotation_list_free(list);
	free(sname);
	reel_ctl_close(ctl);
	return status;
}

const struct cli_command cli_cmd_list_rotations = {
	.name = CMD,
	.summary = "list a session's archived chunks",
	.run = run,
	.help = help,
};
