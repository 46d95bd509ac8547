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
	-rm -rf '$(TM_SAN_DIR)' '$(abs_top_builddir)/tests/wrap'
.PHONY: clean-sanitizer-reports

# make check-valgrind: valgrind memcheck over every unit test (each cmocka
# program runs under TM_WRAP, the LOG_COMPILER of extension-less tests) and
# the agent's integration runs, where every program the scripts start
# through prog_path (tests/lib/prog.sh: the agent, tests/agent-produce,
# tallyman-decode...) runs under tests/lib/valgrind.sh.  Each non-empty
# valgrind report fails its test like a sanitizer report
# (tests/lib/sanitizer-driver.sh).  Tests see TM_VALGRIND=yes and skip,
# with the reason, what cannot work under valgrind (Debian 12's valgrind
# 3.19 does not implement openat2, without which the agent refuses to read
# container files).  The collector's integration scripts join
# VALGRIND_TESTS once they start it through prog_path.  Needs a build
# without --enable-sanitizers (valgrind cannot run ASan programs).
TM_WRAP =
TM_VALGRIND = no
LOG_COMPILER = $(TM_WRAP)
AM_TESTS_ENVIRONMENT += \
	TM_WRAP='$(TM_WRAP)'; export TM_WRAP; \
	TM_VALGRIND='$(TM_VALGRIND)'; export TM_VALGRIND;
VALGRIND_INTEG = $(INVENTORY_INTEG) $(OUTPUT_INTEG) $(WATCH_INTEG)
check-valgrind: all
	@if test '$(TM_SANITIZERS)' = yes; then \
	    echo "check-valgrind: valgrind cannot run ASan programs; use a build without --enable-sanitizers or --enable-fuzzing" >&2; \
	    exit 1; fi
	@units=; for t in $(TESTS); do \
	    case $$t in *.sh) ;; *) units="$$units $$t" ;; esac; done; \
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$$units $(VALGRIND_INTEG)" \
	    TM_WRAP='$(SHELL) $(abs_top_srcdir)/tests/lib/valgrind.sh' TM_VALGRIND=yes \
	    TEST_SUITE_LOG=test-suite-valgrind.log
.PHONY: check-valgrind

# make check-unit: every test but the integration tests (tests/integ/):
# the unit tests and the fuzz corpus replays, no daemon started; plus
# UNSANITIZED_INTEG, the integration tests with a check that cannot run
# under a sanitizer (it skips that check there, with TM_SANITIZERS=yes).
# scripts/test.sh runs it in its -O0 -Werror build, and the whole suite
# (make check) once, in the sanitizer build.
# hostile-images.sh: the agent's peak memory (VmHWM, inflated by ASan).
UNSANITIZED_INTEG = tests/integ/hostile-images.sh
check-unit: all
	@tests=; for t in $(TESTS); do \
	    case $$t in tests/integ/*) ;; *) tests="$$tests $$t" ;; esac; done; \
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$$tests $(UNSANITIZED_INTEG)"
.PHONY: check-unit

EXTRA_DIST += \
	tests/lib/tap.sh \
	tests/lib/harness.sh \
	tests/lib/prog.sh \
	tests/lib/sanitizer-driver.sh \
	tests/lib/valgrind.sh

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
