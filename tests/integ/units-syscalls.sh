#!/bin/bash
# units-syscalls.sh: what the programs do stays inside their units' filters.
# systemd is not PID 1 here, so the filters cannot be applied; instead the
# real programs run under strace -f doing their work, and every system call
# they make is checked against the unit:
#  - SystemCallFilter=: each system call made is in the allow list minus the
#    ~ lists, expanded by `systemd-analyze syscall-filter` (the groups as
#    systemd defines them, nested groups followed);
#  - RestrictAddressFamilies=: each socket() and socketpair() family is
#    listed;
#  - MemoryDenyWriteExecute=yes: no mapping both writable and executable,
#    no mprotect() that adds execution;
#  - ProtectSystem=strict with StateDirectory=: every file opened for
#    writing, created, renamed, linked or removed is in the state folder
#    (or /dev/null, or the process's own /proc entries);
#  - the collector's ProcSubset=pid: no /proc file outside its own entries.
# The agent: `run` with Kafka (librdkafka's mock cluster) and both
# runtimes, containers started, exec'd into (drift), stopped and removed, a
# configuration reload (SIGHUP) and a drain (SIGTERM).  The collector: its
# commands that exist (`feeds` with a feed downloaded over HTTP from
# 127.0.0.1, `compare-versions`); `run` joins them when it is built.
. "$(dirname "$0")/../lib/harness.sh"
AGENT=$top_builddir/agent/tallyman-agent
COLLECTOR=$top_builddir/collector/tallyman-collector
UNITS=$top_builddir/packaging/systemd

harness_start
harness_require_cmd strace systemd-analyze python3 jq zip

# --- the units' filters ------------------------------------------------------
# expand GROUP-OR-CALL...: the system call names, nested groups followed.
declare -A EXPANDED
expand() {
	local x
	for x in "$@"; do
		case "$x" in
		@*)
			[ -n "${EXPANDED[$x]:-}" ] && continue
			EXPANDED[$x]=1
			expand $(systemd-analyze syscall-filter "$x" 2>/dev/null |
			    sed -n '2,$s/^ *\([@a-z0-9_]*\)$/\1/p')
			;;
		*) printf '%s\n' "$x" ;;
		esac
	done
}
# allowed UNIT: the system calls the unit's SystemCallFilter= lines allow
# (an allow list first, then ~ lines taking calls out, as systemd reads them).
allowed() {
	local line allow="" deny=""
	while IFS= read -r line; do
		case "$line" in
		"~"*) deny="$deny ${line#"~"}" ;;
		*) allow="$allow $line" ;;
		esac
	done < <(sed -n 's/^SystemCallFilter=//p' "$1")
	EXPANDED=()
	expand $allow | sort -u >"$TM_TMP/allow"
	EXPANDED=()
	expand $deny | sort -u >"$TM_TMP/deny"
	comm -23 "$TM_TMP/allow" "$TM_TMP/deny"
}
families() {
	sed -n 's/^RestrictAddressFamilies=//p' "$1" | tr ' ' '\n'
}

