#!/bin/bash
# bench/collector-e2e.sh: short-lived capture and latency at the collector,
# with the real programs: containers under a private dockerd and containerd
# (tests/lib/harness.sh), the real agent producing to the mock cluster, the
# real collector storing; figures from the collector's API.
#
#   bash bench/collector-e2e.sh [BUILDDIR] [N] [M] [INTERVAL]
#
#   1. N x `docker run --rm IMG true` and N containers living 100 ms, back
#      to back: how many are stored at the collector, with their image and
#      its packages, exit code 0 and a lifetime, and with their process.
#   2. M containers (`sleep 2`) started INTERVAL s apart: latency from the
#      runtime's start (the container's StartedAt, as the agent reports it)
#      to the collector receiving the container's first snapshot (with its
#      processes), p50 and p99; split into the agent's share (start ->
#      the envelope's send time, read back from the topic with kcat) and
#      transport + collector (send -> received by the collector).
#
# Defaults: N 200, M 100, INTERVAL 0.5.  Prints markdown tables.
set -u

BUILD=${1:-_build}
N=${2:-200}
M=${3:-100}
INTERVAL=${4:-0.5}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "$BUILD" && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/harness.sh"
AGENT=$top_builddir/agent/tallyman-agent
COLLECTOR=$top_builddir/collector/tallyman-collector
DECODE=$top_builddir/schema/tallyman-decode
PIDS=()
stop_ours() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null && timeout 60 tail --pid="$p" -f /dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}
harness_start >/dev/null
TAP_HOOKS=(stop_ours "${TAP_HOOKS[@]}")
trap 'stop_ours; harness__on_exit' EXIT
kafka_start -t tallyman.inventory:3 -t tallyman.findings:3 >/dev/null

D=$TM_TMP/e2e
mkdir -p "$D/img/var/lib/dpkg" "$D/img/etc" "$D/state"
printf 'ID=debian\nVERSION_ID="12"\n' >"$D/img/etc/os-release"
for p in $(seq 1 50); do
	printf 'Package: pkg%d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.%d-1\n\n' "$p" "$p"
done >"$D/img/var/lib/dpkg/status"
harness_image tm-e2e:1 "$D/img" >/dev/null || { echo "bench: no image" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
cat >"$D/collector.conf" <<EOF
kafka.brokers = $TM_KAFKA
kafka.group = e2e-$TM_ID
store.path = $D/state/collector.db
api.listen = 127.0.0.1:$PORT
api.auth = none
EOF
"$COLLECTOR" -c "$D/collector.conf" run >"$TM_LOGS/collector.log" 2>&1 </dev/null &
PIDS+=($!)
harness_wait_for "the collector's partitions" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -gt 0 ]' \
    "$API" >/dev/null || { echo "bench: collector did not start" >&2; exit 1; }
HOST=e2e-$TM_ID
"$AGENT" -o host.id="$HOST" -o state.dir="$D/agent" -o kafka.brokers="$TM_KAFKA" \
    -o docker.socket="$TM_DOCKER_SOCK" -o containerd.socket="$TM_CONTAINERD_SOCK" \
    run >/dev/null 2>"$TM_LOGS/agent.log" </dev/null &
AGENT_PID=$!
PIDS=("$AGENT_PID" "${PIDS[@]}")
harness_wait_for "the agent" 60 grep -q "watch-docker: connected" "$TM_LOGS/agent.log" >/dev/null

api() {
	curl -sf --max-time 30 "$API$1"
}

# batch NAME CMD...: N containers one after the other; ids in D/NAME.ids
batch() {
	local name=$1 i
	shift
	: >"$D/$name.ids"
	for ((i = 0; i < N; i++)); do
		rm -f "$D/cid"
		docker -H "unix://$TM_DOCKER_SOCK" run --rm --network none \
		    --cidfile "$D/cid" tm-e2e:1 "$@" >/dev/null 2>&1
		[ -s "$D/cid" ] && { cat "$D/cid"; echo; } >>"$D/$name.ids"
	done
	sed -i '/^$/d' "$D/$name.ids"
}

# The stored containers of the host, JSON lines.
stored() {
	local cur=0 page
	while :; do
		page=$(api "/api/v1/containers?host=$HOST&limit=1000&cursor=$cur") || return
		jq -c '.containers[]' <<<"$page"
		cur=$(jq -r '.next // empty' <<<"$page")
		[ -n "$cur" ] || return
	done
}

