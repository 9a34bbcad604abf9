/* SPDX-License-Identifier: MIT */
/*
 * control: the application's side of the session daemon. A thread that
 * finds the daemon (and keeps looking while there is none), registers the
 * application's events with it, maps the ring buffers it hands over, and
 * applies the enablement it sends. Calls the registry and the ring buffer;
 * speaks the protocol of src/common/protocol.h.
 *
 * The application never waits for this thread: tracepoints only read what
 * it publishes. A dead or absent daemon leaves every event disabled.
 * Standalone mode (REEL_OUTPUT) does not use a daemon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/msg.h"
#include "../common/protocol.h"
#include "../common/rundir.h"
#include "ust-local.h"

#define RETRY_MS 200
#define MAX_STREAMS 8192u
#define DEFAULT_REGISTER_TIMEOUT_MS 3000

/* A channel of the daemon's, known by its key. Channels are never freed:
 * a writer preempted inside a reservation may still hold one. */
struct daemon_channel {
	uint64_t key;
	struct reel_channel channel;
	uint32_t nr_mapped;
	int wake_fd; /* the daemon's eventfd; -1 once dropped */
	bool dropped;
	struct daemon_channel *next;
};

static struct daemon_channel *channels; /* control thread only */
/* The connection, for the exit handler's goodbye; sends are serialized. */
static pthread_mutex_t send_mutex = PTHREAD_MUTEX_INITIALIZER;
static int daemon_sock = -1; /* guarded by send_mutex */
static int notify_fd = -1; /* eventfd: events with new ids registered */

/* Registration is synchronous, as LTTng-UST's: the constructor that
 * registers an event waits until the daemon has sent its enablement, so
 * that a short-lived application's first events are recorded. Requests
 * are numbered; the daemon acknowledges each number once handled. */
static pthread_mutex_t sync_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cond = PTHREAD_COND_INITIALIZER;
static uint64_t sync_requested, sync_acked; /* guarded by sync_mutex */
static bool sync_connected;  /* hello and first events acknowledged */
static bool sync_first_done; /* the first attempt to connect is over */
static int register_timeout_ms = DEFAULT_REGISTER_TIMEOUT_MS;

