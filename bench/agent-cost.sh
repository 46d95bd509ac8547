#!/bin/bash
# bench/agent-cost.sh: what the agent costs its host, idle and under load.
#
#   bash bench/agent-cost.sh [BUILDDIR] [SECONDS] [RATE]
#
# Starts its own containerd and dockerd (tests/lib/harness.sh), the mock
# Kafka cluster (tests/mock-kafka, 3 brokers) and the real agent
# (`tallyman-agent run`, output to Kafka), then measures three phases of
# SECONDS (default 60) each:
#   idle     nothing happens
#   docker   RATE (default 20) container starts per second through dockerd
#            (`docker run -d --rm IMG true` from CLIENTS parallel clients,
#            environment, default 8; each keeps its share of the schedule)
#   ctr      the same rate straight through containerd (`ctr run --rm`),
#            which skips dockerd's own cost per container
# For each: the rate reached, the agent's CPU (user + system, % of one
# core, and per container started), resident memory (VmRSS at the end, of
# which RssAnon: the agent's own, not shared library pages; VmHWM so far),
# and wake-ups per second per thread (voluntary context switches from /proc/PID/task/*/status:
# each is a thread going to sleep, then being woken) -- the agent's own
# loop and thread pool, librdkafka's threads.  At the end, the records on
# the topic (tallyman-decode) tell how many containers of the load phases
# reached Kafka with an exit record.
# Figures go to stdout as a Markdown table; bench/RESULTS.md keeps them.
set -u

BUILD=${1:-_build}
SECS=${2:-60}
RATE=${3:-20}
CLIENTS=${CLIENTS:-8}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "$BUILD" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/watch.sh"
AGENT=$(prog_path agent/tallyman-agent)
[ -x "$top_builddir/agent/tallyman-agent" ] ||
    { echo "bench: no $top_builddir/agent/tallyman-agent (build first)" >&2; exit 1; }

harness_start >/dev/null
harness_require_cmd kcat jq
harness_image tm-cost:1 >/dev/null || { echo "bench: no image" >&2; exit 1; }
harness_ctr_image default tm-cost:1 >/dev/null || { echo "bench: no ctr image" >&2; exit 1; }
[ -x "$top_builddir/tests/mock-kafka" ] || make -C "$top_builddir" tests/mock-kafka >/dev/null
kafka_start -b 3 -t tallyman.inventory:3 >/dev/null

# The environment of its systemd unit (packaging/systemd).
GNUTLS_NO_IMPLICIT_INIT=1 "$AGENT" -o "state.dir=$TM_TMP/state" -o "host.id=cost-$TM_ID" \
    -o "docker.socket=$TM_DOCKER_SOCK" -o "containerd.socket=$TM_CONTAINERD_SOCK" \
    -o "kafka.brokers=$TM_KAFKA" run >"$TM_LOGS/agent.out" 2>"$TM_LOGS/agent.log" </dev/null &
PID=$!
# Stopped as the watch tests stop theirs (tests/lib/watch.sh).
WATCH_PID=$PID
trap 'watch__on_exit' EXIT
trap 'watch__on_signal INT 130' INT
trap 'watch__on_signal TERM 143' TERM
harness_wait_for "the agent watches" 60 grep -q 'run: watching' "$TM_LOGS/agent.log" ||
    { echo "bench: agent did not start: $(tail -3 "$TM_LOGS/agent.log")" >&2; exit 1; }
sleep 10	# start-up: listings, host record, the first heartbeat

HZ=$(getconf CLK_TCK)

# snap FILE: CPU ticks and per-thread voluntary switches, now.
snap() {
	local t
	{
		echo "time $(date +%s%N)"
		awk '{ print "cpu", $14 + $15 }' "/proc/$PID/stat"
		for t in /proc/"$PID"/task/*; do
			printf 'thread %s %s %s\n' "${t##*/}" \
			    "$(tr ' ' _ <"$t/comm")" \
			    "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")"
		done
	} >"$1" 2>/dev/null
}

