/*
 * test-cvss.c: CVSS base scores computed from vectors against the scores
 * FIRST publishes for its worked examples (CVSS v3.1 "Examples" document,
 * CVSS v2 guide section 3.3), and hostile vectors.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "collector/collector.h"

struct example {
	const char	*what;
	const char	*vector;
	double		 score;
	enum sev_level	 level;
};

static void
check_examples(const struct example *ex, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		double		 s;
		enum sev_level	 l;
		const char	*why = NULL;

		if (cvss_score(ex[i].vector, &s, &l, &why) != 0)
			fail_msg("%s: %s rejected: %s", ex[i].what,
			    ex[i].vector, why);
		if ((int)(s * 10 + 0.5) != (int)(ex[i].score * 10 + 0.5))
			fail_msg("%s: %s scored %.1f, FIRST says %.1f",
			    ex[i].what, ex[i].vector, s, ex[i].score);
		assert_int_equal(l, ex[i].level);
	}
}

static void
test_cvss31_first_examples(void **state)
{
	static const struct example ex[] = {
		{ "CVE-2014-0160 Heartbleed",
		  "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, SEV_HIGH },
		{ "CVE-2014-6271 Shellshock",
		  "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8,
		  SEV_CRITICAL },
		{ "CVE-2013-1937 phpMyAdmin XSS",
		  "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1,
		  SEV_MEDIUM },
		{ "CVE-2013-0375 MySQL",
		  "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4,
		  SEV_MEDIUM },
		{ "CVE-2014-3566 POODLE",
		  "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, SEV_LOW },
		{ "CVE-2012-1516 VMware",
		  "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9,
		  SEV_CRITICAL },
		{ "CVE-2009-0783 Tomcat",
		  "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2,
		  SEV_MEDIUM },
		{ "CVE-2012-0384 Cisco IOS",
		  "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8, SEV_HIGH },
		{ "CVE-2015-1098 iWork",
		  "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8, SEV_HIGH },
		{ "CVE-2014-0224 OpenSSL CCS",
		  "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4, SEV_HIGH },
		{ "CVE-2012-5376 Chrome",
		  "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6,
		  SEV_CRITICAL },
		{ "CVE-2016-5729 Lenovo BIOS",
		  "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 8.2, SEV_HIGH },
		{ "no impact at all",
		  "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, SEV_NONE },
	};

	check_examples(ex, TM_NELEM(ex));
}

static void
test_cvss30_vectors_score_like_31_on_first_examples(void **state)
{
	static const struct example ex[] = {
		{ "CVE-2014-0160 Heartbleed (3.0)",
		  "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, SEV_HIGH },
		{ "CVE-2013-1937 (3.0)",
		  "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1,
		  SEV_MEDIUM },
	};

	check_examples(ex, TM_NELEM(ex));
}

static void
test_cvss31_temporal_metrics_do_not_change_the_base_score(void **state)
{
	static const struct example ex[] = {
		{ "Heartbleed with temporal metrics",
		  "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:H/RL:O/RC:C",
		  7.5, SEV_HIGH },
	};

	check_examples(ex, TM_NELEM(ex));
}

static void
test_cvss2_guide_examples(void **state)
{
	static const struct example ex[] = {
		{ "CVE-2002-0392 Apache chunked",
		  "AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, SEV_HIGH },
		{ "CVE-2003-0818 Windows ASN.1",
		  "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, SEV_HIGH },
		{ "CVE-2003-0062 NOD32",
		  "AV:L/AC:H/Au:N/C:C/I:C/A:C", 6.2, SEV_MEDIUM },
		{ "CVE-2014-0160 Heartbleed (v2)",
		  "AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0, SEV_MEDIUM },
		{ "v2 with a CVSS:2.0 prefix",
		  "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0, SEV_MEDIUM },
	};

	check_examples(ex, TM_NELEM(ex));
}

static void
test_cvss4_is_validated_but_not_scored(void **state)
{
	double		 s;
	enum sev_level	 l;

	assert_int_equal(cvss_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/"
	    "VI:H/VA:H/SC:N/SI:N/SA:N", &s, &l, NULL), 0);
	assert_true(s < 0.0);
	assert_int_equal(l, SEV_UNKNOWN);
	assert_int_equal(cvss_score("CVSS:4.0/AV:N/AC:L", &s, &l, NULL), -1);
}

static void
test_cvss_rejects_hostile_vectors(void **state)
{
	static const char *const bad[] = {
		"",
		"CVSS:3.1/",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N",	/* no A */
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/",
		"CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"CVSS:3.1/AV:/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:\"x\"",
		"CVSS:9.9/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"AV:N/AC:L/Au:N/C:P/I:N",
		"garbage",
	};
	char		 big[1024];
	double		 s;
	enum sev_level	 l;
	const char	*why;
	size_t		 i;

	for (i = 0; i < TM_NELEM(bad); i++) {
		why = NULL;
		if (cvss_score(bad[i], &s, &l, &why) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(cvss_score(NULL, &s, &l, &why), -1);
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "CVSS:3.1/", 9);
	assert_int_equal(cvss_score(big, &s, &l, &why), -1);
}

static void
test_severity_names_parse_distro_words(void **state)
{
	assert_int_equal(sev_level_parse("Important"), SEV_HIGH);
	assert_int_equal(sev_level_parse("moderate"), SEV_MEDIUM);
	assert_int_equal(sev_level_parse("CRITICAL"), SEV_CRITICAL);
	assert_int_equal(sev_level_parse("negligible"), SEV_LOW);
	assert_int_equal(sev_level_parse("whatever"), SEV_UNKNOWN);
	assert_string_equal(sev_level_name(SEV_HIGH), "high");
	assert_string_equal(sev_level_name((enum sev_level)99), "unknown");
	assert_int_equal(cvss_level(8.9), SEV_HIGH);
	assert_int_equal(cvss_level(9.0), SEV_CRITICAL);
	assert_int_equal(cvss_level(3.9), SEV_LOW);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cvss31_first_examples),
		cmocka_unit_test(test_cvss30_vectors_score_like_31_on_first_examples),
		cmocka_unit_test(test_cvss31_temporal_metrics_do_not_change_the_base_score),
		cmocka_unit_test(test_cvss2_guide_examples),
		cmocka_unit_test(test_cvss4_is_validated_but_not_scored),
		cmocka_unit_test(test_cvss_rejects_hostile_vectors),
		cmocka_unit_test(test_severity_names_parse_distro_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
