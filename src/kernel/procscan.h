/* SPDX-License-Identifier: MIT */
/*
 * The /proc scanner behind the kernel domain's statedump: the processes,
 * threads, open file descriptors and block devices that existed before
 * tracing began, with the values LTTng-modules 2.13 records in its
 * lttng_statedump_process_state, _process_pid_ns, _file_descriptor and
 * _block_device events. It reads files only; it writes no trace.
 */
#ifndef REEL_KERNEL_PROCSCAN_H
#define REEL_KERNEL_PROCSCAN_H

#include <stdint.h>

#include "common/compiler.h"

/* LTTng's enum lttng_thread_type (the `type` field). */
enum reel_proc_type {
	REEL_PROC_USER_THREAD = 0,
	REEL_PROC_KERNEL_THREAD = 1,
};

/* LTTng's enum lttng_execution_mode (the `mode` field). LTTng-modules always
 * records REEL_PROC_MODE_UNKNOWN, and so does this scanner. */
enum reel_proc_mode {
	REEL_PROC_MODE_USER = 0,
	REEL_PROC_MODE_SYSCALL = 1,
	REEL_PROC_MODE_TRAP = 2,
	REEL_PROC_MODE_IRQ = 3,
	REEL_PROC_MODE_SOFTIRQ = 4,
	REEL_PROC_MODE_UNKNOWN = 5,
};

/* LTTng's enum lttng_execution_submode (the `submode` field). LTTng-modules
 * always records REEL_PROC_SUBMODE_NONE, and so does this scanner. */
enum reel_proc_submode {
	REEL_PROC_SUBMODE_NONE = 0,
	REEL_PROC_SUBMODE_UNKNOWN = 1,
};

/* LTTng's enum lttng_process_status (the `status` field). From the state
 * letter of /proc/.../stat, as LTTng-modules maps the task state: R -> WAIT_CPU
 * (LTTng never records RUN: the viewer finds out who runs), S D I -> WAIT,
 * Z -> ZOMBIE, X x -> DEAD, anything else (T t P W K ...) -> UNNAMED. */
enum reel_proc_status {
	REEL_PROC_UNNAMED = 0,
	REEL_PROC_WAIT_FORK = 1,
	REEL_PROC_WAIT_CPU = 2,
	REEL_PROC_EXIT = 3,
	REEL_PROC_ZOMBIE = 4,
	REEL_PROC_WAIT = 5,
	REEL_PROC_RUN = 6,
	REEL_PROC_DEAD = 7,
};

/* The kernel's MAX_PID_NS_LEVEL is 32: levels 0 to 32. */
#define REEL_PROC_PID_NS_MAX 33

/* One lttng_statedump_process_pid_ns event: a task's ids in one pid
 * namespace of its chain. */
struct reel_proc_pid_ns {
	int32_t vtid;  /* thread id in that namespace */
	int32_t vpid;  /* thread group id in that namespace */
	int32_t vppid; /* parent's thread group id there; 0 when the parent is not
			* visible in it (the namespace's init, for instance) */
	int32_t level; /* ns_level: 0 for the namespace of proc_root (the initial
			* pid namespace when reeld runs there, as a kernel tracer must) */
	uint32_t inum; /* ns_inum: the namespace's inode number (/proc/.../ns/pid);
			* 0 when it cannot be read (permission) */
};

/* One thread: the payload of lttng_statedump_process_state, and its
 * lttng_statedump_process_pid_ns events. Ids are as seen in proc_root's pid
 * namespace. */
