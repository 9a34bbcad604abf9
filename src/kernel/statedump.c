/* SPDX-License-Identifier: MIT */
/*
 * statedump: the state that existed before a chunk began, as LTTng's
 * kernel tracer records it: lttng_statedump_start, one
 * lttng_statedump_process_state per thread, one
 * lttng_statedump_file_descriptor per open fd, one
 * lttng_statedump_block_device per disk and partition, then
 * lttng_statedump_end. Reads /proc through procscan; writes through
 * kconvert.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "kernel-local.h"
#include "procscan.h"

#define I32 "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } "
#define U32 "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 10; } "
#define HEX64 "\t\tinteger { size = 64; align = 8; signed = 0; encoding = none; base = 16; } "

int kstatedump_declare(struct kconv *kc, struct kstatedump *ret)
{
	struct kstatedump ids;
	int e = kconv_add_synthetic(kc, "lttng_statedump_start", "", &ids.start);
	if (!e)
		e = kconv_add_synthetic(
			kc, "lttng_statedump_process_state",
			I32 "_tid;\n" I32 "_vtid;\n" I32 "_pid;\n" I32 "_vpid;\n" I32 "_ppid;\n" I32
			    "_vppid;\n"
			    "\t\tinteger { size = 8; align = 8; signed = 0; encoding = UTF8; base = 10; } _name[16];\n" I32
			    "_type;\n" I32 "_mode;\n" I32 "_submode;\n" I32 "_status;\n" U32 "_cpu;\n" HEX64
			    "_file_table_address;\n",
			&ids.process_state);
	if (!e)
		e = kconv_add_synthetic(
			kc, "lttng_statedump_file_descriptor",
			I32 "_pid;\n" HEX64 "_file_table_address;\n" I32 "_fd;\n"
			    "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 8; } _flags;\n"
			    "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 16; } _fmode;\n"
			    "\t\tstring { encoding = UTF8; } _filename;\n",
			&ids.file_descriptor);
	if (!e)
		e = kconv_add_synthetic(kc, "lttng_statedump_block_device",
					U32 "_dev;\n\t\tstring { encoding = UTF8; } _diskname;\n",
					&ids.block_device);
	if (!e)
		e = kconv_add_synthetic(kc, "lttng_statedump_end", "", &ids.end);
	if (!e)
		*ret = ids;
	return e;
}

struct writer {
	struct kconv *kc;
	const struct kstatedump *ids;
	uint64_t ts;
};

/* A payload built field by field, as the declarations above lay it out. */
struct payload {
	char data[64 + 4096];
	size_t len;
};

static void put(struct payload *p, const void *v, size_t n)
{
	if (p->len + n <= sizeof(p->data)) {
		memcpy(p->data + p->len, v, n);
		p->len += n;
	}
}

static void put_string(struct payload *p, const char *s)
{
	size_t n = strnlen(s, sizeof(p->data) - 64 - 1);
	put(p, s, n);
	put(p, "", 1);
}

static int on_thread(void *arg, const struct reel_proc_thread *t)
{
	struct writer *w = arg;
	struct payload p = { .len = 0 };
	int32_t ints[] = { t->tid, t->vtid, t->pid, t->vpid, t->ppid, t->vppid };
	put(&p, ints, sizeof(ints));
	char name[16] = { 0 };
	memcpy(name, t->name, strnlen(t->name, sizeof(name) - 1));
	put(&p, name, sizeof(name));
	int32_t state[] = { t->type, t->mode, t->submode, t->status };
	put(&p, state, sizeof(state));
	put(&p, &t->cpu, sizeof(t->cpu));
	put(&p, &t->file_table, sizeof(t->file_table));
	return kconv_emit(w->kc, 0, w->ids->process_state, w->ts, p.data, p.len);
}

static int on_fd(void *arg, const struct reel_proc_fd *f)
{
	struct writer *w = arg;
	struct payload p = { .len = 0 };
	put(&p, &f->pid, sizeof(f->pid));
	put(&p, &f->file_table, sizeof(f->file_table));
	put(&p, &f->fd, sizeof(f->fd));
	put(&p, &f->flags, sizeof(f->flags));
	put(&p, &f->fmode, sizeof(f->fmode));
	put_string(&p, f->path);
	return kconv_emit(w->kc, 0, w->ids->file_descriptor, w->ts, p.data, p.len);
}

static int on_block_device(void *arg, uint32_t dev, const char *diskname)
{
	struct writer *w = arg;
	struct payload p = { .len = 0 };
	put(&p, &dev, sizeof(dev));
	put_string(&p, diskname);
	return kconv_emit(w->kc, 0, w->ids->block_device, w->ts, p.data, p.len);
}

int kstatedump_write(struct kconv *kc, const struct kstatedump *ids, uint64_t ts,
		     const char *proc_root)
{
	struct writer w = { kc, ids, ts };
	struct reel_proc_scan_ops ops = { on_thread, on_fd, on_block_device };
	int e = kconv_emit(kc, 0, ids->start, ts, NULL, 0);
	if (!e)
		e = reel_proc_scan(proc_root, &ops, &w);
	int end = kconv_emit(kc, 0, ids->end, ts, NULL, 0);
	return e ? e : end;
}
