#!/bin/bash
# findings-feed.sh: the collector correlates a fleet fed through Kafka (the
# records agents send, made by tests/gen-scenario) with an OSV feed, and
# publishes each new and resolved finding exactly once on the findings topic
# (read back with kcat):
#   - Heartbleed: the container whose image has Debian's libssl1.0.0
#     1.0.1e-2+deb7u4 (source openssl) gets a finding, on its host; the one
#     with +deb7u5 does not;
#   - the feed arrives after the containers run (SIGHUP): findings appear
#     without any record from an agent;
#   - rpm epoch and Alpine -rN cases through the whole path;
#   - every CIS check: one container fails it, another passes;
#   - the advisory withdrawn (picked up by feeds.interval): its findings
#     resolve, once; a container
#     exits: its findings resolve;
#   - /api/v1/findings filters and /api/v1/vulnerabilities/{id}.
. "$(dirname "$0")/../lib/harness.sh"

COLLECTOR=$(prog_path collector/tallyman-collector)
GEN=$(prog_path tests/gen-scenario)
COLLECTOR_PID=
HOOK_PID=

stop_hook() {
	if [ -n "$HOOK_PID" ]; then
		kill "$HOOK_PID" 2>/dev/null
		wait "$HOOK_PID" 2>/dev/null
		HOOK_PID=
	fi
}

stop_collector() {
	if [ -n "$COLLECTOR_PID" ]; then
		kill -TERM "$COLLECTOR_PID" 2>/dev/null
		timeout 60 tail --pid="$COLLECTOR_PID" -f /dev/null
		wait "$COLLECTOR_PID" 2>/dev/null
		COLLECTOR_PID=
	fi
}
# Ours first: the harness's own hook checks that nothing is left running.
tap_at_done stop_collector
tap_at_done stop_hook
harness_init
# ... and on a crash or a signal too, before the harness's teardown.
trap 'stop_collector; stop_hook; harness__on_exit' EXIT
trap 'stop_collector; stop_hook; harness__on_signal INT 130' INT
trap 'stop_collector; stop_hook; harness__on_signal TERM 143' TERM
harness_require_cmd kcat jq curl python3

kafka_start -t tallyman.inventory:2 -t tallyman.findings:2
D=$TM_TMP/c
mkdir -p "$D/feed" "$D/state"
# The webhook: answers 500 to its first two POSTs (retried with backoff).
mkdir -p "$D/www"
python3 "$top_srcdir/tests/lib/osv-http.py" "$D/www" "$D/hook.port" \
    "$D/hook.log" "$D/hook.posts" 2 >>"$TM_LOGS/hook.log" 2>&1 </dev/null &
HOOK_PID=$!
harness_wait_for "the webhook server" 30 test -s "$D/hook.port" ||
    tap_bail "webhook server did not start"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$D/collector.conf" <<CONF
kafka.brokers = $TM_KAFKA
kafka.topic = tallyman.inventory
kafka.group = tm-findings-$TM_ID
store.path = $D/state/collector.db
api.listen = 127.0.0.1:$PORT
api.auth = none
feeds.osv = $D/feed
feeds.interval = 2s
findings.topic = tallyman.findings
findings.webhook = http://127.0.0.1:$(cat "$D/hook.port")/hook
CONF
API=http://127.0.0.1:$PORT

api() {
	curl -sf --max-time 10 "$API$1"
}

# wait_total QUERY N: until /api/v1/findings?QUERY reports total N.
wait_total() {
	harness_wait_for "findings?$1 total $2" 60 \
	    bash -c '[ "$(curl -sf --max-time 5 "$0/api/v1/findings?$1" | jq -r .total)" = "$2" ]' \
	    "$API" "$1" "$2"
}

"$COLLECTOR" -c "$D/collector.conf" run >>"$TM_LOGS/collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
harness_wait_for "the collector's API" 60 curl -sf "$API/healthz" ||
    tap_bail "collector did not start: $(tail -n 20 "$TM_LOGS/collector.log")"
# Records produced before the group has its partitions would be skipped.
harness_wait_for "the collector's partitions" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -gt 0 ]' \
    "$API" || tap_bail "the collector never joined its group"

# Every CIS check has a passing twin: "secure" passes all of them.
SECURE="mem=67108864 cpus=500000000 pids=100 rorootfs nnp health seccomp=default apparmor=docker-default restart=on-failure"
# produce FILE [FIRST-SEQ]: the records of a scenario file, through Kafka.
produce() {
	"$GEN" -b "$TM_KAFKA" -t tallyman.inventory -s "${2:-0}" <"$1"
}

