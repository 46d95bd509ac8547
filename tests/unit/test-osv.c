/*
 * test-osv.c: OSV records parsed from hostile JSON, loaded from folders and
 * zip archives, ecosystems mapped from os-release, and packages matched with
 * each distribution's own version order and package keying.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zip.h>

#include "collector/collector.h"

/* An OSV record with one affected package and one ECOSYSTEM range. */
static char *
record(const char *id, const char *eco, const char *name, const char *events)
{
	char	*s = NULL;

	xasprintf(&s, "{\"id\":\"%s\",\"modified\":\"2024-01-01T00:00:00Z\","
	    "\"aliases\":[\"CVE-%s\"],"
	    "\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
	    "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N\"}],"
	    "\"affected\":[{\"package\":{\"ecosystem\":\"%s\",\"name\":\"%s\"},"
	    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[%s]}]}]}",
	    id, id, eco, name, events);
	return s;
}

static struct osv_db *
db_of(const char *const *recs, size_t n)
{
	struct osv_db	*db = osv_db_new();
	char		 err[256];
	size_t		 i;

	for (i = 0; i < n; i++)
		assert_int_equal(osv_db_parse(db, recs[i], strlen(recs[i]),
		    "test", err, sizeof err), 1);
	osv_db_finish(db);
	return db;
}

struct hits {
	size_t	 n;
	char	 id[8][64];
	char	 fixed[8][64];
	char	 name[8][64];
};

static int
collect(const struct osv_match *m, void *arg)
{
	struct hits *h = arg;

	if (h->n < 8) {
		snprintf(h->id[h->n], 64, "%s", m->vuln->id);
		snprintf(h->fixed[h->n], 64, "%s", m->fixed ? m->fixed : "");
		snprintf(h->name[h->n], 64, "%s", m->name);
	}
	h->n++;
	return 0;
}

static size_t
match(const struct osv_db *db, const char *os, const char *osv,
    const char *pretty, const char *eco, const char *name,
    const char *version, const char *sname, const char *sver,
    struct hits *h)
{
	struct eco_target	t;
	struct tm_package	p;

	memset(h, 0, sizeof *h);
	memset(&p, 0, sizeof p);
	assert_int_equal(ecosystem_map(os, osv, pretty, &t), 0);
	p.ecosystem = (char *)(uintptr_t)eco;
	p.name = (char *)(uintptr_t)name;
	p.version = (char *)(uintptr_t)version;
	p.source_name = (char *)(uintptr_t)sname;
	p.source_version = (char *)(uintptr_t)sver;
	assert_true(osv_match_package(db, &t, &p, collect, h) >= 0);
	return h->n;
}

static void
test_heartbleed_debian_binary_matched_via_source_package(void **state)
{
	char		*r = record("DSA-2896-1", "Debian:7", "openssl",
	    "{\"introduced\":\"0\"},{\"fixed\":\"1.0.1e-2+deb7u5\"}");
	const char	*recs[] = { r };
	struct osv_db	*db = db_of(recs, 1);
	struct hits	 h;

	/* libssl1.0.0 is built from openssl: the advisory names openssl. */
	assert_int_equal(match(db, "debian", "7", NULL, "dpkg", "libssl1.0.0",
	    "1.0.1e-2+deb7u4", "openssl", "1.0.1e-2+deb7u4", &h), 1);
	assert_string_equal(h.id[0], "DSA-2896-1");
	assert_string_equal(h.fixed[0], "1.0.1e-2+deb7u5");
	assert_string_equal(h.name[0], "openssl");
	/* The fixed backport: +deb7u5 is not older than the fix. */
	assert_int_equal(match(db, "debian", "7", NULL, "dpkg", "libssl1.0.0",
	    "1.0.1e-2+deb7u5", "openssl", "1.0.1e-2+deb7u5", &h), 0);
	/* Upstream 1.0.1g is newer than 1.0.1e-2+deb7u5 in dpkg order. */
	assert_int_equal(match(db, "debian", "7", NULL, "dpkg", "openssl",
	    "1.0.1g-1", NULL, NULL, &h), 0);
	/* Another release's advisory does not apply to Debian 12. */
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "openssl",
	    "1.0.1e-2+deb7u4", NULL, NULL, &h), 0);
	/* Binary name alone (no Source field in dpkg status) = source. */
	assert_int_equal(match(db, "debian", "7", NULL, "dpkg", "openssl",
	    "1.0.1e-2+deb7u4", NULL, NULL, &h), 1);
	/* A binNMU binary version with the source version. */
	assert_int_equal(match(db, "debian", "7", NULL, "dpkg", "libssl1.0.0",
	    "1.0.1e-2+deb7u5+b1", "openssl", "1.0.1e-2+deb7u5", &h), 0);
	/* An rpm package on a Debian image is not matched. */
	assert_int_equal(match(db, "debian", "7", NULL, "rpm", "openssl",
	    "1.0.1e-2", NULL, NULL, &h), 0);
	osv_db_free(db);
	free(r);
}

