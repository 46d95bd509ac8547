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

# Sanitizer reports (--enable-sanitizers, --enable-fuzzing): every program a
# test starts, however deep (scripts, the agent under a daemon's socket...),
# inherits these and writes any ASan, LSan or UBSan report to
# sanitizer-reports/<test>.<pid> instead of its stderr, where a test could
# swallow it.  tests/lib/sanitizer-driver.sh fails the test for each report
# and appends it to the test's log; scripts/test.sh fails on any report left
# over.  Reports are never suppressed: fix the code.  A test that cannot
# run one check under a sanitizer skips that check with the reason
# (TM_SANITIZERS=yes tells it so; e.g. LSan cannot run under ptrace).
TM_SAN_DIR = $(abs_top_builddir)/sanitizer-reports
if SANITIZERS
TM_SANITIZERS = yes
else
if FUZZING
TM_SANITIZERS = yes
else
TM_SANITIZERS = no
endif
endif
AM_TESTS_ENVIRONMENT += \
	TM_SANITIZERS='$(TM_SANITIZERS)'; export TM_SANITIZERS; \
	TM_SAN_DIR='$(TM_SAN_DIR)'; export TM_SAN_DIR; \
	$(MKDIR_P) "$$TM_SAN_DIR"; \
	TM_SAN_PREFIX="$$TM_SAN_DIR/`echo '$@' | sed -e 's|\.log$$||' -e 's|/|_|g'`"; \
	export TM_SAN_PREFIX; \
	ASAN_OPTIONS="$${ASAN_OPTIONS:+$$ASAN_OPTIONS:}log_path=$$TM_SAN_PREFIX:detect_leaks=1:check_initialization_order=1:strict_init_order=1:print_summary=1"; \
	export ASAN_OPTIONS; \
	UBSAN_OPTIONS="$${UBSAN_OPTIONS:+$$UBSAN_OPTIONS:}log_path=$$TM_SAN_PREFIX:print_stacktrace=1:halt_on_error=1"; \
	export UBSAN_OPTIONS;

clean-local: clean-sanitizer-reports
clean-sanitizer-reports:
	-rm -rf '$(TM_SAN_DIR)'
.PHONY: clean-sanitizer-reports

EXTRA_DIST += \
	tests/lib/tap.sh \
	tests/lib/harness.sh \
	tests/lib/sanitizer-driver.sh

# mock-kafka: librdkafka's mock cluster as a process (prints its bootstrap).
check_PROGRAMS += tests/mock-kafka
tests_mock_kafka_SOURCES = tests/mock-kafka.c
tests_mock_kafka_CFLAGS = $(AM_CFLAGS) $(RDKAFKA_CFLAGS)
tests_mock_kafka_LDADD = $(RDKAFKA_LIBS)

# The harness proves itself: daemons, Docker API, image import, kcat round trip.
TESTS += tests/integ/smoke.sh
EXTRA_DIST += tests/integ/smoke.sh
