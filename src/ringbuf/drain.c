/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "drain.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"

void reel_stream_file_init(struct reel_stream_file *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static int write_packets(struct reel_stream_file *f, const char *data, size_t size)
{
	int err = reel_write_all(f->fd, data, size);
	if (!err) {
		f->size += size;
		f->bytes += size;
		return 0;
	}
	if (!f->failed) {
		reel_debug("writing a stream file: %s", strerror(-err));
		f->error = err;
	}
	f->failed = true;
	if (ftruncate(f->fd, (off_t)f->size) < 0 || lseek(f->fd, (off_t)f->size, SEEK_SET) < 0)
		reel_debug("cannot cut a partial packet: %s", strerror(errno));
	return err;
}

/* Before a stream's first packet: if older ones were overwritten (or lost)
 * before they could be read, a placeholder for the first of them, so that
 * readers measure the gap and report it. */
static void mark_leading_loss(struct reel_rb *rb, struct reel_stream_file *f,
			      const struct reel_rb_packet *packet)
{
	/* Sequence numbers count from 1: the placeholder takes the number
	 * just below the trace's first packet, so the gap after it is
	 * exactly the number of packets lost. */
	uint64_t below_first = READ_ONCE(rb->shm->base_offset) >> rb->subbuf_shift;
	struct reel_ctf_packet real, placeholder;
	memcpy(&real, packet->data, sizeof(real));
	f->started = true;
	if (real.packet_seq_num <= below_first + 1)
		return;
	reel_ctf_packet_placeholder(&placeholder, &real, below_first);
	write_packets(f, (const char *)&placeholder, sizeof(placeholder));
}

void reel_stream_file_new_chunk(struct reel_stream_file *f, int fd)
{
	f->fd = fd;
	f->size = 0;
	f->failed = false;
	f->error = 0;
	if (f->started)
		f->chunk_start = true;
}

unsigned int reel_stream_file_drain(struct reel_rb *rb, struct reel_stream_file *f, void *copy_buf)
{
	unsigned int packets = 0;
	struct reel_rb_packet packet;
	int err;
	while ((err = reel_rb_get_packet(rb, copy_buf, &packet)) != -EAGAIN) {
		if (err) {
			reel_debug("stream %u: skipped a malformed packet", rb->shm->cpu);
			continue;
		}
		/* Packets that never reach the file (overwritten before they
		 * were read, or lost to write errors) are gaps in the
		 * sequence numbers: count them as readers will. */
		uint64_t seq;
		memcpy(&seq, packet.data + offsetof(struct reel_ctf_packet, packet_seq_num),
		       sizeof(seq));
		uint64_t expected = f->started ?
			f->last_seq + 1 :
			(READ_ONCE(rb->shm->base_offset) >> rb->subbuf_shift) + 1;
		if (seq > expected)
			f->lost_packets += seq - expected;
		f->last_seq = seq;
		if (!f->started)
			mark_leading_loss(rb, f, &packet);
		/* The consumer owns the packet until it puts it back. */
		char *context = (char *)packet.data;
		uint64_t discarded;
		memcpy(&discarded, context + offsetof(struct reel_ctf_packet, events_discarded),
		       sizeof(discarded));
		if (f->chunk_start) {
			f->discarded_base = discarded;
			f->chunk_start = false;
		}
		if (f->discarded_base) {
			discarded = discarded >= f->discarded_base ? discarded - f->discarded_base : 0;
			memcpy(context + offsetof(struct reel_ctf_packet, events_discarded), &discarded,
			       sizeof(discarded));
		}
		if (write_packets(f, packet.data, packet.size) < 0) {
			f->unwritten++;
			f->lost_packets++;
		}
		else
			f->packets++;
		reel_rb_put_packet(rb, &packet);
		packets++;
	}
	return packets;
}

bool reel_stream_file_flush(struct reel_rb *rb, struct reel_stream_file *f, void *copy_buf)
{
	reel_rb_switch(rb);
	bool done = reel_rb_flush_lost(rb) == 0;
	reel_stream_file_drain(rb, f, copy_buf);
	return done && reel_rb_is_drained(rb) &&
	       reel_rb_lost_total(rb) == READ_ONCE(rb->shm->lost_reported);
}
