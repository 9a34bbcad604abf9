/* SPDX-License-Identifier: MIT */
/*
 * drain: moving a stream's complete packets from its ring buffer to its
 * file, as they are (a sub-buffer is a CTF packet). Shared by the
 * in-process consumer of standalone mode and the daemon's consumers.
 * One consumer thread per stream file.
 */
#ifndef REEL_RINGBUF_DRAIN_H
#define REEL_RINGBUF_DRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "ringbuf.h"

struct reel_stream_file {
	int fd;
	uint64_t size;   /* bytes of whole packets in the file */
	bool started;    /* a packet was written */
	bool failed;     /* a write failed (the file was cut back) */
	int error;       /* the first write error since the file was opened */
	uint64_t packets, bytes; /* written */
	uint64_t unwritten;      /* packets lost to write errors */
	uint64_t lost_packets;   /* sequence numbers missing (overwritten, unwritten) */
	uint64_t last_seq;       /* of the last packet consumed */
	/* A chunk of a rotated trace starts: its first packet's loss count
	 * becomes the base its packets count from, so that the chunk read
	 * alone reports only its own losses. */
	bool chunk_start;
	uint64_t discarded_base;
};

/* A stream file to be opened by the caller: fd -1, counts zero. */
void reel_stream_file_init(struct reel_stream_file *f) REEL_HIDDEN;

/* Go on in a new file `fd` (rotation): what follows is a trace of its own. */
void reel_stream_file_new_chunk(struct reel_stream_file *f, int fd) REEL_HIDDEN;

/* Write every complete packet of `rb` to `f` (overwrite mode copies
 * through `copy_buf`, one sub-buffer). A packet that cannot be written is
 * lost, its sequence number leaving a gap that readers report; the file is
 * cut back to its last whole packet. Returns the packets consumed. */
unsigned int reel_stream_file_drain(struct reel_rb *rb, struct reel_stream_file *f,
				    void *copy_buf) REEL_HIDDEN;

/* One step of a final flush: close the open packet, record unreported
 * losses, write what is complete. Returns true once every reserved byte
 * is committed and written and every loss reported. */
bool reel_stream_file_flush(struct reel_rb *rb, struct reel_stream_file *f, void *copy_buf)
	REEL_HIDDEN;

#endif
