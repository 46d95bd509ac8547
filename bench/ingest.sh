#!/bin/bash
# bench/ingest.sh: the collector's ingest rate, from a full topic into
# SQLite, and the cost of a feed change, through a running
# `tallyman-collector run`.  Prints figures; asserts nothing but that every
# record was stored (shared machines are noisy).  Results go to
# bench/RESULTS.md by hand, with this command.
#
#   bench/ingest.sh [BUILDDIR] [HOSTS]      (default: _build, 10000 hosts)
#   bench/ingest.sh --help
#
# The figures in bench/RESULTS.md come from an optimised build, in the
# source tree:
#   autoreconf -fi && mkdir -p _build-opt && cd _build-opt &&
#   ../configure CFLAGS="-O2 -g" && make -j2 all && make check TESTS= &&
#   cd .. && bash bench/ingest.sh _build-opt 10000
# (`make check TESTS=` builds tests/mock-kafka and bench/fleet-gen without
# running the suite.)  10 000 hosts: about 760 000 records, 1.4 GB of
# msgpack in the mock cluster (held in memory), 1.5 GB of store in /tmp;
# several minutes on 2 cores.  Needs curl, sqlite3, kcat and python3.
#
# Environment: MINUTES (simulated window, default 15), PARTITIONS (of the
# inventory topic, default 64: librdkafka's mock cluster keeps at most
# about 5 MB of (compressed) batches per partition and drops the oldest;
# the script checks that nothing was dropped), ADVISORIES (OSV records in the feed, default
# 2000), IMAGES (distinct images in the fleet, default 40), FEED_AT_START=1
# (the collector starts with the first feed: ingest correlates every record
# against it), FEEDS=0 (skip the feed steps), PROFILE="perf record -g -o FILE" or any command prefix to
# run the collector under, KEEP=1 (keep the temporary folder).
#
# Steps:
#  1. the mock cluster (tests/mock-kafka), and bench/fleet-gen produces the
#     fleet's records first (see fleet-gen.c for the mix), so the collector
#     reads from a full topic;
#  2. the collector starts; /metrics is read every 0.2 s until every
#     record is stored (tallyman_records_total + duplicates + rejects =
#     records produced): records/s from the collector's start and from its
#     first stored record, the time in store batches, the collector's CPU
#     time, its main thread's time on a CPU and waiting for one (the
#     records over the former: the loop's own rate, whatever the machine's
#     load), the consumer's decoder and writer threads' time on a CPU and
#     the batches decoded ahead, every thread's time by name, the records
#     over the busiest of the loop, the decoder and the writer (the
#     pipeline's capacity with a core for each), the bytes it wrote, peak
#     RSS (VmHWM);
#  3. store size per host: the SQLite files (the store and its findings
#     store) + WALs after a checkpoint (PRAGMA wal_checkpoint(TRUNCATE)),
#     divided by the hosts; the rows per table; SQLite's PRAGMA
#     integrity_check of each file ("ok");
#  4. the first OSV feed (SIGHUP with feeds.osv changed): time until the
#     engine has evaluated the fleet and every finding change is written
#     (tallyman_findings_unwritten 0); then the changed feed (one record in
#     ten gets a later fix, one in twenty withdrawn): the re-evaluation,
#     the same way.

set -u
case ${1:-} in
-h|--help)
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac
B=${1:-_build}
HOSTS=${2:-10000}
MINUTES=${MINUTES:-15}
PARTITIONS=${PARTITIONS:-64}
ADVISORIES=${ADVISORIES:-2000}
IMAGES=${IMAGES:-40}
FEED_AT_START=${FEED_AT_START:-0}
PROFILE=${PROFILE:-}
B=$(cd "$B" && pwd) || exit 1
MK=$B/tests/mock-kafka
FG=$B/bench/fleet-gen
COL=$B/collector/tallyman-collector
for p in "$MK" "$FG" "$COL"; do
	[ -x "$p" ] || { echo "ingest.sh: $p missing: make -C $B all check TESTS=" >&2; exit 1; }
done
for c in curl sqlite3 kcat python3; do
	command -v "$c" >/dev/null || { echo "ingest.sh: needs $c" >&2; exit 1; }