static void sync_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += register_timeout_ms / 1000;
	ts->tv_nsec += (long)(register_timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void sync_update(bool connected, bool first_done, uint64_t acked)
{
	pthread_mutex_lock(&sync_mutex);
	sync_connected = connected;
	sync_first_done |= first_done;
	if (acked > sync_acked)
		sync_acked = acked;
	pthread_cond_broadcast(&sync_cond);
	pthread_mutex_unlock(&sync_mutex);
}

void reel_control_sync(void)
{
	if (notify_fd < 0 || register_timeout_ms == 0)
		return;
	pthread_mutex_lock(&sync_mutex);
	if (!sync_connected) {
		pthread_mutex_unlock(&sync_mutex);
		return;
	}
	uint64_t want = ++sync_requested;
	uint64_t one = 1;
	if (write(notify_fd, &one, sizeof(one)) < 0)
		want = 0;
	struct timespec deadline;
	sync_deadline(&deadline);
	while (sync_connected && sync_acked < want)
		if (pthread_cond_timedwait(&sync_cond, &sync_mutex, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&sync_mutex);
}

/* Wake the daemon's consumer: a writer completed a sub-buffer. Any
 * context, signal handlers included. */
static void wake_daemon(void *arg)
{
	struct daemon_channel *dc = arg;
	int fd = __atomic_load_n(&dc->wake_fd, __ATOMIC_RELAXED);
	if (fd >= 0) {
		int saved = errno;
		uint64_t one = 1;
		if (write(fd, &one, sizeof(one)) < 0) {
			/* Full counter or gone daemon: the consumer polls too. */
		}
		errno = saved;
	}
}

static struct daemon_channel *find_channel(uint64_t key)
{
	for (struct daemon_channel *dc = channels; dc; dc = dc->next)
		if (dc->key == key && !dc->dropped)
			return dc;
	return NULL;
}

static bool channel_ready(const struct daemon_channel *dc)
{
	return dc && dc->nr_mapped == dc->channel.nr_streams;
}

/* ---- to the daemon ---------------------------------------------------- */

static int send_locked(int sock, const struct reel_msg *m)
{
	pthread_mutex_lock(&send_mutex);
	int err = reel_msg_send(sock, m);
	pthread_mutex_unlock(&send_mutex);
	return err;
}

static int describe_event(const struct reel_event_desc *desc, void *arg)
{
	struct reel_msg *m = arg;
	reel_msg_put_mark(m, REEL_TAG_EVENT);
	reel_msg_put_u64(m, REEL_TAG_ID, desc->id);
	reel_msg_put_str(m, REEL_TAG_PROVIDER, desc->provider);
	reel_msg_put_str(m, REEL_TAG_NAME, desc->name);
	reel_msg_put_i64(m, REEL_TAG_LOGLEVEL, desc->loglevel);
	for (size_t i = 0; i < desc->nr_fields; i++) {
		const struct reel_field_desc *f = &desc->fields[i];
		reel_msg_put_str(m, REEL_TAG_FIELD, f->name);
		reel_msg_put_u64(m, REEL_TAG_FIELD_TYPE,
				 (uint64_t)f->kind | (uint64_t)f->size_bits << 8 |
					 (uint64_t)f->is_signed << 16 | (uint64_t)f->base << 24);
		reel_msg_put_u64(m, REEL_TAG_FIELD_LENGTH, f->length);
		if (f->kind != REEL_FIELD_ENUM)
			continue;
		reel_msg_put_str(m, REEL_TAG_ENUM_NAME, f->enum_desc->name);
		for (size_t k = 0; k < f->enum_desc->nr_labels; k++) {
			const struct reel_enum_label *l = &f->enum_desc->labels[k];
			int64_t range[2] = { l->first, l->last };
			reel_msg_put_str(m, REEL_TAG_ENUM_LABEL, l->label);
			reel_msg_put(m, REEL_TAG_ENUM_RANGE, range, sizeof(range));
		}
	}
	return m->failed ? -E2BIG : 0;
}

/* Send the events registered since `*next_id`, with request number `seq`
 * for the daemon to acknowledge. */
static int send_events(int sock, uint32_t *next_id, uint64_t seq)
{
	struct reel_msg m;
	reel_msg_init(&m, REEL_APP_EVENTS);
	reel_msg_put_u64(&m, REEL_TAG_SEQ, seq);
	uint32_t next = *next_id;
	int err = reel_registry_describe(*next_id, describe_event, &m, &next);
	if (!err)
		err = send_locked(sock, &m);
	if (!err)
		*next_id = next;
	reel_msg_free(&m);
	return err;
}

static int send_hello(int sock)
{
	struct reel_msg m;
	reel_msg_init(&m, REEL_APP_HELLO);
	reel_msg_put_u64(&m, REEL_TAG_ABI, REEL_APP_ABI(REEL_RB_ABI_VERSION, REEL__VIEW_ABI));
	reel_msg_put_str(&m, REEL_TAG_PROCNAME, program_invocation_short_name);
	reel_msg_put_u64(&m, REEL_TAG_BITS, sizeof(long) * 8);
	int err = send_locked(sock, &m);
	reel_msg_free(&m);
	return err;
}

/* ---- from the daemon ---------------------------------------------------- */

static int handle_stream(struct reel_msg *m)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	uint64_t key = 0, cpu = UINT64_MAX, nr = 0;
	int r;
	reel_msg_iter_init(&it, m);
	while ((r = reel_msg_next(&it, &f)) > 0) {
		if (f.tag == REEL_TAG_CHANNEL_KEY)
			r = reel_msg_u64(&f, &key);
		else if (f.tag == REEL_TAG_CPU)
			r = reel_msg_u64(&f, &cpu);
		else if (f.tag == REEL_TAG_NR_STREAMS)
			r = reel_msg_u64(&f, &nr);
		if (r < 0)
			return r;
	}
	if (r < 0 || nr == 0 || nr > MAX_STREAMS || cpu >= nr || m->nr_fds != 2)
		return -EBADMSG;
	struct daemon_channel *dc = find_channel(key);
	if (!dc) {
		dc = calloc(1, sizeof(*dc));
		if (!dc)
			return -ENOMEM;
		dc->key = key;
		dc->wake_fd = reel_msg_take_fd(m, 1);
		dc->channel.nr_streams = (uint32_t)nr;
		dc->channel.streams = calloc(nr, sizeof(*dc->channel.streams));
		dc->channel.view.streams = calloc(nr, sizeof(*dc->channel.view.streams));
		if (!dc->channel.streams || !dc->channel.view.streams) {
			if (dc->wake_fd >= 0)
				close(dc->wake_fd);
			free(dc->channel.streams);
			free(dc->channel.view.streams);
			free(dc);
			return -ENOMEM;
		}
		dc->channel.view.abi_version = REEL__VIEW_ABI;
		dc->channel.view.nr_streams = (uint32_t)nr;
		dc->next = channels;
		channels = dc;
	}
	if (dc->channel.nr_streams != nr || dc->channel.streams[cpu])
		return -EBADMSG;
	struct reel_rb *rb = reel_rb_map(reel_msg_take_fd(m, 0), wake_daemon, dc);
	if (!rb)
		return -errno;
	dc->channel.streams[cpu] = rb;
	dc->channel.view.streams[cpu] = rb->view;
	dc->nr_mapped++;
	return 0;
}

static int handle_targets(int sock, struct reel_msg *m)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	struct reel_event_target targets[REEL_MAX_TARGETS];
	uint32_t nr = 0;
	uint64_t id = UINT64_MAX, key = 0, seq = 0, context = 0;
	bool have_key = false;
	int r;
	reel_msg_iter_init(&it, m);
	/* One record per event: ID, then (CHANNEL_KEY, TARGET_ID) pairs. */
	for (;;) {
		r = reel_msg_next(&it, &f);
		if (r < 0)
			return r;
		if (r == 0 || f.tag == REEL_TAG_ID) {
			if (id != UINT64_MAX && id <= UINT32_MAX)
				reel_registry_set_targets((uint32_t)id, targets, nr);
			if (r == 0)
				break;
			if (reel_msg_u64(&f, &id) < 0)
				return -EBADMSG;
			nr = 0;
			have_key = false;
		} else if (f.tag == REEL_TAG_CHANNEL_KEY) {
			if (reel_msg_u64(&f, &key) < 0)
				return -EBADMSG;
			have_key = true;
		} else if (f.tag == REEL_TAG_TARGET_ID) {
			uint64_t target_id;
			if (reel_msg_u64(&f, &target_id) < 0 || !have_key || target_id > UINT32_MAX)
				return -EBADMSG;
			struct daemon_channel *dc = find_channel(key);
			/* A channel not (yet) mapped records nothing here. */
			if (channel_ready(dc) && nr < REEL_MAX_TARGETS)
				targets[nr++] = (struct reel_event_target){
					&dc->channel.view, (uint32_t)target_id,
					(uint32_t)(context & REEL_CONTEXT_ALL)
				};
			have_key = false;
			context = 0;
		} else if (f.tag == REEL_TAG_TARGET_CONTEXT) {
			if (reel_msg_u64(&f, &context) < 0)
				return -EBADMSG;
		} else if (f.tag == REEL_TAG_SEQ) {
			if (reel_msg_u64(&f, &seq) < 0)
				return -EBADMSG;
		}
	}
	if (!seq)
		return 0;
	/* Applied: the daemon's command may return. */
	struct reel_msg ack;
	reel_msg_init(&ack, REEL_APP_ACK);
	reel_msg_put_u64(&ack, REEL_TAG_SEQ, seq);
	int err = send_locked(sock, &ack);
	reel_msg_free(&ack);
	return err;
}

