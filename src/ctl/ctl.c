/* SPDX-License-Identifier: MIT */
/*
 * libreel-ctl: the client side of the daemon's control socket
 * (include/reel/ctl.h). One request, one reply; replies are decoded into
 * the structures of ctl.h. Calls only src/common.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <reel/ctl.h>

#include "../common/msg.h"
#include "../common/protocol.h"
#include "../common/rundir.h"

extern char **environ;

struct reel_ctl {
	int sock;
	char error[512];
	char warning[512];
};

int reel_ctl_rundir(char *buf, size_t size)
{
	return reel_rundir(buf, size);
}

static int connect_to(const char *rundir)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	if (reel_rundir_socket(rundir, REEL_CLIENT_SOCKET, path, sizeof(path)) ||
	    strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Start `reeld --daemonize --rundir DIR`: $REEL_SESSIOND_PATH, or reeld
 * from $PATH. Returns once it listens (or failed). */
static int spawn_daemon(const char *rundir)
{
	const char *path = getenv("REEL_SESSIOND_PATH");
	char *argv[] = { (char *)(path && *path ? path : "reeld"), (char *)"--daemonize",
			 (char *)"--rundir", (char *)rundir, NULL };
	pid_t pid;
	int err = path && *path ? posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) :
				  posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (err)
		return -err;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

int reel_ctl_connect(const char *rundir, unsigned int flags, struct reel_ctl **ret)
{
	char dir[PATH_MAX];
	if (!rundir) {
		int err = reel_rundir(dir, sizeof(dir));
		if (err)
			return err;
		rundir = dir;
	}
	int fd = connect_to(rundir);
	if (fd < 0 && (flags & REEL_CTL_SPAWN) && (fd == -ENOENT || fd == -ECONNREFUSED)) {
		int err = spawn_daemon(rundir);
		if (err)
			return err;
		fd = connect_to(rundir);
	}
	if (fd < 0)
		return fd;
	struct reel_ctl *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		close(fd);
		return -ENOMEM;
	}
	ctl->sock = fd;
	*ret = ctl;
	return 0;
}

void reel_ctl_close(struct reel_ctl *ctl)
{
	if (!ctl)
		return;
	close(ctl->sock);
	free(ctl);
}

const char *reel_ctl_last_error(const struct reel_ctl *ctl)
{
	return ctl ? ctl->error : "";
}

const char *reel_ctl_last_warning(const struct reel_ctl *ctl)
{
	return ctl && ctl->warning[0] ? ctl->warning : NULL;
}

/* Whether `config`, of `struct_size` bytes, holds `member`. */
#define HAS_MEMBER(config, type, member)                                                 \
	((config)->struct_size >= offsetof(type, member) + sizeof((config)->member))

/* Send `req` and receive the reply into `reply` (to be freed), positioned
 * at the data after the status. Returns the daemon's status. */
static int transact(struct reel_ctl *ctl, struct reel_msg *req, struct reel_msg *reply,
		    struct reel_msg_iter *ret_data)
{
	ctl->error[0] = ctl->warning[0] = '\0';
	reel_msg_init(reply, 0);
	int err = reel_msg_send(ctl->sock, req);
	reel_msg_free(req);
	if (err)
		return err;
	err = reel_msg_recv(ctl->sock, reply);
	if (err)
		return err == -ECONNRESET ? -EPIPE : err;
	if (reply->type != REEL_CTL_REPLY)
		return -EPROTO;
	struct reel_msg_iter it;
	struct reel_msg_field f;
	int64_t status = -EPROTO;
	reel_msg_iter_init(&it, reply);
	if (reel_msg_next(&it, &f) <= 0 || f.tag != REEL_TAG_STATUS || reel_msg_i64(&f, &status) ||
	    status > 0 || status < -4095)
		return -EPROTO;
	if (status) {
		const char *text;
		struct reel_msg_iter peek = it;
		if (reel_msg_next(&peek, &f) > 0 && f.tag == REEL_TAG_ERROR && !reel_msg_str(&f, &text))
			snprintf(ctl->error, sizeof(ctl->error), "%s", text);
		return (int)status;
	}
	const char *text;
	struct reel_msg_iter peek = it;
	while (reel_msg_next(&peek, &f) > 0)
		if (f.tag == REEL_TAG_WARNING && !reel_msg_str(&f, &text))
			snprintf(ctl->warning, sizeof(ctl->warning), "%s", text);
	if (ret_data)
		*ret_data = it;
	return 0;
}