cat >"$D/fleet.scn" <<SCN
host host-a debian 7
heartbeat host-a 30
image host-a img-vuln debian 7 dpkg/libssl1.0.0/1.0.1e-2+deb7u4/openssl/1.0.1e-2+deb7u4 dpkg/bash/4.2+dfsg-0.1
image host-a img-fixed debian 7 dpkg/libssl1.0.0/1.0.1e-2+deb7u5/openssl/1.0.1e-2+deb7u5
container host-a ctr-vuln img-vuln running $SECURE
container host-a ctr-fixed img-fixed running $SECURE
host host-r rocky 9
image host-r img-rocky rocky 9.3 rpm/openssl-libs/3.0.7-27.el9/openssl/3.0.7-27.el9 rpm/shadow-utils/2:4.6-1.el9/shadow-utils/2:4.6-1.el9
container host-r ctr-rocky img-rocky running $SECURE
host host-l alpine 3.19
image host-l img-alpine alpine 3.19.1 apk/libcrypto3/3.1.4-r5/openssl apk/musl/1.2.4-r10/musl
container host-l ctr-alpine img-alpine running $SECURE
host host-c debian 12
container host-c cis-pass img-none running $SECURE
container host-c cis-4.1 img-none running $SECURE root
container host-c cis-5.2 img-none running $SECURE apparmor=unconfined
container host-c cis-5.4 img-none running $SECURE capadd=SYS_ADMIN
container host-c cis-5.5 img-none running $SECURE privileged
container host-c cis-5.6 img-none running $SECURE mount=/etc:/host-etc:bind
container host-c cis-5.7 img-none running $SECURE proc=sshd
container host-c cis-5.10 img-none running $SECURE hostnet
container host-c cis-5.11 img-none running $SECURE mem=0
container host-c cis-5.12 img-none running $SECURE cpus=0
container host-c cis-5.13 img-none running mem=67108864 cpus=500000000 pids=100 nnp health seccomp=default apparmor=docker-default restart=on-failure
container host-c cis-5.15 img-none running $SECURE restart=always
container host-c cis-5.16 img-none running $SECURE hostpid
container host-c cis-5.17 img-none running $SECURE hostipc
container host-c cis-5.18 img-none running $SECURE dev=/dev/sda
container host-c cis-5.20 img-none running $SECURE mount=/srv:/srv:bind:rshared
container host-c cis-5.21 img-none running $SECURE hostuts
container host-c cis-5.22 img-none running $SECURE seccomp=unconfined
container host-c cis-5.26 img-none running mem=67108864 cpus=500000000 pids=100 rorootfs health seccomp=default apparmor=docker-default restart=on-failure
container host-c cis-5.27 img-none running mem=67108864 cpus=500000000 pids=100 rorootfs nnp seccomp=default apparmor=docker-default restart=on-failure
container host-c cis-5.29 img-none running $SECURE pids=0
container host-c cis-5.31 img-none running $SECURE hostuserns
container host-c cis-5.32 img-none running $SECURE mount=/var/run/docker.sock:/var/run/docker.sock:bind
SCN
tap_check "the fleet's records produced to tallyman.inventory" produce "$D/fleet.scn"

# CIS: each check fails on its container and nowhere else.
wait_total "kind=misconfiguration" 22 || tap_diag "$(api '/api/v1/findings?kind=misconfiguration&limit=1000' | jq -c '.findings[] | [.container, .check]')"
out=$(api '/api/v1/findings?kind=misconfiguration&limit=1000')
for c in 4.1 5.2 5.4 5.5 5.6 5.7 5.10 5.11 5.12 5.13 5.15 5.16 5.17 5.18 5.20 5.21 5.22 5.26 5.27 5.29 5.31 5.32; do
	tap_is "$(jq -r --arg c "$c" '[.findings[] | select(.check == $c) | .container] | join(",")' <<<"$out")" \
	    "cis-$c" "CIS $c fails on cis-$c only (cis-pass passes it)"
done
tap_is "$(jq -r '[.findings[] | select(.container == "cis-pass")] | length' <<<"$out")" 0 \
    "the secure container fails no check"

# No feed yet: no vulnerability.  Then the feed arrives (SIGHUP).
tap_is "$(api '/api/v1/findings?kind=vulnerability' | jq -r .total)" 0 \
    "no feed loaded: no vulnerability finding"
cat >"$D/DSA-2896-1.json" <<'JSON'
{"id": "DSA-2896-1", "modified": "2014-04-07T00:00:00Z",
 "aliases": ["CVE-2014-0160"], "summary": "openssl security update",
 "severity": [{"type": "CVSS_V3",
   "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
 "affected": [{"package": {"ecosystem": "Debian:7", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "1.0.1e-2+deb7u5"}]}]}]}
