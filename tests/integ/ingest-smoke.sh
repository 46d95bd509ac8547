#!/bin/bash
# ingest-smoke.sh: bench/ingest.sh on a tiny fleet, so the collector's
# benchmark (bench/fleet-gen and the script) cannot rot: 20 simulated hosts'
# records produced to the mock cluster, every one of them stored by a
# running collector, the store's rows as the fleet has them, then the OSV
# feed and its changed version evaluated and their findings written.  No
# figure is asserted (speed is the benchmark's business, not the suite's).
. "$(dirname "$0")/../lib/harness.sh"

harness_init
harness_require_cmd kcat curl sqlite3 python3

HOSTS=20
out=$TM_TMP/ingest.out
MINUTES=5 PARTITIONS=4 ADVISORIES=300 IMAGES=8 PROFILE=${TM_WRAP:-} \
    bash "$top_srcdir/bench/ingest.sh" "$top_builddir" "$HOSTS" >"$out" 2>&1
rc=$?
tap_is "$rc" 0 "bench/ingest.sh ran to its end (every record stored, both feeds written)" ||
    tap_diag "$(tail -n 30 "$out")"

total=$(awk '/^fleet-gen: total/ {print $3}' "$out")
stored=$(awk '/^ingest .* records stored in/ {print $2}' "$out")
tap_like "${total:-none}" '^[1-9][0-9]+$' "fleet-gen produced records for $HOSTS hosts"
tap_is "${stored:-none}" "${total:-none}" "the collector stored as many records as fleet-gen produced"
for k in host heartbeat event container image; do
	n=$(awk -v k="$k" '$1 == "fleet-gen:" && $2 == k {print $3}' "$out")
	tap_like "${n:-0}" '^[1-9][0-9]*$' "the mix has $k records"
done
# The topic is full when the collector starts: after the first batch, the
# consumer's decoder thread decodes each batch while the loop correlates
# the one before (the counts match above whichever thread decoded).
tap_like "$(grep '^ingest     decoder thread' "$out")" 'batches decoded ahead: [1-9][0-9]* of [1-9][0-9]*$' \
    "batches were decoded ahead by the decoder thread"
tap_like "$(grep '^store      rows:' "$out")" "rows: $HOSTS hosts, [1-9][0-9]* containers, [1-9][0-9]* processes, [1-9][0-9]* images, [1-9][0-9]* package sets of [1-9][0-9]* packages, [1-9][0-9]* findings" \
    "the store holds every host, and their containers, processes, images and package sets; its findings store the CIS findings"
tap_like "$(grep '^store .* bytes/host' "$out")" ' [1-9][0-9]* bytes/host$' "store size per host reported"
for f in collector.db collector-findings.db; do
	tap_like "$(grep "^store      integrity of $f:" "$out")" 'ok $' \
	    "$f passes SQLite's integrity check (its WAL written a commit at a time, by its own writer thread)"
done
tap_like "$(grep '^feed .*SIGHUP' "$out")" ' [1-9][0-9]* changes written, [1-9][0-9]* open$' \
    "the first feed's findings written"
tap_like "$(grep '^reeval .*SIGHUP' "$out")" ' [1-9][0-9]* changes written, [1-9][0-9]* open$' \
    "the changed feed re-evaluated and its changes written"
tap_like "$(grep '^reeval .*main thread' "$out")" 'on a CPU [0-9.]+ s, waiting for a CPU [0-9.]+ s$' \
    "the main thread's time until evaluated reported"
tap_like "$(grep '^memory ' "$out")" 'VmHWM\): [1-9][0-9]* kB' "peak RSS reported"
tap_done