static int simple(struct reel_ctl *ctl, struct reel_msg *req)
{
	struct reel_msg reply;
	int err = transact(ctl, req, &reply, NULL);
	reel_msg_free(&reply);
	return err;
}

static int dup_str(const struct reel_msg_field *f, char **ret)
{
	const char *s;
	if (reel_msg_str(f, &s))
		return -EPROTO;
	free(*ret);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static void put_session(struct reel_msg *m, const char *session)
{
	if (session)
		reel_msg_put_str(m, REEL_TAG_SESSION, session);
}

int reel_ctl_create_session(struct reel_ctl *ctl, const struct reel_session_config *config,
			    char **ret_name, char **ret_output)
{
	if (!config || config->struct_size < sizeof(*config))
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_CREATE);
	put_session(&m, config->name);
	if (config->struct_size >= offsetof(struct reel_session_config, snapshot) +
					   sizeof(config->snapshot) &&
	    config->snapshot)
		reel_msg_put_u64(&m, REEL_TAG_SNAPSHOT, 1);
	if (config->output) {
		char abs[PATH_MAX];
		if (config->output[0] != '/') {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd)) ||
			    snprintf(abs, sizeof(abs), "%s/%s", cwd, config->output) >= (int)sizeof(abs)) {
				reel_msg_free(&m);
				return -ENAMETOOLONG;
			}
			reel_msg_put_str(&m, REEL_TAG_OUTPUT, abs);
		} else {
			reel_msg_put_str(&m, REEL_TAG_OUTPUT, config->output);
		}
	}
	struct reel_msg reply;
	struct reel_msg_iter it;
	struct reel_msg_field f;
	char *name = NULL, *output = NULL;
	int err = transact(ctl, &m, &reply, &it);
	int r = 0;
	while (!err && (r = reel_msg_next(&it, &f)) > 0) {
		if (f.tag == REEL_TAG_SESSION)
			err = dup_str(&f, &name);
		else if (f.tag == REEL_TAG_OUTPUT)
			err = dup_str(&f, &output);
	}
	if (!err && (r < 0 || !name || !output))
		err = -EPROTO;
	reel_msg_free(&reply);
	if (!err && ret_name) {
		*ret_name = name;
		name = NULL;
	}
	if (!err && ret_output) {
		*ret_output = output;
		output = NULL;
	}
	free(name);
	free(output);
	return err;
}

static int session_request(struct reel_ctl *ctl, uint16_t type, const char *session)
{
	struct reel_msg m;
	reel_msg_init(&m, type);
	put_session(&m, session);
	return simple(ctl, &m);
}

int reel_ctl_set_session(struct reel_ctl *ctl, const char *name)
{
	return name ? session_request(ctl, REEL_CTL_SET_SESSION, name) : -EINVAL;
}

int reel_ctl_start(struct reel_ctl *ctl, const char *session)
{
	return session_request(ctl, REEL_CTL_START, session);
}

int reel_ctl_stop(struct reel_ctl *ctl, const char *session)
{
	return session_request(ctl, REEL_CTL_STOP, session);
}

int reel_ctl_destroy(struct reel_ctl *ctl, const char *session)
{
	return session_request(ctl, REEL_CTL_DESTROY, session);
}

