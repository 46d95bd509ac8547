#!/bin/bash
# decode-json.sh: what an independent consumer reads off the topic (kcat,
# decoded by tallyman-decode) equals what the agent printed with
# --output kafka,json: same records, same fields, same sequence numbers --
# including an image record over 512 KiB that travels as several parts.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

tr_init
kafka_start -t tallyman.inventory:2
host=decode-$TM_ID
tr_conf "$TM_TMP/agent.conf" "host.id=$host" "state.dir=$TM_TMP/state" \
    "output=kafka,json" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s"

tr_start agent -c "$TM_TMP/agent.conf" -r 20 -n 60 -x -m container,event,image -P 9000
tap_check "the agent produces 60 records (and heartbeats) and drains" \
    tr_wait "$TR_PID" 300
jq -c . "$TM_LOGS/agent.out" >"$TM_TMP/json.lines" 2>"$TM_TMP/jq.err"
tap_is "$?" 0 "--output json prints one JSON object per line"

tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$host" "$TM_TMP/got.json"
big=$(jq -s '[.[] | select(.k == "image")] | length' "$TM_TMP/got.json")
tr_ok_if '[ "$big" -ge 20 ]' "the image records (9000 packages, over 512 KiB, split in parts) arrive reassembled ($big)"
kcat -C -b "$TM_KAFKA" -t tallyman.inventory -e -q -f '%S\n' >"$TM_TMP/sizes"
# TM_MSG_MAX: a 512 KiB part plus its envelope.
tap_is "$(awk '$1 > 524288 + 4096' "$TM_TMP/sizes" | wc -l)" 0 \
    "no Kafka message is over 512 KiB plus the envelope"
msgs=$(wc -l <"$TM_TMP/sizes")
recs=$(wc -l <"$TM_TMP/got.json")
tr_ok_if '[ "$msgs" -ge $((recs + big)) ]' \
    "the image records travel as several parts ($msgs messages for $recs records)"
jq -S -c . "$TM_TMP/json.lines" | sort >"$TM_TMP/a"
jq -S -c . "$TM_TMP/got.json" | sort -u >"$TM_TMP/b"
tap_is "$(wc -l <"$TM_TMP/a")" "$(wc -l <"$TM_TMP/b")" "as many records on the topic as printed"
if cmp -s "$TM_TMP/a" "$TM_TMP/b"; then
	tap_ok "kcat | tallyman-decode equals the agent's --output json, record for record"
else
	tap_fail "kcat | tallyman-decode equals the agent's --output json, record for record" \
	    "$(diff "$TM_TMP/a" "$TM_TMP/b" | cut -c1-300 | head -n 10)"
fi
tap_done
