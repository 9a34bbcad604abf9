/* SPDX-License-Identifier: MIT */
/*
 * compress: zstd compression of an archived chunk, in a thread of its own
 * so that the consumer goes on draining buffers meanwhile. Owns nothing
 * but the job; calls libzstd and the file system. Every regular file of
 * the chunk's tree becomes <file>.zst: written aside (.<file>.zst.tmp),
 * synced, renamed into place, and only then the original removed, so that
 * a crash or a full disk leaves every file readable, compressed or not.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "../common/fileio.h"
#include "compress.h"

#define IO_SIZE	  (1u << 20)
#define MAX_DEPTH 8

struct compress_job {
	pthread_t thread;
	char *dir;
	int wake_fd;
	int level;
	bool done; /* set by the worker (release), read by the consumer (acquire) */
	int err;
	char failed[PATH_MAX]; /* the file that could not be compressed */
	uint64_t bytes_in, bytes_out;
	ZSTD_CCtx *cctx;
	char *in, *out;
};

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);
	return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* Compress `in_fd` (of `size` bytes) into `out_fd`, one zstd frame whose
 * header carries the size: readers allocate it at once. */
static int compress_fd(struct compress_job *j, int in_fd, uint64_t size, int out_fd)
{
	ZSTD_CCtx_reset(j->cctx, ZSTD_reset_session_only);
	if (ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(j->cctx, size)))
		return -EINVAL;
	uint64_t left = size;
	for (;;) {
		ssize_t n = 0;
		if (left) {
			n = read(in_fd, j->in, left < IO_SIZE ? (size_t)left : IO_SIZE);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO; /* the file shrank: it is ours, nobody should */
			left -= (uint64_t)n;
		}
		ZSTD_EndDirective mode = left ? ZSTD_e_continue : ZSTD_e_end;
		ZSTD_inBuffer input = {j->in, (size_t)n, 0};
		size_t pending;
		do {
			ZSTD_outBuffer output = {j->out, ZSTD_CStreamOutSize(), 0};
			pending = ZSTD_compressStream2(j->cctx, &output, &input, mode);
			if (ZSTD_isError(pending))
				return -EINVAL;
			int err = reel_write_all(out_fd, j->out, output.pos);
			if (err)
				return err;
			j->bytes_out += output.pos;
		} while (mode == ZSTD_e_end ? pending != 0 : input.pos < input.size);
		if (!left)
			break;
	}
	j->bytes_in += size;
	return 0;
}

static int compress_file(struct compress_job *j, int dir_fd, const char *name)
{
	char tmp[NAME_MAX + 16], final[NAME_MAX + 8];
	if (snprintf(tmp, sizeof(tmp), ".%s.zst.tmp", name) >= (int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s.zst", name) >= (int)sizeof(final))
		return -ENAMETOOLONG;
	int in = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	struct stat st;
	int err = fstat(in, &st) < 0 ? -errno : 0;
	int out = -1;
	if (!err) {
		out = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     st.st_mode & 0777);
		if (out < 0)
			err = -errno;
	}
	if (!err)
		err = compress_fd(j, in, (uint64_t)st.st_size, out);
	if (!err && fsync(out) < 0)
		err = -errno;
	if (out >= 0 && close(out) < 0 && !err)
		err = -errno;
	close(in);
	if (!err && renameat(dir_fd, tmp, dir_fd, final) < 0)
		err = -errno;
	if (err) {
		if (out >= 0)
			unlinkat(dir_fd, tmp, 0);
		return err;
	}
	/* Both exist for a moment: readers take the original then. */
	return unlinkat(dir_fd, name, 0) < 0 ? -errno : 0;
}

static int compress_tree(struct compress_job *j, const char *path, unsigned int depth)
{
	if (depth > MAX_DEPTH)
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int err = 0;
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || has_suffix(de->d_name, ".zst"))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char sub[PATH_MAX];
			if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
			    (int)sizeof(sub))
				err = -ENAMETOOLONG;
			else
				err = compress_tree(j, sub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			err = compress_file(j, dirfd(d), de->d_name);
			if (err && !j->failed[0])
				snprintf(j->failed, sizeof(j->failed), "%s/%s", path, de->d_name);
		}
	}
	closedir(d);
	return err;
}

static void *compress_main(void *arg)
{
	struct compress_job *j = arg;
	j->err = compress_tree(j, j->dir, 0);
	/* Release: pairs with the acquire in compress_done(). */
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (j->wake_fd >= 0 && write(j->wake_fd, &one, sizeof(one)) < 0) {
		/* The consumer polls at least every 100 ms anyway. */
	}
	return NULL;
}

int compress_method(const char *name)
{
	if (!strcmp(name, "none"))
		return COMPRESS_NONE;
	if (!strcmp(name, "zstd"))
		return COMPRESS_ZSTD;
	return -EINVAL;
}

const char *compress_method_name(int method)
{
	return method == COMPRESS_ZSTD ? "zstd" : "none";
}

static void job_free(struct compress_job *j)
{
	ZSTD_freeCCtx(j->cctx);
	free(j->in);
	free(j->out);
	free(j->dir);
	free(j);
}

int compress_start(const char *dir, int wake_fd, struct compress_job **ret)
{
	struct compress_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->wake_fd = wake_fd;
	j->dir = strdup(dir);
	j->cctx = ZSTD_createCCtx();
	j->in = malloc(IO_SIZE);
	j->out = malloc(ZSTD_CStreamOutSize());
	if (!j->dir || !j->cctx || !j->in || !j->out) {
		job_free(j);
		return -ENOMEM;
	}
	/* zstd's default level: about 3x on traces, hundreds of MB/s. */
	ZSTD_CCtx_setParameter(j->cctx, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
	ZSTD_CCtx_setParameter(j->cctx, ZSTD_c_checksumFlag, 1);
	int err = -pthread_create(&j->thread, NULL, compress_main, j);
	if (err) {
		job_free(j);
		return err;
	}
	pthread_setname_np(j->thread, "reeld-compress");
	*ret = j;
	return 0;
}

bool compress_done(const struct compress_job *j)
{
	/* Acquire: pairs with the release in compress_main(). */
	return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

int compress_finish(struct compress_job *j, struct compress_result *ret)
{
	pthread_join(j->thread, NULL);
	int err = j->err;
	if (ret) {
		ret->bytes_in = j->bytes_in;
		ret->bytes_out = j->bytes_out;
		snprintf(ret->failed, sizeof(ret->failed), "%s", j->failed);
	}
	job_free(j);
	return err;
}
