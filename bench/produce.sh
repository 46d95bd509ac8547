#!/bin/bash
# bench/produce.sh: how fast one agent's output stack (agent_emit, spool,
# librdkafka) pushes records to the mock Kafka cluster, and how many spool
# bytes a record takes.  Prints figures; asserts nothing (shared machines
# are noisy).  Results go to bench/RESULTS.md by hand, with this command.
#
#   bench/produce.sh [BUILDDIR] [N]       (default: _build, 50000 records)
#
# Uses tests/agent-produce (make check builds it) with realistic synthetic
# records: container snapshots (6 processes, 8 labels, 3 mounts), container
# events, image inventories of 400 dpkg packages.

set -u
B=${1:-_build}
N=${2:-50000}
B=$(cd "$B" && pwd) || exit 1
MK=$B/tests/mock-kafka
AP=$B/tests/agent-produce
[ -x "$MK" ] && [ -x "$AP" ] || { echo "build first: make -C $B check TESTS=" >&2; exit 1; }
T=$(mktemp -d /tmp/tm-bench-produce-XXXXXX)
MKPID=
cleanup() {
	[ -n "$MKPID" ] && kill "$MKPID" 2>/dev/null && wait "$MKPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

"$MK" -t tallyman.inventory:3 -f "$T/addr" -s "$T/state" >"$T/mk.log" 2>&1 &
MKPID=$!
for _ in $(seq 100); do [ -s "$T/addr" ] && break; sleep 0.1; done
K=$(cat "$T/addr")

conf() {
	printf 'host.id = %s\nstate.dir = %s\noutput = kafka\nkafka.brokers = %s\nheartbeat.interval = 30s\n' \
	    "$1" "$T/$1" "$K" >"$T/$1.conf"
}

now() { date +%s.%N; }

# 1. Throughput: N records as fast as the spool takes them, until every one
# is acknowledged by the mock cluster.
for mix in container,event image; do
	n=$N
	[ "$mix" = image ] && n=$((N / 10))
	conf "tp-$mix"
	t0=$(now)
	"$AP" -q -c "$T/tp-$mix.conf" -r 0 -n "$n" -x -m "$mix" 2>"$T/tp-$mix.log"
	t1=$(now)
	tail -n 1 "$T/tp-$mix.log"
	awk -v n="$n" -v a="$t0" -v b="$t1" -v m="$mix" 'BEGIN {
	    printf "throughput %-16s %7d records in %6.2f s: %8.0f records/s (produced, spooled and acknowledged)\n",
	    m, n, b - a, n / (b - a) }'
done

# Message sizes on the topic (msgpack, before Kafka's own zstd).
kcat -C -b "$K" -t tallyman.inventory -e -q -f '%k %S\n' 2>/dev/null | awk '
    { n[$1]++; b[$1] += $2 }
    END { for (k in n) printf "message    %-16s %7d messages: %7.0f bytes/message on the wire (msgpack)\n", substr(k, 4), n[k], b[k] / n[k] }'

# 2. Spool bytes per record: brokers down, records stay in the spool.
kill -USR1 "$MKPID"
sleep 1
for mix in container event image; do
	n=2000
	[ "$mix" = image ] && n=200
	conf "sp-$mix"
	"$AP" -q -c "$T/sp-$mix.conf" -r 0 -n "$n" -m "$mix" 2>"$T/sp-$mix.log" &
	p=$!
	for _ in $(seq 600); do
		grep -q "records produced" "$T/sp-$mix.log" 2>/dev/null && break
		# -q hides info: poll the spool size until it stops growing.
		s1=$(find "$T/sp-$mix/spool" -name '*.seg' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}')
		sleep 0.5
		s2=$(find "$T/sp-$mix/spool" -name '*.seg' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}')
		[ "$s1" -gt 0 ] && [ "$s1" = "$s2" ] && break
	done
	kill -KILL "$p"; wait "$p" 2>/dev/null
	bytes=$(find "$T/sp-$mix/spool" -name '*.seg' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
	awk -v n="$n" -v b="$bytes" -v m="$mix" 'BEGIN {
	    printf "spool      %-16s %7d records, %9d bytes: %7.0f bytes/record\n", m, n, b, b / n }'
done

# 3. Resident memory: 400 records/s (containers, events, 400-package
# images) for 15 s, the brokers down for 8 s of it; the highest VmRSS seen.
kill -USR2 "$MKPID"
sleep 1
conf rss
"$AP" -q -c "$T/rss.conf" -r 400 -m container,event,image -n 6000 -x 2>"$T/rss.log" &
p=$!
sleep 2
kill -USR1 "$MKPID"
max=0
for _ in $(seq 16); do
	sleep 0.5
	r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
	[ "${r:-0}" -gt "$max" ] && max=$r
done
kill -USR2 "$MKPID"
while kill -0 "$p" 2>/dev/null; do
	r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
	[ "${r:-0}" -gt "$max" ] && max=$r
	sleep 0.5
done
wait "$p"
echo "memory     highest VmRSS through an 8 s outage at 400 records/s: $max kB"

# 4. Idle: brokers up, nothing to send, 10 s.
conf idle
"$AP" -q -c "$T/idle.conf" -n 0 2>"$T/idle.log" &
p=$!
sleep 3
a=$(awk '{print $14 + $15}' "/proc/$p/stat")
sleep 10
b=$(awk '{print $14 + $15}' "/proc/$p/stat")
r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status")
kill -TERM "$p"; wait "$p"
echo "idle       CPU over 10 s with nothing to send: $((b - a)) clock ticks ($(getconf CLK_TCK)/s), VmRSS $r kB"