static void
test_rpm_epoch_decides_before_the_version(void **state)
{
	char		*r1 = record("RLSA-2024:1", "Rocky Linux:9", "openssl",
	    "{\"introduced\":\"0\"},{\"fixed\":\"1:3.0.7-24.el9\"}");
	char		*r2 = record("RLSA-2024:2", "Rocky Linux:9", "shadow-utils",
	    "{\"introduced\":\"0\"},{\"fixed\":\"4.9-8.el9\"}");
	const char	*recs[] = { r1, r2 };
	struct osv_db	*db = db_of(recs, 2);
	struct hits	 h;

	assert_int_equal(match(db, "rocky", "9.3", NULL, "rpm", "openssl-libs",
	    "1:3.0.7-18.el9", "openssl", "1:3.0.7-18.el9", &h), 1);
	assert_string_equal(h.fixed[0], "1:3.0.7-24.el9");
	/* Epoch 0 (none) is older than 1:anything, whatever the version. */
	assert_int_equal(match(db, "rocky", "9.3", NULL, "rpm", "openssl-libs",
	    "3.9.9-99.el9", "openssl", "3.9.9-99.el9", &h), 1);
	assert_int_equal(match(db, "rocky", "9.3", NULL, "rpm", "openssl-libs",
	    "1:3.0.7-25.el9", "openssl", "1:3.0.7-25.el9", &h), 0);
	/* 2:4.6 has a higher epoch than the fix's 0: not affected. */
	assert_int_equal(match(db, "rocky", "9.3", NULL, "rpm", "shadow-utils",
	    "2:4.6-1.el9", "shadow-utils", "2:4.6-1.el9", &h), 0);
	assert_int_equal(match(db, "rocky", "9.3", NULL, "rpm", "shadow-utils",
	    "4.6-1.el9", "shadow-utils", "4.6-1.el9", &h), 1);
	osv_db_free(db);
	free(r1);
	free(r2);
}

static void
test_alpine_release_numbers_compare_as_numbers(void **state)
{
	char		*r = record("ALPINE-1", "Alpine:v3.19", "openssl",
	    "{\"introduced\":\"0\"},{\"fixed\":\"3.1.4-r9\"}");
	const char	*recs[] = { r };
	struct osv_db	*db = db_of(recs, 1);
	struct hits	 h;

	assert_int_equal(match(db, "alpine", "3.19.1", NULL, "apk", "libcrypto3",
	    "3.1.4-r5", "openssl", NULL, &h), 1);
	assert_string_equal(h.fixed[0], "3.1.4-r9");
	/* -r10 is after -r9 (a string comparison would say before). */
	assert_int_equal(match(db, "alpine", "3.19.1", NULL, "apk", "libcrypto3",
	    "3.1.4-r10", "openssl", NULL, &h), 0);
	assert_int_equal(match(db, "alpine", "3.19.1", NULL, "apk", "libcrypto3",
	    "3.1.4-r9", "openssl", NULL, &h), 0);
	/* Alpine 3.18 images do not take 3.19's advisories. */
	assert_int_equal(match(db, "alpine", "3.18.4", NULL, "apk", "libcrypto3",
	    "3.1.4-r5", "openssl", NULL, &h), 0);
	osv_db_free(db);
	free(r);
}

