# agent/: tallyman-agent.
sbin_PROGRAMS += agent/tallyman-agent
agent_tallyman_agent_SOURCES = \
	agent/agent.h \
	agent/main.c
agent_tallyman_agent_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RDKAFKA_CFLAGS) $(PROTOBUFC_CFLAGS) \
	$(ZSTD_CFLAGS) $(RPM_CFLAGS)
agent_tallyman_agent_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS) \
	$(PROTOBUFC_LIBS) $(RPM_LIBS)
