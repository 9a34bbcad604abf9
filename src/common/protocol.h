/* SPDX-License-Identifier: MIT */
/*
 * The messages of Reel's two Unix sockets (framing: msg.h; prose:
 * doc/sessiond.md):
 *   <rundir>/app.sock     applications (libreel-ust) and the daemon
 *   <rundir>/client.sock  control clients (libreel-ctl) and the daemon
 */
#ifndef REEL_COMMON_PROTOCOL_H
#define REEL_COMMON_PROTOCOL_H

#define REEL_APP_SOCKET "app.sock"
#define REEL_CLIENT_SOCKET "client.sock"

/* Message types. */
enum {
	/* application -> daemon */
	REEL_APP_HELLO = 1,  /* ABI, PROCNAME, BITS */
	REEL_APP_EVENTS = 2, /* EVENT records (ID, PROVIDER, NAME, LOGLEVEL, FIELD...) */
	/* daemon -> application */
	REEL_APP_STREAM = 20,       /* CHANNEL_KEY, CPU, NR_STREAMS; fds: memfd, wake eventfd */
	REEL_APP_TARGETS = 21,      /* ID then (CHANNEL_KEY, TARGET_ID)* , repeated */
	REEL_APP_CHANNEL_DROP = 22, /* CHANNEL_KEY */
	REEL_APP_BYE = 3,  /* the application exits normally */
	REEL_APP_STATEDUMP = 24,    /* record the lttng_ust_statedump:* events now */
	REEL_APP_ACK = 23,          /* SEQ: the app's message SEQ is handled, its
				     * enablement sent */

	/* client -> daemon; each gets one REEL_CTL_REPLY */
	REEL_CTL_CREATE = 40,
	REEL_CTL_SET_SESSION = 41,
	REEL_CTL_START = 42,
	REEL_CTL_STOP = 43,
	REEL_CTL_DESTROY = 44,
	REEL_CTL_ENABLE_CHANNEL = 45,
	REEL_CTL_ENABLE_EVENT = 46,
	REEL_CTL_DISABLE_EVENT = 47,
	REEL_CTL_LIST_SESSIONS = 48,
	REEL_CTL_LIST_APPS = 49,
	REEL_CTL_ADD_CONTEXT = 50,
	REEL_CTL_ROTATE = 51,
	REEL_CTL_ENABLE_ROTATION = 52,
	REEL_CTL_DISABLE_ROTATION = 53,
	REEL_CTL_LIST_ROTATIONS = 54,
	REEL_CTL_WAIT_ROTATION = 55, /* ID: the first chunk index awaited; TIMEOUT ms */
	REEL_CTL_SNAPSHOT_RECORD = 56,
	REEL_CTL_REPLY = 60, /* STATUS (negative errno or 0), ERROR text, then data */
};

/* Field tags. */
enum {
	REEL_TAG_ABI = 1,
	REEL_TAG_PROCNAME,
	REEL_TAG_BITS,
	REEL_TAG_EVENT, /* marker: an event record follows */
	REEL_TAG_ID,
	REEL_TAG_PROVIDER,
	REEL_TAG_NAME,
	REEL_TAG_LOGLEVEL,
	REEL_TAG_FIELD,        /* field name: a field record follows */
	REEL_TAG_FIELD_TYPE,   /* kind | size_bits << 8 | is_signed << 16 | base << 24 */
	REEL_TAG_FIELD_LENGTH,
	REEL_TAG_ENUM_NAME,
	REEL_TAG_ENUM_LABEL,   /* label text, then ENUM_RANGE */
	REEL_TAG_ENUM_RANGE,   /* two int64: first, last */
	REEL_TAG_CHANNEL_KEY,
	REEL_TAG_CPU,
	REEL_TAG_NR_STREAMS,
	REEL_TAG_TARGET_ID,
	REEL_TAG_SEQ,
	REEL_TAG_TARGET_CONTEXT, /* before its TARGET_ID: REEL_CONTEXT_* */

	REEL_TAG_STATUS = 40,
	REEL_TAG_ERROR,
	REEL_TAG_SESSION,
	REEL_TAG_OUTPUT,
	REEL_TAG_CHANNEL,
	REEL_TAG_SUBBUF_SIZE,
	REEL_TAG_NUM_SUBBUF,
	REEL_TAG_OVERWRITE,
	REEL_TAG_BUFFERS,
	REEL_TAG_SWITCH_TIMER,
	REEL_TAG_PATTERN,
	REEL_TAG_LOGLEVEL_MATCH,
	REEL_TAG_ACTIVE,
	REEL_TAG_NR_APPS,
	REEL_TAG_PACKETS,
	REEL_TAG_BYTES,
	REEL_TAG_DISCARDED,
	REEL_TAG_RATE,
	REEL_TAG_RULE,
	REEL_TAG_CURRENT,
	REEL_TAG_APP_PID,
	REEL_TAG_UID,
	REEL_TAG_CONTEXT, /* a context type's name: "vpid", "vtid", ... */
	REEL_TAG_LOST_PACKETS,
	REEL_TAG_SESSION_ERROR, /* what went wrong in a session, in words */
	REEL_TAG_EXCLUDE,       /* a pattern an event rule leaves out */
	REEL_TAG_CHUNK,         /* an archived chunk's path: a record follows */
	REEL_TAG_HOOK_STATUS,   /* i64: the hook's exit status, -1 running, -2 none */
	REEL_TAG_ROTATE_TIMER,  /* microseconds, 0: none */
	REEL_TAG_ROTATE_SIZE,   /* bytes, 0: none */
	REEL_TAG_HOOK,          /* a shell command run with each chunk's path */
	REEL_TAG_TIMEOUT,       /* milliseconds */
	REEL_TAG_KEEP_CHUNKS,   /* retention: archived chunks kept, 0: all */
	REEL_TAG_KEEP_BYTES,    /* retention: bytes of archives kept, 0: all */
	REEL_TAG_SNAPSHOT,      /* u64: a flight-recorder session (create) */
	REEL_TAG_COMPRESS,      /* compression of archived chunks: "zstd", "none" */
	REEL_TAG_MAX_SIZE,      /* u64: bytes of a snapshot's packets, 0: no limit */
	REEL_TAG_DOMAIN = 80,   /* u64: enum reel_domain (events, channels) */
	REEL_TAG_SYSCALL,       /* u64: the pattern names syscalls (kernel) */
	REEL_TAG_WARNING,       /* a reply's remark: the request was carried out */
	REEL_TAG_PUBLISH,       /* a NATS URL: archived chunks announced there (src/dist) */
	REEL_TAG_PUBLISH_STATUS, /* i64: a chunk's announcement: 0 done, -1 pending, -2 none */
	REEL_TAG_PUBLISH_ERROR, /* why the last announcement failed, in words */
};

/* REEL_TAG_ABI of a hello: the ring buffer's and the fast path's layouts. */
#define REEL_APP_ABI(rb_abi, view_abi) (((uint64_t)(rb_abi) << 32) | (view_abi))

#endif