static void
test_last_affected_and_explicit_versions(void **state)
{
	char		*r1 = record("X-1", "Debian:12", "zlib",
	    "{\"introduced\":\"1:1.2.11-1\"},{\"last_affected\":\"1:1.2.13-1\"}");
	const char	*r2 = "{\"id\":\"X-2\",\"modified\":\"2024-01-01T00:00:00Z\","
	    "\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
	    "\"name\":\"curl\"},\"versions\":[\"7.88.1-10\"]}]}";
	const char	*recs[] = { r1, r2 };
	struct osv_db	*db = db_of(recs, 2);
	struct hits	 h;

	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "zlib1g",
	    "1:1.2.13-1", "zlib", NULL, &h), 1);
	assert_string_equal(h.fixed[0], "");	/* no fix known */
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "zlib1g",
	    "1:1.2.13-2", "zlib", NULL, &h), 0);
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "zlib1g",
	    "1:1.2.10-1", "zlib", NULL, &h), 0);
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "libcurl4",
	    "7.88.1-10", "curl", NULL, &h), 1);
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "libcurl4",
	    "7.88.1-10+deb12u1", "curl", NULL, &h), 0);
	osv_db_free(db);
	free(r1);
}

static void
test_reintroduced_ranges_follow_the_sorted_events(void **state)
{
	/* Events out of order on purpose: the spec sorts them. */
	char		*r = record("X-3", "Debian:12", "pkg",
	    "{\"fixed\":\"3.0-1\"},{\"introduced\":\"2.0-1\"},"
	    "{\"fixed\":\"1.5-1\"},{\"introduced\":\"0\"}");
	const char	*recs[] = { r };
	struct osv_db	*db = db_of(recs, 1);
	struct hits	 h;

	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "pkg", "1.0-1",
	    NULL, NULL, &h), 1);
	assert_string_equal(h.fixed[0], "1.5-1");
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "pkg", "1.7-1",
	    NULL, NULL, &h), 0);
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "pkg", "2.5-1",
	    NULL, NULL, &h), 1);
	assert_string_equal(h.fixed[0], "3.0-1");
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "pkg", "3.0-1",
	    NULL, NULL, &h), 0);
	osv_db_free(db);
	free(r);
}

static void
test_ubuntu_pro_fixes_apply_to_esm_packages_only(void **state)
{
	char		*r1 = record("U-1", "Ubuntu:22.04:LTS", "openssl",
	    "{\"introduced\":\"0\"},{\"fixed\":\"3.0.2-0ubuntu1.10\"}");
	char		*r2 = record("U-2", "Ubuntu:Pro:22.04:LTS", "openssl",
	    "{\"introduced\":\"0\"},{\"fixed\":\"3.0.2-0ubuntu1.10+esm2\"}");
	const char	*recs[] = { r1, r2 };
	struct osv_db	*db = db_of(recs, 2);
	struct hits	 h;

	assert_int_equal(match(db, "ubuntu", "22.04", NULL, "dpkg", "libssl3",
	    "3.0.2-0ubuntu1.12", "openssl", NULL, &h), 0);
	assert_int_equal(match(db, "ubuntu", "22.04", NULL, "dpkg", "libssl3",
	    "3.0.2-0ubuntu1.10+esm1", "openssl", NULL, &h), 1);
	assert_string_equal(h.id[0], "U-2");
	assert_int_equal(match(db, "ubuntu", "22.04", NULL, "dpkg", "libssl3",
	    "3.0.2-0ubuntu1.9", "openssl", NULL, &h), 1);
	assert_string_equal(h.id[0], "U-1");
	osv_db_free(db);
	free(r1);
	free(r2);
}

