#!/bin/bash
# spool-torn.sh: a spool whose last frame is torn (as a power loss leaves
# it) is recovered at start-up: the damaged frame is cut and counted, and
# every record before it is delivered.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

tr_init
kafka_start -t tallyman.inventory:1
host=torn-$TM_ID
tr_conf "$TM_TMP/agent.conf" "host.id=$host" "state.dir=$TM_TMP/state" \
    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1h"

# 300 records into the spool while no broker is reachable, then kill -9.
tap_check "all brokers down before the agent starts" kafka_down
tr_start agent1 -c "$TM_TMP/agent.conf" -r 1000 -n 300
tap_check "300 records spooled while the brokers are down" \
    harness_wait_for "300 records" 120 \
    grep -q 'agent-produce: 300 records produced' "$TM_LOGS/agent1.log"
tr_kill "$TR_PID"

# Tear the newest frame: its last 9 bytes never reached the disk.
seg=$(find "$TM_TMP/state/spool" -name '*.seg' -size +0 | sort | tail -n 1)
size=$(stat -c %s "$seg")
truncate -s $((size - 9)) "$seg"
tap_ok "the newest spool frame is torn ($seg cut from $size bytes)"

tap_check "the brokers come back" kafka_up
tr_start agent2 -c "$TM_TMP/agent.conf" -n 0 -x
tap_check "the restarted agent sends what the spool holds and drains" \
    tr_wait "$TR_PID" 300
tap_like "$(grep 'spool: .*damaged frame' "$TM_LOGS/agent2.log" | head -n 1)" \
    'damaged frame at offset [0-9]+ \(short' "the torn frame is detected at start-up"
tap_like "$(grep 'unacknowledged records' "$TM_LOGS/agent2.log")" \
    ': 299 unacknowledged records .* 1 damaged frames cut$' \
    "recovery counts one damaged frame cut and 299 records to send"

tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$host" "$TM_TMP/got.json"
jq -c 'select(.k != "heartbeat")' "$TM_TMP/got.json" >"$TM_TMP/records.json"
read -r n distinct max gaps disorder <<<"$(tr_seq_report "$TM_TMP/records.json")"
tap_diag "consumer: $n records, $distinct distinct, max $max, $gaps gaps, $disorder out of order"
tap_is "$distinct $max $gaps" "299 299 0" "every record before the torn one (1..299) is delivered, none missing"
tap_is "$disorder" 0 "in order"
tap_is "$(jq -r 'select(.k == "heartbeat") | .s' "$TM_TMP/got.json")" 300 \
    "the restarted agent continues the sequence right after the last intact record"
tap_done