struct reel_proc_thread {
	int32_t tid;	     /* tid: the thread */
	int32_t pid;	     /* pid: its thread group (process) */
	int32_t ppid;	     /* ppid: the thread group of its real parent */
	char name[16];	     /* name: comm, NUL-terminated, at most 15 bytes as the
			      * kernel's task->comm (a workqueue worker's "+desc" or
			      * "-desc" suffix, which /proc appends, is removed) */
	int32_t type;	     /* type: enum reel_proc_type, from PF_KTHREAD */
	int32_t mode;	     /* mode: enum reel_proc_mode, always UNKNOWN (5) */
	int32_t submode;     /* submode: enum reel_proc_submode, always NONE (0) */
	int32_t status;	     /* status: enum reel_proc_status */
	uint32_t cpu;	     /* cpu: the CPU it last ran on (field 39 of stat) */
	uint64_t file_table; /* file_table_address: an identifier of its fd table,
			      * shared by the threads of a process (the pid); 0 for
			      * a task without one (zombie, dead). Not an address:
			      * /proc has none to give. */
	/* Its ids in its own pid namespace, the same as pid_ns[0]'s. Outside
	 * namespaces, equal to tid, pid and ppid. */
	int32_t vtid, vpid, vppid;
	/* Its pid namespaces, in the order LTTng-modules records them: [0] the
	 * task's own, then each parent, the last (level 0) proc_root's. */
	uint32_t nr_pid_ns;
	struct reel_proc_pid_ns pid_ns[REEL_PROC_PID_NS_MAX];
};

/* One open file descriptor: the payload of lttng_statedump_file_descriptor. */
struct reel_proc_fd {
	int32_t pid;	     /* the process whose fd table holds it (not in LTTng's
			      * payload, which has only file_table_address) */
	uint64_t file_table; /* file_table_address: the same value as the
			      * owning threads' file_table */
	int32_t fd;	     /* fd */
	uint32_t flags;	     /* flags: the file's open flags (fdinfo "flags:"),
			      * O_CLOEXEC included when set on the fd, as LTTng */
	uint32_t fmode;	     /* fmode: FMODE_READ 0x1 and FMODE_WRITE 0x2 from the
			      * access mode, 0x4000 (FMODE_PATH) for O_PATH; the
			      * kernel's other internal f_mode bits are unknown */
	const char *path;    /* filename: the fd's link ("/etc/passwd",
			      * "socket:[123]", "pipe:[4]", "anon_inode:[eventfd]"),
			      * at most PATH_MAX - 1 bytes; "" when the kernel
			      * cannot print it (a path longer than PATH_MAX).
			      * Valid during the call only. */
};

/* What the scan calls. A callback returning a negative value stops the scan,
 * which returns that value; any other value continues it. */
struct reel_proc_scan_ops {
	/* Each thread of each process; t is valid during the call only.
	 * Required. */
	int (*thread)(void *arg, const struct reel_proc_thread *t);
	/* Each fd of each process, after the first thread of that process that
	 * has an fd table, as LTTng-modules orders them. May be NULL. */
	int (*fd)(void *arg, const struct reel_proc_fd *f);
	/* Each block device and partition of proc_root/partitions, after all
	 * processes: dev as the kernel's dev_t, (major << 20) | minor, diskname
	 * as "sda1" or "nvme0n1p2". May be NULL. */
	int (*block_device)(void *arg, uint32_t dev, const char *diskname);
};

/*
 * Scan proc_root (normally "/proc") once and call ops for what it lists.
 * Processes, threads and fds that vanish during the scan, and those the
 * caller may not read (another user's fds, hidepid), are skipped silently;
 * so is a missing partitions file. Threads of one process are assumed to
 * share its fd table (clone without CLONE_FILES is not seen).
 *
 * Context: any thread; calls ops from the calling thread; no signals used;
 * allocates one buffer of about 40 KiB.
 *
 * Returns 0; the first negative value a callback returned; -errno when
 * proc_root cannot be read, or on an error other than a vanished or
 * forbidden entry (-EMFILE, -ENOMEM, -EIO...).
 */
int reel_proc_scan(const char *proc_root, const struct reel_proc_scan_ops *ops,
		   void *arg) REEL_HIDDEN;

#endif