int reel_ctl_enable_channel(struct reel_ctl *ctl, const struct reel_channel_config *config)
{
	if (!config || !HAS_MEMBER(config, struct reel_channel_config, switch_timer_us))
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ENABLE_CHANNEL);
	put_session(&m, config->session);
	if (HAS_MEMBER(config, struct reel_channel_config, domain) && config->domain)
		reel_msg_put_u64(&m, REEL_TAG_DOMAIN, config->domain);
	if (config->name)
		reel_msg_put_str(&m, REEL_TAG_CHANNEL, config->name);
	reel_msg_put_u64(&m, REEL_TAG_SUBBUF_SIZE, config->subbuf_size);
	reel_msg_put_u64(&m, REEL_TAG_NUM_SUBBUF, config->num_subbuf);
	reel_msg_put_u64(&m, REEL_TAG_OVERWRITE, config->overwrite);
	reel_msg_put_u64(&m, REEL_TAG_BUFFERS, config->buffers);
	reel_msg_put_u64(&m, REEL_TAG_SWITCH_TIMER, config->switch_timer_us);
	return simple(ctl, &m);
}

int reel_ctl_enable_event(struct reel_ctl *ctl, const struct reel_event_rule *rule)
{
	if (!rule || !HAS_MEMBER(rule, struct reel_event_rule, nr_excludes) || !rule->pattern)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ENABLE_EVENT);
	put_session(&m, rule->session);
	if (HAS_MEMBER(rule, struct reel_event_rule, syscall)) {
		if (rule->domain)
			reel_msg_put_u64(&m, REEL_TAG_DOMAIN, rule->domain);
		if (rule->syscall)
			reel_msg_put_u64(&m, REEL_TAG_SYSCALL, 1);
	}
	if (rule->channel)
		reel_msg_put_str(&m, REEL_TAG_CHANNEL, rule->channel);
	reel_msg_put_str(&m, REEL_TAG_PATTERN, rule->pattern);
	reel_msg_put_u64(&m, REEL_TAG_LOGLEVEL_MATCH, rule->loglevel_match);
	reel_msg_put_i64(&m, REEL_TAG_LOGLEVEL, rule->loglevel);
	for (size_t i = 0; i < rule->nr_excludes; i++)
		if (rule->excludes && rule->excludes[i])
			reel_msg_put_str(&m, REEL_TAG_EXCLUDE, rule->excludes[i]);
	return simple(ctl, &m);
}

int reel_ctl_disable_event(struct reel_ctl *ctl, const char *session, const char *channel,
			   const char *pattern)
{
	if (!pattern)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_DISABLE_EVENT);
	put_session(&m, session);
	if (channel)
		reel_msg_put_str(&m, REEL_TAG_CHANNEL, channel);
	reel_msg_put_str(&m, REEL_TAG_PATTERN, pattern);
	return simple(ctl, &m);
}

int reel_ctl_disable_kernel_event(struct reel_ctl *ctl, const char *session, const char *pattern,
				  bool syscall)
{
	if (!pattern)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_DISABLE_EVENT);
	put_session(&m, session);
	reel_msg_put_u64(&m, REEL_TAG_DOMAIN, REEL_DOMAIN_KERNEL);
	if (syscall)
		reel_msg_put_u64(&m, REEL_TAG_SYSCALL, 1);
	reel_msg_put_str(&m, REEL_TAG_PATTERN, pattern);
	return simple(ctl, &m);
}

int reel_ctl_add_kernel_context(struct reel_ctl *ctl, const char *session, const char *type)
{
	if (!type)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ADD_CONTEXT);
	put_session(&m, session);
	reel_msg_put_u64(&m, REEL_TAG_DOMAIN, REEL_DOMAIN_KERNEL);
	reel_msg_put_str(&m, REEL_TAG_CONTEXT, type);
	return simple(ctl, &m);
}

int reel_ctl_add_context(struct reel_ctl *ctl, const char *session, const char *channel,
			 const char *type)
{
	if (!type)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ADD_CONTEXT);
	put_session(&m, session);
	if (channel)
		reel_msg_put_str(&m, REEL_TAG_CHANNEL, channel);
	reel_msg_put_str(&m, REEL_TAG_CONTEXT, type);
	return simple(ctl, &m);
}

/* ---- listings ------------------------------------------------------------ */

