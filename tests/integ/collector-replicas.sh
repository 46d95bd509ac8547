#!/bin/bash
# collector-replicas.sh: two collector replicas in one consumer group,
# sharing one SQLite store (WAL: several processes), over a topic of four
# partitions fed by four simulated hosts (tests/agent-produce).  The second
# replica starts mid-stream (a rebalance splits the partitions), then the
# first one stops (another rebalance hands it all to the second).  At the
# end the store is the same as what one replica, fed the same records from
# the same topic into a store of its own, made of them: the API's hosts,
# containers, images and package answers compared, arrival times aside.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"
. "$(dirname "$0")/../lib/collector.sh"

tr_init
col_init
kafka_start -t tallyman.inventory:4
HOSTS="rep-1 rep-2 rep-3 rep-4"
# 45 s of records per host: r2 joins and r1 leaves while they produce,
# even on a loaded machine.
COUNT=${TM_REPLICAS_COUNT:-900}
RATE=20
STORE=$TM_TMP/shared/collector.db
mkdir -p "$TM_TMP/shared"
# A stopped member's partitions move at once (it leaves the group); the
# session timeout only matters for one that dies.
col_conf r1 "store.path=$STORE" kafka.session.timeout.ms=6000
col_conf r2 "store.path=$STORE" kafka.session.timeout.ms=6000
col_start r1 || tap_bail "replica r1 did not start"
col_wait_partitions r1 4 || tap_bail "replica r1 never got the partitions"

declare -A APID
for h in $HOSTS; do
	tr_conf "$TM_TMP/$h.conf" "host.id=$h" "state.dir=$TM_TMP/$h" \
	    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s"
	case $h in
	rep-1) mix=container,event ;;
	rep-2) mix=container,event,image ;;
	rep-3) mix=event,event,container ;;
	rep-4) mix=image,container,event,event ;;
	esac
	tr_start "$h" -c "$TM_TMP/$h.conf" -r "$RATE" -n "$COUNT" -x -m "$mix" -P 40
	APID[$h]=$TR_PID
done

# stored NAME: records stored over every host, as replica NAME answers.
stored() {
	col_api "$1" '/api/v1/hosts?limit=100' | jq '[.hosts[].records] | add // 0'
}
# wait_stored NAME N: until at least N records are stored.
wait_stored() {
	harness_wait_for "$2 records stored" 120 bash -c \
	    '[ "$(curl -sf "$0/api/v1/hosts?limit=100" | jq "[.hosts[].records] | add // 0")" -ge "$1" ]' \
	    "${COL_API[$1]}" "$2"
}
# partitions NAME: partitions the replica consumes now.
partitions() {
	curl -sf --max-time 30 "${COL_API[$1]}/healthz" | jq -r .kafka.partitions_assigned
}
# consumed NAME: records this replica's process stored (its own counters).
consumed() {
	col_api "$1" /metrics | awk '/^tallyman_records_total/ { n += $2 } END { print n + 0 }'
}

wait_stored r1 300
tap_check "replica r2 started mid-stream (same group, same store)" col_start r2
harness_wait_for "the partitions split between r1 and r2" 60 bash -c \
    'a=$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned); b=$(curl -sf "$1/healthz" | jq -r .kafka.partitions_assigned); [ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ $((a + b)) -eq 4 ]' \
    "${COL_API[r1]}" "${COL_API[r2]}"
p1=$(partitions r1)
p2=$(partitions r2)
tap_is "$p1+$p2" "$((p1))+$((4 - p1))" "after the rebalance r1 and r2 share the 4 partitions ($p1 and $p2)"
wait_stored r2 $(($(stored r2) + 100))
c1=$(consumed r1)
c2=$(consumed r2)
tap_like "$c2" '^[1-9][0-9]*$' "r2 stores records while r1 runs ($c2; r1 stored $c1)"
running=0
for h in $HOSTS; do kill -0 "${APID[$h]}" 2>/dev/null && running=$((running + 1)); done
tap_like "$running" '^[1-4]$' "the hosts still produce when r1 stops ($running of 4)"
col_stop r1
tap_is "$?" 0 "r1 stops on SIGTERM with status 0 (mid-stream)"
harness_wait_for "r2 takes every partition" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -eq 4 ]' "${COL_API[r2]}"
tap_is "$(partitions r2)" 4 "after r1 left, r2 consumes the 4 partitions"
for h in $HOSTS; do
	tap_check "$h produced its $COUNT records and exited" tr_wait "${APID[$h]}" 300
