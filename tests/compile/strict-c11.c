/* The public headers under ISO C11 with pedantic errors: a provider and a
 * call of each field kind. Compiled, not run. */
#include <reel/reel.h>
#include <reel/tracepoint.h>

REEL_ENUM(strict, level, reel_enum_value("LOW", 0) reel_enum_value("HIGH", 1))

REEL_EVENT(strict, all, REEL_LOGLEVEL_INFO,
	(int8_t a, uint64_t b, float c, double d, const char *e, const int16_t *f, size_t n,
	 int level),
	reel_field_integer(int8_t, a, a)
	reel_field_integer_hex(uint64_t, b, b)
	reel_field_float(float, c, c)
	reel_field_float(double, d, d)
	reel_field_string(e, e)
	reel_field_array(int16_t, f, f, 2)
	reel_field_sequence(int16_t, fs, f, n)
	reel_field_enum(strict, level, int32_t, level, level))

REEL_EVENT(strict, none, REEL_LOGLEVEL_DEBUG, (void), )

int strict_main(void);
int strict_main(void)
{
	static const int16_t f[2] = { 1, 2 };
	reel_tracepoint(strict, all, 1, 2, 3.0f, 4.0, "five", f, 2, 1);
	(void)reel__probe_strict___none; /* zero-argument calls need C23 */
	return 0;
}