static int grow(void **array, size_t *nr, size_t size)
{
	void *grown = realloc(*array, (*nr + 1) * size);
	if (!grown)
		return -ENOMEM;
	memset((char *)grown + *nr * size, 0, size);
	*array = grown;
	(*nr)++;
	return 0;
}


static void channel_status_free(struct reel_channel_status *c)
{
	free(c->name);
	for (size_t i = 0; i < c->nr_rules; i++)
		free(c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->nr_contexts; i++)
		free(c->contexts[i]);
	free(c->contexts);
}

void reel_session_list_free(struct reel_session_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->nr_sessions; i++) {
		struct reel_session_status *s = &list->sessions[i];
		free(s->name);
		free(s->output);
		free(s->error);
		for (size_t k = 0; k < s->nr_channels; k++)
			channel_status_free(&s->channels[k]);
		free(s->channels);
	}
	free(list->sessions);
	free(list->current);
	free(list);
}

static int u64_of(const struct reel_msg_field *f, uint64_t *ret)
{
	return reel_msg_u64(f, ret) ? -EPROTO : 0;
}

int reel_ctl_list_sessions(struct reel_ctl *ctl, struct reel_session_list **ret)
{
	struct reel_msg m, reply;
	reel_msg_init(&m, REEL_CTL_LIST_SESSIONS);
	struct reel_msg_iter it;
	int err = transact(ctl, &m, &reply, &it);
	struct reel_session_list *list = calloc(1, sizeof(*list));
	if (!err && !list)
		err = -ENOMEM;
	struct reel_session_status *s = NULL;
	struct reel_channel_status *c = NULL;
	struct reel_msg_field f;
	int r = 0;
	while (!err && (r = reel_msg_next(&it, &f)) > 0) {
		uint64_t v = 0;
		if (f.tag == REEL_TAG_CURRENT) {
			err = dup_str(&f, &list->current);
		} else if (f.tag == REEL_TAG_SESSION) {
			err = grow((void **)&list->sessions, &list->nr_sessions, sizeof(*s));
			if (!err) {
				s = &list->sessions[list->nr_sessions - 1];
				c = NULL;
				err = dup_str(&f, &s->name);
			}
		} else if (!s) {
			err = -EPROTO;
		} else if (f.tag == REEL_TAG_OUTPUT) {
			err = dup_str(&f, &s->output);
		} else if (f.tag == REEL_TAG_SESSION_ERROR) {
			err = dup_str(&f, &s->error);
		} else if (f.tag == REEL_TAG_ACTIVE) {
			err = u64_of(&f, &v);
			s->active = v != 0;
		} else if (f.tag == REEL_TAG_NR_APPS) {
			err = u64_of(&f, &v);
			s->nr_apps = (uint32_t)v;
		} else if (f.tag == REEL_TAG_CHANNEL) {
			err = grow((void **)&s->channels, &s->nr_channels, sizeof(*c));
			if (!err) {
				c = &s->channels[s->nr_channels - 1];
				err = dup_str(&f, &c->name);
			}
		} else if (f.tag == REEL_TAG_RATE) {
			err = u64_of(&f, &v);
			for (size_t k = 0; k < s->nr_channels; k++)
				s->channels[k].bytes_per_second = 0;
			/* The session's rate, shared out by bytes written. */
			uint64_t total = 0;
			for (size_t k = 0; k < s->nr_channels; k++)
				total += s->channels[k].bytes_written;
			for (size_t k = 0; k < s->nr_channels && total; k++)
				s->channels[k].bytes_per_second =
					(double)v * (double)s->channels[k].bytes_written / (double)total;
		} else if (!c) {
			err = -EPROTO;
		} else if (f.tag == REEL_TAG_RULE) {
			err = grow((void **)&c->rules, &c->nr_rules, sizeof(char *));
			if (!err)
				err = dup_str(&f, &c->rules[c->nr_rules - 1]);
		} else if (f.tag == REEL_TAG_CONTEXT) {
			err = grow((void **)&c->contexts, &c->nr_contexts, sizeof(char *));
			if (!err)
				err = dup_str(&f, &c->contexts[c->nr_contexts - 1]);
		} else {
			err = u64_of(&f, &v);
			switch (f.tag) {
			case REEL_TAG_SUBBUF_SIZE: c->subbuf_size = (uint32_t)v; break;
			case REEL_TAG_NUM_SUBBUF: c->num_subbuf = (uint32_t)v; break;
			case REEL_TAG_OVERWRITE: c->overwrite = v != 0; break;
			case REEL_TAG_BUFFERS: c->buffers = (uint32_t)v; break;
			case REEL_TAG_SWITCH_TIMER: c->switch_timer_us = (uint32_t)v; break;
			case REEL_TAG_PACKETS: c->packets_written = v; break;
			case REEL_TAG_BYTES: c->bytes_written = v; break;
			case REEL_TAG_DISCARDED: c->events_discarded = v; break;
			case REEL_TAG_LOST_PACKETS: c->packets_lost = v; break;
			case REEL_TAG_DOMAIN: c->domain = (uint32_t)v; break;
			default: break;
			}
		}
	}
	if (!err && r < 0)
		err = -EPROTO;
	reel_msg_free(&reply);
	if (err) {
		reel_session_list_free(list);
		return err;
	}
	*ret = list;
	return 0;
}

