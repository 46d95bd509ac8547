#!/bin/bash
# spool-bound.sh: the spool bound is reached during a broker outage.  The
# oldest waiting records are dropped (never those already in librdkafka's
# hands), the loss is logged and counted, and the drop count in the last
# heartbeat equals the sequence gap the consumer sees.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

tr_init
kafka_start -t tallyman.inventory:3
host=bound-$TM_ID
tr_conf "$TM_TMP/agent.conf" "host.id=$host" "state.dir=$TM_TMP/state" \
    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s" \
    "spool.max_bytes=512K"

tr_start agent -c "$TM_TMP/agent.conf" -r 500 -n 12000 -x
agent=$TR_PID
sleep 2
tap_check "all brokers go down while records flow" kafka_down
sleep 18
bytes=$(find "$TM_TMP/state/spool" -name '*.seg' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
tr_ok_if '[ "$bytes" -le 524288 ]' "the spool stays within spool.max_bytes during the outage ($bytes bytes)"
tap_check "the brokers come back" kafka_up
tap_check "the agent catches up and drains" tr_wait "$agent" 300
tap_like "$(grep -c 'spool: full' "$TM_LOGS/agent.log")" '^[1-9]' "the drops are logged"

tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$host" "$TM_TMP/got.json"
read -r n distinct max gaps disorder <<<"$(tr_seq_report "$TM_TMP/got.json")"
last_drop=$(jq -s -r '[.[] | select(.k == "heartbeat")] | max_by(.s) | .b.drop // 0' "$TM_TMP/got.json")
agent_drop=$(sed -n 's/.*dropped=\([0-9]*\)$/\1/p' "$TM_LOGS/agent.log" | tail -n 1)
tap_diag "consumer: $n messages, $distinct distinct, max $max, $gaps gaps, $disorder out of order; last heartbeat drop=$last_drop; agent dropped=$agent_drop"
tr_ok_if '[ "${gaps:-0}" -gt 0 ]' "records were dropped (the consumer sees $gaps missing)"
tap_is "$last_drop" "$gaps" "the drop count in the last heartbeat equals the consumer's sequence gap"
tap_is "$agent_drop" "$gaps" "the agent's own drop counter equals the gap"
tap_is "$disorder" 0 "what arrives, arrives in order"
tr_ok_if '[ "$(jq -s "[.[] | select(.k != \"heartbeat\")] | length" "$TM_TMP/got.json")" -gt 0 ]' \
    "records from before, during and after the outage arrive"
tap_done