static void
test_red_hat_streams_and_binary_names(void **state)
{
	char		*r = record("RHSA-2024:1", "Red Hat:enterprise_linux:9::appstream",
	    "openssl-libs", "{\"introduced\":\"0\"},{\"fixed\":\"1:3.0.7-27.el9\"}");
	const char	*recs[] = { r };
	struct osv_db	*db = db_of(recs, 1);
	struct hits	 h;

	assert_int_equal(match(db, "rhel", "9.4", NULL, "rpm", "openssl-libs",
	    "1:3.0.7-25.el9", "openssl", "1:3.0.7-25.el9", &h), 1);
	assert_int_equal(match(db, "rhel", "8.9", NULL, "rpm", "openssl-libs",
	    "1:3.0.7-25.el9", "openssl", NULL, &h), 0);
	osv_db_free(db);
	free(r);
}

static void
test_ecosystem_names_from_os_release(void **state)
{
	static const struct {
		const char *id, *vid, *pretty, *eco, *unscoped, *pro;
	} ex[] = {
		{ "debian", "12", NULL, "Debian:12", "Debian", "" },
		{ "debian", NULL, NULL, "Debian", "", "" },
		{ "ubuntu", "22.04", NULL, "Ubuntu:22.04:LTS", "",
		  "Ubuntu:Pro:22.04:LTS" },
		{ "ubuntu", "23.10", NULL, "Ubuntu:23.10", "", "Ubuntu:Pro:23.10" },
		{ "ubuntu", "21.04", NULL, "Ubuntu:21.04", "", "Ubuntu:Pro:21.04" },
		{ "alpine", "3.19.1", NULL, "Alpine:v3.19", "", "" },
		{ "rocky", "9.3", NULL, "Rocky Linux:9", "Rocky Linux", "" },
		{ "almalinux", "8.10", NULL, "AlmaLinux:8", "AlmaLinux", "" },
		{ "rhel", "9.4", NULL, "Red Hat:enterprise_linux:9", "", "" },
		{ "sles", "15.5", "SUSE Linux Enterprise Server 15 SP5",
		  "SUSE:SUSE Linux Enterprise Server 15 SP5", "", "" },
		{ "opensuse-leap", "15.5", "openSUSE Leap 15.5",
		  "openSUSE:openSUSE Leap 15.5", "", "" },
		{ "photon", "5.0", NULL, "Photon OS:5.0", "", "" },
		{ "mageia", "9", NULL, "Mageia:9", "", "" },
		{ "wolfi", "20230201", NULL, "Wolfi", "", "" },
		{ "chainguard", NULL, NULL, "Chainguard", "", "" },
	};
	struct eco_target	t;
	size_t			i;

	for (i = 0; i < TM_NELEM(ex); i++) {
		if (ecosystem_map(ex[i].id, ex[i].vid, ex[i].pretty, &t) != 0)
			fail_msg("%s %s not mapped", ex[i].id, ex[i].vid);
		assert_string_equal(t.eco, ex[i].eco);
		assert_string_equal(t.unscoped, ex[i].unscoped);
		assert_string_equal(t.pro, ex[i].pro);
	}
	assert_int_equal(ecosystem_map("debian", "12", NULL, &t), 0);
	assert_string_equal(t.scheme->name, "dpkg");
	assert_int_equal(ecosystem_map("alpine", "3.19", NULL, &t), 0);
	assert_string_equal(t.scheme->name, "apk");
	assert_int_equal(ecosystem_map("rocky", "9", NULL, &t), 0);
	assert_string_equal(t.scheme->name, "rpm");
	/* Unknown or unreadable: no ecosystem, no false positives. */
	assert_int_equal(ecosystem_map("haiku", "1", NULL, &t), -1);
	assert_int_equal(ecosystem_map(NULL, "1", NULL, &t), -1);
	assert_int_equal(ecosystem_map("alpine", "edge", NULL, &t), -1);
	assert_int_equal(ecosystem_map("ubuntu", "22.04.1x", NULL, &t), -1);
	assert_int_equal(ecosystem_map("debian", "12; DROP", NULL, &t), -1);
	assert_int_equal(ecosystem_map("sles", "15", NULL, &t), -1);
}

