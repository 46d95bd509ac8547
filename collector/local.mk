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
