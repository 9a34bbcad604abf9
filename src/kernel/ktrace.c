/* SPDX-License-Identifier: MIT */
/*
 * ktrace: a session's kernel trace (see ktrace.h). Calls libtracefs for
 * the instance, kconvert for the conversion, statedump for the state at
 * each chunk's start, src/ctf for the metadata header.
 */
#define _GNU_SOURCE
#include "ktrace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <tracefs.h>

#include "../common/clock.h"
#include "../common/fileio.h"
#include "../common/log.h"
#include "kconvert.h"
#include "kernel-local.h"

#define DEFAULT_BUFFER_KB 4096u
#define DEFAULT_PACKET_SIZE (1u << 20)
#define MAX_PAGES_PER_PASS 1024
#define INSTANCE_PREFIX "reel-"
#define TRACEFS_MAGIC 0x74726163 /* <linux/magic.h> */
#define PAGE_HEADER_SIZE 16u /* u64 timestamp, u64 commit */

/* The meta-page of a memory-mapped per-CPU buffer (Linux 6.10+,
 * <linux/trace_mmap.h>, which Debian 12's headers predate). */
struct trace_buffer_meta {
	uint32_t meta_page_size;
	uint32_t meta_struct_len;
	uint32_t subbuf_size;
	uint32_t nr_subbufs;
	struct {
		uint64_t lost_events;
		uint32_t id;   /* the sub-buffer the reader may read */
		uint32_t read; /* bytes of its data given to the reader so far */
	} reader;
	uint64_t flags, entries, overrun, read, reserved1, reserved2;
};
#define TRACE_MMAP_IOCTL_GET_READER _IO('R', 0x20)

struct kcpu {
	int raw_fd;  /* per_cpu/cpuN/trace_pipe_raw of the instance */
	int file_fd; /* the stream file */
	uint64_t written; /* bytes of whole packets in it */
	uint64_t dropped_seen;
	/* The zero-copy reader: the buffer mapped, where the reader is in
	 * its current sub-buffer (data offset, clock there). NULL meta: the
	 * kernel cannot map it; read() copies sub-buffers instead. */
	const volatile struct trace_buffer_meta *meta;
	const char *data;
	size_t meta_len, data_len;
	uint32_t subbuf_id, pos;
	uint64_t ts;
};

struct reel_ktrace {
	pthread_mutex_t lock;
	struct tracefs_instance *instance;
	char name[64];
	uint32_t nr_cpus;
	struct kcpu *cpus;
	struct kconv *kc;
	struct reel_ktrace_syscall_args *args; /* eBPF, or NULL */
	char *page;
	size_t page_size;
	uint32_t packet_size;
	char dir[4096];
	int metadata_fd;
	char *metadata_header; /* TSDL up to the event classes */
	bool started;
	uint64_t lost_packets, lost_bytes;
	int chunk_error; /* the first write error of this chunk (a full disk), or 0 */
	uint32_t nr_enabled;
	struct kstatedump statedump;
	bool no_mmap; /* REEL_KERNEL_READ=copy: read() even where mmap works */
	bool context_tid; /* events carry the task id */
	bool snapshot;    /* flight recorder */
	uint32_t buffer_kb; /* per CPU */
	struct snap *snap; /* during reel_ktrace_snapshot(): where packets go */
	uint64_t chunk_ts; /* when the last chunk was closed: the next one's start */
	char warning[512];
};

static atomic_uint instance_counter;

/* ---- tracefs files ------------------------------------------------------- */

static char *read_file(const char *path, size_t *ret_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		len += (size_t)n;
		if (len == cap) {
			char *grown = realloc(buf, 2 * cap + 1);
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	close(fd);
	if (buf) {
		buf[len] = '\0';
		if (ret_size)
			*ret_size = len;
	}
	return buf;
}

static char *tracefs_read(const char *file)
{
	char *path = tracefs_get_tracing_file(file);
	if (!path)
		return NULL;
	char *text = read_file(path, NULL);
	tracefs_put_tracing_file(path);
	return text;
}

static int instance_write(struct reel_ktrace *kt, const char *file, const char *value)
{
	return tracefs_instance_file_write(kt->instance, file, value) < 0 ? -EIO : 0;
}

/* tracefs mounted (mounting it at /sys/kernel/tracing where it is
 * missing, as a fresh machine often has it). */
static int tracefs_ready(char *err, size_t err_size)
{
	static const char dir[] = "/sys/kernel/tracing";
	struct statfs fs;
	if (statfs(dir, &fs) == 0 && fs.f_type == TRACEFS_MAGIC && tracefs_tracing_dir())
		return 0;
	if (mount("nodev", dir, "tracefs", 0, NULL) < 0 && errno != EBUSY) {
		snprintf(err, err_size,
			 "tracefs is not mounted and cannot be mounted at %s: %s (mount -t tracefs "
			 "nodev %s; the kernel needs CONFIG_TRACING)",
			 dir, strerror(errno), dir);
		return -ENOENT;
	}
	if (!tracefs_tracing_dir()) {
		snprintf(err, err_size, "tracefs mounted at %s, but libtracefs does not find it", dir);
		return -ENOENT;
	}
	return 0;
}

/* ---- reading the kernel's buffers -------------------------------------------- */

/* Map CPU `c`'s buffer for the zero-copy reader; where the kernel cannot
 * (before 6.10), it stays unmapped and read() is used. */
static void map_buffer(struct kcpu *c)
{
	long page = sysconf(_SC_PAGESIZE);
	void *meta = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, c->raw_fd, 0);
	if (meta == MAP_FAILED)
		return;
	const struct trace_buffer_meta *m = meta;
	if (m->meta_struct_len < offsetof(struct trace_buffer_meta, flags) ||
	    m->meta_page_size < (size_t)page || !m->subbuf_size || !m->nr_subbufs) {
		munmap(meta, (size_t)page);
		return;
	}
	size_t meta_len = m->meta_page_size, data_len = (size_t)m->subbuf_size * m->nr_subbufs;
	if (meta_len != (size_t)page) {
		munmap(meta, (size_t)page);
		meta = mmap(NULL, meta_len, PROT_READ, MAP_SHARED, c->raw_fd, 0);
		if (meta == MAP_FAILED)
			return;
	}
	void *data = mmap(NULL, data_len, PROT_READ, MAP_SHARED, c->raw_fd, (off_t)meta_len);
	if (data == MAP_FAILED) {
		munmap(meta, meta_len);
		return;
	}
	c->meta = meta;
	c->data = data;
	c->meta_len = meta_len;
	c->data_len = data_len;
	c->subbuf_id = UINT32_MAX;
}

