#!/bin/sh
# tests/lib/valgrind.sh PROGRAM ARGS...: run PROGRAM under valgrind memcheck
# in its place (exec: same pid).  `make check-valgrind` makes it TM_WRAP
# (tests/lib/prog.sh), so every program the tests start through prog_path
# runs under it.
#
# The report goes to $TM_SAN_PREFIX.valgrind-<pid> (tests/local.mk), where
# tests/lib/sanitizer-driver.sh fails the test for each one with errors, like
# a sanitizer report: invalid reads and writes, uses of uninitialised
# values, bad frees, and definite or indirect leaks at exit ("==PID==" lines;
# valgrind's own "--PID--" warnings alone are not a report).  Nothing is
# suppressed.
#
# Settings: TM_VALGRIND_ARGS (more valgrind flags).
log=${TM_SAN_PREFIX:-${TMPDIR:-/tmp}/tm-valgrind}.valgrind-%p
# shellcheck disable=SC2086 # TM_VALGRIND_ARGS is a list of flags
exec valgrind --tool=memcheck --quiet --log-file="$log" \
    --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect \
    --num-callers=30 --track-origins=yes \
    ${TM_VALGRIND_ARGS:-} "$@"
