/* SPDX-License-Identifier: MIT */
/* Loader of the syscall-args eBPF program (bpf/syscall-args.bpf.c): loads and
 * configures it, attaches it, and drains its ring buffer. Owns the program's
 * maps; calls libbpf and src/common only. Built with REEL_HAVE_BPF=1 when
 * meson found clang, bpftool, libbpf and kernel BTF; otherwise open fails
 * with -ENOTSUP. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/syscall-args.h"

static int config_check(const struct reel_syscall_arg_config *cfg, size_t nr_cfg)
{
	for (size_t i = 0; i < nr_cfg; i++) {
		const struct reel_syscall_arg_config *c = &cfg[i];

		if (c->nr >= 512 || c->string_mask & ~0x3fu)
			return -EINVAL;
		if ((c->sockaddr_arg < 0) != (c->sockaddr_len_arg < 0) || c->sockaddr_arg > 5 ||
		    c->sockaddr_len_arg > 5)
			return -EINVAL;
	}
	return 0;
}

static void set_reason(char *reason, size_t reason_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, size_t reason_size, const char *fmt, ...)
{
	va_list ap;

	if (!reason || !reason_size)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, reason_size, fmt, ap);
	va_end(ap);
}

#if REEL_HAVE_BPF

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "kernel/bpf/syscall-args-abi.h"
#include "syscall-args.skel.h"

/* 4 MiB: about 50,000 records of a 64-byte path, between two drains. */
#define RING_SIZE (4u << 20)
/* The ring buffer's fd becomes readable once this much waits. */
#define WAKEUP_BYTES (RING_SIZE / 8)

enum { STAT_DROPPED, STAT_UNREADABLE };

struct reel_syscall_args {
	struct syscall_args_bpf *skel;
	struct ring_buffer *rb;
	int ncpus;
	/* Set for the duration of a drain. */
	int (*cb)(void *arg, const struct reel_syscall_arg *rec);
	void *cb_arg;
	int count;
};

/* libbpf's first warning during open, for the reason sentence. libbpf's
 * print callback has no context argument, hence a thread-local. */
static __thread char libbpf_msg[256];

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const char prefix[] = "libbpf: ";
	char msg[sizeof(libbpf_msg)];
	size_t n, skip = 0;

	if (level != LIBBPF_WARN || libbpf_msg[0])
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Advice only: kernels since 5.11 charge BPF memory to the cgroup. */
	if (strstr(msg, "RLIMIT_MEMLOCK"))
		return 0;
	if (!strncmp(msg, prefix, strlen(prefix)))
		skip = strlen(prefix);
	n = strlen(msg);
	while (n > skip && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	memcpy(libbpf_msg, msg + skip, n - skip + 1);
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct reel_syscall_args *sa = ctx;
	struct reel_sa_record hdr;
	struct reel_syscall_arg rec;
	int r;

	/* Written by our program, but checked as any input. */
	if (size < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.len > size - sizeof(hdr) ||
	    (hdr.kind != REEL_SA_KIND_STRING && hdr.kind != REEL_SA_KIND_SOCKADDR &&
	     hdr.kind != REEL_SA_KIND_FORK))
		return -EBADMSG;
	rec = (struct reel_syscall_arg){
		.ktime = hdr.ktime,
		.tid = hdr.tid,
		.tgid = hdr.tgid,
		.nr = hdr.nr,
		.arg = hdr.arg,
		.ptr = hdr.ptr,
		.kind = hdr.kind,
		.len = hdr.len,
		.data = (const char *)data + sizeof(hdr),
	};
	r = sa->cb(sa->cb_arg, &rec);
	if (r < 0)
		return r;
	sa->count++;
	return 0;
}