static void unmap_buffer(struct kcpu *c)
{
	if (!c->meta)
		return;
	munmap((void *)(uintptr_t)c->data, c->data_len);
	munmap((void *)(uintptr_t)c->meta, c->meta_len);
	c->meta = NULL;
}

/* The zero-copy reader: each GET_READER gives the sub-buffer the reader
 * owns and how much of it is written; a new sub-buffer comes only once
 * the last was given whole. Returns the sub-buffers begun, or -errno. */
static int consume_mapped(struct reel_ktrace *kt, uint32_t cpu)
{
	struct kcpu *c = &kt->cpus[cpu];
	int pages = 0, same = 0;
	for (int n = 0; n < MAX_PAGES_PER_PASS; n++) {
		if (ioctl(c->raw_fd, TRACE_MMAP_IOCTL_GET_READER) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		uint32_t id = c->meta->reader.id, read = c->meta->reader.read;
		uint32_t size = c->meta->subbuf_size;
		if (id >= c->meta->nr_subbufs || size < PAGE_HEADER_SIZE)
			return -EBADMSG;
		const char *subbuf = c->data + (size_t)id * size;
		bool fresh = id != c->subbuf_id;
		if (fresh) {
			c->subbuf_id = id;
			c->pos = 0;
			memcpy(&c->ts, subbuf, sizeof(c->ts));
			if (c->meta->reader.lost_events)
				kconv_discarded(kt->kc, cpu, c->meta->reader.lost_events);
			pages++;
		}
		if (read > size - PAGE_HEADER_SIZE)
			read = size - PAGE_HEADER_SIZE;
		if (read <= c->pos)
			break; /* nothing new */
		if (kconv_records(kt->kc, cpu, subbuf + PAGE_HEADER_SIZE + c->pos, read - c->pos,
				  &c->ts, true) < 0)
			reel_debug("kernel cpu %u: malformed sub-buffer", cpu);
		c->pos = read;
		/* More of the same sub-buffer: it was completed since (the next
		 * ioctl gives the following one), or the kernel is writing it
		 * now; then the rest waits for the next pass, rather than
		 * chasing the writer an ioctl at a time. */
		if (fresh)
			same = 0;
		else if (++same == 2)
			break;
	}
	return pages;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int exclude_self(struct reel_ktrace *kt)
{
	if (instance_write(kt, "options/event-fork", "1"))
		return -EIO;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	char list[4096] = "";
	size_t len = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && len + strlen(e->d_name) + 2 < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s ", e->d_name);
	closedir(d);
	return instance_write(kt, "set_event_notrace_pid", list);
}

/* The packets of one CPU's stream in a snapshot, kept in memory until the
 * newest that fit are chosen. */
struct snap_stream {
	char *data;
	size_t len, cap;
	size_t *ends; /* where each packet ends in data */
	size_t nr, cap_ends;
	size_t pinned; /* the first packets (the statedump), kept first */
};

struct snap {
	struct snap_stream *streams;
	int err;
};

static void snap_packet(struct snap *sn, uint32_t cpu, const char *packet, size_t size)
{
	struct snap_stream *st = &sn->streams[cpu];
	if (st->len + size > st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 1u << 20;
		while (cap < st->len + size)
			cap *= 2;
		char *grown = realloc(st->data, cap);
		if (!grown) {
			sn->err = -ENOMEM;
			return;
		}
		st->data = grown;
		st->cap = cap;
	}
	if (st->nr == st->cap_ends) {
		size_t cap = st->cap_ends ? st->cap_ends * 2 : 64;
		size_t *grown = realloc(st->ends, cap * sizeof(*grown));
		if (!grown) {
			sn->err = -ENOMEM;
			return;
		}
		st->ends = grown;
		st->cap_ends = cap;
	}
	memcpy(st->data + st->len, packet, size);
	st->len += size;
	st->ends[st->nr++] = st->len;
}

static void write_packet(void *arg, uint32_t cpu, const char *packet, size_t size)
{
	struct reel_ktrace *kt = arg;
	if (kt->snap) {
		if (cpu < kt->nr_cpus)
			snap_packet(kt->snap, cpu, packet, size);
		return;
	}
	struct kcpu *c = cpu < kt->nr_cpus ? &kt->cpus[cpu] : NULL;
	int e = !c || c->file_fd < 0 ? -EBADF : reel_write_all(c->file_fd, packet, size);
	if (!e) {
		c->written += size;
		return;
	}
	/* A full disk: the file is cut back to its last whole packet, so
	 * that the chunk stays readable; the loss is counted and told. */
	if (c && c->file_fd >= 0 && ftruncate(c->file_fd, (off_t)c->written) == 0)
		lseek(c->file_fd, (off_t)c->written, SEEK_SET);
	kt->lost_packets++;
	kt->lost_bytes += size;
	if (!kt->chunk_error)
		kt->chunk_error = e;
}

static uint32_t count_cpus(void)
{
	char *dir = tracefs_get_tracing_file("per_cpu");
	uint32_t n = 0;
	DIR *d = dir ? opendir(dir) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strncmp(e->d_name, "cpu", 3) == 0) {
				uint32_t cpu = (uint32_t)strtoul(e->d_name + 3, NULL, 10);
				if (cpu + 1 > n)
					n = cpu + 1;
			}
		closedir(d);
	}
	tracefs_put_tracing_file(dir);
	return n;
}

