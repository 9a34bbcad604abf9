/* The README tutorial's provider, built by test_install_and_tutorial. */
#include <reel/tracepoint.h>

REEL_ENUM(myapp, status,
    reel_enum_value("OK", 200)
    reel_enum_range("SERVER_ERROR", 500, 599))

REEL_EVENT(myapp, request, REEL_LOGLEVEL_INFO,
    (uint64_t id, const char *path, int status, double seconds),
    reel_field_integer(uint64_t, id, id)
    reel_field_string(path, path)
    reel_field_enum(myapp, status, int16_t, status, status)
    reel_field_float(double, seconds, seconds))
