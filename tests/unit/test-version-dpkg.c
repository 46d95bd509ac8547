/*
 * test-version-dpkg.c: the Debian version order (collector/version-dpkg.c)
 * on the documented examples (Debian Policy 5.6.12, deb-version(5)), on
 * dpkg's own test vectors (lib/dpkg/t/t-version.c, scripts/t/Dpkg_Version.t,
 * taken as facts), on validity, and as a total order on generated triples.
 * The thousands of pairs against dpkg itself are tests/integ/version-oracle.sh.
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
	const struct version_scheme	*vs = &version_dpkg;
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

/* Policy 5.6.12: "~~, ~~a, ~, the empty part, a" in that order. */
static void
test_dpkg_policy_tilde_order(void **state)
{
	static const char *const up[] = {
		"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a",
	};
	static const char *const rev[] = {
		"1.0-1~~", "1.0-1~~a", "1.0-1~", "1.0-1", "1.0-1a",
	};
	size_t	i, j;

	(void)state;
	for (i = 0; i < TM_NELEM(up); i++) {
		for (j = 0; j < TM_NELEM(up); j++) {
			assert_int_equal(sign(version_dpkg.compare(up[i], up[j])),
			    i < j ? -1 : i > j);
			assert_int_equal(sign(version_dpkg.compare(rev[i], rev[j])),
			    i < j ? -1 : i > j);
		}
	}
}

/* Policy and deb-version(5): letters sort before non-letters. */
static void
test_dpkg_letters_before_non_letters(void **state)
{
	static const struct pair p[] = {
		{ "1.0a", "1.0+", -1 },
		{ "1.0a", "1.0.", -1 },
		{ "1.0Z", "1.0a", -1 },		/* ASCII among letters */
		{ "1.0+", "1.0.", -1 },		/* ASCII among non-letters */
		{ "1.0~", "1.0", -1 },
		{ "1.0", "1.0+", -1 },
		{ "1.0", "1.0a", -1 },
		{ "1.0.", "1.0~", 1 },
	};

	(void)state;
	/* ':' may only appear in the upstream part after an epoch. */
	assert_false(version_dpkg.valid("1.0:", NULL));
	assert_true(version_dpkg.valid("0:1.0:", NULL));
	check_pairs(p, TM_NELEM(p));
	assert_true(version_dpkg.compare("0:1.0:", "0:1.0.") > 0);
}

/* dpkg's scripts/t/Dpkg_Version.t comparison table. */
static void
test_dpkg_vectors_from_dpkg_perl_tests(void **state)
{
	static const struct pair p[] = {
		{ "1.0-1", "2.0-2", -1 },
		{ "2.2~rc-4", "2.2-1", -1 },
		{ "2.2-1", "2.2~rc-4", 1 },
		{ "1.0000-1", "1.0-1", 0 },
		{ "1", "0:1", 0 },
		{ "0", "0:0-0", 0 },
		{ "2:2.5", "1:7.5", 1 },
		{ "1:0foo", "0foo", 1 },
		{ "0:0foo", "0foo", 0 },
		{ "0foo", "0foo", 0 },
		{ "0foo-0", "0foo", 0 },
		{ "0foo", "0foo-0", 0 },
		{ "0foo", "0fo", 1 },
		{ "0foo-0", "0foo+", -1 },
		{ "0foo~1", "0foo", -1 },
		{ "0foo~foo+Bar", "0foo~foo+bar", -1 },
		{ "0foo~~", "0foo~", -1 },
		{ "1~", "1", -1 },
		{ "12345+that-really-is-some-ver-0",
		  "12345+that-really-is-some-ver-10", -1 },
		{ "0foo-0", "0foo-01", -1 },
		{ "0foo.bar", "0foobar", 1 },
		{ "0foo.bar", "0foo1bar", 1 },
		{ "0foo.bar", "0foo0bar", 1 },
		{ "0foo1bar-1", "0foobar-1", -1 },
		{ "0foo2.0", "0foo2", 1 },
		{ "0foo2.0.0", "0foo2.10.0", -1 },
		{ "0foo2.0", "0foo2.0.0", -1 },
		{ "0foo2.0", "0foo2.10", -1 },
		{ "0foo2.1", "0foo2.10", -1 },
		{ "1.09", "1.9", 0 },
		{ "1.0.8+nmu1", "1.0.8", 1 },
		{ "3.11", "3.10+nmu1", 1 },
		{ "0.9j-20080306-4", "0.9i-20070324-2", 1 },
		{ "1.2.0~b7-1", "1.2.0~b6-1", 1 },
		{ "1.011-1", "1.06-2", 1 },
		{ "0.0.9+dfsg1-1", "0.0.8+dfsg1-3", 1 },
		{ "4.6.99+svn6582-1", "4.6.99+svn6496-1", 1 },
		{ "53", "52", 1 },
		{ "0.9.9~pre122-1", "0.9.9~pre111-1", 1 },
		{ "2:2.3.2-2+lenny2", "2:2.3.2-2", 1 },
		{ "1:3.8.1-1", "3.8.GA-1", 1 },
		{ "1.0.1+gpl-1", "1.0.1-2", 1 },
		{ "1a", "1000a", -1 },
	};

	(void)state;
	check_pairs(p, TM_NELEM(p));
}

