// A provider and an application written in C++: the public headers must
// compile as C++ and record the same events.
#include <cstdio>
#include <string>

#include <reel/reel.h>
#include <reel/tracepoint.h>

REEL_ENUM(cxxapp, mood, reel_enum_value("CALM", 0) reel_enum_range("BUSY", 1, 10))

REEL_EVENT(cxxapp, hello, REEL_LOGLEVEL_INFO,
	(int n, const std::string &name, double ratio),
	reel_field_integer(int32_t, n, n)
	reel_field_string(name, name.c_str())
	reel_field_float(double, ratio, ratio))

REEL_EVENT(cxxapp, kinds, REEL_LOGLEVEL_DEBUG,
	(const uint16_t *values, size_t count, int mood),
	reel_field_array(uint16_t, first_two, values, 2)
	reel_field_sequence(uint16_t, values, values, count)
	reel_field_enum(cxxapp, mood, uint8_t, mood, mood)
	reel_field_integer_hex(uint64_t, count, count)
	reel_field_float(float, f, 0.5f))

int main()
{
	const std::string name = "from C++";
	for (int i = 0; i < 3; i++)
		reel_tracepoint(cxxapp, hello, i, name, i / 4.0);
	const uint16_t values[3] = { 1, 2, 3 };
	if (reel_tracepoint_enabled(cxxapp, kinds))
		reel_tracepoint(cxxapp, kinds, values, 3, 5);
	std::printf("cxx-app done\n");
	return 0;
}
