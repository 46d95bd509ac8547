# agent/: tallyman-agent.
sbin_PROGRAMS += agent/tallyman-agent
agent_tallyman_agent_SOURCES = \
	agent/agent.h \
	agent/main.c \
	agent/config.c
agent_tallyman_agent_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RDKAFKA_CFLAGS) $(PROTOBUFC_CFLAGS) \
	$(ZSTD_CFLAGS) $(RPM_CFLAGS)
agent_tallyman_agent_LDADD = $(INVENTORY_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS) \
	$(PROTOBUFC_LIBS)

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

# Filesystem inventory (rootfs, parsers, cache, drift, scan), as a library so
# the unit tests link the same objects.
noinst_LIBRARIES += agent/libinventory.a
agent_libinventory_a_SOURCES = \
	agent/rootfs.c \
	agent/inventory.c \
	agent/inventory-json.c \
	agent/inventory-os.c \
	agent/inventory-dpkg.c \
	agent/inventory-apk.c \
	agent/inventory-rpm.c \
	agent/inventory-rpm-ndb.c \
	agent/inventory-cache.c \
	agent/inventory-layers.c \
	agent/drift.c \
	agent/cmd-scan.c \
	agent/scan-containerd.c
agent_libinventory_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(RPM_CFLAGS) $(PROTOBUFC_CFLAGS)
INVENTORY_LIBS = agent/libinventory.a $(JANSSON_LIBS) $(CURL_LIBS) -lpthread