# Wait until the host's stored record count stops moving for 3 s.
settle() {
	local last=-1 now i
	for ((i = 0; i < 300; i++)); do
		now=$(api "/api/v1/hosts/$HOST" | jq -r '.records // 0')
		[ "$now" = "$last" ] && ((i % 6 == 5)) && return
		((i % 6 == 0)) && last=$now
		sleep 0.5
	done
}

report() {
	local name=$1 label=$2 want=$3 ids procs=0 stored_n full id
	settle
	stored | jq -c --rawfile ids "$D/$name.ids" \
	    'select(.id as $i | $ids | split("\n") | index($i))' >"$D/$name.stored"
	stored_n=$(wc -l <"$D/$name.stored")
	full=$(jq -r 'select(.image != null and .exit_code == 0 and .lifetime_ns != null) | .id' "$D/$name.stored" | wc -l)
	: >"$D/$name.full"
	for id in $(jq -r .id "$D/$name.stored"); do
		api "/api/v1/containers/$id?host=$HOST" >>"$D/$name.full"
		echo >>"$D/$name.full"
	done
	withpkgs=$(jq -r 'select((.image_inventory.n_packages // 0) == 50) | .id' "$D/$name.full" | wc -l)
	procs=$(jq -r --argjson w "$want" 'select([.processes[]? | select(.args == $w)] | length > 0) | .id' "$D/$name.full" | wc -l)
	printf '| %s | %d | %d | %d | %d | %d |\n' "$label" "$(wc -l <"$D/$name.ids")" \
	    "$stored_n" "$full" "$withpkgs" "$procs"
}

batch true true
batch sleep sleep 0.1
echo "### Short-lived capture at the collector (N = $N)"
echo
echo "| batch | containers run | stored | with image, exit 0, lifetime | with the image's 50 packages | with their process |"
echo "| --- | --- | --- | --- | --- | --- |"
report true "docker run --rm IMG true" '["true"]'
report sleep "containers living 100 ms" '["sleep","0.1"]'

# Latency.
: >"$D/lat.ids"
for ((i = 0; i < M; i++)); do
	docker -H "unix://$TM_DOCKER_SOCK" run -d --rm --network none tm-e2e:1 \
	    sleep 2 >>"$D/lat.ids" 2>/dev/null
	sleep "$INTERVAL"
done
settle
stored | jq -c --rawfile ids "$D/lat.ids" \
    'select(.id as $i | $ids | split("\n") | index($i))' >"$D/lat.stored"
# Agent send times of each container's first snapshot, from the topic.
timeout 60 kcat -C -b "$TM_KAFKA" -t tallyman.inventory -e -q -f '%s' 2>/dev/null |
    "$DECODE" 2>/dev/null | jq -c 'select(.k == "container" and .h == "'"$HOST"'") |
    {id: .b.id, t, started: .b.started, why: .b.why}' >"$D/topic.json"
python3 - "$D/lat.stored" "$D/topic.json" "$M" <<'PY'
import json, sys, datetime
def ns(s):
    if s is None: return None
    d, frac = s.rstrip("Z").split(".") if "." in s else (s.rstrip("Z"), "0")
    t = datetime.datetime.strptime(d, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000000000 + int(frac.ljust(9, "0")[:9])
stored = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sent = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    if r["id"] not in sent: sent[r["id"]] = r["t"]
tot, agent, rest = [], [], []
for c in stored:
    st, rx = ns(c["started"]), ns(c.get("first_snapshot_received"))
    if st is None or rx is None: continue
    tot.append((rx - st) / 1e6)
    if c["id"] in sent:
        agent.append((sent[c["id"]] - st) / 1e6)
        rest.append((rx - sent[c["id"]]) / 1e6)
def p(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] if v else float("nan")
print()
print("### Latency: container start -> its snapshot received by the collector (M = %s)" % sys.argv[3])
print()
print("| part | containers | p50 | p99 | max |")
print("| --- | --- | --- | --- | --- |")
for name, v in (("start -> stored at the collector", tot),
                ("agent: start -> record sent", agent),
                ("Kafka + collector: sent -> received", rest)):
    print("| %s | %d | %.0f ms | %.0f ms | %.0f ms |" % (name, len(v), p(v, .5), p(v, .99), max(v) if v else float("nan")))
PY
rss=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null)
echo
echo "agent RSS at the end: $((${rss:-0} / 1024)) MiB"
stop_ours
harness_stop >/dev/null
