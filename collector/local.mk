# collector/: tallyman-collector.
sbin_PROGRAMS += collector/tallyman-collector
collector_tallyman_collector_SOURCES = \
	collector/collector.h \
	collector/main.c \
	collector/config.c
collector_tallyman_collector_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RDKAFKA_CFLAGS) $(SQLITE_CFLAGS) \
	$(MHD_CFLAGS) $(ZSTD_CFLAGS)
collector_tallyman_collector_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS) \
	$(SQLITE_LIBS) $(MHD_LIBS)

# Version order, one file per ecosystem (collector/version*.c), and the
# compare-versions subcommand.  The tests compile the same sources.
COLLECTOR_VERSION_SOURCES = \
	collector/version.c \
	collector/version-dpkg.c \
	collector/version-rpm.c \
	collector/version-apk.c
collector_tallyman_collector_SOURCES += $(COLLECTOR_VERSION_SOURCES) \
	collector/cmd-compare-versions.c
VERSION_TEST_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
VERSION_TEST_SOURCES = $(COLLECTOR_VERSION_SOURCES) \
	tests/lib/version-gen.c tests/lib/version-gen.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-version-dpkg tests/unit/test-version-rpm \
	tests/unit/test-version-apk
TESTS += tests/unit/test-version-dpkg tests/unit/test-version-rpm \
	tests/unit/test-version-apk
tests_unit_test_version_dpkg_SOURCES = tests/unit/test-version-dpkg.c \
	$(VERSION_TEST_SOURCES)
tests_unit_test_version_dpkg_CFLAGS = $(VERSION_TEST_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_version_dpkg_LDADD = $(CMOCKA_LIBS)
tests_unit_test_version_rpm_SOURCES = tests/unit/test-version-rpm.c \
	$(VERSION_TEST_SOURCES)
tests_unit_test_version_rpm_CFLAGS = $(VERSION_TEST_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_version_rpm_LDADD = $(CMOCKA_LIBS)
tests_unit_test_version_apk_SOURCES = tests/unit/test-version-apk.c \
	$(VERSION_TEST_SOURCES)
tests_unit_test_version_apk_CFLAGS = $(VERSION_TEST_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_version_apk_LDADD = $(CMOCKA_LIBS)
endif
# Oracle: thousands of generated pairs against dpkg and rpm themselves.
check_PROGRAMS += tests/integ/version-pairs
tests_integ_version_pairs_SOURCES = tests/integ/version-pairs.c \
	$(VERSION_TEST_SOURCES)
tests_integ_version_pairs_CFLAGS = $(VERSION_TEST_CFLAGS)
TESTS += tests/integ/version-oracle.sh
EXTRA_DIST += tests/integ/version-oracle.sh
TESTS += tests/integ/compare-versions-cli.sh
EXTRA_DIST += tests/integ/compare-versions-cli.sh

# Configuration table (collector/config.c): unit test.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-collector-config
TESTS += tests/unit/test-collector-config
tests_unit_test_collector_config_SOURCES = tests/unit/test-collector-config.c \
	collector/config.c
tests_unit_test_collector_config_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) \
	$(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_collector_config_LDADD = $(COMMON_LIBS) $(CMOCKA_LIBS)
endif

# Correlation (issue 7): OSV feeds, ecosystem mapping, matching, CVSS,
# findings.  A convenience library so the tests link the same objects.
noinst_LIBRARIES += collector/libcorrelate.a
collector_libcorrelate_a_SOURCES = \
	collector/cvss.c \
	collector/osv.c \
	collector/osv-source.c \
	collector/osv-match.c \
	collector/ecosystem.c \
	collector/strmap.c \
	collector/cis.c \
	collector/findings.c \
	collector/correlate.c \
	collector/findings-feed.c \
	collector/kafka-conf.c \
	collector/findings-query.c \
	collector/correlate-run.c
collector_libcorrelate_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(ZIP_CFLAGS) $(RDKAFKA_CFLAGS) \
	$(SQLITE_CFLAGS)
CORRELATE_LIBS = collector/libcorrelate.a $(ZIP_LIBS) $(JANSSON_LIBS) \
	$(CURL_LIBS) $(RDKAFKA_LIBS) -lm
# After the program's own LDADD: the libraries libcorrelate needs again.
collector_tallyman_collector_SOURCES += collector/cmd-feeds.c

# Consume, store, serve (issue 6): `run` and `query`.
collector_tallyman_collector_SOURCES += \
	collector/store.h \
	collector/cmd-run.c \
	collector/cmd-query.c \
	collector/api.c \
	collector/embedded.c \
	$(COLLECTOR_STORE_SOURCES)
# The web page, embedded in the program (collector/web/embed.sh).
WEB_ASSETS = collector/web/index.html collector/web/app.js \
	collector/web/style.css
nodist_collector_tallyman_collector_SOURCES = collector/web-assets.c
collector/web-assets.c: $(WEB_ASSETS) collector/web/embed.sh
	$(AM_V_GEN)$(MKDIR_P) collector && $(SHELL) \
	    $(srcdir)/collector/web/embed.sh $@ \
	    /=$(srcdir)/collector/web/index.html=text/html \
	    /ui/app.js=$(srcdir)/collector/web/app.js=text/javascript \
	    /ui/style.css=$(srcdir)/collector/web/style.css=text/css
BUILT_SOURCES += collector/web-assets.c
CLEANFILES += collector/web-assets.c
EXTRA_DIST += $(WEB_ASSETS) collector/web/embed.sh
COLLECTOR_STORE_SOURCES = \
	collector/consume.c \
	collector/ledger.c \
	collector/record-json.c \
	collector/store.c \
	collector/store-procs.c \
	collector/store-sqlite.c \
	collector/store-sqlite-query.c \
	collector/store-sqlite-vfs.c
collector_tallyman_collector_LDADD += $(UV_LIBS) $(SQLITE_LIBS) $(MHD_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS) $(MSGPACK_LIBS)
collector_tallyman_collector_LDADD += $(CORRELATE_LIBS) $(SCHEMA_LIBS) \
	$(COMMON_LIBS)
CORRELATE_TEST_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RDKAFKA_CFLAGS) $(CMOCKA_CFLAGS)
CORRELATE_TEST_LIBS = $(CORRELATE_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS) \
	$(CMOCKA_LIBS)
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-cvss tests/unit/test-osv
TESTS += tests/unit/test-cvss tests/unit/test-osv
tests_unit_test_cvss_SOURCES = tests/unit/test-cvss.c
tests_unit_test_cvss_CFLAGS = $(CORRELATE_TEST_CFLAGS)
tests_unit_test_cvss_LDADD = $(CORRELATE_TEST_LIBS)
tests_unit_test_osv_SOURCES = tests/unit/test-osv.c $(COLLECTOR_VERSION_SOURCES)
tests_unit_test_osv_CFLAGS = $(CORRELATE_TEST_CFLAGS)
tests_unit_test_osv_LDADD = $(CORRELATE_TEST_LIBS)
endif
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-correlate
TESTS += tests/unit/test-correlate
tests_unit_test_correlate_SOURCES = tests/unit/test-correlate.c \
	$(COLLECTOR_VERSION_SOURCES)
tests_unit_test_correlate_CFLAGS = $(CORRELATE_TEST_CFLAGS)
tests_unit_test_correlate_LDADD = $(CORRELATE_TEST_LIBS)
endif
TESTS += tests/integ/osv-feeds.sh
EXTRA_DIST += tests/integ/osv-feeds.sh tests/lib/osv-http.py
# gen-scenario: records of a scenario written as lines, produced to Kafka.
check_PROGRAMS += tests/gen-scenario
tests_gen_scenario_SOURCES = tests/gen-scenario.c
tests_gen_scenario_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) \
	$(RDKAFKA_CFLAGS)
tests_gen_scenario_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS)
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-strmap
TESTS += tests/unit/test-strmap
tests_unit_test_strmap_SOURCES = tests/unit/test-strmap.c
tests_unit_test_strmap_CFLAGS = $(CORRELATE_TEST_CFLAGS)
tests_unit_test_strmap_LDADD = $(CORRELATE_TEST_LIBS)
endif
TESTS += tests/integ/findings-feed.sh
EXTRA_DIST += tests/integ/findings-feed.sh
# The chain with the real agent and dockerd: API, query tool, counts.
TESTS += tests/integ/collector-docker.sh
EXTRA_DIST += tests/integ/collector-docker.sh
# Findings from real containers: every CIS check, Heartbleed, the topic.
TESTS += tests/integ/findings-docker.sh
EXTRA_DIST += tests/integ/findings-docker.sh
# Consumer and API under hostile input, kill -9, two replicas (issue 6).
TESTS += tests/integ/collector-hostile.sh
EXTRA_DIST += tests/integ/collector-hostile.sh tests/lib/collector.sh \
	tests/lib/hostile-records.py