int reel_ktrace_new(const struct reel_ktrace_config *config, struct reel_ktrace **ret,
		    char *err, size_t err_size)
{
	if (geteuid() != 0) {
		snprintf(err, err_size,
			 "kernel tracing needs root: the session daemon runs as uid %u (run `reel` "
			 "as root, which uses root's daemon)",
			 (unsigned)geteuid());
		return -EPERM;
	}
	int e = tracefs_ready(err, err_size);
	if (e)
		return e;
	struct reel_ktrace *kt = calloc(1, sizeof(*kt));
	if (!kt)
		return -ENOMEM;
	pthread_mutex_init(&kt->lock, NULL);
	kt->metadata_fd = -1;
	kt->context_tid = config->context_tid;
	const char *how = getenv("REEL_KERNEL_READ");
	kt->no_mmap = how && strcmp(how, "copy") == 0;
	kt->snapshot = config->snapshot;
	kt->buffer_kb = config->buffer_kb ? config->buffer_kb : DEFAULT_BUFFER_KB;
	kt->packet_size = config->snapshot     ? REEL_KTRACE_SNAPSHOT_PACKET :
			  config->packet_size ? config->packet_size :
						 DEFAULT_PACKET_SIZE;
	kt->nr_cpus = count_cpus();
	if (!kt->nr_cpus) {
		snprintf(err, err_size, "tracefs has no per_cpu buffers");
		reel_ktrace_destroy(kt);
		return -ENOENT;
	}
	kt->cpus = calloc(kt->nr_cpus, sizeof(*kt->cpus));
	if (!kt->cpus) {
		reel_ktrace_destroy(kt);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < kt->nr_cpus; i++)
		kt->cpus[i].raw_fd = kt->cpus[i].file_fd = -1;
	snprintf(kt->name, sizeof(kt->name), INSTANCE_PREFIX "%d-%u", (int)getpid(),
		 atomic_fetch_add(&instance_counter, 1));
	kt->instance = tracefs_instance_create(kt->name);
	if (!kt->instance) {
		snprintf(err, err_size, "cannot create tracefs instance %s: %s", kt->name,
			 strerror(errno));
		reel_ktrace_destroy(kt);
		return -EIO;
	}
	char size[32];
	snprintf(size, sizeof(size), "%u", config->buffer_kb ? config->buffer_kb : DEFAULT_BUFFER_KB);
	/* Off until started; discard when full (overruns counted), as LTTng's
	 * kernel channels; the clock of Reel's userspace events. */
	if (instance_write(kt, "tracing_on", "0") ||
	    instance_write(kt, "options/overwrite", config->snapshot ? "1" : "0") ||
	    instance_write(kt, "buffer_size_kb", size) ||
	    instance_write(kt, "trace_clock", reel_clock_is_tsc ? "x86-tsc" : "mono")) {
		snprintf(err, err_size, "cannot set up tracefs instance %s", kt->name);
		reel_ktrace_destroy(kt);
		return -EIO;
	}
	/* Not the daemon itself: its consumer's reads and writes would feed
	 * back into the trace. Threads it starts later inherit this. */
	if (exclude_self(kt)) {
		snprintf(err, err_size, "cannot set up tracefs instance %s: set_event_notrace_pid",
			 kt->name);
		reel_ktrace_destroy(kt);
		return -EIO;
	}
	kt->page_size = (size_t)sysconf(_SC_PAGESIZE);
	long long subbuf_kb = 0;
	if (tracefs_instance_file_read_number(kt->instance, "buffer_subbuf_size_kb", &subbuf_kb) == 0 &&
	    subbuf_kb > 0)
		kt->page_size = (size_t)subbuf_kb * 1024;
	kt->page = malloc(kt->page_size);
	if (!kt->page) {
		reel_ktrace_destroy(kt);
		return -ENOMEM;
	}
	/* REEL_KERNEL_SYSCALL_ARGS=off (the daemon's environment): no eBPF. */
	const char *args = getenv("REEL_KERNEL_SYSCALL_ARGS");
	if (args && strcmp(args, "off") == 0)
		snprintf(kt->warning, sizeof(kt->warning),
			 "syscall string arguments (paths) are recorded as pointers: "
			 "REEL_KERNEL_SYSCALL_ARGS=off");
	else
		kt->args = kernel_syscall_args_open(kt->warning, sizeof(kt->warning));
	struct kconv_config kcc = {
		.context_tid = config->context_tid,
		.overwrite = config->snapshot,
		.nr_cpus = kt->nr_cpus,
		.packet_size = kt->packet_size,
		.packet = write_packet,
		.arg = kt,
		.user_string = kt->args ? kernel_syscall_args_lookup : NULL,
		.user_string_arg = kt->args,
	};
	e = kconv_new(&kcc, &kt->kc);
	if (!e)
		e = kstatedump_declare(kt->kc, &kt->statedump);
	if (e) {
		snprintf(err, err_size, "cannot set up the kernel trace: %s", strerror(-e));
		reel_ktrace_destroy(kt);
		return e;
	}
	*ret = kt;
	return 0;
}