# report NAME STARTS: one table row from TM_TMP/NAME.{0,1}, and the
# wake-ups per thread kind as a second line.
report() {
	local name=$1 starts=$2 a=$TM_TMP/$1.0 b=$TM_TMP/$1.1 dt cpu per rss hwm anon
	dt=$(awk '/^time/ {print $2}' "$a" "$b" | paste -sd' ' | awk '{print ($2 - $1) / 1e9}')
	cpu=$(awk '/^cpu/ {print $2}' "$a" "$b" | paste -sd' ' |
	    awk -v hz="$HZ" -v dt="$dt" '{printf "%.1f", ($2 - $1) / hz / dt * 100}')
	per=$(awk '/^cpu/ {print $2}' "$a" "$b" | paste -sd' ' |
	    awk -v hz="$HZ" -v n="$starts" '{ if (n > 0) printf "%.1f ms", ($2 - $1) / hz / n * 1000; else printf "-" }')
	rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$PID/status")
	hwm=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$PID/status")
	anon=$(awk '/^RssAnon/ {printf "%.1f", $2 / 1024}' "/proc/$PID/status")
	WAKE=$(join -1 1 -2 1 <(awk '/^thread/ {print $2, $3, $4}' "$a" | sort) \
	    <(awk '/^thread/ {print $2, $3, $4}' "$b" | sort) |
	    awk -v dt="$dt" '{ w[$2] += ($5 - $3) / dt; t += ($5 - $3) / dt }
	    END { printf "%.1f", t; for (k in w) printf " %s=%.1f", k, w[k] }')
	printf '| %s | %s | %.0f s | %s | %s%% | %s | %s MiB | %s MiB | %s MiB | %s |\n' "$name" \
	    "$starts" "$dt" "$(awk -v n="$starts" -v dt="$dt" 'BEGIN {printf "%.1f/s", n / dt}')" \
	    "$cpu" "$per" "$rss" "$anon" "$hwm" "${WAKE%% *}"
	printf '%s wake-ups/s by thread: %s\n' "$name" "${WAKE#* }" >>"$TM_TMP/threads"
}

# load KIND: CLIENTS workers start containers on a shared schedule of RATE
# per second for SECS; each records what it started in TM_TMP/KIND.N.
load() {
	local kind=$1 w pids=()
	for ((w = 0; w < CLIENTS; w++)); do
		worker "$kind" "$w" &
		pids+=($!)
	done
	wait "${pids[@]}"	# not the agent: it is our child too
	cat "$TM_TMP/$kind".ids.* >"$TM_TMP/$kind.ids"
}
worker() {
	local kind=$1 w=$2 i=0 t0 now due id
	: >"$TM_TMP/$kind.ids.$w"
	t0=$(date +%s%N)
	while :; do
		due=$(( t0 + (i * CLIENTS + w) * 1000000000 / RATE ))
		now=$(date +%s%N)
		[ $(( now - t0 )) -ge $(( SECS * 1000000000 )) ] && break
		if [ "$now" -lt "$due" ]; then
			sleep "$(awk -v d=$(( due - now )) 'BEGIN {printf "%.3f", d / 1e9}')"
		fi
		i=$((i + 1))
		if [ "$kind" = docker ]; then
			id=$(docker -H "unix://$TM_DOCKER_SOCK" run -d --rm --network none \
			    tm-cost:1 true 2>>"$TM_LOGS/load.log") &&
			    echo "$id" >>"$TM_TMP/$kind.ids.$w"
		else
			id=cost-$TM_ID-$w-$i
			ctr -a "$TM_CONTAINERD_SOCK" -n default run --rm \
			    --runc-root "$TM_TMP/runc" "$TM_CTR_IMAGE" "$id" true \
			    >/dev/null 2>>"$TM_LOGS/load.log" &&
			    echo "$id" >>"$TM_TMP/$kind.ids.$w"
		fi
	done
}

echo "| phase | containers started | duration | start rate | agent CPU (of one core) | agent CPU per start | VmRSS at end | of which RssAnon | VmHWM | wake-ups/s (all threads) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
snap "$TM_TMP/idle.0"
sleep "$SECS"
snap "$TM_TMP/idle.1"
report idle 0

snap "$TM_TMP/docker.0"
load docker
snap "$TM_TMP/docker.1"
report docker "$(wc -l <"$TM_TMP/docker.ids")"
sleep 10

snap "$TM_TMP/ctr.0"
load ctr
snap "$TM_TMP/ctr.1"
report ctr "$(wc -l <"$TM_TMP/ctr.ids")"

echo
cat "$TM_TMP/threads"

# What reached Kafka: exit records of the load phases' containers.
sleep 15
kcat -C -b "$TM_KAFKA" -t tallyman.inventory -e -q -f '%s' >"$TM_TMP/topic.raw" 2>/dev/null
"$top_builddir/schema/tallyman-decode" --reassemble <"$TM_TMP/topic.raw" \
    >"$TM_TMP/topic.json" 2>/dev/null
for k in docker ctr; do
	got=$(jq -r 'select(.k == "container" and .b.why == "exit") | .b.id' \
	    "$TM_TMP/topic.json" | sort -u | comm -12 - <(sort -u "$TM_TMP/$k.ids") | wc -l)
	echo "$k: $got of $(wc -l <"$TM_TMP/$k.ids") containers have an exit record on the topic"
done
echo "agent: $(awk -v hz="$HZ" '{printf "%.2f s user, %.2f s system in all", $14 / hz, $15 / hz}' "/proc/$PID/stat")"
# Where its anonymous memory is: the heap, the other anonymous mappings
# (malloc's per-thread arenas, thread stacks, librdkafka's buffers), by
# resident size.
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = NF >= 6 ? $6 : "[anon]"; size = 0 }
	/^Size:/ { size = $2 }
	/^Anonymous:/ && $2 > 0 { a[name " " size] += $2; t += $2 }
	END { printf "agent: anonymous memory %.1f MiB:", t / 1024
	      n = 0
	      for (k in a) if (a[k] >= 256) { split(k, f, " ");
	          printf "%s %s (of a %.1f MiB mapping) %.1f MiB", n++ ? "," : "", f[1], f[2] / 1024, a[k] / 1024 }
	      print "" }' "/proc/$PID/smaps"
watch_agent_stop
harness_stop >/dev/null
