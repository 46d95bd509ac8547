#!/bin/bash
# collector-kill.sh: the collector is killed with SIGKILL, twice, while four
# simulated hosts keep producing (tests/agent-produce: the agent's own
# output stack -- sequence, spool, producer, heartbeat -- one process per
# host, one of them sending image inventories over 512 KiB, split into
# parts that interleave with the other hosts' records on a shared
# partition), and restarted each time.  At the end, for every host:
#   - the records stored are exactly what the host produced: the count its
#     last heartbeat gives (its "records" counter, plus the heartbeat
#     itself), per kind the same as on the topic;
#   - its sequence is 1..N without a gap;
#   - a split record whose first part the collector read before a kill,
#     with another host's record after it on the same partition, and whose
#     last part came after the restart, is stored (the offset was held back
#     at its first part);
#   - what the collector reads again is dropped and counted as duplicates:
#     a second consumer group over the same store reads the whole topic
#     again, and every record is a duplicate, none stored twice.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"
. "$(dirname "$0")/../lib/collector.sh"

tr_init
col_init
kafka_start -t tallyman.inventory:3
HOSTS="sim-1 sim-2 sim-3 sim-4"
COUNT=${TM_KILL_COUNT:-750}
RATE=25
# A killed member stays in the group until its session times out (45 s by
# default): the restarted collector's partitions wait for that.
col_conf c kafka.session.timeout.ms=6000
col_start c || tap_bail "the collector did not start"
col_wait_partitions c 3 || tap_bail "the collector never got its partitions"

declare -A APID
for h in $HOSTS; do
	tr_conf "$TM_TMP/$h.conf" "host.id=$h" "state.dir=$TM_TMP/$h" \
	    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s"
	mix=container,event
	args=()
	if [ "$h" = sim-4 ]; then
		# One image record in 32, of 6000 packages: over 512 KiB.
		mix=$(printf 'container,event,%.0s' $(seq 15))container,image
		args=(-P 6000)
	fi
	tr_start "$h" -c "$TM_TMP/$h.conf" -r "$RATE" -n "$COUNT" -x -m "$mix" "${args[@]}"
	APID[$h]=$TR_PID
done

# stored: records stored over every host.
stored() {
	col_api c '/api/v1/hosts?limit=100' | jq '[.hosts[].records] | add // 0'
}
for k in 1 2; do
	want=$(($(stored) + 300))
	harness_wait_for "$want records stored" 120 \
	    bash -c '[ "$(curl -sf "$0/api/v1/hosts?limit=100" | jq "[.hosts[].records] | add // 0")" -ge "$1" ]' \
	    "${COL_API[c]}" "$want"
	running=0
	for h in $HOSTS; do kill -0 "${APID[$h]}" 2>/dev/null && running=$((running + 1)); done
	col_kill c
	tap_ok "collector killed with SIGKILL mid-stream (at least $want records stored, ${SECONDS}s)"
	tap_like "$running" '^[1-4]$' "the hosts were producing when it was killed ($running of 4)"
	sleep 1
	tap_check "restarted after kill $k" col_start c
done
for h in $HOSTS; do
	tap_check "$h produced its $COUNT records and exited" tr_wait "${APID[$h]}" 300
done

# The topic as it is: each host's records, decoded independently of the
# collector (kcat + tallyman-decode, parts joined).
tap_check "kcat reads the whole topic, tallyman-decode decodes it" \
    tr_consume sim-1 "$TM_TMP/topic.json"
for h in $HOSTS; do
	jq -c --arg h "$h" 'select(.h == $h)' "$TM_TMP/topic.json.all" >"$TM_TMP/$h.topic"
done

for h in $HOSTS; do
	hb=$(jq -s 'map(select(.k == "heartbeat")) | max_by(.s) | .b.rec' "$TM_TMP/$h.topic")
	n=$((hb + 1))
	col_wait_api c "$h's $n records" 120 ".records == $n" "/api/v1/hosts/$h"
	j=$(col_api c "/api/v1/hosts/$h")
	tap_is "$(jq -r '.heartbeat.records' <<<"$j")" "$hb" \
	    "$h: the stored last heartbeat is its final one (records $hb)"
	tap_is "$(jq -c '[.records, .sequence.high, .sequence.missing, (.sequence.gaps | length)]' <<<"$j")" \
	    "[$n,$n,0,0]" \
	    "$h: $n records stored = its heartbeat's $hb + the heartbeat itself; sequence 1..$n, no gap"
	tap_is "$(jq -c '.records_by_kind' <<<"$j")" \
	    "$(jq -sc 'unique_by(.s) | group_by(.k) | map({(.[0].k): length}) | add' "$TM_TMP/$h.topic")" \
	    "$h: records per kind as on the topic"
	tap_is "$(jq -s 'length - (unique_by(.s) | length)' "$TM_TMP/$h.topic")" 0 \
	    "$h: the topic holds each record once (the producer is idempotent)"
	tap_is "$(jq -r '.containers' <<<"$j")" \
	    "$(jq -s '[.[] | select(.k == "container" or .k == "event") | .b.id] | unique | length' "$TM_TMP/$h.topic")" \
	    "$h: one container row per container id on the topic"
	tap_is "$(jq -r .rejects <<<"$j")" 0 "$h: nothing refused"
