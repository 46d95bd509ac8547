#!/bin/bash
# inventory-run.sh: the image inventory and drift through the real agent
# (`tallyman-agent run --output json`, watching the test's dockerd and
# containerd):
#  - 20 containers of one image: one image scan and cache hits for the rest
#    (heartbeat counters), one image record, 20 container records whose
#    image key names that image record;
#  - `docker exec` writes and chmods /tmp/miner: a drift record for that
#    container with /tmp/miner's SHA-256 as sha256sum computes it inside.

. "$(dirname "$0")/../lib/harness.sh"
AGENT=$(prog_path agent/tallyman-agent)

harness_start
harness_require_cmd jq

B=$TM_TMP/base
mkdir -p "$B/var/lib/dpkg/status.d" "$B/etc"
for p in one two three; do
	printf 'Package: run-%s\nVersion: 2:%s-1\nArchitecture: amd64\n' "$p" "${#p}" \
	    >"$B/var/lib/dpkg/status.d/run-$p"
done
printf 'ID=tallyman\nVERSION_ID=2\nPRETTY_NAME="Tallyman Run 2"\n' >"$B/etc/os-release"
harness_image tm-inv-run:1 "$B" || tap_bail "no image"
iid=$TM_IMAGE_ID

"$AGENT" -o "state.dir=$TM_TMP/state" -o "host.id=inv-run-$TM_ID" \
    -o "docker.socket=$TM_DOCKER_SOCK" -o "containerd.socket=$TM_CONTAINERD_SOCK" \
    -o "heartbeat.interval=1s" run --output json \
    >"$TM_TMP/agent.json" 2>"$TM_LOGS/agent.log" </dev/null &
agent=$!
stop_agent() {
	if kill -0 "$agent" 2>/dev/null; then
		kill -TERM "$agent" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$agent" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$agent" 2>/dev/null
	fi
	wait "$agent" 2>/dev/null
}
tap_at_done stop_agent
harness_wait_for "the agent watches" 30 grep -q 'run: watching' "$TM_LOGS/agent.log" ||
    tap_bail "agent did not start: $(tail -5 "$TM_LOGS/agent.log")"

ids=()
for i in $(seq 20); do
	id=$(harness_docker run -d --network none --name "tm-inv-run-$TM_ID-$i" \
	    tm-inv-run:1 sleep 600) && ids+=("$id")
done
tap_is "${#ids[@]}" 20 "20 containers of one image run"

# Drift in the first one.
c0=${ids[0]}
harness_wait_for "the first container's record" 30 \
    grep -q "\"id\":\"$c0\"" "$TM_TMP/agent.json"
tap_check "docker exec writes and chmods /tmp/miner" \
    harness_docker exec "$c0" sh -c 'cp /bin/busybox /tmp/miner && chmod 755 /tmp/miner'
sum=$(harness_docker exec "$c0" sha256sum /tmp/miner | cut -d' ' -f1)
harness_wait_for "a drift record" 30 \
    grep -q '"k":"drift"' "$TM_TMP/agent.json"
# Every container has a record, then a heartbeat after them.
all_seen() {
	local id
	for id in "${ids[@]}"; do
		grep -q "\"id\":\"$id\"" "$TM_TMP/agent.json" || return 1
	done
}
harness_wait_for "records of all 20 containers" 60 all_seen
sleep 2
stop_agent

J=$TM_TMP/agent.json
key=$(jq -r --arg id "$c0" 'select(.k == "container" and .b.id == $id) | .b.ikey' "$J" | head -1)
tap_like "$key" '^(sha256:|chain:)[0-9a-f]{64}$' "container records carry an image key ($key)"
n=0
for id in "${ids[@]}"; do
	k=$(jq -r --arg id "$id" 'select(.k == "container" and .b.id == $id) | .b.ikey' "$J" | sort -u)
	[ "$k" = "$key" ] && n=$((n + 1))
done
tap_is "$n" 20 "the 20 containers' records all refer to the same image key"
tap_is "$(jq -r --arg k "$key" 'select(.k == "image" and .b.key == $k) | [.b.pkgs[].name] | join(",")' "$J")" \
    "run-one,run-three,run-two" "exactly one image record for that key, with the image's packages"
hb=$(jq -c 'select(.k == "heartbeat") | [.b.iscan // 0, .b.ihit // 0]' "$J" | tail -1)
tap_like "$hb" '^\[1,(19|[2-9][0-9]|[1-9][0-9]{2,})\]$' \
    "the last heartbeat: 1 image scan, at least 19 cache hits ($hb)"
d=$(jq -c --arg id "$c0" 'select(.k == "drift" and .b.id == $id) | .b' "$J")
tap_is "$(jq -r '.files[] | select(.path == "/tmp/miner") | "\(.chg) \(.mode) \(.sha256)"' <<<"$d" | sort -u)" \
    "added 493 $sum" "a drift record for the container: /tmp/miner added, 0755, its SHA-256"
tap_is "$(jq -r '.ikey' <<<"$d" | sort -u)" "$key" "the drift record names the image key"

tap_done
