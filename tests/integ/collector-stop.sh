#!/bin/bash
# collector-stop.sh: the collector stopped (SIGTERM) in the middle of a
# backlog, while its consumer's decoder thread holds the next batch, taken
# from the queue and decoded ahead but not yet stored; then started again
# in the same consumer group.
#   - the stop is clean (exit 0) and says it left that batch to be read
#     again;
#   - after the restart every record of the topic is stored, exactly once:
#     the batch taken ahead was neither lost (its offsets had not been
#     stored) nor stored twice;
#   - the restarted collector decodes ahead too.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"
. "$(dirname "$0")/../lib/collector.sh"

col_init
col_need_fleet_gen
# 16 partitions: the mock cluster keeps about 5 MB per partition.
kafka_start -t tallyman.inventory:16
# A fleet's records, produced before the collector starts: a backlog of
# about 19 000 messages (batches of 500), more than even the sanitizer
# build stores in the moment the stop below takes.
"$FG" -b "$TM_KAFKA" -n 600 -m 5 -i 10 -q >"$TM_TMP/gen.out" 2>"$TM_TMP/gen.err" ||
    tap_bail "fleet-gen failed: $(cat "$TM_TMP/gen.err")"
total=$(awk '/ total / {print $3}' "$TM_TMP/gen.out")
tap_like "${total:-none}" '^[0-9]{5,}$' "fleet-gen produced a backlog (${total:-no} records)"
p=0
while [ "$p" -lt 16 ]; do
	low=$(kcat -Q -b "$TM_KAFKA" -t "tallyman.inventory:$p:-2" 2>/dev/null | awk '{print $NF}')
	[ "$low" = 0 ] || tap_bail "the mock cluster dropped the first $low messages of partition $p"
	p=$((p + 1))
done

# records stored, over every host (the store's count, across restarts).
stored() {
	col_api c '/api/v1/hosts?limit=1000' | jq '[.hosts[].records] | add // 0'
}

col_conf c log.level=info
col_start c || tap_bail "the collector did not start"
# The first batch decoded ahead, seen as soon as may be (every 20 ms).
ahead=0
for _ in $(seq 3000); do
	ahead=$(curl -sf --max-time 2 "${COL_API[c]}/metrics" |
	    awk '$1 == "tallyman_batches_decoded_ahead_total" { print $2 }')
	[ "${ahead:-0}" -ge 1 ] && break
	sleep 0.02
done
[ "${ahead:-0}" -ge 1 ] || tap_bail "no batch was decoded ahead"
before=$(stored)
tap_check "SIGTERM in the backlog: the collector stops cleanly" col_stop c
tap_like "$(grep -m1 'taken ahead left to be read again' "$TM_LOGS/c.log")" \
    'consume: [1-9][0-9]* message\(s\) taken ahead left to be read again' \
    "the stop left the batch decoded ahead to be read again"
tap_like "$before" '^[0-9]+$' "$before of $total records stored before the stop"
if [ "${before:-0}" -lt "$total" ]; then
	tap_ok "the stop came in the middle of the backlog"
else
	tap_fail "the stop came in the middle of the backlog" "all $total stored already"
fi

tap_check "restarted in the same group" col_start c
harness_wait_for "every record stored" 300 bash -c \
    '[ "$(curl -sf --max-time 5 "$0/api/v1/hosts?limit=1000" | jq "[.hosts[].records] | add // 0")" -ge "$1" ]' \
    "${COL_API[c]}" "$total"
tap_is "$(stored)" "$total" "after the restart the store holds every record of the topic, none twice"
tap_is "$(col_api c '/api/v1/hosts?limit=1000' | jq '[.hosts[].sequence.missing] | add')" 0 \
    "no host misses a record of its sequence"
tap_like "$(col_metric c tallyman_batches_decoded_ahead_total)" '^[1-9][0-9]*$' \
    "the restarted collector decodes ahead too"
tap_check "stopped again" col_stop c
tap_done
