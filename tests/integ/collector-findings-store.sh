#!/bin/bash
# collector-findings-store.sh: findings in a store of their own, beside the
# main one (store.path collector.db -> collector-findings.db), written by a
# thread of their own (tm-fwrite) while the consumer's (tm-store) writes
# the records: SQLite takes one writer per file.
#   - the findings are in collector-findings.db, none in collector.db, and
#     /api/v1/stats counts them;
#   - a store from before, with its findings in collector.db (made here
#     from the first run's: copied back, the findings file deleted), has
#     them moved at start-up: the same rows, none left behind, and the
#     engine restored from them (the same open findings, none announced
#     again);
#   - a move cut short (the rows in both files) is done again at the next
#     start: replaced by id, not doubled;
#   - both files pass SQLite's integrity check.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"
. "$(dirname "$0")/../lib/collector.sh"

col_init
harness_require_cmd sqlite3
col_need_fleet_gen
kafka_start -t tallyman.inventory:4

col_conf c log.level=info
DB=$TM_TMP/c/collector.db
FDB=$TM_TMP/c/collector-findings.db
col_start c || tap_bail "the collector did not start"
names=$(cat /proc/"${COL_PID[c]}"/task/*/comm 2>/dev/null | tr '\n' ' ')
tap_like "$names" '(^| )tm-fwrite ' "the findings writer thread runs (threads: $names)"

# A small fleet: its containers' configurations give CIS findings.
"$FG" -b "$TM_KAFKA" -n 20 -m 2 -i 6 -q >"$TM_TMP/gen.out" 2>"$TM_TMP/gen.err" ||
    tap_bail "fleet-gen failed: $(cat "$TM_TMP/gen.err")"
total=$(awk '/ total / {print $3}' "$TM_TMP/gen.out")
harness_wait_for "every record stored" 120 bash -c \
    '[ "$(curl -sf --max-time 5 "$0/api/v1/hosts?limit=1000" | jq "[.hosts[].records] | add // 0")" -ge "$1" ]' \
    "${COL_API[c]}" "$total"
written() {
	[ "$(col_metric c tallyman_findings_unwritten)" = 0 ] &&
	    [ "$(col_metric c tallyman_findings_written_total)" -gt 0 ]
}
harness_wait_for "the findings written" 60 written
# The open findings: how many, and a digest of their sorted ids (every page).
open_ids() {
	local cur=0 out
	while [ "$cur" != null ]; do
		out=$(col_api c "/api/v1/findings?limit=1000&cursor=$cur") || return 1
		jq -r '.findings[].id' <<<"$out"
		cur=$(jq -r '.next' <<<"$out")
	done | sort | { ids=$(cat); printf '%s open, ids %s\n' "$(grep -c . <<<"$ids")" "$(md5sum <<<"$ids" | cut -c1-16)"; }
}
before=$(open_ids)
tap_like "$before" '^[1-9][0-9]* open, ids [0-9a-f]{16}$' "the fleet has open findings: $before"
nf=$(sqlite3 "$FDB" 'SELECT count(*) FROM findings')
tap_like "${nf:-none}" '^[1-9][0-9]*$' "collector-findings.db holds the findings ($nf rows)"
tap_is "$(sqlite3 "$DB" 'SELECT count(*) FROM findings')" 0 "collector.db holds none"
tap_is "$(col_api c /api/v1/stats | jq .findings_stored)" "$nf" "/api/v1/stats counts the findings store's"
tap_check "stopped" col_stop c

# A store from before: its findings in collector.db, no findings file.
sqlite3 "$DB" "ATTACH '$FDB' AS f; INSERT INTO main.findings SELECT * FROM f.findings;" ||
    tap_bail "cannot copy the findings back"
rm -f "$FDB" "$FDB-wal" "$FDB-shm"
tap_check "started on a store with its findings in collector.db" col_start c
tap_like "$(grep -m1 'finding(s) moved from' "$TM_LOGS/c.log")" \
    "run: $nf finding\\(s\\) moved from .*collector.db to .*collector-findings.db" \
    "the $nf findings moved to collector-findings.db at start-up"
tap_is "$(sqlite3 "$FDB" 'SELECT count(*) FROM findings')" "$nf" "collector-findings.db holds them all"
tap_is "$(sqlite3 "$DB" 'SELECT count(*) FROM findings')" 0 "none left in collector.db"
tap_is "$(open_ids)" "$before" "the engine restored the same open findings from them"
tap_check "stopped" col_stop c

# A move cut short: the rows in both files.
sqlite3 "$DB" "ATTACH '$FDB' AS f; INSERT INTO main.findings SELECT * FROM f.findings;" ||
    tap_bail "cannot copy the findings back"
tap_check "started on a store with its findings in both files" col_start c
tap_is "$(grep -c 'finding(s) moved from' "$TM_LOGS/c.log")" 2 "moved again"
tap_is "$(sqlite3 "$FDB" 'SELECT count(*) FROM findings')" "$nf" "replaced by id, not doubled"
tap_is "$(sqlite3 "$DB" 'SELECT count(*) FROM findings')" 0 "none left in collector.db"
tap_is "$(open_ids)" "$before" "the same open findings"
tap_check "stopped" col_stop c
tap_check "started again" col_start c
tap_check "stopped" col_stop c
tap_is "$(grep -c 'finding(s) moved from' "$TM_LOGS/c.log")" 2 "a start with nothing to move moves nothing"
for f in "$DB" "$FDB"; do
	tap_is "$(sqlite3 "$f" 'PRAGMA integrity_check')" ok "${f##*/} is sound"
done
tap_done
