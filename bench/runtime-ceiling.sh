#!/bin/bash
# bench/runtime-ceiling.sh: how many containers per second this machine's
# runtimes can start at all, and where their CPU goes -- the ceiling of
# bench/agent-cost.sh's load phases, measured without the agent.
#
#   bash bench/runtime-ceiling.sh [BUILDDIR] [SECONDS] [CLIENTS]
#
# Starts its own containerd and dockerd (tests/lib/harness.sh), then runs
# `ctr run --rm IMG true` (the cheaper of the two paths: no dockerd) from
# CLIENTS (default 16) parallel loops for SECONDS (default 20), and prints
# the containers started, the rate, the machine's CPU time (all of it, from
# /proc/stat) per container, and, when perf is installed, the share of
# that CPU by command (`perf record -a` over the middle of the run: runc,
# ctr, the shim, containerd, the kernel's own threads).
set -u

BUILD=${1:-_build}
SECS=${2:-20}
CLIENTS=${3:-16}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "$BUILD" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/harness.sh"

harness_start >/dev/null
harness_ctr_image default tm-ceiling:1 >/dev/null || { echo "bench: no ctr image" >&2; exit 1; }

worker() {
	local w=$1 i=0 end=$(( $(date +%s) + SECS ))
	: >"$TM_TMP/n.$w"
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		ctr -a "$TM_CONTAINERD_SOCK" -n default run --rm ${CTR_ARGS:-} \
		    --runc-root "$TM_TMP/runc" "$TM_CTR_IMAGE" "ceil-$TM_ID-$w-$i" true \
		    >/dev/null 2>>"$TM_LOGS/load.log" && echo x >>"$TM_TMP/n.$w"
	done
}
jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

read -r busy0 idle0 < <(jiffies)
t0=$(date +%s.%N)
perf_pid=
if command -v perf >/dev/null; then
	perf record -a -F 199 -o "$TM_TMP/perf.data" -- sleep $(( SECS / 2 )) \
	    >/dev/null 2>&1 &
	perf_pid=$!
fi
pids=()
for ((w = 0; w < CLIENTS; w++)); do
	worker "$w" &
	pids+=($!)
done
wait "${pids[@]}"	# not the daemons: they are our children too
[ -n "$perf_pid" ] && wait "$perf_pid"
t1=$(date +%s.%N)
read -r busy1 idle1 < <(jiffies)
n=$(cat "$TM_TMP"/n.* | wc -l)
hz=$(getconf CLK_TCK)
awk -v n="$n" -v t="$(echo "$t1 - $t0" | bc)" -v b=$((busy1 - busy0)) \
    -v i=$((idle1 - idle0)) -v hz="$hz" -v c="$CLIENTS" -v cpus="$(nproc)" 'BEGIN {
	printf "ceiling    %d containers in %.1f s from %d clients: %.2f starts/s\n", n, t, c, n / t
	printf "ceiling    machine CPU busy %.1f s of %.1f (%d CPUs): %.0f ms per container; %.1f starts/s at most with every CPU busy\n",
	    b / hz, (b + i) / hz, cpus, n ? 1000 * b / hz / n : 0, n ? cpus * n / (b / hz) : 0
}'
if [ -n "$perf_pid" ] && [ -s "$TM_TMP/perf.data" ]; then
	perf report -i "$TM_TMP/perf.data" --sort comm --stdio -g none 2>/dev/null |
	    awk '/^ *[0-9.]+%/ && n < 8 { printf "%s%s %s", n ? ", " : "ceiling    CPU by command: ", $2, $1; n++ } END { print "" }'
fi
