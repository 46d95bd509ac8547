#!/bin/bash
# scripts/test.sh: install dependencies, build, run the whole test suite and
# check the release tarball.  The README's test command; .ci/run runs it.
#
#   ./scripts/test.sh [--no-deps] [--no-distcheck] [--no-sanitizers]
#                     [--no-fuzz]
#
# Steps:
#   1. scripts/install-deps.sh (skipped with --no-deps)
#   2. autoreconf -fi
#   3. suite "debug": out-of-tree build in _build with --enable-debug
#      --enable-werror (-O0, every warning an error), make -j2, then
#      make check-unit: every test but the integration tests (unit tests,
#      fuzz corpus replays), and the integration tests with a check a
#      sanitizer build must skip (UNSANITIZED_INTEG in tests/local.mk: the
#      agent's peak memory in hostile-images.sh).
#   4. suite "sanitizers": out-of-tree build in _build-san with
#      --enable-sanitizers (ASan, UBSan, LeakSanitizer) at -O1, and the
#      WHOLE suite, make -j2 check: every unit and integration test
#      (integration tests start real containerd/dockerd, so run as root).
#      The integration tests run once, here, where they check the most: the
#      same tests in the -O0 build found nothing these do not, and took
#      half of CI's time.  With --no-sanitizers the debug suite runs the
#      whole suite instead.  Every sanitizer report any program writes
#      goes to _build-san/sanitizer-reports/ (tests/local.mk) and fails the
#      test that started the program (tests/lib/sanitizer-driver.sh); each
#      is printed here, and one written after its test ended fails a step.
#   5. fuzzing (skipped with --no-fuzz): _build-fuzz with --enable-fuzzing
#      CC=clang, every libFuzzer target of tests/fuzz/ for FUZZ_SECONDS
#      (default 10) from its seed corpus (`make fuzz`); each target is one
#      test case (a crash, leak or broken property fails it).
#   6. make distcheck TM_INTEG=skip in _build (skipped with --no-distcheck):
#      the tarball must build and pass its tests from a read-only source tree.
#      Integration tests are SKIPPED there, not left out: TM_INTEG given on
#      make's command line is passed through MAKEFLAGS to the make check that
#      distcheck runs inside the unpacked tarball, where AM_TESTS_ENVIRONMENT
#      exports it (tests/local.mk) and tests/lib/harness.sh skips.  Every
#      script is still run, so a script or library missing from EXTRA_DIST
#      still fails.  (DISTCHECK_CONFIGURE_FLAGS could only reach configure.)
#      Its configure gets CPPFLAGS=-DTM_WAL_PAGELOG, so the page log that
#      only bench/wal-pages.sh's builds use is compiled, and its unit tests
#      run, somewhere in CI (the log stays off without $TM_WAL_PAGELOG).
#
# The last line printed is always exactly one summary:
#
#   N passed, N failed, N skipped
#
# summed over every suite from each build's test-suite.log (one count per
# TAP test case, as build-aux/tap-driver.sh counts them):
#   passed  = PASS
#   failed  = FAIL + ERROR + XPASS (automake fails `make check` on each:
#             an XPASS is a TODO test whose expectation is out of date)
#             + 1 per failed step (configure, build, distcheck, ...), so a
#             broken build never reads "0 failed"
#   skipped = SKIP + XFAIL (a TODO test failing as expected proves nothing
#             works: not a pass; it is named on its own line when present)
# The tests of distcheck's own make check are not added: they are the same
# test cases again.  Exit status: 0 only if nothing failed.
#
# A further build is one more `suite` line at the bottom; its counts are
# summed into the same line.  Each step's time is printed ("took Ns").
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC" || exit 1
JOBS=${TM_JOBS:-2}
START=$SECONDS
DEPS=1
DISTCHECK=1
SANITIZERS=1
FUZZ=1
for arg in "$@"; do
	case "$arg" in
	--no-deps) DEPS=0 ;;
	--no-distcheck) DISTCHECK=0 ;;
	--no-sanitizers) SANITIZERS=0 ;;
	--no-fuzz) FUZZ=0 ;;
	-h|--help)
		sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "test.sh: unknown argument $arg" >&2; exit 2 ;;
	esac
done

PASSED=0
FAILED=0
SKIPPED=0
XFAILED=0
FAILED_STEPS=()

say() {
	printf '\n=== test.sh: %s\n' "$*"
}

