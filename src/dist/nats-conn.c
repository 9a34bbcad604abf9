/* SPDX-License-Identifier: MIT */
/* Connections to NATS and the dispatch's streams (doc/dist.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist/dist.h"
#include "dist/nats-local.h"

void dist_nats_err(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr)
{
	const char *last = nats_GetLastError(NULL);
	if (jerr)
		snprintf(err, errlen, "%s: %s (JetStream error %d%s%s)", what,
			 natsStatus_GetText(s), (int)jerr, last ? ": " : "", last ? last : "");
	else
		snprintf(err, errlen, "%s: %s", what, last && *last ? last : natsStatus_GetText(s));
}

static int add_stream(jsCtx *js, const char *name, const char *subject, jsRetentionPolicy retention,
		      int64_t max_age, char *err, size_t errlen)
{
	jsStreamConfig sc;
	jsStreamConfig_Init(&sc);
	const char *subjects[] = {subject};
	sc.Name = name;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Retention = retention;
	sc.Storage = js_FileStorage;
	sc.Duplicates = DIST_DEDUP_NS;
	sc.MaxAge = max_age;
	jsErrCode jerr = 0;
	natsStatus s = js_AddStream(NULL, js, &sc, NULL, &jerr);
	if (s == NATS_OK)
		return 0;
	/* created by another client, maybe with other limits: use it */
	jsStreamInfo *si = NULL;
	jsErrCode jerr2 = 0;
	if (js_GetStreamInfo(&si, js, name, NULL, &jerr2) == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT)
		snprintf(err, errlen,
			 "the broker has no JetStream (start nats-server with -js, e.g. -c "
			 "dist/nats-server.conf)");
	else
		dist_nats_err(err, errlen, name, s, jerr);
	return -1;
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	if (natsConnection_IsClosed(nc))
		return; /* closed by us */
	fprintf(stderr, "%s[%d]: disconnected from the broker: reconnecting\n",
		(const char *)closure, (int)getpid());
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	fprintf(stderr, "%s[%d]: reconnected to the broker\n", (const char *)closure,
		(int)getpid());
}

int dist_nats_open(const char *url, const char *forever_as, natsConnection **ret_nc, jsCtx **ret_js,
		   char *err, size_t errlen)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	const char *asap = getenv("REEL_NATS_SEND_ASAP");
	natsStatus s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, url);
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(o, !(asap && !strcmp(asap, "0")));
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 3000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, forever_as ? -1 : 240);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, 250);
	if (s == NATS_OK && forever_as)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, (void *)forever_as);
	if (s == NATS_OK && forever_as)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, (void *)forever_as);
	/* messages name the broker without its password */
	char shown[1024];
	dist_url_display(url, shown, sizeof(shown));
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, shown, s, 0);
		natsOptions_Destroy(o);
		return -1;
	}
	s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		snprintf(err, errlen, "cannot reach the broker at %s: %s", shown,
			 natsStatus_GetText(s));
		return -1;
	}
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 10000;
	s = natsConnection_JetStream(&js, nc, &jo);
	if (s != NATS_OK) {
		dist_nats_err(err, errlen, "JetStream", s, 0);
		goto fail;
	}
	/* results and chunk announcements of runs that died go after a day */
	int64_t day = 24 * 3600 * 1000000000LL;
	if (add_stream(js, DIST_TASKS_STREAM, DIST_TASKS_SUBJECTS, js_WorkQueuePolicy, 0, err,
		       errlen) ||
	    add_stream(js, DIST_RESULTS_STREAM, DIST_RESULTS_SUBJECTS, js_LimitsPolicy, day, err,
		       errlen) ||
	    add_stream(js, DIST_CHUNKS_STREAM, DIST_CHUNKS_SUBJECTS, js_LimitsPolicy, 7 * day, err,
		       errlen))
		goto fail;
	*ret_nc = nc;
	*ret_js = js;
	return 0;
fail:
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return -1;
}

void dist_nats_close(natsConnection *nc, jsCtx *js)
{
	jsCtx_Destroy(js);
	if (nc) {
		/* what is buffered goes out; with the broker away, nothing
		 * would (the flush waited its 2 s for each connection) */
		if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED)
			natsConnection_FlushTimeout(nc, 2000);
		natsConnection_Close(nc);
		natsConnection_Destroy(nc);
	}
}
