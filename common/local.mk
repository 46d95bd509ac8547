# common/: helpers shared by both programs, as a static convenience library.
noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/common.h \
	common/curl-uv.c \
	common/log.c \
	common/xmalloc.c \
	common/config.c \
	common/safefile.c \
	common/crc32c.c \
	common/sha256.c \
	common/zframe.c \
	common/cli.c
common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS) $(ZSTD_CFLAGS)
COMMON_LIBS = common/libcommon.a $(UV_LIBS) $(CURL_LIBS) $(ZSTD_LIBS)

# Unit tests of common/ (cmocka, TAP).
if HAVE_CMOCKA
COMMON_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
COMMON_TEST_LIBS = $(COMMON_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-config
TESTS += tests/unit/test-config
tests_unit_test_config_CFLAGS = $(COMMON_TEST_CFLAGS)
tests_unit_test_config_LDADD = $(COMMON_TEST_LIBS)
check_PROGRAMS += tests/unit/test-safefile
TESTS += tests/unit/test-safefile
tests_unit_test_safefile_CFLAGS = $(COMMON_TEST_CFLAGS)
tests_unit_test_safefile_LDADD = $(COMMON_TEST_LIBS)
check_PROGRAMS += tests/unit/test-crc32c tests/unit/test-sha256
TESTS += tests/unit/test-crc32c tests/unit/test-sha256
tests_unit_test_crc32c_CFLAGS = $(COMMON_TEST_CFLAGS)
tests_unit_test_crc32c_LDADD = $(COMMON_TEST_LIBS)
tests_unit_test_sha256_CFLAGS = $(COMMON_TEST_CFLAGS)
tests_unit_test_sha256_LDADD = $(COMMON_TEST_LIBS)
check_PROGRAMS += tests/unit/test-log
TESTS += tests/unit/test-log
tests_unit_test_log_CFLAGS = $(COMMON_TEST_CFLAGS)
tests_unit_test_log_LDADD = $(COMMON_TEST_LIBS)
check_PROGRAMS += tests/unit/test-zframe
TESTS += tests/unit/test-zframe
tests_unit_test_zframe_CFLAGS = $(COMMON_TEST_CFLAGS) $(ZSTD_CFLAGS)
tests_unit_test_zframe_LDADD = $(COMMON_TEST_LIBS)
# malloc is wrapped to measure the decoder's largest allocation.
tests_unit_test_zframe_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=malloc
check_PROGRAMS += tests/unit/test-cli
TESTS += tests/unit/test-cli
tests_unit_test_cli_CFLAGS = $(COMMON_TEST_CFLAGS)
tests_unit_test_cli_LDADD = $(COMMON_TEST_LIBS)
endif

# Both programs' command line (common/cli.c and the two mains).
TESTS += tests/integ/cli.sh
EXTRA_DIST += tests/integ/cli.sh

# curl-uv.c (helper `watch`): libcurl multi on the libuv loop.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-curl-uv
TESTS += tests/unit/test-curl-uv
tests_unit_test_curl_uv_SOURCES = tests/unit/test-curl-uv.c
tests_unit_test_curl_uv_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_curl_uv_LDADD = $(COMMON_LIBS) $(CMOCKA_LIBS)
endif