# --- reading a trace ----------------------------------------------------------
# calls TRACE: the system call names made (strace -f output).
calls() {
	sed -n -E 's/^[0-9]+ +(<\.\.\. )?([a-z0-9_]+)[( ].*/\2/p' "$1" | sort -u
}
# socket_families TRACE
socket_families() {
	sed -n -E 's/^[0-9]+ +(socket|socketpair)\((AF_[A-Z0-9]+|[0-9]+).*/\2/p' "$1" | sort -u
}
# wx TRACE: mappings that are writable and executable, mprotect adding exec.
wx() {
	grep -E '^[0-9]+ +(mmap|mprotect|pkey_mprotect)\(' "$1" |
	    grep -E 'PROT_EXEC' |
	    grep -E '^[0-9]+ +(mprotect|pkey_mprotect)\(|PROT_WRITE'
}
# written TRACE: paths (resolved by strace -y) of files opened for writing,
# created, removed, renamed or linked, whether or not it succeeded.
written() {
	grep -E '^[0-9]+ +(openat|open|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|rmdir|link|linkat|symlink|symlinkat|truncate|mknod|mknodat)\(' "$1" |
	    grep -v -E '^[0-9]+ +open(at)?\(.*O_RDONLY' |
	    sed -n -E 's/^[0-9]+ +[a-z0-9]+\(((AT_FDCWD|[0-9]+<([^>]*)>), )?"([^"]*)".*/\3|\4/p' |
	    awk -F'|' '{ if (substr($2, 1, 1) == "/" || $1 == "") print $2; else print $1 "/" $2 }' |
	    sort -u
}
# outside TRACE PREFIX...: written paths outside every PREFIX.
outside() {
	local t=$1
	shift
	written "$t" | while read -r p; do
		ok=
		for pre in "$@"; do
			case "$p" in "$pre"|"$pre"/*) ok=1 ;; esac
		done
		[ -n "$ok" ] || printf '%s\n' "$p"
	done
}
# check_trace NAME TRACE UNIT STATE-DIR: the four checks for one program.
check_trace() {
	local name=$1 t=$2 unit=$3 state=$4 n bad
	n=$(calls "$t" | wc -l)
	tap_like "$n" '^[1-9][0-9]*$' "$name made $n distinct system calls under strace"
	bad=$(comm -23 <(calls "$t") <(allowed "$unit") | xargs)
	tap_is "${bad:-none}" none "$name: every system call is allowed by the unit's SystemCallFilter="
	bad=$(comm -23 <(socket_families "$t") <(families "$unit" | sort -u) | xargs)
	tap_is "${bad:-none}" none \
	    "$name: every socket family ($(socket_families "$t" | xargs)) is in RestrictAddressFamilies="
	tap_is "$(wx "$t" | head -n 3)" "" "$name: no writable and executable memory (MemoryDenyWriteExecute=)"
	bad=$(outside "$t" "$state" /dev/null /proc/self /proc/thread-self | head -n 10 | xargs)
	tap_is "${bad:-none}" none "$name: writes only in its state folder (ProtectSystem=strict)"
	tap_diag "$name: system calls: $(calls "$t" | xargs)"
}

# --- the agent ----------------------------------------------------------------
kafka_start -t tallyman.inventory:2 || tap_bail "no mock Kafka"
B=$TM_TMP/base
mkdir -p "$B/var/lib/dpkg" "$B/etc"
printf 'Package: sys-one\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n' \
    >"$B/var/lib/dpkg/status"
printf 'ID=tallyman\nVERSION_ID=9\n' >"$B/etc/os-release"
harness_image tm-sys:1 "$B" || tap_bail "no image"
harness_ctr_image tm tm-sys:1 || tap_bail "no containerd image"

ASTATE=$TM_TMP/agent-state
cat >"$TM_TMP/agent.conf" <<EOF
state.dir = $ASTATE
host.id = sys-$TM_ID
kafka.brokers = $TM_KAFKA
docker.socket = $TM_DOCKER_SOCK
containerd.socket = $TM_CONTAINERD_SOCK
heartbeat.interval = 1s
output = kafka,json
EOF
T=$TM_TMP/agent.trace
strace -f -qq -y -s 512 -o "$T" "$AGENT" -c "$TM_TMP/agent.conf" run \
    >"$TM_TMP/agent.json" 2>"$TM_LOGS/agent.log" </dev/null &
TRACER=$!
stop_tracer() {
	[ -n "$TRACER" ] || return 0
	# strace passes SIGTERM on to the agent and exits when it has.
	kill -TERM "$TRACER" 2>/dev/null
	timeout 60 tail --pid="$TRACER" -f /dev/null
	kill -KILL "$TRACER" 2>/dev/null
	wait "$TRACER" 2>/dev/null
	TRACER=
}
tap_at_done stop_tracer
harness_wait_for "the agent watches" 60 grep -q 'run: watching' "$TM_LOGS/agent.log" ||
    tap_bail "agent did not start: $(tail -5 "$TM_LOGS/agent.log")"
c1=$(harness_docker run -d --network none --name "tm-sys-1-$TM_ID" tm-sys:1 sleep 600)
harness_docker run --rm --network none --name "tm-sys-2-$TM_ID" tm-sys:1 true >/dev/null
harness_ctr -n tm run -d "$TM_CTR_IMAGE" "tm-sys-c-$TM_ID" sleep 600 >/dev/null 2>&1
harness_docker exec "$c1" sh -c 'cp /bin/busybox /tmp/x && chmod 755 /tmp/x' >/dev/null
harness_wait_for "a drift record" 60 grep -q '"k":"drift"' "$TM_TMP/agent.json"
# strace's child is the agent: SIGHUP it (reload).
apid=$(pgrep -P "$TRACER" -x tallyman-agent | head -n 1)
[ -n "$apid" ] && kill -HUP "$apid"
harness_wait_for "the reload" 30 grep -q 'run: reloaded' "$TM_LOGS/agent.log"
harness_docker rm -f "$c1" >/dev/null
harness_ctr -n tm task kill -s KILL "tm-sys-c-$TM_ID" >/dev/null 2>&1
sleep 2
stop_tracer
tap_like "$(grep -c '' "$T")" '^[0-9]{3,}$' "the agent ran under strace ($(wc -l <"$T") lines)"
tap_is "$(grep -c -E '^[0-9]+ .*runs in 32 bit mode' "$T")" 0 \
    "the agent makes native system calls only (SystemCallArchitectures=native)"
check_trace tallyman-agent "$T" "$UNITS/tallyman-agent.service" "$ASTATE"

# --- the collector --------------------------------------------------------------
F=$TM_TMP/feed
mkdir -p "$F/site"
cat >"$F/DSA-1.json" <<'EOF'
{"id": "DSA-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package":
 {"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [{"type": "ECOSYSTEM",
 "events": [{"introduced": "0"}, {"fixed": "3.0.11-1"}]}]}]}
EOF
(cd "$F" && zip -q site/all.zip DSA-1.json) || tap_bail "zip failed"
python3 -m http.server --bind 127.0.0.1 0 --directory "$F/site" \
    >"$TM_LOGS/http.log" 2>&1 &
HTTP=$!
stop_http() { kill "$HTTP" 2>/dev/null; wait "$HTTP" 2>/dev/null; }
tap_at_done stop_http
harness_wait_for "the feed server" 30 grep -q 'Serving HTTP' "$TM_LOGS/http.log"
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TM_LOGS/http.log" | head -n 1)

CSTATE=$TM_TMP/collector-state
mkdir -p "$CSTATE"
CT=$TM_TMP/collector.trace
out=$(strace -f -qq -y -s 512 -o "$CT" "$COLLECTOR" -c /dev/null \
    -o "store.path=$CSTATE/collector.db" -o "feeds.osv=http://127.0.0.1:$port/all.zip" \
    feeds --match debian 12 dpkg libssl3 3.0.9-1 openssl 3.0.9-1 2>"$TM_LOGS/collector.log")
tap_is "$(jq -r '[.matches[]?.advisory] | join(",")' <<<"$out" 2>&1)" "DSA-1" \
    "the collector (feeds, under strace) downloaded the feed and matched it"
strace -f -qq -y -s 512 -o "$CT.2" "$COLLECTOR" compare-versions dpkg 1.0 1.1 >/dev/null
cat "$CT.2" >>"$CT"
check_trace tallyman-collector "$CT" "$UNITS/tallyman-collector.service" "$CSTATE"
bad=$(grep -o -E '"/proc/[^"]*"' "$CT" | tr -d '"' |
    grep -v -E '^/proc/(self|thread-self|[0-9]+)(/|$)' | sort -u | head -n 10 | xargs)
tap_is "${bad:-none}" none "the collector reads no /proc file outside its own entries (ProcSubset=pid)"

tap_done
