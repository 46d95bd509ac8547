#!/bin/bash
# watch-restart.sh: dockerd and containerd are restarted while containers
# keep starting and stopping (Docker's and ctr's, in a loop).  The agent
# reconnects (Docker: replaying what it missed with the events API's
# `since`, then a reconciling listing; containerd: a reconciling listing)
# and in the end every container that ran has a record, none twice.
#
# A limit this test respects rather than hides: containerd has no event
# replay, so a ctr container that is created and deleted entirely while
# the agent is not connected to containerd cannot be seen by anyone.  The
# ctr containers here live 1 s, longer than a reconnection takes.
#
# WR_REPEAT=N restarts both daemons N times (default 1): a stress run, to
# hunt a rare race, e.g. `make check TESTS=tests/integ/watch-restart.sh
# WR_REPEAT=5 WATCH_LOG_LEVEL=debug TM_KEEP=1`.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/watch.sh"

harness_start
harness_require_cmd jq

harness_image tm-restart:1 || tap_bail "no image"
harness_ctr_image default tm-restart:1 || tap_bail "no image in containerd"
IMG=$TM_CTR_IMAGE
watch_agent_start
watch_wait_connected || tap_bail "the agent did not connect"

LOOPS=()
: >"$TM_TMP/docker.ok"
: >"$TM_TMP/docker.created"
: >"$TM_TMP/ctr.ok"

# Docker containers of 0.2 s, one after the other, until TM_TMP/stop.
docker_loop() {
	local n=0 cid
	while [ ! -e "$TM_TMP/stop" ]; do
		n=$((n + 1))
		rm -f "$TM_TMP/cid.$n"
		if timeout 60 docker -H "unix://$TM_DOCKER_SOCK" run --rm \
		    --network none --cidfile "$TM_TMP/cid.$n" tm-restart:1 \
		    sleep 0.2 >/dev/null 2>>"$TM_LOGS/loop.log"; then
			cat "$TM_TMP/cid.$n" >>"$TM_TMP/docker.ok"
			echo >>"$TM_TMP/docker.ok"
		else
			sleep 0.2
		fi
		if [ -s "$TM_TMP/cid.$n" ]; then
			cat "$TM_TMP/cid.$n" >>"$TM_TMP/docker.created"
			echo >>"$TM_TMP/docker.created"
		fi
	done
}

# ctr containers of 1 s.
ctr_loop() {
	local n=0
	while [ ! -e "$TM_TMP/stop" ]; do
		n=$((n + 1))
		if timeout 60 ctr -a "$TM_CONTAINERD_SOCK" -n default run --rm \
		    --runc-root "$TM_TMP/runc" "$IMG" "loop-$TM_ID-$n" sleep 1 \
		    >/dev/null 2>>"$TM_LOGS/loop.log"; then
			echo "loop-$TM_ID-$n" >>"$TM_TMP/ctr.ok"
		else
			sleep 0.2
		fi
	done
}

loops_stop() {
	local p
	touch "$TM_TMP/stop"
	for p in "${LOOPS[@]}"; do
		wait "$p" 2>/dev/null
	done
	LOOPS=()
}
tap_at_done loops_stop

docker_loop &
LOOPS+=($!)
ctr_loop &
LOOPS+=($!)

reconnected() {
	[ "$(watch_connections "$1")" -gt "$2" ]
}

# Containers run to completion between the restarts: waited for by count,
# not by time (on a loaded machine a few seconds may see none).
completed() {
	sed '/^$/d' "$TM_TMP/$1.ok" | sort -u | wc -l
}
more_completed() {
	local d=$(($(completed docker) + 2)) c=$(($(completed ctr) + 1))
	harness_wait_for "2 more docker and 1 more ctr container completed" 180 \
	    eval "[ \$(completed docker) -ge $d ] && [ \$(completed ctr) -ge $c ]"
}

for rep in $(seq "${WR_REPEAT:-1}"); do
more_completed
d0=$(watch_connections docker)
c0=$(watch_connections containerd)
harness_dockerd_restart
tap_ok "dockerd restarted while containers run"
harness_wait_for "the agent reconnects to dockerd" 120 \
    reconnected docker "$d0" ||
    tap_fail "the agent reconnected to dockerd"
more_completed
harness_containerd_restart
tap_ok "containerd restarted while containers run"
harness_wait_for "the agent reconnects to containerd" 120 \
    reconnected containerd "$c0" ||
    tap_fail "the agent reconnected to containerd"
more_completed
done
loops_stop

sed -i '/^$/d' "$TM_TMP/docker.ok" "$TM_TMP/docker.created"
nd=$(sort -u "$TM_TMP/docker.ok" | wc -l)
nc=$(sort -u "$TM_TMP/ctr.ok" | wc -l)
tap_diag "$nd docker containers and $nc ctr containers ran to completion;" \
    "$(sort -u "$TM_TMP/docker.created" | wc -l) docker containers were created"
[ "$nd" -gt 5 ] && [ "$nc" -gt 2 ] || tap_fail "enough containers ran around the restarts"

# exit records for every id in FILE
missing_exits() {
	watch_records | jq -r 'select(.k == "container" and .b.why == "exit") | .b.id' |
	    sort -u | comm -13 - <(sort -u "$1")
}
no_missing_exits() {
	[ -z "$(missing_exits "$1")" ]
}
harness_wait_for "exit records for every docker container" 120 \
    no_missing_exits "$TM_TMP/docker.ok"
harness_wait_for "exit records for every ctr container" 120 \
    no_missing_exits "$TM_TMP/ctr.ok"
tap_is "$(missing_exits "$TM_TMP/docker.ok" | paste -sd' ')" "" \
    "every Docker container that ran to completion has an exit record"
tap_is "$(missing_exits "$TM_TMP/ctr.ok" | paste -sd' ')" "" \
    "every ctr container that ran to completion has an exit record"
unreported=$(watch_records | jq -r 'select(.k == "container" or .k == "event") | .b.id' |
    sort -u | comm -13 - <(sort -u "$TM_TMP/docker.created"))
tap_is "$unreported" "" "every Docker container created, even one cut short by the restart, is reported"
tap_is "$(watch_records | jq -r 'select(.k == "container" and .b.why == "exit") | .b.id' | sort | uniq -d | paste -sd' ')" \
    "" "no container has two exit records"
tap_is "$(watch_records | jq -r 'select(.k == "event") | "\(.b.id) \(.b.act)"' | grep -v ' exec$' | sort | uniq -d | paste -sd' ')" \
    "" "no lifecycle event is reported twice"
tap_is "$(watch_records | jq -r --rawfile ok "$TM_TMP/docker.ok" 'select(.k == "container" and .b.why == "exit" and (.b.id as $i | $ok | split("\n") | index($i))) | select(.b.img == null) | .b.id' | wc -l)" \
    0 "every Docker container's exit record names its image"

watch_agent_stop
watch_check_no_duplicates
tap_done
