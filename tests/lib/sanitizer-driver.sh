#!/bin/sh
# tests/lib/sanitizer-driver.sh: the test driver of `make check`
# (LOG_DRIVER in Makefile.am).  It runs build-aux/tap-driver.sh with the
# same arguments, then turns every sanitizer report the test's programs
# wrote into a failed test case of that test:
#
#   tests/local.mk's AM_TESTS_ENVIRONMENT points ASan, UBSan and LSan
#   (ASAN_OPTIONS, UBSAN_OPTIONS log_path) of every program a test starts,
#   directly or through scripts and daemons, at
#   $TM_SAN_DIR/<test>.<pid> (TM_SAN_PREFIX = $TM_SAN_DIR/<test>);
#   `make check-valgrind` has valgrind write there too
#   (tests/lib/valgrind.sh: <test>.valgrind-<pid>; one without an error
#   line, "==PID==", is a clean run and is removed).
#
# A report is appended to the test's .log (so test-suite.log and
# scripts/test.sh print it), adds ":test-result: FAIL" to its .trs (so
# the test counts as failed and `make check` fails) and is moved to
# $TM_SAN_DIR/counted/: a report still in $TM_SAN_DIR after `make check`
# was written after its test ended (scripts/test.sh fails on it).  Reports
# of an earlier run of the same test are removed first.  In a build without sanitizers no
# report is ever written and this only runs tap-driver.sh.
#
# It also appends "# test-duration: N s" to the test's .log.
#
# Settings (environment): TM_TAP_DRIVER (build-aux/tap-driver.sh),
# TM_SAN_PREFIX (set by AM_TESTS_ENVIRONMENT; unset: no check).
set -u

test_name= log_file= trs_file=
prev=
for arg in "$@"; do
	case "$prev" in
	--test-name) test_name=$arg ;;
	--log-file) log_file=$arg ;;
	--trs-file) trs_file=$arg ;;
	esac
	[ "$arg" = -- ] && break
	prev=$arg
done

prefix=${TM_SAN_PREFIX:-}
counted=${prefix%/*}/counted
if [ -n "$prefix" ]; then
	rm -f "$prefix".* "$counted/${prefix##*/}".* 2>/dev/null
fi

t0=$(date +%s)
${SHELL:-/bin/sh} "${TM_TAP_DRIVER:?TM_TAP_DRIVER is not set}" "$@"
rc=$?
# How long it took, for scripts/test.sh's list of the slowest tests.
[ -n "$log_file" ] && [ -f "$log_file" ] &&
    echo "# test-duration: $(($(date +%s) - t0)) s" >>"$log_file"

[ -n "$prefix" ] && [ -n "$log_file" ] && [ -n "$trs_file" ] || exit "$rc"
n=0
for report in "$prefix".*; do
	[ -f "$report" ] || continue
	case $report in
	*.valgrind-*)
		# valgrind --quiet writes nothing on a clean run but its own
		# "--PID--" warnings (an unhandled syscall: openat2); errors
		# and leaks are "==PID==" lines.
		if ! grep -q '^==[0-9]*==' "$report"; then
			rm -f "$report"
			continue
		fi ;;
	esac
	n=$((n + 1))
	{
		echo "not ok - sanitizer report $n of $test_name: $report"
		sed 's/^/# /' "$report"
	} >>"$log_file"
	echo ":test-result: FAIL" >>"$trs_file"
	echo "FAIL: $test_name - sanitizer report: $report"
	mkdir -p "$counted" && mv -f "$report" "$counted/"
done
if [ "$n" -gt 0 ]; then
	sed -i -e 's/^:global-test-result: .*/:global-test-result: FAIL/' \
	    -e 's/^:recheck: .*/:recheck: yes/' \
	    -e 's/^:copy-in-global-log: .*/:copy-in-global-log: yes/' \
	    "$trs_file"
fi
exit "$rc"
