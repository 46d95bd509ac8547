#!/bin/bash
# collector-epochs.sh: an agent whose state folder is lost (a package purged
# and installed again) starts its sequence again at 1 under a new epoch
# (the envelope's "e", schema 1.1).  The collector must store the new
# records -- not drop them as replays of the old 1..N -- count one restart,
# keep the old epoch's end in sequence.retired_epochs, and still drop a
# replay of the old epoch's records (the whole topic read again by a new
# consumer group over the same store) as duplicates.  The real output stack
# of the agent (tests/agent-produce) writes the records.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"
. "$(dirname "$0")/../lib/collector.sh"

tr_init
col_init
kafka_start -t tallyman.inventory:1
col_conf c
col_start c || tap_bail "the collector did not start"

# run N: produce N records as host sim-e from state folder $TM_TMP/sim-e.
run() {
	tr_conf "$TM_TMP/sim-e.conf" "host.id=sim-e" "state.dir=$TM_TMP/sim-e" \
	    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s"
	tr_start "sim-e-$1" -c "$TM_TMP/sim-e.conf" -r 200 -n "$1" -x -m container,event
	tr_wait "$TR_PID" 120
}
# epoch_of: the epoch in the agent's state file.
epoch_of() {
	sed -n 's/.* epoch=\([0-9]*\).*/\1/p' "$TM_TMP/sim-e/seq"
}
# high EPOCH: the highest sequence number the host sent under EPOCH, as
# kcat sees the topic.  (Python, not jq: jq reads numbers as doubles, and an
# epoch goes up to 2^62.)
high() {
	kcat -C -b "$TM_KAFKA" -t tallyman.inventory -e -q -f '%s\n' |
	    "$TM_DECODE" 2>/dev/null |
	    /usr/bin/python3 -c '
import json, sys
s = [r["s"] for r in map(json.loads, sys.stdin)
     if r.get("h") == "sim-e" and r.get("e", 0) == int(sys.argv[1])]
print(max(s) if s else "none")' "$1"
}

tap_check "the first install produced its records" run 60
e1=$(epoch_of)
tap_like "$e1" '^[1-9][0-9]*$' "the agent chose an epoch ($e1)"
h1=$(high "$e1")
tap_like "$h1" '^[0-9]+$' "the topic holds the first epoch's records, 1..$h1"
col_wait_api c "the first epoch's $h1 records" 60 ".records == $h1" /api/v1/hosts/sim-e
tap_is "$(col_api c /api/v1/hosts/sim-e | jq -c '[.sequence.epoch, .sequence.high, .sequence.restarts]')" \
    "[\"$e1\",$h1,0]" "the collector follows epoch $e1 up to $h1"

# Purged and installed again: the state folder is gone.
rm -rf "$TM_TMP/sim-e"
tap_check "the second install produced its records" run 30
e2=$(epoch_of)
tap_like "$e2" '^[1-9][0-9]*$' "the new state has an epoch"
tap_check "a new epoch" test "$e2" != "$e1"
h2=$(high "$e2")
tap_like "$h2" '^[0-9]+$' "the topic holds the new epoch's records, 1..$h2"
tap_is "$((h2 < h1))" 1 "the new sequence starts again below the old one's end ($h2 < $h1)"
n=$((h1 + h2))
col_wait_api c "both epochs' $n records" 60 ".records == $n" /api/v1/hosts/sim-e
j=$(col_api c /api/v1/hosts/sim-e)
tap_is "$(jq -c '[.records, .sequence.duplicates, .sequence.missing]' <<<"$j")" "[$n,0,0]" \
    "every record of both epochs stored: none taken for a replay, no gap"
tap_is "$(jq -c '[.sequence.epoch, .sequence.high, .sequence.restarts]' <<<"$j")" \
    "[\"$e2\",$h2,1]" "the collector follows epoch $e2 up to $h2, one restart"
tap_is "$(jq -c '.sequence.retired_epochs' <<<"$j")" "[{\"epoch\":\"$e1\",\"high\":$h1}]" \
    "the old epoch is retired with its end"

# The whole topic again, through a new consumer group over the same store.
col_stop c
tap_is "$?" 0 "SIGTERM: the collector exits with status 0"
col_conf c "kafka.group=tm-$TM_ID-again" "store.path=$TM_TMP/c/collector.db" \
    "api.listen=${COL_API[c]#http://}"
col_start c || tap_bail "the collector did not start with the new group"
col_wait_api c "the replay of both epochs" 60 ".sequence.duplicates == $n" /api/v1/hosts/sim-e
tap_is "$(col_api c /api/v1/hosts/sim-e | jq -c '[.records, .sequence.duplicates, .sequence.restarts, .sequence.epoch]')" \
    "[$n,$n,1,\"$e2\"]" \
    "both epochs read again: $n duplicates, nothing stored twice, the epoch unmoved"
col_stop c
tap_is "$?" 0 "SIGTERM: the collector exits with status 0"
tap_done
