/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal unit-test harness. Each UNIT_TEST runs in its own forked child
 * (isolated environment, crash-safe, 60 s alarm). The runner prints one
 * line per test and closes with "N passed, N failed".
 *
 *   UNIT_TEST(cpuset_parse) { CHECK_INT_EQ(kt_cpuset_parse("0-3", &s), 0); }
 */
#ifndef KTSTR_UNIT_H
#define KTSTR_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_test {
	const char *name;
	const char *file;
	void (*fn)(void);
};

#define UNIT_TEST(n)                                                                             \
	static void n(void);                                                                     \
	static const struct unit_test __unit_##n                                                 \
		__attribute__((used, section("unit_tests"), aligned(8))) = {#n, __FILE__, n};   \
	static void n(void)

void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A scratch directory unique to the running test (removed afterwards). */
const char *unit_tmpdir(void);

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond))                                                                     \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                       \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                                       \
	do {                                                                                     \
		long long _a = (long long)(a), _b = (long long)(b);                              \
		if (_a != _b)                                                                    \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b); \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                       \
	do {                                                                                     \
		const char *_a = (a), *_b = (b);                                                 \
		if (!_a || !_b || strcmp(_a, _b))                                                \
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,      \
				  _a ? _a : "(null)", _b ? _b : "(null)");                       \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                          \
	do {                                                                                     \
		const char *_h = (hay), *_n = (needle);                                          \
		if (!_h || !strstr(_h, _n))                                                      \
			unit_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",          \
				  _h ? _h : "(null)", _n);                                       \
	} while (0)

#define CHECK_DBL_NEAR(a, b, eps)                                                                \
	do {                                                                                     \
		double _a = (a), _b = (b);                                                       \
		if (!(_a - _b <= (eps) && _b - _a <= (eps)))                                     \
			unit_fail(__FILE__, __LINE__, "%s ~= %s: %g != %g", #a, #b, _a, _b);     \
	} while (0)

#endif