done
T=$(mktemp -d /tmp/tm-bench-ingest-XXXXXX)
MKPID=
CPID=
cleanup() {
	if [ -n "$CPID" ]; then
		kill -TERM "$COLPID" 2>/dev/null
		wait "$CPID" 2>/dev/null
	fi
	if [ -n "$MKPID" ]; then
		kill -TERM "$MKPID" 2>/dev/null
		wait "$MKPID" 2>/dev/null
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "ingest.sh: kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
fail() { echo "ingest.sh: $*" >&2; [ -f "$T/collector.log" ] && tail -n 20 "$T/collector.log" >&2; exit 1; }

# 1. The cluster and the fleet's records.
"$MK" -t tallyman.inventory:"$PARTITIONS" -t tallyman.findings:1 -f "$T/addr" \
    >"$T/mk.log" 2>&1 &
MKPID=$!
for _ in $(seq 100); do [ -s "$T/addr" ] && break; sleep 0.1; done
[ -s "$T/addr" ] || fail "the mock cluster did not start"
K=$(cat "$T/addr")
"$FG" -b "$K" -n "$HOSTS" -m "$MINUTES" -i "$IMAGES" >"$T/gen.out" 2>"$T/gen.err" ||
    fail "fleet-gen failed: $(cat "$T/gen.err")"
cat "$T/gen.out"
TOTAL=$(awk '/ total / {print $3}' "$T/gen.out")
[ -n "$TOTAL" ] || fail "no total from fleet-gen"
# The mock cluster trims each partition's log: every record must still be
# there for the collector to read.
p=0
while [ "$p" -lt "$PARTITIONS" ]; do
	low=$(kcat -Q -b "$K" -t "tallyman.inventory:$p:-2" 2>/dev/null | awk '{print $NF}')
	[ "$low" = 0 ] || fail "the mock cluster dropped the first $low messages of partition $p: use more PARTITIONS"
	p=$((p + 1))
done
mkdir -p "$T/feed1" "$T/feed2" "$T/state"
"$FG" -F "$T/feed1/fleet.json" -A "$ADVISORIES" -i "$IMAGES" || fail "feed"
"$FG" -F "$T/feed2/fleet.json" -A "$ADVISORIES" -i "$IMAGES" -c || fail "feed"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
conf() {
	cat >"$T/collector.conf" <<CONF
log.level = warn
kafka.brokers = $K
kafka.topic = tallyman.inventory
kafka.group = bench-ingest
store.path = $T/state/collector.db
api.listen = 127.0.0.1:$PORT
api.auth = none
feeds.osv = $1
findings.topic = tallyman.findings
CONF
}

# metric NAME: the sum of every sample of NAME in the last /metrics read.
metric() {
	awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.6f\n", s + 0 }' "$T/metrics"
}
scrape() { curl -sf --max-time 5 "$API/metrics" >"$T/metrics.new" && mv "$T/metrics.new" "$T/metrics"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$COLPID/status" 2>/dev/null; }
# CPU seconds the collector used so far (user + system, all its threads).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$COLPID/stat" 2>/dev/null; }
int() { printf '%.0f' "$1"; }
# The main thread (the loop that checks and stores): nanoseconds on a CPU
# and waiting for one (/proc/PID/task/TID/schedstat).
sched() { cat "/proc/$COLPID/task/$COLPID/schedstat" 2>/dev/null || echo "0 0 0"; }
# A thread of the collector by name (tm-decode: the consumer's decoder,
# tm-store: its writer, tm-fwrite: the findings writer): seconds on a CPU.
thread_cpu() {
	local t
	for t in /proc/$COLPID/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] || continue
		awk '{ printf "%.2f\n", $1 / 1e9 }' "$t/schedstat"
		return
	done
	echo 0
}
decoder() { thread_cpu tm-decode; }
# Every thread's seconds on a CPU, summed by name, the busiest first.
threads() {
	local t
	for t in /proc/$COLPID/task/*; do
		printf '%s %s\n' "$(cat "$t/comm" 2>/dev/null | tr ' ' _)" \
		    "$(awk '{ print $1 }' "$t/schedstat" 2>/dev/null)"
	done | awk '{ s[$1] += $2 } END { for (k in s) printf "%s %.2f\n", k, s[k] / 1e9 }' |
	    sort -k2,2nr | awk '{ printf "%s%s %s s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }'
}
# Bytes the collector wrote so far (every write(2) and pwrite(2)).
wchar() { awk '$1 == "wchar:" { print $2 }' "/proc/$COLPID/io" 2>/dev/null; }

# 2. Ingest.
if [ "$FEED_AT_START" = 1 ]; then conf "$T/feed1"; else conf ""; fi
t_start=$(now)
$PROFILE "$COL" -c "$T/collector.conf" run >"$T/collector.log" 2>&1 </dev/null &
CPID=$!
# Under a profiler that forks (perf record), signals go to its child.
COLPID=$CPID
if [ -n "$PROFILE" ]; then
	sleep 1
	c=$(pgrep -P "$CPID" -n 2>/dev/null) && COLPID=$c
fi
t_first=
stored=0
last=-1
still=0
while :; do
	kill -0 "$CPID" 2>/dev/null || fail "the collector exited"
	if scrape; then
		stored=$(int "$(awk '
		    /^tallyman_records_total/ || /^tallyman_rejects_total/ ||
		    /^tallyman_duplicates_total/ { s += $2 } END { print s + 0 }' "$T/metrics")")
		[ -z "$t_first" ] && [ "$stored" -gt 0 ] && t_first=$(now)
		[ "$stored" -ge "$TOTAL" ] && break
	fi
	if [ "$stored" = "$last" ]; then
		still=$((still + 1))
		[ "$still" -lt 600 ] || fail "no progress for 120 s: $stored of $TOTAL records stored"
	else
		still=0
		last=$stored
	fi
	sleep 0.2
done
t_done=$(now)
s_done=$(sched)
d_done=$(decoder)
st_done=$(thread_cpu tm-store)
fw_done=$(thread_cpu tm-fwrite)
th_done=$(threads)
w_done=$(wchar)
cpu_ingest=$(cpu)
hwm_ingest=$(hwm)
batch_s=$(metric tallyman_store_batch_seconds_total)
commit_s=$(metric tallyman_store_commit_seconds_total)
batches=$(int "$(metric tallyman_store_batches_total)")
ahead=$(int "$(metric tallyman_batches_decoded_ahead_total)")
rejects=$(int "$(metric tallyman_rejects_total)")
awk -v n="$TOTAL" -v a="$t_start" -v f="$t_first" -v d="$t_done" -v bs="$batch_s" \
    -v cs="$commit_s" -v nb="$batches" -v rj="$rejects" -v cpu="$cpu_ingest" 'BEGIN {
	printf "ingest     %d records stored in %.2f s from the collector'"'"'s start: %.0f records/s\n", n, d - a, n / (d - a)
	printf "ingest     from the first stored record: %.2f s, %.0f records/s\n", d - f, n / (d - f)
	printf "ingest     in store batches (check, write, commit): %.2f s, %.0f records/s; commits %.2f s; %d batches; %d rejected\n", bs, n / bs, cs, nb, rj
	printf "ingest     collector CPU (user + system, every thread): %.2f s, %.0f records per CPU-second\n", cpu, n / cpu
}'
# Where the main thread's time went: on a shared machine "waiting for a
# CPU" is other people's load, "neither" is Kafka, the disk or an idle loop.
# The records over the main thread's CPU time: the loop's own capacity,
# what it would store with a core to itself (the other threads, librdkafka's
# and the store's checkpointer, then need the second).
# Its counters start with the collector (under PROFILE, about 1 s later).
echo "$s_done" | awk -v a="$t_start" -v d="$t_done" -v n="$TOTAL" '{
	run = $1 / 1e9; wait = $2 / 1e9; wall = d - a
	printf "ingest     main thread from the collector'"'"'s start: on a CPU %.2f s, waiting for a CPU %.2f s, neither %.2f s (of %.2f s)\n", run, wait, wall - run - wait, wall
	if (run > 0)
		printf "ingest     records per second of the main thread on a CPU: %.0f\n", n / run
}'
echo "ingest     decoder thread on a CPU: $d_done s; batches decoded ahead: $ahead of $batches"
echo "ingest     writer thread (tm-store) on a CPU: $st_done s; findings writer (tm-fwrite): $fw_done s"
echo "ingest     every thread on a CPU, by name: $th_done"
# The pipeline's capacity: the records over the CPU time of its busiest
# stage (the loop, the decoder, the writer or the findings writer), what
# one collector stores with a core for each.
echo "$s_done" | awk -v n="$TOTAL" -v d="$d_done" -v w="$st_done" -v f="$fw_done" '{
	m = $1 / 1e9; b = m; who = "main"
	if (d + 0 > b) { b = d; who = "tm-decode" }
	if (w + 0 > b) { b = w; who = "tm-store" }
	if (f + 0 > b) { b = f; who = "tm-fwrite" }
	if (b > 0)
		printf "ingest     records per CPU-second of the busiest thread (%s): %.0f\n", who, n / b
}'
[ -n "$w_done" ] && awk -v w="$w_done" -v n="$TOTAL" 'BEGIN {
	printf "ingest     written by the collector (the WAL and its checkpoints): %.2f GB, %.1f kB per record\n", w / 1e9, w / n / 1e3 }'

# CIS findings of the ingest (no feed yet): written too.
for _ in $(seq 600); do
	scrape && [ "$(int "$(metric tallyman_findings_unwritten)")" = 0 ] && break
	sleep 0.2
done
t_cis=$(now)
echo "findings   after ingest: $(int "$(metric tallyman_findings_open)") open, all written $(awk -v a="$t_done" -v b="$t_cis" 'BEGIN { printf "%.2f", b - a }') s after the last record"

# 3. Store size per host: the store and its findings store (since
# bench/RESULTS.md's "findings in a file of their own"; before, findings
# were in the one file).
FDB=$T/state/collector-findings.db
[ -e "$FDB" ] || FDB=
size=0
for f in "$T/state/collector.db" $FDB; do
	sqlite3 "$f" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null 2>&1
	db=$(stat -c %s "$f")
	wal=$(stat -c %s "$f-wal" 2>/dev/null || echo 0)
	size=$((size + db + wal))
	awk -v f="${f##*/}" -v d="$db" -v w="$wal" 'BEGIN {
		printf "store      %s: %.1f MB (file %d + WAL %d bytes after a checkpoint)\n", f, (d + w) / 1e6, d, w }'
