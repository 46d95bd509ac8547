# tests/lib/prog.sh: the project's programs as the tests start them
# (sourced by tap.sh, so by every test script).
#
#   AGENT=$(prog_path agent/tallyman-agent)
#   "$AGENT" scan --rootfs "$R" --json
#
# prog_path REL prints $top_builddir/REL, or, when TM_WRAP is set, a small
# script that execs $TM_WRAP $top_builddir/REL with the same arguments (the
# same pid: a test can still signal and wait for it).  `make
# check-valgrind` sets TM_WRAP to tests/lib/valgrind.sh, so every program
# started through prog_path runs under valgrind memcheck; any other wrapper
# (strace, perf, heaptrack-like tools) works the same way.  Start the
# project's programs through prog_path, never by their path, so that they
# are covered.
#
# The wrappers live in $top_builddir/tests/wrap/ (one per program, written
# atomically: tests run in parallel), and read TM_WRAP when they run.

prog_path() {
	local rel=$1 real dir wrap tmp
	real=$top_builddir/$rel
	if [ -z "${TM_WRAP:-}" ]; then
		printf '%s\n' "$real"
		return 0
	fi
	dir=$top_builddir/tests/wrap
	wrap=$dir/${rel//\//_}
	if [ ! -x "$wrap" ]; then
		mkdir -p "$dir" || return 1
		tmp=$(mktemp "$dir/.wrap.XXXXXX") || return 1
		# shellcheck disable=SC2016 # TM_WRAP is read when the wrapper runs
		printf '#!/bin/sh\n# %s under $TM_WRAP (tests/lib/prog.sh)\nexec ${TM_WRAP:?} %s "$@"\n' \
		    "$rel" "'$real'" >"$tmp" && chmod 755 "$tmp" &&
		    mv -f "$tmp" "$wrap" || return 1
	fi
	printf '%s\n' "$wrap"
}