done
# Each host's total, from its own last words ("records=N", heartbeats
# included).
declare -A WANT
for h in $HOSTS; do
	WANT[$h]=$(sed -n 's/^agent-produce: records=\([0-9]*\) .*/\1/p' "$TM_LOGS/$h.log" | tail -n 1)
	col_wait_api r2 "$h's ${WANT[$h]} records" 120 ".records == ${WANT[$h]}" "/api/v1/hosts/$h"
	tap_is "$(col_api r2 "/api/v1/hosts/$h" | jq -c '[.records, .sequence.high, .sequence.missing, .rejects]')" \
	    "[${WANT[$h]},${WANT[$h]},0,0]" \
	    "$h: its ${WANT[$h]} records stored once by the two replicas, sequence without a gap"
done

tap_diag "records read again across the rebalances (dropped as duplicates): $(col_api r2 '/api/v1/hosts?limit=100' | jq '[.hosts[].sequence.duplicates] | add')"

# One replica alone, fed the same topic into a store of its own.
col_conf one "kafka.group=tm-$TM_ID-one"
col_start one || tap_bail "the single replica did not start"
for h in $HOSTS; do
	col_wait_api one "$h's records (one replica)" 120 ".records == ${WANT[$h]}" "/api/v1/hosts/$h"
done

# norm: an answer without what depends on when it arrived, or on how many
# times it was read (duplicates); the findings are the engine's, not the
# store's.
norm() {
	jq -S 'walk(if type == "object" then del(.first_seen, .last_seen,
	    .last_heartbeat, .silent, .silent_since, .snapshot_received,
	    .first_snapshot_received, .duplicates, .findings) else . end)'
}
# answer NAME PATH: PATH's answer from replica NAME, normalised; a list of
# containers (ordered by arrival) gathered over its pages and sorted.
answer() {
	local name=$1 path=$2 cur=0 total
	case $path in
	/api/v1/containers\?*)
		total=$(col_api "$name" "$path&limit=1" | jq .total)
		while [ "$cur" -lt "${total:-0}" ]; do
			col_api "$name" "$path&limit=1000&cursor=$cur" | jq -c '.containers[]'
			cur=$((cur + 1000))
		done | jq -s 'sort_by(.host, .id)' | norm
		;;
	/api/v1/stats)
		# The findings are the engines' (see below), not the store's.
		col_api "$name" "$path" | jq 'del(.findings_open, .findings_stored, .advisories)' | norm
		;;
	/api/v1/images/*)
		# Its hosts come in the order they sent it.
		col_api "$name" "$path" | jq '.hosts |= sort_by(.host)' | norm
		;;
	*)
		col_api "$name" "$path" | norm
		;;
	esac
}
# same PATH WHAT: r2 and the single replica answer PATH alike.
same() {
	answer r2 "$1" >"$TM_TMP/a.json"
	answer one "$1" >"$TM_TMP/b.json"
	if [ -s "$TM_TMP/a.json" ] && [ "$(jq length "$TM_TMP/a.json")" -gt 0 ] &&
	    cmp -s "$TM_TMP/a.json" "$TM_TMP/b.json"; then
		tap_ok "$2: the same answer"
	else
		tap_fail "$2: the same answer" "$1" \
		    "$(diff "$TM_TMP/a.json" "$TM_TMP/b.json" | head -n 20)"
	fi
}
same '/api/v1/hosts?limit=1000' "hosts"
for h in $HOSTS; do
	same "/api/v1/hosts/$h" "host $h"
done
total=$(col_api one '/api/v1/containers?limit=1&running=any' | jq .total)
tap_like "$total" '^[1-9][0-9]*$' "the single replica stored $total containers"
same '/api/v1/containers?running=any' "every container ($total)"
same '/api/v1/containers?running=false' "the containers not running"
for h in $HOSTS; do
	for id in $(col_api one "/api/v1/containers?host=$h&limit=8&running=any" | jq -r '.containers[].id'); do
		same "/api/v1/containers/$id?host=$h" "container $h/${id:0:12}"
	done
	same "/api/v1/containers?host=$h&running=true" "$h's running containers"
done
same '/api/v1/images?limit=1000' "images"
for key in $(col_api one '/api/v1/images?limit=5' | jq -r '.images[].key'); do
	same "/api/v1/images/$key" "image ${key:0:20}"
done
for name in libssl0-0 libgcc-s1-1 libsystemd2-2; do
	same "/api/v1/packages?name=$name&running=any" "packages named $name"
done
same '/api/v1/stats' "stats"
# Not compared: each replica's correlation engine knows the store as it was
# when the replica started plus what it consumed itself, so its findings
# differ from a single replica's.  Shown, for the record.
tap_diag "open findings: r2 $(col_api r2 /api/v1/stats | jq .findings_open), one replica $(col_api one /api/v1/stats | jq .findings_open)"
col_stop r2
tap_is "$?" 0 "r2 stops on SIGTERM with status 0"
col_stop one
tap_is "$?" 0 "the single replica stops on SIGTERM with status 0"
tap_done