static void close_files(struct reel_ktrace *kt)
{
	for (uint32_t i = 0; i < kt->nr_cpus; i++)
		if (kt->cpus[i].file_fd >= 0) {
			close(kt->cpus[i].file_fd);
			kt->cpus[i].file_fd = -1;
		}
	if (kt->metadata_fd >= 0)
		close(kt->metadata_fd);
	kt->metadata_fd = -1;
}

void reel_ktrace_destroy(struct reel_ktrace *kt)
{
	if (!kt)
		return;
	if (kt->instance) {
		tracefs_instance_file_write(kt->instance, "tracing_on", "0");
		tracefs_instance_file_write(kt->instance, "events/enable", "0");
	}
	if (kt->cpus)
		for (uint32_t i = 0; i < kt->nr_cpus; i++) {
			unmap_buffer(&kt->cpus[i]);
			if (kt->cpus[i].raw_fd >= 0)
				close(kt->cpus[i].raw_fd);
		}
	close_files(kt);
	if (kt->instance) {
		if (tracefs_instance_destroy(kt->instance) < 0)
			reel_debug("cannot remove tracefs instance %s: %s", kt->name, strerror(errno));
		tracefs_instance_free(kt->instance);
	}
	kernel_syscall_args_close(kt->args);
	kconv_destroy(kt->kc);
	free(kt->cpus);
	free(kt->page);
	free(kt->metadata_header);
	pthread_mutex_destroy(&kt->lock);
	free(kt);
}

/* ---- events -------------------------------------------------------------- */

struct match {
	struct reel_ktrace *kt;
	const char *pattern;
	bool syscall, enable;
	int count, err, unsupported;
};

static int enable_one(struct match *m, const char *system, const char *event)
{
	char file[512];
	int e = 0;
	if (m->enable) {
		snprintf(file, sizeof(file), "events/%s/%s/format", system, event);
		char *format = tracefs_read(file);
		if (!format)
			return -errno ? -errno : -EIO;
		e = kconv_add_event(m->kt->kc, system, event, format);
		free(format);
		if (e == -EEXIST)
			e = 0;
		if (e == -EINVAL) { /* a format it cannot describe: not recorded */
			m->unsupported++;
			return 0;
		}
		if (e)
			return e;
		if (m->kt->metadata_fd >= 0) {
			struct reel_strbuf decl = { 0 };
			e = kconv_metadata(m->kt->kc, &decl, false);
			if (!e && decl.len)
				e = reel_write_all(m->kt->metadata_fd, decl.data, decl.len);
			reel_strbuf_free(&decl);
			if (e)
				return e;
		}
	}
	/* The program copies the strings of the syscalls recorded only. */
	if (m->kt->args && strcmp(system, "syscalls") == 0 && strncmp(event, "sys_enter_", 10) == 0)
		kernel_syscall_args_enable(m->kt->args, event + 10, m->enable);
	snprintf(file, sizeof(file), "events/%s/%s/enable", system, event);
	if (instance_write(m->kt, file, m->enable ? "1" : "0"))
		return -EIO;
	m->count++;
	return 0;
}

static bool event_matches(const struct match *m, const char *system, const char *event)
{
	bool is_syscall = strcmp(system, "syscalls") == 0;
	if (m->syscall) {
		if (!is_syscall)
			return false;
		const char *name = strncmp(event, "sys_enter_", 10) == 0 ? event + 10 :
				   strncmp(event, "sys_exit_", 9) == 0	   ? event + 9 :
									     NULL;
		return name && fnmatch(m->pattern, name, 0) == 0;
	}
	if (is_syscall)
		return false; /* with --syscall only, as lttng */
	if (strchr(m->pattern, ':')) {
		char full[512];
		snprintf(full, sizeof(full), "%s:%s", system, event);
		return fnmatch(m->pattern, full, 0) == 0;
	}
	return fnmatch(m->pattern, event, 0) == 0;
}