static void
test_hostile_json_is_rejected_and_counted(void **state)
{
	static const char *const bad[] = {
		"",
		"nul",
		"{",
		"[1, 2",
		"\"a string\"",
		"{\"modified\":\"x\"}",				/* no id */
		"{\"id\":5,\"modified\":\"x\"}",		/* id not a string */
		"{\"id\":\"\",\"modified\":\"x\"}",		/* empty id */
		"{\"id\":\"A\",\"modified\":\"x\",\"affected\":{}}",
		"{\"id\":\"A\",\"modified\":\"x\",\"affected\":[{\"package\":"
		    "{\"ecosystem\":\"Debian:12\"}}]}",		/* no name */
		"{\"id\":\"A\",\"modified\":\"x\",\"affected\":[{\"package\":"
		    "{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},\"ranges\":"
		    "[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\","
		    "\"fixed\":\"1\"}]}]}]}",			/* two in one event */
		"{\"id\":\"A\",\"modified\":\"x\",\"affected\":[{\"package\":"
		    "{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},\"ranges\":"
		    "[{\"type\":\"ECOSYSTEM\",\"events\":[]}]}]}",	/* no events */
		"{\"id\":\"A\",\"modified\":\"x\",\"affected\":[{\"package\":"
		    "{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},\"ranges\":"
		    "[{\"type\":\"ECOSYSTEM\",\"events\":[{\"fixed\":7}]}]}]}",
		"{\"id\":\"A\",\"modified\":\"x\",\"aliases\":[1]}",
		"{\"id\":\"A\\u0000B\",\"modified\":\"x\"}",	/* NUL inside */
	};
	struct osv_db		*db = osv_db_new();
	struct osv_db_stats	 st;
	char			 err[256], *deep, *big;
	size_t			 i, n;

	for (i = 0; i < TM_NELEM(bad); i++) {
		err[0] = '\0';
		if (osv_db_parse(db, bad[i], strlen(bad[i]), "hostile", err,
		    sizeof err) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* Deep nesting: jansson's own depth limit, never a crash. */
	n = 100000;
	deep = xmalloc(2 * n + 1);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	assert_int_equal(osv_db_parse(db, deep, 2 * n, "deep", err, sizeof err),
	    -1);
	/* An array of non-records: each refused, nothing added. */
	assert_int_equal(osv_db_parse(db, "[1,[],{}]", 9, "arr", err,
	    sizeof err), 0);
	free(deep);
	/* A huge string id is refused by its bound. */
	big = xmalloc(100000);
	memset(big, 'x', 99999);
	big[99999] = '\0';
	{
		char *rec = NULL;

		xasprintf(&rec, "{\"id\":\"%s\",\"modified\":\"x\"}", big);
		assert_int_equal(osv_db_parse(db, rec, strlen(rec), "big", err,
		    sizeof err), -1);
		free(rec);
	}
	free(big);
	osv_db_finish(db);
	osv_db_stats(db, &st);
	assert_true(st.rejected >= TM_NELEM(bad) + 1);
	assert_int_equal(st.live, 0);
	osv_db_free(db);
}

static void
test_withdrawn_and_duplicate_records(void **state)
{
	const char *recs[] = {
		"{\"id\":\"W-1\",\"modified\":\"2024-01-01T00:00:00Z\","
		"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
		"\"name\":\"a\"},\"versions\":[\"1.0-1\"]}]}",
		"{\"id\":\"W-1\",\"modified\":\"2024-02-01T00:00:00Z\","
		"\"withdrawn\":\"2024-02-01T00:00:00Z\"}",
		"{\"id\":\"D-1\",\"modified\":\"2024-01-01T00:00:00Z\","
		"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
		"\"name\":\"a\"},\"versions\":[\"1.0-1\"]}]}",
		"{\"id\":\"D-1\",\"modified\":\"2024-03-01T00:00:00Z\","
		"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
		"\"name\":\"a\"},\"versions\":[\"2.0-1\"]}]}",
	};
	struct osv_db		*db = db_of(recs, TM_NELEM(recs));
	struct osv_db_stats	 st;
	struct hits		 h;
	char			 d1[65];

	assert_true(osv_db_is_withdrawn(db, "W-1"));
	assert_null(osv_db_find(db, "W-1"));
	assert_non_null(osv_db_find(db, "D-1"));
	assert_string_equal(osv_db_find(db, "D-1")->modified,
	    "2024-03-01T00:00:00Z");
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "a", "1.0-1",
	    NULL, NULL, &h), 0);
	assert_int_equal(match(db, "debian", "12", NULL, "dpkg", "a", "2.0-1",
	    NULL, NULL, &h), 1);
	assert_string_equal(h.id[0], "D-1");
	osv_db_stats(db, &st);
	assert_int_equal(st.live, 1);
	assert_int_equal(st.withdrawn, 1);
	assert_int_equal(st.duplicates, 1);
	snprintf(d1, sizeof d1, "%s", osv_db_digest(db));
	osv_db_free(db);
	/* Same records in another order: same digest; one less: another. */
	{
		const char *rev[] = { recs[3], recs[2], recs[1], recs[0] };

		db = db_of(rev, 4);
		assert_string_equal(osv_db_digest(db), d1);
		osv_db_free(db);
		db = db_of(recs, 3);
		assert_string_not_equal(osv_db_digest(db), d1);
		osv_db_free(db);
	}
}