JSON
cat >"$D/RLSA-EPOCH.json" <<'JSON'
{"id": "RLSA-2024:0001", "modified": "2024-01-01T00:00:00Z",
 "affected": [{"package": {"ecosystem": "Rocky Linux:9", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "1:3.0.7-24.el9"}]}]},
  {"package": {"ecosystem": "Rocky Linux:9", "name": "shadow-utils"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "4.9-8.el9"}]}]}]}
JSON
cat >"$D/ALPINE-R.json" <<'JSON'
{"id": "ALPINE-CVE-2099-1", "modified": "2024-01-01T00:00:00Z",
 "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "3.1.4-r9"}]}]},
  {"package": {"ecosystem": "Alpine:v3.19", "name": "musl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "1.2.4-r9"}]}]}]}
JSON
# Files appear whole (renamed in), as a feed folder should be updated.
mv "$D/DSA-2896-1.json" "$D/RLSA-EPOCH.json" "$D/ALPINE-R.json" "$D/feed/"
kill -HUP "$COLLECTOR_PID"
wait_total "kind=vulnerability" 3 ||
    tap_diag "$(api '/api/v1/findings?kind=vulnerability' | jq -c .)"
out=$(api '/api/v1/findings?kind=vulnerability&advisory=CVE-2014-0160')
tap_is "$(jq -r '.findings[] | [.host, .container, .package, .source_package, .installed_version, .fixed_version, .severity] | @tsv' <<<"$out")" \
    "host-a	ctr-vuln	libssl1.0.0	openssl	1.0.1e-2+deb7u4	1.0.1e-2+deb7u5	high" \
    "feed after the fleet: Heartbleed on ctr-vuln on host-a, via source openssl"
tap_is "$(api '/api/v1/findings?kind=vulnerability&container=ctr-fixed' | jq -r .total)" 0 \
    "+deb7u5 container: no finding"
tap_is "$(api '/api/v1/findings?kind=vulnerability&host=host-r' | jq -r '[.findings[] | [.package, .installed_version, .fixed_version] | join(" ")] | join(",")')" \
    "openssl-libs 3.0.7-27.el9 1:3.0.7-24.el9" \
    "rpm epochs: 3.0.7-27 (epoch 0) is before 1:3.0.7-24; 2:4.6 is after 4.9"
tap_is "$(api '/api/v1/findings?kind=vulnerability&host=host-l' | jq -r '[.findings[] | [.package, .source_package, .fixed_version] | join(" ")] | join(",")')" \
    "libcrypto3 openssl 3.1.4-r9" \
    "apk: -r5 is before the fix -r9 (via origin openssl), -r10 is after it"

# The blast radius of CVE-2014-0160.
out=$(api /api/v1/vulnerabilities/CVE-2014-0160)
tap_is "$(jq -r '[.id, (.now.hosts | join(",")), (.now.containers | map(.container) | join(",")), (.now.images | join(",")), (.earlier.hosts | length)] | @tsv' <<<"$out")" \
    "DSA-2896-1	host-a	ctr-vuln	img-vuln	0" \
    "blast radius by CVE alias: host-a, ctr-vuln, img-vuln now, nothing earlier"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/vulnerabilities/CVE-1999-0001")" 404 \
    "an unknown advisory is a 404"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/findings?kind=nonsense")" 400 \
    "a bad filter is a 400"

tap_like "$(curl -sf "$API/metrics" | grep '^tallyman_feed_advisories ')" \
    '^tallyman_feed_advisories 3$' "/metrics counts the feed's advisories"

# The container exits: its findings resolve (reason: container exited).
echo "event host-r ctr-rocky exit" >"$D/exit.scn"
tap_check "exit of ctr-rocky produced" produce "$D/exit.scn" 100
wait_total "kind=vulnerability&host=host-r&state=resolved" 1
tap_is "$(api '/api/v1/findings?host=host-r&state=resolved&kind=vulnerability' | jq -r '.findings[0].resolved_reason')" \
    "container exited" "an exited container's findings resolve"

# The advisory withdrawn: its findings resolve.
echo '{"id": "DSA-2896-1", "modified": "2014-05-01T00:00:00Z", "withdrawn": "2014-05-01T00:00:00Z"}' \
    >"$D/withdrawn.json"
mv "$D/withdrawn.json" "$D/feed/DSA-2896-1.json"
# No SIGHUP this time: feeds.interval (2 s) reloads the folder.
wait_total "advisory=DSA-2896-1&state=resolved" 1
tap_is "$(api '/api/v1/findings?advisory=DSA-2896-1&state=all' | jq -r '[.total, .findings[0].state, .findings[0].resolved_reason] | @tsv')" \
    "1	resolved	advisory withdrawn" "the withdrawn advisory's finding is resolved"
out=$(api /api/v1/vulnerabilities/DSA-2896-1)
tap_is "$(jq -r '[.withdrawn, (.now.hosts | length), (.earlier.hosts | join(","))] | @tsv' <<<"$out")" \
    "true	0	host-a" "blast radius after withdrawal: nothing now, host-a earlier"

# The findings topic: every finding's "new" once, and "resolved" once for
# the three resolved ones.
open=$(api '/api/v1/findings?state=all&limit=1000' | jq -r .total)
harness_wait_for "the findings topic" 60 bash -c \
    '[ "$(kcat -C -b "$0" -t tallyman.findings -e -q -f "%s\n" 2>/dev/null | wc -l)" -ge "$1" ]' \
    "$TM_KAFKA" $((open + 2))
sleep 1	# let a duplicate, if any were produced, arrive too
kcat -C -b "$TM_KAFKA" -t tallyman.findings -e -q -f '%k %s\n' >"$D/topic.txt" 2>/dev/null
tap_is "$(wc -l <"$D/topic.txt")" $((open + 2)) \
    "the topic holds one message per state change ($open new, 2 resolved)"
tap_is "$(awk '{print $1}' "$D/topic.txt" | sort | uniq -c | awk '$1 > 2' | wc -l)" 0 \
    "no finding has more than its new and its resolved"
tap_is "$(cut -d' ' -f2- "$D/topic.txt" | jq -r '[.id, .event] | @tsv' | sort | uniq -d | wc -l)" 0 \
    "no state change was published twice"
tap_is "$(cut -d' ' -f2- "$D/topic.txt" | jq -r 'select(.event == "resolved") | [.container, .resolved_reason] | @tsv' | sort | paste -sd,)" \
    "ctr-rocky	container exited,ctr-vuln	advisory withdrawn" \
    "resolved messages name the container and the reason"
tap_is "$(while read -r k json; do [ "$(jq -r .id <<<"$json")" = "$k" ] || echo "$k"; done <"$D/topic.txt" | wc -l)" \
    0 "every message's key is its finding's id"

# The webhook received the same messages, in order, after two failures.
harness_wait_for "the webhook's POSTs" 90 bash -c \
    '[ "$(wc -l <"$0")" -ge "$1" ]' "$D/hook.posts" $((open + 2))
tap_is "$(grep -c '^POST /hook 500' "$D/hook.log")" 2 \
    "the webhook's first two answers were 500"
tap_is "$(jq -r '[.id, .event] | @tsv' "$D/hook.posts" | sort | uniq -d | wc -l)/$(wc -l <"$D/hook.posts")" \
    "0/$((open + 2))" "the webhook got every state change once, despite the failures"
tap_is "$(jq -r '[.id, .event] | @tsv' "$D/hook.posts" | sort | md5sum)" \
    "$(cut -d' ' -f2- "$D/topic.txt" | jq -r '[.id, .event] | @tsv' | sort | md5sum)" \
    "the webhook and the topic carry the same state changes"

# A restart: the findings come back from the store and the fleet is
# replayed, so nothing is announced again; a later exit still resolves.
before=$(api '/api/v1/findings?state=all&limit=1000' | jq -c '[.findings[] | [.id, .state]] | sort')
stop_collector
"$COLLECTOR" -c "$D/collector.conf" run >>"$TM_LOGS/collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
harness_wait_for "the restarted collector's partitions" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -gt 0 ]' \
    "$API" || tap_bail "the collector did not come back"
harness_wait_for "the feed after the restart" 60 bash -c \
    '[ "$(curl -sf "$0/api/v1/vulnerabilities/DSA-2896-1" | jq -r .withdrawn)" = true ]' \
    "$API"
tap_is "$(api '/api/v1/findings?state=all&limit=1000' | jq -c '[.findings[] | [.id, .state]] | sort')" \
    "$before" "after a restart: the same findings, same ids, same states"
echo "event host-l ctr-alpine exit" >"$D/exit2.scn"
tap_check "exit of ctr-alpine produced" produce "$D/exit2.scn" 200
wait_total "host=host-l&kind=vulnerability&state=resolved" 1
harness_wait_for "the last resolution on the topic" 60 bash -c \
    '[ "$(kcat -C -b "$0" -t tallyman.findings -e -q 2>/dev/null | wc -l)" -ge "$1" ]' \
    "$TM_KAFKA" $((open + 3))
sleep 1
kcat -C -b "$TM_KAFKA" -t tallyman.findings -e -q -f '%k %s\n' >"$D/topic2.txt" 2>/dev/null
tap_is "$(wc -l <"$D/topic2.txt")/$(cut -d' ' -f2- "$D/topic2.txt" | jq -r '[.id, .event] | @tsv' | sort | uniq -d | wc -l)" \
    "$((open + 3))/0" \
    "after the restart the topic got only the new resolution: nothing announced twice"

tap_done