# Inventory tests: cmocka unit tests and integration scripts.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-inventory
TESTS += tests/unit/test-inventory
tests_unit_test_inventory_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) \
	$(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_inventory_LDADD = $(INVENTORY_LIBS) $(OUTPUT_LIBS) $(SCHEMA_LIBS) \
	$(COMMON_LIBS) $(CMOCKA_LIBS)
endif
check_PROGRAMS += tests/integ/rpmdb-fixture
tests_integ_rpmdb_fixture_SOURCES = tests/integ/rpmdb-fixture.c
tests_integ_rpmdb_fixture_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
tests_integ_rpmdb_fixture_LDADD = $(SQLITE_LIBS)
check_PROGRAMS += tests/integ/inventory-cache-run
tests_integ_inventory_cache_run_SOURCES = tests/integ/inventory-cache-run.c \
	agent/config.c
tests_integ_inventory_cache_run_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) \
	$(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_integ_inventory_cache_run_LDADD = $(INVENTORY_LIBS) $(OUTPUT_LIBS) \
	$(SCHEMA_LIBS) $(COMMON_LIBS)
check_PROGRAMS += tests/integ/drift-run
tests_integ_drift_run_SOURCES = tests/integ/drift-run.c agent/config.c
tests_integ_drift_run_CFLAGS = $(tests_integ_inventory_cache_run_CFLAGS)
tests_integ_drift_run_LDADD = $(tests_integ_inventory_cache_run_LDADD)
INVENTORY_INTEG = \
	tests/integ/inventory-rpm.sh \
	tests/integ/inventory-dpkg.sh \
	tests/integ/inventory-hostile.sh \
	tests/integ/inventory-docker.sh \
	tests/integ/inventory-run.sh
TESTS += $(INVENTORY_INTEG)
EXTRA_DIST += $(INVENTORY_INTEG)

# Output: agent_emit, sequence, spool, Kafka producer, heartbeat, as a
# library so the unit tests and tests/agent-produce link the same objects.
noinst_LIBRARIES += agent/liboutput.a
agent_liboutput_a_SOURCES = \
	agent/output.c \
	agent/seq.c \
	agent/spool.c \
	agent/publish.c \
	agent/heartbeat.c
agent_liboutput_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(RDKAFKA_CFLAGS) $(ZSTD_CFLAGS)
OUTPUT_LIBS = agent/liboutput.a schema/libschema.a $(RDKAFKA_LIBS) $(JANSSON_LIBS) \
	$(MSGPACK_LIBS)
agent_tallyman_agent_LDADD += $(OUTPUT_LIBS)

# Output tests: spool and sequence (cmocka), the produce aid for the
# integration scripts and the benchmark.
if HAVE_CMOCKA
OUTPUT_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) \
	$(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(RDKAFKA_CFLAGS)
check_PROGRAMS += tests/unit/test-seq tests/unit/test-spool
TESTS += tests/unit/test-seq tests/unit/test-spool
tests_unit_test_seq_CFLAGS = $(OUTPUT_TEST_CFLAGS)
tests_unit_test_seq_LDADD = $(OUTPUT_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)
tests_unit_test_spool_CFLAGS = $(OUTPUT_TEST_CFLAGS)
tests_unit_test_spool_LDADD = $(OUTPUT_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-publish
TESTS += tests/unit/test-publish
tests_unit_test_publish_CFLAGS = $(OUTPUT_TEST_CFLAGS)
tests_unit_test_publish_LDADD = $(OUTPUT_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)
endif

# agent-produce: the output stack with synthetic records, for the transport
# integration tests and bench/produce.sh (not installed).
check_PROGRAMS += tests/agent-produce
tests_agent_produce_SOURCES = tests/agent-produce.c agent/config.c
tests_agent_produce_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(RDKAFKA_CFLAGS)
tests_agent_produce_LDADD = $(OUTPUT_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS)
OUTPUT_INTEG = \
	tests/integ/decode-json.sh \
	tests/integ/spool-torn.sh \
	tests/integ/spool-bound.sh \
	tests/integ/agent-kill.sh \
	tests/integ/kafka-outage.sh \
	tests/integ/kafka-outage-containers.sh \
	tests/integ/agent-kill-run.sh
TESTS += $(OUTPUT_INTEG)
EXTRA_DIST += \
	tests/lib/transport.sh \
	$(OUTPUT_INTEG) \
	bench/produce.sh

# Watchers, registry, snapshot (issue 3), as a library so the unit tests link
# the same objects.  containerd's messages come from our own minimal .proto,
# compiled with protoc-c at build time.
noinst_LIBRARIES += agent/libwatch.a
nodist_agent_libwatch_a_SOURCES = \
	agent/proto/containerd.pb-c.c \
	agent/proto/containerd.pb-c.h
agent_libwatch_a_SOURCES = \
	agent/cmd-run.c \
	agent/cmd-snapshot.c \
	agent/containers.c \
	agent/ctr-name.c \
	agent/grpc.c \
	agent/host.c \
	agent/inspect-docker.c \
	agent/proc.c \
	agent/risks.c \
	agent/snapshot.c \
	agent/spec-oci.c \
	agent/watch.c \
	agent/watch-containerd.c \
	agent/watch-docker.c
agent_libwatch_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(PROTOBUFC_CFLAGS)
WATCH_LIBS = agent/libwatch.a $(PROTOBUFC_LIBS) $(JANSSON_LIBS) $(CURL_LIBS)
agent_tallyman_agent_LDADD += $(WATCH_LIBS) $(OUTPUT_LIBS) $(INVENTORY_LIBS) \
	$(SCHEMA_LIBS) $(COMMON_LIBS)
BUILT_SOURCES += agent/proto/containerd.pb-c.c agent/proto/containerd.pb-c.h
CLEANFILES += agent/proto/containerd.pb-c.c agent/proto/containerd.pb-c.h
EXTRA_DIST += agent/proto/containerd.proto
agent/proto/containerd.pb-c.c agent/proto/containerd.pb-c.h: $(srcdir)/agent/proto/containerd.proto
	$(AM_V_GEN)$(MKDIR_P) agent/proto && \
	$(PROTOC_C) --c_out=agent/proto -I$(srcdir)/agent/proto \
	    $(srcdir)/agent/proto/containerd.proto

if HAVE_CMOCKA
WATCH_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) \
	$(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(PROTOBUFC_CFLAGS)
WATCH_TEST_LIBS = $(WATCH_LIBS) $(OUTPUT_LIBS) $(INVENTORY_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS) \
	$(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test-proc
TESTS += tests/unit/test-proc
tests_unit_test_proc_CFLAGS = $(WATCH_TEST_CFLAGS)
tests_unit_test_proc_LDADD = $(WATCH_TEST_LIBS)
endif
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-grpc
TESTS += tests/unit/test-grpc
tests_unit_test_grpc_CFLAGS = $(WATCH_TEST_CFLAGS)
tests_unit_test_grpc_LDADD = $(WATCH_TEST_LIBS)
endif
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-risks
TESTS += tests/unit/test-risks
tests_unit_test_risks_CFLAGS = $(WATCH_TEST_CFLAGS)
tests_unit_test_risks_LDADD = $(WATCH_TEST_LIBS)
endif
# The registry test stands in for agent_emit: no output library.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-containers
TESTS += tests/unit/test-containers
tests_unit_test_containers_CFLAGS = $(WATCH_TEST_CFLAGS)
tests_unit_test_containers_LDADD = $(WATCH_LIBS) $(INVENTORY_LIBS) \
	$(SCHEMA_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)
endif

# Watchers against real daemons (tests/lib/harness.sh), TAP scripts.
WATCH_INTEG = \
	tests/integ/watch-docker.sh \
	tests/integ/watch-containerd.sh \
	tests/integ/watch-short-lived.sh \
	tests/integ/watch-restart.sh \
	tests/integ/watch-late-sockets.sh
TESTS += $(WATCH_INTEG)
EXTRA_DIST += tests/lib/watch.sh tests/lib/runc-capfilter.sh $(WATCH_INTEG)

# Hostile images (issue 9): the real agent against images and containers
# built to attack it.  hostile-proc runs inside the test's busybox images:
# static, and without the sanitizer runtime (AM_CFLAGS/AM_LDFLAGS).
check_PROGRAMS += tests/integ/hostile-proc
tests_integ_hostile_proc_SOURCES = tests/integ/hostile-proc.c
tests_integ_hostile_proc_CFLAGS = $(WARN_CFLAGS)
tests_integ_hostile_proc_LDFLAGS = -static
TESTS += tests/integ/hostile-images.sh
EXTRA_DIST += tests/integ/hostile-images.sh
