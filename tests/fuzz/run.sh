#!/bin/bash
# tests/fuzz/run.sh: run libFuzzer targets, one after the other, each for
# FUZZ_SECONDS (default 60), and report each as a TAP test case:
#
#   ok 1 - fuzz-dpkg: 1234567 execs (20576/s) in 60 s, corpus 412, no crash
#   not ok 2 - fuzz-apk: crash after 1234 execs: tests/fuzz/crashes/fuzz-apk-crash-...
#
#   FUZZ_SECONDS=60 tests/fuzz/run.sh SEED_ROOT TARGET...
#
# Seeds are read from SEED_ROOT/<target>/ (tests/fuzz/corpus/fuzz-dpkg/...)
# and never written; inputs that reach new code go to
# tests/fuzz/work/<target>/ in the build folder (kept between runs, so a
# longer campaign resumes where the last one stopped).  A crash, leak,
# sanitizer report, timeout or broken property is saved under
# tests/fuzz/crashes/ with libFuzzer's output in tests/fuzz/logs/<target>.log;
# reproduce it with `tests/fuzz/<target> FILE`.
#
# Settings: FUZZ_SECONDS, FUZZ_MAX_LEN (default: per target below),
# FUZZ_ARGS (more libFuzzer flags).  The exit status is 1 if any target
# crashed, else 0.
set -u

SECONDS_EACH=${FUZZ_SECONDS:-60}
SEEDS=${1:?usage: run.sh SEED_ROOT TARGET...}
shift
[ $# -gt 0 ] || { echo "run.sh: no targets" >&2; exit 2; }

# Largest input per target: what its file or message plausibly is.
max_len() {
	case "$1" in
	fuzz-rpm-header|fuzz-rpm-ndb) echo 131072 ;;
	fuzz-decode|fuzz-osv|fuzz-dpkg|fuzz-apk|fuzz-docker*|fuzz-containerd)
		echo 65536 ;;
	fuzz-version-*) echo 1024 ;;
	*) echo 16384 ;;
	esac
}

mkdir -p tests/fuzz/work tests/fuzz/crashes tests/fuzz/logs
n=0
failed=0
printf '1..%d\n' $#
for bin in "$@"; do
	n=$((n + 1))
	name=${bin##*/}
	work=tests/fuzz/work/$name
	log=tests/fuzz/logs/$name.log
	mkdir -p "$work"
	seeds=()
	[ -d "$SEEDS/$name" ] && seeds=("$SEEDS/$name")
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	"$bin" -max_total_time="$SECONDS_EACH" \
	    -max_len="${FUZZ_MAX_LEN:-$(max_len "$name")}" \
	    -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="tests/fuzz/crashes/$name-" \
	    ${FUZZ_ARGS:-} "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	corpus=$(find "$work" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		printf 'ok %d - %s: %s execs (%s/s) in %s s, corpus %s, no crash\n' \
		    "$n" "$name" "$execs" "$rate" "$SECONDS_EACH" "$corpus"
	else
		failed=1
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		printf 'not ok %d - %s: exit %d after %s execs: %s\n' "$n" "$name" \
		    "$rc" "${execs:-?}" "${artifact:-no artifact (see $log)}"
		grep -E -A 12 '^(==[0-9]+==ERROR|SUMMARY|fuzz: property|.*runtime error)' \
		    "$log" | head -n 40 | sed 's/^/# /'
	fi
done
exit "$failed"
