#!/bin/bash
# findings-docker.sh: findings from real containers, with the real agent
# (`tallyman-agent run`) and the real collector (`tallyman-collector run`)
# over the mock cluster and the test's dockerd:
#   - every CIS check of collector/cis.c's table (read from the source, so a
#     new check without a container here fails this test): a container made
#     to fail it with the docker run flag that breaks it, the others (and a
#     hardened one) pass it; /api/v1/findings?check=ID lists exactly the
#     containers that fail it.  Checks this machine cannot show are printed
#     as SKIP with the reason (they stay covered by tests/unit/test-correlate
#     and tests/integ/findings-feed.sh, with generated records);
#   - Heartbleed with the real agent: an image with Debian 7's libssl1.0.0
#     1.0.1e-2+deb7u4 (source openssl) and an OSV record fixed in +deb7u5 in
#     a feed folder -> one finding, on that container and this host, through
#     the source package; the +deb7u5 image -> none;
#   - containers that stop: their findings resolve ("container exited");
#   - the findings topic, read with kcat, carries each new and each resolved
#     finding exactly once.
. "$(dirname "$0")/../lib/harness.sh"

AGENT=$(prog_path agent/tallyman-agent)
COLLECTOR=$(prog_path collector/tallyman-collector)
COLLECTOR_PID=
AGENT_PID=
PROP_MNT=

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
	if [ -n "$PROP_MNT" ]; then
		# The container with a shared bind mount first, then the mount.
		harness_docker rm -f cis-5.20 >/dev/null 2>&1
		umount "$PROP_MNT" 2>/dev/null || umount -l "$PROP_MNT"
		PROP_MNT=
	fi
}
harness_privileged_runtime
harness_start
# Ours first: the harness's own hook checks that nothing is left running.
TAP_HOOKS=(stop_all "${TAP_HOOKS[@]}")
trap 'stop_all; harness__on_exit' EXIT
trap 'stop_all; harness__on_signal INT 130' INT
trap 'stop_all; harness__on_signal TERM 143' TERM
harness_require_cmd curl jq kcat python3 mount umount

kafka_start -t tallyman.inventory:3 -t tallyman.findings:3
D=$TM_TMP/fd
mkdir -p "$D/state" "$D/feed" "$D/prop"

# The feed: Debian's advisory for Heartbleed, keyed by the source package.
cat >"$D/feed/DSA-2896-1.json" <<'JSON'
{"id": "DSA-2896-1", "modified": "2014-04-07T00:00:00Z",
 "aliases": ["CVE-2014-0160"], "summary": "openssl security update",
 "severity": [{"type": "CVSS_V3",
   "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
 "affected": [{"package": {"ecosystem": "Debian:7", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "1.0.1e-2+deb7u5"}]}]}]}
JSON

# Images.  tm-cis: busybox and an "sshd" (a shell script: its process is
# named sshd) for 5.7; no OS release, so no vulnerability matching.
mkdir -p "$D/cis/usr/sbin"
printf '#!/bin/sh\nsleep 3600 &\nwait\n' >"$D/cis/usr/sbin/sshd"
chmod 755 "$D/cis/usr/sbin/sshd"
harness_image tm-cis:1 "$D/cis" || tap_bail "no image tm-cis"
CIS_IMAGE=$TM_IMAGE
# Debian 7 with openssl before and after the fix.
for v in 4 5; do
	mkdir -p "$D/hb$v/etc" "$D/hb$v/var/lib/dpkg"
	cat >"$D/hb$v/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 7 (wheezy)"
NAME="Debian GNU/Linux"
VERSION_ID="7"
VERSION="7 (wheezy)"
ID=debian
EOF
	cat >"$D/hb$v/var/lib/dpkg/status" <<EOF
Package: libssl1.0.0
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 1.0.1e-2+deb7u$v

Package: bash
Status: install ok installed
Architecture: amd64
Version: 4.2+dfsg-0.1+deb7u3

EOF
	harness_image "tm-hb:deb7u$v" "$D/hb$v" || tap_bail "no image tm-hb:deb7u$v"
