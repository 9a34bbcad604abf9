/* A provider in a library that the test application loads and unloads. */
#include <reel/tracepoint.h>

REEL_EVENT(plugin, hello, REEL_LOGLEVEL_INFO,
	(int32_t n, const char *from),
	reel_field_integer(int32_t, n, n)
	reel_field_string(from, from))

void plugin_run(void);

__attribute__((visibility("default"))) void plugin_run(void)
{
	for (int i = 0; i < 3; i++)
		reel_tracepoint(plugin, hello, i, "plugin");
}