static void drop_channel(struct daemon_channel *dc)
{
	if (channel_ready(dc))
		reel_registry_drop_view(&dc->channel.view);
	dc->dropped = true;
	/* The memory goes back; the addresses stay valid for late writers. */
	for (uint32_t i = 0; i < dc->channel.nr_streams; i++)
		if (dc->channel.streams[i])
			reel_rb_retire(dc->channel.streams[i]);
	/* The descriptor stays open: a writer may have loaded it already, and
	 * a closed number could be reused by the application. */
	__atomic_store_n(&dc->wake_fd, -1, __ATOMIC_RELAXED);
}

static int handle_channel_drop(struct reel_msg *m)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	uint64_t key;
	int r;
	reel_msg_iter_init(&it, m);
	while ((r = reel_msg_next(&it, &f)) > 0) {
		if (f.tag != REEL_TAG_CHANNEL_KEY)
			continue;
		if (reel_msg_u64(&f, &key) < 0)
			return -EBADMSG;
		struct daemon_channel *dc = find_channel(key);
		if (dc)
			drop_channel(dc);
	}
	return r;
}

static int handle_ack(struct reel_msg *m)
{
	struct reel_msg_iter it;
	struct reel_msg_field f;
	uint64_t seq = 0;
	int r;
	reel_msg_iter_init(&it, m);
	while ((r = reel_msg_next(&it, &f)) > 0)
		if (f.tag == REEL_TAG_SEQ && reel_msg_u64(&f, &seq) < 0)
			return -EBADMSG;
	if (r < 0)
		return r;
	sync_update(true, true, seq);
	return 0;
}