done

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
cat >"$D/collector.conf" <<EOF
kafka.brokers = $TM_KAFKA
kafka.group = tm-fd-$TM_ID
store.path = $D/state/collector.db
api.listen = 127.0.0.1:$PORT
api.auth = none
feeds.osv = $D/feed
findings.topic = tallyman.findings
EOF
"$COLLECTOR" -c "$D/collector.conf" run >>"$TM_LOGS/collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
harness_wait_for "the collector's API" 60 curl -sf "$API/healthz" ||
    tap_bail "collector did not start: $(tail -n 20 "$TM_LOGS/collector.log")"
harness_wait_for "the collector's partitions" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -gt 0 ]' \
    "$API" || tap_bail "the collector never joined its group"

HOST=fd-docker-$TM_ID
"$AGENT" -o host.id="$HOST" -o state.dir="$D/agent" \
    -o kafka.brokers="$TM_KAFKA" -o heartbeat.interval=2s \
    -o docker.socket="$TM_DOCKER_SOCK" \
    -o containerd.socket="$TM_CONTAINERD_SOCK" \
    run >"$TM_LOGS/agent.out" 2>"$TM_LOGS/agent.log" </dev/null &
AGENT_PID=$!

api() {
	curl -sf --max-time 10 "$API$1"
}
# wait_api DESC PATH JQ: until the JSON at PATH satisfies JQ.
wait_api() {
	harness_wait_for "$1" 120 bash -c \
	    'curl -sf --max-time 5 "$0$1" | jq -e "$2" >/dev/null' \
	    "$API" "$2" "$3"
}

# What this host can show.  Docker reports no AppArmor profile when the
# kernel has no AppArmor, and the check does not apply there (the agent
# sends no profile, CIS 5.2 says "if applicable"); without userns-remap
# every container shares the host's user namespace.
APPARMOR=no
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] &&
    harness_docker info --format '{{json .SecurityOptions}}' | grep -q apparmor; then
	APPARMOR=yes
fi
USERNS_REMAP=no
harness_docker info --format '{{json .SecurityOptions}}' | grep -q userns &&
    USERNS_REMAP=yes
# A bind mount with shared propagation needs a shared mount at its source.
mount --bind "$D/prop" "$D/prop" && PROP_MNT=$D/prop &&
    mount --make-shared "$D/prop" || tap_bail "cannot make $D/prop a shared mount"

# The hardened base passes every check; each container changes one flag.
HARD=(--network none --user 1000:1000 --memory 64m --cpus 0.5
    --pids-limit 64 --read-only --security-opt no-new-privileges
    --health-cmd true --health-interval 300s)