/* Every "system:event" line of available_events. */
static int for_each_event(int (*cb)(void *arg, const char *system, const char *event), void *arg)
{
	char *text = tracefs_read("available_events");
	if (!text)
		return -errno ? -errno : -EIO;
	int e = 0;
	for (char *line = text, *next; !e && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		e = cb(arg, line, colon + 1);
	}
	free(text);
	return e;
}

static int match_cb(void *arg, const char *system, const char *event)
{
	struct match *m = arg;
	if (!event_matches(m, system, event))
		return 0;
	int e = enable_one(m, system, event);
	if (e && !m->err)
		m->err = e;
	return 0;
}

static int set_events(struct reel_ktrace *kt, const char *pattern, bool syscall, bool enable,
		      char *err, size_t err_size)
{
	struct match m = { kt, pattern, syscall, enable, 0, 0, 0 };
	pthread_mutex_lock(&kt->lock);
	int e = for_each_event(match_cb, &m);
	if (!e)
		e = m.err;
	if (enable)
		kt->nr_enabled += (uint32_t)m.count;
	pthread_mutex_unlock(&kt->lock);
	if (e) {
		snprintf(err, err_size, "cannot %s kernel events '%s': %s", enable ? "enable" : "disable",
			 pattern, strerror(-e));
		return e;
	}
	if (!m.count && m.unsupported) {
		snprintf(err, err_size,
			 "kernel event '%s' cannot be recorded: its tracefs format has no CTF form here",
			 pattern);
		return -ENOTSUP;
	}
	if (!m.count) {
		snprintf(err, err_size, "no kernel %s matches '%s' (see `reel list -k`)",
			 syscall ? "syscall" : "event", pattern);
		return -ENOENT;
	}
	return m.count;
}

struct check {
	const char *pattern;
	bool syscall;
	int matches, unsupported;
	char first_unsupported[256];
};

static int check_cb(void *arg, const char *system, const char *event)
{
	struct check *c = arg;
	struct match m = { .pattern = c->pattern, .syscall = c->syscall };
	if (event_matches(&m, system, event))
		c->matches++;
	return 0;
}

int reel_ktrace_check(struct reel_ktrace *kt, const char *pattern, bool syscall, char *err,
		      size_t err_size)
{
	(void)kt;
	struct check c = { .pattern = pattern, .syscall = syscall };
	int e = for_each_event(check_cb, &c);
	if (e) {
		snprintf(err, err_size, "cannot read the kernel's events: %s", strerror(-e));
		return e;
	}
	if (!c.matches) {
		snprintf(err, err_size, "no kernel %s matches '%s' (see `reel list -k%s`)",
			 syscall ? "syscall" : "event", pattern, syscall ? " --syscall" : "");
		return -ENOENT;
	}
	return c.matches;
}

int reel_ktrace_enable(struct reel_ktrace *kt, const char *pattern, bool syscall, char *err,
		       size_t err_size)
{
	return set_events(kt, pattern, syscall, true, err, err_size);
}

int reel_ktrace_disable(struct reel_ktrace *kt, const char *pattern, bool syscall, char *err,
			size_t err_size)
{
	return set_events(kt, pattern, syscall, false, err, err_size);
}

/* ---- files --------------------------------------------------------------- */

/* The metadata file of the chunk: written aside, renamed into place. */
static int write_metadata(struct reel_ktrace *kt)
{
	char tmp[4096 + 64], path[4096 + 64];
	snprintf(tmp, sizeof(tmp), "%s/.metadata.tmp", kt->dir);
	snprintf(path, sizeof(path), "%s/metadata", kt->dir);
	struct reel_strbuf text = { 0 };
	int e = reel_strbuf_printf(&text, "%s", kt->metadata_header);
	if (!e)
		e = kconv_metadata(kt->kc, &text, true);
	int fd = -1;
	if (!e) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
		e = fd < 0 ? -errno : reel_write_all(fd, text.data, text.len);
	}
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	reel_strbuf_free(&text);
	if (e) {
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return e;
	}
	if (kt->metadata_fd >= 0)
		close(kt->metadata_fd);
	kt->metadata_fd = fd;
	return 0;
}

static int open_chunk(struct reel_ktrace *kt, const char *dir)
{
	int e = reel_mkdir_p(dir);
	if (e < 0)
		return e;
	snprintf(kt->dir, sizeof(kt->dir), "%s", dir);
	char path[4096 + 64];
	kt->chunk_error = 0;
	for (uint32_t i = 0; i < kt->nr_cpus; i++) {
		snprintf(path, sizeof(path), "%s/channel0_%u", dir, i);
		kt->cpus[i].written = 0;
		kt->cpus[i].file_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
		if (kt->cpus[i].file_fd < 0)
			return kt->chunk_error = -errno;
	}
	e = write_metadata(kt);
	if (e)
		return kt->chunk_error = e;
	/* The chunk begins when the last one was closed: what was read since
	 * is in this one, and its statedump comes first. */
	uint64_t begin = kt->chunk_ts ? kt->chunk_ts : reel_clock_read();
	kt->chunk_ts = 0;
	kconv_new_chunk(kt->kc, begin);
	e = kstatedump_write(kt->kc, &kt->statedump, begin, "/proc");
	kconv_flush(kt->kc, 0, false);
	return e;
}