/* dpkg's lib/dpkg/t/t-version.c comparisons, written as strings. */
static void
test_dpkg_vectors_from_libdpkg_tests(void **state)
{
	static const struct pair p[] = {
		{ "1:0", "2:0", -1 },
		{ "1-1", "2-1", -1 },
		{ "1-1", "1-2", -1 },
		{ "0-0", "0-0", 0 },
		{ "0-00", "00-0", 0 },
		{ "1:2-3", "1:2-3", 0 },
		{ "0-0", "1:0-0", -1 },
		{ "a-0", "b-0", -1 },
		{ "0-a", "0-b", -1 },
		/* parse tests: each string equals its parts */
		{ "0", "0:0", 0 },
		{ "0:0-0", "0-0", 0 },
		{ "0:0.0-0.0", "0.0-0.0", 0 },
		{ "1:0", "1:0-0", 0 },
		{ "5:1", "5:1", 0 },
		{ "0:0-0-0", "0-0-0", 0 },
		{ "0:0-0-0-0", "0-0-0-0", 0 },
		{ "0:0:0-0", "0:0:0-0", 0 },
		{ "0:0:0:0-0", "0:0:0:0-0", 0 },
		{ "0:0:0-0-0", "0:0:0-0-0", 0 },
		{ "0:0-0:0-0", "0:0-0:0-0", 0 },
		{ "0:09azAZ.-+~:-0", "0:9azAZ.-+~:-0", 0 },
		{ "0:0-azAZ09.+~", "0-azAZ9.+~", 0 },
	};

	(void)state;
	check_pairs(p, TM_NELEM(p));
}

/* What an operator asks: the Heartbleed fix and other backports. */
static void
test_dpkg_backport_revisions(void **state)
{
	static const struct pair p[] = {
		{ "1.0.1e-2+deb7u4", "1.0.1e-2+deb7u5", -1 },
		{ "1.0.1e-2+deb7u9", "1.0.1e-2+deb7u10", -1 },
		{ "1.0.1e-2+deb7u5", "1.0.1e-2", 1 },
		{ "1.0.1e-2~bpo60+1", "1.0.1e-2", -1 },
		{ "1.0.1e-2+deb7u4", "1.0.1f-1", -1 },
		{ "1.0.1e-2+deb7u4", "1:1.0.1a-1", -1 },
		{ "1.1.1n-0+deb11u4", "1.1.1n-0+deb11u5", -1 },
		{ "3.0.11-1~deb12u2", "3.0.11-1", -1 },
		{ "1.2.3-1ubuntu0.20.04.1", "1.2.3-1ubuntu0.20.04.10", -1 },
		{ "2.36-9+deb12u4", "2.36-9+deb12u10", -1 },
		{ "7.88.1-10+deb12u5", "7.88.1-10+deb12u5", 0 },
	};

	(void)state;
	check_pairs(p, TM_NELEM(p));
}

/* Digit runs compare as numbers of any length, no overflow. */
static void
test_dpkg_long_digit_runs_compare_numerically(void **state)
{
	static const struct pair p[] = {
		{ "1.18446744073709551615", "1.18446744073709551616", -1 },
		{ "1.18446744073709551616", "1.18446744073709551615", 1 },
		{ "1.99999999999999999999999999", "1.100000000000000000000000000", -1 },
		{ "1.000000000000000000000000000000000000001", "1.1", 0 },
		{ "99999999999999999999999999999999999999999999999999",
		  "100000000000000000000000000000000000000000000000000", -1 },
		{ "1-123456789012345678901234567890",
		  "1-123456789012345678901234567891", -1 },
	};
	char	a[1200], b[1200];

	(void)state;
	check_pairs(p, TM_NELEM(p));

	/* 1000-digit runs that differ only in the last digit. */
	memset(a, '9', 1000);
	memcpy(a + 1000, ".1", 3);
	memcpy(b, a, sizeof(a));
	a[999] = '8';
	assert_true(version_dpkg.valid(a, NULL));
	assert_true(version_dpkg.compare(a, b) < 0);
	assert_true(version_dpkg.compare(b, a) > 0);
}

