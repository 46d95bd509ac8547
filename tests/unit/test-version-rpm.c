/*
 * test-version-rpm.c: the RPM version order (collector/version-rpm.c) on
 * rpm's own test vectors (tests/rpmvercmp.at of rpm 4.18, taken as facts),
 * on EVR rules (epoch, missing release), validity, long digit runs, and as a
 * total order on generated triples.  The thousands of pairs against rpm
 * itself are tests/integ/version-oracle.sh.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "collector/collector.h"
#include "tests/lib/version-gen.h"

struct pair {
	const char	*a;
	const char	*b;
	int		 want;		/* -1, 0, 1 */
};

static int
sign(int r)
{
	return r < 0 ? -1 : r > 0;
}

/* Check every pair both ways; print each failure, then fail once. */
static void
check_pairs(const struct pair *p, size_t n)
{
	const struct version_scheme	*vs = &version_rpm;
	const char			*why;
	size_t				 i, bad = 0;
	int				 ab, ba;

	for (i = 0; i < n; i++) {
		if (!vs->valid(p[i].a, &why) || !vs->valid(p[i].b, &why)) {
			print_error("invalid: '%s' / '%s': %s\n", p[i].a, p[i].b,
			    why);
			bad++;
			continue;
		}
		ab = sign(vs->compare(p[i].a, p[i].b));
		ba = sign(vs->compare(p[i].b, p[i].a));
		if (ab != p[i].want || ba != -p[i].want) {
			print_error("'%s' vs '%s': want %d, got %d (reverse %d)\n",
			    p[i].a, p[i].b, p[i].want, ab, ba);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* rpm 4.18 tests/rpmvercmp.at, every active RPMVERCMP(a, b, result). */
static void
test_rpm_vectors_from_rpmvercmp_at(void **state)
{
	static const struct pair p[] = {
		{ "1.0", "1.0", 0 },
		{ "1.0", "2.0", -1 },
		{ "2.0", "1.0", 1 },
		{ "2.0.1", "2.0.1", 0 },
		{ "2.0", "2.0.1", -1 },
		{ "2.0.1", "2.0", 1 },
		{ "2.0.1a", "2.0.1a", 0 },
		{ "2.0.1a", "2.0.1", 1 },
		{ "2.0.1", "2.0.1a", -1 },
		{ "5.5p1", "5.5p1", 0 },
		{ "5.5p1", "5.5p2", -1 },
		{ "5.5p2", "5.5p1", 1 },
		{ "5.5p10", "5.5p10", 0 },
		{ "5.5p1", "5.5p10", -1 },
		{ "5.5p10", "5.5p1", 1 },
		{ "10xyz", "10.1xyz", -1 },
		{ "10.1xyz", "10xyz", 1 },
		{ "xyz10", "xyz10", 0 },
		{ "xyz10", "xyz10.1", -1 },
		{ "xyz10.1", "xyz10", 1 },
		{ "xyz.4", "xyz.4", 0 },
		{ "xyz.4", "8", -1 },
		{ "8", "xyz.4", 1 },
		{ "xyz.4", "2", -1 },
		{ "2", "xyz.4", 1 },
		{ "5.5p2", "5.6p1", -1 },
		{ "5.6p1", "5.5p2", 1 },
		{ "5.6p1", "6.5p1", -1 },
		{ "6.5p1", "5.6p1", 1 },
		{ "6.0.rc1", "6.0", 1 },
		{ "6.0", "6.0.rc1", -1 },
		{ "10b2", "10a1", 1 },
		{ "10a2", "10b2", -1 },
		{ "1.0aa", "1.0aa", 0 },
		{ "1.0a", "1.0aa", -1 },
		{ "1.0aa", "1.0a", 1 },
		{ "10.0001", "10.0001", 0 },
		{ "10.0001", "10.1", 0 },
		{ "10.1", "10.0001", 0 },
		{ "10.0001", "10.0039", -1 },
		{ "10.0039", "10.0001", 1 },
		{ "4.999.9", "5.0", -1 },
		{ "5.0", "4.999.9", 1 },
		{ "20101121", "20101121", 0 },
		{ "20101121", "20101122", -1 },
		{ "20101122", "20101121", 1 },
		{ "2_0", "2_0", 0 },
		{ "2.0", "2_0", 0 },
		{ "2_0", "2.0", 0 },
		{ "a", "a", 0 },
		{ "a+", "a+", 0 },
		{ "a+", "a_", 0 },
		{ "a_", "a+", 0 },
		{ "+a", "+a", 0 },
		{ "+a", "_a", 0 },
		{ "_a", "+a", 0 },
		{ "+_", "+_", 0 },
		{ "_+", "+_", 0 },
		{ "_+", "_+", 0 },
		{ "+", "_", 0 },
		{ "_", "+", 0 },
		{ "1.0~rc1", "1.0~rc1", 0 },
		{ "1.0~rc1", "1.0", -1 },
		{ "1.0", "1.0~rc1", 1 },
		{ "1.0~rc1", "1.0~rc2", -1 },
		{ "1.0~rc2", "1.0~rc1", 1 },
		{ "1.0~rc1~git123", "1.0~rc1~git123", 0 },
		{ "1.0~rc1~git123", "1.0~rc1", -1 },
		{ "1.0~rc1", "1.0~rc1~git123", 1 },
		{ "1.0^", "1.0^", 0 },
		{ "1.0^", "1.0", 1 },
		{ "1.0", "1.0^", -1 },
		{ "1.0^git1", "1.0^git1", 0 },
		{ "1.0^git1", "1.0", 1 },
		{ "1.0", "1.0^git1", -1 },
		{ "1.0^git1", "1.0^git2", -1 },
		{ "1.0^git2", "1.0^git1", 1 },
		{ "1.0^git1", "1.01", -1 },
		{ "1.01", "1.0^git1", 1 },
		{ "1.0^20160101", "1.0^20160101", 0 },
		{ "1.0^20160101", "1.0.1", -1 },
		{ "1.0.1", "1.0^20160101", 1 },
		{ "1.0^20160101^git1", "1.0^20160101^git1", 0 },
		{ "1.0^20160102", "1.0^20160101^git1", 1 },
		{ "1.0^20160101^git1", "1.0^20160102", -1 },
		{ "1.0~rc1^git1", "1.0~rc1^git1", 0 },
		{ "1.0~rc1^git1", "1.0~rc1", 1 },
		{ "1.0~rc1", "1.0~rc1^git1", -1 },
		{ "1.0^git1~pre", "1.0^git1~pre", 0 },
		{ "1.0^git1", "1.0^git1~pre", 1 },
		{ "1.0^git1~pre", "1.0^git1", -1 },
	};

	(void)state;
	check_pairs(p, TM_NELEM(p));
}

/*
 * '~' sorts before everything, '^' after the end but before the rest.  Unlike
 * dpkg, a bare trailing '~' is older than '~' followed by more ("1.0~" <
 * "1.0~rc1"): rpm compares what follows the two tildes, and the longer wins.
 */
static void
test_rpm_tilde_and_caret(void **state)
{
	static const char *const order[] = {
		"1.0~~", "1.0~~a", "1.0~", "1.0~rc1", "1.0~rc2", "1.0",
		"1.0^", "1.0^git1", "1.0^git2", "1.0^git2.1", "1.0a", "1.0.0",
		"1.0.1",
	};
	size_t	i, j;

	(void)state;
	for (i = 0; i < TM_NELEM(order); i++) {
		for (j = 0; j < TM_NELEM(order); j++) {
			if (sign(version_rpm.compare(order[i], order[j])) !=
			    (i < j ? -1 : i > j))
				fail_msg("'%s' vs '%s'", order[i], order[j]);
		}
	}
}

/* Epoch, version, release: missing epoch is 0, missing release is lowest. */
static void
test_rpm_epoch_version_release(void **state)
{
	static const struct pair p[] = {
		{ "1:1.0", "2.0", 1 },
		{ "0:1.0", "1.0", 0 },
		{ "00:1.0", "0:1.0", 0 },
		{ "01:1.0", "1:1.0", 0 },
		{ "1:0.1", "0:9.9", 1 },
		{ "10:1", "9:1", 1 },
		{ "1.0", "1.0-1", -1 },
		{ "1.0", "1.0-0", -1 },
		{ "1.0-1", "1.0-2", -1 },
		{ "1.0-10", "1.0-9", 1 },
		{ "1.1-1", "1.0-9", 1 },
		{ "1:1.0-1", "1.0-1", 1 },
		{ "1.1.1k-7.el8_6", "1.1.1k-12.el8_9", -1 },
		{ "1.1.1k-12.el8_9", "1:1.1.1k-12.el8_9", -1 },
		{ "2.28-225.el8", "2.28-225.el8_8.6", -1 },
		{ "5.3.28-150400.3.5.1", "5.3.28-150400.3.3.1", 1 },
		{ "3.0.7-24.el9", "3.0.7-24.el9_2.1", -1 },
		{ "1.0-1.fc38", "1.0-1.fc38.1", -1 },
		{ "1.0-1.el8", "1.0-1.el8~bootstrap", 1 },
		{ "1.0-1^20240101", "1.0-1", 1 },
	};

	(void)state;
	check_pairs(p, TM_NELEM(p));
}

/* Digit runs compare as numbers of any length, no overflow. */
static void
test_rpm_long_digit_runs_compare_numerically(void **state)
{
	static const struct pair p[] = {
		{ "1.18446744073709551615", "1.18446744073709551616", -1 },
		{ "1.99999999999999999999999999", "1.100000000000000000000000000", -1 },
		{ "1.000000000000000000000000000000000000001", "1.1", 0 },
		{ "123456789012345678901234567890:1", "123456789012345678901234567891:0", -1 },
		{ "1-123456789012345678901234567890", "1-99", 1 },
	};
	char	a[1200], b[1200];

	(void)state;
	check_pairs(p, TM_NELEM(p));

	memset(a, '9', 1000);
	memcpy(a + 1000, ".1", 3);
	memcpy(b, a, sizeof(a));
	a[999] = '8';
	assert_true(version_rpm.valid(a, NULL));
	assert_true(version_rpm.compare(a, b) < 0);
	assert_true(version_rpm.compare(b, a) > 0);
}

/* Separators only separate; letters compare as bytes (upper first). */
static void
test_rpm_separators_and_letters(void **state)
{
	static const struct pair p[] = {
		{ "1.0", "1_0", 0 },
		{ "1.0", "1+0", 0 },
		{ "1..0", "1.0", 0 },
		{ "1.0.", "1.0", 0 },
		{ "1.0a", "1.0A", 1 },
		{ "1.0a", "1.0.1", -1 },	/* digits beat letters */
		{ "1.0aa", "1.0b", -1 },
		{ "1.01", "1.1", 0 },
		{ "1.010", "1.10", 0 },
		{ "1.001", "1.01", 0 },
	};

	(void)state;
	check_pairs(p, TM_NELEM(p));
}

/* Validity: what rpmbuild allows in Version and Release, nothing else. */
static void
test_rpm_validity(void **state)
{
	static const char *const good[] = {
		"1", "1.0", "1:1.0", "0:1.0-1", "1.0-1.el8_9", "1.0~rc1^git2-0.1",
		"xyz.4", "+", "_", "+_", "01:1", "1.0-1..2", "2.0.1a",
	};
	static const char *const bad[] = {
		"", ":1.0", "a:1.0", "1a:1.0", "1.0-", "-1", "1:-1", "1:",
		"1.0-1-2", "1:2:3", "1.0-1:2", "1.0 1", " 1.0", "1.0\n",
		"1.0%{?dist}", "1.0-1%{dist}", "1.0/1", "1.0,1", "1.0\xc3\xa9",
	};
	const char	*why;
	size_t		 i;

	(void)state;
	for (i = 0; i < TM_NELEM(good); i++) {
		why = NULL;
		if (!version_rpm.valid(good[i], &why))
			fail_msg("'%s' rejected: %s", good[i], why);
	}
	for (i = 0; i < TM_NELEM(bad); i++) {
		why = NULL;
		if (version_rpm.valid(bad[i], &why))
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(why);
	}
	assert_false(version_rpm.valid(NULL, NULL));
}

/* Hostile lengths: over VERSION_MAX_LEN is invalid, never a crash. */
static void
test_rpm_too_long_is_invalid(void **state)
{
	static char	s[VERSION_MAX_LEN + 2];

	(void)state;
	memset(s, '1', VERSION_MAX_LEN);
	s[VERSION_MAX_LEN] = '\0';
	assert_true(version_rpm.valid(s, NULL));
	s[VERSION_MAX_LEN] = '1';
	s[VERSION_MAX_LEN + 1] = '\0';
	assert_false(version_rpm.valid(s, NULL));
	assert_true(version_rpm.compare(s, "1") < 0);
	assert_true(version_rpm.compare("1", s) > 0);
	assert_true(version_rpm.compare(NULL, "1") < 0);
}

/* The scheme table finds rpm by name. */
static void
test_rpm_found_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(version_scheme_find("rpm"), &version_rpm);
	assert_null(version_scheme_find("RPM"));
}

/* Total preorder on 20000 generated triples (all orderings of each). */
static void
test_rpm_order_is_total_on_generated_triples(void **state)
{
	(void)state;
	assert_int_equal(vgen_check_order(&version_rpm, 0x5eed4, 20000, stderr), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpm_vectors_from_rpmvercmp_at),
		cmocka_unit_test(test_rpm_tilde_and_caret),
		cmocka_unit_test(test_rpm_epoch_version_release),
		cmocka_unit_test(test_rpm_long_digit_runs_compare_numerically),
		cmocka_unit_test(test_rpm_separators_and_letters),
		cmocka_unit_test(test_rpm_validity),
		cmocka_unit_test(test_rpm_too_long_is_invalid),
		cmocka_unit_test(test_rpm_found_by_name),
		cmocka_unit_test(test_rpm_order_is_total_on_generated_triples),
	};

	return cmocka_run_group_tests_name("version-rpm", tests, NULL, NULL);
}
