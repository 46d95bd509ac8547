#!/bin/bash
# watch-late-sockets.sh: the agent starts before the runtimes.  Both sockets
# are absent, in folders that do not exist yet (TM_TMP/late/...): each
# runtime is skipped with one log line, the agent watches the nearest
# existing folder with inotify (TM_TMP/late) and moves down the path as the
# folders appear; its loop does not wake up while it waits (no polling).
# containerd is started first and picked up on its own, then dockerd; the
# containers run then are reported.  Then containerd's socket folder is
# removed and made again by a new containerd: the agent follows.  Last,
# containerd is killed and leaves its socket behind: the agent waits for a
# new one without retrying in a loop, and reconnects when it comes.

TM_CONTAINERD_SOCK_AT=late/ctd/run/containerd.sock
TM_DOCKER_SOCK_AT=late/dkr/docker.sock
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/watch.sh"

harness_prepare
harness_require_cmd jq
mkdir -p "$TM_TMP/late"
tap_check "the sockets' folders do not exist when the agent starts" \
    eval "[ ! -e '$TM_TMP/late/ctd' ] && [ ! -e '$TM_TMP/late/dkr' ]"

# No heartbeat: its timer would be the one thing to wake the agent up.
WATCH_LOG_LEVEL=debug watch_agent_start -o heartbeat.interval=0
LOG=$TM_LOGS/agent.log

absent() {
	grep -c "watch-$1: .* absent: $1 skipped until it appears" "$LOG"
}
both_absent() {
	[ "$(absent docker)" -ge 1 ] && [ "$(absent containerd)" -ge 1 ]
}
harness_wait_for "the agent to say both sockets are absent" 60 both_absent ||
    tap_diag "$(tail -n 20 "$LOG")"
tap_is "$(absent docker) $(absent containerd)" "1 1" \
    "each absent runtime is skipped with one log line"
watching() {
	grep -q "watch-$1: watching $2 for " "$LOG"
}
tap_check "containerd: inotify on the nearest existing folder of its socket" \
    watching containerd "$TM_TMP/late"
tap_check "docker: inotify on the nearest existing folder of its socket" \
    watching docker "$TM_TMP/late"