void reel_app_list_free(struct reel_app_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->nr_apps; i++) {
		struct reel_app_info *a = &list->apps[i];
		free(a->procname);
		for (size_t k = 0; k < a->nr_events; k++)
			free(a->events[k].name);
		free(a->events);
	}
	free(list->apps);
	free(list);
}

int reel_ctl_list_apps(struct reel_ctl *ctl, struct reel_app_list **ret)
{
	struct reel_msg m, reply;
	reel_msg_init(&m, REEL_CTL_LIST_APPS);
	struct reel_msg_iter it;
	int err = transact(ctl, &m, &reply, &it);
	struct reel_app_list *list = calloc(1, sizeof(*list));
	if (!err && !list)
		err = -ENOMEM;
	struct reel_app_info *a = NULL;
	struct reel_app_event *e = NULL;
	struct reel_msg_field f;
	int r = 0;
	while (!err && (r = reel_msg_next(&it, &f)) > 0) {
		int64_t iv = 0;
		uint64_t v = 0;
		if (f.tag == REEL_TAG_APP_PID) {
			err = grow((void **)&list->apps, &list->nr_apps, sizeof(*a));
			if (!err) {
				a = &list->apps[list->nr_apps - 1];
				e = NULL;
				err = reel_msg_i64(&f, &iv) ? -EPROTO : 0;
				a->pid = (int32_t)iv;
			}
		} else if (!a) {
			err = -EPROTO;
		} else if (f.tag == REEL_TAG_UID) {
			err = u64_of(&f, &v);
			a->uid = (uint32_t)v;
		} else if (f.tag == REEL_TAG_PROCNAME) {
			err = dup_str(&f, &a->procname);
		} else if (f.tag == REEL_TAG_NAME) {
			err = grow((void **)&a->events, &a->nr_events, sizeof(*e));
			if (!err) {
				e = &a->events[a->nr_events - 1];
				err = dup_str(&f, &e->name);
			}
		} else if (f.tag == REEL_TAG_LOGLEVEL && e) {
			err = reel_msg_i64(&f, &iv) ? -EPROTO : 0;
			e->loglevel = (int32_t)iv;
		}
	}
	if (!err && r < 0)
		err = -EPROTO;
	reel_msg_free(&reply);
	if (err) {
		reel_app_list_free(list);
		return err;
	}
	*ret = list;
	return 0;
}

/* ---- rotation ------------------------------------------------------------- */

/* A request whose reply names a path (CHUNK): a rotation's chunk, a
 * snapshot's directory. */