static int load_config(struct reel_syscall_args *sa, const struct reel_syscall_arg_config *cfg,
		       size_t nr_cfg)
{
	for (size_t i = 0; i < nr_cfg; i++) {
		struct reel_sa_config v = {.string_mask = cfg[i].string_mask};
		__u32 key = cfg[i].nr;
		int r;

		if (cfg[i].sockaddr_arg >= 0) {
			v.has_sockaddr = 1;
			v.sockaddr_arg = cfg[i].sockaddr_arg;
			v.sockaddr_len_arg = cfg[i].sockaddr_len_arg;
		}
		r = bpf_map__update_elem(sa->skel->maps.sa_config, &key, sizeof(key), &v, sizeof(v),
					 BPF_ANY);
		if (r < 0)
			return r;
	}
	return 0;
}

int reel_syscall_args_set(struct reel_syscall_args *sa, const struct reel_syscall_arg_config *cfg,
			  bool on)
{
	if (!sa || !cfg || config_check(cfg, 1) < 0)
		return -EINVAL;
	if (on)
		return load_config(sa, cfg, 1);
	struct reel_sa_config off = {0};
	__u32 key = cfg->nr;
	return bpf_map__update_elem(sa->skel->maps.sa_config, &key, sizeof(key), &off, sizeof(off),
				    BPF_ANY);
}

static int open_bpf(struct reel_syscall_args *sa, const struct reel_syscall_arg_config *cfg,
		    size_t nr_cfg, pid_t self, char *reason, size_t reason_size)
{
	int r;

	sa->ncpus = libbpf_num_possible_cpus();
	if (sa->ncpus <= 0) {
		set_reason(reason, reason_size, "cannot count the possible CPUs");
		return sa->ncpus < 0 ? sa->ncpus : -EIO;
	}
	sa->skel = syscall_args_bpf__open();
	if (!sa->skel) {
		r = -errno;
		set_reason(reason, reason_size, "cannot open the eBPF object: %s", strerror(-r));
		return r;
	}
	sa->skel->rodata->self_tgid = self > 0 ? (__u32)self : 0;
	sa->skel->rodata->wakeup_bytes = WAKEUP_BYTES;
	r = bpf_map__set_max_entries(sa->skel->maps.sa_records, RING_SIZE);
	if (r < 0) {
		set_reason(reason, reason_size, "cannot size the eBPF ring buffer: %s",
			   strerror(-r));
		return r;
	}
	r = syscall_args_bpf__load(sa->skel);
	if (r < 0) {
		if (r == -EPERM || r == -EACCES)
			set_reason(reason, reason_size,
				   "not allowed to load eBPF programs (root, or CAP_BPF and "
				   "CAP_PERFMON, is needed): %s%s%s",
				   strerror(-r), libbpf_msg[0] ? "; libbpf: " : "", libbpf_msg);
		else
			set_reason(reason, reason_size,
				   "the kernel refused the eBPF program: %s%s%s", strerror(-r),
				   libbpf_msg[0] ? "; libbpf: " : "", libbpf_msg);
		return r;
	}
	r = load_config(sa, cfg, nr_cfg);
	if (r < 0) {
		set_reason(reason, reason_size, "cannot write the eBPF program's configuration: %s",
			   strerror(-r));
		return r;
	}
	r = syscall_args_bpf__attach(sa->skel);
	if (r < 0) {
		set_reason(reason, reason_size,
			   "cannot attach the eBPF program to sys_enter: %s%s%s", strerror(-r),
			   libbpf_msg[0] ? "; libbpf: " : "", libbpf_msg);
		return r;
	}
	sa->rb = ring_buffer__new(bpf_map__fd(sa->skel->maps.sa_records), on_record, sa, NULL);
	if (!sa->rb) {
		r = -errno;
		set_reason(reason, reason_size, "cannot map the eBPF ring buffer: %s",
			   strerror(-r));
		return r;
	}
	return 0;
}

int reel_syscall_args_open(const struct reel_syscall_arg_config *cfg, size_t nr_cfg, pid_t self,
			   struct reel_syscall_args **ret, char *reason, size_t reason_size)
{
	struct reel_syscall_args *sa;
	libbpf_print_fn_t old;
	int r;

