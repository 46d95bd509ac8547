#!/bin/bash
# collector-store-busy.sh: the store fails under the consumer, in the
# middle of a backlog: another process holds SQLite's write lock (as a
# backup or an administrator's sqlite3 shell would) for longer than the
# store's busy timeout (10 s), while records arrive.
#   - the consumer's writer thread (tm-store) runs the batches;
#   - each batch's transaction fails, is rolled back, and the batch is read
#     again, with the batch taken ahead for the decoder meanwhile (the log
#     says how many messages of each); tallyman_store_errors_total counts
#     the failures, /healthz says "degraded" until a batch commits;
#   - once the lock is gone, every record of the topic is stored, exactly
#     once, and no host misses a number of its sequence: nothing of the
#     failed batches or of the ones taken ahead was lost or stored twice.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"
. "$(dirname "$0")/../lib/collector.sh"

col_init
harness_require_cmd sqlite3
col_need_fleet_gen
kafka_start -t tallyman.inventory:16

col_conf c log.level=info
DB=$TM_TMP/c/collector.db
col_start c || tap_bail "the collector did not start"
col_wait_partitions c 16 || tap_bail "the collector was not given the partitions"
pid=${COL_PID[c]}
names=$(cat /proc/"$pid"/task/*/comm 2>/dev/null | tr '\n' ' ')
tap_like "$names" '(^| )tm-store ' "the consumer's writer thread runs (threads: $names)"

# Hold the write lock until $TM_TMP/hold is removed.
: >"$TM_TMP/hold"
{
	echo 'BEGIN IMMEDIATE;'
	echo "SELECT 'locked';"
	while [ -e "$TM_TMP/hold" ]; do sleep 0.1; done
	echo 'COMMIT;'
} | sqlite3 "$DB" >"$TM_TMP/lock.out" 2>&1 &
LOCKPID=$!
unlock() { rm -f "$TM_TMP/hold"; }
TAP_HOOKS=(unlock "${TAP_HOOKS[@]}")
harness_wait_for "the store locked by another process" 30 \
    grep -q locked "$TM_TMP/lock.out" || tap_bail "sqlite3 did not take the lock: $(cat "$TM_TMP/lock.out")"

# A backlog arrives while the store is locked: about 19 000 messages.
"$FG" -b "$TM_KAFKA" -n 600 -m 5 -i 10 -q >"$TM_TMP/gen.out" 2>"$TM_TMP/gen.err" ||
    tap_bail "fleet-gen failed: $(cat "$TM_TMP/gen.err")"
total=$(awk '/ total / {print $3}' "$TM_TMP/gen.out")
tap_like "${total:-none}" '^[0-9]{5,}$' "fleet-gen produced a backlog (${total:-no} records)"

# The first failure may come before the backlog is all there; the ones
# after take a full batch, and another ahead.  While a transaction waits
# for the lock (10 s), so does the loop, and a request takes a few of its
# turns: the API is asked with a minute to spare (about 20 s seen).
failed_ahead() {
	grep -E 'consume: the store failed; the batch of [1-9][0-9]* message\(s\) is read again in [0-9]+ ms, with the [1-9][0-9]* taken ahead' \
	    "$TM_LOGS/c.log"
}
harness_wait_for "a failed batch with one taken ahead" 120 failed_ahead
tap_like "$(failed_ahead | head -n 1)" 'with the [1-9][0-9]* taken ahead' \
    "a batch failed with the lock held and is read again, with the batch taken ahead"
how=$(curl -s --max-time 60 -o "$TM_TMP/metrics" -w '%{http_code} in %{time_total} s' "${COL_API[c]}/metrics")
rc=$?
tap_like "$(awk '$1 == "tallyman_store_errors_total" { print $2 }' "$TM_TMP/metrics")" \
    '^[1-9][0-9]*$' "tallyman_store_errors_total counts the failures (/metrics: curl exit $rc, $how)"
tap_is "$(col_api c /healthz --max-time 60 | jq -r .status)" degraded \
    "/healthz says degraded while no batch commits"
rm -f "$TM_TMP/hold"
wait "$LOCKPID"
tap_is "$?" 0 "the other process committed and let the lock go"

harness_wait_for "every record stored" 300 bash -c \
    '[ "$(curl -sf --max-time 5 "$0/api/v1/hosts?limit=1000" | jq "[.hosts[].records] | add // 0")" -ge "$1" ]' \
    "${COL_API[c]}" "$total"
tap_is "$(col_api c '/api/v1/hosts?limit=1000' | jq '[.hosts[].records] | add // 0')" "$total" \
    "every record of the topic stored, none twice"
tap_is "$(col_api c '/api/v1/hosts?limit=1000' | jq '[.hosts[].sequence.missing] | add')" 0 \
    "no host misses a record of its sequence"
tap_is "$(col_api c /healthz | jq -r .status)" ok "/healthz says ok once batches commit again"
tap_is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "the store is sound"
tap_check "the collector stops cleanly" col_stop c
tap_done
