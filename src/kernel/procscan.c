/* SPDX-License-Identifier: MIT */
/*
 * The kernel domain's /proc scanner: owns the reading of proc_root for the
 * statedump (processes, threads, fds, block devices). Calls nothing but libc
 * and the callbacks it is given; the CTF writing is the caller's.
 *
 * One pass over proc_root, every file opened relative to a directory fd,
 * directories listed with getdents64 into fixed buffers, no allocation but
 * the scan's own buffers.
 */
#define _GNU_SOURCE
#include "procscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Task flags of /proc/.../stat (include/linux/sched.h). */
#define PF_WQ_WORKER 0x00000020u
#define PF_KTHREAD   0x00200000u

/* f_mode bits (include/linux/fs.h). */
#define FMODE_READ  0x1u
#define FMODE_WRITE 0x2u
#define FMODE_PATH  0x4000u
/* A kernel-internal bit LTTng-modules clears from the flags it records. */
#define FLAGS_NONOTIFY 0x4000000u

#define DENTS_SIZE 8192

struct dents {
	int fd;
	char *buf;
	size_t pos, len;
};

struct scan {
	const struct reel_proc_scan_ops *ops;
	void *arg;
	int proc_fd;
	struct reel_proc_thread thread;
	char file[8192];
	char link[PATH_MAX];
	/* getdents64 records are 8-byte aligned within their buffer. */
	_Alignas(8) char proc_dents[DENTS_SIZE];
	_Alignas(8) char task_dents[DENTS_SIZE];
	_Alignas(8) char fd_dents[DENTS_SIZE];
};

/* What one process's threads share. */
struct process {
	int32_t pid;
	int pid_fd;
	/* NStgid of the leader: its thread group id per level, [0] = level 0. */
	uint32_t nr_levels;
	int32_t nstgid[REEL_PROC_PID_NS_MAX];
	/* ns_inum per level, [0] = level 0. */
	uint32_t inum[REEL_PROC_PID_NS_MAX];
	/* The parent's NStgid, read once for nested namespaces. */
	int32_t parent;
	uint32_t parent_levels;
	int32_t parent_nstgid[REEL_PROC_PID_NS_MAX];
	bool fds_done;
};

/* An entry that vanished (the task exited, the fd was closed) or that the
 * caller may not read: skipped, not an error of the scan. */
static bool skippable(int err)
{
	return err == ENOENT || err == ESRCH || err == EACCES || err == EPERM;
}

/* Read the file `name` under `dir_fd` into buf, NUL-terminated; a longer
 * file is cut. A short read ends it: /proc's files give all they hold to one
 * read that has room for it, and a second read costs as much again per fd.
 * Returns its length or -errno. */
static ssize_t read_file(int dir_fd, const char *name, char *buf, size_t size)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		size_t want = size - 1 - len;
		ssize_t n = read(fd, buf + len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			close(fd);
			return err;
		}
		len += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* A /proc directory entry's name as a number; false for other names. */
static bool parse_id(const char *s, int32_t *ret_id)
{
	int64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return false;
	}
	*ret_id = (int32_t)v;
	return true;
}

/* The next entry of a directory: 1 and its name, 0 at the end, or -errno. */
static int dents_next(struct dents *d, const char **ret_name)
{
	for (;;) {
		if (d->pos >= d->len) {
			ssize_t n = getdents64(d->fd, d->buf, DENTS_SIZE);
			if (n < 0)
				return -errno;
			if (n == 0)
				return 0;
			d->len = (size_t)n;
			d->pos = 0;
		}
		struct dirent64 *e = (struct dirent64 *)(void *)(d->buf + d->pos);
		if (e->d_reclen == 0 || d->pos + e->d_reclen > d->len)
			return -EIO;
		d->pos += e->d_reclen;
		if (e->d_name[0] != '.') {
			*ret_name = e->d_name;
			return 1;
		}
	}
}

/* The whitespace-separated integers after `key` in a status file ("NStgid:
 * 1234\t5"), [0] the outermost level. Returns how many, 0 when absent. */
