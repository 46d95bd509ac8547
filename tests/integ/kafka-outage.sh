#!/bin/bash
# kafka-outage.sh: every broker goes down for 30 s while the agent's output
# stack produces records at a steady rate.  The records wait in the spool
# (and in librdkafka's window); once the brokers are back every record
# arrives, the host's sequence complete and in order, nothing dropped.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

tr_init
kafka_start -t tallyman.inventory:3
host=outage-$TM_ID
tr_conf "$TM_TMP/agent.conf" "host.id=$host" "state.dir=$TM_TMP/state" \
    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=2s" \
    "spool.sync_interval=200ms"

# 50 records/s for 45 s: 3 s before the outage, 30 s during, the rest after.
tr_start agent -c "$TM_TMP/agent.conf" -r 50 -n 2250 -x -m container,event,image -P 300
agent=$TR_PID
sleep 3
tap_check "all brokers go down while records flow" kafka_down
sleep 30
spooled=$(du -sb "$TM_TMP/state/spool" | cut -f1)
tap_like "$spooled" '^[0-9]{5,}$' "records wait in the spool during the outage ($spooled bytes)"
tap_check "the brokers come back" kafka_up
tap_check "the agent catches up and drains once every record is acknowledged" \
    tr_wait "$agent" 300
tap_like "$(tail -n 1 "$TM_LOGS/agent.log")" 'records=2[0-9]{3} spooled=2[0-9]{3} acked=2[0-9]{3} dropped=0$' \
    "the agent counted no drop"

tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$host" "$TM_TMP/got.json"
read -r n distinct max gaps disorder <<<"$(tr_seq_report "$TM_TMP/got.json")"
tap_diag "consumer: $n messages, $distinct distinct, max $max, $gaps gaps, $disorder out of order"
tr_ok_if '[ "${max:-0}" -ge 2250 ]' "every record produced reached Kafka (highest sequence $max >= 2250)" "max=$max"
tap_is "$gaps" 0 "the host's sequence has no gap"
tap_is "$disorder" 0 "the host's records arrive in sequence order"
tap_is "$(jq -r 'select(.k == "heartbeat") | .b.drop // 0' "$TM_TMP/got.json" | sort -un | tail -n 1)" 0 \
    "the heartbeats report no drop"
hb() { jq -s -r "[.[] | select(.k == \"heartbeat\")] | $1" "$TM_TMP/got.json"; }
tr_ok_if '[ "$(hb "map(.b.srec // 0) | max")" -gt 100 ]' \
    "heartbeats during the outage report unacknowledged records in the spool"
tr_ok_if '[ "$(hb "map(.b.kq // 0) | max")" -gt 0 ]' \
    "heartbeats during the outage report messages waiting inside librdkafka"
tap_is "$(hb "max_by(.s) | [.b.srec // 0, .b.kq // 0] | @tsv")" "0	0" \
    "the last heartbeat reports nothing left in the spool or librdkafka"
tr_ok_if '[ "$(hb "max_by(.s) | .b.rss // 0")" -gt 1000000 ] && [ "$(hb "max_by(.s) | .b.cpuu // 0")" -gt 0 ]' \
    "heartbeats carry resident memory and CPU time"
tr_ok_if '[ "$(hb "map(.b.krtt // 0) | max")" -gt 0 ]' \
    "heartbeats carry the broker round trip from librdkafka's statistics"
tap_like "$(grep -c 'publish: .*ALL_BROKERS_DOWN\|publish: .*_TRANSPORT' "$TM_LOGS/agent.log")" '^[1-9]' \
    "librdkafka's errors reach the agent's log with the publish: prefix"
tap_done
