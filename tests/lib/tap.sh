# tests/lib/tap.sh: a tiny TAP (Test Anything Protocol) library for the
# integration scripts.  Source it from bash; every function is prefixed tap_.
# build-aux/tap-driver.sh (make check) counts each "ok"/"not ok" line as one
# test case.
#
#   tap_plan N                 optional up-front plan; without it tap_done
#                              prints the plan at the end (what the harness
#                              needs: its teardown check is the last test)
#   tap_ok NAME                a passing test
#   tap_fail NAME [LINE...]    a failing test, each LINE shown as a diagnostic
#   tap_check NAME CMD [ARG...]  run CMD; pass if it exits 0, else fail and
#                              show its exit status and output as diagnostics
#   tap_is GOT WANT NAME       pass if the strings are equal
#   tap_like GOT ERE NAME      pass if GOT matches the extended regex ERE
#   tap_skip NAME REASON       a skipped test ("ok N NAME # SKIP REASON")
#   tap_skip_all REASON        skip the whole script ("1..0 # SKIP"), exit 0
#   tap_bail REASON            "Bail out!": the script cannot go on, exit 1
#   tap_diag TEXT...           diagnostic lines ("# TEXT"); multi-line is fine
#   tap_at_done FUNC           run FUNC inside tap_done, before the plan (it
#                              may emit tests); also run by tap_bail
#   tap_done                   run the tap_at_done hooks, print the plan and
#                              "# N passed, N failed, N skipped", exit 0
#                              (failures are already "not ok" lines; a
#                              non-zero exit would be counted twice)
#
# Test names say what they prove ("docker API lists the container with its
# image"), never "test 3".

TAP_COUNT=0
TAP_PASSED=0
TAP_FAILED=0
TAP_SKIPPED=0
TAP_PLANNED=
TAP_DONE=
TAP_HOOKS=()

# One name per line: TAP treats "#" as the start of a directive, so it is
# replaced, and newlines would break the line protocol.
tap__name() {
	local n="$*"
	n=${n//$'\n'/ }
	n=${n//#/_}
	printf '%s' "$n"
}

tap_plan() {
	TAP_PLANNED=$1
	printf '1..%d\n' "$1"
}

tap_diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

tap_ok() {
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_PASSED=$((TAP_PASSED + 1))
	printf 'ok %d - %s\n' "$TAP_COUNT" "$(tap__name "$1")"
}

tap_fail() {
	local name=$1
	shift
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_COUNT" "$(tap__name "$name")"
	local l
	for l in "$@"; do
		tap_diag "$l"
	done
	return 0
}

tap_skip() {
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_SKIPPED=$((TAP_SKIPPED + 1))
	printf 'ok %d - %s # SKIP %s\n' "$TAP_COUNT" "$(tap__name "$1")" \
	    "$(tap__name "$2")"
}

# tap_check NAME CMD [ARG...]: returns CMD's exit status, so a script can
# stop a dependent sequence: tap_check "x" cmd || tap_bail "no x".
# CMD runs in this shell (not a subshell), so variables it sets are kept;
# its output goes to a temporary file and is shown only on failure.
tap_check() {
	local name=$1 out rc tmp
	shift
	tmp=$(mktemp "${TMPDIR:-/tmp}/tap-out.XXXXXX") || {
		tap_fail "$name" "mktemp failed"
		return 1
	}
	"$@" >"$tmp" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_ok "$name"
	else
		out=$(cat "$tmp")
		tap_fail "$name" "command: $*" "exit status: $rc" \
		    "${out:-(no output)}"
	fi
	rm -f "$tmp"
	return "$rc"
}

tap_is() {
	if [ "$1" = "$2" ]; then
		tap_ok "$3"
		return 0
	fi
	tap_fail "$3" "got:  '$1'" "want: '$2'"
	return 1
}

tap_like() {
	if [[ $1 =~ $2 ]]; then
		tap_ok "$3"
		return 0
	fi
	tap_fail "$3" "got:  '$1'" "want match of: $2"
	return 1
}

tap_at_done() {
	TAP_HOOKS+=("$1")
}

tap__run_hooks() {
	local h hooks=("${TAP_HOOKS[@]}")
	TAP_HOOKS=()
	for h in "${hooks[@]}"; do
		"$h"
	done
}

tap_skip_all() {
	printf '1..0 # SKIP %s\n' "$(tap__name "$1")"
	TAP_DONE=1
	tap__run_hooks >/dev/null 2>&1
	exit 0
}

tap_bail() {
	# Tear down first so the reason is the last thing the driver reads
	# (it stops reading at "Bail out!").
	tap__run_hooks
	TAP_DONE=1
	printf 'Bail out! %s\n' "$(tap__name "$1")"
	exit 1
}

tap_done() {
	tap__run_hooks
	TAP_DONE=1
	if [ -z "$TAP_PLANNED" ]; then
		printf '1..%d\n' "$TAP_COUNT"
	elif [ "$TAP_PLANNED" -ne "$TAP_COUNT" ]; then
		tap_diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
	fi
	tap_diag "$TAP_PASSED passed, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	exit 0
}

# Programs under test (prog_path, TM_WRAP).
. "$(dirname "${BASH_SOURCE[0]}")/prog.sh"