static uint32_t parse_ns_list(const char *status, const char *key, int32_t *ids)
{
	size_t klen = strlen(key);
	const char *line = status;
	while (line && *line) {
		if (!strncmp(line, key, klen)) {
			const char *p = line + klen;
			uint32_t n = 0;
			while (n < REEL_PROC_PID_NS_MAX) {
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p < '0' || *p > '9')
					break;
				char *end;
				long v = strtol(p, &end, 10);
				ids[n++] = v > INT32_MAX ? 0 : (int32_t)v;
				p = end;
			}
			return n;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

/* State letter to LTTng's status, as LTTng-modules maps task states. */
static int32_t map_status(char state)
{
	switch (state) {
	case 'R':
		return REEL_PROC_WAIT_CPU;
	case 'S':
	case 'D':
	case 'I':
		return REEL_PROC_WAIT;
	case 'Z':
		return REEL_PROC_ZOMBIE;
	case 'X':
	case 'x':
		return REEL_PROC_DEAD;
	default:
		return REEL_PROC_UNNAMED;
	}
}

/*
 * Parse a stat line: "tid (comm) S ppid pgrp session tty tpgid flags ...",
 * where comm may hold spaces and parentheses: it ends at the last ')'.
 * Fills name, ppid, type, status and cpu. Returns 0 or -EINVAL.
 */
static int parse_stat(char *buf, size_t len, struct reel_proc_thread *t)
{
	char *open = memchr(buf, '(', len);
	char *close = memrchr(buf, ')', len);
	if (!open || !close || close < open)
		return -EINVAL;

	/* Fields 3 (state) to 39 (processor), after the comm. */
	char state = 0;
	long long ppid = 0, cpu = 0;
	unsigned long long flags = 0;
	char *p = close + 1;
	for (int field = 3; field <= 39; field++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return -EINVAL;
		char *end;
		if (field == 3) {
			state = *p;
			end = p + 1;
		} else if (field == 9) {
			flags = strtoull(p, &end, 10);
		} else {
			long long v = strtoll(p, &end, 10);
			if (field == 4)
				ppid = v;
			else if (field == 39)
				cpu = v;
		}
		if (end == p)
			return -EINVAL;
		p = end;
	}

	/* The kernel's comm is 15 bytes; /proc appends a workqueue worker's
	 * current work ("kworker/0:1-events") and prints a kernel thread's
	 * full name: cut both back. */
	const char *comm = open + 1;
	size_t n = (size_t)(close - comm);
	if ((flags & PF_WQ_WORKER) && n > 8 && !memcmp(comm, "kworker/", 8)) {
		for (size_t i = 8; i < n; i++) {
			if (comm[i] == '+' || comm[i] == '-') {
				n = i;
				break;
			}
		}
	}
	if (n > sizeof(t->name) - 1)
		n = sizeof(t->name) - 1;
	memcpy(t->name, comm, n);
	t->name[n] = '\0';

	t->ppid = ppid > 0 && ppid <= INT32_MAX ? (int32_t)ppid : 0;
	t->cpu = cpu >= 0 && cpu <= UINT32_MAX ? (uint32_t)cpu : 0;
	t->type = (flags & PF_KTHREAD) ? REEL_PROC_KERNEL_THREAD : REEL_PROC_USER_THREAD;
	t->mode = REEL_PROC_MODE_UNKNOWN;
	t->submode = REEL_PROC_SUBMODE_NONE;
	t->status = map_status(state);
	return 0;
}

/* "pid:[4026531836]" to its number; 0 when unreadable. */
static uint32_t read_ns_inum(struct scan *s, int pid_fd)
{
	ssize_t n = readlinkat(pid_fd, "ns/pid", s->link, sizeof(s->link) - 1);
	if (n <= 0)
		return 0;
	s->link[n] = '\0';
	const char *p = strchr(s->link, '[');
	return p ? (uint32_t)strtoul(p + 1, NULL, 10) : 0;
}

/* The inode numbers of a nested task's namespaces, walking up from its own
 * with NS_GET_PARENT; those it cannot reach stay 0. */
static void read_ns_chain(struct process *p)
{
	int fd = openat(p->pid_fd, "ns/pid", O_RDONLY | O_CLOEXEC);
	for (uint32_t level = p->nr_levels; fd >= 0 && level-- > 0;) {
		struct stat st;
		if (fstat(fd, &st) == 0)
			p->inum[level] = (uint32_t)st.st_ino;
		int parent = level > 0 ? ioctl(fd, NS_GET_PARENT) : -1;
		close(fd);
		fd = parent;
	}
	if (fd >= 0)
		close(fd);
}

/* Read the leader's status: its ids per pid namespace level, and what the
 * nested levels need. Returns 0, 1 when the process is gone, or -errno. */
static int read_process(struct scan *s, struct process *p)
{
	ssize_t n = read_file(p->pid_fd, "status", s->file, sizeof(s->file));
	if (n < 0)
		return skippable((int)-n) ? 1 : (int)n;
	p->nr_levels = parse_ns_list(s->file, "NStgid:", p->nstgid);
	if (p->nr_levels == 0) {
		/* Kernels before 4.1: no namespace lists. */
		p->nr_levels = 1;
		p->nstgid[0] = p->pid;
	}
	if (p->nr_levels == 1)
		p->inum[0] = read_ns_inum(s, p->pid_fd);
	else
		read_ns_chain(p);
	return 0;
}

/* The parent's NStgid for vppid in nested namespaces, read once per parent. */
static void read_parent(struct scan *s, struct process *p, int32_t ppid)
{
	if (p->parent == ppid)
		return;
	p->parent = ppid;
	p->parent_levels = 0;
	if (ppid <= 0)
		return;
	char name[300]; /* a d_name (<= 255) and a suffix */
	snprintf(name, sizeof(name), "%d/status", ppid);
	if (read_file(s->proc_fd, name, s->file, sizeof(s->file)) > 0)
		p->parent_levels = parse_ns_list(s->file, "NStgid:", p->parent_nstgid);
}

/* Fill s->thread for one thread. Returns 0, 1 when it vanished, or -errno. */
static int read_thread(struct scan *s, struct process *p, int task_fd, const char *tid_name,
		       int32_t tid)
{
	struct reel_proc_thread *t = &s->thread;
	char name[300]; /* a d_name (<= 255) and a suffix */
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = p->pid;

	snprintf(name, sizeof(name), "%s/stat", tid_name);
	ssize_t n = read_file(task_fd, name, s->file, sizeof(s->file));
	if (n < 0)
		return skippable((int)-n) ? 1 : (int)n;
	if (parse_stat(s->file, (size_t)n, t) < 0)
		return 1; /* empty or cut: the thread is being reaped */
	t->file_table = t->status == REEL_PROC_ZOMBIE || t->status == REEL_PROC_DEAD
				? 0
				: (uint64_t)(uint32_t)p->pid;

	/* Ids per level, [0] = level 0 (proc_root's namespace). */
	int32_t nspid[REEL_PROC_PID_NS_MAX];
	uint32_t levels = p->nr_levels;
	nspid[0] = tid;
	if (levels > 1) {
		snprintf(name, sizeof(name), "%s/status", tid_name);
		n = read_file(task_fd, name, s->file, sizeof(s->file));
		if (n < 0)
			return skippable((int)-n) ? 1 : (int)n;
		if (parse_ns_list(s->file, "NSpid:", nspid) != levels)
			return 1; /* exited: the lists are gone */
		read_parent(s, p, t->ppid);
	}

	/* LTTng's order: the task's own namespace first, level 0 last. */
	t->nr_pid_ns = levels;
	for (uint32_t i = 0; i < levels; i++) {
		uint32_t level = levels - 1 - i;
		struct reel_proc_pid_ns *ns = &t->pid_ns[i];
		ns->vtid = nspid[level];
		ns->vpid = p->nstgid[level];
		if (level == 0)
			ns->vppid = t->ppid;
		else
			ns->vppid = p->parent_levels > level ? p->parent_nstgid[level] : 0;
		ns->level = (int32_t)level;
		ns->inum = p->inum[level];
	}
	t->vtid = t->pid_ns[0].vtid;
	t->vpid = t->pid_ns[0].vpid;
	t->vppid = t->pid_ns[0].vppid;
	return 0;
}

/* The open flags in an fdinfo file ("flags:\t02100002"). */
static int parse_fdinfo_flags(const char *fdinfo, uint32_t *ret_flags)
{
	const char *p = strstr(fdinfo, "flags:");
	if (!p)
		return -EINVAL;
	char *end;
	unsigned long v = strtoul(p + 6, &end, 8);
	if (end == p + 6)
		return -EINVAL;
	*ret_flags = (uint32_t)v & ~FLAGS_NONOTIFY;
	return 0;
}

/* The fds of the fd table that thread tid_name uses. Returns 0 or negative. */
static int scan_fds(struct scan *s, struct process *p, int task_fd, const char *tid_name,
		    uint64_t file_table)
{
	char name[300]; /* a d_name (<= 255) and a suffix */
	int err = 0;
	snprintf(name, sizeof(name), "%s/fd", tid_name);
	int fd_dir = openat(task_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_dir < 0)
		return skippable(errno) ? 0 : -errno;
	snprintf(name, sizeof(name), "%s/fdinfo", tid_name);
	int info_dir = openat(task_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (info_dir < 0) {
		err = skippable(errno) ? 0 : -errno;
		close(fd_dir);
		return err;
	}

	struct dents d = {.fd = fd_dir, .buf = s->fd_dents};
	const char *entry = NULL; /* set when the read succeeds; gcc -O3 cannot tell */
	int more;
	while ((more = dents_next(&d, &entry)) > 0) {
		struct reel_proc_fd f = {.pid = p->pid, .file_table = file_table};
		if (!parse_id(entry, &f.fd))
			continue;

		ssize_t n = readlinkat(fd_dir, entry, s->link, sizeof(s->link));
		if (n < 0) {
			if (errno != ENAMETOOLONG) {
				if (skippable(errno))
					continue;
				err = -errno;
				break;
			}
			n = 0; /* the kernel cannot print it */
		}
		if ((size_t)n >= sizeof(s->link))
			n = sizeof(s->link) - 1;
		s->link[n] = '\0';
		f.path = s->link;

		ssize_t len = read_file(info_dir, entry, s->file, sizeof(s->file));
		if (len < 0) {
			if (skippable((int)-len))
				continue;
			err = (int)len;
			break;
		}
		if (parse_fdinfo_flags(s->file, &f.flags) < 0)
			continue;
		f.fmode = (f.flags & O_PATH)
				  ? FMODE_PATH
				  : ((f.flags & O_ACCMODE) + 1) & (FMODE_READ | FMODE_WRITE);

		err = s->ops->fd(s->arg, &f);
		if (err < 0)
			break;
		err = 0;
	}
	if (!err && more < 0 && !skippable(-more))
		err = more;
	close(info_dir);
	close(fd_dir);
	return err;
}

static int scan_process(struct scan *s, const char *pid_name, int32_t pid)
{
	struct process p = {.pid = pid, .parent = -1};
	int err = 0;

	/* Everything below is read through this directory: if the process
	 * exits and its pid is reused, reads fail rather than mix the two. */
	p.pid_fd = openat(s->proc_fd, pid_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.pid_fd < 0)
		return skippable(errno) ? 0 : -errno;
	int task_fd = openat(p.pid_fd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (task_fd < 0) {
		err = skippable(errno) ? 0 : -errno;
		goto out;
	}
	err = read_process(s, &p);
	if (err)
		goto out_task;

	struct dents d = {.fd = task_fd, .buf = s->task_dents};
	const char *entry = NULL; /* set when the read succeeds; gcc -O3 cannot tell */
	int more;
	while ((more = dents_next(&d, &entry)) > 0) {
		int32_t tid;
		if (!parse_id(entry, &tid) || tid == 0)
			continue;
		err = read_thread(s, &p, task_fd, entry, tid);
		if (err > 0) {
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		err = s->ops->thread(s->arg, &s->thread);
		if (err < 0)
			break;
		err = 0;
		uint64_t file_table = s->thread.file_table;
		if (s->ops->fd && !p.fds_done && file_table) {
			p.fds_done = true;
			err = scan_fds(s, &p, task_fd, entry, file_table);
			if (err < 0)
				break;
		}
	}
	if (!err && more < 0 && !skippable(-more))
		err = more;
out_task:
	close(task_fd);
out:
	close(p.pid_fd);
	return err > 0 ? 0 : err;
}

static int partition_line(struct scan *s, const char *line)
{
	unsigned int major, minor;
	unsigned long long blocks;
	char name[64];
	if (sscanf(line, "%u %u %llu %63s", &major, &minor, &blocks, name) != 4)
		return 0; /* the header, a blank line */
	uint32_t dev = (major << 20) | (minor & 0xfffffu);
	int err = s->ops->block_device(s->arg, dev, name);
	return err < 0 ? err : 0;
}

/* proc_root/partitions: whole disks and partitions with a size, as the
 * kernel's block device enumeration LTTng-modules uses. */
static int scan_block_devices(struct scan *s)
{
	int fd = openat(s->proc_fd, "partitions", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return skippable(errno) ? 0 : -errno;
	size_t len = 0;
	int err = 0;
	for (;;) {
		ssize_t n = read(fd, s->file + len, sizeof(s->file) - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		len += (size_t)n;
		bool eof = n == 0;
		char *start = s->file, *end = s->file + len, *nl;
		while (start < end) {
			nl = memchr(start, '\n', (size_t)(end - start));
			if (!nl && !eof)
				break;
			char *line_end = nl ? nl : end;
			*line_end = '\0';
			err = partition_line(s, start);
			if (err)
				goto out;
			start = line_end + 1;
		}
		if (eof)
			break;
		len = start < end ? (size_t)(end - start) : 0;
		if (len == sizeof(s->file) - 1)
			len = 0; /* not a partitions line: drop it */
		memmove(s->file, start, len);
	}
out:
	close(fd);
	return err;
}

int reel_proc_scan(const char *proc_root, const struct reel_proc_scan_ops *ops, void *arg)
{
	if (!proc_root || !ops || !ops->thread)
		return -EINVAL;
	struct scan *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->arg = arg;
	s->proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		int err = -errno;
		free(s);
		return err;
	}

	struct dents d = {.fd = s->proc_fd, .buf = s->proc_dents};
	const char *entry = NULL; /* set when the read succeeds; gcc -O3 cannot tell */
	int err = 0, more;
	while ((more = dents_next(&d, &entry)) > 0) {
		int32_t pid;
		if (!parse_id(entry, &pid) || pid == 0)
			continue;
		err = scan_process(s, entry, pid);
		if (err < 0)
			break;
	}
	if (!err && more < 0)
		err = more;
	if (!err && ops->block_device)
		err = scan_block_devices(s);

	close(s->proc_fd);
	free(s);
	return err;
}