	if ((!cfg && nr_cfg) || !ret)
		return -EINVAL;
	r = config_check(cfg, nr_cfg);
	if (r < 0) {
		set_reason(reason, reason_size, "invalid syscall argument configuration");
		return r;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa) {
		set_reason(reason, reason_size, "out of memory");
		return -ENOMEM;
	}
	libbpf_msg[0] = '\0';
	old = libbpf_set_print(libbpf_capture);
	r = open_bpf(sa, cfg, nr_cfg, self, reason, reason_size);
	libbpf_set_print(old);
	if (r < 0) {
		reel_syscall_args_destroy(sa);
		return r;
	}
	*ret = sa;
	return 0;
}

int reel_syscall_args_fd(const struct reel_syscall_args *sa)
{
	return ring_buffer__epoll_fd(sa->rb);
}

int reel_syscall_args_drain(struct reel_syscall_args *sa,
			    int (*cb)(void *arg, const struct reel_syscall_arg *rec), void *arg)
{
	int r;

	sa->cb = cb;
	sa->cb_arg = arg;
	sa->count = 0;
	r = ring_buffer__consume(sa->rb);
	sa->cb = NULL;
	sa->cb_arg = NULL;
	return r < 0 ? r : sa->count;
}

static uint64_t stat_sum(const struct reel_syscall_args *sa, __u32 which)
{
	uint64_t sum = 0;
	__u64 *v = calloc(sa->ncpus, sizeof(*v));

	if (!v)
		return 0;
	if (bpf_map__lookup_elem(sa->skel->maps.sa_stats, &which, sizeof(which), v,
				 sa->ncpus * sizeof(*v), 0) == 0)
		for (int i = 0; i < sa->ncpus; i++)
			sum += v[i];
	free(v);
	return sum;
}

uint64_t reel_syscall_args_dropped(const struct reel_syscall_args *sa)
{
	return stat_sum(sa, STAT_DROPPED);
}

uint64_t reel_syscall_args_unreadable(const struct reel_syscall_args *sa)
{
	return stat_sum(sa, STAT_UNREADABLE);
}

void reel_syscall_args_destroy(struct reel_syscall_args *sa)
{
	if (!sa)
		return;
	ring_buffer__free(sa->rb);
	syscall_args_bpf__destroy(sa->skel);
	free(sa);
}

#else /* !REEL_HAVE_BPF */

struct reel_syscall_args {
	int unused;
};

int reel_syscall_args_open(const struct reel_syscall_arg_config *cfg, size_t nr_cfg, pid_t self,
			   struct reel_syscall_args **ret, char *reason, size_t reason_size)
{
	(void)self;
	if ((!cfg && nr_cfg) || !ret || config_check(cfg, nr_cfg) < 0)
		return -EINVAL;
	set_reason(reason, reason_size,
		   "Reel was built without eBPF syscall payloads (clang, bpftool, libbpf or kernel "
		   "BTF was missing)");
	return -ENOTSUP;
}

int reel_syscall_args_fd(const struct reel_syscall_args *sa)
{
	(void)sa;
	return -ENOTSUP;
}

int reel_syscall_args_drain(struct reel_syscall_args *sa,
			    int (*cb)(void *arg, const struct reel_syscall_arg *rec), void *arg)
{
	(void)sa, (void)cb, (void)arg;
	return -ENOTSUP;
}

int reel_syscall_args_set(struct reel_syscall_args *sa, const struct reel_syscall_arg_config *cfg,
			  bool on)
{
	(void)sa, (void)cfg, (void)on;
	return -ENOTSUP;
}

uint64_t reel_syscall_args_dropped(const struct reel_syscall_args *sa)
{
	(void)sa;
	return 0;
}

uint64_t reel_syscall_args_unreadable(const struct reel_syscall_args *sa)
{
	(void)sa;
	return 0;
}

void reel_syscall_args_destroy(struct reel_syscall_args *sa)
{
	free(sa);
}

#endif