static int request_path(struct reel_ctl *ctl, uint16_t type, const char *session,
			const char *dir, uint64_t max_size, char **ret_path)
{
	struct reel_msg m, reply;
	reel_msg_init(&m, type);
	put_session(&m, session);
	if (dir)
		reel_msg_put_str(&m, REEL_TAG_OUTPUT, dir);
	if (max_size)
		reel_msg_put_u64(&m, REEL_TAG_MAX_SIZE, max_size);
	struct reel_msg_iter it;
	struct reel_msg_field f;
	char *path = NULL;
	int err = transact(ctl, &m, &reply, &it);
	while (!err && reel_msg_next(&it, &f) > 0)
		if (f.tag == REEL_TAG_CHUNK)
			err = dup_str(&f, &path);
	reel_msg_free(&reply);
	if (!err && !path)
		err = -EPROTO;
	if (!err && ret_path) {
		*ret_path = path;
		path = NULL;
	}
	free(path);
	return err;
}

int reel_ctl_rotate(struct reel_ctl *ctl, const char *session, char **ret_path)
{
	return request_path(ctl, REEL_CTL_ROTATE, session, NULL, 0, ret_path);
}

int reel_ctl_enable_rotation(struct reel_ctl *ctl, const char *session, uint64_t timer_us,
			     uint64_t size, const char *hook)
{
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ENABLE_ROTATION);
	put_session(&m, session);
	reel_msg_put_u64(&m, REEL_TAG_ROTATE_TIMER, timer_us);
	reel_msg_put_u64(&m, REEL_TAG_ROTATE_SIZE, size);
	if (hook)
		reel_msg_put_str(&m, REEL_TAG_HOOK, hook);
	return simple(ctl, &m);
}

int reel_ctl_set_retention(struct reel_ctl *ctl, const char *session, uint64_t max_chunks,
			   uint64_t max_bytes)
{
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ENABLE_ROTATION);
	put_session(&m, session);
	reel_msg_put_u64(&m, REEL_TAG_KEEP_CHUNKS, max_chunks);
	reel_msg_put_u64(&m, REEL_TAG_KEEP_BYTES, max_bytes);
	return simple(ctl, &m);
}

int reel_ctl_set_compression(struct reel_ctl *ctl, const char *session, const char *method)
{
	if (!method)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ENABLE_ROTATION);
	put_session(&m, session);
	reel_msg_put_str(&m, REEL_TAG_COMPRESS, method);
	return simple(ctl, &m);
}

int reel_ctl_set_publish(struct reel_ctl *ctl, const char *session, const char *url)
{
	if (!url)
		return -EINVAL;
	struct reel_msg m;
	reel_msg_init(&m, REEL_CTL_ENABLE_ROTATION);
	put_session(&m, session);
	reel_msg_put_str(&m, REEL_TAG_PUBLISH, url);
	return simple(ctl, &m);
}

int reel_ctl_disable_rotation(struct reel_ctl *ctl, const char *session)
{
	return session_request(ctl, REEL_CTL_DISABLE_ROTATION, session);
}

void reel_rotation_list_free(struct reel_rotation_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->nr_chunks; i++)
		free(list->chunks[i].path);
	free(list->chunks);
	free(list->hook);
	free(list->compress);
	free(list->publish);
	free(list->publish_error);
	free(list->publish_status);
	free(list);
}

