# agent/: tallyman-agent.
sbin_PROGRAMS += agent/tallyman-agent
agent_tallyman_agent_SOURCES = \
	agent/agent.h \
	agent/main.c \
	agent/config.c
agent_tallyman_agent_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RDKAFKA_CFLAGS) $(PROTOBUFC_CFLAGS) \
	$(ZSTD_CFLAGS) $(RPM_CFLAGS)
agent_tallyman_agent_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS) \
	$(PROTOBUFC_LIBS) $(RPM_LIBS)

# Configuration table (agent/config.c): unit test.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-agent-config
TESTS += tests/unit/test-agent-config
tests_unit_test_agent_config_SOURCES = tests/unit/test-agent-config.c \
	agent/config.c
tests_unit_test_agent_config_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) \
	$(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_agent_config_LDADD = $(COMMON_LIBS) $(CMOCKA_LIBS)
endif
