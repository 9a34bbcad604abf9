/* SPDX-License-Identifier: MIT */
/*
 * zst: files of compressed chunks (reeld's --compress zstd), decompressed
 * whole into anonymous memory, so that the decoder reads them as it reads
 * mapped files. Calls libzstd only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zstd.h>

#include "reader-local.h"

bool zst_name(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".zst") == 0;
}

int zst_map(int fd, uint64_t limit, void **ret, uint64_t *ret_size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!st.st_size)
		return -EBADMSG; /* not even a frame header */
	size_t in_size = (size_t)st.st_size;
	void *in = mmap(NULL, in_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (in == MAP_FAILED)
		return -errno;
	/* The size the first frame announces (reeld writes one frame, with
	 * its size), else a guess that grows. Either way what comes out is
	 * checked against the limit, and each frame against its checksum. */
	unsigned long long known = ZSTD_getFrameContentSize(in, in_size);
	int err = 0;
	if (known == ZSTD_CONTENTSIZE_ERROR)
		err = -EBADMSG;
	else if (known != ZSTD_CONTENTSIZE_UNKNOWN && known > limit)
		err = -EFBIG;
	uint64_t cap = known != ZSTD_CONTENTSIZE_UNKNOWN ? known + 1 : 4 * (uint64_t)in_size;
	if (cap < 4096)
		cap = 4096;
	if (cap > limit && known == ZSTD_CONTENTSIZE_UNKNOWN)
		cap = limit ? limit : 4096;
	void *out = MAP_FAILED;
	if (!err) {
		out = mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (out == MAP_FAILED)
			err = -errno;
	}
	ZSTD_DCtx *dctx = err ? NULL : ZSTD_createDCtx();
	if (!err && !dctx)
		err = -ENOMEM;
	ZSTD_inBuffer input = {in, in_size, 0};
	uint64_t used = 0;
	size_t r = 1;
	while (!err && (input.pos < input.size || r != 0)) {
		if (used == cap) {
			if (cap >= limit) {
				err = -EFBIG;
				break;
			}
			uint64_t grown = cap * 2 < limit ? cap * 2 : limit;
			void *m = mremap(out, (size_t)cap, (size_t)grown, MREMAP_MAYMOVE);
			if (m == MAP_FAILED) {
				err = -errno;
				break;
			}
			out = m;
			cap = grown;
		}
		ZSTD_outBuffer output = {(char *)out + used, (size_t)(cap - used), 0};
		size_t before = input.pos;
		r = ZSTD_decompressStream(dctx, &output, &input);
		if (ZSTD_isError(r)) {
			err = -EBADMSG;
			break;
		}
		used += output.pos;
		/* Input all read, a frame unfinished, and no progress: cut. */
		if (input.pos == input.size && r != 0 && output.pos == 0 && input.pos == before)
			err = -EBADMSG;
	}
	ZSTD_freeDCtx(dctx);
	munmap(in, in_size);
	if (err) {
		if (out != MAP_FAILED)
			munmap(out, (size_t)cap);
		return err;
	}
	if (used < cap && used) {
		void *m = mremap(out, (size_t)cap, (size_t)used, 0);
		if (m != MAP_FAILED)
			out = m;
		else
			used = cap; /* keep it whole: unmapped whole */
	}
	if (!used) {
		munmap(out, (size_t)cap);
		out = NULL;
	} else {
		mprotect(out, (size_t)used, PROT_READ);
	}
	*ret = out;
	*ret_size = used;
	return 0;
}
