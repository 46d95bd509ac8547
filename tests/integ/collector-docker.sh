#!/bin/bash
# collector-docker.sh: the whole chain with the real programs: containers
# under the test's dockerd, the real agent (`tallyman-agent run`) producing
# to the mock cluster, the real collector (`tallyman-collector run`)
# storing them, and its API and query tool showing them:
#   - a privileged container with the Docker socket mounted and a hardened
#     one (read-only root, --cap-drop ALL, a non-root user) appear with
#     their risks, processes and packages; a later `docker exec` adds its
#     process;
#   - a container that lived under a second is listed by lifetime_lt=1s and
#     by `query containers --short-lived` (table and --json);
#   - the package search finds the image's package through its source name,
#     with the image, the container and the host that run it;
#   - what the collector stored equals what is on the topic (read with kcat,
#     an independent client) and the agent's own heartbeat counter;
#   - the API's bearer token: none or a wrong one is a 401; a malformed
#     query a 400 with a reason; an unknown path a 404; /metrics counts.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

AGENT=$(prog_path agent/tallyman-agent)
COLLECTOR=$(prog_path collector/tallyman-collector)
COLLECTOR_PID=
AGENT_PID=

stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		timeout 60 tail --pid="$pid" -f /dev/null
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}
stop_all() {
	stop_pid "$AGENT_PID"
	AGENT_PID=
	stop_pid "$COLLECTOR_PID"
	COLLECTOR_PID=
}
harness_privileged_runtime
harness_start
tr_init
# Ours first: the harness's own hook checks that nothing is left running.
TAP_HOOKS=(stop_all "${TAP_HOOKS[@]}")
trap 'stop_all; tr__on_exit' EXIT
trap 'stop_all; harness__on_signal INT 130' INT
trap 'stop_all; harness__on_signal TERM 143' TERM
harness_require_cmd curl jq kcat python3

kafka_start -t tallyman.inventory:3 -t tallyman.findings:3
D=$TM_TMP/col
mkdir -p "$D/state" "$D/img/var/lib/dpkg" "$D/img/etc"
# The image: busybox plus a Debian 12 os-release and a dpkg database whose
# binary package names differ from their source package.
cat >"$D/img/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
EOF
cat >"$D/img/var/lib/dpkg/status" <<'EOF'
Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2

Package: libtmtest1
Status: install ok installed
Architecture: amd64
Source: tmtest (1:2.4-1)
Version: 1:2.4-1+b1

EOF
harness_image "tm-col:1" "$D/img" || tap_bail "no image"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
TOKEN=tm-test-token-$TM_ID-0123456789
printf '%s\n' "$TOKEN" >"$D/token"
chmod 600 "$D/token"
cat >"$D/collector.conf" <<EOF
kafka.brokers = $TM_KAFKA
kafka.group = tm-col-$TM_ID
store.path = $D/state/collector.db
api.listen = 127.0.0.1:$PORT
api.token_file = $D/token
EOF
"$COLLECTOR" -c "$D/collector.conf" run >>"$TM_LOGS/collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
harness_wait_for "the collector's API" 60 curl -sf "$API/healthz" ||
    tap_bail "collector did not start: $(tail -n 20 "$TM_LOGS/collector.log")"
harness_wait_for "the collector's partitions" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -gt 0 ]' \
    "$API" || tap_bail "the collector never joined its group"

HOST=col-docker-$TM_ID
"$AGENT" -o host.id="$HOST" -o state.dir="$D/agent" \
    -o kafka.brokers="$TM_KAFKA" -o heartbeat.interval=2s \
    -o docker.socket="$TM_DOCKER_SOCK" \
    -o containerd.socket="$TM_CONTAINERD_SOCK" \
    run >"$TM_LOGS/agent.out" 2>"$TM_LOGS/agent.log" </dev/null &
AGENT_PID=$!

api() {
	curl -sf --max-time 10 -H "Authorization: Bearer $TOKEN" "$API$1"
}
# wait_api DESC PATH JQ: until the JSON at PATH satisfies JQ.
wait_api() {
	harness_wait_for "$1" 90 bash -c \
	    'curl -sf --max-time 5 -H "Authorization: Bearer $1" "$2$3" | jq -e "$4" >/dev/null' \
	    _ "$TOKEN" "$API" "$2" "$3"
}

priv=$(harness_docker run -d --network none --name "tm-priv-$TM_ID" \
    --runtime "$TM_PRIV_RUNTIME" --privileged \
    -v "$TM_DOCKER_SOCK:/var/run/docker.sock" \
    "$TM_IMAGE" sleep 600) || tap_bail "no privileged container"
hard=$(harness_docker run -d --network none --name "tm-hard-$TM_ID" \
    --read-only --cap-drop ALL --user 1000:1000 --memory 64m --pids-limit 50 \
    "$TM_IMAGE" sleep 600) || tap_bail "no hardened container"