done
tap_like "$(jq -s '[.[] | select(.k == "image")] | length' "$TM_TMP/sim-4.topic")" '^[1-9][0-9]*$' \
    "sim-4 sent split image records"
tap_like "$(kcat -C -b "$TM_KAFKA" -t tallyman.inventory -e -q -f '%s\n' | "$TM_DECODE" 2>/dev/null | jq -c 'select(.p != null) | .p' | head -n 1)" \
    '^\[0,[2-9]\]$' "the image records crossed Kafka in parts"

# Parts straddling a kill: part 0 of sim-x's record, then sim-y's record on
# the same partition; both read and the offsets committed; kill -9; the
# last part after the restart.
/usr/bin/python3 "$top_srcdir/tests/lib/hostile-records.py" split "$TM_TMP/split" sim-x 1 sim-y ||
    tap_bail "hostile-records.py split failed"
kcat -P -b "$TM_KAFKA" -t tallyman.inventory -p 0 -k sim-x "$TM_TMP/split/part0.msg" &&
    kcat -P -b "$TM_KAFKA" -t tallyman.inventory -p 0 -k sim-y "$TM_TMP/split/other.msg" ||
    tap_bail "kcat could not produce the parts"
col_wait_api c "sim-y's record" 60 '.records == 1' /api/v1/hosts/sim-y
sleep 3		# auto.commit.interval.ms is 1 s: the offsets are committed
col_kill c
tap_check "restarted after a kill between the parts of a record" col_start c
tap_check "the last part produced after the restart" \
    kcat -P -b "$TM_KAFKA" -t tallyman.inventory -p 0 -k sim-x "$TM_TMP/split/part1.msg"
col_wait_api c "sim-x's split record" 60 '.records == 1' /api/v1/hosts/sim-x
tap_is "$(col_api c /api/v1/hosts/sim-x | jq -c '[.records, .sequence.high, .rejects]')" "[1,1,0]" \
    "a split record whose parts straddle a kill is stored"
tap_is "$(col_api c '/api/v1/containers/ctr-split?host=sim-x' | jq -r '.labels | length')" 200 \
    "the joined record is whole (its 200 labels)"

# Everything read again: a new consumer group over the same store.
before=$(col_api c '/api/v1/hosts?limit=100' | jq -c '[.hosts[] | {id, records, duplicates: .sequence.duplicates}] | sort_by(.id)')
col_stop c
tap_is "$?" 0 "SIGTERM: the collector exits with status 0"
col_conf c kafka.session.timeout.ms=6000 "kafka.group=tm-$TM_ID-again" \
    "store.path=$TM_TMP/c/collector.db" \
    "api.listen=${COL_API[c]#http://}"
col_start c || tap_bail "the collector did not start with the new group"
for h in $HOSTS; do
	n=$(jq -r --arg h "$h" '.[] | select(.id == $h) | .records' <<<"$before")
	d=$(jq -r --arg h "$h" '.[] | select(.id == $h) | .duplicates' <<<"$before")
	col_wait_api c "$h's replay" 120 ".sequence.duplicates == $((d + n))" "/api/v1/hosts/$h"
	tap_is "$(col_api c "/api/v1/hosts/$h" | jq -c '[.records, .sequence.duplicates, .sequence.missing]')" \
	    "[$n,$((d + n)),0]" \
	    "$h: the whole topic read again: $n duplicates more, still $n records"
done
tap_is "$(col_api c '/api/v1/hosts?limit=100' | jq -r '[.hosts[].id] | sort | join(" ")')" \
    "$HOSTS sim-x sim-y" "the store knows the simulated hosts and nothing else"
col_stop c
tap_is "$?" 0 "SIGTERM: the collector exits with status 0"
tap_done
