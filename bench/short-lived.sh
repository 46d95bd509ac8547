#!/bin/bash
# bench/short-lived.sh: how many short-lived containers the agent captures.
#
#   bash bench/short-lived.sh [BUILDDIR] [N]
#
# Starts its own containerd and dockerd (tests/lib/harness.sh) and
# `tallyman-agent run --output json`, then, back to back:
#   N x docker run --rm IMG true          (lives a few ms)
#   N x docker run --rm IMG sleep 0.1     (lives 100 ms)
# and counts, per batch, the containers whose exit record arrived, and of
# those the ones with the image, exit code 0 and a lifetime, and with their
# process.  Also the agent's delay (record sent - container finished), its
# resident memory and CPU time.  N defaults to 200.
set -u

BUILD=${1:-_build}
N=${2:-200}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "$BUILD" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/watch.sh"
[ -x "$WATCH_AGENT" ] || { echo "bench: no $WATCH_AGENT (build first)" >&2; exit 1; }

harness_start >/dev/null
harness_image tm-bench:1 >/dev/null || { echo "bench: no image" >&2; exit 1; }
watch_agent_start
watch_wait_connected >/dev/null || { echo "bench: agent did not connect" >&2; exit 1; }

# batch NAME CMD...: N containers one after the other; ids in TM_TMP/NAME.ids
batch() {
	local name=$1 i t0 t1
	shift
	: >"$TM_TMP/$name.ids"
	t0=$(date +%s%N)
	for ((i = 0; i < N; i++)); do
		rm -f "$TM_TMP/cid"
		docker -H "unix://$TM_DOCKER_SOCK" run --rm --network none \
		    --cidfile "$TM_TMP/cid" tm-bench:1 "$@" >/dev/null 2>&1
		[ -s "$TM_TMP/cid" ] && { cat "$TM_TMP/cid"; echo; } >>"$TM_TMP/$name.ids"
	done
	t1=$(date +%s%N)
	sed -i '/^$/d' "$TM_TMP/$name.ids"
	echo "$(( (t1 - t0) / 1000000 ))" >"$TM_TMP/$name.ms"
}

exits() {
	watch_records | jq -c --rawfile ids "$TM_TMP/$1.ids" \
	    'select(.k == "container" and .b.why == "exit" and
	    (.b.id as $i | $ids | split("\n") | index($i))) | {t, b}'
}

# Wait until the count of exit records stops growing (at most 120 s).
settle() {
	local last=-1 now i
	for ((i = 0; i < 1200; i++)); do
		now=$(exits "$1" | wc -l)
		[ "$now" -eq "$(wc -l <"$TM_TMP/$1.ids")" ] && return
		if [ "$now" -eq "$last" ] && ((i % 50 == 49)); then
			return
		fi
		((i % 50 == 0)) && last=$now
		sleep 0.1
	done
}

report() {
	local name=$1 label=$2 want=$3 R
	settle "$name"
	R=$(exits "$name")
	printf '| %s | %d | %d | %d | %d | %s | %s |\n' "$label" \
	    "$(wc -l <"$TM_TMP/$name.ids")" \
	    "$(jq -r .b.id <<<"$R" | sort -u | wc -l)" \
	    "$(jq -r 'select(.b.img != null and .b.exit == 0 and (.b.life // 0) > 0) | .b.id' <<<"$R" | sort -u | wc -l)" \
	    "$(jq -r --argjson w "$want" 'select([.b.procs[]? | select(.args == $w)] | length > 0) | .b.id' <<<"$R" | sort -u | wc -l)" \
	    "$(jq -r '(.t - .b.finished) / 1000000' <<<"$R" | sort -n |
	    awk '{a[NR] = $1} END {if (NR) printf "%.0f / %.0f ms", a[int((NR - 1) * 0.5) + 1], a[int((NR - 1) * 0.99) + 1]}')" \
	    "$(awk '{printf "%.1f", $1 / 1000}' "$TM_TMP/$name.ms") s"
}

batch true true
batch sleep sleep 0.1

echo "| batch | containers run | exit records | with image, exit 0, lifetime | with their process | delay p50 / p99 | batch time |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
report true "docker run --rm true" '["true"]'
report sleep "docker run --rm sleep 0.1 (100 ms)" '["sleep","0.1"]'
st=$(cat "/proc/$WATCH_PID/stat")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$WATCH_PID/status")
hz=$(getconf CLK_TCK)
echo
echo "agent: RSS $((rss / 1024)) MiB; CPU $(awk -v hz="$hz" '{printf "%.2f s user, %.2f s system", $12 / hz, $13 / hz}' <<<"${st##*) }" 2>/dev/null)"
dups=$(watch_records | jq -r 'select(.k == "container") | "\(.b.id) \(.b.why)"' | sort | uniq -d | wc -l)
echo "duplicate (container, trigger) records: $dups"
watch_agent_stop
harness_stop >/dev/null
