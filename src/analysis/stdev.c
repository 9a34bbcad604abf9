/* SPDX-License-Identifier: MIT */
/*
 * The standard deviation of a syscall's durations, as lttng-syscallstats
 * gives it (doc/analysis.md, "Precision"): Python's statistics.stdev of the
 * durations in ns, which is the exact sample variance
 *   (count * sumsq - sum^2) / (count * (count - 1))
 * (a rational) whose square root is correctly rounded to a double. The
 * partials carry count, sum and sumsq (integers, exact in any merge order);
 * the rational and its root are computed here with GMP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gmp.h>
#include <math.h>

#include "analysis/analysis-local.h"

static void mpz_set_u128(mpz_t z, unsigned __int128 v)
{
	mpz_set_ui(z, (unsigned long)(uint64_t)(v >> 64));
	mpz_mul_2exp(z, z, 64);
	mpz_add_ui(z, z, (unsigned long)(uint64_t)v);
}

static void mpz_set_i64(mpz_t z, int64_t v)
{
	if (v >= 0) {
		mpz_set_ui(z, (unsigned long)v);
	} else {
		mpz_set_ui(z, (unsigned long)(-(uint64_t)v));
		mpz_neg(z, z);
	}
}

/* floor(sqrt(n / m)), its last bit set when inexact (round to odd): the
 * root keeps enough bits for the final rounding to be correct. */
static void isqrt_frac_rto(mpz_t a, const mpz_t n, const mpz_t m)
{
	mpz_t t;
	mpz_init(t);
	mpz_fdiv_q(t, n, m);
	mpz_sqrt(a, t);
	mpz_mul(t, a, a);
	mpz_mul(t, t, m);
	if (mpz_cmp(t, n) != 0)
		mpz_setbit(a, 0);
	mpz_clear(t);
}

/* sqrt(n / m) correctly rounded (n >= 0, m > 0), by the method of Python's
 * statistics._float_sqrt_of_frac: a root of 2 * 53 + 3 bits rounded to
 * odd, then rounded once to the double's 53 bits. */
static double sqrt_frac(const mpz_t n, const mpz_t m)
{
	if (mpz_sgn(n) == 0)
		return 0.0;
	enum { WIDTH = 2 * 53 + 3 };
	long diff = (long)mpz_sizeinbase(n, 2) - (long)mpz_sizeinbase(m, 2) - WIDTH;
	/* Python's // floors */
	long q = diff >= 0 ? diff / 2 : -((-diff + 1) / 2);
	mpz_t a, s;
	mpz_inits(a, s, NULL);
	if (q >= 0) {
		mpz_mul_2exp(s, m, (mp_bitcnt_t)(2 * q));
		isqrt_frac_rto(a, n, s);
	} else {
		mpz_mul_2exp(s, n, (mp_bitcnt_t)(-2 * q));
		isqrt_frac_rto(a, s, m);
	}
	/* a < 2^56: one rounding to nearest, even, in the conversion; the
	 * scaling by 2^q is exact */
	double d = (double)(uint64_t)mpz_get_ui(a);
	mpz_clears(a, s, NULL);
	return ldexp(d, (int)q);
}

int an_stat_stdev(const struct an_stat *s, double *ret_stdev)
{
	/* lttng-syscallstats: a stdev only for more than two calls */
	if (s->count <= 2 || s->sumsq == AN_SUMSQ_OVERFLOW)
		return -EDOM;
	mpz_t n, m, t;
	mpz_inits(n, m, t, NULL);
	/* n = count * sumsq - sum^2 (>= 0), m = count * (count - 1) */
	mpz_set_u128(n, s->sumsq);
	mpz_mul_ui(n, n, (unsigned long)s->count);
	mpz_set_i64(t, s->sum);
	mpz_mul(t, t, t);
	mpz_sub(n, n, t);
	mpz_set_ui(m, (unsigned long)s->count);
	mpz_mul_ui(m, m, (unsigned long)(s->count - 1));
	int r = 0;
	if (mpz_sgn(n) < 0)
		r = -EDOM; /* inconsistent sums (a sum that wrapped) */
	else
		*ret_stdev = sqrt_frac(n, m);
	mpz_clears(n, m, t, NULL);
	return r;
}
