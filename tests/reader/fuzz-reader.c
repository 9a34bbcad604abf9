/* SPDX-License-Identifier: MIT */
/*
 * Fuzz driver of the reader's three parsers of outside input: TSDL metadata,
 * stream data, and --filter expressions. Self-contained (runs under gcc's
 * ASan+UBSan in `make check`): replays every seed, then mutates seeds for
 * the given number of seconds. Built with -DREEL_LIBFUZZER it is instead a
 * libFuzzer target (clang -fsanitize=fuzzer), the mode chosen by
 * REEL_FUZZ_TARGET.
 *
 *   fuzz-reader metadata SECONDS SEED...   seeds: metadata files or dirs of them
 *   fuzz-reader stream SECONDS TRACEDIR... each dir: metadata + stream files
 *   fuzz-reader filter SECONDS SEEDFILE... one expression per line
 *
 * Exit status 0 when nothing crashed (sanitizers abort otherwise).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reader/reader-local.h"

struct buf {
	uint8_t *d;
	size_t n;
};

static struct buf *seeds;
static size_t nseeds;
static char tmpdir[] = "/tmp/reel-fuzz.XXXXXX";
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int read_all(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 24)) {
		close(fd);
		return -EINVAL;
	}
	b->n = (size_t)st.st_size;
	b->d = malloc(b->n + 1);
	if (!b->d) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < b->n) {
		ssize_t k = read(fd, b->d + got, b->n - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	b->n = got;
	return 0;
}

static void add_seed(struct buf b)
{
	seeds = realloc(seeds, (nseeds + 1) * sizeof(*seeds));
	if (!seeds)
		abort();
	seeds[nseeds++] = b;
}

/* ---- targets ---------------------------------------------------------------------- */

static void run_metadata(const uint8_t *d, size_t n)
{
	struct ctf_meta *m;
	char err[256];
	if (ctf_meta_parse((const char *)d, n, &m, err, sizeof(err)) == 0) {
		ctf_meta_compile(m, err, sizeof(err));
		ctf_meta_free(m);
	}
}

static void run_filter(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return;
	memcpy(s, d, n);
	s[n] = 0;
	struct filter *f;
	char err[256];
	if (filter_parse(s, &f, err, sizeof(err)) == 0)
		filter_free(f);
	free(s);
}

/* A stream seed is "metadata length (8 bytes) | metadata | stream". */
static void write_file(const char *dir, const char *name, const uint8_t *d, size_t n)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(p);
		exit(1);
	}
	if (n && write(fd, d, n) != (ssize_t)n) {
		perror(p);
		exit(1);
	}
	close(fd);
}

static void run_stream(const uint8_t *d, size_t n)
{
	if (n < 8)
		return;
	uint64_t ml;
	memcpy(&ml, d, 8);
	if (ml > n - 8)
		ml = n - 8;
	write_file(tmpdir, "metadata", d + 8, ml);
	write_file(tmpdir, "stream", d + 8 + ml, n - 8 - ml);
	struct reel_reader *r = reel_reader_new();
	if (!r)
		return;
	FILE *null = fopen("/dev/null", "w");
	if (null && reel_reader_add_path(r, tmpdir) > 0) {
		struct reel_formatter *text = reel_formatter_new(REEL_FORMAT_TEXT, 0, null);
		struct reel_formatter *json = reel_formatter_new(REEL_FORMAT_JSON, 0, null);
		const struct reel_event *ev;
		unsigned k = 0;
		while (text && json && k++ < 100000 && reel_reader_next(r, &ev) == 1) {
			reel_formatter_event(text, ev);
			reel_formatter_event(json, ev);
		}
		reel_formatter_finish(text);
		reel_formatter_finish(json);
	}
	if (null)
		fclose(null);
	reel_reader_destroy(r);
	/* the same stream through --stats: skim programs, inline skims, threads */
	r = reel_reader_new();
	if (r && reel_reader_add_path(r, tmpdir) > 0)
		reel_reader_summarize(r, 2);
	reel_reader_destroy(r);
}

typedef void (*target_fn)(const uint8_t *d, size_t n);

static target_fn pick(const char *mode)
{
	if (!strcmp(mode, "metadata"))
		return run_metadata;
	if (!strcmp(mode, "stream"))
		return run_stream;
	if (!strcmp(mode, "filter"))
		return run_filter;
	return NULL;
}

#ifdef REEL_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const char *mode = getenv("REEL_FUZZ_TARGET");
	target_fn fn = pick(mode ? mode : "metadata");
	if (fn == run_stream && !mkdtemp(tmpdir))
		return 0;
	if (fn)
		fn(d, n);
	return 0;
}
#else

/* ---- seeds ----------------------------------------------------------------------- */

static void load_trace_dir(const char *dir)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/metadata", dir);
	struct buf m;
	if (read_all(p, &m))
		return;
	DIR *dd = opendir(dir);
	if (!dd) {
		free(m.d);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dd))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct buf s;
		if (read_all(p, &s))
			continue;
		if (s.n > (1 << 20))
			s.n = 1 << 20; /* the head of big streams is enough */
		struct buf b = { malloc(8 + m.n + s.n), 8 + m.n + s.n };
		if (!b.d)
			abort();
		uint64_t ml = m.n;
		memcpy(b.d, &ml, 8);
		memcpy(b.d + 8, m.d, m.n);
		memcpy(b.d + 8 + m.n, s.d, s.n);
		free(s.d);
		add_seed(b);
	}
	closedir(dd);
	free(m.d);
}

