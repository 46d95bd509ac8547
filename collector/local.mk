# collector/: tallyman-collector.
sbin_PROGRAMS += collector/tallyman-collector
collector_tallyman_collector_SOURCES = \
	collector/collector.h \
	collector/main.c
collector_tallyman_collector_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RDKAFKA_CFLAGS) $(SQLITE_CFLAGS) \
	$(MHD_CFLAGS) $(ZSTD_CFLAGS)
collector_tallyman_collector_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS) \
	$(SQLITE_LIBS) $(MHD_LIBS)
