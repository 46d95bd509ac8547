# tests/fuzz/: libFuzzer targets (issue 9), one per parser of untrusted
# input.  Built only by ./configure --enable-fuzzing CC=clang (FUZZ_CFLAGS
# then instruments every object); `make fuzz` runs each for FUZZ_SECONDS
# and prints its executions (tests/fuzz/run.sh, doc/fuzzing.md).  Seeds:
# tests/fuzz/corpus/<target>/.
FUZZ_SECONDS = 60
FUZZ_TARGETS =
FUZZ_LINK = $(AM_LDFLAGS) -fsanitize=fuzzer
FUZZ_HDRS = tests/fuzz/fuzz.h

if FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz-decode
tests_fuzz_fuzz_decode_SOURCES = tests/fuzz/fuzz-decode.c $(FUZZ_HDRS)
tests_fuzz_fuzz_decode_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_decode_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS)
tests_fuzz_fuzz_decode_LDFLAGS = $(FUZZ_LINK)

FUZZ_INVENTORY_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(RPM_CFLAGS)
FUZZ_INVENTORY_LIBS = $(INVENTORY_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz-dpkg tests/fuzz/fuzz-apk \
	tests/fuzz/fuzz-os-release tests/fuzz/fuzz-rpm-ndb
tests_fuzz_fuzz_dpkg_SOURCES = tests/fuzz/fuzz-dpkg.c $(FUZZ_HDRS)
tests_fuzz_fuzz_dpkg_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_dpkg_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_dpkg_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_apk_SOURCES = tests/fuzz/fuzz-apk.c $(FUZZ_HDRS)
tests_fuzz_fuzz_apk_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_apk_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_apk_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_os_release_SOURCES = tests/fuzz/fuzz-os-release.c $(FUZZ_HDRS)
tests_fuzz_fuzz_os_release_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_os_release_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_os_release_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rpm_ndb_SOURCES = tests/fuzz/fuzz-rpm-ndb.c \
	tests/fuzz/ndb.h $(FUZZ_HDRS)
tests_fuzz_fuzz_rpm_ndb_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_rpm_ndb_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_rpm_ndb_LDFLAGS = $(FUZZ_LINK)
if HAVE_RPM
FUZZ_TARGETS += tests/fuzz/fuzz-rpm-header
tests_fuzz_fuzz_rpm_header_SOURCES = tests/fuzz/fuzz-rpm-header.c \
	tests/fuzz/ndb.h $(FUZZ_HDRS)
tests_fuzz_fuzz_rpm_header_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_rpm_header_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_rpm_header_LDFLAGS = $(FUZZ_LINK)
endif

FUZZ_TARGETS += tests/fuzz/fuzz-version-dpkg tests/fuzz/fuzz-version-rpm \
	tests/fuzz/fuzz-version-apk
FUZZ_VERSION_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_version_dpkg_SOURCES = tests/fuzz/fuzz-version.c \
	$(COLLECTOR_VERSION_SOURCES) $(FUZZ_HDRS)
tests_fuzz_fuzz_version_dpkg_CFLAGS = $(FUZZ_VERSION_CFLAGS) -DFUZZ_SCHEME='"dpkg"'
tests_fuzz_fuzz_version_dpkg_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_version_dpkg_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_version_rpm_SOURCES = $(tests_fuzz_fuzz_version_dpkg_SOURCES)
tests_fuzz_fuzz_version_rpm_CFLAGS = $(FUZZ_VERSION_CFLAGS) -DFUZZ_SCHEME='"rpm"'
tests_fuzz_fuzz_version_rpm_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_version_rpm_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_version_apk_SOURCES = $(tests_fuzz_fuzz_version_dpkg_SOURCES)
tests_fuzz_fuzz_version_apk_CFLAGS = $(FUZZ_VERSION_CFLAGS) -DFUZZ_SCHEME='"apk"'
tests_fuzz_fuzz_version_apk_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_version_apk_LDFLAGS = $(FUZZ_LINK)

FUZZ_TARGETS += tests/fuzz/fuzz-osv
tests_fuzz_fuzz_osv_SOURCES = tests/fuzz/fuzz-osv.c \
	$(COLLECTOR_VERSION_SOURCES) $(FUZZ_HDRS)
tests_fuzz_fuzz_osv_CFLAGS = $(CORRELATE_TEST_CFLAGS)
tests_fuzz_fuzz_osv_LDADD = $(CORRELATE_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS)
tests_fuzz_fuzz_osv_LDFLAGS = $(FUZZ_LINK)

FUZZ_TARGETS += tests/fuzz/fuzz-config tests/fuzz/fuzz-zframe
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c agent/config.c \
	collector/config.c $(FUZZ_HDRS)
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_fuzz_fuzz_config_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_zframe_SOURCES = tests/fuzz/fuzz-zframe.c $(FUZZ_HDRS)
tests_fuzz_fuzz_zframe_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS)
tests_fuzz_fuzz_zframe_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_zframe_LDFLAGS = $(FUZZ_LINK)
endif

noinst_PROGRAMS += $(FUZZ_TARGETS)
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/corpus

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS='tests/fuzz/fuzz-dpkg ...']
fuzz: $(FUZZ_TARGETS)
if FUZZING
	@FUZZ_SECONDS='$(FUZZ_SECONDS)' $(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
	    $(top_srcdir)/tests/fuzz/corpus $(FUZZ_TARGETS)
else
	@echo "make fuzz: configure with --enable-fuzzing CC=clang (doc/fuzzing.md)" >&2; exit 1
endif
.PHONY: fuzz

# Every crash a fuzzer found, replayed in every build (cmocka).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-fuzz-regressions
TESTS += tests/unit/test-fuzz-regressions
tests_unit_test_fuzz_regressions_SOURCES = tests/unit/test-fuzz-regressions.c
tests_unit_test_fuzz_regressions_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(UV_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_fuzz_regressions_LDADD = $(INVENTORY_LIBS) $(SCHEMA_LIBS) \
	$(COMMON_LIBS) $(CMOCKA_LIBS)
endif
