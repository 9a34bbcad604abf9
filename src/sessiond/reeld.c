/* SPDX-License-Identifier: MIT */
/*
 * reeld: the session daemon. Owns the run directory and its two sockets,
 * accepts control clients and traced applications, and serves both from
 * one event loop (this thread); sessions (session.c) have a consumer
 * thread each (consumer.c).
 *
 * Permissions: a user's daemon keeps its run directory private (0700);
 * only its own user (or root) may connect. root's daemon accepts control
 * from root only and applications of every user.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/protocol.h"
#include "../common/rundir.h"
#include "sessiond.h"

#ifndef REEL_VERSION
#define REEL_VERSION "unknown"
#endif

/* What an epoll event refers to. */
enum conn_kind { LISTEN_CLIENT, LISTEN_APP, CLIENT, APP, SIGNALS, CHUNKS };

struct conn {
	enum conn_kind kind;
	int fd;
	uid_t uid;
	struct app *app;           /* APP */
	struct reel_msg_inbuf in;  /* CLIENT */
	struct conn *next;
};

static int epfd = -1;
static struct conn *conns; /* every connection and listener */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: reeld [OPTIONS]\n"
		"\n"
		"Reel's session daemon: owns tracing sessions and consumes the buffers of\n"
		"traced applications. Controlled with `reel`.\n"
		"\n"
		"Options:\n"
		"  -d, --daemonize     run in the background once ready\n"
		"      --rundir DIR    sockets in DIR (default: $REEL_RUNDIR, /run/reel for\n"
		"                      root, $HOME/.reel/run otherwise)\n"
		"      --no-kernel     refuse the kernel domain (userspace tracing only)\n"
		"  -v, --verbose       diagnostics on stderr\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

static int add_conn(enum conn_kind kind, int fd, uid_t uid, struct app *app)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct conn){ .kind = kind, .fd = fd, .uid = uid, .app = app, .next = conns };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return -errno;
	}
	conns = c;
	return 0;
}

static void drop_conn(struct conn *c)
{
	for (struct conn **p = &conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->kind == APP) {
		struct app *a = c->app;
		for (struct app **p = &reeld.apps; *p; p = &(*p)->next) {
			if (*p == a) {
				*p = a->next;
				break;
			}
		}
		reel_debug("app %d (%s) left", (int)a->pid, a->procname);
		app_forget(a);
		app_free(a); /* closes the socket */
	} else {
		if (c->kind == CLIENT)
			rotation_waiters_serve(false, c->fd);
		close(c->fd);
	}
	reel_msg_inbuf_free(&c->in);
	free(c);
}

/* Listen on `rundir`/`name`. The socket appears under its name only once
 * it listens (bound under a temporary name, then renamed), so that a
 * client that sees it can connect. */
static int listen_on(const char *rundir, const char *name, mode_t mode)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err = reel_rundir_socket(rundir, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (err || strlen(tmp) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, tmp, strlen(tmp) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || chmod(tmp, mode) < 0 ||
	    listen(fd, 128) < 0 || rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	return fd;
}

static bool daemon_answers(const char *rundir)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	if (reel_rundir_socket(rundir, REEL_CLIENT_SOCKET, path, sizeof(path)) ||
	    strlen(path) >= sizeof(addr.sun_path))
		return false;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return up;
}