static int handle(int sock, struct reel_msg *m)
{
	switch (m->type) {
	case REEL_APP_ACK:
		return handle_ack(m);
	case REEL_APP_STREAM:
		return handle_stream(m);
	case REEL_APP_TARGETS:
		return handle_targets(sock, m);
	case REEL_APP_CHANNEL_DROP:
		return handle_channel_drop(m);
	case REEL_APP_STATEDUMP:
		reel_ust_statedump();
		return 0;
	default:
		return 0; /* a newer daemon's message: ignored */
	}
}

/* ---- the thread ---------------------------------------------------------- */

static int connect_daemon(void)
{
	char rundir[PATH_MAX], path[PATH_MAX];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (reel_rundir(rundir, sizeof(rundir)) < 0 ||
	    reel_rundir_socket(rundir, REEL_APP_SOCKET, path, sizeof(path)) < 0 ||
	    strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;
		close(sock);
		return err;
	}
	/* Only a daemon of this user, or root's, may trace this process. */
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		close(sock);
		return -EPERM;
	}
	return sock;
}

/* Serve one connection until the daemon goes away. */
static void serve(int sock)
{
	uint32_t next_id = 0;
	pthread_mutex_lock(&sync_mutex);
	uint64_t seq = sync_requested;
	pthread_mutex_unlock(&sync_mutex);
	if (send_hello(sock) < 0 || send_events(sock, &next_id, seq) < 0)
		return;
	for (;;) {
		struct pollfd fds[2] = { { sock, POLLIN, 0 }, { notify_fd, POLLIN, 0 } };
		if (poll(fds, notify_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (notify_fd >= 0 && (fds[1].revents & POLLIN)) {
			uint64_t count;
			if (read(notify_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				return;
			pthread_mutex_lock(&sync_mutex);
			seq = sync_requested;
			pthread_mutex_unlock(&sync_mutex);
			if (send_events(sock, &next_id, seq) < 0)
				return;
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct reel_msg m;
			int err = reel_msg_recv(sock, &m);
			if (!err)
				err = handle(sock, &m);
			reel_msg_free(&m);
			if (err) {
				reel_debug("daemon connection: %s", strerror(-err));
				return;
			}
		}
	}
}

static void *control_main(void *arg)
{
	(void)arg;
	reel_clock_init();
	for (;;) {
		int sock = connect_daemon();
		if (sock >= 0) {
			reel_debug("connected to the session daemon");
			pthread_mutex_lock(&send_mutex);
			daemon_sock = sock;
			pthread_mutex_unlock(&send_mutex);
			serve(sock);
			pthread_mutex_lock(&send_mutex);
			daemon_sock = -1;
			pthread_mutex_unlock(&send_mutex);
			close(sock);
			sync_update(false, true, 0);
			/* The daemon is gone: nothing is recorded any more. */
			reel_registry_disable();
			for (struct daemon_channel *dc = channels; dc; dc = dc->next)
				if (!dc->dropped)
					drop_channel(dc);
		}
		else
			sync_update(false, true, 0);
		struct timespec pause = { 0, RETRY_MS * 1000000L };
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void start_thread(void)
{
	if (notify_fd < 0)
		notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_t thread;
	pthread_attr_t attr;
	sigset_t all, saved;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The thread takes no signal meant for the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	if (pthread_create(&thread, &attr, control_main, NULL) == 0)
		pthread_setname_np(thread, "reel-control");
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
}

/* Wait for the daemon, if there is one, to know this process and send its
 * enablement: no daemon ends the wait at once. */
static void wait_first_contact(void)
{
	if (register_timeout_ms == 0)
		return;
	struct timespec deadline;
	sync_deadline(&deadline);
	pthread_mutex_lock(&sync_mutex);
	while (!sync_first_done)
		if (pthread_cond_timedwait(&sync_cond, &sync_mutex, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&sync_mutex);
}

/* A child registers as a process of its own, before fork() returns in it
 * (as LTTng-UST's children do): the parent's channels and connection stay
 * the parent's, and its first events are recorded under its own name. */
static void control_atfork_child(void)
{
	reel_registry_disable(); /* the parent's targets */
	channels = NULL;
	pthread_mutex_init(&send_mutex, NULL);
	/* The parent's connection: the daemon must see it end with the
	 * parent. */
	if (daemon_sock >= 0)
		close(daemon_sock);
	daemon_sock = -1;
	if (notify_fd >= 0)
		close(notify_fd); /* the parent's counter */
	notify_fd = -1;
	pthread_mutex_init(&sync_mutex, NULL);
	pthread_cond_init(&sync_cond, NULL);
	sync_requested = sync_acked = 0;
	sync_connected = sync_first_done = false;
	start_thread();
	wait_first_contact();
}

/* A normal exit: the daemon learns that no event was left unfinished
 * (unlike a crash, after which it checks the buffers this process used).
 * Threads still tracing while the process exits are not covered. */
__attribute__((destructor)) static void control_fini(void)
{
	pthread_mutex_lock(&send_mutex);
	if (daemon_sock >= 0) {
		struct reel_msg m;
		reel_msg_init(&m, REEL_APP_BYE);
		reel_msg_send(daemon_sock, &m);
		reel_msg_free(&m);
	}
	pthread_mutex_unlock(&send_mutex);
}

__attribute__((constructor)) static void control_init(void)
{
	const char *output = getenv("REEL_OUTPUT");
	if (output && *output)
		return; /* standalone mode */
	const char *timeout = getenv("REEL_REGISTER_TIMEOUT");
	if (timeout && *timeout) {
		char *end;
		long ms = strtol(timeout, &end, 10);
		register_timeout_ms = *end || ms < 0 || ms > 600000 ? DEFAULT_REGISTER_TIMEOUT_MS :
									   (int)ms;
	}
	start_thread();
	pthread_atfork(NULL, NULL, control_atfork_child);
	wait_first_contact();
}