short=$(harness_docker run -d --network none --name "tm-short-$TM_ID" \
    "$TM_IMAGE" true) || tap_bail "no short container"

tap_check "the privileged container is stored with its process" wait_api \
    "tm-priv in the API" "/api/v1/containers/$priv" \
    '.state == "running" and any(.processes[]; .comm == "sleep")'
tap_check "the hardened container is stored" wait_api "tm-hard in the API" \
    "/api/v1/containers/$hard" '.state == "running" and (.risks != null)'
tap_check "the short container is stored as exited" wait_api \
    "tm-short exited in the API" "/api/v1/containers/$short" \
    '.state == "exited" or .state == "removed"'

P=$(api "/api/v1/containers/$priv")
tap_is "$(jq -r '.risks.privileged' <<<"$P")" true "privileged: risks.privileged"
tap_is "$(jq -r '.risks.runtime_socket_mounted' <<<"$P")" true \
    "privileged: the Docker socket mount is flagged"
tap_is "$(jq -r '[.risks.mounts[] | select(.destination == "/var/run/docker.sock")] | length' <<<"$P")" 1 \
    "privileged: the socket's mount is listed"
tap_is "$(jq -r '.name' <<<"$P")" "tm-priv-$TM_ID" "privileged: its name"
tap_is "$(jq -r '.image_ref' <<<"$P")" "$TM_IMAGE" "privileged: its image reference"
tap_is "$(jq -r '.host' <<<"$P")" "$HOST" "privileged: its host"
tap_is "$(jq -r '[.image_inventory.packages[].name] | sort | join(",")' <<<"$P")" \
    "libssl3,libtmtest1" "privileged: the image's packages, through the container"
tap_is "$(jq -r '.image_inventory.os_id + " " + .image_inventory.os_version' <<<"$P")" \
    "debian 12" "privileged: the image's OS"
tap_is "$(jq -r '[.findings[] | select(.check == "5.5")] | length' <<<"$P")" 1 \
    "privileged: its open CIS 5.5 finding is in its answer"
H=$(api "/api/v1/containers/$hard")
tap_is "$(jq -r '.risks.read_only_rootfs' <<<"$H")" true "hardened: read-only root"
tap_is "$(jq -r '.risks.cap_drop | index("ALL") != null' <<<"$H")" true \
    "hardened: capabilities dropped (ALL)"
tap_is "$(jq -r '.risks.runs_as_root' <<<"$H")" false "hardened: not root"
tap_is "$(jq -r '.risks.memory_limit' <<<"$H")" 67108864 "hardened: its memory limit"
tap_is "$(jq -r '.risks.privileged' <<<"$H")" false "hardened: not privileged"
tap_is "$(jq -r '[.processes[] | select(.uid == 1000)] | length > 0' <<<"$H")" true \
    "hardened: its process runs as uid 1000"

# exec: a new process in the running container.
harness_docker exec -d "$priv" sh -c 'exec sleep 300' ||
    tap_bail "docker exec failed"
tap_check "docker exec adds its process to the stored container" wait_api \
    "the exec'd sleep 300" "/api/v1/containers/$priv" \
    'any(.processes[]; .args == ["sleep", "300"])'

# Short-lived.
tap_check "the short container has its lifetime" wait_api "its lifetime" \
    "/api/v1/containers/$short" '.lifetime_ns != null and .exit_code == 0'