done
awk -v s="$size" -v h="$HOSTS" 'BEGIN { printf "store      %.1f MB in all: %.0f bytes/host\n", s / 1e6, s / h }'
sqlite3 "$T/state/collector.db" "SELECT 'store      rows: ' || (SELECT count(*) FROM hosts) || ' hosts, ' ||
    (SELECT count(*) FROM containers) || ' containers, ' || (SELECT coalesce(sum(n_procs), 0) FROM containers) || ' processes, ' ||
    (SELECT count(*) FROM images) || ' images, ' || (SELECT count(*) FROM pkgsets) || ' package sets of ' ||
    (SELECT count(*) FROM packages) || ' packages, ' ||
    (SELECT count(*) FROM ${FDB:+f.}findings) || ' findings'" ${FDB:+-cmd "ATTACH '$FDB' AS f"} 2>/dev/null
for f in "$T/state/collector.db" $FDB; do
	echo "store      integrity of ${f##*/}: $(sqlite3 "$f" 'PRAGMA integrity_check' 2>&1 | head -n 5 | tr '\n' ' ')"
done

# 4. Feeds: SIGHUP with feeds.osv changed, until every change is written.
feed_step() {
	local label=$1 dir=$2 loads t0 t1 t2
	loads=$(int "$(metric tallyman_feed_loads_total)")
	w0=$(int "$(metric tallyman_findings_written_total)")
	conf "$dir"
	t0=$(now)
	m0=$(sched)
	kill -HUP "$COLPID"
	while :; do
		kill -0 "$CPID" 2>/dev/null || fail "the collector exited"
		scrape && [ "$(int "$(metric tallyman_feed_loads_total)")" -gt "$loads" ] && break
		sleep 0.1
	done
	t1=$(now)
	m1=$(sched)
	while :; do
		scrape && [ "$(int "$(metric tallyman_findings_unwritten)")" = 0 ] && break
		sleep 0.1
	done
	t2=$(now)
	awk -v l="$label" -v a="$t0" -v b="$t1" -v c="$t2" -v e="$(metric tallyman_reevaluation_seconds)" \
	    -v w="$(( $(int "$(metric tallyman_findings_written_total)") - w0 ))" -v o="$(int "$(metric tallyman_findings_open)")" 'BEGIN {
		printf "%-10s SIGHUP to evaluated: %.2f s (engine: %.2f s); every change written: %.2f s; %d changes written, %d open\n", l, b - a, e, c - a, w, o }'
	# The main thread (the engine) until evaluated: on a CPU, and waiting
	# for one (the other threads' writes and encoding share the machine).
	echo "$m0 $m1" | awk -v l="$label" '{
		printf "%-10s main thread until evaluated: on a CPU %.2f s, waiting for a CPU %.2f s\n", l, ($4 - $1) / 1e9, ($5 - $2) / 1e9 }'
}
if [ "${FEEDS:-1}" = 0 ]; then
	:
elif [ "$FEED_AT_START" = 1 ]; then
	feed_step "reeval" "$T/feed2"
else
	feed_step "feed" "$T/feed1"
	feed_step "reeval" "$T/feed2"
fi
echo "memory     peak RSS (VmHWM): $hwm_ingest kB after ingest, $(hwm) kB at the end"
kill -TERM "$COLPID"
wait "$CPID"
CPID=
grep -c "warn\|error" "$T/collector.log" | awk '{ if ($1 > 0) print "log        " $1 " warning(s) in the collector log" }'
