#!/bin/bash
# watch-short-lived.sh: containers that live for a moment are all reported.
#  - 50 x `docker run --rm IMG true`, back to back: 50 exit records, each
#    with the image, exit code 0 and a lifetime; not one missing, none twice;
#  - 20 containers that live 150 ms (`sleep 0.15`): each record has that
#    process (pid, command line, executable), read from /proc while it ran.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/watch.sh"

harness_start
harness_require_cmd jq

harness_image tm-short:1 || tap_bail "no image"
watch_agent_start
watch_wait_connected || tap_bail "the agent did not connect"

# run_many N PREFIX CMD...: N containers one after the other; their ids in
# TM_TMP/PREFIX.ids
run_many() {
	local n=$1 prefix=$2 i failed=0
	shift 2
	: >"$TM_TMP/$prefix.ids"
	for i in $(seq "$n"); do
		rm -f "$TM_TMP/cid"
		harness_docker run --rm --network none --cidfile "$TM_TMP/cid" \
		    tm-short:1 "$@" >/dev/null 2>>"$TM_LOGS/docker-run.log" ||
		    failed=$((failed + 1))
		cat "$TM_TMP/cid" >>"$TM_TMP/$prefix.ids" 2>/dev/null
		echo >>"$TM_TMP/$prefix.ids"
	done
	sed -i '/^$/d' "$TM_TMP/$prefix.ids"
	return "$failed"
}

# exit_records PREFIX: the exit records of PREFIX's containers, one per line
exit_records() {
	watch_records | jq -c --rawfile ids "$TM_TMP/$1.ids" \
	    'select(.k == "container" and .b.why == "exit" and
	    (.b.id as $i | $ids | split("\n") | index($i))) | .b'
}

all_exited() {
	[ "$(exit_records "$1" | jq -r .id | sort -u | wc -l)" -eq "$2" ]
}

# --- 50 x true -----------------------------------------------------------------
tap_check "50 docker run --rm true, back to back" run_many 50 true true
tap_is "$(wc -l <"$TM_TMP/true.ids")" 50 "50 container ids"
harness_wait_for "50 exit records" 120 all_exited true 50
R=$(exit_records true)
tap_is "$(jq -r .id <<<"$R" | sort -u | wc -l)" 50 "every one of the 50 has an exit record"
tap_is "$(jq -r .id <<<"$R" | sort | uniq -d | wc -l)" 0 "none has two"
tap_is "$(jq -r 'select(.img == "tm-short:1") | .id' <<<"$R" | wc -l)" 50 \
    "each names the image tm-short:1"
tap_is "$(jq -r 'select(.exit == 0) | .id' <<<"$R" | wc -l)" 50 "each has exit code 0"
tap_is "$(jq -r 'select((.life // 0) > 0 and .started > 0 and .finished >= .started) | .id' <<<"$R" | wc -l)" 50 \
    "each has its start, finish and lifetime"
tap_is "$(jq -r 'select(.cmd == ["true"] and .rt == "docker" and .ns == "moby") | .id' <<<"$R" | wc -l)" 50 \
    "each has its command and one identity"
tap_diag "lifetimes (ms): $(jq -r '.life / 1000000 | floor' <<<"$R" | sort -n | paste -sd' ')"

# --- 20 x 150 ms ------------------------------------------------------------------
tap_check "20 containers living 150 ms" run_many 20 short sleep 0.15
harness_wait_for "20 exit records" 120 all_exited short 20
S=$(exit_records short)
tap_is "$(jq -r .id <<<"$S" | sort -u | wc -l)" 20 "every one of the 20 has an exit record"
tap_is "$(jq -r 'select([.procs[]? | select(.args == ["sleep","0.15"])] | length == 1) | .id' <<<"$S" | wc -l)" 20 \
    "each record has its sleep 0.15 process"
tap_is "$(jq -r 'select([.procs[]? | select(.args == ["sleep","0.15"] and .pid > 0 and .exe == "/bin/busybox" and (.sha256 | length) == 64)] | length == 1) | .id' <<<"$S" | wc -l)" 20 \
    "with its executable and the executable's SHA-256"
tap_is "$(jq -r 'select(.pmiss != true) | .id' <<<"$S" | wc -l)" 20 "none is marked processes-missed"
# The runtime's start stamp trails the process's exec by a few ms -- by
# 50 ms on a loaded machine (97 ms seen at load average 15) -- so the
# measured lifetime is under the 150 ms the process slept; a container
# running `true` lives a few ms.
tap_is "$(jq -r 'select(.life >= 50000000) | .id' <<<"$S" | wc -l)" 20 \
    "each record's lifetime reflects the 150 ms sleep (at least 50 ms)"
tap_diag "lifetimes (ms): $(jq -r '.life / 1000000 | floor' <<<"$S" | sort -n | paste -sd' ')"

watch_agent_stop
watch_check_no_duplicates
tap_done