int reel_ktrace_set_metadata(struct reel_ktrace *kt, const struct reel_ctf_trace_desc *trace)
{
	struct reel_ctf_trace_desc desc = *trace;
	uint32_t contexts = kt->context_tid ? REEL_CTF_CONTEXT_KERNEL_TID : 0;
	desc.nr_streams = 1;
	desc.stream_contexts = &contexts;
	struct reel_strbuf header = { 0 };
	int e = reel_ctf_metadata_header(&header, &desc);
	if (!e && !header.data)
		e = -ENOMEM;
	if (e) {
		reel_strbuf_free(&header);
		return e;
	}
	pthread_mutex_lock(&kt->lock);
	free(kt->metadata_header);
	kt->metadata_header = header.data;
	kconv_set_uuid(kt->kc, trace->uuid);
	if (kt->metadata_fd >= 0)
		e = write_metadata(kt);
	pthread_mutex_unlock(&kt->lock);
	return e;
}

int reel_ktrace_start(struct reel_ktrace *kt, const char *dir, char *err, size_t err_size)
{
	pthread_mutex_lock(&kt->lock);
	int e = kt->metadata_header ? 0 : -EINVAL;
	if (!e && kt->snapshot) { /* nothing read until a snapshot */
		e = instance_write(kt, "tracing_on", "1") ? -EIO : 0;
		kt->started = !e;
		pthread_mutex_unlock(&kt->lock);
		if (e)
			snprintf(err, err_size, "cannot start the kernel recording");
		return e;
	}
	char path[512];
	for (uint32_t i = 0; !e && i < kt->nr_cpus; i++) {
		if (kt->cpus[i].raw_fd >= 0)
			continue;
		snprintf(path, sizeof(path), "per_cpu/cpu%u/trace_pipe_raw", i);
		char *file = tracefs_instance_get_file(kt->instance, path);
		kt->cpus[i].raw_fd = file ? open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
		if (kt->cpus[i].raw_fd < 0)
			e = -errno ? -errno : -ENOMEM;
		tracefs_put_tracing_file(file);
		if (!e && !kt->no_mmap)
			map_buffer(&kt->cpus[i]);
	}
	if (!e && kt->metadata_fd < 0)
		e = open_chunk(kt, dir);
	if (!e && instance_write(kt, "tracing_on", "1"))
		e = -EIO;
	if (!e)
		kt->started = true;
	pthread_mutex_unlock(&kt->lock);
	if (e)
		snprintf(err, err_size, "cannot start the kernel trace in %s: %s", dir, strerror(-e));
	return e;
}

int reel_ktrace_add_context(struct reel_ktrace *kt, const char *type)
{
	if (strcmp(type, "tid") != 0)
		return -EINVAL;
	pthread_mutex_lock(&kt->lock);
	int e = kt->started || kt->metadata_header ? -EBUSY : 0;
	if (!e) {
		kt->context_tid = true;
		kconv_set_context_tid(kt->kc, true);
	}
	pthread_mutex_unlock(&kt->lock);
	return e;
}

int reel_ktrace_stop(struct reel_ktrace *kt)
{
	return instance_write(kt, "tracing_on", "0");
}

int reel_ktrace_resume(struct reel_ktrace *kt)
{
	return instance_write(kt, "tracing_on", "1");
}

static uint64_t read_dropped(struct reel_ktrace *kt, uint32_t cpu)
{
	char file[64];
	snprintf(file, sizeof(file), "per_cpu/cpu%u/stats", cpu);
	char *text = tracefs_instance_file_read(kt->instance, file, NULL);
	uint64_t n = 0;
	const char *d = text ? strstr(text, "dropped events: ") : NULL;
	if (d)
		n = strtoull(d + 16, NULL, 10);
	free(text);
	return n;
}

static int consume_locked(struct reel_ktrace *kt, bool flush)
{
	int pages = 0;
	for (uint32_t cpu = 0; cpu < kt->nr_cpus; cpu++) {
		struct kcpu *c = &kt->cpus[cpu];
		if (c->raw_fd < 0)
			continue;
		int n = 0;
		if (c->meta) {
			if (kt->args)
				kernel_syscall_args_drain(kt->args);
			n = consume_mapped(kt, cpu);
			if (n < 0) {
				reel_debug("kernel cpu %u: %s", cpu, strerror(-n));
				n = 0;
			}
		}
		for (; !c->meta && n < MAX_PAGES_PER_PASS; n++) {
			if (kt->args)
				kernel_syscall_args_drain(kt->args);
			ssize_t got = read(c->raw_fd, kt->page, kt->page_size);
			if (got <= 0)
				break;
			if (kconv_page(kt->kc, cpu, kt->page, (size_t)got) < 0)
				reel_debug("kernel cpu %u: malformed page", cpu);
		}
		pages += n;
		if (n || flush) {
			uint64_t dropped = read_dropped(kt, cpu);
			if (dropped > c->dropped_seen)
				kconv_discarded(kt->kc, cpu, dropped - c->dropped_seen);
			c->dropped_seen = dropped;
		}
		if (flush)
			kconv_flush(kt->kc, cpu, false);
	}
	return pages;
}

