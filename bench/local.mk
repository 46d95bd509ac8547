# bench: see the top-level Makefile.am

# schema: codec figures (bench/schema-codec [SECONDS]).
noinst_PROGRAMS += bench/schema-codec
bench_schema_codec_SOURCES = bench/schema-codec.c \
	tests/unit/schema-fixtures.c tests/unit/schema-fixtures.h
bench_schema_codec_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
bench_schema_codec_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS)

# inventory: tallyman vs dpkg-query and rpm -qa (bash bench/inventory.sh).
EXTRA_DIST += bench/inventory.sh

# transport: records/s to Kafka, spool bytes per record (bash bench/produce.sh).
EXTRA_DIST += bench/RESULTS.md

# correlate: fleet re-evaluation after a feed change (bench/reeval [HOSTS ...]).
noinst_PROGRAMS += bench/reeval
bench_reeval_SOURCES = bench/reeval.c $(COLLECTOR_VERSION_SOURCES)
bench_reeval_CFLAGS = $(CORRELATE_TEST_CFLAGS)
bench_reeval_LDADD = $(CORRELATE_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS)

# watch: short-lived containers captured (bash bench/short-lived.sh [BUILDDIR] [N]).
EXTRA_DIST += bench/short-lived.sh

# agent: its memory, CPU and wake-ups idle and under container starts
# (bash bench/agent-cost.sh [BUILDDIR] [SECONDS] [RATE]).
EXTRA_DIST += bench/agent-cost.sh
# The runtimes' own ceiling, without the agent: containers per second and
# the CPU per container (bash bench/runtime-ceiling.sh [BUILDDIR] [SECONDS]
# [CLIENTS]).
EXTRA_DIST += bench/runtime-ceiling.sh

# collector: a simulated fleet produced to Kafka (bench/fleet-gen), and the
# ingest rate, drain time, store size and feed re-evaluation measured
# through a running collector (bash bench/ingest.sh [BUILDDIR] [HOSTS]).
noinst_PROGRAMS += bench/fleet-gen
bench_fleet_gen_SOURCES = bench/fleet-gen.c
bench_fleet_gen_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) \
	$(RDKAFKA_CFLAGS)
bench_fleet_gen_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(RDKAFKA_LIBS)
EXTRA_DIST += bench/ingest.sh
# ... and which tables and indexes its commits write, in WAL frames (bash
# bench/wal-pages.sh BUILDDIR [HOSTS], a build with -DTM_WAL_PAGELOG).
EXTRA_DIST += bench/wal-pages.sh

# collector: short-lived capture and start-to-stored latency at the collector
# (bash bench/collector-e2e.sh).
EXTRA_DIST += bench/collector-e2e.sh
# ... and a tiny run of it in the suite, so that it cannot rot.
TESTS += tests/integ/ingest-smoke.sh
EXTRA_DIST += tests/integ/ingest-smoke.sh

# collector: the cost of a commit's WAL frames written as SQLite writes them
# against one write (bench/wal-frames [DIR] [FRAMES] [COMMITS]).
noinst_PROGRAMS += bench/wal-frames
bench_wal_frames_SOURCES = bench/wal-frames.c