# step NAME CMD...: run CMD; a failure counts once and is remembered.
step() {
	local name=$1 t0=$SECONDS
	shift
	say "$name"
	if "$@"; then
		printf 'test.sh: %s: took %ds\n' "$name" $((SECONDS - t0))
		return 0
	fi
	FAILED=$((FAILED + 1))
	FAILED_STEPS+=("$name")
	printf 'test.sh: step failed: %s (after %ds)\n' "$name" $((SECONDS - t0))
	return 1
}

# sanitizer_reports NAME BUILDDIR: print every sanitizer report of the
# build's make check.  Those in counted/ already failed their test (the
# driver); one still at the top was written after its test ended: it fails
# a step here.
sanitizer_reports() {
	local name=$1 dir=$SRC/$2/sanitizer-reports f late=0 n=0
	[ -d "$dir" ] || return 0
	for f in "$dir"/counted/* "$dir"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		say "$name: sanitizer report ${f#"$SRC"/}"
		head -n 200 "$f"
		[ "${f%/*}" = "$dir" ] && late=$((late + 1))
	done
	[ "$n" -gt 0 ] && printf 'test.sh: %s: %d sanitizer report(s)\n' "$name" "$n"
	if [ "$late" -gt 0 ]; then
		FAILED=$((FAILED + late))
		FAILED_STEPS+=("$name: $late sanitizer report(s) written after their test ended")
	fi
}

# count LOG FIELD: the "# FIELD: N" total of an automake test-suite.log.
count() {
	local n
	n=$(sed -n "s/^# $2: *\([0-9][0-9]*\)\$/\1/p" "$1" | head -n 1)
	echo "${n:-0}"
}

# suite NAME BUILDDIR CHECK-TARGET CONFIGURE-ARGS...: configure out of
# tree, build, run make CHECK-TARGET (check, or check-unit), add the
# test-suite.log counts to the totals.
suite() {
	local name=$1 dir=$2 target=$3 log pass fail err xpass skip xfail
	shift 3
	mkdir -p "$SRC/$dir"
	step "$name: configure ($dir: $*)" \
	    bash -c 'cd "$1" && shift && ../configure "$@"' _ "$SRC/$dir" "$@" ||
	    return 1
	step "$name: make -j$JOBS" make -C "$SRC/$dir" -j"$JOBS" || return 1
	log=$SRC/$dir/test-suite.log
	rm -f "$log"
	rm -rf "$SRC/$dir/sanitizer-reports"
	say "$name: make -j$JOBS $target"
	local t0=$SECONDS
	make -C "$SRC/$dir" -j"$JOBS" "$target"
	local rc=$?
	printf 'test.sh: %s: make %s took %ds\n' "$name" "$target" $((SECONDS - t0))
	sanitizer_reports "$name" "$dir"
	if [ ! -f "$log" ]; then
		FAILED=$((FAILED + 1))
		FAILED_STEPS+=("$name: make check (no test-suite.log: exit $rc)")
		return 1
	fi
	pass=$(count "$log" PASS)
	fail=$(count "$log" FAIL)
	err=$(count "$log" ERROR)
	xpass=$(count "$log" XPASS)
	skip=$(count "$log" SKIP)
	xfail=$(count "$log" XFAIL)
	PASSED=$((PASSED + pass))
	FAILED=$((FAILED + fail + err + xpass))
	SKIPPED=$((SKIPPED + skip + xfail))
	XFAILED=$((XFAILED + xfail))
	printf 'test.sh: %s: %d passed, %d failed, %d skipped\n' "$name" \
	    "$pass" $((fail + err + xpass)) $((skip + xfail))
	if [ $((fail + err + xpass)) -gt 0 ]; then
		say "$name: failures ($log)"
		head -n 3000 "$log"
	elif [ "$rc" -ne 0 ]; then
		# make check failed with every test passing: count it.
		FAILED=$((FAILED + 1))
		FAILED_STEPS+=("$name: make check exited $rc")
	fi
	# Where the time went (tests/lib/sanitizer-driver.sh notes it).
	find "$SRC/$dir" -name '*.log' ! -name test-suite.log ! -name config.log \
	    -exec grep -H '^# test-duration: ' {} + 2>/dev/null |
	    sed -e "s|^$SRC/$dir/||" -e 's/:# test-duration: / /' |
	    sort -k2,2nr | head -n 8 |
	    awk -v n="$name" '{ printf "test.sh: %s: slowest: %s %ss\n", n, $1, $2 }'
	# What was skipped, and why: a skip must never hide in CI.
	find "$SRC/$dir" -name '*.log' ! -name test-suite.log ! -name config.log \
	    -exec grep -H -i -E '^(ok .*# skip|1\.\.0 *# skip)' {} + 2>/dev/null |
	    sed -e "s|^$SRC/$dir/||" -e 's/^/test.sh: skipped: /' | head -n 50
}

if [ "$DEPS" -eq 1 ]; then
	step "install dependencies" sh "$SRC/scripts/install-deps.sh"
fi
step "autoreconf -fi" autoreconf -fi

BUILT=0
DEBUG_CHECK=check-unit
[ "$SANITIZERS" -eq 1 ] || DEBUG_CHECK=check
suite debug _build "$DEBUG_CHECK" --enable-debug --enable-werror && BUILT=1
if [ "$SANITIZERS" -eq 1 ]; then
	# -O1, as ASan advises: -O0 (--enable-debug) makes the sanitized
	# agent slow enough to miss 150 ms containers on a loaded machine.
	# Warnings are the debug suite's job (-Werror there): at -O1 gcc's
	# value-range analysis adds -Wformat-truncation guesses that would
	# fail this build for what the runtime checks here do not care about.
	suite sanitizers _build-san check --enable-sanitizers CFLAGS="-O1 -g"
fi

# fuzz: build the libFuzzer targets with clang and run each for
# FUZZ_SECONDS from its seeds; tests/fuzz/run.sh prints one TAP line per
# target, counted like any test case.
fuzz() {
	local dir=$SRC/_build-fuzz pass fail
	mkdir -p "$dir"
	step "fuzz: configure (_build-fuzz: --enable-fuzzing CC=clang)" \
	    bash -c 'cd "$1" && ../configure --enable-fuzzing CC=clang' _ "$dir" ||
	    return 1
	say "fuzz: make fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-10}"
	local t0=$SECONDS
	make -C "$dir" -j"$JOBS" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" 2>&1 |
	    tee "$dir/fuzz.out"
	local rc=${PIPESTATUS[0]}
	printf 'test.sh: fuzz: took %ds\n' $((SECONDS - t0))
	pass=$(grep -c -E '^ok [0-9]+ - ' "$dir/fuzz.out")
	fail=$(grep -c -E '^not ok [0-9]+ - ' "$dir/fuzz.out")
	PASSED=$((PASSED + pass))
	FAILED=$((FAILED + fail))
	printf 'test.sh: fuzz: %d passed, %d failed\n' "$pass" "$fail"
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		FAILED=$((FAILED + 1))
		FAILED_STEPS+=("fuzz: make fuzz exited $rc")
	fi
}
if [ "$FUZZ" -eq 1 ]; then
	fuzz
fi

# tarball_complete: every file git tracks (but .gitignore/.gitkeep) is in
# the tarball distcheck made, so nothing is missing from EXTRA_DIST that the
# tests happen not to use.  Outside a git checkout there is nothing to compare.
tarball_complete() {
	local tgz missing
	git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || return 0
	tgz=$(ls -t "$SRC"/_build/tallyman-*.tar.gz 2>/dev/null | head -n 1)
	[ -n "$tgz" ] || { echo "test.sh: no tarball in _build"; return 1; }
	missing=$(comm -23 \
	    <(git -C "$SRC" ls-files | grep -v -E '(^|/)\.git(ignore|keep)$' | sort) \
	    <(tar -tzf "$tgz" | sed -e 's|^[^/]*/||' -e '/\/$/d' | sort))
	[ -z "$missing" ] && return 0
	echo "test.sh: tracked but not in $(basename "$tgz") (add to EXTRA_DIST or a _SOURCES list):"
	echo "$missing" | sed 's/^/    /'
	return 1
}

# distcheck only after the main build built (else it repeats the same error).
if [ "$DISTCHECK" -eq 1 ] && [ "$BUILT" -eq 1 ]; then
	if step "make distcheck (integration tests skipped: TM_INTEG=skip)" \
	    make -C "$SRC/_build" -j"$JOBS" distcheck TM_INTEG=skip \
	    DISTCHECK_CONFIGURE_FLAGS=CPPFLAGS=-DTM_WAL_PAGELOG; then
		step "tarball holds every tracked file" tarball_complete
	fi
fi

echo
for s in "${FAILED_STEPS[@]}"; do
	printf 'test.sh: FAILED STEP: %s\n' "$s"
done
if [ "$XFAILED" -gt 0 ]; then
	printf 'test.sh: %d expected failure(s) (XFAIL) counted as skipped\n' \
	    "$XFAILED"
fi
printf 'test.sh: took %ds\n' $((SECONDS - START))
printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
[ "$FAILED" -eq 0 ]