/* Validity: dpkg's parse errors are ours; its warnings too, but one. */
static void
test_dpkg_validity(void **state)
{
	static const char *const good[] = {
		"0", "0:0", "0:0-0", "1:0", "2147483647:1", "00:1",
		"0:0-0-0", "0:0:0-0", "0:09azAZ.-+~:-0", "0:0-azAZ09.+~",
		"1.0.1e-2+deb7u4",
		/* dpkg only warns: "version number does not start with digit" */
		"0:abc3-0", "abc", "~1",
	};
	static const char *const bad[] = {
		"", ":1.0", "0:", "1.0-", "-0", "0:-0", "-1:0-1",
		"+1:0-1",	/* strtol would take the sign: we do not */
		"2147483648:1", "999999999999999999999999:0-1",
		"a:0-0", "A:0-0", "1a:0",
		"0:0 0-1", " 0:0-1", "0:0-1 ", "1.0\t",
		"0:0-0:0",	/* ':' in the revision */
		"1.0_1", "1.0-1_1", "1.0\xc3\xa9",
	};
	static const char upchars[] = "!#@$%&/|\\<>()[]{};,_=*^'";
	static const char revchars[] = "!#@$%&/|\\<>()[]{}:;,_=*^'";
	const char	*why;
	char		 s[16];
	size_t		 i;

	(void)state;
	for (i = 0; i < TM_NELEM(good); i++) {
		why = NULL;
		if (!version_dpkg.valid(good[i], &why))
			fail_msg("'%s' rejected: %s", good[i], why);
	}
	for (i = 0; i < TM_NELEM(bad); i++) {
		why = NULL;
		if (version_dpkg.valid(bad[i], &why))
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(why);
	}
	/* dpkg's own loops over invalid characters (warnings in dpkg). */
	for (i = 0; upchars[i] != '\0'; i++) {
		snprintf(s, sizeof(s), "0:0%ca-0", upchars[i]);
		assert_false(version_dpkg.valid(s, NULL));
	}
	for (i = 0; revchars[i] != '\0'; i++) {
		snprintf(s, sizeof(s), "0:0-0%c", revchars[i]);
		assert_false(version_dpkg.valid(s, NULL));
	}
	assert_false(version_dpkg.valid(NULL, NULL));
}

/* Hostile lengths: over VERSION_MAX_LEN is invalid, never a crash. */
static void
test_dpkg_too_long_is_invalid(void **state)
{
	static char	s[VERSION_MAX_LEN + 2];

	(void)state;
	memset(s, '1', VERSION_MAX_LEN);
	s[VERSION_MAX_LEN] = '\0';
	assert_true(version_dpkg.valid(s, NULL));
	s[VERSION_MAX_LEN] = '1';
	s[VERSION_MAX_LEN + 1] = '\0';
	assert_false(version_dpkg.valid(s, NULL));
	/* compare() stays total on invalid input: invalid sorts first. */
	assert_true(version_dpkg.compare(s, "1") < 0);
	assert_true(version_dpkg.compare("1", s) > 0);
	assert_int_equal(version_dpkg.compare(s, s), 0);
	assert_true(version_dpkg.compare(NULL, "1") < 0);
}

/* The scheme table finds dpkg by name. */
static void
test_dpkg_found_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(version_scheme_find("dpkg"), &version_dpkg);
	assert_null(version_scheme_find("deb"));
	assert_null(version_scheme_find(""));
	assert_null(version_scheme_find(NULL));
}

/* Total preorder on 20000 generated triples (all orderings of each). */
static void
test_dpkg_order_is_total_on_generated_triples(void **state)
{
	(void)state;
	assert_int_equal(vgen_check_order(&version_dpkg, 0x7a11d9, 20000, stderr), 0);
}

/* A deliberately cyclic compare: the checker above must catch it. */
static int
cyclic_valid(const char *s, const char **why)
{
	(void)why;
	return s != NULL && *s != '\0';
}

static int
cyclic_compare(const char *a, const char *b)
{
	/* Rock-paper-scissors on the string lengths modulo 3. */
	size_t	la = strlen(a) % 3, lb = strlen(b) % 3;

	if (la == lb)
		return 0;
	return (la + 1) % 3 == lb ? -1 : 1;
}

static void
test_order_checker_catches_a_cyclic_compare(void **state)
{
	/* Named "dpkg" so that the generator makes dpkg-shaped strings. */
	static const struct version_scheme cyclic = {
		.name = "dpkg",
		.valid = cyclic_valid,
		.compare = cyclic_compare,
	};

	(void)state;
	assert_true(vgen_check_order(&cyclic, 0x7a11d9, 500, NULL) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpkg_policy_tilde_order),
		cmocka_unit_test(test_dpkg_letters_before_non_letters),
		cmocka_unit_test(test_dpkg_vectors_from_dpkg_perl_tests),
		cmocka_unit_test(test_dpkg_vectors_from_libdpkg_tests),
		cmocka_unit_test(test_dpkg_backport_revisions),
		cmocka_unit_test(test_dpkg_long_digit_runs_compare_numerically),
		cmocka_unit_test(test_dpkg_validity),
		cmocka_unit_test(test_dpkg_too_long_is_invalid),
		cmocka_unit_test(test_dpkg_found_by_name),
		cmocka_unit_test(test_dpkg_order_is_total_on_generated_triples),
		cmocka_unit_test(test_order_checker_catches_a_cyclic_compare),
	};

	return cmocka_run_group_tests_name("version-dpkg", tests, NULL, NULL);
}