int reel_ktrace_consume(struct reel_ktrace *kt, bool flush)
{
	pthread_mutex_lock(&kt->lock);
	int pages = kt->started && !kt->snapshot ? consume_locked(kt, flush) : 0;
	pthread_mutex_unlock(&kt->lock);
	return pages;
}

int reel_ktrace_chunk_error(struct reel_ktrace *kt)
{
	pthread_mutex_lock(&kt->lock);
	int e = kt->chunk_error;
	pthread_mutex_unlock(&kt->lock);
	return e;
}

uint32_t reel_ktrace_nr_streams(const struct reel_ktrace *kt)
{
	return kt->nr_cpus;
}

/* The sub-buffers CPU `cpu`'s buffer holds now, read out (consumed): at
 * most as many as the buffer has, so that a busy CPU cannot keep it
 * reading. */
static int read_snapshot_raw(struct reel_ktrace *kt, uint32_t cpu, char **ret, size_t *ret_len)
{
	char file[64];
	snprintf(file, sizeof(file), "per_cpu/cpu%u/trace_pipe_raw", cpu);
	char *path = tracefs_instance_get_file(kt->instance, file);
	int fd = path ? open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
	tracefs_put_tracing_file(path);
	if (fd < 0)
		return -errno ? -errno : -ENOMEM;
	char *buf = NULL;
	size_t len = 0, cap = 0, max = (size_t)kt->buffer_kb * 1024 + kt->page_size;
	int e = 0;
	while (len < max) {
		if (len + kt->page_size > cap) {
			size_t grown_cap = cap ? cap * 2 : 64 * kt->page_size;
			char *grown = realloc(buf, grown_cap);
			if (!grown) {
				e = -ENOMEM;
				break;
			}
			buf = grown;
			cap = grown_cap;
		}
		ssize_t n = read(fd, buf + len, kt->page_size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Each read is one sub-buffer, padded to the sub-buffer size. */
		len += kt->page_size;
		if ((size_t)n < kt->page_size)
			memset(buf + len - kt->page_size + n, 0, kt->page_size - (size_t)n);
	}
	close(fd);
	if (e) {
		free(buf);
		return e;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The packets of `st` to write: the pinned ones (statedump) if they fit,
 * then the newest that fit in what is left of `budget`. Returns the
 * first packet of the newest run, and *ret_pinned whether to write the
 * pinned ones. */
static size_t snap_choose(const struct snap_stream *st, uint64_t budget, bool *ret_pinned)
{
	size_t pinned_len = st->pinned ? st->ends[st->pinned - 1] : 0;
	*ret_pinned = pinned_len <= budget;
	uint64_t left = *ret_pinned ? budget - pinned_len : budget;
	size_t first = st->nr; /* packets [first, nr) are kept */
	while (first > st->pinned) {
		size_t i = first - 1, begin = i ? st->ends[i - 1] : 0;
		if (st->ends[i] - begin > left)
			break;
		left -= st->ends[i] - begin;
		first = i;
	}
	return first;
}

static int snap_write(const struct reel_ktrace *kt, const struct snap *sn, const char *dir,
		      uint64_t budget)
{
	char path[4096 + 64];
	int e = 0;
	for (uint32_t cpu = 0; cpu < kt->nr_cpus && !e; cpu++) {
		const struct snap_stream *st = &sn->streams[cpu];
		snprintf(path, sizeof(path), "%s/channel0_%u", dir, cpu);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0664);
		if (fd < 0)
			return -errno;
		bool pinned;
		size_t first = snap_choose(st, budget, &pinned);
		size_t pinned_len = st->pinned ? st->ends[st->pinned - 1] : 0;
		size_t from = first ? st->ends[first - 1] : 0;
		if (pinned && pinned_len)
			e = reel_write_all(fd, st->data, pinned_len);
		if (!e && st->len > from)
			e = reel_write_all(fd, st->data + from, st->len - from);
		close(fd);
	}
	return e;
}

int reel_ktrace_snapshot(struct reel_ktrace *kt, const char *dir, uint64_t budget)
{
	pthread_mutex_lock(&kt->lock);
	if (!kt->snapshot || !kt->started || !kt->metadata_header) {
		pthread_mutex_unlock(&kt->lock);
		return -EINVAL;
	}
	struct snap sn = { .streams = calloc(kt->nr_cpus, sizeof(*sn.streams)) };
	char **raw = calloc(kt->nr_cpus, sizeof(*raw));
	size_t *raw_len = calloc(kt->nr_cpus, sizeof(*raw_len));
	int e = sn.streams && raw && raw_len ? 0 : -ENOMEM;
	/* The buffers are in overwrite mode: they hold the newest records.
	 * Reading them empties them (tracefs's swap snapshot needs
	 * CONFIG_TRACER_SNAPSHOT, which kernels do not all have), so the
	 * next snapshot holds what comes after this one. */
	uint64_t begin = UINT64_MAX;
	for (uint32_t cpu = 0; cpu < kt->nr_cpus && !e; cpu++) {
		e = read_snapshot_raw(kt, cpu, &raw[cpu], &raw_len[cpu]);
		for (size_t off = 0; !e && off + PAGE_HEADER_SIZE <= raw_len[cpu]; off += kt->page_size) {
			uint64_t ts, commit;
			memcpy(&ts, raw[cpu] + off, sizeof(ts));
			memcpy(&commit, raw[cpu] + off + 8, sizeof(commit));
			if ((commit & ((1u << 27) - 1)) && ts < begin)
				begin = ts;
		}
	}
	if (!e) {
		if (begin == UINT64_MAX)
			begin = reel_clock_read();
		kt->snap = &sn;
		kconv_new_chunk(kt->kc, begin);
		/* The state first, stamped at the oldest record. */
		e = kstatedump_write(kt->kc, &kt->statedump, begin, "/proc");
		kconv_flush(kt->kc, 0, false);
		sn.streams[0].pinned = sn.streams[0].nr;
		for (uint32_t cpu = 0; cpu < kt->nr_cpus && !e; cpu++) {
			for (size_t off = 0; off < raw_len[cpu]; off += kt->page_size)
				if (kconv_page(kt->kc, cpu, raw[cpu] + off, kt->page_size) < 0)
					reel_debug("kernel cpu %u: malformed snapshot page", cpu);
			kconv_flush(kt->kc, cpu, false);
		}
		kt->snap = NULL;
		if (!e)
			e = sn.err;
	}
	if (!e)
		e = reel_mkdir_p(dir);
	if (!e) {
		char saved[sizeof(kt->dir)];
		memcpy(saved, kt->dir, sizeof(saved));
		snprintf(kt->dir, sizeof(kt->dir), "%s", dir);
		e = write_metadata(kt);
		if (kt->metadata_fd >= 0)
			close(kt->metadata_fd);
		kt->metadata_fd = -1;
		memcpy(kt->dir, saved, sizeof(saved));
	}
	if (!e)
		e = snap_write(kt, &sn, dir, budget);
	for (uint32_t cpu = 0; sn.streams && cpu < kt->nr_cpus; cpu++) {
		free(sn.streams[cpu].data);
		free(sn.streams[cpu].ends);
		if (raw)
			free(raw[cpu]);
	}
	free(sn.streams);
	free(raw);
	free(raw_len);
	pthread_mutex_unlock(&kt->lock);
	return e;
}

int reel_ktrace_close_chunk(struct reel_ktrace *kt)
{
	pthread_mutex_lock(&kt->lock);
	kt->chunk_ts = reel_clock_read();
	if (kt->started)
		while (consume_locked(kt, true) > 0)
			;
	close_files(kt);
	pthread_mutex_unlock(&kt->lock);
	return 0;
}

int reel_ktrace_open_chunk(struct reel_ktrace *kt, const char *dir)
{
	pthread_mutex_lock(&kt->lock);
	int e = kt->metadata_header ? open_chunk(kt, dir) : 0;
	pthread_mutex_unlock(&kt->lock);
	return e;
}

void reel_ktrace_stats(struct reel_ktrace *kt, struct reel_ktrace_stats *ret)
{
	struct kconv_stats s;
	pthread_mutex_lock(&kt->lock);
	kconv_stats(kt->kc, &s);
	*ret = (struct reel_ktrace_stats){
		.events = s.events,
		.packets = s.packets,
		.bytes = s.bytes - kt->lost_bytes,
		.discarded = s.discarded,
		.lost_packets = kt->lost_packets + s.lost_packets,
		.nr_events = kt->nr_enabled,
	};
	pthread_mutex_unlock(&kt->lock);
}

const char *reel_ktrace_warning(const struct reel_ktrace *kt)
{
	return kt->warning[0] ? kt->warning : NULL;
}

/* ---- outside any session --------------------------------------------------- */

void reel_ktrace_cleanup_stale(void)
{
	/* Not mounted: no instance to clean (and nothing to mount yet). */
	struct statfs fs;
	if (geteuid() != 0 || statfs("/sys/kernel/tracing", &fs) < 0 || fs.f_type != TRACEFS_MAGIC)
		return;
	const char *tracing = tracefs_tracing_dir();
	char dir[4096];
	if (!tracing || snprintf(dir, sizeof(dir), "%s/instances", tracing) >= (int)sizeof(dir))
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, INSTANCE_PREFIX, strlen(INSTANCE_PREFIX)) != 0)
			continue;
		long pid = strtol(e->d_name + strlen(INSTANCE_PREFIX), &end, 10);
		if (pid <= 0 || *end != '-' || pid == getpid() || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		struct tracefs_instance *inst = tracefs_instance_alloc(NULL, e->d_name);
		if (!inst)
			continue;
		tracefs_instance_file_write(inst, "tracing_on", "0");
		tracefs_instance_file_write(inst, "events/enable", "0");
		if (tracefs_instance_destroy(inst) == 0)
			reel_debug("removed tracefs instance %s of a dead daemon", e->d_name);
		tracefs_instance_free(inst);
	}
	closedir(d);
}

int reel_ktrace_list(int (*cb)(void *arg, const char *system, const char *event), void *arg,
		     char *err, size_t err_size)
{
	if (geteuid() != 0) {
		snprintf(err, err_size, "listing kernel events needs root");
		return -EPERM;
	}
	int e = tracefs_ready(err, err_size);
	if (e)
		return e;
	e = for_each_event(cb, arg);
	if (e < 0)
		snprintf(err, err_size, "cannot read available_events: %s", strerror(-e));
	return e;
}