# No polling: while it waits, nothing wakes the agent's threads up (the
# old code looked again every 5 s).  Context switches of every thread over
# 12 s, with nothing happening on the way to the sockets.
switches() {
	local t n=0 v
	for t in /proc/"$WATCH_PID"/task/*/status; do
		v=$(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ {s += $2} END {print s + 0}' "$t" 2>/dev/null)
		n=$((n + ${v:-0}))
	done
	echo "$n"
}
S0=$(switches)
sleep 12
S1=$(switches)
tap_is "$((S1 - S0))" 0 \
    "the waiting agent's threads did not wake up in 12 s (no polling)"
tap_check "the agent still runs" kill -0 "$WATCH_PID"

# containerd comes: picked up without dockerd.
harness_containerd_start
harness_wait_for "the agent connected to containerd" 60 \
    grep -q "watch-containerd: connected" "$LOG" ||
    tap_diag "$(tail -n 20 "$LOG")"
tap_check "containerd picked up when its socket appeared (its folders made after the agent started)" \
    grep -q "watch-containerd: connected to $TM_CONTAINERD_SOCK" "$LOG"
tap_check "the watch moved down the path as the folders appeared" \
    watching containerd "$TM_TMP/late/ctd/run"
tap_check "docker still waited (its daemon not started yet)" \
    eval "! grep -q 'watch-docker: connected' '$LOG'"

# dockerd comes (it does not make its socket's folder: made here, one
# level at a time, as an installer would).
mkdir "$TM_TMP/late/dkr"
harness_dockerd_start
harness_wait_for "the agent connected to dockerd" 60 \
    grep -q "watch-docker: connected" "$LOG" ||
    tap_diag "$(tail -n 20 "$LOG")"
tap_check "dockerd picked up when its socket appeared" \
    grep -q "watch-docker: connected to $TM_DOCKER_SOCK" "$LOG"
tap_is "$(absent docker) $(absent containerd)" "1 1" \
    "still one 'absent' line per runtime"

# The host record changed: sent again with both runtimes' versions.
watch_wait_record "a host record with both runtimes' versions" \
    '.k == "host" and .b.docker != null and .b.ctrd != null' ||
    tap_diag "$(watch_records | jq -c 'select(.k == "host")')"
tap_is "$(watch_records | jq -r 'select(.k == "host") | "\(.b.docker != null) \(.b.ctrd != null)"' | head -n 1)" \
    "false false" "the first host record went out without runtime versions (none was there)"
tap_like "$(watch_records | jq -r 'select(.k == "host" and .b.docker != null and .b.ctrd != null) | .b.ctrd' | head -n 1)" \
    '^[0-9]' "a host record with the late runtimes' versions followed"

# Containers of both runtimes are reported.
harness_image tm-late:1 || tap_bail "no image"
harness_ctr_image default tm-late:1 || tap_bail "no image in containerd"
CID=$(harness_docker run -d --network none tm-late:1 sleep 600) ||
    tap_bail "docker run failed"
harness_ctr -n default run -d --runc-root "$TM_TMP/runc" "$TM_CTR_IMAGE" \
    "late-$TM_ID" sleep 601 >/dev/null || tap_bail "ctr run failed"
watch_wait_record "the docker container's snapshot" \
    ".k == \"container\" and .b.id == \"$CID\" and .b.why == \"start\"" ||
    tap_diag "$(tail -n 20 "$LOG")"
watch_wait_record "the ctr container's snapshot" \
    ".k == \"container\" and .b.id == \"late-$TM_ID\" and .b.why == \"start\"" ||
    tap_diag "$(tail -n 20 "$LOG")"
D=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"$CID\" and .b.why == \"start\") | .b" | head -n 1)
tap_is "$(jq -r '"\(.rt) \(.img) \([.procs[]?.args[0]] | join(","))"' <<<"$D")" \
    "docker tm-late:1 sleep" "the docker container: runtime, image, its process"
C=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"late-$TM_ID\" and .b.why == \"start\") | .b" | head -n 1)
tap_is "$(jq -r '"\(.rt) \(.ns) \([.procs[]?.args[0]] | join(","))"' <<<"$C")" \
    "containerd default sleep" "the ctr container: runtime, namespace, its process"

# containerd goes, its socket folder is removed, and a new containerd
# makes it again: the agent's watch moves up, then down, and it reconnects.
harness_containerd_stop
rm -rf "$TM_TMP/late/ctd"
harness_wait_for "the agent to watch $TM_TMP/late again" 60 \
    eval "[ \"\$(grep -c 'watch-containerd: watching $TM_TMP/late for ' '$LOG')\" -ge 2 ]" ||
    tap_diag "$(tail -n 20 "$LOG")"
harness_containerd_start
harness_wait_for "the agent reconnected to containerd" 60 \
    eval "[ \"\$(watch_connections containerd)\" -ge 2 ]" ||
    tap_diag "$(tail -n 20 "$LOG")"
tap_is "$(watch_connections containerd)" 2 \
    "reconnected to containerd after its socket folder was removed and made again"

# containerd dies (SIGKILL): its socket file stays, nobody listens on it.
# The agent does not knock on it every few seconds: it waits for a new
# containerd to make the socket again.  (dockerd is stopped first, so that
# nothing else happens meanwhile.)
harness_docker rm -f "$CID" >/dev/null 2>&1
docker_waits() {
	grep -c "watch-docker: .*\(absent\|nothing listens\)" "$LOG"
}
dw0=$(docker_waits)
harness_dockerd_stop
# The docker watcher first retries once after its backoff (dockerd may be
# restarting), then waits on inotify: measured from then on.
harness_wait_for "the docker watcher to wait for its socket" 60 \
    eval "[ \"\$(docker_waits)\" -gt $dw0 ]" ||
    tap_diag "$(tail -n 20 "$LOG")"
kill -KILL "$TM_CONTAINERD_PID"
wait "$TM_CONTAINERD_PID" 2>/dev/null
TM_CONTAINERD_PID=
tap_check "containerd's socket is left behind" test -S "$TM_CONTAINERD_SOCK"
harness_wait_for "the agent to see that nothing listens" 60 \
    grep -q "watch-containerd: .*nothing listens on $TM_CONTAINERD_SOCK" "$LOG" ||
    tap_diag "$(tail -n 20 "$LOG")"
# The window starts 2 s after that line: what the failed connection leaves
# to finish (its handles closed on the loop's next turns) is not a retry,
# and under a loaded sanitizer run it once fell in the window (1 wake-up).
# A retry every few seconds, what this checks for, still falls in 8 s.
sleep 2
S0=$(switches)
sleep 8
S1=$(switches)
tap_is "$((S1 - S0))" 0 \
    "with a dead daemon's socket left behind, the agent did not wake up in 8 s (no retries)"
c1=$(watch_connections containerd)
harness_containerd_start
harness_wait_for "the agent reconnected to the new containerd" 60 \
    eval "[ \"\$(watch_connections containerd)\" -gt $c1 ]" ||
    tap_diag "$(tail -n 20 "$LOG")"
tap_is "$(watch_connections containerd)" $((c1 + 1)) \
    "reconnected as soon as the new containerd made its socket"

watch_check_no_duplicates
tap_done