static void
test_severity_from_cvss_and_named_levels(void **state)
{
	const char *recs[] = {
		"{\"id\":\"S-1\",\"modified\":\"x\",\"severity\":["
		"{\"type\":\"CVSS_V2\",\"score\":\"AV:N/AC:L/Au:N/C:P/I:N/A:N\"},"
		"{\"type\":\"CVSS_V3\",\"score\":"
		"\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]}",
		"{\"id\":\"S-2\",\"modified\":\"x\",\"severity\":["
		"{\"type\":\"Ubuntu\",\"score\":\"medium\"}]}",
		"{\"id\":\"S-3\",\"modified\":\"x\","
		"\"database_specific\":{\"severity\":\"Important\"}}",
		"{\"id\":\"S-4\",\"modified\":\"x\",\"severity\":["
		"{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:Q\"}]}",
		"{\"id\":\"S-5\",\"modified\":\"x\",\"affected\":[{"
		"\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"a\"},"
		"\"ecosystem_specific\":{\"urgency\":\"unimportant\"}}]}",
	};
	struct osv_db *db = db_of(recs, TM_NELEM(recs));

	assert_true(osv_db_find(db, "S-1")->score > 9.7);
	assert_int_equal(osv_db_find(db, "S-1")->level, SEV_CRITICAL);
	assert_string_equal(osv_db_find(db, "S-1")->vector,
	    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	assert_int_equal(osv_db_find(db, "S-2")->level, SEV_MEDIUM);
	assert_int_equal(osv_db_find(db, "S-3")->level, SEV_HIGH);
	assert_int_equal(osv_db_find(db, "S-4")->level, SEV_UNKNOWN);
	assert_true(osv_db_find(db, "S-4")->bad_severity);
	assert_int_equal(osv_db_find(db, "S-5")->level, SEV_LOW);
	osv_db_free(db);
}

/* A temporary folder with files, or a zip holding them. */
static char *
tmpdir(void)
{
	char *d = xstrdup("/tmp/tm-correlate-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_folder_and_zip_sources_load_every_json(void **state)
{
	char			*d = tmpdir(), *p = NULL, *z = NULL, *sub = NULL;
	char			*r1 = record("F-1", "Debian:12", "a",
	    "{\"introduced\":\"0\"}");
	char			*r2 = record("F-2", "Debian:12", "b",
	    "{\"introduced\":\"0\"}");
	struct osv_feeds	 f;
	struct osv_load_stats	 ls;
	struct osv_db		*db;
	zip_t			*za;
	int			 zerr;
	char			*items[2];

	xasprintf(&sub, "%s/feed", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	xasprintf(&sub, "%s/feed/sub", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	xasprintf(&p, "%s/feed/one.json", d);
	write_file(p, r1);
	free(p);
	xasprintf(&p, "%s/feed/sub/two.json", d);
	write_file(p, r2);
	free(p);
	xasprintf(&p, "%s/feed/sub/notes.txt", d);
	write_file(p, "not a record");
	free(p);
	xasprintf(&p, "%s/feed/bad.json", d);
	write_file(p, "{broken");
	free(p);
	xasprintf(&p, "%s/feed/link.json", d);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);

	memset(&f, 0, sizeof f);
	xasprintf(&items[0], "%s/feed", d);
	f.items = items;
	f.nitems = 1;
	f.cache_dir = d;
	db = osv_feeds_load(&f, &ls);
	assert_non_null(osv_db_find(db, "F-1"));
	assert_non_null(osv_db_find(db, "F-2"));
	assert_int_equal(ls.files, 3);		/* one, two, bad */
	assert_int_equal(ls.bad_files, 1);
	osv_db_free(db);

	/* The same two records in a zip archive (OSV's all.zip). */
	xasprintf(&z, "%s/all.zip", d);
	za = zip_open(z, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	assert_non_null(za);
	assert_true(zip_file_add(za, "F-1.json",
	    zip_source_buffer(za, r1, strlen(r1), 0), 0) >= 0);
	assert_true(zip_file_add(za, "F-2.json",
	    zip_source_buffer(za, r2, strlen(r2), 0), 0) >= 0);
	assert_true(zip_file_add(za, "README",
	    zip_source_buffer(za, "x", 1, 0), 0) >= 0);
	assert_int_equal(zip_close(za), 0);
	items[1] = z;
	f.items = items + 1;
	db = osv_feeds_load(&f, &ls);
	assert_non_null(osv_db_find(db, "F-1"));
	assert_non_null(osv_db_find(db, "F-2"));
	assert_int_equal(ls.files, 2);
	assert_int_equal(ls.failed_items, 0);
	osv_db_free(db);

	/* A file that claims to be a zip but is not: counted, no crash. */
	write_file(z, "PK\3\4 and then nonsense");
	db = osv_feeds_load(&f, &ls);
	assert_int_equal(ls.failed_items, 1);
	osv_db_free(db);

	free(items[0]);
	free(z);
	free(r1);
	free(r2);
	{
		char *cmd = NULL;

		xasprintf(&cmd, "rm -rf '%s'", d);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	free(sub);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbleed_debian_binary_matched_via_source_package),
		cmocka_unit_test(test_rpm_epoch_decides_before_the_version),
		cmocka_unit_test(test_alpine_release_numbers_compare_as_numbers),
		cmocka_unit_test(test_last_affected_and_explicit_versions),
		cmocka_unit_test(test_reintroduced_ranges_follow_the_sorted_events),
		cmocka_unit_test(test_ubuntu_pro_fixes_apply_to_esm_packages_only),
		cmocka_unit_test(test_red_hat_streams_and_binary_names),
		cmocka_unit_test(test_ecosystem_names_from_os_release),
		cmocka_unit_test(test_hostile_json_is_rejected_and_counted),
		cmocka_unit_test(test_withdrawn_and_duplicate_records),
		cmocka_unit_test(test_severity_from_cvss_and_named_levels),
		cmocka_unit_test(test_folder_and_zip_sources_load_every_json),
	};

	log_init("test-osv", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
