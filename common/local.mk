# common/: helpers shared by both programs, as a static convenience library.
noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/common.h \
	common/curl-uv.c \
	common/log.c \
	common/xmalloc.c
common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS) $(ZSTD_CFLAGS)
COMMON_LIBS = common/libcommon.a $(UV_LIBS) $(CURL_LIBS) $(ZSTD_LIBS)

# curl-uv.c (helper `watch`): libcurl multi on the libuv loop.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-curl-uv
TESTS += tests/unit/test-curl-uv
tests_unit_test_curl_uv_SOURCES = tests/unit/test-curl-uv.c
tests_unit_test_curl_uv_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_curl_uv_LDADD = $(COMMON_LIBS) $(CMOCKA_LIBS)
endif