# without FLAG...: HARD less those flags (and their value).
without() {
	local out=() skip=0 a i
	for ((i = 0; i < ${#HARD[@]}; i++)); do
		a=${HARD[$i]}
		for f in "$@"; do
			if [ "$a" = "$f" ]; then
				skip=1
				case $a in --read-only) ;; *) i=$((i + 1)) ;; esac
				break
			fi
		done
		[ "$skip" = 1 ] || out+=("$a")
		skip=0
	done
	printf '%s\n' "${out[@]}"
}
declare -A FAILS=()	# container -> the checks it must fail
NAMES=()
# run NAME "CHECKS IT FAILS" DOCKER-RUN-ARGS... (image and command last)
run() {
	local name=$1 fails=$2
	shift 2
	harness_docker run -d --name "$name" "$@" >/dev/null ||
	    tap_bail "docker run $name failed: $*"
	NAMES+=("$name")
	FAILS[$name]=$fails
}
mapfile -t NO_USER < <(without --user)
mapfile -t NO_MEM < <(without --memory)
mapfile -t NO_CPU < <(without --cpus)
mapfile -t NO_RO < <(without --read-only)
mapfile -t NO_NNP < <(without --security-opt)
mapfile -t NO_HEALTH < <(without --health-cmd --health-interval)
mapfile -t NO_PIDS < <(without --pids-limit)
S=(sleep 3600)
run cis-pass "" "${HARD[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-4.1 "4.1" "${NO_USER[@]}" "$CIS_IMAGE" "${S[@]}"
[ "$APPARMOR" = yes ] &&
    run cis-5.2 "5.2" "${HARD[@]}" --security-opt apparmor=unconfined "$CIS_IMAGE" "${S[@]}"
run cis-5.4 "5.4" "${HARD[@]}" --cap-add SYS_ADMIN "$CIS_IMAGE" "${S[@]}"
# --privileged also turns seccomp off (5.22); its capabilities are 5.5's
# (5.4 judges capabilities added with --cap-add).
run cis-5.5 "5.5 5.22" "${HARD[@]}" --privileged --runtime "$TM_PRIV_RUNTIME" \
    "$CIS_IMAGE" "${S[@]}"
run cis-5.6 "5.6" "${HARD[@]}" -v /etc:/host-etc:ro "$CIS_IMAGE" "${S[@]}"
run cis-5.7 "5.7" "${HARD[@]}" "$CIS_IMAGE" /usr/sbin/sshd
run cis-5.11 "5.11" "${NO_MEM[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-5.12 "5.12" "${NO_CPU[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-5.13 "5.13" "${NO_RO[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-5.15 "5.15" "${HARD[@]}" --restart always "$CIS_IMAGE" "${S[@]}"
run cis-5.16 "5.16" "${HARD[@]}" --pid host "$CIS_IMAGE" "${S[@]}"
run cis-5.17 "5.17" "${HARD[@]}" --ipc host "$CIS_IMAGE" "${S[@]}"
run cis-5.18 "5.18" "${HARD[@]}" --device /dev/null:/dev/tm-null "$CIS_IMAGE" "${S[@]}"
run cis-5.20 "5.20" "${HARD[@]}" -v "$D/prop:/prop:rshared" "$CIS_IMAGE" "${S[@]}"
run cis-5.21 "5.21" "${HARD[@]}" --uts host "$CIS_IMAGE" "${S[@]}"
run cis-5.22 "5.22" "${HARD[@]}" --security-opt seccomp=unconfined "$CIS_IMAGE" "${S[@]}"
run cis-5.26 "5.26" "${NO_NNP[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-5.27 "5.27" "${NO_HEALTH[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-5.29 "5.29" "${NO_PIDS[@]}" "$CIS_IMAGE" "${S[@]}"
run cis-5.31 "5.31" "${HARD[@]}" --userns host "$CIS_IMAGE" "${S[@]}"
run cis-5.32 "5.32" "${HARD[@]}" -v "$TM_DOCKER_SOCK:/var/run/docker.sock" \
    "$CIS_IMAGE" "${S[@]}"
run hb-vuln "" "${HARD[@]}" tm-hb:deb7u4 "${S[@]}"
run hb-fixed "" "${HARD[@]}" tm-hb:deb7u5 "${S[@]}"
# Host-wide: what every container here fails.
for n in "${NAMES[@]}"; do
	[ "$USERNS_REMAP" = yes ] || FAILS[$n]+=" 5.31"
done

tap_check "every container is stored, running" wait_api \
    "${#NAMES[@]} containers running" "/api/v1/containers?running=true&host=$HOST&limit=1000" \
    ".total == ${#NAMES[@]}"
tap_check "the feed is loaded" wait_api "the feed" "/api/v1/vulnerabilities/DSA-2896-1" \
    '.id == "DSA-2896-1"'

# Each check of the table: exactly the containers that fail it.
mapfile -t CHECKS < <(sed -n 's/^[[:space:]]*{ "\([0-9.]*\)",.*/\1/p' "$top_srcdir/collector/cis.c")
[ "${#CHECKS[@]}" -ge 20 ] || tap_bail "cannot read the checks of collector/cis.c"
expected() {	# expected CHECK: the names of the containers failing it, sorted
	local n
	for n in "${NAMES[@]}"; do
		case " ${FAILS[$n]} " in *" $1 "*) echo "$n" ;; esac
	done | sort | paste -sd, -
}
got() {
	api "/api/v1/findings?kind=misconfiguration&check=$1&host=$HOST&limit=1000" |
	    jq -r '[.findings[].container_name] | sort | join(",")'
}
for c in "${CHECKS[@]}"; do
	want=$(expected "$c")
	# Records arrive in any order: wait (bounded) for the expected answer.
	end=$((SECONDS + 60))
	while [ "$(got "$c")" != "$want" ] && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.5
	done
	case $c in
	5.10)
		# Containers here run with --network none only.
		tap_is "$(got "$c")" "" "CIS 5.10: no container fails it (all have --network none)"
		tap_skip "CIS 5.10: a container with --network host fails it" \
		    "host networking is not allowed on this machine (containers run with --network none); covered by test-correlate and findings-feed.sh with generated records"
		continue ;;
	5.2)
		if [ "$APPARMOR" = no ]; then
			tap_is "$(got "$c")" "" \
			    "CIS 5.2: no container fails it (no AppArmor in this kernel: the check does not apply)"
			tap_skip "CIS 5.2: an apparmor=unconfined container fails it, one with the default profile passes it" \
			    "no AppArmor in this kernel; covered by test-correlate and findings-feed.sh with generated records"
			continue
		fi ;;
	5.31)
		if [ "$USERNS_REMAP" = no ]; then
			tap_is "$(got "$c")" "$want" \
			    "CIS 5.31: every container fails it (no userns-remap: all share the host's user namespace)"
			tap_skip "CIS 5.31: a container in a remapped user namespace passes it" \
			    "userns-remap would add users and subordinate ids to this host; covered by test-correlate and findings-feed.sh with generated records"
			continue
		fi ;;
	esac
	[ -n "$want" ] || { tap_fail "CIS $c: no container here fails it (add one)"; continue; }
	tap_is "$(got "$c")" "$want" "CIS $c: exactly $want fail it, the others pass"
done
tap_is "$(api "/api/v1/findings?kind=misconfiguration&container=cis-pass&host=$HOST" |
    jq -r '[.findings[].check] | sort | join(",")')" \
    "$(for c in 5.31; do case " ${FAILS[cis-pass]} " in *" $c "*) echo "$c" ;; esac; done | paste -sd, -)" \
    "the hardened container fails nothing but the host-wide checks"

