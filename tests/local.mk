# tests/: the shared test harness.  Unit tests (tests/unit/test-*.c) and
# integration tests (tests/integ/*.sh) are registered in the local.mk of the
# folder whose code they test; only the harness itself lives here.
#
# Integration scripts run under bash and speak TAP through tests/lib/tap.sh;
# tests/lib/harness.sh starts the real daemons.  `make check TM_INTEG=skip`
# makes every integration test skip (what `make distcheck` does in
# scripts/test.sh); the scripts are still run, so a missing file still fails.
SH_LOG_COMPILER = bash
TM_INTEG = yes
AM_TESTS_ENVIRONMENT += TM_INTEG='$(TM_INTEG)'; export TM_INTEG;

EXTRA_DIST += \
	tests/lib/tap.sh \
	tests/lib/harness.sh

# mock-kafka: librdkafka's mock cluster as a process (prints its bootstrap).
check_PROGRAMS += tests/mock-kafka
tests_mock_kafka_SOURCES = tests/mock-kafka.c
tests_mock_kafka_CFLAGS = $(AM_CFLAGS) $(RDKAFKA_CFLAGS)
tests_mock_kafka_LDADD = $(RDKAFKA_LIBS)

# The harness proves itself: daemons, Docker API, image import, kcat round trip.
TESTS += tests/integ/smoke.sh
EXTRA_DIST += tests/integ/smoke.sh

# The README's first command, non-interactive, against the harness's daemons.
TESTS += tests/integ/quickstart.sh
EXTRA_DIST += tests/integ/quickstart.sh