static int prepare_rundir(const char *rundir)
{
	int err = reel_mkdir_p(rundir);
	if (err)
		return err;
	struct stat st;
	if (stat(rundir, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid())
		return -EPERM;
	/* Applications of every user reach root's daemon; a user's is private. */
	if (chmod(rundir, geteuid() == 0 ? 0755 : 0700) < 0)
		return -errno;
	return 0;
}

static uid_t peer_uid(int fd, pid_t *ret_pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return (uid_t)-1;
	if (ret_pid)
		*ret_pid = cred.pid;
	return cred.uid;
}

static void accept_conn(struct conn *listener)
{
	for (;;) {
		/* Non-blocking: a peer that sends half a message waits alone
		 * for the rest (msg.h, reel_msg_inbuf). */
		int fd = accept4(listener->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		pid_t pid = 0;
		uid_t uid = peer_uid(fd, &pid);
		bool root_daemon = geteuid() == 0;
		bool allowed = uid == geteuid() || uid == 0 ||
			       (listener->kind == LISTEN_APP && root_daemon);
		if (!allowed || uid == (uid_t)-1) {
			reel_debug("refused a connection from uid %d", (int)uid);
			close(fd);
			continue;
		}
		if (listener->kind == LISTEN_CLIENT) {
			if (add_conn(CLIENT, fd, uid, NULL) < 0)
				close(fd);
			continue;
		}
		struct app *a = calloc(1, sizeof(*a));
		if (!a) {
			close(fd);
			continue;
		}
		a->sock = fd;
		a->pid = pid;
		a->uid = uid;
		snprintf(a->procname, sizeof(a->procname), "unknown");
		if (add_conn(APP, fd, uid, a) < 0) {
			app_free(a);
			continue;
		}
		a->next = reeld.apps;
		reeld.apps = a;
		reel_debug("app %d connected", (int)pid);
	}
}

static void client_garbage(int fd)
{
	/* Say so, then hang up: the stream is out of step. */
	struct reel_msg reply;
	reel_msg_init(&reply, REEL_CTL_REPLY);
	reel_msg_put_i64(&reply, REEL_TAG_STATUS, -EBADMSG);
	reel_msg_put_str(&reply, REEL_TAG_ERROR, "malformed message");
	reel_msg_send(fd, &reply);
	reel_msg_free(&reply);
}

/* Read what a client or an application sent and handle every whole
 * message; false: drop the connection. */
static bool serve_conn(struct conn *c)
{
	struct reel_msg_inbuf *in = c->kind == CLIENT ? &c->in : &c->app->in;
	int err = reel_msg_inbuf_fill(c->fd, in);
	if (err == -EAGAIN)
		return true;
	if (err > 0) {
		if (c->kind == APP) {
			err = app_pump(c->app);
		} else {
			struct reel_msg m;
			while ((err = reel_msg_inbuf_take(in, &m)) == 1) {
				err = client_handle(c->fd, c->uid, &m);
				reel_msg_free(&m);
				if (err)
					break;
			}
			if (err == -EBADMSG)
				client_garbage(c->fd);
		}
	}
	if (err && err != -ECONNRESET)
		reel_debug("%s connection: %s", c->kind == CLIENT ? "client" : "app", strerror(-err));
	return err == 0;
}

/* Handle what applications sent while the daemon waited for another
 * one's acknowledgement: nothing else would wake the loop for it. */
static void pump_apps(void)
{
	for (struct conn *c = conns, *next; c; c = next) {
		next = c->next;
		if (c->kind != APP || (!c->app->nr_stash && !c->app->in.len && !c->app->dead))
			continue;
		if (c->app->dead || app_pump(c->app) != 0) {
			drop_conn(c);
			next = conns; /* the list changed: start over */
		}
	}
}

static void shutdown_all(void)
{
	rotation_waiters_serve(true, -1);
	while (reeld.sessions)
		session_destroy(reeld.sessions);
	while (conns)
		drop_conn(conns);
	close(epfd);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "daemonize", no_argument, NULL, 'd' }, { "rundir", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },   { "no-kernel", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	bool daemonize = false;
	const char *rundir_arg = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "dvhV", options, NULL)) != -1) {
		switch (opt) {
		case 'd': daemonize = true; break;
		case 'r': rundir_arg = optarg; break;
		case 'v': setenv("REEL_DEBUG", "1", 1); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("reeld %s\n", REEL_VERSION); return 0;
		case 'K': reeld.no_kernel = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "reeld: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (rundir_arg) {
		if (rundir_arg[0] != '/' || strlen(rundir_arg) >= sizeof(reeld.rundir)) {
			fprintf(stderr, "reeld: --rundir needs an absolute path\n");
			return 2;
		}
		snprintf(reeld.rundir, sizeof(reeld.rundir), "%s", rundir_arg);
	} else if (reel_rundir(reeld.rundir, sizeof(reeld.rundir)) < 0) {
		fprintf(stderr, "reeld: cannot find a run directory (set REEL_RUNDIR)\n");
		return 1;
	}

	int ready[2] = { -1, -1 };
	if (daemonize) {
		/* The parent returns once the daemon listens, with its status. */
		if (pipe2(ready, O_CLOEXEC) < 0) {
			perror("reeld: pipe");
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("reeld: fork");
			return 1;
		}
		if (pid > 0) {
			close(ready[1]);
			char status = 1;
			if (read(ready[0], &status, 1) != 1)
				status = 1;
			return status;
		}
		close(ready[0]);
		setsid();
	}

	int err = prepare_rundir(reeld.rundir);
	if (err) {
		fprintf(stderr, "reeld: run directory %s: %s\n", reeld.rundir, strerror(-err));
		return 1;
	}
	if (daemon_answers(reeld.rundir)) {
		fprintf(stderr, "reeld: a session daemon is already running in %s\n", reeld.rundir);
		return 1;
	}
	reel_clock_init();
	/* Tracefs instances of daemons that died without removing them. */
	reel_ktrace_cleanup_stale();
	reel_clock_sample(&reeld.clock_start);
	signal(SIGPIPE, SIG_IGN);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	/* The client socket last: once it is there, the daemon is ready. */
	int app_fd = listen_on(reeld.rundir, REEL_APP_SOCKET, geteuid() == 0 ? 0666 : 0600);
	int client_fd = listen_on(reeld.rundir, REEL_CLIENT_SOCKET, 0600);
	if (sfd < 0 || epfd < 0 || client_fd < 0 || app_fd < 0 ||
	    add_conn(SIGNALS, sfd, 0, NULL) < 0 || add_conn(LISTEN_CLIENT, client_fd, 0, NULL) < 0 ||
	    add_conn(LISTEN_APP, app_fd, 0, NULL) < 0) {
		fprintf(stderr, "reeld: cannot listen in %s: %s\n", reeld.rundir,
			strerror(client_fd < 0 ? -client_fd : app_fd < 0 ? -app_fd : errno));
		return 1;
	}
	char pidfile[PATH_MAX + 16];
	snprintf(pidfile, sizeof(pidfile), "%s/reeld.pid", reeld.rundir);
	FILE *pf = fopen(pidfile, "we");
	if (pf) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	if (daemonize) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			if (!getenv("REEL_DEBUG"))
				dup2(null, STDERR_FILENO);
			close(null);
		}
		char ok = 0;
		if (write(ready[1], &ok, 1) != 1)
			return 1;
		close(ready[1]);
	}
	reel_debug("listening in %s", reeld.rundir);

	reeld.chunk_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (reeld.chunk_event_fd < 0 || add_conn(CHUNKS, reeld.chunk_event_fd, 0, NULL) < 0) {
		fprintf(stderr, "reeld: cannot create an eventfd: %s\n", strerror(errno));
		return 1;
	}
	bool running = true;
	uint64_t next_deadline = UINT64_MAX;
	while (running) {
		struct epoll_event events[32];
		uint64_t now = monotonic_ns();
		int timeout = next_deadline == UINT64_MAX ? -1 :
			      next_deadline <= now ? 0 :
			      (int)((next_deadline - now) / 1000000 + 1);
		int n = epoll_wait(epfd, events, 32, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			switch (c->kind) {
			case SIGNALS: {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					reel_debug("signal %u: shutting down", si.ssi_signo);
				running = false;
				break;
			}
			case LISTEN_CLIENT:
			case LISTEN_APP:
				accept_conn(c);
				break;
			case CHUNKS: {
				uint64_t count;
				if (read(c->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
					reel_debug("chunk events: %s", strerror(errno));
				statedump_pending_serve();
				break;
			}
			case CLIENT:
			case APP:
				/* One event per descriptor per batch: freeing
				 * it here leaves no other entry naming it. */
				if (!serve_conn(c))
					drop_conn(c);
				break;
			}
			if (!running)
				break;
		}
		pump_apps();
		next_deadline = rotation_waiters_serve(false, -1);
	}
	/* Every session is stopped (its trace complete on disk) and forgotten. */
	shutdown_all();
	char path[PATH_MAX];
	if (!reel_rundir_socket(reeld.rundir, REEL_CLIENT_SOCKET, path, sizeof(path)))
		unlink(path);
	if (!reel_rundir_socket(reeld.rundir, REEL_APP_SOCKET, path, sizeof(path)))
		unlink(path);
	unlink(pidfile);
	return 0;
}