# Heartbleed, with the real agent's inventory.
tap_check "the vulnerable container's finding" wait_api "Heartbleed on hb-vuln" \
    "/api/v1/findings?kind=vulnerability&host=$HOST" '.total >= 1'
V=$(api "/api/v1/findings?kind=vulnerability&host=$HOST&limit=1000")
tap_is "$(jq -r '.findings[] | [.container_name, .host, .package, .source_package, .installed_version, .fixed_version, .advisory, (.aliases | join(",")), .severity] | @tsv' <<<"$V")" \
    "hb-vuln	$HOST	libssl1.0.0	openssl	1.0.1e-2+deb7u4	1.0.1e-2+deb7u5	DSA-2896-1	CVE-2014-0160	high" \
    "Heartbleed: one finding, on hb-vuln on this host, libssl1.0.0 via source openssl; none on +deb7u5"
hbid=$(harness_docker inspect -f '{{.Id}}' hb-vuln)
B=$(api /api/v1/vulnerabilities/CVE-2014-0160)
tap_is "$(jq -r '[(.now.hosts | join(",")), (.now.containers | map(.container) | join(",")), (.now.images | join(","))] | @tsv' <<<"$B")" \
    "$HOST	$hbid	$(jq -r '.findings[0].image' <<<"$V")" \
    "the blast radius of CVE-2014-0160: this host, hb-vuln and its image"

# Stopping containers resolves their findings.  A container that exits
# within 10 s of its start gets a short-lived finding, open until it is
# removed (correlate.c); both lived longer than that before they stop, so
# that every finding they have now resolves and none is added.
for c in cis-5.5 hb-vuln; do
	started=$(date -d "$(harness_docker inspect -f '{{.State.StartedAt}}' "$c")" +%s) ||
		tap_fail "docker inspect $c"
	while [ $(( $(date +%s) - ${started:-0} )) -lt 12 ]; do sleep 1; done
