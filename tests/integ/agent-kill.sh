#!/bin/bash
# agent-kill.sh: kill -9 of the agent while it produces, then a restart:
# the consumer sees no sequence gap (duplicates allowed, recognisable by
# their sequence number).  Twice: once with the brokers up (records in
# librdkafka's hands die with it), once during an outage (the spool holds
# everything unacknowledged) with the restart after the brokers return.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

tr_init
kafka_start -t tallyman.inventory:3
host=kill-$TM_ID
tr_conf "$TM_TMP/agent.conf" "host.id=$host" "state.dir=$TM_TMP/state" \
    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s"

# 1. Brokers up, kill -9 mid-stream.
tr_start agent1 -c "$TM_TMP/agent.conf" -r 400
sleep 4
tr_kill "$TR_PID"
tap_ok "agent killed with SIGKILL while producing"

# 2. Restart; then an outage, kill -9 during it.
tr_start agent2 -c "$TM_TMP/agent.conf" -r 400
agent=$TR_PID
sleep 3
tap_check "all brokers go down" kafka_down
sleep 3
tr_kill "$agent"
tap_ok "agent killed with SIGKILL during the outage, records unacknowledged in the spool"
segs=$(find "$TM_TMP/state/spool" -name '*.seg' -size +0 | wc -l)
tr_ok_if '[ "$segs" -ge 1 ]' "the spool holds segments after the kill ($segs)"
tap_check "the brokers come back" kafka_up

# 3. Restart: the spool is sent first, then new records; stop cleanly.
tr_start agent3 -c "$TM_TMP/agent.conf" -r 400 -n 400 -x
tap_check "the restarted agent sends the spool, then 400 new records, and drains" \
    tr_wait "$TR_PID" 300
tap_like "$(grep -c 'seq: continuing at' "$TM_LOGS/agent3.log")" '^1$' \
    "the restarted agent continues the sequence"

tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$host" "$TM_TMP/got.json"
read -r n distinct max gaps disorder <<<"$(tr_seq_report "$TM_TMP/got.json")"
tap_diag "consumer: $n messages, $distinct distinct, max $max, $gaps gaps, $disorder out of order"
tr_ok_if '[ "${max:-0}" -gt 2000 ]' "three runs' records reached Kafka (highest sequence $max)"
tap_is "$gaps" 0 "no sequence gap at the consumer across two kill -9"
tap_is "$disorder" 0 "first sightings of each sequence number come in order"
dups=$((n - distinct))
tap_diag "duplicates (re-sent after the kills): $dups"
tap_done