int reel_ctl_list_rotations(struct reel_ctl *ctl, const char *session,
			    struct reel_rotation_list **ret)
{
	struct reel_msg m, reply;
	reel_msg_init(&m, REEL_CTL_LIST_ROTATIONS);
	put_session(&m, session);
	struct reel_msg_iter it;
	int err = transact(ctl, &m, &reply, &it);
	struct reel_rotation_list *list = calloc(1, sizeof(*list));
	if (!err && !list)
		err = -ENOMEM;
	struct reel_chunk_info *c = NULL;
	struct reel_msg_field f;
	int r = 0;
	while (!err && (r = reel_msg_next(&it, &f)) > 0) {
		int64_t iv;
		if (f.tag == REEL_TAG_ROTATE_TIMER) {
			err = u64_of(&f, &list->timer_us);
		} else if (f.tag == REEL_TAG_ROTATE_SIZE) {
			err = u64_of(&f, &list->size);
		} else if (f.tag == REEL_TAG_KEEP_CHUNKS) {
			err = u64_of(&f, &list->keep_chunks);
		} else if (f.tag == REEL_TAG_KEEP_BYTES) {
			err = u64_of(&f, &list->keep_bytes);
		} else if (f.tag == REEL_TAG_HOOK) {
			err = dup_str(&f, &list->hook);
		} else if (f.tag == REEL_TAG_COMPRESS) {
			err = dup_str(&f, &list->compress);
		} else if (f.tag == REEL_TAG_CHUNK) {
			err = grow((void **)&list->chunks, &list->nr_chunks, sizeof(*c));
			if (!err) {
				c = &list->chunks[list->nr_chunks - 1];
				c->hook_status = -2;
				err = dup_str(&f, &c->path);
			}
			if (!err) {
				int32_t *ps = realloc(list->publish_status, list->nr_chunks * sizeof(*ps));
				if (!ps)
					err = -ENOMEM;
				else
					(list->publish_status = ps)[list->nr_chunks - 1] = -2;
			}
		} else if (f.tag == REEL_TAG_ID && c) {
			err = u64_of(&f, &c->index);
		} else if (f.tag == REEL_TAG_PUBLISH) {
			err = dup_str(&f, &list->publish);
		} else if (f.tag == REEL_TAG_PUBLISH_ERROR) {
			err = dup_str(&f, &list->publish_error);
		} else if (f.tag == REEL_TAG_PUBLISH_STATUS && c) {
			err = reel_msg_i64(&f, &iv) ? -EPROTO : 0;
			list->publish_status[list->nr_chunks - 1] = (int32_t)iv;
		} else if (f.tag == REEL_TAG_HOOK_STATUS && c) {
			err = reel_msg_i64(&f, &iv) ? -EPROTO : 0;
			c->hook_status = (int32_t)iv;
		}
	}
	if (!err && r < 0)
		err = -EPROTO;
	reel_msg_free(&reply);
	if (err) {
		reel_rotation_list_free(list);
		return err;
	}
	*ret = list;
	return 0;
}

int reel_ctl_wait_rotation(struct reel_ctl *ctl, const char *session, uint64_t index,
			   uint32_t timeout_ms, struct reel_chunk_info *ret)
{
	if (index == REEL_CTL_NEXT_CHUNK) {
		struct reel_rotation_list *list;
		int err = reel_ctl_list_rotations(ctl, session, &list);
		if (err)
			return err;
		index = list->nr_chunks ? list->chunks[list->nr_chunks - 1].index + 1 : 0;
		reel_rotation_list_free(list);
	}
	struct reel_msg m, reply;
	reel_msg_init(&m, REEL_CTL_WAIT_ROTATION);
	put_session(&m, session);
	reel_msg_put_u64(&m, REEL_TAG_ID, index);
	reel_msg_put_u64(&m, REEL_TAG_TIMEOUT, timeout_ms);
	struct reel_msg_iter it;
	struct reel_msg_field f;
	struct reel_chunk_info info = { .hook_status = -2 };
	int err = transact(ctl, &m, &reply, &it);
	while (!err && reel_msg_next(&it, &f) > 0) {
		if (f.tag == REEL_TAG_CHUNK)
			err = dup_str(&f, &info.path);
		else if (f.tag == REEL_TAG_ID)
			err = u64_of(&f, &info.index);
	}
	reel_msg_free(&reply);
	if (!err && !info.path)
		err = -EPROTO;
	if (err) {
		free(info.path);
		return err;
	}
	*ret = info;
	return 0;
}

int reel_ctl_snapshot_record(struct reel_ctl *ctl, const char *session, const char *dir,
			     char **ret_path)
{
	return request_path(ctl, REEL_CTL_SNAPSHOT_RECORD, session, dir, 0, ret_path);
}

int reel_ctl_snapshot_record_max(struct reel_ctl *ctl, const char *session, const char *dir,
				 uint64_t max_size, char **ret_path)
{
	return request_path(ctl, REEL_CTL_SNAPSHOT_RECORD, session, dir, max_size, ret_path);
}