done
open_priv=$(api "/api/v1/findings?container=cis-5.5&host=$HOST" | jq -r .total)
harness_docker stop -t 1 cis-5.5 hb-vuln >/dev/null || tap_fail "docker stop"
tap_check "the stopped containers' findings resolve" wait_api "resolved" \
    "/api/v1/findings?host=$HOST&state=open&container=hb-vuln" '.total == 0'
wait_api "cis-5.5 resolved" "/api/v1/findings?host=$HOST&state=open&container=cis-5.5" '.total == 0' ||
    tap_diag "cis-5.5 still has open findings"
R=$(api "/api/v1/findings?host=$HOST&state=resolved&limit=1000")
tap_is "$(jq -r '[.findings[] | select(.container_name == "cis-5.5")] | length' <<<"$R")" \
    "$open_priv" "cis-5.5: its $open_priv findings are resolved"
tap_is "$(jq -r '[.findings[] | .resolved_reason] | unique | join(",")' <<<"$R")" \
    "container exited" "resolved_reason: container exited"
tap_is "$(jq -r '[.findings[] | select(.kind == "vulnerability") | .container_name] | join(",")' <<<"$R")" \
    "hb-vuln" "the Heartbleed finding is resolved with its container"
tap_is "$(jq -r '[.findings[] | select(.resolved_at == null)] | length' <<<"$R")" 0 \
    "every resolved finding has resolved_at"
tap_is "$(api "/api/v1/findings?host=$HOST&kind=short-lived&limit=1000" |
    jq -r '[.findings[] | select(.container_name == "cis-5.5" or .container_name == "hb-vuln")] | length')" 0 \
    "containers that lived over 10 s have no short-lived finding"

# The findings topic: each new and each resolved finding exactly once.
all=$(api "/api/v1/findings?host=$HOST&state=all&limit=1000")
nall=$(jq -r .total <<<"$all")
nres=$(jq -r '[.findings[] | select(.state == "resolved")] | length' <<<"$all")
harness_wait_for "the findings topic" 60 bash -c \
    '[ "$(kcat -C -b "$0" -t tallyman.findings -e -q 2>/dev/null | wc -l)" -ge "$1" ]' \
    "$TM_KAFKA" $((nall + nres))
sleep 1	# a duplicate, if one were produced, would arrive too
kcat -C -b "$TM_KAFKA" -t tallyman.findings -e -q -f '%k %s\n' >"$D/topic.txt" 2>/dev/null
tap_is "$(wc -l <"$D/topic.txt")" $((nall + nres)) \
    "the topic holds $nall new and $nres resolved messages, one per state change"
tap_is "$(cut -d' ' -f2- "$D/topic.txt" | jq -r '[.id, .event] | @tsv' | sort | md5sum)" \
    "$(jq -r '.findings[] | [.id, "new"], (select(.state == "resolved") | [.id, "resolved"]) | @tsv' <<<"$all" | sort | md5sum)" \
    "the topic's state changes are exactly the API's findings: each new once, each resolved once"
tap_is "$(while read -r k json; do [ "$(jq -r .id <<<"$json")" = "$k" ] || echo "$k"; done <"$D/topic.txt" | wc -l)" \
    0 "every message's key is its finding's id"
tap_is "$(cut -d' ' -f2- "$D/topic.txt" | jq -r 'select(.event == "new" and .kind == "vulnerability") | [.host, .container_name, .package, .installed_version, .fixed_version, (.aliases | join(","))] | @tsv')" \
    "$HOST	hb-vuln	libssl1.0.0	1.0.1e-2+deb7u4	1.0.1e-2+deb7u5	CVE-2014-0160" \
    "the topic carries the Heartbleed finding (this host, hb-vuln), and no other vulnerability"
tap_is "$(cut -d' ' -f2- "$D/topic.txt" | jq -r 'select(.event == "resolved" and .kind == "vulnerability") | [.container_name, .advisory, .resolved_reason] | @tsv')" \
    "hb-vuln	DSA-2896-1	container exited" "the topic carries the Heartbleed finding's resolution"

stop_pid "$AGENT_PID"
AGENT_PID=
stop_pid "$COLLECTOR_PID"
rc=$?
COLLECTOR_PID=
tap_is "$rc" 0 "the collector exits 0 on SIGTERM"
tap_done
