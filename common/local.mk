# common/: helpers shared by both programs, as a static convenience library.
noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/common.h \
	common/log.c \
	common/xmalloc.c
common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS) $(ZSTD_CFLAGS)
COMMON_LIBS = common/libcommon.a $(UV_LIBS) $(CURL_LIBS) $(ZSTD_LIBS)