static void load_seeds(const char *mode, const char *path, unsigned depth)
{
	struct stat st;
	if (stat(path, &st) < 0 || depth > 8)
		return;
	if (S_ISREG(st.st_mode)) {
		struct buf b;
		if (read_all(path, &b))
			return;
		if (!strcmp(mode, "filter")) {
			/* one seed per line */
			char *s = (char *)b.d, *end = s + b.n;
			while (s < end) {
				char *nl = memchr(s, '\n', (size_t)(end - s));
				size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
				struct buf x = { malloc(l + 1), l };
				if (!x.d)
					abort();
				memcpy(x.d, s, l);
				add_seed(x);
				s += l + 1;
			}
			free(b.d);
		} else {
			add_seed(b);
		}
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	char p[1024];
	snprintf(p, sizeof(p), "%s/metadata", path);
	if (!strcmp(mode, "stream") && access(p, F_OK) == 0) {
		load_trace_dir(path);
		return;
	}
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names)
			abort();
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, names[i]);
		load_seeds(mode, p, depth + 1);
		free(names[i]);
	}
	free(names);
}

/* ---- mutations -------------------------------------------------------------------- */

static const char *const tokens[] = {
	"{", "}", ";", ":=", "=", "[", "]", "<", ">", "struct", "variant", "enum", "integer",
	"string", "typealias", "typedef", "align(", "size = 64;", "0xFFFFFFFFFFFFFFFF", "-1",
	"event.fields.", "\"", "&&", "||", "!", "==", "=~", "(", ")", "...", "0", "1",
	"stream", "trace", "clock.monotonic.value", "byte_order = be;",
};

static struct buf mutate(const struct buf *in)
{
	size_t cap = in->n * 2 + 64;
	struct buf o = { malloc(cap), in->n };
	if (!o.d)
		abort();
	memcpy(o.d, in->d, in->n);
	unsigned rounds = 1 + (unsigned)(rnd() % 8);
	for (unsigned r = 0; r < rounds; r++) {
		size_t pos = o.n ? rnd() % o.n : 0;
		switch (rnd() % 7) {
		case 0: /* flip a bit */
			if (o.n)
				o.d[pos] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* random byte */
			if (o.n)
				o.d[pos] = (uint8_t)rnd();
			break;
		case 2: { /* delete a range */
			size_t l = o.n - pos ? rnd() % (o.n - pos < 16 ? o.n - pos : 16) + 1 : 0;
			memmove(o.d + pos, o.d + pos + l, o.n - pos - l);
			o.n -= l;
			break;
		}
		case 3: { /* insert a token */
			const char *t = tokens[rnd() % REEL_ARRAY_SIZE(tokens)];
			size_t l = strlen(t);
			if (o.n + l > cap)
				break;
			memmove(o.d + pos + l, o.d + pos, o.n - pos);
			memcpy(o.d + pos, t, l);
			o.n += l;
			break;
		}
		case 4: { /* interesting integer */
			static const uint32_t vals[] = { 0, 1, 0xFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 8, 64 };
			uint32_t v = vals[rnd() % REEL_ARRAY_SIZE(vals)];
			if (pos + 4 <= o.n)
				memcpy(o.d + pos, &v, 4);
			break;
		}
		case 5: /* truncate */
			o.n = pos;
			break;
		case 6: { /* splice another seed */
			const struct buf *s = &seeds[rnd() % nseeds];
			if (!s->n)
				break;
			size_t from = rnd() % s->n, l = rnd() % (s->n - from) + 1;
			if (l > 256)
				l = 256;
			if (pos + l > cap)
				break;
			if (pos + l > o.n)
				o.n = pos + l;
			memcpy(o.d + pos, s->d + from, l);
			break;
		}
		}
	}
	return o;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s metadata|stream|filter SECONDS SEED...\n", argv[0]);
		return 2;
	}
	target_fn fn = pick(argv[1]);
	if (!fn) {
		fprintf(stderr, "unknown target '%s'\n", argv[1]);
		return 2;
	}
	double seconds = atof(argv[2]);
	for (int i = 3; i < argc; i++)
		load_seeds(argv[1], argv[i], 0);
	if (!nseeds) {
		printf("no seeds found: skipped\n");
		return 77;
	}
	if (fn == run_stream && !mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const char *seed_env = getenv("REEL_FUZZ_SEED");
	rng ^= seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL);
	if (!rng)
		rng = 1;
	printf("%s: %zu seeds, random seed 0x%llx\n", argv[1], nseeds, (unsigned long long)rng);
	fflush(stdout);
	for (size_t i = 0; i < nseeds; i++)
		fn(seeds[i].d, seeds[i].n);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t runs = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
		for (int k = 0; k < 16; k++) {
			struct buf m = mutate(&seeds[rnd() % nseeds]);
			fn(m.d, m.n);
			free(m.d);
			runs++;
		}
	}
	printf("%s: %llu mutated inputs, no crash\n", argv[1], (unsigned long long)runs);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].d);
	free(seeds);
	if (fn == run_stream) {
		char p[512];
		snprintf(p, sizeof(p), "%s/metadata", tmpdir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/stream", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
	return 0;
}
#endif