TESTS += tests/integ/collector-kill.sh tests/integ/collector-epochs.sh \
	tests/integ/collector-stop.sh tests/integ/collector-store-busy.sh \
	tests/integ/collector-findings-store.sh
EXTRA_DIST += tests/integ/collector-kill.sh tests/integ/collector-epochs.sh \
	tests/integ/collector-stop.sh tests/integ/collector-store-busy.sh \
	tests/integ/collector-findings-store.sh
# The web page in headless Chromium (Debian's chromium).
TESTS += tests/integ/web-page.sh
EXTRA_DIST += tests/integ/web-page.sh
TESTS += tests/integ/collector-replicas.sh
EXTRA_DIST += tests/integ/collector-replicas.sh
# The store (store-sqlite*.c) with records built in C, and api_parse_time:
# the program's store, consumer and API objects, without main.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-store
TESTS += tests/unit/test-store
tests_unit_test_store_SOURCES = tests/unit/test-store.c \
	$(COLLECTOR_STORE_SOURCES) collector/api.c $(COLLECTOR_VERSION_SOURCES)
nodist_tests_unit_test_store_SOURCES = collector/web-assets.c
tests_unit_test_store_CFLAGS = $(collector_tallyman_collector_CFLAGS) \
	$(CMOCKA_CFLAGS)
tests_unit_test_store_LDADD = $(UV_LIBS) $(SQLITE_LIBS) $(MHD_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS) $(MSGPACK_LIBS) $(CORRELATE_LIBS) \
	$(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS) $(CMOCKA_LIBS)
endif