L=$(api "/api/v1/containers?lifetime_lt=1s&host=$HOST")
tap_is "$(jq -r "[.containers[] | select(.id == \"$short\")] | length" <<<"$L")" 1 \
    "lifetime_lt=1s lists the container that lived under a second"
tap_is "$(jq -r "[.containers[] | select(.id == \"$priv\" or .id == \"$hard\")] | length" <<<"$L")" 0 \
    "lifetime_lt=1s does not list the running ones"
R=$(api "/api/v1/containers?running=true&host=$HOST")
tap_is "$(jq -r '[.containers[].name] | sort | join(" ")' <<<"$R")" \
    "tm-hard-$TM_ID tm-priv-$TM_ID" "running=true lists exactly the two running containers"
tap_is "$(jq -r '.total' <<<"$R")" 2 "running=true: total 2"
conf_q=(-c "$D/collector.conf")
out=$("$COLLECTOR" "${conf_q[@]}" query containers --short-lived --host "$HOST" 2>&1)
tap_like "$out" "tm-short-$TM_ID" "query containers --short-lived prints the short container"
tap_like "$(head -n 1 <<<"$out")" "^HOST +ID +NAME" "query prints a table with a header"
n=$("$COLLECTOR" "${conf_q[@]}" query containers --short-lived --host "$HOST" --json |
    jq "[.containers[] | select(.id == \"$short\")] | length")
tap_is "$n" 1 "query containers --short-lived --json"
out=$("$COLLECTOR" "${conf_q[@]}" query container "${priv:0:12}" 2>&1)
tap_like "$out" "privileged: yes" "query container ID-PREFIX shows the container in full"

# Package search through the source name.
S=$(api "/api/v1/packages?name=openssl")
tap_is "$(jq -r '.versions[0].version' <<<"$S")" "3.0.11-1~deb12u2" \
    "packages?name=openssl finds the version (by source name)"
tap_is "$(jq -r '.versions[0].packages | join(",")' <<<"$S")" "libssl3" \
    "... installed as binary package libssl3"
tap_is "$(jq -r "[.versions[0].containers[].id] | sort | join(\",\")" <<<"$S")" \
    "$(printf '%s\n' "$priv" "$hard" | sort | paste -sd,)" \
    "... in the two running containers (the exited one is not running now)"
tap_is "$(jq -r '.versions[0].hosts | join(",")' <<<"$S")" "$HOST" "... on this host"
S=$(api "/api/v1/packages?name=tmtest&running=any")
tap_is "$(jq -r '.versions[0].version' <<<"$S")" "1:2.4-1+b1" \
    "packages: the version as dpkg prints it, epoch kept"
tap_is "$(jq -r '.versions[0].containers | length' <<<"$S")" 3 \
    "packages ... running=any: every container of the image"
out=$("$COLLECTOR" "${conf_q[@]}" query packages openssl 2>&1)
tap_like "$out" "3.0.11-1~deb12u2" "query packages NAME prints the versions"

# Images and hosts.
I=$(api "/api/v1/images/$TM_IMAGE_ID")
tap_is "$(jq -r '.n_packages' <<<"$I")" 2 "images/ID: the image's packages"
tap_is "$(jq -r '.hosts[0].host' <<<"$I")" "$HOST" "images/ID: the host that has it"

# Auth and bad requests.
code=$(curl -s -o "$D/r" -w '%{http_code}' "$API/api/v1/hosts")
tap_is "$code" 401 "no token: 401"
tap_is "$(jq -r .error "$D/r")" unauthorized "no token: a JSON error"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong-token-000000" "$API/api/v1/hosts")
tap_is "$code" 401 "a wrong token: 401"
code=$(curl -s -o "$D/r" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "$API/api/v1/containers?lifetime_lt=soon")
tap_is "$code" 400 "a malformed query: 400"
tap_like "$(jq -r .reason "$D/r")" "lifetime_lt" "... with a reason naming the parameter"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "$API/api/v1/containers?colour=blue")
tap_is "$code" 400 "an unknown parameter: 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/api/v1/nothing")
tap_is "$code" 404 "an unknown path: 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/api/v1/containers/no-such-container")
tap_is "$code" 404 "an unknown container: 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
tap_is "$code" 200 "/healthz needs no token"

# Everything the agent produced is stored, once.
tap_check "SIGTERM stops the agent" bash -c 'kill -TERM "$0" && timeout 60 tail --pid="$0" -f /dev/null' "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$HOST" "$D/topic.json"
ntopic=$(jq -r .s "$D/topic.json" | sort -un | wc -l)
tap_check "the collector stored every record of the topic" wait_api \
    "$ntopic records stored" "/api/v1/hosts/$HOST" ".records == $ntopic"
Hh=$(api "/api/v1/hosts/$HOST")
tap_is "$(jq -r '.sequence.missing' <<<"$Hh")" 0 "no record missing from the host's sequence"
tap_is "$(jq -r '.sequence.duplicates' <<<"$Hh")" 0 "none stored twice"
tap_is "$(jq -r '.rejects' <<<"$Hh")" 0 "none rejected"
tap_is "$(jq -r '.sequence.high' <<<"$Hh")" "$(jq -r .s "$D/topic.json" | sort -n | tail -n 1)" \
    "the highest sequence stored is the topic's"
# The last heartbeat's own counter: the records the agent made before it.
read -r hbseq hbrec <<<"$(jq -r 'select(.k == "heartbeat") | "\(.s) \(.b.rec)"' "$D/topic.json" | sort -n | tail -n 1)"
before=$(jq -r "select(.s < $hbseq) | .s" "$D/topic.json" | sort -un | wc -l)
tap_is "$before" "$hbrec" "the records before the last heartbeat equal its counter ($hbrec)"
tap_is "$(jq -r '.heartbeat.records' <<<"$Hh")" "$hbrec" "the API shows that heartbeat's counters"
tap_is "$(jq -r '.agent_version' <<<"$Hh")" "$("$AGENT" --version | awk '{print $2}')" \
    "the host's agent version"
M=$(api /metrics)
tap_like "$M" 'tallyman_records_total\{kind="container"\} [1-9]' "/metrics counts container records"
tap_like "$M" 'tallyman_rejects_total\{reason="malformed"\} 0' "/metrics lists rejects by reason"
stop_pid "$COLLECTOR_PID"
rc=$?
COLLECTOR_PID=
tap_is "$rc" 0 "the collector exits 0 on SIGTERM"
tap_done
