/* SPDX-License-Identifier: MIT */
/*
 * Field references (reel_event_field_ref): a reference found at the first
 * event of a class reads, in every later event of the class, what a lookup
 * by name reads (integers and strings, every member of every scope), on the
 * traces given (sequences and variants before fields included). References
 * of one class used on events of others must be safe (ASan).
 *
 *   test-refs TRACE_DIR...
 *
 * White-box: the members' names come from the decoded values (reader-local.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader/reader-local.h"
#include "reel/reader.h"

struct cached {
	const void *cls;
	const char *name; /* plan node's name: stable while the reader lives */
	uint32_t ref;
	int found;
};

static struct cached cache[4096];
static size_t ncache;

static const struct cached *ref_of(const struct reel_event *ev, const char *name)
{
	const void *cls = reel_event_class(ev);
	for (size_t i = 0; i < ncache; i++)
		if (cache[i].cls == cls && cache[i].name == name)
			return &cache[i];
	if (ncache == sizeof(cache) / sizeof(cache[0]))
		return NULL;
	struct cached *c = &cache[ncache++];
	c->cls = cls;
	c->name = name;
	c->found = !reel_event_field_ref(ev, REEL_SCOPE_ANY, name, &c->ref);
	return c;
}

static int check_root(const struct reel_event *ev, const struct rvbuf *b, uint32_t root, uint64_t *checks)
{
	if (root == UINT32_MAX || root >= b->n || b->v[root].p->op != OP_STRUCT)
		return 0;
	int bad = 0;
	for (uint32_t i = root + 1; i < b->v[root].end;) {
		const struct rval *k = &b->v[i];
		const struct plan_node *p = k->p;
		i = (p->op == OP_STRUCT || p->op == OP_ARRAY || p->op == OP_SEQ || p->op == OP_VARIANT) ? k->end
													  : i + 1;
		if (!p->name)
			continue;
		const struct cached *c = ref_of(ev, p->name);
		if (!c)
			continue;
		int64_t a = 0, r = 0;
		const char *sa = NULL, *sr = NULL;
		size_t la = 0, lr = 0;
		int ea = reel_event_field_int(ev, p->name, &a);
		int er = c->found ? reel_event_ref_int(ev, c->ref, &r) : -2;
		int sea = reel_event_field_str(ev, p->name, &sa, &la);
		int ser = c->found ? reel_event_ref_str(ev, c->ref, &sr, &lr) : -2;
		(*checks)++;
		if (ea != er || a != r || sea != ser || la != lr || (la && memcmp(sa, sr, la))) {
			fprintf(stderr, "%s: field %s: by name %d/%lld/%d, by ref %d/%lld/%d\n",
				reel_event_name(ev), p->name, ea, (long long)a, sea, er, (long long)r, ser);
			bad = 1;
		}
	}
	/* every reference on this event: safe, whatever its class */
	for (size_t j = 0; j < ncache; j++) {
		int64_t v;
		const char *s;
		size_t l;
		if (cache[j].found) {
			(void)reel_event_ref_int(ev, cache[j].ref, &v);
			(void)reel_event_ref_str(ev, cache[j].ref, &s, &l);
		}
	}
	return bad;
}

/* A trace whose fields follow a sequence of varying length: references
 * that walk the members (the conformance traces have none). */
static const char walk_meta[] =
	"/* CTF 1.8 */\n"
	"typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
	"typealias integer { size = 32; align = 8; signed = true; } := int32_t;\n"
	"trace { major = 1; minor = 8; byte_order = le; };\n"
	"stream { };\n"
	"event { name = \"walk\"; fields := struct { uint8_t n; uint8_t seq[n]; int32_t after; string s; }; };\n";

static int write_walk_trace(const char *dir)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/metadata", dir);
	FILE *f = fopen(p, "w");
	if (!f || fputs(walk_meta, f) < 0 || fclose(f))
		return -1;
	snprintf(p, sizeof(p), "%s/stream_0", dir);
	if (!(f = fopen(p, "wb")))
		return -1;
	for (int i = 0; i < 5; i++) {
		uint8_t n = (uint8_t)(i * 2 % 5);
		int32_t after = -1000 * i;
		fputc(n, f);
		for (int k = 0; k < n; k++)
			fputc(k, f);
		fwrite(&after, sizeof(after), 1, f);
		fprintf(f, "str%d", i);
		fputc(0, f);
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	int bad = 0;
	uint64_t checks = 0;
	char walk[] = "/tmp/reel-test-refs.XXXXXX";
	if (!mkdtemp(walk) || write_walk_trace(walk)) {
		perror("test-refs: the walk trace");
		return 1;
	}
	for (int a = 0; a < argc; a++) {
		struct reel_reader *r = reel_reader_new();
		if (!r || reel_reader_add_path(r, a ? argv[a] : walk) < 0) {
			reel_reader_destroy(r);
			continue; /* not readable: not this test's concern */
		}
		ncache = 0;
		const struct reel_event *ev;
		while (reel_reader_next(r, &ev) == 1) {
			const struct rstream *s = ev->s;
			bad |= check_root(ev, &s->ev, s->ev_fields_index, &checks);
			bad |= check_root(ev, &s->ev, s->ev_spec_index, &checks);
			bad |= check_root(ev, &s->ev, s->ev_ctx_index, &checks);
			bad |= check_root(ev, &s->pkt, s->pkt_ctx_index, &checks);
		}
		reel_reader_destroy(r);
	}
	char p[600];
	snprintf(p, sizeof(p), "%s/metadata", walk);
	unlink(p);
	snprintf(p, sizeof(p), "%s/stream_0", walk);
	unlink(p);
	rmdir(walk);
	printf("test-refs: %llu fields checked\n", (unsigned long long)checks);
	if (!checks) {
		fprintf(stderr, "test-refs: no field checked\n");
		return 1;
	}
	return bad;
}
