/*
 * The demo application: a pretend web server serving a few requests, traced
 * with Reel. Run it with REEL_OUTPUT=DIR to get a trace in DIR.
 */
#include <stdio.h>
#include <stdlib.h>

#include "demo-tp.h"

int main(int argc, char **argv)
{
	int requests = argc > 1 ? atoi(argv[1]) : 5;
	static const char *paths[] = { "/", "/index.html", "/missing", "/api/v1/items" };
	const uint8_t client_ip[4] = { 192, 0, 2, 7 };

	for (int i = 0; i < requests; i++) {
		uint64_t id = 1000 + (uint64_t)i;
		const char *path = paths[i % 4];
		reel_tracepoint(demo, request_begin, id, path, client_ip);
		int status = i % 4 == 2 ? 404 : (i % 7 == 6 ? 503 : 200);
		uint16_t chunks[3] = { 512, 1024, (uint16_t)(i * 10) };
		reel_tracepoint(demo, request_end, id, status, 2048u + (uint32_t)i, 0.001 * (i + 1),
				chunks, (size_t)(i % 4));
		reel_tracepoint(demo, tick, i);
	}
	printf("demo: served %d requests\n", requests);
	return 0;
}
